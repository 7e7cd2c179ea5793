"""A folder of class subfolders of images (Keras's `image_dataset_from_directory` layout) as ImageArrays.

The reference is the pixels each test writes: a file's label is its folder's
index among the sorted class names, and an image read at its own size comes
back as its bytes / 255.
"""

import numpy as np
import pytest
from PIL import Image

from keras_ext.data import load
from keras_ext.data import load_arrays
from keras_ext.data import load_image_folder

CLASSES = ("cat", "dog", "emu")  # written out of order below: labels follow the sorted names


def write_folder(root, per_class=4, size=(6, 5), mode="L"):
    """{path: (label, pixels)} of the images written under `root`, one value per image."""
    written = {}
    for label, name in sorted(enumerate(CLASSES), key=lambda item: -item[0]):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            value = 10 * label + i
            shape = (size[0], size[1]) if mode == "L" else (size[0], size[1], 3)
            pixels = np.full(shape, value, "uint8")
            path = root / name / f"{i}.png"
            Image.fromarray(pixels, mode).save(path)
            written[str(path)] = (label, pixels)
    return written


def test_labels_follow_sorted_class_names_and_pixels_come_back_exactly(tmp_path):
    written = write_folder(tmp_path)
    arrays = load_image_folder(tmp_path, validation_split=0.25, seed=3)
    assert arrays.class_names == CLASSES and arrays.num_classes == 3
    assert arrays.input_shape == (6, 5, 1)
    assert len(arrays.x_train) == 9 and len(arrays.x_val) == 3
    # Every image exactly once, with its folder's label: each image is one flat value.
    seen = sorted(
        (int(label), int(round(float(x[0, 0, 0]) * 255)))
        for xs, ys in ((arrays.x_train, arrays.y_train), (arrays.x_val, arrays.y_val))
        for x, label in zip(xs, ys, strict=True)
    )
    assert seen == sorted((label, int(pixels[0, 0])) for label, pixels in written.values())
    assert arrays.x_train.dtype == np.float32 and arrays.y_train.dtype == np.int32


def test_the_split_is_the_seed_s(tmp_path):
    write_folder(tmp_path)
    a, b = (load_image_folder(tmp_path, seed=1) for _ in range(2))
    np.testing.assert_array_equal(a.x_val, b.x_val)
    c = load_image_folder(tmp_path, seed=2)
    assert not np.array_equal(a.x_val, c.x_val)


def test_a_colour_image_makes_every_image_rgb_and_image_size_resizes(tmp_path):
    write_folder(tmp_path)
    Image.fromarray(np.zeros((6, 5, 3), "uint8"), "RGB").save(tmp_path / "dog" / "colour.png")
    arrays = load_arrays(tmp_path, image_size=(4, 7))
    assert arrays.input_shape == (4, 7, 3)
    assert arrays.class_names == CLASSES


def test_load_gives_pipelines_of_the_folder(tmp_path):
    write_folder(tmp_path)
    data = load(tmp_path, batch_size=4, seed=0)
    assert (data.input_shape, data.num_classes, data.arrays.class_names) == ((6, 5, 1), 3, CLASSES)
    assert sum(len(x) for x, _ in data.train) == len(data.arrays.x_train)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda root: None, "no class subfolders"),
        (lambda root: (root / "cat").mkdir(), "only the class 'cat'"),
        (lambda root: [(root / n).mkdir() for n in ("cat", "dog")], "class 'cat' holds no images"),
    ],
    ids=["no classes", "one class", "an empty class"],
)
def test_bad_folders_are_refused_in_one_line(tmp_path, make, message):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "README.txt").write_text("not an image")
    make(tmp_path / "data")
    with pytest.raises(ValueError) as error:
        load_image_folder(tmp_path / "data")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_folder_of_neither_layout_names_both(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(
        ValueError, match="neither Fashion-MNIST's IDX files .* nor class subfolders of images"
    ):
        load_arrays(tmp_path)


def test_an_unreadable_image_is_named(tmp_path):
    write_folder(tmp_path)
    (tmp_path / "emu" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match=r"emu/broken.png: cannot read this image"):
        load_arrays(tmp_path)
