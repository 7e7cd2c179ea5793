"""Small offline datasets that keep search tests fast: scikit-learn's digits at their own 8x8 size."""

import numpy as np
from sklearn.datasets import load_digits


def tiny_digits(n_train=240, n_val=120):
    """(x_train, y_train, x_val, y_val): 8x8x1 float32 images in [0, 1], int32 labels."""
    digits = load_digits()
    x = (digits.images[..., None] / 16.0).astype("float32")
    y = digits.target.astype("int32")
    return x[:n_train], y[:n_train], x[n_train : n_train + n_val], y[n_train : n_train + n_val]


def write_tiny_npz(path, n_train=240, n_val=120):
    """Write the tiny digits as an .npz in the Keras datasets' layout (x_train, ..., y_test)."""
    x_train, y_train, x_val, y_val = tiny_digits(n_train, n_val)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_val, y_test=y_val)
    return str(path)
