"""A `keras.utils.PyDataset` over in-memory arrays: keras_ext's pipeline where TensorFlow is absent."""

import math
import threading
import warnings

import keras
import numpy as np

from keras_ext._validation import check_positive_int
from keras_ext.data.epoch_order import check_seed
from keras_ext.data.epoch_order import epoch_permutation
from keras_ext.data.pass_counter import PassCounter


class ArrayBatches(keras.utils.PyDataset):
    """`(x, y)` batches of NumPy arrays; with `shuffle`, each epoch's order is a function of (seed, epoch).

    Pass `e` over the batches (from one `on_epoch_begin` to the next; Keras
    `fit` and the Trainer call it at the start of every pass) takes the order
    `epoch_order.epoch_permutation(len(x), seed, e)`. Passes count 0, 1,
    2, ... in this dataset alone; `set_epoch(e)` makes the next pass epoch
    `e` (how a resumed run puts it back), and `get_position()` is
    `{"epoch": e}` of the pass in progress. This is the tf.data pipeline's
    order, so a run resumed at epoch `e` sees the batches an uninterrupted
    run saw. `fit` and the Trainer accept it on every backend; pass
    `shuffle=False` to them, since the dataset shuffles itself and their
    `shuffle=True` would reorder its batches with a generator that does not
    survive a restart.

    Args:
        x, y, batch_size, shuffle, seed: as for `keras_ext.data.make_pipeline`.
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size`, as
            for any `keras.utils.PyDataset`.

    Example:

    >>> import numpy as np
    >>> from keras_ext.data import ArrayBatches, pipeline
    >>> batches = ArrayBatches(np.zeros((10, 2)), np.arange(10), batch_size=4, shuffle=True, seed=0)
    >>> len(batches)
    3
    >>> batches.set_epoch(1)
    >>> batches.on_epoch_begin()
    >>> order = pipeline.epoch_permutation(10, seed=0, epoch=1)
    >>> bool((np.concatenate([batches[i][1] for i in range(3)]) == order).all())
    True
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
        self.seed = check_seed(seed)
        self._counter = PassCounter()
        self._lock = threading.Lock()
        self._order_epoch = None
        self._order = None
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

    def set_epoch(self, epoch):
        """Make the next pass (the next `on_epoch_begin`) produce epoch `epoch`'s order."""
        self._counter.set_epoch(epoch)

    def get_position(self):
        """`{"epoch": e}`: the pass in progress (None before the first)."""
        return self._counter.get_position()

    def __iter__(self):
        # A plain `for` over the dataset is one pass, as a new tf.data iterator is.
        self.on_epoch_begin()
        for index in range(len(self)):
            yield self[index]
        self.on_epoch_end()

    def on_epoch_begin(self):
        self._next_index = 0
        if self.shuffle:
            self._counter.start_pass()

    def on_epoch_end(self):
        self._next_index = 0

    def _epoch_order(self):
        # Batches read before any pass began (a model built on the first batch) take
        # the order of the pass to come.
        epoch = self._counter.epoch
        epoch = self._counter.next_epoch if epoch is None else epoch
        with self._lock:
            if epoch != self._order_epoch:
                self._order = epoch_permutation(len(self.x), self.seed, epoch)
                self._order_epoch = epoch
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
