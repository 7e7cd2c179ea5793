"""A `keras.utils.PyDataset` over in-memory arrays: keras_ext's pipeline where TensorFlow is absent."""

import math
import threading
import warnings

import keras
import numpy as np

from keras_ext._validation import check_positive_int
from keras_ext.data import epoch_clock


class ArrayBatches(keras.utils.PyDataset):
    """`(x, y)` batches of NumPy arrays; with `shuffle`, each epoch's order is a function of (seed, epoch).

    The order of epoch `e` is `epoch_clock.epoch_permutation(len(x), seed, e)`,
    where `e` is what `keras_ext.data.pipeline.set_epoch` last set
    (CheckpointManager and the Trainer set it every epoch): the same order
    as the tf.data pipeline, so a run resumed at epoch `e` sees the batches
    an uninterrupted run saw. While no epoch is set, each pass draws a new
    order (reproducible within a process, not resumable). `fit` and the
    Trainer accept it on every backend; pass `shuffle=False` to them, since
    the dataset shuffles itself and their `shuffle=True` would reorder its
    batches with a generator that does not survive a restart.

    Args:
        x, y, batch_size, shuffle, seed: as for `keras_ext.data.make_pipeline`.
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size`, as
            for any `keras.utils.PyDataset`.

    Example:

    >>> import numpy as np
    >>> from keras_ext.data import ArrayBatches, pipeline
    >>> batches = ArrayBatches(np.zeros((10, 2)), np.arange(10), batch_size=4, shuffle=True, seed=0)
    >>> len(batches), [len(y) for _, y in batches]
    (3, [4, 4, 2])
    >>> pipeline.set_epoch(1)
    >>> order = pipeline.epoch_permutation(10, seed=0, epoch=1)
    >>> bool((np.concatenate([y for _, y in batches]) == order).all())
    True
    >>> pipeline.reset_epoch()
    """

    def __init__(self, x, y, batch_size, shuffle=False, seed=0, drop_remainder=False, **kwargs):
        super().__init__(**kwargs)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.x = np.asarray(x)
        self.y = np.asarray(y)
        if len(self.y) != len(self.x):
            raise ValueError(f"x has {len(self.x)} samples but y has {len(self.y)}; they must match.")
        self.shuffle = bool(shuffle)
        self.drop_remainder = bool(drop_remainder)
        if len(self) == 0 and len(self.x):
            raise ValueError(
                f"drop_remainder=True with {len(self.x)} samples and batch_size={batch_size} leaves no batch."
            )
        self.seed = epoch_clock.check_seed(seed)
        self._lock = threading.Lock()
        self._order_key = None
        self._order = None
        # Passes finished while no epoch was set: keys the fallback order.
        self._draws = 0
        self._next_index = 0
        self._warned = False

    def __len__(self):
        if self.drop_remainder:
            return len(self.x) // self.batch_size
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"Batch index must be an int, got index={index!r}.")
        if not 0 <= index < len(self):
            raise IndexError(f"Batch index {index} out of range: there are {len(self)} batches.")
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        if self.shuffle:
            self._check_in_order(int(index))
            rows = self._epoch_order()[rows]
        return self.x[rows], self.y[rows]

    def on_epoch_begin(self):
        self._next_index = 0

    def on_epoch_end(self):
        self._next_index = 0
        if epoch_clock.get_epoch() is None:
            self._draws += 1

    def _epoch_order(self):
        epoch = epoch_clock.get_epoch()
        key = ("epoch", epoch) if epoch is not None else ("draw", self._draws)
        with self._lock:
            if key != self._order_key:
                if epoch is not None:
                    order = epoch_clock.epoch_permutation(len(self.x), self.seed, epoch)
                else:
                    order = epoch_clock.unset_permutation(len(self.x), self.seed, self._draws)
                self._order_key, self._order = key, order
            return self._order

    def _check_in_order(self, index):
        # fit(shuffle=True) on a PyDataset asks for its batches in an order drawn from
        # Python's `random`, which a resumed process cannot reproduce. A pass may
        # start over at 0 (the Trainer reads batch 0 to build the model first).
        sequential = self.workers <= 1 and not self.use_multiprocessing
        if sequential and index not in (0, self._next_index) and not self._warned:
            self._warned = True
            warnings.warn(
                f"ArrayBatches: batch {index} was requested after batch {self._next_index - 1}: "
                "something reorders the batches of this dataset, which breaks the (seed, epoch) "
                "order exact resume needs. The dataset shuffles itself; pass shuffle=False to "
                "fit or the Trainer.",
                stacklevel=3,
            )
        self._next_index = index + 1
