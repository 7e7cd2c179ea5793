"""`SuccessiveHalving`: stop a trial at a rung unless it is in the best 1/reduction_factor there (ASHA)."""

import keras
import numpy as np

from keras_ext._validation import check_positive_int
from keras_ext.tuning._trial_pruner import TrialPruner

# Every trial that reached a rung counts there, also one stopped at it or still running:
# asynchronous successive halving compares a trial with all that got as far, not only finished ones.
REACHED = ("completed", "pruned", "running")


@keras.saving.register_keras_serializable(package="keras_ext")
class SuccessiveHalving(TrialPruner):
    """Asynchronous successive halving (ASHA, Li et al. 2020), as a search's pruning callback.

    Rungs are the epochs `min_epochs * reduction_factor**k` (1-based) before
    a trial's last epoch: with the defaults and 10 epochs, epochs 1, 3 and 9.
    At the end of a rung epoch, a trial goes on only if its objective is
    among the best `1 / reduction_factor` of every trial that reached that
    rung (itself included, whether the others finished, were stopped there
    or are still running); otherwise it stops there. So most trials cost
    `min_epochs` epochs, a third of the rest three times that, and only the
    best train all their epochs, without waiting for other trials to finish
    first (the asynchronous rule, as Ray Tune's `ASHAScheduler` applies it).
    The first trial to reach a rung always goes on.

    The values come from the `TrialHistory` files in the project directory,
    so the scheduler resumes with the search and is shared by workers on one
    file system. A stopped trial keeps its best epoch so far as its score
    and is marked `"pruned"`.

    Args:
        min_epochs: epochs every trial trains (the first rung, >= 1).
        reduction_factor: the rungs' spacing, and the share kept at each (>= 2).
        objective, direction, directory, trial_id: as `MedianPruning`'s;
            `Search(pruning=...)` binds them for each trial.

    Example:

    >>> from keras_ext.tuning import SuccessiveHalving
    >>> SuccessiveHalving(min_epochs=1, reduction_factor=3).rungs(epochs=10)
    [1, 3, 9]
    """

    def __init__(
        self,
        min_epochs=1,
        reduction_factor=3,
        objective=None,
        direction="max",
        directory=None,
        trial_id=None,
    ):
        super().__init__(objective, direction, directory, trial_id)
        self.min_epochs = check_positive_int("min_epochs", min_epochs)
        self.reduction_factor = check_positive_int("reduction_factor", reduction_factor)
        if self.reduction_factor < 2:
            raise ValueError(
                f"`reduction_factor` must be an int >= 2, got reduction_factor={reduction_factor!r}."
            )

    def rungs(self, epochs):
        """The rung epochs (1-based) of a trial of `epochs` epochs: none at or after its last."""
        rungs, rung = [], self.min_epochs
        while rung < epochs:
            rungs.append(rung)
            rung *= self.reduction_factor
        return rungs

    def should_stop(self, value, others):
        """Whether `value` is outside the best `1 / reduction_factor` of itself and `others` at a rung."""
        # Larger is better once "min" values are negated; stop below the quantile that leaves
        # 1 / reduction_factor above it (a value at the cutoff goes on).
        sign = 1.0 if self.direction == "max" else -1.0
        cutoff = np.percentile([sign * v for v in [*others, value]], (1 - 1 / self.reduction_factor) * 100)
        return bool(sign * value < cutoff)

    def _decides_at(self, epoch, epochs):
        return bool(epochs) and epoch in self.rungs(epochs)

    def _stops(self, value, history, epoch):
        others = history.values_at(self.objective, epoch, exclude=self.trial_id, statuses=REACHED)
        return self.should_stop(value, others)

    def get_config(self):
        return {
            "min_epochs": self.min_epochs,
            "reduction_factor": self.reduction_factor,
            **super().get_config(),
        }
