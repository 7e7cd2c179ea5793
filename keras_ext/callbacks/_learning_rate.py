"""Reading an optimizer's current learning rate, whether it is a float or a schedule."""

import keras


def current_learning_rate(optimizer):
    """The rate the optimizer's next step will use: `schedule(iterations)` or the float rate."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def schedule_of(optimizer):
    """The optimizer's `LearningRateSchedule`, or None when it uses a plain (settable) rate.

    Keras keeps it in `optimizer._learning_rate` and offers no public getter.
    """
    value = getattr(optimizer, "_learning_rate", None)
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return value
    return None


def set_schedule(optimizer, schedule):
    optimizer._learning_rate = schedule
