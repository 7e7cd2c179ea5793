"""keras_ext: registered, serializable Keras 3 building blocks.

Importing `keras_ext` registers every public layer, model, metric, callback
and schedule with Keras (package name ``keras_ext``), so a `.keras` file that
uses them loads with nothing but ``import keras_ext``.

The custom training loop (``training``), checkpoints for a loop of one's
own (``checkpoint``) and the datasets (``data``), which
run on TensorFlow and JAX, the TensorFlow-only ``distribute``, the search
(``tuning``), the benchmarks (``benchmarking``) and the command line
(``cli``) are imported on first use, so that ``import keras_ext`` stays
cheap and works where only JAX is installed.
"""

import importlib

__version__ = "0.1.0"

from keras_ext import callbacks  # noqa: E402,F401
from keras_ext import layers  # noqa: E402,F401
from keras_ext import metrics  # noqa: E402,F401
from keras_ext import models  # noqa: E402,F401
from keras_ext import schedules  # noqa: E402,F401

_LAZY_SUBPACKAGES = ("training", "checkpoint", "distribute", "tuning", "data", "benchmarking", "cli")


def __getattr__(name):
    if name in _LAZY_SUBPACKAGES:
        module = importlib.import_module(f"keras_ext.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'keras_ext' has no attribute {name!r}")


__all__ = ["callbacks", "layers", "models", "metrics", "schedules", *_LAZY_SUBPACKAGES, "__version__"]
