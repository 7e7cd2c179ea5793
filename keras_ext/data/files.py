"""Readers for datasets on disk: Fashion-MNIST's IDX files and `.npz` archives."""

import gzip
import os
import types

import numpy as np

from keras_ext.data.arrays import ImageArrays

# File names of the official Fashion-MNIST (and MNIST) distribution.
IDX_FILES = types.MappingProxyType(
    {
        "x_train": "train-images-idx3-ubyte",
        "y_train": "train-labels-idx1-ubyte",
        "x_val": "t10k-images-idx3-ubyte",
        "y_val": "t10k-labels-idx1-ubyte",
    }
)
_IDX_DTYPES = types.MappingProxyType({0x08: np.uint8})


def read_idx(path):
    """Read one IDX file (optionally gzipped) into a NumPy array, checking its header."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number).")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) if shape else 0
    if len(data) - header != expected:
        raise ValueError(
            f"{path} is truncated or corrupt: header says shape {shape} "
            f"({expected} bytes), file holds {len(data) - header}."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _find(directory, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(
        f"{directory} holds no {stem}.gz or {stem}; an IDX dataset directory needs "
        + ", ".join(f"{s}[.gz]" for s in IDX_FILES.values())
        + "."
    )


def to_image_arrays(x_train, y_train, x_val, y_val, num_classes=None):
    """Scale uint8 images to float32 in [0, 1], add a channel axis if missing, cast labels."""

    def images(x):
        x = np.asarray(x)
        scale = 255.0 if x.dtype == np.uint8 else 1.0
        x = x.astype("float32") / scale
        return x[..., None] if x.ndim == 3 else x

    y_train = np.asarray(y_train).astype("int32").reshape(-1)
    y_val = np.asarray(y_val).astype("int32").reshape(-1)
    if num_classes is None:
        num_classes = int(max(y_train.max(), y_val.max())) + 1
    return ImageArrays(images(x_train), y_train, images(x_val), y_val, num_classes)


def load_idx_directory(directory):
    """Load a directory in Fashion-MNIST's layout (train/t10k images and labels, IDX, gzipped or not)."""
    arrays = {key: read_idx(_find(directory, stem)) for key, stem in IDX_FILES.items()}
    for split in ("train", "val"):
        if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
            raise ValueError(
                f"{directory}: {split} images and labels differ in count "
                f"({len(arrays[f'x_{split}'])} vs {len(arrays[f'y_{split}'])})."
            )
    return to_image_arrays(**arrays)


def load_npz(path):
    """Load an `.npz` holding x_train, y_train, x_test, y_test (the Keras datasets' layout)."""
    with np.load(path) as f:
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f]
        if missing:
            raise ValueError(
                f"{path} lacks arrays {missing}; an .npz dataset needs x_train, y_train, x_test, y_test."
            )
        return to_image_arrays(f["x_train"], f["y_train"], f["x_test"], f["y_test"])
