"""`BatchRun`: consecutive batches of one shape, which the steps may train as one stack."""

import keras
import numpy as np


class BatchRun:
    """Consecutive same-shaped batches of one execution, as a list or as one stack per array.

    Iterating gives the (x, y, sample_weight) batches in order. `stacked()`
    gives them stacked along a new first axis, what a fused execution
    trains on: arrays sliced by `BatchSource` come stacked already (one
    gather per execution instead of a slice per batch and a copy into the
    stack), batches of a dataset are stacked on the first call.
    """

    def __init__(self, batches=None, stacked=None):
        if (batches is None) == (stacked is None):
            raise ValueError("Pass the batches or their stack, not both.")
        self._batches = batches
        self._stacked = stacked

    def __len__(self):
        if self._batches is not None:
            return len(self._batches)
        return len(next(a for a in self._stacked if a is not None))

    def __iter__(self):
        if self._batches is not None:
            return iter(self._batches)
        return (tuple(None if a is None else a[i] for a in self._stacked) for i in range(len(self)))

    def first(self):
        """The first batch (what the steps are built on)."""
        return next(iter(self))

    def stacked(self):
        """(xs, ys, sample_weights), each stacked along a new first axis (None where the batches have None)."""
        if self._stacked is None:
            self._stacked = tuple(_stack([batch[i] for batch in self._batches]) for i in range(3))
        return self._stacked


def _stack(values):
    """One part of the batches (x, y or sample weights) stacked, nested structures too."""
    if values[0] is None:
        return None
    return keras.tree.map_structure(lambda *leaves: np.stack([np.asarray(v) for v in leaves]), *values)
