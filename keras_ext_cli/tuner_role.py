"""This process's role in a distributed keras-tuner search, from keras-tuner's environment variables.

Here, in the Keras-free front, so that `keras-ext tune` can tell a worker
from a chief before Keras starts; `keras_ext.tuning` asks the same functions.
"""

import os


def is_chief():
    """Whether this process is the chief of a distributed search (keras-tuner's variables)."""
    return "KERASTUNER_ORACLE_IP" in os.environ and "chief" in os.environ.get("KERASTUNER_TUNER_ID", "")


def is_worker():
    """Whether this process is a worker of a distributed search."""
    return "KERASTUNER_ORACLE_IP" in os.environ and not is_chief()
