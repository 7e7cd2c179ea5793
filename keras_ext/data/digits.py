"""The built-in offline dataset: scikit-learn's 8x8 handwritten digits at Fashion-MNIST's 28x28x1."""

import numpy as np

from keras_ext.data.arrays import ImageArrays

DIGITS_SIZE = 28


def load_digits_arrays(validation_split=0.2, seed=0):
    """Load the 1,797 digits bundled with scikit-learn, upsampled to 28x28x1 in [0, 1].

    The split is stratified and fixed by `seed`, so every run sees the same
    validation images. Needs no network.
    """
    from scipy import ndimage
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"`validation_split` must be in (0, 1), got validation_split={validation_split!r}.")
    digits = load_digits()
    images = digits.images.astype("float32") / 16.0
    zoom = DIGITS_SIZE / images.shape[1]
    # Bilinear upsampling keeps the 0..1 range (order=1 never overshoots).
    images = ndimage.zoom(images, (1, zoom, zoom), order=1).astype("float32")[..., None]
    labels = digits.target.astype("int32")
    x_train, x_val, y_train, y_val = train_test_split(
        images, labels, test_size=validation_split, random_state=seed, stratify=labels
    )
    return ImageArrays(np.ascontiguousarray(x_train), y_train, np.ascontiguousarray(x_val), y_val, 10)
