"""Which way is better for a monitored metric: the one rule CheckpointManager, ReduceLROnPlateau and the tuner share.

Keras keeps this question in one place too (keras/src/callbacks/monitor_callback.py).
"""

import math

MODES = ("auto", "min", "max")

# Name fragments, checked on the name without its `val_` prefix. Lower-is-better
# first, so `accuracy_loss` is a loss.
_LOWER_IS_BETTER = (
    "loss",
    "error",
    "mse",
    "mae",
    "mape",
    "msle",
    "hinge",
    "crossentropy",
    "divergence",
    "poisson",
    "logcosh",
)
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "true_positives", "iou", "similarity")


def metric_direction(monitor, mode="auto", metrics=()):
    """`"min"` or `"max"` for metric name `monitor`, or None when it cannot be told.

    `mode` other than `"auto"` wins. Otherwise: a name containing a
    loss/error word is minimised; a compiled metric of that name that
    declares its direction (Keras's accuracy metrics do) decides next; then
    accuracy-like words (`acc`, `auc`, `precision`, `true_positives`, ...)
    mean maximise.
    """
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {list(MODES)}, got mode={mode!r}.")
    if mode != "auto":
        return mode
    name = monitor[len("val_") :] if monitor.startswith("val_") else monitor
    if any(word in name for word in _LOWER_IS_BETTER):
        return "min"
    from keras_ext import _keras_internals

    for metric in metrics:
        if getattr(metric, "name", None) == name:
            declared = _keras_internals.metric_direction(metric)
            if declared is not None:
                return declared
    if any(word in name for word in _HIGHER_IS_BETTER):
        return "max"
    return None


def compiled_metrics(model):
    """The model's compiled metrics, flattened out of Keras's CompileMetrics container."""
    found = []
    for metric in getattr(model, "metrics", []) or []:
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, (list, tuple)):
            found.extend(inner)
        else:
            found.append(metric)
    return found


def is_better(value, best, direction, min_delta=0.0):
    """Whether `value` improves on `best` by more than `min_delta` (any finite value beats None)."""
    if value is None or not math.isfinite(value):
        return False
    if best is None:
        return True
    if direction == "max":
        return value - min_delta > best
    return value + min_delta < best


def ranked(scores, direction):
    """Keys of `{key: score}` with a finite score, best first (ties: the smaller key first)."""
    valid = [
        (score, key)
        for key, score in scores.items()
        if isinstance(score, (int, float)) and math.isfinite(score)
    ]
    sign = -1.0 if direction == "max" else 1.0
    return [key for score, key in sorted(valid, key=lambda item: (sign * item[0], item[1]))]
