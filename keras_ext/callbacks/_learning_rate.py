"""Reading an optimizer's current learning rate, whether it is a float or a schedule."""

import keras

from keras_ext._keras_internals import schedule_of  # noqa: F401 - re-exported for the LR callbacks


def current_learning_rate(optimizer):
    """The rate the optimizer's next step will use: `schedule(iterations)` or the float rate."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def set_schedule(optimizer, schedule):
    # The public setter accepts a schedule (it refuses only a float over a schedule).
    optimizer.learning_rate = schedule
