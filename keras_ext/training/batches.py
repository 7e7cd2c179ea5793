"""Turn what users pass to `fit` (arrays, tf.data, PyDataset) into per-epoch batch iterators."""

import math

import keras
import numpy as np

from keras_ext._progress import is_grain_dataset
from keras_ext._validation import check_positive_int
from keras_ext._validation import check_rate
from keras_ext.training.batch_run import BatchRun


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
        f"{where} must yield (x, y) or (x, y, sample_weight) tuples, got an element of structure {structure}."
    )


def _describe(element):
    if isinstance(element, (tuple, list)):
        return (
            f"{type(element).__name__} of {len(element)}: (" + ", ".join(_describe(e) for e in element) + ")"
        )
    if isinstance(element, dict):
        return "dict with keys " + str(sorted(element))
    shape = getattr(element, "shape", None)
    return f"{type(element).__name__}{'' if shape is None else tuple(shape)}"


class BatchSource:
    """Iterable of epochs: `epoch_batches(epoch)` yields (x, y, sample_weight) batches.

    Arrays are sliced into batches (reshuffled per epoch when `shuffle`);
    a tf.data Dataset or a Grain dataset is iterated as it is (it shuffles
    itself); a
    `keras.utils.PyDataset` is indexed (in shuffled batch order when
    `shuffle`) and told `on_epoch_end()`.
    """

    def __init__(
        self,
        x,
        y=None,
        sample_weight=None,
        batch_size=None,
        shuffle=False,
        need_y=True,
        where="x",
        seed=None,
        class_weight=None,
    ):
        self.need_y = need_y
        self.class_weight = check_class_weight(class_weight)
        self.where = where
        self.shuffle = shuffle
        # The shuffle order of epoch e is a function of (seed, e), so a run
        # resumed at epoch e in a new process sees the batches it would have seen.
        self.seed = int(np.random.default_rng().integers(2**31)) if seed is None else int(seed)
        self.epoch = 0
        if _is_tf_dataset(x) or isinstance(x, keras.utils.PyDataset) or is_grain_dataset(x):
            if y is not None or sample_weight is not None:
                raise ValueError(
                    f"When {where} is a dataset it must carry the targets: pass y=None and "
                    f"sample_weight=None (got y of type {type(y).__name__})."
                )
            self.kind = (
                "dataset"
                if _is_tf_dataset(x)
                else "pydataset"
                if isinstance(x, keras.utils.PyDataset)
                else "grain"
            )
            self.pipeline = x  # the user's object, whose position the loop keeps
            if self.kind == "dataset" and self.class_weight is not None:
                x = x.map(_class_weight_map_fn(self.class_weight, where))
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
        self.arrays = [
            np.asarray(x),
            None if y is None else np.asarray(y),
            None if sample_weight is None else np.asarray(sample_weight),
        ]
        if need_y and y is None:
            raise ValueError(f"{where}: targets `y` are required, got y=None.")
        if self.class_weight is not None:
            if sample_weight is not None:
                raise ValueError("Pass `class_weight` or `sample_weight`, not both (as in `fit`).")
            self.arrays[2] = class_weight_to_sample_weight(self.arrays[1], self.class_weight)
        n = len(self.arrays[0])
        for name, array in zip(("y", "sample_weight"), self.arrays[1:], strict=True):
            if array is not None and len(array) != n:
                raise ValueError(f"{where}: x has {n} samples but {name} has {len(array)}; they must match.")
        self.num_batches = math.ceil(n / self.batch_size)

    def set_epoch(self, epoch):
        """Select the epoch whose order the next `epoch_batches()` yields (arrays, and a
        PyDataset's batch order with `shuffle`). A dataset's own order is kept in step
        by the loop's progress record, not here."""
        self.epoch = epoch

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
        if self.kind == "pydataset" or (self.kind == "grain" and hasattr(self.data, "__getitem__")):
            return unpack(self.data[0], self.where, self.need_y)
        if self.kind == "grain":
            return None  # an IterDataset or DataLoader: the model is built on the first batch
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
        if is_grain_dataset(data):
            try:
                return len(data)
            except TypeError:  # an IterDataset or DataLoader has no length
                return None
        cardinality = int(data.cardinality())
        return cardinality if cardinality >= 0 else None

    def epoch_batches(self):
        if self.kind in ("dataset", "grain"):
            # A new iterator per epoch, as fit makes: a Grain dataset's order is then
            # the same function of its seed in every pass and in every process.
            for element in self.data:
                batch = unpack(element, self.where, self.need_y)
                # tf.data carries class weights in a map of its own (see __init__).
                yield batch if self.kind == "dataset" else self._weighted(batch)
        elif self.kind == "pydataset":
            # As in `fit`, `shuffle` shuffles the order of a PyDataset's batches.
            order = self.permutation(len(self.data)) if self.shuffle else range(len(self.data))
            # As Keras's adapter does: a pass starts with on_epoch_begin (keras_ext's
            # pipelines count their passes there).
            getattr(self.data, "on_epoch_begin", lambda: None)()
            for index in order:
                yield self._weighted(unpack(self.data[int(index)], self.where, self.need_y))
            self.data.on_epoch_end()
        else:
            yield from self._array_batches()

    def _weighted(self, batch):
        """A PyDataset batch with `class_weight` turned into its sample weights."""
        if self.class_weight is None:
            return batch
        x, y, sample_weight = batch
        if sample_weight is not None:
            raise ValueError("Pass `class_weight` or a dataset that yields sample weights, not both.")
        return x, y, class_weight_to_sample_weight(y, self.class_weight)

    def epoch_runs(self, size, skip=0, steps=None):
        """Yield (first_step, runs) per group of `size` consecutive batches (fewer at the end).

        One group is one execution of `steps_per_execution` steps, as a list
        of `BatchRun`s of same-shaped batches (the uneven last batch is a run
        of its own). Group k starts at step `skip + k * size`, as `fit`
        numbers them. The first `skip` batches are dropped (already trained
        before a resume), and at most `steps` batches of the epoch are
        yielded.
        """
        if self.kind == "arrays":
            yield from self._array_runs(size, skip, steps)
            return
        group, first = [], skip
        for step, batch in enumerate(self.epoch_batches()):
            if steps is not None and step >= steps:
                break
            if step < skip:
                continue
            group.append(batch)
            if len(group) == size:
                yield first, [BatchRun(run) for run in same_shape_runs(group)]
                group, first = [], step + 1
        if group:
            yield first, [BatchRun(run) for run in same_shape_runs(group)]

    def _array_runs(self, size, skip, steps):
        """`epoch_runs` for arrays: each execution's whole batches gathered as one stack.

        The same samples in the same order as `_array_batches` (both index with
        `_rows` and `_take`), taken with one index per execution instead of one
        per batch.
        """
        x = self.arrays[0]
        n, batch_size = len(x), self.batch_size
        whole = n // batch_size  # batches of batch_size; an uneven last one follows
        last = self.num_batches if steps is None else min(steps, self.num_batches)
        order = self.permutation(n) if self.shuffle else None
        for first in range(skip, last, size):
            end = min(first + size, last)
            runs = []
            count = min(end, whole) - first  # whole batches in this execution
            if count > 0:
                rows = self._rows(order, first * batch_size, (first + count) * batch_size)
                runs.append(BatchRun(stacked=self._take(rows, (count, batch_size))))
            if end > whole:  # the uneven last batch, alone
                rows = self._rows(order, whole * batch_size, n)
                runs.append(BatchRun([self._take(rows)]))
            yield first, runs

    @staticmethod
    def _rows(order, start, stop):
        return slice(start, stop) if order is None else order[start:stop]

    def _take(self, rows, leading=None):
        """The arrays' `rows` (a slice is a view), reshaped to `leading + sample shape` if given."""
        return tuple(
            None if a is None else (a[rows] if leading is None else a[rows].reshape(*leading, *a.shape[1:]))
            for a in self.arrays
        )

    def _array_batches(self):
        n = len(self.arrays[0])
        order = self.permutation(n) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            yield self._take(self._rows(order, start, start + self.batch_size))


