"""`MedianPruning`: stop a trial that is worse than the median of finished trials at the same epoch."""

import keras
import numpy as np

from keras_ext._validation import check_positive_int
from keras_ext.tuning._trial_pruner import TrialPruner


@keras.saving.register_keras_serializable(package="keras_ext")
class MedianPruning(TrialPruner):
    """Early-stops hopeless trials of a search, as Optuna's `MedianPruner` does.

    At the end of epoch `e` (1-based) of a trial, once `e > warmup_epochs` and
    at least `warmup_trials` trials have run to completion, the trial stops
    if its objective at epoch `e` is worse than the median of the completed
    trials' objective at epoch `e`. Those per-epoch values come from the
    `TrialHistory` files in the project directory, so they survive a
    restart and are shared by workers on one file system. A trial is never
    stopped at its last epoch (that would save nothing). A stopped trial
    keeps its best epoch so far as its score and is marked `"pruned"`.

    `keras_ext.tuning.Search(..., pruning=MedianPruning())` binds a copy to
    each trial (`for_trial`) with the search's objective and directory.

    Args:
        warmup_trials: completed trials needed before any pruning (>= 1).
        warmup_epochs: epochs every trial trains before it may be pruned (>= 0).
        objective: name of the logged value to compare (for example
            `"val_accuracy"`); `None` until bound by the search.
        direction: `"max"` or `"min"`: which way is better.
        directory: the search's project directory; `None` until bound.
        trial_id: the trial this copy watches; `None` until bound.

    Example:

    >>> from keras_ext.tuning import MedianPruning
    >>> pruning = MedianPruning(warmup_trials=3, warmup_epochs=1)
    >>> bound = pruning.for_trial("/tmp/search/project", "4", "val_accuracy", "max")
    >>> bound.trial_id, bound.objective
    ('4', 'val_accuracy')
    """

    def __init__(
        self,
        warmup_trials=3,
        warmup_epochs=1,
        objective=None,
        direction="max",
        directory=None,
        trial_id=None,
    ):
        super().__init__(objective, direction, directory, trial_id)
        self.warmup_trials = check_positive_int("warmup_trials", warmup_trials)
        if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, int) or warmup_epochs < 0:
            raise ValueError(f"`warmup_epochs` must be an int >= 0, got warmup_epochs={warmup_epochs!r}.")
        self.warmup_epochs = warmup_epochs

    def should_prune(self, value, completed_values):
        """Whether `value` is worse than the median of `completed_values` (after warm-up trials)."""
        if len(completed_values) < self.warmup_trials:
            return False
        median = float(np.median(completed_values))
        return value < median if self.direction == "max" else value > median

    def _decides_at(self, epoch, epochs):
        return epoch > self.warmup_epochs and not (epochs and epoch >= epochs)

    def _stops(self, value, history, epoch):
        return self.should_prune(value, history.values_at(self.objective, epoch, exclude=self.trial_id))

    def get_config(self):
        return {
            "warmup_trials": self.warmup_trials,
            "warmup_epochs": self.warmup_epochs,
            **super().get_config(),
        }
