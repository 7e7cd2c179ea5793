"""`LinearWarmup`: a linear warmup in front of any learning-rate schedule."""

import keras

from keras_ext._validation import check_non_negative
from keras_ext._validation import check_positive_int
from keras_ext.schedules import _wrapped


@keras.saving.register_keras_serializable(package="keras_ext")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """Ramp the learning rate linearly for `warmup_steps` steps, then follow `schedule`.

    For `step < warmup_steps` the rate is
    `initial_learning_rate + (schedule(0) - initial_learning_rate) * step / warmup_steps`;
    from `warmup_steps` on it is `schedule(step - warmup_steps)`, so the
    wrapped schedule starts where the warmup ends and the rate is continuous.
    Keras has warmup only inside `CosineDecay`; this wraps any schedule
    (ExponentialDecay, PiecewiseConstantDecay, ...) or a constant rate.

    Args:
        schedule: a `keras.optimizers.schedules.LearningRateSchedule`, or a
            non-negative number for a constant rate after the warmup.
        warmup_steps: positive int, number of warmup steps.
        initial_learning_rate: rate at step 0 (>= 0, default 0).
        name: name of the schedule.

    Example:

    >>> import keras, keras_ext
    >>> decay = keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=100, decay_rate=0.5)
    >>> schedule = keras_ext.schedules.LinearWarmup(decay, warmup_steps=10)
    >>> [round(float(schedule(s)), 6) for s in (0, 5, 10, 110)]
    [0.0, 0.0005, 0.001, 0.0005]
    >>> optimizer = keras.optimizers.Adam(learning_rate=schedule)
    """

    def __init__(self, schedule, warmup_steps, initial_learning_rate=0.0, name="LinearWarmup"):
        super().__init__()
        self.schedule = _wrapped.check_schedule("schedule", schedule)
        self.warmup_steps = check_positive_int("warmup_steps", warmup_steps)
        self.initial_learning_rate = check_non_negative("initial_learning_rate", initial_learning_rate)
        self.name = name

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        warmup_steps = float(self.warmup_steps)
        target = _wrapped.evaluate(self.schedule, ops.convert_to_tensor(0, dtype="float32"))
        warm = self.initial_learning_rate + (target - self.initial_learning_rate) * (step / warmup_steps)
        after = _wrapped.evaluate(self.schedule, ops.maximum(step - warmup_steps, 0.0))
        return ops.where(step < warmup_steps, warm, after)

    def get_config(self):
        return {
            "schedule": _wrapped.serialize(self.schedule),
            "warmup_steps": self.warmup_steps,
            "initial_learning_rate": self.initial_learning_rate,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
