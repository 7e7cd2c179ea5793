"""The original TF2 example's stateful metric, counting correctly classified samples, bug fixed."""

import keras
from keras import ops


def _static_batch(tensor):
    shape = tuple(tensor.shape)
    return shape[0] if shape else None


@keras.saving.register_keras_serializable(package="keras_ext")
class CategoricalTruePositives(keras.metrics.Metric):
    """Counts the samples whose predicted class (argmax over the class axis) is the true class.

    `y_pred` holds scores (logits or probabilities) with classes on the last
    axis. `y_true` holds integer class ids, shaped like `y_pred` without its
    last axis (or with a last axis of size 1), or one-hot vectors shaped like
    `y_pred`. With `sample_weight`, each correct sample counts its weight.
    The count is kept in a variable with `aggregation="sum"`, so under
    `tf.distribute` the replicas' counts add up. `reset_state()` sets it to 0
    (Keras resets it at the start of every epoch).

    Args:
        name: metric name (default `"categorical_true_positives"`).
        dtype: dtype of the count (default float32).

    Example:

    >>> import numpy as np, keras_ext
    >>> m = keras_ext.metrics.CategoricalTruePositives()
    >>> m.update_state(np.array([0, 1, 2]), np.array([[.9, .1, 0], [.2, .8, 0], [.7, .2, .1]]))
    >>> float(m.result())
    2.0
    """

    def __init__(self, name="categorical_true_positives", dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.true_positives = self.add_variable(
            shape=(),
            initializer="zeros",
            dtype=self.dtype,
            aggregation="sum",
            name="true_positives",
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        one_hot = self._check_shapes(y_true, y_pred, sample_weight)
        pred_class = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        if one_hot:
            true_class = ops.cast(ops.argmax(y_true, axis=-1), "int32")
        else:
            true_class = ops.reshape(ops.cast(y_true, "int32"), ops.shape(pred_class))
        matches = ops.cast(ops.equal(true_class, pred_class), self.dtype)
        if sample_weight is not None:
            weight = ops.cast(ops.convert_to_tensor(sample_weight), self.dtype)
            # Accept (batch,) and (batch, 1) weights alike, as Keras metrics do.
            if len(weight.shape) == len(matches.shape) + 1 and weight.shape[-1] == 1:
                weight = ops.squeeze(weight, axis=-1)
            while len(weight.shape) < len(matches.shape):
                weight = ops.expand_dims(weight, axis=-1)
            matches = matches * ops.broadcast_to(weight, ops.shape(matches))
        self.true_positives.assign_add(ops.sum(matches))

    @staticmethod
    def _check_shapes(y_true, y_pred, sample_weight):
        """Validate shapes that are known statically; return whether `y_true` is one-hot."""
        if len(y_pred.shape) < 2:
            raise ValueError(
                "CategoricalTruePositives needs `y_pred` with classes on its last axis "
                f"(rank >= 2), got y_pred.shape={tuple(y_pred.shape)}."
            )
        batches = {"y_true": _static_batch(y_true), "y_pred": _static_batch(y_pred)}
        if sample_weight is not None:
            batches["sample_weight"] = _static_batch(ops.convert_to_tensor(sample_weight))
        known = {k: v for k, v in batches.items() if v is not None}
        if len(set(known.values())) > 1:
            raise ValueError(
                "CategoricalTruePositives got inputs of mismatched batch size: "
                + ", ".join(f"{k} has {v}" for k, v in known.items())
                + f" (y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)})."
            )
        one_hot = len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] != 1
        if one_hot and None not in (y_true.shape[-1], y_pred.shape[-1]):
            if y_true.shape[-1] != y_pred.shape[-1]:
                raise ValueError(
                    "CategoricalTruePositives: one-hot `y_true` and `y_pred` must have the same "
                    f"number of classes, got y_true.shape={tuple(y_true.shape)}, "
                    f"y_pred.shape={tuple(y_pred.shape)}."
                )
        return one_hot

    def result(self):
        # A cast reads the variable now; convert_to_tensor would hand back the
        # variable itself, and logs holding it would change on the next update.
        return ops.cast(self.true_positives, self.dtype)

    def reset_state(self):
        self.true_positives.assign(ops.zeros((), dtype=self.dtype))

    def get_config(self):
        return {**super().get_config()}
