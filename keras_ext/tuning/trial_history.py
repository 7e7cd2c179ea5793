"""`TrialHistory`: the per-epoch logs of every trial of a search, kept in its project directory."""

import glob
import os
import time

import keras
import numpy as np

from keras_ext_cli.files import read_json
from keras_ext_cli.files import write_json_atomically

FILE_NAME = "epochs.json"


class TrialHistory:
    """Per-epoch logs of each trial, one JSON file per trial in keras-tuner's trial folder.

    keras-tuner keeps only each trial's best value; pruning needs every
    epoch of the trials that finished, also after a restart and across
    workers that share the project directory, so they are kept on disk:
    `<project_dir>/trial_<id>/epochs.json`, written atomically. A record
    holds `trial_id`, `tuner_id`, `runs` (how often a tuner started the
    trial: more than 1 only after an interrupted run), `status`
    (`"running"`, `"completed"`, `"pruned"` or `"failed"`), `pruned_at_epoch`,
    `started` (Unix time), `seconds` (the last run's duration, once finished)
    and `executions` (one list of epoch logs per execution).

    Args:
        project_dir: the search's project directory (`directory/project_name`).

    Example:

    >>> import tempfile
    >>> from keras_ext.tuning import TrialHistory
    >>> history = TrialHistory(tempfile.mkdtemp())
    >>> history.begin("0", tuner_id="tuner0")
    >>> history.start_execution("0")
    >>> history.record("0", 0, {"val_accuracy": 0.5})
    >>> history.finish("0")
    >>> history.values_at("val_accuracy", epoch=0)
    [0.5]
    """

    def __init__(self, project_dir):
        self.project_dir = os.fspath(project_dir)

    def path(self, trial_id):
        """The record file of `trial_id` (keras-tuner's `trial_<id>` folder)."""
        return os.path.join(self.project_dir, f"trial_{trial_id}", FILE_NAME)

    def load(self, trial_id):
        """The record of `trial_id`, or None if it never started."""
        return read_json(self.path(trial_id))

    def load_all(self):
        """All records, by trial id."""
        records = {}
        for path in sorted(glob.glob(os.path.join(self.project_dir, "trial_*", FILE_NAME))):
            record = read_json(path)
            if record is not None:
                records[record["trial_id"]] = record
        return records

    def begin(self, trial_id, tuner_id="tuner0"):
        """Start (or restart, after an interruption) a trial: its old epochs are dropped."""
        old = self.load(trial_id) or {}
        self._write(
            trial_id,
            {
                "trial_id": trial_id,
                "tuner_id": tuner_id,
                "runs": old.get("runs", 0) + 1,
                "status": "running",
                "pruned_at_epoch": None,
                "started": time.time(),
                "seconds": None,
                "executions": [],
            },
        )

    def start_execution(self, trial_id):
        record = self._require(trial_id)
        record["executions"].append([])
        self._write(trial_id, record)

    def record(self, trial_id, epoch, logs):
        """Store the logs of `epoch` (0-based) of the current execution."""
        record = self._require(trial_id)
        if not record["executions"]:
            record["executions"].append([])
        epochs = record["executions"][-1]
        # Hyperband continues a trial from `initial_epoch`: pad the epochs it skipped.
        epochs.extend([None] * (epoch + 1 - len(epochs)))
        epochs[epoch] = {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}
        self._write(trial_id, record)

    def mark_pruned(self, trial_id, epoch):
        record = self._require(trial_id)
        record["pruned_at_epoch"] = int(epoch)
        self._write(trial_id, record)

    def finish(self, trial_id, failed=False):
        """Mark the trial `"completed"`, `"pruned"` (if pruned) or `"failed"`."""
        record = self._require(trial_id)
        record["seconds"] = time.time() - record["started"]
        if failed:
            record["status"] = "failed"
        else:
            record["status"] = "completed" if record["pruned_at_epoch"] is None else "pruned"
        self._write(trial_id, record)

    def values_at(self, objective, epoch, exclude=None, statuses=("completed",)):
        """Objective values at `epoch` of the trials of `statuses` (mean over executions).

        By default only trials that ran to the end count (pruned ones do not),
        as in Optuna's median pruner; successive halving counts every trial
        that reached the epoch (`statuses=("completed", "pruned", "running")`).
        """
        values = []
        for trial_id, record in self.load_all().items():
            if trial_id == exclude or record["status"] not in statuses:
                continue
            at_epoch = [
                run[epoch][objective]
                for run in record["executions"]
                if len(run) > epoch and run[epoch] and objective in run[epoch]
            ]
            if at_epoch:
                values.append(float(np.mean(at_epoch)))
        return values

    def epochs_trained(self, trial_id):
        """Epochs this trial trained in its last run, over all its executions."""
        record = self.load(trial_id) or {"executions": []}
        return sum(sum(e is not None for e in run) for run in record["executions"])

    def callback(self, trial_id):
        """A Keras callback recording every epoch of `trial_id` here."""
        return _Recorder(self.project_dir, trial_id)

    def _require(self, trial_id):
        record = self.load(trial_id)
        if record is None:
            raise ValueError(f"Trial {trial_id!r} was not begun in {self.project_dir}.")
        return record

    def _write(self, trial_id, record):
        write_json_atomically(self.path(trial_id), record)


class _Recorder(keras.callbacks.Callback):
    """Writes each epoch's logs to the trial's record (deep-copyable: it holds plain values)."""

    def __init__(self, project_dir, trial_id):
        super().__init__()
        self.project_dir = project_dir
        self.trial_id = trial_id

    def on_train_begin(self, logs=None):
        TrialHistory(self.project_dir).start_execution(self.trial_id)

    def on_epoch_end(self, epoch, logs=None):
        TrialHistory(self.project_dir).record(self.trial_id, epoch, logs)
