"""In-memory image classification data: the NumPy arrays behind every keras_ext dataset."""

from typing import NamedTuple

import numpy as np


class ImageArrays(NamedTuple):
    """Train and validation images (float32, channels-last, scaled to [0, 1]) and int32 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int

    @property
    def input_shape(self):
        """Shape of one image, `(height, width, channels)`."""
        return tuple(self.x_train.shape[1:])
