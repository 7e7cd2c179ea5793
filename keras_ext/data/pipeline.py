"""tf.data pipelines over in-memory arrays."""

from keras_ext._validation import check_positive_int


def make_pipeline(x, y, batch_size, shuffle=False, seed=0):
    """Batch `(x, y)` into a prefetched tf.data pipeline, shuffled each epoch with `seed` if asked."""
    import tensorflow as tf

    batch_size = check_positive_int("batch_size", batch_size)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
