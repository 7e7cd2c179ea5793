"""The part every pruning callback of a search shares: binding to one trial of one project."""

import copy

import keras

from keras_ext.tuning.trial_history import TrialHistory

DIRECTIONS = ("min", "max")


class TrialPruner(keras.callbacks.Callback):
    """Base of `MedianPruning` and `SuccessiveHalving`: a callback that stops one trial of a search.

    `Search(..., pruning=...)` binds a copy to each trial (`for_trial`) with the
    search's objective, direction and project directory; the per-epoch values it
    compares come from the `TrialHistory` files there, so pruning survives a
    restart and is shared by workers on one file system.
    """

    def __init__(self, objective=None, direction="max", directory=None, trial_id=None):
        super().__init__()
        if direction not in DIRECTIONS:
            raise ValueError(f"`direction` must be 'min' or 'max', got direction={direction!r}.")
        self.objective = objective
        self.direction = direction
        self.directory = directory
        self.trial_id = trial_id

    def for_trial(self, directory, trial_id, objective=None, direction=None):
        """A copy bound to one trial; `objective`/`direction` fill in what is unset."""
        bound = copy.copy(self)
        bound.directory = directory
        bound.trial_id = trial_id
        bound.objective = self.objective or objective
        if self.objective is None and direction is not None:
            bound.direction = direction
        return bound

    def _check_bound(self):
        if self.objective is None or self.directory is None or self.trial_id is None:
            raise ValueError(
                f"{type(self).__name__} needs `objective`, `directory` and `trial_id`; pass it to "
                "keras_ext.tuning.Search(pruning=...) or bind it with for_trial()."
            )

    def on_epoch_end(self, epoch, logs=None):
        # What the schedulers share: when one decides (`_decides_at`) and on what values
        # (`_stops`) is each's own; marking the trial and stopping it is the same.
        self._check_bound()
        if not self._decides_at(epoch + 1, (self.params or {}).get("epochs")):
            return
        if not logs or self.objective not in logs:
            return
        history = TrialHistory(self.directory)
        if self._stops(float(logs[self.objective]), history, epoch):
            history.mark_pruned(self.trial_id, epoch)
            self.model.stop_training = True

    def _decides_at(self, epoch, epochs):
        """Whether to decide at the end of `epoch` (1-based) of a trial of `epochs` (None if unknown)."""
        raise NotImplementedError

    def _stops(self, value, history, epoch):
        """Whether the trial, at `value` after `epoch` (0-based), stops, given the `TrialHistory`."""
        raise NotImplementedError

    def get_config(self):
        return {
            "objective": self.objective,
            "direction": self.direction,
            "directory": self.directory,
            "trial_id": self.trial_id,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
