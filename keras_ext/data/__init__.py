"""Datasets: the offline built-in `"digits"`, Fashion-MNIST, and files on disk (IDX files, an
`.npz`, a folder of class subfolders of images), as pipelines.

Pipelines are tf.data where TensorFlow is installed and `keras.utils.PyDataset`s
where it is not; nothing here imports TensorFlow until a tf.data pipeline is built.
"""

from keras_ext.data.array_batches import ArrayBatches
from keras_ext.data.arrays import ImageArrays
from keras_ext.data.digits import load_digits_arrays
from keras_ext.data.files import load_idx_directory
from keras_ext.data.files import load_npz
from keras_ext.data.files import read_idx
from keras_ext.data.image_folder import load_image_folder
from keras_ext.data.load import BUILTIN_NAMES
from keras_ext.data.load import load
from keras_ext.data.load import load_arrays
from keras_ext.data.loaded_dataset import LoadedDataset
from keras_ext.data.pipeline import make_pipeline

__all__ = [
    "ArrayBatches",
    "BUILTIN_NAMES",
    "ImageArrays",
    "LoadedDataset",
    "load",
    "load_arrays",
    "load_digits_arrays",
    "load_idx_directory",
    "load_image_folder",
    "load_npz",
    "make_pipeline",
    "read_idx",
]
