"""Shuffled, batched pipelines over in-memory arrays whose order is a function of (seed, epoch).

Exact resume needs epoch `e` to see the same batches in the same order whether
the process trained epochs 0..e-1 itself or started at `e` from a checkpoint.
TensorFlow's `shuffle(..., reshuffle_each_iteration=True)` cannot give that:
its order depends on how many times *this process* has iterated the dataset,
and nothing can set it back. So a shuffled `make_pipeline` counts its own
passes (a `PassCounter` of its own: no state is shared between pipelines or
kept in the process) and permutes the samples of pass `e` with
`epoch_permutation(num_samples, seed, e)`. A loop that resumes a run sets
the count back with the pipeline's `set_epoch(e)` (CheckpointManager does it
for the pipelines given as its `data`, the Trainer for its `x`); the
position it saves is `get_position()`.

Where TensorFlow is installed the pipelines are tf.data datasets; where it is
not (a JAX-only install) they are `ArrayBatches`, a `keras.utils.PyDataset`
with the same order. Nothing here imports TensorFlow unless a tf.data
pipeline is built.
"""

import importlib.util
import math

from keras_ext._validation import check_positive_int
from keras_ext.data.array_batches import ArrayBatches
from keras_ext.data.epoch_order import check_seed
from keras_ext.data.epoch_order import epoch_permutation
from keras_ext.data.pass_counter import PassCounter

__all__ = ["epoch_permutation", "make_pipeline", "tensorflow_available"]

KINDS = ("auto", "tf.data", "pydataset")


def tensorflow_available():
    """Whether TensorFlow can be imported (looked up without importing it)."""
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except ValueError:  # sys.modules["tensorflow"] = None: the import is blocked on purpose
        return False


def make_pipeline(x, y, batch_size, shuffle=False, seed=0, kind="auto", drop_remainder=False):
    """Batch `(x, y)` into a pipeline `fit` and the keras_ext Trainer accept on any backend.

    With `shuffle=True` the samples of pass `e` over the data are permuted
    by `epoch_permutation(len(x), seed, e)`: passes count 0, 1, 2, ... in
    the pipeline itself, and `set_epoch(e)` makes the next pass epoch `e`
    (how a resumed run puts the pipeline back where it was). So a run
    gets the same batches with or without a checkpointer, and a resumed
    one the batches it would have had. The pipeline reports its length
    (number of batches) to Keras, and has `set_epoch(epoch)` and
    `get_position()` (`{"epoch": e}`, the pass in progress) whatever its
    kind.

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
    counter = PassCounter()
    if not shuffle:
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
        return _with_position(ds, counter)

    num_samples = len(x)
    images = tf.convert_to_tensor(x)
    labels = tf.convert_to_tensor(y)

    def order(_):
        # Runs once per pass, when its iterator is first read. The permutation is
        # NumPy's, so the PyDataset pipeline (no TensorFlow) matches it.
        return epoch_permutation(num_samples, seed, counter.start_pass())

    def permuted_indices(start):
        indices = tf.numpy_function(order, [start], tf.int64, stateful=True)
        indices.set_shape([num_samples])
        return tf.data.Dataset.from_tensor_slices(indices)

    # The samples are gathered one by one and then batched, not the other way round: a
    # map after the batch would hide the batch size from tf.distribute and keras.distribution.
    ds = (
        tf.data.Dataset.from_tensors(tf.constant(0, tf.int64))
        .flat_map(permuted_indices)
        .map(
            lambda index: (tf.gather(images, index), tf.gather(labels, index)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .batch(batch_size, drop_remainder=drop_remainder)
        .apply(tf.data.experimental.assert_cardinality(batches))
    )
    return _with_position(ds.prefetch(tf.data.AUTOTUNE), counter)


def _with_position(ds, counter):
    """Give a tf.data pipeline the position methods every keras_ext pipeline has."""
    ds.set_epoch = counter.set_epoch
    ds.get_position = counter.get_position
    return ds
