"""Callbacks: CheckpointManager (atomic, rotating, exact resume), LearningRateLogger, ReduceLROnPlateau."""

from keras_ext.callbacks._checkpoint_files import CorruptCheckpointError
from keras_ext.callbacks._training_state import CheckpointMismatchError
from keras_ext.callbacks.checkpoint_manager import CheckpointManager
from keras_ext.callbacks.learning_rate_logger import LearningRateLogger
from keras_ext.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau

__all__ = [
    "CheckpointManager",
    "CheckpointMismatchError",
    "CorruptCheckpointError",
    "LearningRateLogger",
    "ReduceLROnPlateau",
]