def same_shape_runs(batches):
    """Split consecutive batches into runs of one shape (the uneven last batch runs alone)."""
    runs = []
    for batch in batches:
        if runs and _shapes(batch) == _shapes(runs[-1][0]):
            runs[-1].append(batch)
        else:
            runs.append([batch])
    return runs


def _shapes(batch):
    return tuple(None if a is None else tuple(a.shape) for a in batch)


def check_class_weight(class_weight):
    """Return `class_weight` (None or a dict of int class -> float weight), else raise ValueError."""
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict) or not class_weight:
        raise ValueError(
            "`class_weight` must be a non-empty dict mapping class indices to weights, "
            f"got class_weight={class_weight!r}."
        )
    for key, value in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or key < 0:
            raise ValueError(
                f"`class_weight` keys must be class indices (ints >= 0), got class_weight={class_weight!r}."
            )
        if isinstance(value, bool) or not np.isscalar(value) or not np.isfinite(float(value)):
            raise ValueError(
                f"`class_weight` values must be finite numbers, got class_weight={class_weight!r}."
            )
    return class_weight


def _label_classes(y):
    """Class index per sample, read from labels as `fit` reads them (integer, (n, 1) or one-hot)."""
    y = np.asarray(y)
    if y.ndim > 1:
        y = np.argmax(y, axis=-1) if y.shape[-1] != 1 else np.squeeze(y, axis=-1)
    return np.round(y).astype("int64")


