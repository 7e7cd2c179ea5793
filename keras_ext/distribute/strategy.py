"""Pick a `tf.distribute` strategy by name, or from the environment (TF_CONFIG, GPUs)."""

import json
import os

STRATEGY_NAMES = ("auto", "default", "mirrored", "multiworker")


def cluster_workers(tf_config=None):
    """Number of workers in TF_CONFIG's cluster (0 when TF_CONFIG is unset)."""
    raw = os.environ.get("TF_CONFIG") if tf_config is None else tf_config
    if not raw:
        return 0
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        config["task"]["index"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            "TF_CONFIG must be JSON like "
            '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}}, '
            f"got TF_CONFIG={raw!r} ({error!r})."
        ) from None
    return len(workers) + len(config["cluster"].get("chief", []))


def get_strategy(name="auto", devices=None):
    """Return a TensorFlow distribution strategy.

    Args:
        name: `"default"` (no distribution), `"mirrored"` (all local GPUs, or
            `devices`), `"multiworker"` (`MultiWorkerMirroredStrategy`, from
            TF_CONFIG), or `"auto"`: multiworker when TF_CONFIG names more
            than one worker, mirrored when more than one GPU (or `devices`)
            is there, else default.
        devices: device names for `"mirrored"`, e.g. `["/cpu:0", "/cpu:1"]`.

    Create the model, optimizer and `Trainer` (or `model.compile`) inside
    `strategy.scope()`; `batch_size` is then the global batch.

    Example:

    >>> from keras_ext.distribute import get_strategy
    >>> get_strategy("default").num_replicas_in_sync
    1
    """
    import tensorflow as tf

    if name not in STRATEGY_NAMES:
        raise ValueError(f"`name` must be one of {list(STRATEGY_NAMES)}, got name={name!r}.")
    if name == "auto":
        if cluster_workers() > 1:
            name = "multiworker"
        elif devices or len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    if cluster_workers() < 1:
        raise ValueError(
            "name='multiworker' needs TF_CONFIG describing the cluster and this task; "
            "it is not set. See docs/distribute.md."
        )
    return tf.distribute.MultiWorkerMirroredStrategy()
