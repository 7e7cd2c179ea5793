"""Argument checks shared by keras_ext classes; each raises a ValueError naming the argument."""

import numbers


def check_positive_int(name, value):
    """Return `value` if it is an int >= 1 (bools rejected), else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {name}={value!r}.")
    return int(value)


def check_rate(name, value, high_inclusive=False):
    """Return `value` as float if 0 <= value < 1 (<= 1 if high_inclusive), else raise."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = 0.0 <= value <= 1.0 if high_inclusive else 0.0 <= value < 1.0
    if not ok:
        bound = "[0, 1]" if high_inclusive else "[0, 1)"
        raise ValueError(f"`{name}` must be a number in {bound}, got {name}={value!r}.")
    return float(value)


def check_non_negative(name, value):
    """Return `value` as float if it is a real number >= 0, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative number, got {name}={value!r}.")
    return float(value)


def check_kernel_size(name, value):
    """Return a positive int or a tuple of 2 positive ints, else raise ValueError."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"`{name}` must be an int or a tuple of 2 ints, got {name}={value!r}.")
        return tuple(check_positive_int(name, v) for v in value)
    return check_positive_int(name, value)