def class_weight_to_sample_weight(y, class_weight):
    """Each sample's weight is its class's weight (1.0 for a class not in the dict), as in `fit`."""
    classes = _label_classes(keras.ops.convert_to_numpy(y))
    weights = np.array([float(class_weight.get(int(c), 1.0)) for c in classes], dtype=keras.config.floatx())
    return weights


def _class_weight_map_fn(class_weight, where):
    import tensorflow as tf

    table = tf.constant(
        [float(class_weight.get(c, 1.0)) for c in range(max(class_weight) + 1)], dtype=keras.config.floatx()
    )

    def apply(*element):
        x, y, sample_weight = unpack(element, where)
        if sample_weight is not None:
            raise ValueError("Pass `class_weight` or a dataset that yields sample weights, not both.")
        if y.shape.rank >= 2 and y.shape[-1] != 1:
            classes = tf.argmax(y, axis=-1, output_type=tf.int32)
        else:
            classes = tf.cast(tf.round(tf.reshape(y, tf.shape(y)[:1])), tf.int32)
        # Classes beyond the dict's largest key weigh 1.0, as in `fit`'s NumPy path.
        inside = classes < tf.shape(table)[0]
        weights = tf.where(inside, tf.gather(table, tf.minimum(classes, tf.shape(table)[0] - 1)), 1.0)
        return x, y, weights

    return apply


def validation_split_arrays(x, y, sample_weight, validation_split):
    """Split arrays into (training, validation) triples: the last `validation_split` is validation.

    As in `fit`: the split is taken before any shuffling, from the end.
    """
    validation_split = check_rate("validation_split", validation_split)
    if _is_tf_dataset(x) or isinstance(x, keras.utils.PyDataset) or not hasattr(x, "shape"):
        raise ValueError(
            "`validation_split` works with arrays only (as in `fit`); pass `validation_data` "
            f"for a {type(x).__name__}, got validation_split={validation_split!r}."
        )
    n = len(x)
    split_at = int(np.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"{n} samples cannot be split into training and validation sets with "
            f"validation_split={validation_split!r}: pass more data or another fraction."
        )
    arrays = (x, y, sample_weight)
    return (
        tuple(None if a is None else a[:split_at] for a in arrays),
        tuple(None if a is None else a[split_at:] for a in arrays),
    )
