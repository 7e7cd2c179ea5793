"""`keras_ext.data.load`: a dataset by name or path, as pipelines `fit` and the Trainer accept."""

import os

from keras_ext.data.digits import load_digits_arrays
from keras_ext.data.epoch_order import check_seed
from keras_ext.data.files import IDX_FILES
from keras_ext.data.files import load_idx_directory
from keras_ext.data.files import load_npz
from keras_ext.data.files import to_image_arrays
from keras_ext.data.image_folder import is_image_folder
from keras_ext.data.image_folder import load_image_folder
from keras_ext.data.loaded_dataset import LoadedDataset
from keras_ext.data.pipeline import make_pipeline

BUILTIN_NAMES = ("digits", "fashion_mnist")


def load_arrays(name_or_path="digits", validation_split=0.2, seed=0, image_size=None):
    """Return a dataset as `ImageArrays` (NumPy), by name or path.

    Args:
        name_or_path: `"digits"` (built in, offline: scikit-learn's digits
            at 28x28x1), `"fashion_mnist"` (Keras's downloader; needs the
            network or its cache in ~/.keras/datasets), a directory in
            Fashion-MNIST's IDX layout, a folder of class subfolders of
            images (Keras's `image_dataset_from_directory` layout; see
            `load_image_folder`), or an `.npz` with x_train, y_train,
            x_test, y_test.
        validation_split: fraction held out for validation (digits and image
            folders; the other sources have their own test split).
        seed: seed of the digits' or the image folder's split.
        image_size: `(height, width)` an image folder's images are resized
            to (default: its first image's size); other sources ignore it.

    Raises:
        ValueError: for an unknown name or a path that is no dataset.
        FileNotFoundError: for `"fashion_mnist"` offline without Keras's
            cache, naming the cache and how to give the files instead.
    """
    if name_or_path == "digits":
        return load_digits_arrays(validation_split=validation_split, seed=seed)
    if name_or_path == "fashion_mnist":
        return _load_fashion_mnist()
    path = os.fspath(name_or_path)
    if os.path.isdir(path):
        if not _holds_idx_files(path) and is_image_folder(path):
            return load_image_folder(path, image_size, validation_split=validation_split, seed=seed)
        if not _holds_idx_files(path):
            raise ValueError(
                f"{path} is no dataset directory: it holds neither Fashion-MNIST's IDX files "
                f"({', '.join(s + '[.gz]' for s in IDX_FILES.values())}) nor class subfolders of images."
            )
        return load_idx_directory(path)
    if path.endswith(".npz") and os.path.isfile(path):
        return load_npz(path)
    raise ValueError(
        f"Unknown dataset {name_or_path!r}: expected one of {list(BUILTIN_NAMES)}, "
        "a directory of IDX files in Fashion-MNIST's layout, a folder of class subfolders of "
        "images, or an existing .npz file."
    )


def _holds_idx_files(directory):
    return any(name.startswith(stem) for name in os.listdir(directory) for stem in IDX_FILES.values())


def _load_fashion_mnist():
    """`keras.datasets.fashion_mnist.load_data()`, with a failed download said in one line: the
    dataset, the cache Keras looked in, and how to give the files instead."""
    import keras

    try:
        (x_train, y_train), (x_val, y_val) = keras.datasets.fashion_mnist.load_data()
    except Exception as e:  # Keras raises a bare Exception ("URL fetch failure on ...")
        cache = _keras_cache_dir("datasets", "fashion-mnist")
        files = [stem + ".gz" for stem in IDX_FILES.values()]
        if all(os.path.exists(os.path.join(cache, name)) for name in files):
            raise  # the files are there: something other than the download failed
        raise FileNotFoundError(
            f"dataset 'fashion_mnist' is not in Keras's cache {cache} and could not be downloaded "
            f"({' '.join(str(e).split())}); put its files {', '.join(files)} there, or use a "
            "directory of them or an .npz of x_train, y_train, x_test, y_test as the dataset "
            "(keras-ext: --dataset PATH)"
        ) from e
    return to_image_arrays(x_train, y_train, x_val, y_val, num_classes=10)


def _keras_cache_dir(*subdirs):
    """Where `keras.utils.get_file` keeps its files, by Keras's rule: $KERAS_HOME, else ~/.keras;
    /tmp/.keras where that cannot be written."""
    base = os.environ["KERAS_HOME"] if "KERAS_HOME" in os.environ else os.path.expanduser("~/.keras")
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")
    return os.path.join(base, *subdirs)


def load(
    name_or_path="digits",
    batch_size=32,
    validation_split=0.2,
    seed=0,
    kind="auto",
    drop_remainder=False,
    image_size=None,
):
    """Load a dataset as batched pipelines, the training one shuffled by (seed, epoch).

    Args:
        name_or_path: see `load_arrays`; `"digits"` is the offline default.
        batch_size: positive int.
        validation_split: see `load_arrays`.
        seed: non-negative int seed of the split and of the training shuffle.
        kind: `"auto"` (tf.data where TensorFlow is installed, else a
            `keras.utils.PyDataset`), `"tf.data"` or `"pydataset"`; see
            `make_pipeline`. Both kinds give the same batches in the same order.
        drop_remainder: leave out each epoch's last, smaller batch (both
            pipelines), as a JAX job across processes needs.
        image_size: see `load_arrays` (image folders only).

    Returns:
        A `LoadedDataset` with `train` and `validation` pipelines of
        `(images, labels)` batches, `input_shape`, `num_classes` and the
        underlying `arrays`. Pass `shuffle=False` to `fit`: the training
        pipeline shuffles itself.

    Example:

    >>> import keras_ext
    >>> data = keras_ext.data.load("digits", batch_size=64)
    >>> data.input_shape, data.num_classes
    ((28, 28, 1), 10)
    """
    seed = check_seed(seed)  # before the split, so a bad seed is named as keras_ext's argument
    arrays = load_arrays(name_or_path, validation_split=validation_split, seed=seed, image_size=image_size)
    return loaded_dataset(arrays, batch_size, seed, kind, drop_remainder)


def loaded_dataset(arrays, batch_size=32, seed=0, kind="auto", drop_remainder=False):
    """`load`'s result from arrays already loaded (`load_arrays`): the command line checks a dataset's
    arrays before it builds anything, and does not read the files twice."""
    return LoadedDataset(
        train=make_pipeline(
            arrays.x_train, arrays.y_train, batch_size, True, seed, kind, drop_remainder=drop_remainder
        ),
        validation=make_pipeline(
            arrays.x_val, arrays.y_val, batch_size, False, seed, kind, drop_remainder=drop_remainder
        ),
        input_shape=arrays.input_shape,
        num_classes=arrays.num_classes,
        arrays=arrays,
    )
