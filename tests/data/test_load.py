import gzip
import os

import numpy as np
import pytest
from scipy import ndimage
from sklearn.datasets import load_digits

from keras_ext import data
from tests.data.idx_files import idx_bytes
from tests.data.idx_files import write_fashion_like
from tests.data.passes import labels
from tests.subprocess_utils import run_fresh_python


def test_digits_is_offline_28x28x1_in_unit_range_and_stratified():
    arrays = data.load_arrays("digits")
    assert arrays.x_train.shape[1:] == (28, 28, 1) and arrays.x_train.dtype == np.float32
    assert len(arrays.x_train) + len(arrays.x_val) == 1797
    assert len(arrays.x_val) == pytest.approx(0.2 * 1797, abs=1)
    assert 0.0 <= arrays.x_train.min() and arrays.x_train.max() <= 1.0
    assert arrays.num_classes == 10
    # stratified: each class's share of the validation split is its share of the
    # whole data set, to within one sample of that class
    whole = np.bincount(load_digits().target, minlength=10)
    val = np.bincount(arrays.y_val, minlength=10)
    np.testing.assert_allclose(val, whole * len(arrays.y_val) / whole.sum(), atol=1.0)
    # Images and labels stay paired: shrunk back to 8x8, each validation image's
    # nearest scikit-learn original carries the same label.
    digits = load_digits()
    originals = digits.images.reshape(len(digits.images), -1) / 16.0
    shrunk = ndimage.zoom(arrays.x_val[..., 0], (1, 8 / 28, 8 / 28), order=1).reshape(len(arrays.x_val), -1)
    distances = ((shrunk[:, None, :] - originals[None, :, :]) ** 2).sum(axis=-1)
    nearest_labels = digits.target[distances.argmin(axis=1)]
    assert (nearest_labels == arrays.y_val).mean() > 0.98


def test_digits_split_is_fixed_by_seed():
    a, b, c = (data.load_arrays("digits", seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.y_val, c.y_val)


def test_load_gives_batched_pipelines_and_facts(kind):
    loaded = data.load("digits", batch_size=64, kind=kind)
    assert loaded.input_shape == (28, 28, 1) and loaded.num_classes == 10
    x, y = next(iter(loaded.train))
    assert tuple(x.shape) == (64, 28, 28, 1) and tuple(y.shape) == (64,)
    total = sum(int(b[1].shape[0]) for b in loaded.validation)
    assert total == len(loaded.arrays.x_val)


def test_training_pipeline_is_shuffled_reproducibly_and_validation_is_not(kind):
    first = labels(data.load("digits", batch_size=128, seed=3, kind=kind).train)
    again = labels(data.load("digits", batch_size=128, seed=3, kind=kind).train)
    np.testing.assert_array_equal(first, again)
    loaded = data.load("digits", batch_size=128, seed=3, kind=kind)
    assert not np.array_equal(first, loaded.arrays.y_train)
    np.testing.assert_array_equal(labels(loaded.validation), loaded.arrays.y_val)


@pytest.mark.parametrize("compress", [True, False])
def test_idx_directory_in_fashion_mnist_layout(tmp_path, compress):
    written = write_fashion_like(tmp_path, compress=compress)
    arrays = data.load_arrays(str(tmp_path))
    np.testing.assert_allclose(arrays.x_train[..., 0], written["train-images-idx3-ubyte"] / 255.0, atol=1e-7)
    np.testing.assert_array_equal(arrays.y_val, written["t10k-labels-idx1-ubyte"])
    assert arrays.num_classes == 10 and arrays.input_shape == (28, 28, 1)


def test_truncated_idx_file_is_reported(tmp_path):
    write_fashion_like(tmp_path)
    broken = idx_bytes(np.zeros((12, 28, 28)))[:-100]
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(broken)
    with pytest.raises(ValueError, match="truncated"):
        data.load_arrays(str(tmp_path))


def test_missing_idx_file_is_named(tmp_path):
    write_fashion_like(tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        data.load_arrays(str(tmp_path))


def test_npz_in_keras_datasets_layout(tmp_path):
    rng = np.random.default_rng(0)
    x_train, x_test = rng.integers(0, 256, (10, 28, 28)), rng.integers(0, 256, (4, 28, 28))
    np.savez(
        tmp_path / "d.npz",
        x_train=x_train.astype("uint8"),
        y_train=np.arange(10) % 3,
        x_test=x_test.astype("uint8"),
        y_test=np.arange(4) % 3,
    )
    arrays = data.load_arrays(str(tmp_path / "d.npz"))
    np.testing.assert_allclose(arrays.x_val[..., 0], x_test / 255.0, atol=1e-7)
    assert arrays.num_classes == 3
    np.savez(tmp_path / "bad.npz", x=x_train)
    with pytest.raises(ValueError, match="x_train"):
        data.load_arrays(str(tmp_path / "bad.npz"))


@pytest.mark.parametrize("bad", ["mnist_typo", "/no/such/file.npz"])
def test_unknown_dataset_lists_accepted_names(bad):
    with pytest.raises(ValueError, match="digits"):
        data.load_arrays(bad)


def test_bad_batch_size_split_seed_and_kind():
    with pytest.raises(ValueError, match="batch_size=0"):
        data.load("digits", batch_size=0)
    with pytest.raises(ValueError, match="validation_split=1.5"):
        data.load("digits", validation_split=1.5)
    with pytest.raises(ValueError, match="seed=-1"):
        data.load("digits", seed=-1)
    with pytest.raises(ValueError, match="kind='grain'"):
        data.load("digits", kind="grain")


def test_fashion_mnist_uses_the_real_keras_loader_on_cached_files(tmp_path):
    # Keras's loader reads $KERAS_HOME/datasets/fashion-mnist before it would
    # download: files written there by the test exercise the real code path offline.
    written = write_fashion_like(tmp_path / "datasets" / "fashion-mnist")
    np.save(tmp_path / "expected.npy", written["train-images-idx3-ubyte"])
    run_fresh_python(
        f"""
        import numpy as np
        from keras_ext import data
        arrays = data.load_arrays("fashion_mnist")
        expected = np.load({str(tmp_path / "expected.npy")!r}) / 255.0
        assert arrays.x_train.shape == (12, 28, 28, 1), arrays.x_train.shape
        np.testing.assert_allclose(arrays.x_train[..., 0], expected, atol=1e-7)
        assert arrays.num_classes == 10
        """,
        env={"KERAS_HOME": str(tmp_path)},
    )
