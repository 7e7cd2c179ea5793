"""`Leaderboard`: every trial of a search, best first, as a table, a CSV and the best trial's JSON."""

import csv
import io
import math

from keras_ext.tuning.trial_history import TrialHistory
from keras_ext_cli.files import write_json_atomically
from keras_ext_cli.files import write_text_atomically

FIXED_COLUMNS = (
    "rank",
    "trial",
    "trial_id",
    "status",
    "score",
    "best_epoch",
    "epochs_trained",
    "seconds",
    "runs",
)


class Leaderboard:
    """The trials of a search, ranked by score: id, status, score, epochs and hyperparameters.

    Built from a keras-tuner tuner with `from_tuner` (its oracle's trials
    and the `TrialHistory` of the project directory). Each row is a dict
    with `rank` (1 is best; trials without a score come last), `trial`
    (the trial's number, from 1, as keras-tuner's "Trial #N" counts it),
    `trial_id` (keras-tuner's id, which names the `trial_<id>` folder: the
    number minus one, zero-padded), `status` (keras-tuner's
    `COMPLETED`/`FAILED`/... or `PRUNED` for a trial MedianPruning
    stopped), `score` (the objective at the trial's best epoch; None without
    one), `best_epoch` (from 1, as Keras's "Epoch 3/5" and the plots count),
    `epochs_trained`, `seconds` (of its last run), `runs` (times a tuner
    started it) and `hyperparameters`.

    Args:
        objective_name: name of the objective, e.g. `"val_accuracy"`.
        direction: `"max"` or `"min"`.
        rows: the trials, as dicts with the keys above (rank is recomputed).

    Example:

    >>> from keras_ext.tuning import Leaderboard
    >>> board = Leaderboard("val_accuracy", "max", [
    ...     {"trial_id": "0", "status": "COMPLETED", "score": 0.5, "hyperparameters": {"lr": 0.1}},
    ...     {"trial_id": "1", "status": "COMPLETED", "score": 0.9, "hyperparameters": {"lr": 0.01}}])
    >>> board.best["trial"], board.best["trial_id"], [row["rank"] for row in board.rows]
    (2, '1', [1, 2])
    """

    def __init__(self, objective_name, direction, rows):
        self.objective_name = objective_name
        self.direction = direction
        self.rows = self._ranked(rows)

    @classmethod
    def from_tuner(cls, tuner):
        """Collect the rows of every trial the tuner's oracle knows."""
        oracle = tuner.oracle
        history = TrialHistory(tuner.project_dir)
        records = history.load_all()
        rows = []
        for trial_id, trial in oracle.trials.items():
            record = records.get(trial_id, {})
            status = trial.status
            if status == "COMPLETED" and record.get("status") == "pruned":
                status = "PRUNED"
            rows.append(
                {
                    "trial_id": trial_id,
                    "status": status,
                    "score": _finite_or_none(trial.score),
                    "best_epoch": None if trial.best_step is None else int(trial.best_step) + 1,
                    "epochs_trained": history.epochs_trained(trial_id),
                    "seconds": record.get("seconds"),
                    "runs": record.get("runs", 0),
                    "hyperparameters": dict(trial.hyperparameters.values),
                }
            )
        return cls(oracle.objective.name, oracle.objective.direction, rows)

    @property
    def best(self):
        """The best scored row, or None when no trial has a score."""
        return self.rows[0] if self.rows and self.rows[0]["score"] is not None else None

    def format(self):
        """The leaderboard as a fixed-width text table."""
        lines = [f"Leaderboard ({self.objective_name}, {self.direction}, best first):"]
        lines.append(
            f"{'rank':>4}  {'trial':>5}  {'status':<9}  {'score':>10}  {'epochs':>6}  {'seconds':>7}  "
            "hyperparameters"
        )
        for row in self.rows:
            score = "-" if row["score"] is None else f"{row['score']:.6f}"
            seconds = "-" if row["seconds"] is None else f"{row['seconds']:.1f}"
            params = ", ".join(f"{k}={_short(v)}" for k, v in row["hyperparameters"].items())
            lines.append(
                f"{row['rank']:>4}  {row['trial']:>5}  {row['status']:<9}  {score:>10}  "
                f"{row['epochs_trained']:>6}  {seconds:>7}  {params}"
            )
        return "\n".join(lines)

    def to_csv(self):
        """All trials as CSV text: the fixed columns, then one column per hyperparameter."""
        names = sorted({name for row in self.rows for name in row["hyperparameters"]})
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*FIXED_COLUMNS, *names])
        for row in self.rows:
            fixed = ["" if row[c] is None else row[c] for c in FIXED_COLUMNS]
            hps = ["" if row["hyperparameters"].get(n) is None else row["hyperparameters"][n] for n in names]
            # repr keeps every digit of a float (str would too, but this says so).
            writer.writerow([repr(v) if isinstance(v, float) else v for v in [*fixed, *hps]])
        return out.getvalue()

    def write_csv(self, path):
        write_text_atomically(path, self.to_csv())

    def write_best_json(self, path, **extra):
        """Write the best trial's id, score and hyperparameters (and `extra` keys) as JSON."""
        best = self.best
        if best is None:
            raise ValueError("No trial of this search has a score, so there is no best trial.")
        write_json_atomically(
            path,
            {
                "objective": self.objective_name,
                "direction": self.direction,
                "trial": best["trial"],
                "trial_id": best["trial_id"],
                "score": best["score"],
                "best_epoch": best["best_epoch"],
                "hyperparameters": best["hyperparameters"],
                **extra,
            },
        )

    def _ranked(self, rows):
        sign = -1.0 if self.direction == "max" else 1.0
        scored = sorted(
            (r for r in rows if r.get("score") is not None),
            key=lambda r: (sign * r["score"], str(r["trial_id"])),
        )
        unscored = sorted((r for r in rows if r.get("score") is None), key=lambda r: str(r["trial_id"]))
        defaults = {
            "best_epoch": None,
            "epochs_trained": 0,
            "seconds": None,
            "runs": 0,
            "hyperparameters": {},
        }
        return [
            {**defaults, "trial": _trial_number(row["trial_id"]), **row, "rank": i + 1}
            for i, row in enumerate([*scored, *unscored])
        ]


def _trial_number(trial_id):
    """The number keras-tuner shows for a trial ("Trial #1" for id "0" or "00"), or the id unchanged
    where it is not keras-tuner's zero-padded creation index. `keras_ext.plots` has the same rule."""
    text = str(trial_id)
    return int(text) + 1 if text.isdigit() else text


def _finite_or_none(value):
    return None if value is None or not math.isfinite(value) else float(value)


def _short(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)
