"""`PassCounter`: which epoch's order a pipeline's next pass over its data produces."""

import threading

from keras_ext.data.epoch_order import check_epoch


class PassCounter:
    """Counts one pipeline's passes; each pass takes the next epoch number, or the one it is told.

    Each keras_ext pipeline owns one, so two pipelines in a process never
    share an order. A pass is one iteration over the data: a new tf.data
    iterator, or a PyDataset's `on_epoch_begin`. Left alone, passes produce
    epochs 0, 1, 2, ... A training loop that resumes a run restores the
    position with `set_epoch(e)`: the next pass produces epoch `e`, the one
    after it `e + 1`. Counting passes, not being told each epoch, is what
    makes a run with a checkpointer train on the same order as one without.

    Example:

    >>> counter = PassCounter()
    >>> counter.start_pass(), counter.start_pass(), counter.epoch
    (0, 1, 1)
    >>> counter.set_epoch(7)
    >>> counter.start_pass(), counter.get_position()
    (7, {'epoch': 7})
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._next = 0
        self.epoch = None  # the epoch of the pass in progress (or the last one), None before any

    def set_epoch(self, epoch):
        """Make the next pass produce epoch `epoch` (and the passes after it count on from there)."""
        epoch = check_epoch(epoch)
        with self._lock:
            self._next = epoch

    def start_pass(self):
        """A pass begins: return the epoch whose order it produces."""
        with self._lock:
            self.epoch, self._next = self._next, self._next + 1
            return self.epoch

    @property
    def next_epoch(self):
        """The epoch the next pass will produce."""
        return self._next

    def get_position(self):
        """`{"epoch": e}`: the pass in progress (or the last one; None before the first)."""
        return {"epoch": self.epoch}
