"""`Search` takes a `build(hp)` function and answers keras-tuner's verbs, ranked as its leaderboard ranks."""

import keras
import numpy as np
import pytest

from keras_ext.tuning import Search


def build_hp(hp):
    """keras-tuner's convention: a function of `hp` that returns a compiled model."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(hp.Choice("lr", [0.05, 0.001])), "mse", run_eagerly=True)
    return model


def test_a_build_function_searched_with_keras_tuner_verbs(tmp_path, capsys):
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y, x_val = x.sum(axis=1), x[:8]
    search = Search(build_hp, tuner="grid", objective="val_loss", max_trials=2, directory=tmp_path, seed=0)
    with pytest.raises(ValueError, match="call search\\(\\) first"):
        search.get_best_models(1)

    board = search.search(x, y, validation_data=(x_val, y[:8]), epochs=1, verbose=0)

    assert [row["status"] for row in board.rows] == ["COMPLETED", "COMPLETED"]
    best_hp = search.get_best_hyperparameters(1)[0].values
    assert best_hp == board.best["hyperparameters"]
    assert best_hp == {"lr": 0.05}  # 0.001 has barely moved from the start after one epoch
    assert [hp.values for hp in search.get_best_hyperparameters(2)] == [
        r["hyperparameters"] for r in board.rows
    ]
    best = search.get_best_models(1)[0]
    predictions = best.predict(x_val, verbose=0)
    assert predictions.shape == (8, 1)
    saved = keras.saving.load_model(tmp_path / "simplecnn" / "best_model.keras")
    np.testing.assert_allclose(saved.predict(x_val, verbose=0), predictions, rtol=1e-6)

    capsys.readouterr()
    search.results_summary(1)
    summary = capsys.readouterr().out.splitlines()
    assert summary[0].startswith("Leaderboard (val_loss, min") and len(summary) == 3
    assert "lr=0.05" in summary[2]
