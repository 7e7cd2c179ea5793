"""Learning-rate schedules Keras lacks: a warmup wrapper and a scaled wrapper (used by ReduceLROnPlateau)."""

from keras_ext.schedules.linear_warmup import LinearWarmup
from keras_ext.schedules.scaled_schedule import ScaledSchedule

__all__ = ["LinearWarmup", "ScaledSchedule"]
