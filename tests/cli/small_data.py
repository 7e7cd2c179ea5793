"""The small dataset the command-line tests train on: a .npz of 8x8x1 uint8 images of 3 classes."""

import numpy as np


def write_small_npz(path):
    """Write 64 train / 32 test images (2 steps an epoch at batch 32) to `path`; return it."""
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (64, 8, 8, 1)).astype("uint8"),
        y_train=np.arange(64) % 3,
        x_test=rng.integers(0, 256, (32, 8, 8, 1)).astype("uint8"),
        y_test=np.arange(32) % 3,
    )
    return path
