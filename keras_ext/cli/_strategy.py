"""`keras-ext train --strategy`: the named strategy set up on the current backend, before any model.

TensorFlow gets a `tf.distribute` strategy (MultiWorkerMirroredStrategy must be
created before TensorFlow runs any op, so this runs first); JAX gets Keras's
`keras.distribution.DataParallel`, set as the global distribution. The cluster
description (TF_CONFIG, KERAS_DISTRIBUTION_*) is checked before either engine
starts, so a bad one is a usage error, not a hang.
"""

import contextlib
import re
from typing import NamedTuple

from keras_ext.cli.errors import UsageError
from keras_ext.distribute.cluster_env import KERAS_VARIABLES
from keras_ext.distribute.cluster_env import keras_distribution_cluster
from keras_ext.distribute.cluster_env import tf_config_cluster

FIT_ISSUE = "keras-team/keras#20585"


class TrainStrategy(NamedTuple):
    requested: str
    strategy: object  # a tf.distribute.Strategy, a keras.distribution.Distribution, or None
    replicas: int
    processes: int
    index: int
    is_chief: bool
    use_trainer: bool  # TensorFlow multi-worker: Keras's fit fails there

    @property
    def engine(self):
        """The public name of the strategy's class (TensorFlow's MultiWorkerMirroredStrategy is a
        CollectiveAllReduceStrategy inside)."""
        if self.strategy is None:
            return "none"
        return "MultiWorkerMirroredStrategy" if self.use_trainer else type(self.strategy).__name__

    def scope(self):
        return contextlib.nullcontext() if self.strategy is None else self.strategy.scope()

    @property
    def whole_batches_only(self):
        """JAX shards every batch evenly over the devices: a smaller last batch cannot be split."""
        return self.strategy is not None and not hasattr(self.strategy, "num_replicas_in_sync")

    def local_only(self):
        """A context in which new variables are this process's own, for work only the chief does.

        Saving a `.keras` creates a throw-away optimizer; under a JAX distribution
        across processes creating its variables is a collective (a cross-process
        check of the values), which the other processes would never join.
        """
        if not self.whole_batches_only or self.processes == 1:
            return contextlib.nullcontext()
        return _without_distribution()

    def check_batch_size(self, batch_size):
        if self.whole_batches_only and batch_size % self.replicas:
            raise UsageError(
                f"--batch-size {batch_size}: with {self.replicas} replicas on JAX the global batch must "
                f"be a multiple of {self.replicas}"
            )

    def summary(self, backend):
        return {
            "backend": backend,
            "requested": self.requested,
            "strategy": self.engine,
            "replicas": self.replicas,
            "processes": self.processes,
        }


@contextlib.contextmanager
def _without_distribution():
    import keras

    distribution = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(distribution)


def check_cluster(name, backend):
    """UsageError for a cluster description that cannot work; reads the environment, starts nothing."""
    try:
        cluster = tf_config_cluster() if backend == "tensorflow" else keras_distribution_cluster()
    except ValueError as e:
        raise UsageError(e) from None
    if name == "multiworker" and cluster is None:
        needed = "TF_CONFIG" if backend == "tensorflow" else ", ".join(KERAS_VARIABLES)
        raise UsageError(
            f"--strategy multiworker on the {backend} backend needs {needed} to describe the cluster "
            "and this process; none is set (see docs/distribute.md)"
        )
    return cluster


def set_up(name, backend):
    """Create the strategy `name` stands for; call before the model (and on TensorFlow, before any op)."""
    cluster = check_cluster(name, backend)
    if backend == "jax":
        return _set_up_jax(name, cluster)
    import tensorflow as tf

    from keras_ext.distribute import get_strategy

    strategy = get_strategy(name)
    role = _role_in_scope(strategy)
    multiworker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    if not multiworker and not isinstance(strategy, tf.distribute.MirroredStrategy):
        strategy = None  # the default strategy: train exactly as without one
    return TrainStrategy(
        name,
        strategy,
        1 if strategy is None else int(strategy.num_replicas_in_sync),
        role.processes,
        role.index,
        role.is_chief,
        use_trainer=multiworker,
    )


def _role_in_scope(strategy):
    from keras_ext.distribute.process_role import process_role

    with strategy.scope():
        return process_role(None)


def _set_up_jax(name, cluster):
    import keras

    from keras_ext.distribute.jax_distribution import get_distribution
    from keras_ext.distribute.jax_distribution import replicas
    from keras_ext.distribute.process_role import process_role

    if name == "multiworker" or (name == "auto" and cluster is not None and cluster.processes > 1):
        from keras_ext.data.pipeline import tensorflow_available

        if not tensorflow_available():
            raise UsageError(
                "--strategy multiworker on JAX shards its data with tf.data (Keras requires a "
                "tf.data.Dataset there): install tensorflow-cpu, or use --strategy mirrored"
            )
    distribution = get_distribution(name)
    count = replicas(distribution)
    role = process_role(None)
    if count == 1 and role.processes == 1:
        distribution = None  # one device: train exactly as without a distribution
    else:
        keras.distribution.set_distribution(distribution)
    return TrainStrategy(name, distribution, count, role.processes, role.index, role.is_chief, False)


def lost_peer_message(error, setup, checkpoint_dir):
    """One line for a training step that failed because the job lost a process: which peer, and
    what to do (restart every process; with a checkpoint directory they resume)."""
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", str(error))  # TensorFlow's graph function names
    peers = [name for name in _task_names(text) if name != _own_task_name(setup)]
    peer = ", ".join(peers) if peers else "another process of the job"
    detail = " ".join(text.split())[:300]
    resume = (
        f"; they resume from the newest checkpoint in {checkpoint_dir}"
        if checkpoint_dir
        else " (pass --checkpoint-dir to resume instead of starting over)"
    )
    return (
        f"process {setup.index} of {setup.processes} lost contact with {peer}; restart every process of "
        f"the job{resume}. The engine said: {type(error).__name__}: {detail}"
    )


def _task_names(text):
    """TensorFlow task names in an error message, as /job:NAME/task:N, in order of appearance."""
    names = []
    for job, index in re.findall(r"/job:(\w+)(?:/replica:\d+)?/task:(\d+)", text):
        name = f"/job:{job}/task:{index}"
        if name not in names:
            names.append(name)
    return names


def _own_task_name(setup):
    import json
    import os

    try:
        task = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {})
        return f"/job:{task['type']}/task:{task['index']}"
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def engine_errors(backend):
    """The exception types a collective raises when a peer is gone."""
    if backend == "jax":
        import jax

        return (jax.errors.JaxRuntimeError,)
    import tensorflow as tf

    return (tf.errors.OpError,)
