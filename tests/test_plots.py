"""`keras_ext.plots`: the pictures' sizes and content, and the commands that write them."""

import doctest
import json
import os

import numpy as np
import pytest
from PIL import Image

from keras_ext import plots

HISTORY_PIXELS = tuple(round(v * plots.DPI) for v in plots.HISTORY_SIZE)
TRIALS_PIXELS = tuple(round(v * plots.DPI) for v in plots.TRIALS_SIZE)


def _pixels(path):
    """The picture as an RGB array, after checking it is a non-empty PNG."""
    assert os.path.getsize(path) > 0
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def _history(epochs=4):
    rng = np.random.default_rng(0)
    loss = list(np.linspace(2.0, 0.2, epochs) + rng.random(epochs) * 0.1)
    return {
        "loss": loss,
        "val_loss": [v + 0.3 for v in loss],
        "accuracy": list(np.linspace(0.3, 0.95, epochs)),
        "val_accuracy": list(np.linspace(0.2, 0.9, epochs)),
        "learning_rate": [3e-3 * 0.8 ** (e // 2) for e in range(epochs)],
    }


def _write_project(project, trials):
    """A search's project directory as keras_ext.tuning writes it: epochs.json per trial, trials.csv."""
    rows = ["rank,trial_id,status,score"]
    for rank, (trial_id, status, executions) in enumerate(trials, start=1):
        os.makedirs(project / f"trial_{trial_id}")
        record = {
            "trial_id": trial_id,
            "status": status.lower(),
            "executions": [[None if v is None else {"val_accuracy": v} for v in run] for run in executions],
        }
        (project / f"trial_{trial_id}" / "epochs.json").write_text(json.dumps(record))
        score = max(v for run in executions for v in run if v is not None)
        rows.append(f"{rank},{trial_id},{status},{score}")
    (project / "trials.csv").write_text("\n".join(rows) + "\n")


def test_docstring_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(plots)
    assert result.attempted > 0 and result.failed == 0


def test_history_picture_has_the_fixed_size_and_is_drawn(tmp_path):
    path = plots.plot_history(_history(), tmp_path / "sub" / "history.png", title="a run")
    assert str(path) == str(tmp_path / "sub" / "history.png")
    pixels = _pixels(path)
    assert pixels.shape[:2] == (HISTORY_PIXELS[1], HISTORY_PIXELS[0])  # rows = height
    # Curves in matplotlib's first two colours (train blue, validation orange) are on it.
    assert _has_colour(pixels, (31, 119, 180)) and _has_colour(pixels, (255, 127, 14))
    assert not [f for f in os.listdir(tmp_path / "sub") if f.startswith(".tmp")]


def test_history_without_some_metrics_keeps_its_size(tmp_path):
    # A single epoch, no accuracy, no learning rate: the panels say "not logged".
    path = plots.plot_history({"loss": [1.0]}, tmp_path / "h.png", epochs=[7])
    assert _pixels(path).shape[:2] == (HISTORY_PIXELS[1], HISTORY_PIXELS[0])


def test_different_histories_draw_different_pictures(tmp_path):
    a = _pixels(plots.plot_history(_history(4), tmp_path / "a.png"))
    b = _pixels(plots.plot_history(_history(9), tmp_path / "b.png"))
    assert a.shape == b.shape and not np.array_equal(a, b)


@pytest.mark.parametrize(
    "history, epochs, message",
    [
        ([1.0, 2.0], None, "must be a dict"),
        ({"loss": [1.0, 2.0], "val_loss": [1.0]}, None, "one value per epoch"),
        ({"loss": [1.0, 2.0]}, [0], "`epochs` has 1 entries"),
    ],
)
def test_bad_history_is_a_clear_error_and_writes_nothing(tmp_path, history, epochs, message):
    with pytest.raises(ValueError, match=message):
        plots.plot_history(history, tmp_path / "h.png", epochs=epochs)
    assert not os.listdir(tmp_path)


def test_trials_picture_marks_pruned_trials_and_highlights_the_best(tmp_path):
    project = tmp_path / "project"
    _write_project(
        project,
        [
            ("1", "COMPLETED", [[0.3, 0.6, 0.9]]),
            ("0", "COMPLETED", [[0.2, 0.4, 0.5]]),
            ("2", "PRUNED", [[0.1, 0.15]]),
        ],
    )
    best = _pixels(plots.plot_trials(project, "val_accuracy", project / "trials.png"))
    assert best.shape[:2] == (TRIALS_PIXELS[1], TRIALS_PIXELS[0])
    # The best trial is drawn thick in red (tab:red), a pruned one ends in a black cross.
    assert _has_colour(best, (214, 39, 40), at_least=200)
    assert _has_colour(best, (0, 0, 0))
    other = _pixels(plots.plot_trials(project, "val_accuracy", tmp_path / "other.png", best_trial_id="0"))
    assert not np.array_equal(best, other)


def test_the_best_trial_is_named_as_keras_tuner_numbers_it_and_epochs_count_from_1(tmp_path, monkeypatch):
    project = tmp_path / "project"
    _write_project(project, [("00", "COMPLETED", [[0.3, 0.6, 0.9]]), ("01", "COMPLETED", [[0.2, 0.4]])])
    drawn = []
    save = plots._save
    monkeypatch.setattr(
        plots, "_save", lambda canvas, path: drawn.append(canvas.figure) or save(canvas, path)
    )
    plots.plot_trials(project, "val_accuracy", project / "trials.png")
    ax = drawn[0].axes[0]
    # keras-tuner prints trial "00" as "Trial #1"; the leaderboard and trials.csv say the same.
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["best: trial #1 (0.9)", "other trials"]
    assert [list(line.get_xdata()) for line in ax.get_lines()] == [[1, 2, 3], [1, 2]]


def test_trials_mean_over_executions_and_skip_epochs_hyperband_did_not_run():
    executions = [
        [None, {"val_accuracy": 0.2}, {"val_accuracy": 0.4}],
        [None, {"val_accuracy": 0.6}],
        [{"loss": 1.0}],
    ]
    means = plots._mean_by_epoch(executions, "val_accuracy")
    assert means.keys() == {1, 2}
    np.testing.assert_allclose([means[1], means[2]], [np.mean([0.2, 0.6]), 0.4])


def test_a_project_without_epochs_still_draws_a_picture(tmp_path):
    path = plots.plot_trials(tmp_path, "val_accuracy", tmp_path / "trials.png")
    assert _pixels(path).shape[:2] == (TRIALS_PIXELS[1], TRIALS_PIXELS[0])


def test_a_missing_project_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="project directory"):
        plots.plot_trials(tmp_path / "nope", "val_accuracy", tmp_path / "trials.png")


def _has_colour(pixels, rgb, at_least=20):
    close = np.all(np.abs(pixels.astype(int) - np.array(rgb)) <= 12, axis=-1)
    return int(close.sum()) >= at_least


@pytest.mark.tensorflow_only
def test_keras_ext_train_writes_history_png_and_names_it(tmp_path, capsys):
    from keras_ext.cli.main import main

    assert main(["train", "--epochs", "1", "--verbose", "0", "--output", str(tmp_path)]) == 0
    path = tmp_path / "history.png"
    assert f"saved {path}" in capsys.readouterr().out
    assert _pixels(path).shape[:2] == (HISTORY_PIXELS[1], HISTORY_PIXELS[0])


@pytest.mark.tensorflow_only
def test_keras_ext_tune_writes_trials_png_and_names_it(tmp_path, capsys):
    from keras_ext.cli.main import main
    from tests.tuning.tiny_data import write_tiny_npz

    data = write_tiny_npz(tmp_path / "tiny.npz")
    assert (
        main(
            [
                "tune",
                "--dataset",
                data,
                "--max-trials",
                "2",
                "--epochs",
                "2",
                "--verbose",
                "0",
                "--hp",
                "num_blocks=1",
                "--hp",
                "filters=8",
                "--hp",
                "batch_size=64",
                "--directory",
                str(tmp_path / "tune"),
                "--project-name",
                "p",
            ]
        )
        == 0
    )
    path = tmp_path / "tune" / "p" / "trials.png"
    assert f"wrote {path}" in capsys.readouterr().out
    assert _pixels(path).shape[:2] == (TRIALS_PIXELS[1], TRIALS_PIXELS[0])
