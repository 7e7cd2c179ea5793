"""keras_ext's EarlyStopping: Keras's counting, plus a counter and best weights that survive a resume."""

import json

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.callbacks import EarlyStopping

# The monitored value per epoch: best after epoch 2, so patience 3 stops after epoch 5.
SCORES = [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1]
KWARGS = {"monitor": "score", "patience": 3, "mode": "min", "restore_best_weights": True}


class Score(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = SCORES[epoch]


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model


def _fit(model, epochs, *callbacks):
    x = np.random.default_rng(0).random((8, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    return model.fit(x, y, batch_size=4, epochs=epochs, shuffle=False, verbose=0, callbacks=[*callbacks])


def test_it_counts_as_keras_s_and_its_state_is_json_that_loads_back_exactly():
    ours, theirs = EarlyStopping(**KWARGS), keras.callbacks.EarlyStopping(**KWARGS)
    history = _fit(_model(), len(SCORES), Score(), ours)
    assert len(_fit(_model(), len(SCORES), Score(), theirs).epoch) == len(history.epoch) == 5
    assert (ours.best_epoch, ours.stopped_epoch, ours.wait) == (theirs.best_epoch, theirs.stopped_epoch, 3)
    state = json.loads(json.dumps(ours.get_state()))
    assert {k: state[k] for k in ("wait", "best", "best_epoch", "stopped_epoch")} == {
        "wait": 3,
        "best": 0.5,
        "best_epoch": 1,
        "stopped_epoch": 4,
    }
    other = EarlyStopping(**KWARGS)
    other.set_model(_model())
    other.set_state(state)
    for a, b in zip(other.best_weights, theirs.best_weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_state_that_does_not_fit_is_refused():
    stop = EarlyStopping(**KWARGS)
    stop.set_model(_model())
    good = {"wait": 1, "best": 0.5, "best_epoch": 1, "stopped_epoch": 0}
    with pytest.raises(ValueError, match="not a base64 .npz"):
        stop.set_state({**good, "best_weights": "not base64!"})
    small = EarlyStopping(**KWARGS)
    _fit(_model(), 1, Score(), small)
    bigger = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    stop.set_model(bigger)
    with pytest.raises(ValueError, match="do not fit the model's 2 weights"):
        stop.set_state({**good, "best_weights": small.get_state()["best_weights"]})


def test_a_run_resumed_mid_patience_stops_where_an_uninterrupted_one_does_with_its_weights(tmp_path):
    once = _model()
    uninterrupted = _fit(once, len(SCORES), Score(), EarlyStopping(**KWARGS))

    model = _model()
    _fit(model, 3, CheckpointManager(tmp_path, save_freq="epoch", data=[]), Score(), EarlyStopping(**KWARGS))
    model = _model()  # a new process: nothing but the checkpoint
    resumed = _fit(
        model,
        len(SCORES),
        CheckpointManager(tmp_path, save_freq="epoch", data=[]),
        Score(),
        EarlyStopping(**KWARGS),
    )
    assert resumed.epoch == uninterrupted.epoch == [0, 1, 2, 3, 4]
    for a, b in zip(model.get_weights(), once.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)

    # The run stopped: a rerun from its last checkpoint trains no more epochs.
    model = _model()
    again = _fit(
        model,
        len(SCORES),
        CheckpointManager(tmp_path, save_freq="epoch", data=[]),
        Score(),
        EarlyStopping(**KWARGS),
    )
    assert again.epoch == [0, 1, 2, 3, 4]
    for a, b in zip(model.get_weights(), once.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
