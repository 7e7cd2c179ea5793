"""tf.distribute helpers: choose a strategy (MirroredStrategy, MultiWorkerMirroredStrategy)."""

from keras_ext.distribute.devices import split_cpu
from keras_ext.distribute.strategy import STRATEGY_NAMES
from keras_ext.distribute.strategy import cluster_workers
from keras_ext.distribute.strategy import get_strategy

__all__ = ["STRATEGY_NAMES", "cluster_workers", "get_strategy", "split_cpu"]
