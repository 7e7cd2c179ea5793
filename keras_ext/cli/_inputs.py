"""Checks of a command's input before any training: the dataset's arrays and the output directory.

Each raises `UsageError` with one line naming the bad value. keras_ext's
loaders scale images and cast labels to int32, which would hide a label of
1.5 or a NaN label, so an `.npz` is also checked as stored.
"""

import os
import tempfile

import numpy as np

from keras_ext.cli.errors import UsageError

BUILTIN_DATASETS = ("digits", "fashion_mnist")
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_checked_arrays(source, seed=0, image_size=None):
    """`keras_ext.data.load_arrays(source)` after checking the source, then its arrays; UsageError if bad."""
    from keras_ext import data

    check_dataset_source(source)
    if source.endswith(".npz"):
        check_npz(source)
    arrays = data.load_arrays(source, seed=seed, image_size=image_size)
    if image_size is not None and arrays.class_names is None:
        raise UsageError(f"--image-size applies to a folder of class subfolders of images, not to {source}")
    check_arrays(source, arrays)
    return arrays


def check_dataset_source(text):
    """A built-in name, an existing directory, or an existing `.npz` file."""
    if text in BUILTIN_DATASETS:
        return
    if not os.path.exists(text):
        raise UsageError(
            f"--dataset {text}: no such file or directory (expected one of "
            f"{', '.join(BUILTIN_DATASETS)}, an IDX directory, an .npz file or a folder of class "
            "subfolders of images)"
        )
    if os.path.isfile(text) and not text.endswith(".npz"):
        raise UsageError(f"--dataset {text}: a dataset file must be an .npz holding {', '.join(NPZ_KEYS)}")


def check_npz(path):
    """The arrays of an `.npz` as stored: keys, lengths, whole-number labels, finite images."""
    with np.load(path) as stored:
        missing = [k for k in NPZ_KEYS if k not in stored]
        if missing:
            raise UsageError(
                f"--dataset {path}: lacks {', '.join(missing)} (an .npz dataset holds "
                f"{', '.join(NPZ_KEYS)}; it holds {', '.join(sorted(stored.files)) or 'nothing'})"
            )
        for split in ("train", "test"):
            x, y = stored[f"x_{split}"], stored[f"y_{split}"]
            if len(x) != len(y):
                raise UsageError(
                    f"--dataset {path}: x_{split} holds {len(x)} images but y_{split} {len(y)} labels"
                )
            _check_labels(f"--dataset {path}: y_{split}", y)
            _check_finite(f"--dataset {path}: x_{split}", x)


def check_arrays(source, arrays):
    """What the loader made of the data: shapes, lengths, finite pixels, labels in [0, num_classes)."""
    where = f"--dataset {source}"
    for split, x, y in (
        ("train", arrays.x_train, arrays.y_train),
        ("validation", arrays.x_val, arrays.y_val),
    ):
        if x.ndim != 4:
            raise UsageError(
                f"{where}: {split} images have shape {x.shape[1:]}; expected (height, width) "
                "or (height, width, channels) per image"
            )
        if len(x) == 0 or len(x) != len(y):
            raise UsageError(f"{where}: {split} holds {len(x)} images and {len(y)} labels")
        _check_finite(f"{where}: {split} images", x)
        _check_labels(f"{where}: {split} labels", y, arrays.num_classes)
    if arrays.x_train.shape[1:] != arrays.x_val.shape[1:]:
        raise UsageError(
            f"{where}: train images are {arrays.x_train.shape[1:]} but validation images "
            f"{arrays.x_val.shape[1:]}; both splits need one image shape"
        )


def check_checkpoint_url(path, option="--checkpoint-dir"):
    """`path` as CheckpointManager takes it: a local path as it is, a `file://` URL as its local path,
    and any other URL checked for a filesystem and probed with one small write (a dead endpoint, a
    missing bucket or refused credentials end the command here, before training)."""
    from keras_ext.checkpoint import _checkpoint_files
    from keras_ext.checkpoint import _locations
    from keras_ext.checkpoint import _remote_files

    if _locations.scheme(path) is None:
        return path
    try:
        path = _checkpoint_files.check_directory(path)
    except ValueError as e:
        raise UsageError(f"{option}: {e}") from None
    if _locations.is_url(path):
        try:
            _remote_files.probe_writable(path)
        except OSError as e:
            raise UsageError(f"{option} {path}: {e}") from None
    return path


def check_output_dir(path, option="--output"):
    """`path` is a directory, or one can be created there; nothing is created now."""
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise UsageError(f"{option} {path}: is an existing file, not a directory")
        existing = path
    else:
        existing = os.path.dirname(os.path.abspath(path))
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise UsageError(f"{option} {path}: cannot be created, {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: {existing} is not writable")


def probe_output_dir(path, option="--output"):
    """Prove `path` writable by creating it and writing a file there; leave the file system as it was.

    `os.access` is not proof: root passes it for /proc, and a read-only or
    full file system only refuses the write itself. The probe file and every
    directory made for it are removed again, so a run that stops later
    leaves nothing behind.
    """
    made = _missing_directories(path)
    try:
        _write_probe(path)
    except OSError as e:
        raise UsageError(
            f"{option} {path}: cannot create and write a file there ({e.strerror or e})"
        ) from None
    finally:
        for directory in reversed(made):
            try:
                os.rmdir(directory)
            except OSError:  # something else wrote into it meanwhile: it is no longer only ours
                break


def _missing_directories(path):
    """The directories `os.makedirs(path)` would create, outermost first."""
    missing = []
    path = os.path.abspath(path)
    while not os.path.exists(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing[::-1]


def _write_probe(directory, attempts=100):
    for attempt in range(attempts):
        try:
            os.makedirs(directory, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".keras-ext-probe-", dir=directory)
            break
        except (FileNotFoundError, FileExistsError):
            # Other processes of the job, probing the same new directories, removed one
            # of them after their own probes, between our makedirs and this file (or
            # inside makedirs: between a parent and its child, or between a mkdir that
            # found it made and the check that it is a directory): make them again. Each of
            # them removes each directory once, so this ends; a loaded machine can take
            # several turns (a chief and two workers on one core did: three were not enough).
            if attempt == attempts - 1:
                raise
    try:
        # Bytes, not only a new name: a full disk or an exhausted quota may allow the one, not the other.
        os.write(fd, b"probe")
    finally:
        os.close(fd)
        os.remove(probe)


def _check_labels(what, y, num_classes=None):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise UsageError(f"{what} have shape {y.shape}; expected one integer class index per image")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise UsageError(f"{what} have dtype {y.dtype}; expected integer class indices")
    if np.issubdtype(y.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
        if bad.size:
            raise UsageError(
                f"{what}[{bad[0]}] = {y[bad[0]].item()!r} is not a whole number; labels are class indices"
            )
    bad = np.flatnonzero(y < 0)
    if bad.size:
        raise UsageError(
            f"{what}[{bad[0]}] = {y[bad[0]].item()!r} is negative; labels are class indices >= 0"
        )
    if num_classes is not None:
        bad = np.flatnonzero(y >= num_classes)
        if bad.size:
            raise UsageError(f"{what}[{bad[0]}] = {y[bad[0]].item()!r} is not in [0, {num_classes})")


def _check_finite(what, x):
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise UsageError(f"{what} have dtype {x.dtype}; expected real-valued pixels")
    if np.issubdtype(x.dtype, np.floating):
        bad = np.argwhere(~np.isfinite(x))
        if bad.size:
            index = tuple(int(i) for i in bad[0])
            raise UsageError(f"{what}{list(index)} = {x[index].item()!r} is not a finite pixel value")
