"""In-memory image classification data: the NumPy arrays behind every keras_ext dataset."""

from typing import NamedTuple

import numpy as np


class ImageArrays(NamedTuple):
    """Train and validation images (float32, channels-last, scaled to [0, 1]) and int32 labels.

    Example:

    >>> import keras_ext
    >>> arrays = keras_ext.data.load_arrays("digits")
    >>> arrays.x_train.shape, arrays.y_val.shape, arrays.input_shape, arrays.num_classes
    ((1437, 28, 28, 1), (360,), (28, 28, 1), 10)
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int
    # The name of each label (an image folder's subfolders), or None where the source has none.
    class_names: tuple | None = None

    @property
    def input_shape(self):
        """Shape of one image, `(height, width, channels)`."""
        return tuple(self.x_train.shape[1:])
