"""The custom training loop: `Trainer` (TensorFlow GradientTape / tf.function / XLA, or JAX jit)."""

from keras_ext.training.trainer import MODES
from keras_ext.training.trainer import Trainer

__all__ = ["MODES", "Trainer"]
