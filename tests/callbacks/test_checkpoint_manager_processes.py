"""CheckpointManager in one process of several: only the chief writes, all restore the same step.

The process's role and the all-gather come from the engine in a real job
(tests/distribute/test_train_multiworker.py runs two TensorFlow workers);
here they are replaced, so each rule is checked in one process.
"""

import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.callbacks import checkpoint_manager as manager_module
from keras_ext.distribute.process_role import ProcessRole
from tests.callbacks import training_setup as setup


def _as_process(monkeypatch, index, gathered=None):
    role = ProcessRole(processes=2, index=index, is_chief=index == 0)
    monkeypatch.setattr(manager_module, "process_role", lambda model=None: role)
    calls = []

    def all_gather(value, model=None):
        calls.append(value)
        return [value, value] if gathered is None else gathered

    monkeypatch.setattr(manager_module, "all_gather_int", all_gather)
    return calls


def _fit(directory, epochs=1):
    train, _ = setup.digits_pipelines(seed=0)
    model = setup.make_model(seed=0)
    manager = CheckpointManager(directory, save_freq=4)
    model.fit(train, epochs=epochs, callbacks=[manager], shuffle=False, verbose=0)
    return model, manager


def test_a_worker_that_is_not_the_chief_writes_nothing(tmp_path, monkeypatch):
    calls = _as_process(monkeypatch, index=1)
    _fit(tmp_path / "ckpt")
    assert not (tmp_path / "ckpt").exists()
    assert calls == [0]  # it still took part in the agreement on the (fresh) start


def test_every_worker_restores_the_chief_s_newest_checkpoint(tmp_path, monkeypatch):
    chief_model, chief = _fit(tmp_path / "ckpt")  # one process: writes ckpt-4, -8, -10
    _as_process(monkeypatch, index=1)
    train, _ = setup.digits_pipelines(seed=0)
    model = setup.make_model(seed=5)  # other initial weights
    manager = CheckpointManager(tmp_path / "ckpt", save_freq=4)
    model.fit(
        train, epochs=1, callbacks=[manager], shuffle=False, verbose=0
    )  # one epoch done already: nothing to train
    assert manager.restored_from == chief.latest
    for got, want in zip(setup.weights(model), setup.weights(chief_model), strict=True):
        np.testing.assert_array_equal(got, want)


def test_workers_that_restored_different_steps_stop_with_a_clear_error(tmp_path, monkeypatch):
    _as_process(monkeypatch, index=0, gathered=[10, 0])
    with pytest.raises(RuntimeError, match=r"restored different steps \[10, 0\].*share"):
        _fit(tmp_path / "ckpt")
