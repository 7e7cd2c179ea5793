"""Choose a distribution strategy: tf.distribute on TensorFlow, keras.distribution on JAX."""

from keras_ext.distribute.devices import split_cpu
from keras_ext.distribute.run_strategy import RunStrategy
from keras_ext.distribute.run_strategy import setup_strategy
from keras_ext.distribute.strategy import STRATEGY_NAMES
from keras_ext.distribute.strategy import cluster_workers
from keras_ext.distribute.strategy import get_strategy
from keras_ext.distribute.strategy import replicas

__all__ = [
    "STRATEGY_NAMES",
    "RunStrategy",
    "cluster_workers",
    "get_strategy",
    "replicas",
    "setup_strategy",
    "split_cpu",
]
