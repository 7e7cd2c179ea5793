"""Where this process stands in a running job: how many processes, which one, whether it is the chief.

Read from the engine that runs the job (a `tf.distribute` strategy, or JAX's
distributed runtime), never from a scheme of keras_ext's own. The chief
(TensorFlow: the chief task, or worker 0; JAX: process 0) is the one that
writes files; every process reads.
"""

import sys
from typing import NamedTuple

import numpy as np


class ProcessRole(NamedTuple):
    processes: int
    index: int
    is_chief: bool


SINGLE = ProcessRole(processes=1, index=0, is_chief=True)


def process_role(model=None):
    """This process's role in the job training `model` (or the strategy in scope)."""
    import keras

    if keras.backend.backend() == "jax":
        if "jax" not in sys.modules:
            return SINGLE
        import jax

        return ProcessRole(jax.process_count(), jax.process_index(), jax.process_index() == 0)
    if keras.backend.backend() != "tensorflow":
        return SINGLE
    strategy = _tf_strategy(model)
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return SINGLE
    spec = resolver.cluster_spec().as_dict()
    chiefs, workers = len(spec.get("chief", [])), len(spec.get("worker", []))
    index = resolver.task_id + (chiefs if resolver.task_type == "worker" else 0)
    return ProcessRole(chiefs + workers, index, bool(strategy.extended.should_checkpoint))


def expected_role():
    """This process's role as far as it is known before training starts (no engine is started).

    The running engine's when it already runs (a multi-worker strategy in
    scope, JAX's distributed runtime initialized), else the cluster the
    environment describes (`TF_CONFIG` on TensorFlow, `KERAS_DISTRIBUTION_*`
    on JAX; a malformed one is reported where the job starts, not here),
    else a single process.
    """
    import keras

    from keras_ext.distribute import cluster_env

    backend = keras.backend.backend()
    if backend == "jax":
        # Asking jax.process_index() itself would start JAX's runtime, too early for a later
        # keras.distribution.initialize().
        is_initialized = getattr(getattr(sys.modules.get("jax"), "distributed", None), "is_initialized", None)
        if is_initialized is not None and is_initialized():
            return process_role()
        describe = cluster_env.keras_distribution_cluster
    elif backend == "tensorflow":
        role = process_role()
        if role.processes > 1:
            return role
        describe = cluster_env.tf_config_cluster
    else:
        return SINGLE
    try:
        cluster = describe()
    except ValueError:
        cluster = None
    if cluster is None:
        return SINGLE
    return ProcessRole(cluster.processes, cluster.index, cluster.is_chief)


def all_gather_int(value, model=None):
    """Every process's `value`, in process order; a barrier too (no process returns before all called).

    With one process, `[value]` without any communication.
    """
    role = process_role(model)
    if role.processes == 1:
        return [int(value)]
    import keras

    if keras.backend.backend() == "jax":
        from jax.experimental import multihost_utils

        return [int(v) for v in np.ravel(multihost_utils.process_allgather(np.asarray([value], np.int64)))]
    import tensorflow as tf

    strategy = _tf_strategy(model)
    local = tf.constant([value], tf.int64)
    per_replica = strategy.experimental_distribute_values_from_function(lambda _: local)
    gathered = strategy.gather(per_replica, axis=0).numpy()
    # One entry per replica; a process's replicas hold the same value.
    per_process = len(gathered) // role.processes
    return [int(v) for v in gathered[::per_process]]


def _tf_strategy(model):
    import tensorflow as tf

    if tf.distribute.has_strategy():
        return tf.distribute.get_strategy()
    return getattr(model, "distribute_strategy", None) or tf.distribute.get_strategy()
