"""Make layers kept in Python lists visible to TensorFlow's object graph (`tf.train.Checkpoint`)."""


def expose_to_tf_checkpoint(model, prefix, layers):
    """Also hold each of `layers` as the attribute `_<prefix>_<i>` of `model`.

    Keras 3 wraps a list attribute in its own `TrackedList`, which Keras's
    `.keras` saving walks but TensorFlow's object graph does not: a
    `tf.train.Checkpoint(model=model)` then holds only the model's other
    attributes and restores "successfully" with the listed layers left as
    they were. TensorFlow tracks a layer assigned to a plain attribute, so
    each listed layer is assigned once more. Keras's own tracking keys on
    the object, so `model.layers`, `model.weights` and their order are
    unchanged; the names start with `_` because `.keras` saving visits
    private attributes last, after the list has saved every layer under its
    old path, so files saved before keep loading. On JAX the attributes
    are plain references.
    """
    for i, layer in enumerate(layers):
        setattr(model, f"_{prefix}_{i}", layer)
