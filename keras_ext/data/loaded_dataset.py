"""The value `keras_ext.data.load` returns."""

from typing import Any
from typing import NamedTuple


class LoadedDataset(NamedTuple):
    """Train/validation pipelines (tf.data, or a PyDataset without TensorFlow) and the facts a model needs.

    Example:

    >>> import keras_ext
    >>> data = keras_ext.data.load("digits", batch_size=100)
    >>> images, labels = next(iter(data.train))
    >>> tuple(images.shape), tuple(labels.shape), data.num_classes
    ((100, 28, 28, 1), (100,), 10)
    """

    train: Any
    validation: Any
    input_shape: tuple
    num_classes: int
    arrays: Any
