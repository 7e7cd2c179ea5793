import json

import keras
import numpy as np
import pytest

from keras_ext.tuning import MedianPruning
from keras_ext.tuning import TrialHistory


@pytest.mark.parametrize("direction", ["max", "min"])
def test_should_prune_matches_a_numpy_median_reference(direction):
    rng = np.random.default_rng(0)
    pruning = MedianPruning(warmup_trials=3, direction=direction)
    for _ in range(200):
        completed = list(rng.normal(size=rng.integers(0, 8)))
        value = float(rng.normal())
        if len(completed) < 3:
            expected = False
        else:
            median = np.median(completed)
            expected = value < median if direction == "max" else value > median
        assert pruning.should_prune(value, completed) == expected
    assert not pruning.should_prune(1.0, [0.0, 1.0, 2.0])  # equal to the median is kept


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"warmup_trials": 0}, "`warmup_trials` must be a positive integer"),
        ({"warmup_epochs": -1}, "`warmup_epochs` must be an int >= 0"),
        ({"direction": "up"}, "`direction` must be 'min' or 'max'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MedianPruning(**kwargs)


def test_config_round_trip_and_registration():
    pruning = MedianPruning(warmup_trials=2, warmup_epochs=0, objective="val_loss", direction="min")
    assert (
        MedianPruning.from_config(json.loads(json.dumps(pruning.get_config()))).get_config()
        == pruning.get_config()
    )
    assert keras.saving.get_registered_name(MedianPruning) == "keras_ext>MedianPruning"
    bound = pruning.for_trial("/p", "3", "val_accuracy", "max")
    # What the user set wins over the search's objective.
    assert (bound.objective, bound.direction, bound.trial_id) == ("val_loss", "min", "3")
    assert pruning.trial_id is None


def _fit(tmp_path, completed_val_loss, n_completed=3, epochs=5, warmup_epochs=1):
    history = TrialHistory(tmp_path)
    for i in range(n_completed):
        history.begin(str(i))
        for epoch in range(epochs):
            history.record(str(i), epoch, {"val_loss": completed_val_loss})
        history.finish(str(i))
    history.begin("9")
    pruning = MedianPruning(warmup_trials=3, warmup_epochs=warmup_epochs).for_trial(
        str(tmp_path), "9", "val_loss", "min"
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    fit = model.fit(
        x,
        x.sum(axis=1),
        validation_data=(x, x.sum(axis=1)),
        epochs=epochs,
        callbacks=[history.callback("9"), pruning],
        verbose=0,
    )
    history.finish("9")
    return len(fit.history["loss"]), history.load("9")


@pytest.mark.parametrize("warmup_epochs", [0, 1, 3])
def test_a_trial_worse_than_the_median_stops_right_after_the_warmup_epochs(tmp_path, warmup_epochs):
    trained, record = _fit(tmp_path, completed_val_loss=0.0, warmup_epochs=warmup_epochs)
    assert trained == warmup_epochs + 1
    assert record["status"] == "pruned" and record["pruned_at_epoch"] == warmup_epochs


@pytest.mark.parametrize(
    "case, kwargs",
    [
        ("better than the median", {"completed_val_loss": 1e9}),
        ("too few completed trials", {"completed_val_loss": 0.0, "n_completed": 2}),
        ("the last epoch saves nothing", {"completed_val_loss": 0.0, "epochs": 2}),
    ],
)
def test_a_trial_is_kept_when(tmp_path, case, kwargs):
    trained, record = _fit(tmp_path, **kwargs)
    assert trained == kwargs.get("epochs", 5), case
    assert record["status"] == "completed"


def test_unbound_pruning_says_how_to_bind_it():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="Search\\(pruning=...\\)"):
        model.fit(np.zeros((4, 1)), np.zeros(4), epochs=1, verbose=0, callbacks=[MedianPruning()])
