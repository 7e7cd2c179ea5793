"""Pictures of training results: `plot_history` (a training run) and `plot_trials` (a search).

Both draw with matplotlib's non-interactive Agg renderer on a `Figure` of
their own (no pyplot, so no global state, no window, safe in threads and on
machines without a display), write the picture atomically and return its
path. matplotlib is imported when a picture is drawn, so importing this
module costs nothing. This module imports nothing else from keras_ext and
nothing from Keras: it reads plain dicts and the files a search writes.
"""

import csv
import glob
import json
import math
import os
import uuid

__all__ = ["plot_history", "plot_trials"]

# Fixed sizes (inches at DPI), so a picture's pixel size does not depend on the data.
DPI = 100
HISTORY_SIZE = (13.5, 4.0)  # 1350 x 400 pixels: loss, accuracy, learning rate side by side
TRIALS_SIZE = (9.0, 5.5)  # 900 x 550 pixels
HISTORY_PANELS = (
    ("loss", "loss"),
    ("accuracy", "accuracy"),
    ("learning_rate", "learning rate"),
)


def plot_history(history, path, epochs=None, title=None):
    """Draw loss, accuracy and learning rate by epoch, train and validation, to `path` (a PNG).

    Args:
        history: metric name -> one value per epoch, as in
            `keras.callbacks.History.history` or `metrics.json`'s `"history"`
            (`loss`, `val_loss`, `accuracy`, `val_accuracy`, `learning_rate`;
            a panel whose metric was not logged says so).
        path: the picture to write (its folder is created if missing).
        epochs: the 0-based epoch of each value (a resumed run starts later;
            `History.epoch` or `metrics.json`'s `"history_epochs"`); default
            0, 1, ...
        title: a line above the panels.

    Returns:
        `path`.

    Example:

    >>> import os, tempfile
    >>> from keras_ext.plots import plot_history
    >>> history = {"loss": [2.0, 1.1, 0.7], "val_loss": [1.8, 1.2, 0.9],
    ...            "accuracy": [0.4, 0.7, 0.8], "val_accuracy": [0.5, 0.7, 0.75],
    ...            "learning_rate": [3e-3, 3e-3, 2.4e-3]}
    >>> path = plot_history(history, os.path.join(tempfile.mkdtemp(), "history.png"))
    >>> os.path.getsize(path) > 0
    True
    """
    if not isinstance(history, dict):
        raise ValueError(
            f"`history` must be a dict of metric name -> values per epoch (History.history), "
            f"got {type(history).__name__}."
        )
    lengths = {name: len(values) for name, values in history.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"Every metric of `history` needs one value per epoch; got lengths {lengths}.")
    count = next(iter(lengths.values()), 0)
    epochs = list(range(count)) if epochs is None else [int(e) for e in epochs]
    if len(epochs) != count:
        raise ValueError(f"`epochs` has {len(epochs)} entries, `history` {count} values per metric.")
    # Shown from 1, as Keras's progress lines count epochs.
    x = [e + 1 for e in epochs]

    figure, canvas = _figure(HISTORY_SIZE)
    axes = figure.subplots(1, len(HISTORY_PANELS))
    for ax, (name, label) in zip(axes, HISTORY_PANELS, strict=True):
        drawn = False
        for key, kind, style in ((name, "train", "-"), (f"val_{name}", "validation", "--")):
            if key in history:
                ax.plot(x, _floats(history[key]), style, marker="o", markersize=3, label=kind)
                drawn = True
        ax.set_title(label)
        _label_epochs(ax)
        ax.grid(True, alpha=0.3)
        if not drawn:
            ax.text(0.5, 0.5, f"{name!r} not logged", ha="center", va="center", transform=ax.transAxes)
            continue
        if name == "learning_rate":
            # Decays span decades; a log axis shows each staircase step.
            if all(v > 0 for v in _floats(history[name])):
                ax.set_yscale("log")
        else:
            ax.legend()
    if title:
        figure.suptitle(title)
    return _save(canvas, path)


