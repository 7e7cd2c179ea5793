"""Turn what users pass to `fit` (arrays, tf.data, PyDataset) into per-epoch batch iterators."""

import math

import keras
import numpy as np

from keras_ext._validation import check_positive_int


def _is_tf_dataset(x):
    try:
        import tensorflow as tf
    except ImportError:
        return False
    return isinstance(x, tf.data.Dataset)


def unpack(element, where, need_y=True):
    """Split a data element into (x, y, sample_weight), with a clear error for other structures."""
    if isinstance(element, (tuple, list)) and 1 <= len(element) <= 3:
        x, y, sample_weight = (*element, None, None)[:3]
        if x is not None and (y is not None or not need_y):
            return x, y, sample_weight
    elif not need_y and not isinstance(element, (tuple, list)):
        return element, None, None
    structure = _describe(element)
    raise ValueError(
        f"{where} must yield (x, y) or (x, y, sample_weight) tuples, got an element of "
        f"structure {structure}."
    )


def _describe(element):
    if isinstance(element, (tuple, list)):
        return f"{type(element).__name__} of {len(element)}: (" + ", ".join(
            _describe(e) for e in element
        ) + ")"
    if isinstance(element, dict):
        return "dict with keys " + str(sorted(element))
    shape = getattr(element, "shape", None)
    return f"{type(element).__name__}{'' if shape is None else tuple(shape)}"


class BatchSource:
    """Iterable of epochs: `epoch_batches(epoch)` yields (x, y, sample_weight) batches.

    Arrays are sliced into batches (reshuffled per epoch when `shuffle`);
    a tf.data Dataset is iterated as it is (it shuffles itself); a
    `keras.utils.PyDataset` is indexed (in shuffled batch order when
    `shuffle`) and told `on_epoch_end()`.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False,
                 need_y=True, where="x", seed=None):
        self.need_y = need_y
        self.where = where
        self.shuffle = shuffle
        # The shuffle order of epoch e is a function of (seed, e), so a run
        # resumed at epoch e in a new process sees the batches it would have seen.
        self.seed = int(np.random.default_rng().integers(2**31)) if seed is None else int(seed)
        self.epoch = 0
        if _is_tf_dataset(x) or isinstance(x, keras.utils.PyDataset):
            if y is not None or sample_weight is not None:
                raise ValueError(
                    f"When {where} is a dataset it must carry the targets: pass y=None and "
                    f"sample_weight=None (got y of type {type(y).__name__})."
                )
            self.kind = "dataset" if _is_tf_dataset(x) else "pydataset"
            self.data = x
            self.num_batches = self._dataset_length(x)
            return
        if isinstance(x, (tuple, list, dict)):
            raise ValueError(
                f"{where}: pass inputs as a NumPy array or tensor, a tf.data.Dataset or a "
                f"keras.utils.PyDataset, got {_describe(x)}."
            )
        self.kind = "arrays"
        self.batch_size = check_positive_int("batch_size", 32 if batch_size is None else batch_size)
        self.arrays = [np.asarray(x), None if y is None else np.asarray(y),
                       None if sample_weight is None else np.asarray(sample_weight)]
        if need_y and y is None:
            raise ValueError(f"{where}: targets `y` are required, got y=None.")
        n = len(self.arrays[0])
        for name, array in zip(("y", "sample_weight"), self.arrays[1:]):
            if array is not None and len(array) != n:
                raise ValueError(
                    f"{where}: x has {n} samples but {name} has {len(array)}; they must match."
                )
        self.num_batches = math.ceil(n / self.batch_size)

    def set_epoch(self, epoch):
        """Select the epoch whose order the next `epoch_batches()` yields (None: after training).

        For a tf.data source it also sets keras_ext.data's epoch clock, which
        keras_ext's shuffled pipelines read (see `keras_ext.data.pipeline`).
        """
        if epoch is not None:
            self.epoch = epoch
        if self.kind == "dataset":
            from keras_ext.data import pipeline

            pipeline.set_epoch(epoch)

    def permutation(self, count):
        """This epoch's order of `count` items."""
        return np.random.default_rng([self.seed, self.epoch]).permutation(count)

    def example_batch(self):
        """One batch shaped like the data, read without iterating the source.

        Iterating a tf.data pipeline can advance its shuffling, so its batch
        is made of zeros from `element_spec` (a None batch axis taken as 1);
        None when another axis is unknown (the model is then built on the
        first real batch).
        """
        if self.kind == "arrays":
            return tuple(None if a is None else a[: self.batch_size] for a in self.arrays)
        if self.kind == "pydataset":
            return unpack(self.data[0], self.where, self.need_y)
        import tensorflow as tf

        specs = tf.nest.flatten(self.data.element_spec)
        if any(None in tuple(spec.shape)[1:] for spec in specs):
            return None

        def zeros(spec):
            shape = [1 if d is None else d for d in spec.shape]
            return tf.zeros(shape, spec.dtype)

        return unpack(tf.nest.map_structure(zeros, self.data.element_spec), self.where, self.need_y)

    @staticmethod
    def _dataset_length(data):
        if isinstance(data, keras.utils.PyDataset):
            return len(data)
        cardinality = int(data.cardinality())
        return cardinality if cardinality >= 0 else None

    def epoch_batches(self):
        if self.kind == "dataset":
            for element in self.data:
                yield unpack(element, self.where, self.need_y)
        elif self.kind == "pydataset":
            # As in `fit`, `shuffle` shuffles the order of a PyDataset's batches.
            order = self.permutation(len(self.data)) if self.shuffle else range(len(self.data))
            for index in order:
                yield unpack(self.data[int(index)], self.where, self.need_y)
            self.data.on_epoch_end()
        else:
            yield from self._array_batches()

    def _array_batches(self):
        x, y, sample_weight = self.arrays
        order = self.permutation(len(x)) if self.shuffle else None
        for start in range(0, len(x), self.batch_size):
            index = slice(start, start + self.batch_size)
            if order is not None:
                index = order[index]
            yield (x[index], None if y is None else y[index],
                   None if sample_weight is None else sample_weight[index])
