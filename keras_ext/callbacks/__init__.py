"""Callbacks: CheckpointManager (atomic, rotating, exact resume), LearningRateLogger, ReduceLROnPlateau,
EarlyStopping."""

from keras_ext.callbacks.checkpoint_manager import CheckpointManager
from keras_ext.callbacks.early_stopping import EarlyStopping
from keras_ext.callbacks.learning_rate_logger import LearningRateLogger
from keras_ext.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from keras_ext.checkpoint._checkpoint_files import CorruptCheckpointError
from keras_ext.checkpoint._training_state import CheckpointMismatchError
from keras_ext.checkpoint._writer_lock import CheckpointDirectoryBusyError

__all__ = [
    "CheckpointDirectoryBusyError",
    "CheckpointManager",
    "CheckpointMismatchError",
    "CorruptCheckpointError",
    "EarlyStopping",
    "LearningRateLogger",
    "ReduceLROnPlateau",
]
