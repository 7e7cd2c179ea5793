import csv
import io
import json
import types

import pytest

from keras_ext.tuning import Leaderboard

ROWS = [
    {"trial_id": "0", "status": "COMPLETED", "score": 0.5, "hyperparameters": {"lr": 0.1, "opt": "adam"}},
    {"trial_id": "1", "status": "FAILED", "score": None, "hyperparameters": {"lr": 0.2}},
    {"trial_id": "2", "status": "PRUNED", "score": 0.25, "hyperparameters": {"lr": 0.3, "opt": "sgd"}},
    {
        "trial_id": "3",
        "status": "COMPLETED",
        "score": 0.75,
        "epochs_trained": 4,
        "seconds": 2.25,
        "hyperparameters": {"lr": 1 / 3, "opt": "adam"},
    },
]


@pytest.mark.parametrize("direction, order", [("max", ["3", "0", "2", "1"]), ("min", ["2", "0", "3", "1"])])
def test_rows_are_ranked_by_direction_with_unscored_trials_last(direction, order):
    board = Leaderboard("val_x", direction, ROWS)
    assert [r["trial_id"] for r in board.rows] == order
    assert [r["rank"] for r in board.rows] == [1, 2, 3, 4]
    assert board.best["trial_id"] == order[0]


def test_csv_holds_every_trial_and_every_digit():
    board = Leaderboard("val_x", "max", ROWS)
    rows = list(csv.DictReader(io.StringIO(board.to_csv())))
    assert [r["trial_id"] for r in rows] == ["3", "0", "2", "1"]
    assert list(rows[0]) == [
        "rank",
        "trial",
        "trial_id",
        "status",
        "score",
        "best_epoch",
        "epochs_trained",
        "seconds",
        "runs",
        "lr",
        "opt",
    ]
    assert [r["trial"] for r in rows] == ["4", "1", "3", "2"]  # as keras-tuner's "Trial #N"
    assert float(rows[0]["lr"]) == 1 / 3  # full precision round trip
    assert rows[3]["score"] == "" and rows[3]["opt"] == ""


def test_table_and_best_json(tmp_path):
    board = Leaderboard("val_x", "max", ROWS)
    table = board.format().splitlines()
    assert table[0] == "Leaderboard (val_x, max, best first):"
    assert table[1].split()[:2] == ["rank", "trial"]
    assert table[2].split()[:6] == ["1", "4", "COMPLETED", "0.750000", "4", "2.2"]
    assert "lr=0.3333, opt=adam" in table[2]
    board.write_best_json(tmp_path / "best.json", model_path="m.keras")
    saved = json.load(open(tmp_path / "best.json"))
    assert saved["trial"] == 4 and saved["trial_id"] == "3"
    assert saved["score"] == 0.75 and saved["model_path"] == "m.keras"


def test_no_scored_trial_means_no_best():
    board = Leaderboard("val_x", "max", [ROWS[1]])
    assert board.best is None
    with pytest.raises(ValueError, match="no best trial"):
        board.write_best_json("unused.json")


def test_trials_and_epochs_are_counted_from_1_as_keras_tuner_and_keras_show_them(tmp_path):
    # keras-tuner names trials by their creation index, zero-padded to max_trials' digits ("00" ..
    # "10" for 11 trials), and prints "Trial #1" for "00"; `best_step` is Keras's 0-based epoch.
    def trial(trial_id, score, best_step):
        return types.SimpleNamespace(
            trial_id=trial_id,
            status="COMPLETED",
            score=score,
            best_step=best_step,
            hyperparameters=types.SimpleNamespace(values={}),
        )

    trials = {f"{i:02d}": trial(f"{i:02d}", i / 10, i % 3) for i in range(11)}
    oracle = types.SimpleNamespace(
        trials=trials, objective=types.SimpleNamespace(name="val_x", direction="max")
    )
    board = Leaderboard.from_tuner(types.SimpleNamespace(oracle=oracle, project_dir=str(tmp_path)))
    assert [(r["trial"], r["trial_id"], r["best_epoch"]) for r in board.rows[:3]] == [
        (11, "10", 2),
        (10, "09", 1),
        (9, "08", 3),
    ]
    assert board.format().splitlines()[2].split()[:2] == ["1", "11"]
