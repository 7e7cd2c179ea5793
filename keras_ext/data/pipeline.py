"""Shuffled, batched pipelines over in-memory arrays whose order is a function of (seed, epoch).

Exact resume needs epoch `e` to see the same batches in the same order whether
the process trained epochs 0..e-1 itself or started at `e` from a checkpoint.
TensorFlow's `shuffle(..., reshuffle_each_iteration=True)` cannot give that:
its order depends on how many times *this process* has iterated the dataset.
So a shuffled `make_pipeline` reads a process-wide epoch number (`set_epoch`)
each time an iteration starts and permutes the samples with
`epoch_permutation(num_samples, seed, epoch)`, a NumPy generator keyed by
`(seed, epoch)`. `keras_ext.callbacks.CheckpointManager` (and the keras_ext
Trainer) set it at the start of every epoch; until something sets it, each
new iteration draws a fresh order from `seed` (reproducible in a process,
like TensorFlow's reshuffling, but not resumable).

Where TensorFlow is installed the pipelines are tf.data datasets; where it is
not (a JAX-only install) they are `ArrayBatches`, a `keras.utils.PyDataset`
with the same order. Nothing here imports TensorFlow unless a tf.data
pipeline is built.
"""

import importlib.util
import math
import threading

from keras_ext._validation import check_positive_int
from keras_ext.data.array_batches import ArrayBatches
from keras_ext.data.epoch_clock import EPOCH_UNSET
from keras_ext.data.epoch_clock import add_listener
from keras_ext.data.epoch_clock import check_seed
from keras_ext.data.epoch_clock import epoch_permutation
from keras_ext.data.epoch_clock import get_epoch
from keras_ext.data.epoch_clock import reset_epoch
from keras_ext.data.epoch_clock import set_epoch
from keras_ext.data.epoch_clock import unset_permutation

__all__ = [
    "EPOCH_UNSET",
    "epoch_permutation",
    "get_epoch",
    "make_pipeline",
    "reset_epoch",
    "set_epoch",
    "tensorflow_available",
]

KINDS = ("auto", "tf.data", "pydataset")

_lock = threading.Lock()
_epoch_variable = None


def tensorflow_available():
    """Whether TensorFlow can be imported (looked up without importing it)."""
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except ValueError:  # sys.modules["tensorflow"] = None: the import is blocked on purpose
        return False


def _epoch_tf_variable():
    """A tf.Variable that follows the epoch clock, read by tf.data pipelines inside their graph."""
    global _epoch_variable
    import tensorflow as tf

    with _lock:
        if _epoch_variable is None:
            # init_scope lifts creation out of any tf.function being traced.
            with tf.init_scope():
                variable = tf.Variable(
                    EPOCH_UNSET, dtype=tf.int64, trainable=False, name="keras_ext_data_epoch"
                )
            add_listener(variable.assign)
            _epoch_variable = variable
        return _epoch_variable


def make_pipeline(x, y, batch_size, shuffle=False, seed=0, kind="auto", drop_remainder=False):
    """Batch `(x, y)` into a pipeline `fit` and the keras_ext Trainer accept on any backend.

    With `shuffle=True` the samples of every epoch are permuted by
    `epoch_permutation(len(x), seed, epoch)`, where `epoch` is what
    `set_epoch` last set (CheckpointManager sets it each epoch), so epoch
    `e` has the same batches in a fresh process as in an uninterrupted run.
    When no epoch is set, every iteration draws a new order from `seed`.
    The pipeline reports its length (number of batches) to Keras.

    Args:
        x: array of samples (first axis indexes samples).
        y: array of targets, same length as `x`.
        batch_size: positive int; the last batch may be smaller.
        shuffle: whether to shuffle the samples every epoch.
        seed: non-negative int seed of the shuffle.
        kind: `"tf.data"` (a prefetched `tf.data.Dataset`), `"pydataset"`
            (an `ArrayBatches`, a `keras.utils.PyDataset`; pass
            `shuffle=False` to `fit`) or `"auto"`: tf.data where
            TensorFlow is installed, else the PyDataset. Both give the
            same batches in the same order.
        drop_remainder: leave out the last batch of each epoch when it is
            smaller than `batch_size` (Keras's JAX distribution across
            processes needs every batch whole). The batch size stays
            readable from a tf.data pipeline's graph (the batch is its
            last transformation but prefetch), as distribution engines
            require.
    """
    if kind not in KINDS:
        raise ValueError(f"`kind` must be one of {list(KINDS)}, got kind={kind!r}.")
    batch_size = check_positive_int("batch_size", batch_size)
    seed = check_seed(seed)
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}; they must match.")
    if kind == "pydataset" or (kind == "auto" and not tensorflow_available()):
        return ArrayBatches(x, y, batch_size, shuffle=shuffle, seed=seed, drop_remainder=drop_remainder)
    return _tf_data_pipeline(x, y, batch_size, shuffle, seed, drop_remainder)


def _tf_data_pipeline(x, y, batch_size, shuffle, seed, drop_remainder):
    import tensorflow as tf

    batches = len(x) // batch_size if drop_remainder else math.ceil(len(x) / batch_size)
    if batches == 0:
        raise ValueError(
            f"drop_remainder=True with {len(x)} samples and batch_size={batch_size} leaves no batch."
        )
    if not shuffle:
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

    num_samples = len(x)
    images = tf.convert_to_tensor(x)
    labels = tf.convert_to_tensor(y)
    clock = _epoch_tf_variable()

    # One element per iteration: the epoch, read when the iteration starts.
    epoch = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)).map(lambda _: clock.read_value())
    # Fallback when no epoch is set: a number drawn afresh for every iteration.
    fresh = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)

    def order(epoch_value, fresh_value):
        # The permutation is NumPy's, so the PyDataset pipeline (no TensorFlow) matches it.
        if epoch_value >= 0:
            return epoch_permutation(num_samples, seed, int(epoch_value))
        return unset_permutation(num_samples, seed, int(fresh_value) % 2**63)

    def permuted_indices(epoch_value, fresh_value):
        indices = tf.numpy_function(order, [epoch_value, fresh_value], tf.int64, stateful=False)
        indices.set_shape([num_samples])
        return tf.data.Dataset.from_tensor_slices(indices)

    # The samples are gathered one by one and then batched, not the other way round: a
    # map after the batch would hide the batch size from tf.distribute and keras.distribution.
    ds = (
        tf.data.Dataset.zip((epoch, fresh))
        .flat_map(permuted_indices)
        .map(
            lambda index: (tf.gather(images, index), tf.gather(labels, index)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .batch(batch_size, drop_remainder=drop_remainder)
        .apply(tf.data.experimental.assert_cardinality(batches))
    )
    return ds.prefetch(tf.data.AUTOTUNE)
