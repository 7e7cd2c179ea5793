"""A project keeps what it was searched with, and its best files change only for a better trial.

Small and in process: the record and the best-file rule on hand-made files,
then two `Search`es of a linear model (one epoch, two trials, eager). The
command line's refusals are in tests/cli/test_tune_resume_refusals.py.
"""

import json
import os
import sys

import keras
import keras_tuner
import numpy as np
import pytest

from keras_ext.tuning import Leaderboard
from keras_ext.tuning import Search
from keras_ext.tuning import SearchSettingsChanged
from keras_ext.tuning import _search_record
from keras_ext.tuning.search import best_changed
from tests.file_snapshot import snapshot

ASKED = {"objective": "val_accuracy", "direction": "max", "epochs": 2}


def _write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f)


def test_a_recorded_project_refuses_another_objective_direction_or_epochs(tmp_path):
    _search_record.write(tmp_path, ASKED)
    assert _search_record.read(tmp_path) == ASKED
    _search_record.check(tmp_path, dict(ASKED))  # the same settings pass
    for other in ({"objective": "val_loss", "direction": "min"}, {"direction": "min"}, {"epochs": 3}):
        with pytest.raises(SearchSettingsChanged) as e:
            _search_record.check(tmp_path, {**ASKED, **other})
        assert e.value.recorded == ASKED and e.value.requested == {**ASKED, **other}
        assert isinstance(e.value, ValueError)
    assert "was searched with objective='val_accuracy' (max), epochs=2; this run asks for" in str(e.value)


def test_a_project_from_before_the_record_is_checked_by_its_objective_only(tmp_path):
    assert _search_record.read(tmp_path) is None  # a new project: anything goes
    _search_record.check(tmp_path, ASKED)
    _write(str(tmp_path / "oracle.json"), {"ongoing_trials": {}})  # keras-tuner 1.4 records no objective
    _search_record.check(tmp_path, {**ASKED, "objective": "val_loss", "direction": "min"})
    _write(str(tmp_path / "oracle.json"), {"objective": {"name": "val_loss", "direction": "min"}})
    with pytest.raises(SearchSettingsChanged):
        _search_record.check(tmp_path, ASKED)
    # keras_ext's best_hyperparameters.json comes first; epochs are unknown, so not checked.
    _write(str(tmp_path / "best_hyperparameters.json"), {"objective": "val_accuracy", "direction": "max"})
    _search_record.check(tmp_path, {**ASKED, "epochs": 7})
    with pytest.raises(SearchSettingsChanged):
        _search_record.check(tmp_path, {**ASKED, "objective": "val_loss", "direction": "min"})
    assert not _search_record.is_recorded(tmp_path)


def _board(direction, *scores):
    rows = [
        {"trial_id": str(i), "status": "COMPLETED", "score": s, "best_epoch": 1, "hyperparameters": {}}
        for i, s in enumerate(scores)
    ]
    return Leaderboard("val_x", direction, rows)


@pytest.mark.parametrize("direction", ["max", "min"])
def test_the_best_files_are_rewritten_only_for_a_strictly_better_trial(tmp_path, direction):
    sign = 1 if direction == "max" else -1
    assert best_changed(_board(direction, sign * 0.5), str(tmp_path))  # nothing written yet
    _board(direction, sign * 0.5).write_best_json(str(tmp_path / "best_hyperparameters.json"))
    assert best_changed(_board(direction, sign * 0.5), str(tmp_path))  # no best_model.keras
    (tmp_path / "best_model.keras").write_bytes(b"model")
    assert not best_changed(_board(direction, sign * 0.5), str(tmp_path))  # the same best trial
    assert not best_changed(_board(direction, sign * 0.5, sign * 0.5), str(tmp_path))  # a tie
    assert best_changed(_board(direction, sign * 0.5, sign * 0.7), str(tmp_path))  # a better one
    # A trial no better than the one on disk (the recorded trial gone from the oracle) never replaces it.
    assert not best_changed(_board(direction, None, sign * 0.3), str(tmp_path))
    # Nor does one scored by another objective or direction.
    other = {"min": "max", "max": "min"}[direction]
    assert not best_changed(_board(other, 0.9, -0.9, 9.0, -9.0), str(tmp_path))


