import json

import keras
import numpy as np
import pytest

from keras_ext.tuning import SuccessiveHalving
from keras_ext.tuning import TrialHistory


def _ray_tune_rule(value, others, reduction_factor, direction):
    """Ray Tune's ASHAScheduler rule, as it writes it: larger is better after flipping the sign
    for "min"; stop below the (1 - 1/reduction_factor) quantile of the recorded values."""
    sign = 1.0 if direction == "max" else -1.0
    recorded = [sign * v for v in [*others, value]]
    cutoff = np.nanpercentile(recorded, (1 - 1 / reduction_factor) * 100)
    return sign * value < cutoff


@pytest.mark.parametrize("direction", ["max", "min"])
@pytest.mark.parametrize("reduction_factor", [2, 3, 4])
def test_should_stop_matches_ray_tunes_rule(direction, reduction_factor):
    rng = np.random.default_rng(reduction_factor)
    halving = SuccessiveHalving(reduction_factor=reduction_factor, direction=direction)
    for _ in range(300):
        others = list(rng.normal(size=rng.integers(0, 12)))
        value = float(rng.normal())
        assert halving.should_stop(value, others) == _ray_tune_rule(
            value, others, reduction_factor, direction
        )
    assert not halving.should_stop(0.5, [])  # the first trial at a rung goes on


def test_of_nine_trials_at_a_rung_the_best_third_goes_on():
    halving = SuccessiveHalving(reduction_factor=3, direction="max")
    values = [0.1, 0.9, 0.4, 0.7, 0.2, 0.8, 0.3, 0.6, 0.5]
    going_on = [v for i, v in enumerate(values) if not halving.should_stop(v, values[:i] + values[i + 1 :])]
    assert sorted(going_on) == [0.7, 0.8, 0.9]


@pytest.mark.parametrize(
    "kwargs, epochs, rungs",
    [
        ({}, 10, [1, 3, 9]),
        ({}, 9, [1, 3]),
        ({"min_epochs": 2, "reduction_factor": 2}, 9, [2, 4, 8]),
        ({}, 1, []),
    ],
)
def test_rungs_stop_before_the_last_epoch(kwargs, epochs, rungs):
    assert SuccessiveHalving(**kwargs).rungs(epochs) == rungs


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_epochs": 0}, "`min_epochs` must be a positive integer"),
        ({"reduction_factor": 1}, "`reduction_factor` must be an int >= 2"),
        ({"direction": "up"}, "`direction` must be 'min' or 'max'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SuccessiveHalving(**kwargs)


def test_config_round_trip_and_registration():
    halving = SuccessiveHalving(min_epochs=2, reduction_factor=4, objective="val_loss", direction="min")
    assert (
        SuccessiveHalving.from_config(json.loads(json.dumps(halving.get_config()))).get_config()
        == halving.get_config()
    )
    assert keras.saving.get_registered_name(SuccessiveHalving) == "keras_ext>SuccessiveHalving"
    bound = halving.for_trial("/p", "3", "val_accuracy", "max")
    assert (bound.objective, bound.direction, bound.trial_id) == ("val_loss", "min", "3")


def _fit(tmp_path, others, epochs=5):
    """Train trial "9" (val_loss about 1 to 20) beside `others`: {trial id: (status, val_loss)}."""
    history = TrialHistory(tmp_path)
    for trial_id, (status, val_loss) in others.items():
        history.begin(trial_id)
        history.record(trial_id, 0, {"val_loss": val_loss})
        if status == "pruned":
            history.mark_pruned(trial_id, 0)
        if status != "running":
            history.finish(trial_id, failed=status == "failed")
    history.begin("9")
    halving = SuccessiveHalving(min_epochs=1, reduction_factor=3).for_trial(
        str(tmp_path), "9", "val_loss", "min"
    )
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    fit = model.fit(
        x,
        x.sum(axis=1) + 4.0,
        validation_data=(x, x.sum(axis=1) + 4.0),
        epochs=epochs,
        callbacks=[history.callback("9"), halving],
        verbose=0,
    )
    history.finish("9")
    return len(fit.history["loss"]), history.load("9")


@pytest.mark.parametrize("status", ["completed", "pruned", "running"])
def test_a_trial_behind_two_others_at_the_first_rung_stops_there(tmp_path, status):
    # Trials stopped at the rung and trials still running count as much as finished ones: ahead
    # of the finished trial "2" alone it would go on, behind "0" and "1" as well it stops.
    others = {"0": (status, 0.0), "1": (status, 0.0), "2": ("completed", 1e9)}
    trained, record = _fit(tmp_path, others)
    assert trained == 1
    assert record["status"] == "pruned" and record["pruned_at_epoch"] == 0


@pytest.mark.parametrize(
    "case, others, epochs",
    [
        ("the first at the rung", {}, 5),
        ("the best at the rung", {"0": ("completed", 1e9), "1": ("pruned", 1e9)}, 5),
        ("failed trials do not count", {"0": ("failed", 0.0), "1": ("failed", 0.0)}, 5),
        ("no rung before the last epoch", {"0": ("completed", 0.0), "1": ("completed", 0.0)}, 1),
    ],
)
def test_a_trial_goes_on_when(tmp_path, case, others, epochs):
    trained, record = _fit(tmp_path, others, epochs=epochs)
    assert trained == epochs, case
    assert record["status"] == "completed"


def test_a_trial_stopped_at_a_later_rung_trains_to_it(tmp_path):
    # Ahead of the others at epoch 1, behind two at epoch 3: it stops after 3 epochs.
    history = TrialHistory(tmp_path)
    for trial_id in ("0", "1"):
        history.begin(trial_id)
        history.record(trial_id, 0, {"val_loss": 1e9})
        history.record(trial_id, 2, {"val_loss": 0.0})
        history.finish(trial_id)
    trained, record = _fit(tmp_path, {}, epochs=5)
    assert trained == 3 and record["pruned_at_epoch"] == 2
