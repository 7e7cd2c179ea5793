"""tf.data pipelines over in-memory arrays, with a shuffle order that is a function of (seed, epoch).

Exact resume needs epoch `e` to see the same batches in the same order whether
the process trained epochs 0..e-1 itself or started at `e` from a checkpoint.
TensorFlow's `shuffle(..., reshuffle_each_iteration=True)` cannot give that:
its order depends on how many times *this process* has iterated the dataset.
So a shuffled `make_pipeline` reads a process-wide epoch number (`set_epoch`)
each time an iteration starts and permutes the samples with a stateless RNG
keyed by `(seed, epoch)`. `keras_ext.callbacks.CheckpointManager` (and the
keras_ext Trainer) set it at the start of every epoch; until something sets
it, each new iteration draws a fresh order from `seed` (reproducible in a
process, like TensorFlow's reshuffling, but not resumable).
"""

import math
import threading

from keras_ext._validation import check_positive_int

EPOCH_UNSET = -1

_lock = threading.Lock()
_epoch_variable = None


def _epoch_clock():
    """The tf.Variable all shuffled pipelines read their epoch from (created on first use)."""
    global _epoch_variable
    import tensorflow as tf

    with _lock:
        if _epoch_variable is None:
            # init_scope lifts creation out of any tf.function being traced.
            with tf.init_scope():
                _epoch_variable = tf.Variable(
                    EPOCH_UNSET, dtype=tf.int64, trainable=False, name="keras_ext_data_epoch"
                )
        return _epoch_variable


def set_epoch(epoch):
    """Make shuffled pipelines produce epoch `epoch`'s order on their next iteration.

    Call it before iterating the dataset for that epoch (Keras `fit` starts
    iterating after `on_epoch_begin`). `None` or `EPOCH_UNSET` returns to
    per-iteration reshuffling.
    """
    if epoch is None:
        epoch = EPOCH_UNSET
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < EPOCH_UNSET:
        raise ValueError(f"`epoch` must be a non-negative int or None, got epoch={epoch!r}.")
    _epoch_clock().assign(epoch)


def get_epoch():
    """The epoch shuffled pipelines will produce next, or None when unset."""
    if _epoch_variable is None:
        return None
    value = int(_epoch_variable.numpy())
    return None if value == EPOCH_UNSET else value


def reset_epoch():
    """Return shuffled pipelines to per-iteration reshuffling (what `set_epoch(None)` does)."""
    if _epoch_variable is not None:
        _epoch_variable.assign(EPOCH_UNSET)


def epoch_permutation(num_samples, seed, epoch):
    """The sample order of `epoch` for `seed`, as a NumPy array (what the pipeline uses)."""
    import tensorflow as tf

    keys = tf.random.stateless_uniform([num_samples], seed=tf.constant([seed, epoch], tf.int64))
    return tf.argsort(keys).numpy()


def make_pipeline(x, y, batch_size, shuffle=False, seed=0):
    """Batch `(x, y)` into a prefetched tf.data pipeline.

    With `shuffle=True` the samples of every epoch are permuted by a
    stateless RNG keyed by `(seed, epoch)`, where `epoch` is what
    `set_epoch` last set (CheckpointManager sets it each epoch), so epoch
    `e` has the same batches in a fresh process as in an uninterrupted run.
    When no epoch is set, every iteration draws a new order from `seed`.
    The pipeline reports its length (number of batches) to Keras.

    Args:
        x: array of samples (first axis indexes samples).
        y: array of targets, same length as `x`.
        batch_size: positive int; the last batch may be smaller.
        shuffle: whether to shuffle the samples every epoch.
        seed: int seed of the shuffle.
    """
    import tensorflow as tf

    batch_size = check_positive_int("batch_size", batch_size)
    if not shuffle:
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    num_samples = len(x)
    if len(y) != num_samples:
        raise ValueError(f"x has {num_samples} samples but y has {len(y)}; they must match.")
    seed = int(seed)
    images = tf.convert_to_tensor(x)
    labels = tf.convert_to_tensor(y)
    clock = _epoch_clock()

    # One element per iteration: the epoch, read when the iteration starts.
    epoch = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)).map(lambda _: clock.read_value())
    # Fallback when no epoch is set: a number drawn afresh for every iteration.
    fresh = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)

    def stateless_seed(epoch_value, fresh_value):
        is_set = epoch_value >= 0
        # The second component is >= 0 for epoch keys and < 0 for fallback keys,
        # so the two kinds of order can never coincide.
        return tf.stack([
            tf.where(is_set, tf.constant(seed, tf.int64), fresh_value),
            tf.where(is_set, epoch_value, tf.constant(-1 - abs(seed), tf.int64)),
        ])

    def permuted_indices(key):
        keys = tf.random.stateless_uniform([num_samples], seed=key)
        return tf.data.Dataset.from_tensor_slices(tf.argsort(keys))

    ds = (
        tf.data.Dataset.zip((epoch, fresh))
        .map(stateless_seed)
        .flat_map(permuted_indices)
        .batch(batch_size)
        .map(lambda index: (tf.gather(images, index), tf.gather(labels, index)))
        .apply(tf.data.experimental.assert_cardinality(math.ceil(num_samples / batch_size)))
    )
    return ds.prefetch(tf.data.AUTOTUNE)
