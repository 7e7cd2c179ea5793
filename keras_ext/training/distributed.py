"""Feed a `tf.distribute` strategy: every batch split across the replicas in sync."""

import tensorflow as tf

from keras_ext.training.batches import unpack


def distributed_batches(strategy, source):
    """Yield (x, y, sample_weight) of per-replica values for one epoch of `source`."""
    for element in distributed_dataset(strategy, source):
        yield unpack(element, source.where, source.need_y)


def distributed_dataset(strategy, source):
    """One epoch of `source` as a distributed dataset.

    A tf.data source is distributed as it is; arrays are batched at their
    global batch size (`batch_size` is the global batch, as in `model.fit`).
    """
    if source.kind == "dataset":
        dataset = source.data
    elif source.kind == "arrays":
        arrays = [a for a in _whole_epoch(source) if a is not None]
        dataset = tf.data.Dataset.from_tensor_slices(tuple(arrays)).batch(source.batch_size)
    else:
        raise ValueError(
            "Under a tf.distribute strategy the Trainer takes arrays or a tf.data.Dataset; "
            "got a keras.utils.PyDataset."
        )
    return strategy.experimental_distribute_dataset(dataset)


def _whole_epoch(source):
    """The source's arrays in this epoch's order (shuffled when the source shuffles)."""
    x, y, sample_weight = source.arrays
    order = source.permutation(len(x)) if source.shuffle else slice(None)
    return tuple(None if a is None else a[order] for a in (x, y, sample_weight))