def plot_trials(project_dir, objective, path, best_trial_id=None):
    """Draw each trial's objective by epoch for a keras_ext search, to `path` (a PNG).

    Reads the files `keras_ext.tuning.Search` writes in the project
    directory: every `trial_<id>/epochs.json` (the per-epoch logs; with
    several executions per trial, their mean) and `trials.csv` (status and
    rank). Pruned trials are drawn dashed and end in a cross at the epoch
    they were stopped; the best trial is drawn thick and named in the legend
    by its number, from 1, as keras-tuner's "Trial #N" and the leaderboard
    count it (trial id "0" is trial #1). Epochs count from 1, as Keras's do.

    Args:
        project_dir: the search's `directory/project_name`.
        objective: the logged metric to draw, e.g. `"val_accuracy"`.
        path: the picture to write.
        best_trial_id: the trial to highlight; default: rank 1 of
            `trials.csv`, if it has a score.

    Returns:
        `path`.

    Example:

    >>> import json, os, tempfile
    >>> from keras_ext.plots import plot_trials
    >>> project = tempfile.mkdtemp()
    >>> for trial_id, status, values in [("0", "completed", [0.5, 0.7, 0.8]),
    ...                                  ("1", "pruned", [0.2])]:
    ...     os.makedirs(os.path.join(project, f"trial_{trial_id}"))
    ...     record = {"trial_id": trial_id, "status": status,
    ...               "executions": [[{"val_accuracy": v} for v in values]]}
    ...     json.dump(record, open(os.path.join(project, f"trial_{trial_id}", "epochs.json"), "w"))
    >>> path = plot_trials(project, "val_accuracy", os.path.join(project, "trials.png"), best_trial_id="0")
    >>> os.path.getsize(path) > 0
    True
    """
    project_dir = os.fspath(project_dir)
    if not os.path.isdir(project_dir):
        raise ValueError(f"`project_dir` must be a search's project directory, got {project_dir!r}.")
    records = _trial_records(project_dir)
    rows = _leaderboard_rows(project_dir)
    if best_trial_id is None:
        ranked = [r for r in rows.values() if r.get("score") not in (None, "")]
        best_trial_id = min(ranked, key=lambda r: int(r["rank"]))["trial_id"] if ranked else None
    best_trial_id = None if best_trial_id is None else str(best_trial_id)

    figure, canvas = _figure(TRIALS_SIZE)
    ax = figure.subplots()
    pruned = others = drawn = 0
    for trial_id, record in sorted(records.items()):
        values = _mean_by_epoch(record.get("executions") or [], objective)
        if not values:
            continue
        drawn += 1
        epochs = sorted(values)
        x = [e + 1 for e in epochs]
        y = [values[e] for e in epochs]
        status = (rows.get(trial_id, {}).get("status") or record.get("status") or "").lower()
        if trial_id == best_trial_id:
            score = rows.get(trial_id, {}).get("score")
            ax.plot(
                x,
                y,
                "-",
                color="tab:red",
                linewidth=3,
                marker="o",
                zorder=3,
                label=f"best: trial #{_trial_number(trial_id)}" + (f" ({float(score):.4g})" if score else ""),
            )
        elif status == "pruned":
            pruned += 1
            ax.plot(x, y, "--", color="tab:gray", linewidth=1, alpha=0.8)
            ax.plot(
                x[-1:],
                y[-1:],
                "x",
                color="black",
                markersize=8,
                label="pruned (x: stopped here)" if pruned == 1 else None,
            )
        else:
            others += 1
            ax.plot(
                x,
                y,
                "-",
                color="tab:blue",
                linewidth=1,
                marker=".",
                alpha=0.6,
                label="other trials" if others == 1 else None,
            )
    if not drawn:
        ax.text(
            0.5,
            0.5,
            f"no trial has logged {objective!r} yet",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    else:
        ax.legend()
    _label_epochs(ax)
    ax.set_ylabel(objective)
    ax.grid(True, alpha=0.3)
    ax.set_title(f"{objective} by epoch: {drawn} trials, {pruned} pruned")
    return _save(canvas, path)


def _figure(size):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("Drawing pictures needs matplotlib: pip install matplotlib") from e
    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    return figure, FigureCanvasAgg(figure)


def _label_epochs(ax):
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _save(canvas, path):
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # Temporary name, then rename: a reader never sees half a picture.
    tmp = os.path.join(directory, f".tmp-{os.getpid()}-{uuid.uuid4().hex}-{os.path.basename(path)}")
    try:
        canvas.print_png(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _trial_number(trial_id):
    # keras_ext.tuning.leaderboard's rule (this module imports nothing of keras_ext): keras-tuner's
    # ids are zero-padded creation indices, which it shows from 1.
    return int(trial_id) + 1 if trial_id.isdigit() else trial_id


def _floats(values):
    # None (an epoch a metric skipped) becomes a gap, as NaN does in matplotlib.
    return [math.nan if v is None else float(v) for v in values]


def _trial_records(project_dir):
    records = {}
    for path in sorted(glob.glob(os.path.join(project_dir, "trial_*", "epochs.json"))):
        with open(path) as f:
            record = json.load(f)
        folder_id = os.path.basename(os.path.dirname(path))[len("trial_") :]
        records[str(record.get("trial_id", folder_id))] = record
    return records


def _leaderboard_rows(project_dir):
    path = os.path.join(project_dir, "trials.csv")
    if not os.path.exists(path):
        return {}
    with open(path, newline="") as f:
        return {row["trial_id"]: row for row in csv.DictReader(f)}


def _mean_by_epoch(executions, objective):
    """{epoch: mean of `objective` over the executions that logged that epoch}."""
    sums = {}
    for run in executions:
        for epoch, logs in enumerate(run):
            if logs and objective in logs and logs[objective] is not None:
                sums.setdefault(epoch, []).append(float(logs[objective]))
    return {epoch: sum(v) / len(v) for epoch, v in sums.items()}
