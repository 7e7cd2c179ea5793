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
        self._rng = np.random.default_rng(seed)
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
            order = self._rng.permutation(len(self.data)) if self.shuffle else range(len(self.data))
            for index in order:
                yield unpack(self.data[int(index)], self.where, self.need_y)
            self.data.on_epoch_end()
        else:
            yield from self._array_batches()

    def _array_batches(self):
        x, y, sample_weight = self.arrays
        order = self._rng.permutation(len(x)) if self.shuffle else None
        for start in range(0, len(x), self.batch_size):
            index = slice(start, start + self.batch_size)
            if order is not None:
                index = order[index]
            yield (x[index], None if y is None else y[index],
                   None if sample_weight is None else sample_weight[index])
