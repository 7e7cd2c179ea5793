"""`Search(isolate_trials=True)`: each trial in a process of its own, training as it would in-process."""

import json
import os
import signal

import keras
import keras_tuner
import numpy as np
import pytest

from keras_ext.tuning import Search
from keras_ext.tuning import SimpleCNNHyperModel
from keras_ext.tuning import TrialHistory
from tests.tuning.tiny_data import tiny_digits

pytestmark = pytest.mark.tensorflow_only


class RecordPid(keras.callbacks.Callback):
    """Appends the pid of the process that trains to `path` (pickled into each trial's process)."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_train_begin(self, logs=None):
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()}\n")


class KillTheTrainingProcess(keras.callbacks.Callback):
    def __init__(self, search_pid):
        super().__init__()
        self.search_pid = search_pid

    def on_epoch_end(self, epoch, logs=None):
        # Never the test's own process, should a trial ever train there.
        assert os.getpid() != self.search_pid, "the trial trained in the search's process"
        os.kill(os.getpid(), signal.SIGKILL)


class BlankLaterExecutions(keras.callbacks.Callback):
    """From a trial's 2nd execution on, every weight zeroed after each step: the model predicts
    one class, and its epochs score worse than the 1st execution's."""

    def __init__(self, counter_path):
        super().__init__()
        self.counter_path = counter_path
        self.blank = False

    def on_train_begin(self, logs=None):
        with open(self.counter_path, "a+") as f:
            f.seek(0)
            self.blank = bool(f.read())
            f.write("x")

    def on_train_batch_end(self, batch, logs=None):
        if self.blank:
            self.model.set_weights([np.zeros_like(w) for w in self.model.get_weights()])


class DenseDigits(keras_tuner.HyperModel):
    """Logistic regression on the 8x8 digits: it learns in a few epochs."""

    def build(self, hp):
        model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
        model.compile(
            keras.optimizers.Adam(hp.Choice("learning_rate", [0.05])),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        return model


class NeedsTwoArguments(Exception):
    def __init__(self, what, why):
        super().__init__(f"{what}: {why}")


class RaiseUnrebuildable(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise NeedsTwoArguments("the user's callback", "gave up")


def _search(directory, **kwargs):
    hypermodel = SimpleCNNHyperModel((8, 8, 1), 10, num_blocks=1, filters=(4, 8), batch_size=32)
    return Search(hypermodel, max_trials=2, directory=str(directory), seed=3, **kwargs)


def _epochs(search):
    records = TrialHistory(search.project_dir).load_all()
    return {trial_id: record["executions"] for trial_id, record in records.items()}


def test_isolated_trials_train_in_their_own_processes_exactly_as_in_one(tmp_path):
    x, y, x_val, y_val = tiny_digits(96, 48)
    pids = tmp_path / "pids.txt"
    in_process = _search(tmp_path / "in_process")
    in_process.search(x, y, validation_data=(x_val, y_val), epochs=2, verbose=0)
    isolated = _search(tmp_path / "isolated", isolate_trials=True)
    board = isolated.search(
        x, y, validation_data=(x_val, y_val), epochs=2, callbacks=[RecordPid(str(pids))], verbose=0
    )

    trained_in = [int(line) for line in pids.read_text().split()]
    assert len(trained_in) == 2 and len(set(trained_in)) == 2 and os.getpid() not in trained_in
    reference, found = _epochs(in_process), _epochs(isolated)
    assert sorted(found) == sorted(reference) == ["0", "1"]
    for trial_id in reference:
        for ours, theirs in zip(found[trial_id][0], reference[trial_id][0], strict=True):
            np.testing.assert_allclose(
                list(ours.values()), list(theirs.values()), atol=1e-6, err_msg=trial_id
            )
    # The best epoch's weights were written by the trial's process and load here.
    assert board.best is not None
    best = isolated.get_best_models(1)[0]
    logs = best.evaluate(x_val, y_val, verbose=0, return_dict=True)
    assert abs(logs["accuracy"] - board.best["score"]) < 1e-6
    saved = json.load(open(os.path.join(isolated.project_dir, "best_hyperparameters.json")))
    assert saved["trial_id"] == board.best["trial_id"]


def test_a_trial_whose_process_is_killed_fails_and_says_how(tmp_path, capsys):
    x, y, x_val, y_val = tiny_digits(64, 32)
    search = _search(tmp_path, isolate_trials=True)
    search.max_trials = 1
    # keras-tuner reports a failed trial and searches on (up to 3 failures in a row).
    board = search.search(
        x,
        y,
        validation_data=(x_val, y_val),
        epochs=2,
        callbacks=[KillTheTrainingProcess(os.getpid())],
        verbose=0,
    )
    assert f"trial 0's process ended (exit code {-signal.SIGKILL})" in capsys.readouterr().err
    assert TrialHistory(search.project_dir).load("0")["status"] == "failed"
    assert board.best is None


def test_the_best_epoch_over_all_executions_of_a_trial_is_the_one_saved(tmp_path):
    # keras-tuner saves a later execution's epoch only if it beats every earlier one.
    x, y, x_val, y_val = tiny_digits(240, 120)
    search = Search(
        DenseDigits(), max_trials=1, directory=str(tmp_path), isolate_trials=True, executions_per_trial=2
    )
    callbacks = [BlankLaterExecutions(str(tmp_path / "executions.txt"))]
    search.search(x, y, validation_data=(x_val, y_val), epochs=2, callbacks=callbacks, verbose=0)
    first, second = TrialHistory(search.project_dir).load("0")["executions"]
    best = max(epoch["val_accuracy"] for epoch in first)
    assert best > max(epoch["val_accuracy"] for epoch in second)  # the blanked one is worse
    logs = search.get_best_models(1)[0].evaluate(x_val, y_val, verbose=0, return_dict=True)
    assert abs(logs["accuracy"] - best) < 1e-6


def test_an_error_that_cannot_be_rebuilt_here_still_shows_the_trial_s_traceback(tmp_path, capsys):
    x, y, x_val, y_val = tiny_digits(64, 32)
    search = _search(tmp_path, isolate_trials=True)
    search.max_trials = 1
    search.search(x, y, validation_data=(x_val, y_val), epochs=1, callbacks=[RaiseUnrebuildable()], verbose=0)
    err = capsys.readouterr().err
    assert "trial 0 failed in its process" in err
    assert "NeedsTwoArguments: the user's callback: gave up" in err


def test_what_cannot_be_sent_to_a_trial_s_process_is_refused_before_any_trial(tmp_path):
    def build(hp):  # a local function: pickle cannot name it
        return None

    with pytest.raises(ValueError, match="sends the hypermodel to each trial's process"):
        Search(build, isolate_trials=True, directory=str(tmp_path))
    x, y, x_val, y_val = tiny_digits(32, 16)
    search = _search(tmp_path, isolate_trials=True)
    unpicklable = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: None)
    with pytest.raises(ValueError, match="sends the callbacks to each trial's process"):
        search.search(x, y, validation_data=(x_val, y_val), epochs=1, callbacks=[unpicklable], verbose=0)
    assert not os.path.exists(search.project_dir)
