"""The value `keras_ext.data.load` returns."""

from typing import Any
from typing import NamedTuple


class LoadedDataset(NamedTuple):
    """tf.data train/validation pipelines with the facts a model needs about them."""

    train: Any
    validation: Any
    input_shape: tuple
    num_classes: int
    arrays: Any