class _Linear(keras_tuner.HyperModel):
    def build(self, hp):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(hp.Choice("lr", [0.05, 0.01])), "mse", run_eagerly=True)
        return model


def _data():
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    return x, x.sum(axis=1), (x, x.sum(axis=1))


@pytest.mark.tensorflow_only
def test_a_search_records_its_settings_and_a_resume_with_others_writes_nothing(tmp_path):
    x, y, val = _data()
    first = Search(_Linear(), tuner="grid", objective="val_loss", max_trials=2, directory=str(tmp_path))
    first.run(x, y, val, epochs=1, verbose=0)
    project = tmp_path / "simplecnn"
    assert json.loads((project / "search.json").read_text()) == {
        "objective": "val_loss",
        "direction": "min",
        "epochs": 1,
    }
    assert first.best_written
    before = snapshot(tmp_path)
    for objective, epochs in (("loss", 1), ("val_loss", 2)):
        search = Search(_Linear(), tuner="grid", objective=objective, max_trials=3, directory=str(tmp_path))
        with pytest.raises(SearchSettingsChanged, match="was searched with objective='val_loss' \\(min\\)"):
            search.run(x, y, val, epochs=epochs, verbose=0)
        assert snapshot(tmp_path) == before
    # The same settings resume; with no new trial the best files stay byte for byte (and untouched).
    again = Search(_Linear(), tuner="grid", objective="val_loss", max_trials=2, directory=str(tmp_path))
    again.run(x, y, val, epochs=1, verbose=0)
    assert not again.best_written
    after = snapshot(tmp_path)
    for name in ("best_model.keras", "best_hyperparameters.json", "search.json"):
        assert after[str(project / name)] == before[str(project / name)], name
    # overwrite=True starts afresh, so any settings pass.
    Search(_Linear(), objective="loss", directory=str(tmp_path), overwrite=True).check_project(epochs=5)


@pytest.mark.tensorflow_only
def test_a_tensorboard_callback_without_tensorboard_stops_before_the_first_trial(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    x, y, val = _data()
    search = Search(_Linear(), tuner="grid", objective="val_loss", max_trials=2, directory=str(tmp_path))
    with pytest.raises(ValueError, match="needs the tensorboard package .*: pip install tensorboard"):
        search.run(x, y, val, epochs=1, verbose=0, callbacks=[keras.callbacks.TensorBoard(str(tmp_path))])
    assert os.listdir(tmp_path) == []


@pytest.mark.tensorflow_only
def test_keras_tuners_tensorboard_set_up_runs_only_for_a_tensorboard_callback(tmp_path, monkeypatch):
    from keras_ext.tuning._tuners import GridTuner

    tuner = GridTuner(_Linear(), objective="val_loss", max_trials=1, directory=str(tmp_path))
    hp = keras_tuner.HyperParameters()
    hp.Choice("lr", [0.05, 0.01])
    trial = keras_tuner.engine.trial.Trial(hp, trial_id="0")
    # With a TensorBoard callback keras-tuner's own set-up runs (tensorboard is installed here):
    # the log_dir moves to the trial's folder and an hparams callback is added.
    board = keras.callbacks.TensorBoard(str(tmp_path / "logs"))
    callbacks = [board]
    tuner._configure_tensorboard_dir(callbacks, trial, 0)
    assert board.log_dir == os.path.join(str(tmp_path / "logs"), "0", "execution0")
    assert len(callbacks) == 2
    # Without one it is skipped, and so is keras-tuner's import of tensorboard.
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    for name in [m for m in sys.modules if m.startswith("tensorboard.")]:
        monkeypatch.setitem(sys.modules, name, None)
    callbacks = [keras.callbacks.History()]
    tuner._configure_tensorboard_dir(callbacks, trial, 0)
    assert len(callbacks) == 1
