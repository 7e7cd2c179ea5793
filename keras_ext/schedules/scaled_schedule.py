"""`ScaledSchedule`: a schedule times a settable factor, so plateau reduction works with schedules."""

import keras

from keras_ext._validation import check_non_negative
from keras_ext.schedules import _wrapped


@keras.saving.register_keras_serializable(package="keras_ext")
class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`schedule(step) * scale`, where `scale` can change during training.

    Keras's `ReduceLROnPlateau` and `LearningRateScheduler` raise
    `TypeError: ... not settable` when the optimizer's learning rate is a
    schedule. `keras_ext.callbacks.ReduceLROnPlateau` instead wraps the
    schedule in a `ScaledSchedule` and lowers `scale`: the schedule keeps
    its shape, every value is multiplied. `scale` lives in a non-trainable
    `keras.Variable` (`scale_variable`), read inside compiled TensorFlow
    steps without retracing; `get_config` stores its current value.

    Args:
        schedule: a `LearningRateSchedule` or a non-negative number.
        scale: non-negative float, the initial factor (default 1).
        name: name of the schedule.

    Example:

    >>> import keras, keras_ext
    >>> decay = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> scaled = keras_ext.schedules.ScaledSchedule(decay, scale=0.5)
    >>> round(float(scaled(10)), 6)
    0.025
    >>> scaled.scale = 0.1
    >>> round(float(scaled(10)), 6)
    0.005
    """

    def __init__(self, schedule, scale=1.0, name="ScaledSchedule"):
        super().__init__()
        self.schedule = _wrapped.check_schedule("schedule", schedule)
        scale = check_non_negative("scale", scale)
        self.name = name
        self.scale_variable = keras.Variable(
            scale, dtype="float32", trainable=False, name="learning_rate_scale"
        )

    @property
    def scale(self):
        """The current factor, as a Python float."""
        return float(keras.ops.convert_to_numpy(self.scale_variable))

    @scale.setter
    def scale(self, value):
        self.scale_variable.assign(check_non_negative("scale", value))

    def __call__(self, step):
        return _wrapped.evaluate(self.schedule, step) * keras.ops.cast(self.scale_variable, "float32")

    def get_config(self):
        return {"schedule": _wrapped.serialize(self.schedule), "scale": self.scale, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
