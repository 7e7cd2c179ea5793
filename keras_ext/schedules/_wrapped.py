"""Shared handling of the `schedule` argument of keras_ext's wrapper schedules."""

import numbers

import keras


def check_schedule(name, value):
    """Return `value` if it is a LearningRateSchedule or a non-negative number, else raise ValueError."""
    if isinstance(value, dict):
        value = keras.saving.deserialize_keras_object(value)
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise ValueError(
        f"`{name}` must be a keras.optimizers.schedules.LearningRateSchedule or a "
        f"non-negative number, got {name}={value!r}."
    )


def evaluate(schedule, step):
    """The wrapped schedule's rate at `step` (a constant when it is a number), as float32."""
    if isinstance(schedule, float):
        return keras.ops.convert_to_tensor(schedule, dtype="float32")
    return keras.ops.cast(schedule(step), "float32")


def serialize(schedule):
    if isinstance(schedule, float):
        return schedule
    return keras.saving.serialize_keras_object(schedule)
