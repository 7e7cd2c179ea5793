import csv
import gc
import json
import os
import weakref

import keras
import keras_tuner
import numpy as np
import pytest

from keras_ext.tuning import MedianPruning
from keras_ext.tuning import Search
from keras_ext.tuning import SimpleCNNHyperModel
from keras_ext.tuning import SuccessiveHalving
from tests.tuning.tiny_data import tiny_digits

pytestmark = pytest.mark.tensorflow_only

SHAPE = (8, 8, 1)


def _hypermodel(**kwargs):
    return SimpleCNNHyperModel(SHAPE, 10, **{"num_blocks": 1, "filters": (4, 8), **kwargs})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"tuner": "annealing"},
            "Unknown tuner 'annealing': expected one of ['random', 'bayesian', 'hyperband', 'grid']",
        ),
        ({"max_trials": 0}, "`max_trials` must be a positive integer"),
        ({"executions_per_trial": 0}, "`executions_per_trial` must be a positive integer"),
        ({"seed": -1}, "`seed` must be an int >= 0"),
        ({"pruning": "median"}, "`pruning` must be a MedianPruning, a SuccessiveHalving or None"),
        ({"direction": "up"}, "`direction` must be 'min' or 'max'"),
        ({"objective": 3}, "`objective` must be a metric name or a keras_tuner.Objective"),
        (
            {"hypermodel": "simplecnn"},
            "`hypermodel` must be a keras_tuner.HyperModel or a function build(hp)",
        ),
        ({"hypermodel": SimpleCNNHyperModel}, "`hypermodel` must be a keras_tuner.HyperModel or a function"),
    ],
)
def test_bad_arguments_fail_at_once_and_write_nothing(tmp_path, kwargs, message):
    kwargs = {"hypermodel": _hypermodel(), "directory": str(tmp_path / "out"), **kwargs}
    with pytest.raises(ValueError) as exc:
        Search(**kwargs)
    assert message in str(exc.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "run_kwargs, message",
    [
        ({"epochs": 0}, "`epochs` must be a positive integer"),
        ({"validation_data": None}, "`validation_data` must be a pair (x_val, y_val)"),
    ],
)
def test_bad_run_arguments_fail_before_anything_is_written(tmp_path, run_kwargs, message):
    x, y, x_val, y_val = tiny_digits(20, 10)
    search = Search(_hypermodel(), directory=str(tmp_path / "out"))
    with pytest.raises(ValueError) as exc:
        search.run(x, y, **{"validation_data": (x_val, y_val), "epochs": 1, **run_kwargs})
    assert message in str(exc.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "objective, direction",
    [
        ("val_categorical_true_positives", "max"),
        ("categorical_true_positives", "max"),
        ("val_accuracy", "max"),
        ("val_loss", "min"),
    ],
)
def test_objective_directions_include_keras_ext_metrics(objective, direction):
    assert Search(_hypermodel(), objective=objective).objective.direction == direction


