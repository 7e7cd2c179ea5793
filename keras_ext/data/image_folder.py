"""`load_image_folder`: a folder of class subfolders of images, in Keras's `image_dataset_from_directory` layout.

    DIR/
      cat/  a.png  b.jpg ...
      dog/  c.png ...

Class names are the subfolders' names, sorted (label 0 is the first), as
Keras names them. Every image is read once into memory (so the pipelines
keep keras_ext's (seed, epoch) order and exact resume), converted to one
channel when every image is grayscale and to RGB otherwise, resized to one
size, and scaled to [0, 1].
"""

import os

import numpy as np

from keras_ext.data.arrays import ImageArrays
from keras_ext.data.epoch_order import check_seed

# The extensions Keras's image_dataset_from_directory reads.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def is_image_folder(directory):
    """Whether `directory` has a subfolder: the class-folder layout (checked in full by `load_image_folder`)."""
    return any(entry.is_dir() and not entry.name.startswith(".") for entry in os.scandir(directory))


def load_image_folder(directory, image_size=None, validation_split=0.2, seed=0):
    """Read a folder of class subfolders of images into `ImageArrays`.

    Args:
        directory: the folder; each subfolder is one class and holds its
            images (`.bmp`, `.gif`, `.jpeg`, `.jpg`, `.png`, as Keras reads).
        image_size: `(height, width)` every image is resized to (bilinear);
            default: the first image's size (first class, first file by name).
        validation_split: fraction of the images held out for validation,
            drawn at random by `seed` (0 < split < 1).
        seed: seed of that split (a non-negative int).

    Returns:
        `ImageArrays` whose `class_names` are the subfolders' names.

    Raises:
        ValueError: in one line, for a folder with no class subfolders, a
            single class, a class with no images, or an image that cannot
            be read (naming the file).

    Example:

    >>> import os, tempfile, numpy as np
    >>> from PIL import Image
    >>> from keras_ext.data import load_image_folder
    >>> root = tempfile.mkdtemp()
    >>> for label, name in enumerate(["circle", "square", "star"]):
    ...     os.makedirs(os.path.join(root, name))
    ...     for i in range(5):
    ...         pixels = np.full((12, 10), 40 * label + i, "uint8")
    ...         Image.fromarray(pixels).save(os.path.join(root, name, f"{i}.png"))
    >>> arrays = load_image_folder(root, validation_split=0.2, seed=0)
    >>> arrays.class_names, arrays.input_shape, len(arrays.x_train), len(arrays.x_val)
    (('circle', 'square', 'star'), (12, 10, 1), 12, 3)
    """
    seed = check_seed(seed)
    if not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, got {validation_split!r}.")
    class_names, paths, labels = _class_files(directory)
    images = _read_images(paths, image_size)
    order = np.random.default_rng(seed).permutation(len(paths))
    n_val = max(1, int(round(len(paths) * validation_split)))
    val, train = order[:n_val], order[n_val:]
    labels = np.asarray(labels, "int32")
    return ImageArrays(
        images[train], labels[train], images[val], labels[val], len(class_names), tuple(class_names)
    )


def _class_files(directory):
    """(class names, image paths, labels): every image of every class subfolder, in name order."""
    classes = sorted(
        entry.name for entry in os.scandir(directory) if entry.is_dir() and not entry.name.startswith(".")
    )
    if len(classes) < 2:
        found = f"only the class {classes[0]!r}" if classes else "no class subfolders"
        raise ValueError(
            f"{directory}: an image folder needs a subfolder of images per class, at least two; found {found}."
        )
    paths, labels = [], []
    for label, name in enumerate(classes):
        folder = os.path.join(directory, name)
        files = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS))
        if not files:
            raise ValueError(f"{folder}: class {name!r} holds no images ({', '.join(IMAGE_EXTENSIONS)}).")
        paths += [os.path.join(folder, f) for f in files]
        labels += [label] * len(files)
    return classes, paths, labels


def _read_images(paths, image_size):
    """The images as one float32 array `(n, height, width, channels)` in [0, 1].

    A first pass reads only the headers (every file checked, the mode and
    the first size found); the second decodes one image at a time.
    """
    from PIL import Image

    headers = [_header(Image, path) for path in paths]
    mode = "L" if all(m in ("L", "1", "I;16") for m, _ in headers) else "RGB"
    height, width = image_size or headers[0][1][::-1]  # PIL's size is (width, height)
    out = np.empty((len(paths), height, width, 1 if mode == "L" else 3), "float32")
    for index, path in enumerate(paths):
        with Image.open(path) as image:
            image = image.convert(mode)
            if image.size != (width, height):
                image = image.resize((width, height), Image.BILINEAR)
            out[index] = np.asarray(image, "float32").reshape(height, width, -1) / 255.0
    return out


def _header(Image, path):
    """(mode, size) of an image file; one line naming the file if it is no image PIL can read."""
    try:
        with Image.open(path) as image:
            image.verify()  # reads the whole file without decoding it: truncated files fail here
            return image.mode, image.size
    except Exception as e:  # noqa: BLE001 - PIL raises many kinds; the file is what matters
        raise ValueError(f"{path}: cannot read this image ({type(e).__name__}: {e}).") from None
