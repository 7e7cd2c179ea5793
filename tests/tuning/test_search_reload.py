"""A Search on an existing project reloads it: finished trials are kept, never trained again.

In process and small (a linear model, one epoch a trial); the CLI's SIGKILL test
in tests/cli/test_tune.py does the same with a real process killed mid-trial.
"""

import keras
import keras_tuner
import numpy as np
import pytest

from keras_ext.tuning import Search
from keras_ext.tuning.trial_history import TrialHistory

pytestmark = pytest.mark.tensorflow_only

_TRAINED = []  # one entry per fit (keras-tuner deep-copies the callbacks of each trial)


class _Trained(keras.callbacks.Callback):
    def __init__(self, interrupt_fit=None):
        super().__init__()
        self.interrupt_fit = interrupt_fit

    def on_train_begin(self, logs=None):
        _TRAINED.append(True)

    def on_epoch_end(self, epoch, logs=None):
        if len(_TRAINED) == self.interrupt_fit:
            raise KeyboardInterrupt  # as Ctrl-C mid-trial: keras-tuner leaves the trial running


class _LinearHyperModel(keras_tuner.HyperModel):
    def build(self, hp):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(
            keras.optimizers.SGD(hp.Choice("lr", [0.05, 0.0])), "mse", run_eagerly=True
        )  # no tracing
        return model


def _search(directory, interrupt_fit=None):
    """Run a new Search of the project in `directory`; return (trials trained, leaderboard)."""
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    search = Search(
        _LinearHyperModel(), tuner="grid", objective="val_loss", max_trials=2, directory=directory
    )
    _TRAINED.clear()
    callbacks = [_Trained(interrupt_fit)]
    board = search.run(x, x.sum(axis=1), (x, x.sum(axis=1)), epochs=1, callbacks=callbacks, verbose=0)
    return len(_TRAINED), board


def test_a_reloaded_search_trains_only_the_trial_it_had_not_finished(tmp_path):
    directory = str(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        _search(directory, interrupt_fit=2)  # stopped inside the second trial
    history = TrialHistory(str(tmp_path / "simplecnn"))
    assert [history.load(t)["status"] for t in "01"] == ["completed", "failed"]

    trained, board = _search(directory)  # a new Search, as after a restart
    assert trained == 1
    assert [history.load(t)["runs"] for t in "01"] == [1, 2]
    assert [history.load(t)["status"] for t in "01"] == ["completed"] * 2
    assert sorted((row["trial_id"], row["status"]) for row in board.rows) == [
        ("0", "COMPLETED"),
        ("1", "COMPLETED"),
    ]