def test_an_objective_the_model_does_not_log_lists_the_available_ones_and_writes_nothing(tmp_path):
    x, y, x_val, y_val = tiny_digits(20, 10)
    search = Search(_hypermodel(), objective="val_f1", direction="max", directory=str(tmp_path / "out"))
    with pytest.raises(ValueError) as exc:
        search.run(x, y, (x_val, y_val), epochs=1)
    assert str(exc.value) == (
        "Objective 'val_f1' is not a metric the model logs; available objectives: accuracy, "
        "categorical_true_positives, loss, val_accuracy, val_categorical_true_positives, val_loss."
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("tuner", ["random", "bayesian", "hyperband", "grid"])
def test_every_tuner_searches_and_writes_a_best_model_that_scores_its_leaderboard_score(tmp_path, tuner):
    x, y, x_val, y_val = tiny_digits(120, 60)
    search = Search(
        _hypermodel(batch_size=32),
        tuner=tuner,
        max_trials=2,
        seed=3,
        objective="val_categorical_true_positives",
        directory=str(tmp_path),
    )
    board = search.run(x, y, (x_val, y_val), epochs=2, verbose=0)
    project = tmp_path / "simplecnn"
    rows = list(csv.DictReader(open(project / "trials.csv")))
    assert len(rows) == len(board.rows) == 2
    assert sorted(r["trial_id"] for r in rows) == sorted(search.tuner.oracle.trials)
    best = json.load(open(project / "best_hyperparameters.json"))
    assert best["trial_id"] == board.best["trial_id"] == rows[0]["trial_id"]
    model = keras.saving.load_model(project / "best_model.keras")
    # Reference: count the correct predictions of the saved model by hand.
    correct = float(np.sum(np.argmax(model.predict(x_val, verbose=0), axis=-1) == y_val))
    assert correct == pytest.approx(float(rows[0]["score"]), abs=1e-6)
    assert not [f for f in os.listdir(project) if f.startswith(".tmp")]


class _LearningRateHyperModel(keras_tuner.HyperModel):
    """Linear regression whose learning rate is 0.05 (it learns) or 0 (it cannot)."""

    def build(self, hp):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(hp.Choice("lr", [0.05, 0.0])), "mse")
        return model


@pytest.mark.parametrize(
    "pruning",
    [
        MedianPruning(warmup_trials=1, warmup_epochs=1),
        # Rungs at epochs 2 and 4; the first trial at a rung always goes on.
        SuccessiveHalving(min_epochs=2, reduction_factor=2),
    ],
    ids=["median", "successive_halving"],
)
def test_pruning_stops_the_hopeless_trial_and_the_leaderboard_says_so(tmp_path, pruning):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([1.0, -2.0, 0.5], "float32")
    search = Search(
        _LearningRateHyperModel(),
        tuner="grid",
        objective="val_loss",
        max_trials=2,
        directory=str(tmp_path),
        pruning=pruning,
    )
    board = search.run(x, y, (x, y), epochs=5, verbose=0)
    by_lr = {row["hyperparameters"]["lr"]: row for row in board.rows}
    assert by_lr[0.05]["status"] == "COMPLETED" and by_lr[0.05]["epochs_trained"] == 5
    assert by_lr[0.0]["status"] == "PRUNED" and by_lr[0.0]["epochs_trained"] == 2
    assert board.best["hyperparameters"]["lr"] == 0.05


_MODELS = []


class _RememberModels(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        _MODELS.append(weakref.ref(self.model))


def test_no_trial_model_outlives_its_trial(tmp_path):
    # The Python side of memory growth across trials (keras-tuner #395, #873):
    # every trial's model must be collectable once its trial ended.
    x, y, x_val, y_val = tiny_digits(60, 30)
    _MODELS.clear()
    search = Search(_hypermodel(batch_size=32), max_trials=2, directory=str(tmp_path))
    search.run(x, y, (x_val, y_val), epochs=1, callbacks=[_RememberModels()], verbose=0)
    gc.collect()
    assert len(_MODELS) == 2 and all(ref() is None for ref in _MODELS)


def test_a_second_search_of_a_held_project_is_refused_naming_the_holder(tmp_path):
    import socket

    from keras_ext.tuning import ProjectBusyError

    first = Search(_hypermodel(), directory=str(tmp_path), project_name="p")
    second = Search(_hypermodel(), directory=str(tmp_path), project_name="p")
    other = Search(_hypermodel(), directory=str(tmp_path), project_name="q")
    with first.lock():
        with first.lock():  # the holder may take it again (run() does)
            pass
        with pytest.raises(ProjectBusyError, match=rf"by pid {os.getpid()} on host {socket.gethostname()}"):
            with second.lock():
                pass
        with other.lock():  # another project of the same directory is free
            pass
    with second.lock():  # released at the end of the block
        pass
    assert not os.path.exists(tmp_path / "p")  # the lock lives beside the project, not in it
