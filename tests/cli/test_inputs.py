"""Bad data and a bad --output stop `keras-ext train` (and `tune`) before training: one line, exit 2, nothing written."""

import errno
import os
import re
import subprocess
import time
import types

import numpy as np
import pytest

from keras_ext.cli import _inputs
from keras_ext.cli.errors import UsageError
from keras_ext.cli.main import main
from keras_ext.data.arrays import ImageArrays
from tests.cli.test_train import _keras_ext_command
from tests.cli.test_train import assert_one_error_line

pytestmark = pytest.mark.tensorflow_only


def _arrays(n_train=12, n_test=6, shape=(8, 8)):
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (n_train, *shape)).astype("uint8"),
        "y_train": np.arange(n_train) % 3,
        "x_test": rng.integers(0, 256, (n_test, *shape)).astype("uint8"),
        "y_test": np.arange(n_test) % 3,
    }


def _npz(tmp_path, **changes):
    arrays = {**_arrays(), **changes}
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return str(path)


def _nan_images():
    x = _arrays()["x_train"].astype("float32") / 255
    x[4, 2, 3] = np.nan
    return x


# (what is changed in a good .npz, what the one error line must name)
BAD_DATA = {
    "negative label": (
        {"y_train": np.array([0, 1, 2, -1, 0, 1, 2, 0, 1, 2, 0, 1])},
        "y_train[3] = -1 is negative",
    ),
    "non-integer label": (
        {"y_test": np.array([0, 1, 1.5, 0, 1, 2])},
        "y_test[2] = 1.5 is not a whole number",
    ),
    "NaN label": ({"y_test": np.array([0, 1, np.nan, 0, 1, 2])}, "y_test[2] = nan is not a whole number"),
    "NaN image": ({"x_train": _nan_images()}, "x_train[4, 2, 3] = nan is not a finite pixel value"),
    "mismatched lengths": ({"y_train": np.arange(10) % 3}, "x_train holds 12 images but y_train 10 labels"),
    "different image shapes": (
        {"x_test": _arrays(shape=(9, 9))["x_test"]},
        "train images are (8, 8, 1) but validation images (9, 9, 1)",
    ),
    "missing key": ({"y_test": None}, "lacks y_test"),
    "string labels": ({"y_train": np.array(list("abcabcabcabc"))}, "dtype <U1"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_npz_exits_2_with_one_line_before_training(tmp_path, capsys, case):
    changes, message = BAD_DATA[case]
    npz = _npz(tmp_path, **changes)
    assert main(["train", "--dataset", npz, "--output", str(tmp_path / "out")]) == 2
    assert_one_error_line(capsys, f"--dataset {npz}: ", message)
    assert sorted(os.listdir(tmp_path)) == ["data.npz"]


def test_images_too_small_for_the_model_exit_2_before_training(tmp_path, capsys):
    npz = _npz(tmp_path)  # 8x8 images: FashionCNN's two conv+pool stages leave nothing
    assert main(["train", "--model", "fashioncnn", "--dataset", npz, "--output", str(tmp_path / "out")]) == 2
    assert_one_error_line(capsys, "--model fashioncnn cannot take images of shape (8, 8, 1)")
    assert sorted(os.listdir(tmp_path)) == ["data.npz"]


def test_good_npz_passes_the_checks(tmp_path):
    arrays = _inputs.load_checked_arrays(_npz(tmp_path))
    assert arrays.input_shape == (8, 8, 1) and arrays.num_classes == 3
    # Whole numbers stored as floats are class indices too.
    assert _inputs.load_checked_arrays(_npz(tmp_path, y_train=np.arange(12.0) % 3)).num_classes == 3


def test_labels_beyond_num_classes_are_refused():
    # keras_ext's loaders infer num_classes from .npz and IDX labels; a fixed
    # count (fashion_mnist: 10) can still be exceeded by its labels.
    x = np.zeros((4, 8, 8, 1), "float32")
    arrays = ImageArrays(x, np.array([0, 1, 2, 3]), x, np.array([0, 1, 10, 2]), num_classes=10)
    with pytest.raises(UsageError, match=r"--dataset d: validation labels\[2\] = 10 is not in \[0, 10\)"):
        _inputs.check_arrays("d", arrays)


def test_an_output_that_is_a_file_is_refused_before_training_by_the_console_script(tmp_path):
    output = tmp_path / "model_here"
    output.write_text("keep me")
    proc = subprocess.run(
        [*_keras_ext_command(), "train", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 2, proc.stderr
    assert _without_tensorflow_startup(proc.stderr) == [
        f"keras-ext train: error: --output {output}: is an existing file, not a directory"
    ], proc.stderr
    assert proc.stdout == "" and output.read_text() == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["model_here"]


def _without_tensorflow_startup(stderr):
    # TensorFlow's C++ runtime logs a few lines when it is imported (oneDNN,
    # CPU features), whatever TF_CPP_MIN_LOG_LEVEL says; they are not keras_ext's.
    tensorflow_line = re.compile(r"^([IWE]\d{4} |WARNING: All log messages before absl::InitializeLog)")
    return [line for line in stderr.strip().splitlines() if not tensorflow_line.match(line)]


def test_an_output_below_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(["train", "--output", str(tmp_path / "file" / "run")]) == 2
    assert_one_error_line(capsys, f"{tmp_path / 'file'} is a file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_output_in_a_read_only_directory_is_refused(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["train", "--output", str(locked / "run")]) == 2
    assert_one_error_line(capsys, "is not writable")


def test_tune_checks_the_same_data(tmp_path, capsys):
    npz = _npz(tmp_path, **BAD_DATA["NaN image"][0])
    assert main(["tune", "--dataset", npz, "--directory", str(tmp_path / "search")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-ext tune: error: --dataset"), lines
    assert sorted(os.listdir(tmp_path)) == ["data.npz"]


def test_an_output_that_cannot_be_written_is_refused_before_training_by_the_console_script(tmp_path):
    # /proc passes os.access for root, who may write anywhere else: only a real write finds out.
    started = time.monotonic()
    proc = subprocess.run(
        [*_keras_ext_command(), "train", "--output", "/proc/x"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    seconds = time.monotonic() - started
    assert proc.returncode == 2, (seconds, proc.stderr[-3000:])
    lines = _without_tensorflow_startup(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("keras-ext train: error: --output /proc/x: "), lines
    assert "Epoch" not in proc.stdout, seconds


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--epochs", "1", "--output", "/proc/x"],
        ["train", "--epochs", "1", "--output", "{tmp}", "--checkpoint-dir", "/proc/x"],
        ["tune", "--max-trials", "1", "--epochs", "1", "--directory", "/proc/x"],
        ["bench", "--quick", "--output", "/proc/x"],
    ],
)
def test_every_command_proves_its_output_writable_first(tmp_path, capsys, argv):
    assert main([a.format(tmp=tmp_path / "out") for a in argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    option = argv[-2]
    assert len(lines) == 1 and f": error: {option} /proc/x" in lines[0], lines
    assert "Epoch" not in captured.out and "Running Trial" not in captured.out
    assert "steps/s" not in captured.out  # no benchmark ran
    assert os.listdir(tmp_path) == []


def test_the_probe_writes_and_leaves_nothing_behind(tmp_path):
    _inputs.probe_output_dir(str(tmp_path / "new" / "run"))
    assert os.listdir(tmp_path) == []
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "model.keras").write_text("old")
    _inputs.probe_output_dir(str(tmp_path / "kept"))
    assert os.listdir(tmp_path / "kept") == ["model.keras"]
    with pytest.raises(UsageError, match=r"^--output /proc/x: cannot create and write a file there"):
        _inputs.probe_output_dir("/proc/x")


def test_a_probe_outlasts_the_other_processes_of_its_job_removing_the_new_directories(tmp_path, monkeypatch):
    # A chief and its workers start together and probe the same new project directory;
    # each removes the directories it made once its own probe is done, under the others'
    # feet. Here the others win five times in a row: four times they remove both
    # directories between this probe's makedirs and its file, once one of them inside
    # makedirs (its mkdir finds the directory made, its check then finds it gone:
    # FileExistsError). On one loaded core a chief and two workers lost three times.
    target = tmp_path / "search" / "project"
    rivals = [*[lambda: (target.rmdir(), target.parent.rmdir())] * 4, "inside makedirs"]

    def makedirs_then_rivals(path, exist_ok=False):
        if rivals and rivals[0] == "inside makedirs":
            rivals.pop(0)
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path)
        os.makedirs(path, exist_ok=exist_ok)
        if rivals:
            rivals.pop(0)()

    racing_os = types.SimpleNamespace(**{name: getattr(os, name) for name in dir(os)})
    racing_os.makedirs = makedirs_then_rivals
    monkeypatch.setattr(_inputs, "os", racing_os)
    _inputs.probe_output_dir(str(target), "--directory")
    assert rivals == [] and os.listdir(tmp_path) == []


def test_an_output_refused_by_the_write_itself_is_refused(tmp_path, monkeypatch):
    # A directory that takes new names but no bytes (a full disk, a quota): the probe's write fails.
    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    full_disk_os = types.SimpleNamespace(**{name: getattr(os, name) for name in dir(os)})
    full_disk_os.write = full
    monkeypatch.setattr(_inputs, "os", full_disk_os)
    with pytest.raises(UsageError, match="No space left on device"):
        _inputs.probe_output_dir(str(tmp_path / "run"), "--output")
    assert os.listdir(tmp_path) == []


def test_offline_fashion_mnist_is_one_line_naming_the_dataset_the_cache_and_what_to_do(tmp_path):
    # No network, and no cache: Keras's cache is an empty KERAS_HOME, and every download goes
    # through a proxy that refuses connections, whether or not this machine is online.
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    unreachable = "http://127.0.0.1:9"
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "KERAS_HOME": str(keras_home),
        **{name: unreachable for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")},
        "no_proxy": "",
        "NO_PROXY": "",
    }
    proc = subprocess.run(
        [*_keras_ext_command(), "train", "--dataset", "fashion_mnist", "--output", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = _without_tensorflow_startup(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("keras-ext train: error: "), lines
    cache = keras_home / "datasets" / "fashion-mnist"
    for fragment in ("'fashion_mnist'", f"cache {cache} ", "train-images-idx3-ubyte.gz", "--dataset PATH"):
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()
