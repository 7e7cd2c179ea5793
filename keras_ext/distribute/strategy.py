"""Pick a distribution strategy by name, or from the environment, on TensorFlow or JAX.

TensorFlow: a `tf.distribute` strategy (MirroredStrategy, MultiWorkerMirroredStrategy
from TF_CONFIG). JAX: Keras's own `keras.distribution.DataParallel` (see
`jax_distribution.py`). Both have a `scope()`; `replicas(strategy)` counts replicas
on either.
"""

from keras_ext.distribute.cluster_env import tf_config_cluster

STRATEGY_NAMES = ("auto", "default", "mirrored", "multiworker")


def cluster_workers(tf_config=None):
    """Number of processes (chief and workers) in TF_CONFIG's cluster; 0 when TF_CONFIG is unset.

    Raises:
        ValueError: for a malformed TF_CONFIG, saying what it should look like.
    """
    cluster = tf_config_cluster(tf_config)
    return 0 if cluster is None else cluster.processes


def check_strategy_name(name):
    """Raise a ValueError unless `name` is one of `STRATEGY_NAMES`."""
    if name not in STRATEGY_NAMES:
        raise ValueError(f"`name` must be one of {list(STRATEGY_NAMES)}, got name={name!r}.")


def get_strategy(name="auto", devices=None):
    """Return the distribution strategy `name` stands for on the current Keras backend.

    On TensorFlow a `tf.distribute.Strategy`; on JAX a
    `keras.distribution.DataParallel` (`jax_distribution.get_distribution`:
    `"multiworker"` there joins the job the `KERAS_DISTRIBUTION_*` variables
    describe). Either way, create the model inside `strategy.scope()`.

    Args:
        name: `"default"` (no distribution), `"mirrored"` (all local GPUs, or
            `devices`), `"multiworker"` (`MultiWorkerMirroredStrategy`, from
            TF_CONFIG), or `"auto"`: multiworker when TF_CONFIG names more
            than one worker, mirrored when more than one GPU (or `devices`)
            is there, else default.
        devices: device names for `"mirrored"`, e.g. `["/cpu:0", "/cpu:1"]`
            (JAX: `["cpu:0", "cpu:1"]`).

    Raises:
        ValueError: for an unknown name, or `"multiworker"` without a (valid)
            cluster description; the message says what to set.

    Create the model, optimizer and `Trainer` (or `model.compile`) inside
    `strategy.scope()`; `batch_size` is then the global batch.

    Example:

    >>> from keras_ext.distribute import get_strategy
    >>> get_strategy("default").num_replicas_in_sync
    1
    """
    import keras

    check_strategy_name(name)
    if keras.backend.backend() == "jax":
        from keras_ext.distribute.jax_distribution import get_distribution

        return get_distribution(name, devices)
    import tensorflow as tf

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


def replicas(strategy):
    """Number of replicas a strategy from `get_strategy` trains in sync, on either backend."""
    if hasattr(strategy, "num_replicas_in_sync"):
        return int(strategy.num_replicas_in_sync)
    from keras_ext.distribute.jax_distribution import replicas as jax_replicas

    return jax_replicas(strategy)
