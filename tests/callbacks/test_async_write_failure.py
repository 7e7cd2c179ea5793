"""A background checkpoint write that fails stops training at the next batch end, and loses nothing committed.

The failures: a full disk, and a directory that locks up (made read-only) mid-run. A
storage server that dies mid-upload: tests/checkpoint/test_remote_files.py.
"""

import errno
import os
import subprocess
import threading

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager

FAILING_STEP = 4


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


def _fit(model, callbacks):
    x = np.ones((16, 3), "float32")  # 8 steps of 2
    model.fit(x, x[:, 0], batch_size=2, epochs=1, shuffle=False, callbacks=callbacks, verbose=0)


class WaitForWrites(keras.callbacks.Callback):
    """Before the manager sees a batch end, let any background write finish (so 'next' is exact)."""

    def on_train_batch_end(self, batch, logs=None):
        for thread in threading.enumerate():
            if thread.name.startswith("keras_ext-checkpoint"):
                thread.join()


def _disk_full(step, path):
    if step == FAILING_STEP:
        raise OSError(errno.ENOSPC, "No space left on device", path)


def test_a_failed_background_write_stops_training_at_the_next_batch_end(tmp_path):
    directory = str(tmp_path / "ckpts")
    model = _model()
    manager = CheckpointManager(directory, save_freq=2, max_to_keep=3, async_write=True)
    manager._before_commit = _disk_full
    with pytest.raises(RuntimeError) as raised:
        _fit(model, [WaitForWrites(), manager])
    message = str(raised.value)
    assert repr(directory) in message and "No space left on device" in message
    # Raised at the end of the step after the failed write (step 5), not at the next save (step 6).
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == FAILING_STEP + 1
    # Nothing of the failed write is listed; the step-2 checkpoint stays the resume point.
    assert os.path.basename(manager.latest) == "ckpt-2" and os.listdir(directory) == ["ckpt-2"]
    assert "ckpt-2" in message

    resumed = CheckpointManager(directory, save_freq=2, async_write=True, data=[])
    model = _model()
    _fit(model, [resumed])
    assert os.path.basename(resumed.restored_from) == "ckpt-2"
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 8
    assert [os.path.basename(p) for p in resumed.checkpoints] == ["ckpt-4", "ckpt-6", "ckpt-8"]


def _read_only(path, read_only):
    """Make directory `path` read-only (or writable again); as root, whom modes do not stop, immutable."""
    if os.geteuid() != 0:
        os.chmod(path, 0o555 if read_only else 0o755)
        return
    flag = "+i" if read_only else "-i"
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot make a directory read-only as root here: chattr {flag}: {done.stderr.strip()}")


def test_a_directory_made_read_only_mid_run_stops_training_and_a_rerun_resumes_exactly(tmp_path):
    reference = _model()
    _fit(reference, [])
    directory = tmp_path / "ckpts"
    directory.mkdir()
    _read_only(directory, True)  # skips here, before training, where it cannot be done
    _read_only(directory, False)

    def lock_up(step, path):  # ckpt-4's files are written aside; the rename that commits it is not done
        if step == FAILING_STEP:
            _read_only(directory, True)

    model = _model()
    manager = CheckpointManager(str(directory), save_freq=2, max_to_keep=3, async_write=True)
    manager._before_commit = lock_up
    try:
        with pytest.raises(RuntimeError) as raised:
            _fit(model, [manager])
    finally:
        _read_only(directory, False)
    assert repr(str(directory)) in str(raised.value) and "ckpt-2" in str(raised.value)
    # Raised within 2 save intervals (save_freq 2) of the save that failed.
    assert FAILING_STEP < int(keras.ops.convert_to_numpy(model.optimizer.iterations)) <= FAILING_STEP + 4
    assert [os.path.basename(p) for p in manager.checkpoints] == ["ckpt-2"]

    resumed = CheckpointManager(str(directory), save_freq=2, max_to_keep=3, data=[])
    model = _model()
    _fit(model, [resumed])
    assert os.path.basename(resumed.restored_from) == "ckpt-2"
    for got, want in zip(model.weights, reference.weights, strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want), rtol=1e-6, atol=1e-7
        )
    assert sorted(os.listdir(directory)) == ["ckpt-4", "ckpt-6", "ckpt-8"]  # the torn write cleaned away
