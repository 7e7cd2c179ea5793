"""Search-space arguments of the hypermodels: validated at once, declared on a keras-tuner `hp`.

A *range* argument is a number (fixed) or a `(min, max)` pair; a *choice*
argument is a value (fixed) or a sequence of values. Both are checked when
the hypermodel is created, so a bad space fails before any trial runs.
"""

import numbers

OPTIMIZERS = ("rmsprop", "adam", "sgd", "adamw", "nadam")


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def range_spec(name, value, check):
    """Return `(min, max)` for a number or a (min, max) pair, checking each end with `check`."""
    if _is_number(value):
        low = high = value
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(map(_is_number, value)):
        low, high = value
    else:
        raise ValueError(f"`{name}` must be a number (fixed) or a (min, max) pair, got {name}={value!r}.")
    check(name, low)
    check(name, high)
    if low > high:
        raise ValueError(f"`{name}` range has min > max: got {name}={value!r} (min {low} > max {high}).")
    return (low, high)


def choice_spec(name, value, check):
    """Return a non-empty tuple of choices for a value or a sequence, checking each with `check`."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not values:
        raise ValueError(f"`{name}` needs at least one value, got {name}={value!r}.")
    if len(set(values)) != len(values):
        raise ValueError(f"`{name}` lists a value twice: {name}={value!r}.")
    for v in values:
        check(name, v)
    return values


def check_optimizer(name, value):
    if value not in OPTIMIZERS:
        raise ValueError(f"`{name}` must be one of {list(OPTIMIZERS)}, got {name}={value!r}.")
    return value


def check_positive(name, value):
    if not _is_number(value) or value <= 0:
        raise ValueError(f"`{name}` must be positive, got {name}={value!r}.")
    return value


def declare_range(hp, name, spec, default, integer=False, log=False):
    """Declare `name` on `hp` as Fixed (min == max), Int or Float; return its value.

    `default` (the value of the first grid trial and of a bare
    `HyperParameters()`) is clipped into the range.
    """
    low, high = spec
    cast = int if integer else float
    if low == high:
        return hp.Fixed(name, cast(low))
    default = cast(min(max(default, low), high))
    if integer:
        return hp.Int(name, int(low), int(high), default=default)
    # Log sampling cannot start at 0 (a weight decay of 0 is allowed).
    sampling = "log" if log and low > 0 else "linear"
    return hp.Float(name, float(low), float(high), sampling=sampling, default=default)


def declare_choice(hp, name, values, default=None):
    """Declare `name` on `hp` as Fixed (one value) or Choice; return its value.

    `default` is used when it is one of `values`, else the first value.
    """
    if len(values) == 1:
        return hp.Fixed(name, values[0])
    return hp.Choice(name, list(values), default=default if default in values else values[0])
