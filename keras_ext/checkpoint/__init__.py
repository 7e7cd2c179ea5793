"""Checkpoints for a training loop of your own: `Checkpointer` (save, restore, keep the newest N)."""

from keras_ext.checkpoint._writer_lock import CheckpointDirectoryBusyError
from keras_ext.checkpoint.checkpointer import Checkpointer

__all__ = ["CheckpointDirectoryBusyError", "Checkpointer"]
