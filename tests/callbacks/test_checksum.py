"""A file changed in place, same size, is caught by its SHA-256 and never restored.

Truncation is caught by the size check alone; only a same-size change (a
flipped bit on disk, a file overwritten by another run's) reaches the
checksum comparison, so that is what these tests do.
"""

import os

import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.callbacks import CorruptCheckpointError
from tests.callbacks import small_job as job


def _flip_one_byte(path, offset_from_end=64):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(size - offset_from_end)
        byte = f.read(1)
        f.seek(size - offset_from_end)
        f.write(bytes([byte[0] ^ 0x01]))
    assert os.path.getsize(path) == size


def _checkpoints(directory):
    """ckpt-4 and ckpt-8 of one epoch, with the model at each."""
    job.fit(job.make_model(seed=0), [CheckpointManager(directory, save_freq=4, max_to_keep=None)], epochs=1)
    return [os.path.join(directory, f"ckpt-{step}") for step in (4, 8)]


@pytest.mark.parametrize("file_name", ["state.npz", "state.json"])
def test_same_size_change_is_skipped_with_a_warning_naming_the_checksum(tmp_path, file_name):
    older, newest = _checkpoints(tmp_path)
    expected = job.make_model(seed=5)
    CheckpointManager.restore(expected, older)  # the reference: what ckpt-4 holds

    _flip_one_byte(os.path.join(newest, file_name), offset_from_end=64 if file_name == "state.npz" else 3)
    model = job.make_model(seed=5)
    with pytest.warns(UserWarning, match=rf"{file_name} does not match its SHA-256"):
        path = CheckpointManager.restore(model, tmp_path)
    assert os.path.basename(path) == "ckpt-4"
    job.assert_same(job.values(model.variables), job.values(expected.variables))


def test_same_size_change_in_the_one_checkpoint_asked_for_raises_and_assigns_nothing(tmp_path):
    _, newest = _checkpoints(tmp_path)
    _flip_one_byte(os.path.join(newest, "state.npz"))
    model = job.make_model(seed=5)
    before = job.values(model.variables)
    with pytest.raises(CorruptCheckpointError, match="SHA-256"):
        CheckpointManager.restore(model, newest)
    job.assert_same(job.values(model.variables), before)
    assert not np.allclose(before[0], 0)
