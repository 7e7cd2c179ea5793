"""The strategy for a run: the named one, checked against the environment and set up on the current backend.

`setup_strategy(name)` is what `keras-ext train --strategy NAME` does before it
builds a model, callable from Python. TensorFlow gets a `tf.distribute`
strategy (MultiWorkerMirroredStrategy must be created before TensorFlow runs
any op, so call it first); JAX gets Keras's `keras.distribution.DataParallel`,
set as the global distribution. The cluster description (TF_CONFIG,
KERAS_DISTRIBUTION_*) is checked before either engine starts, so a bad one is
a `ValueError` saying what to set, not a hang.
"""

import contextlib
import importlib.util
from typing import NamedTuple

from keras_ext.distribute.cluster_env import KERAS_VARIABLES
from keras_ext.distribute.cluster_env import keras_distribution_cluster
from keras_ext.distribute.cluster_env import tf_config_cluster
from keras_ext.distribute.strategy import check_strategy_name
from keras_ext.distribute.strategy import get_strategy


class RunStrategy(NamedTuple):
    """A strategy set up for one run, and what a training script needs to know about it.

    Returned by `setup_strategy`. Create the model, the optimizer and the
    `Trainer` (or call `model.compile`) inside `scope()`, and pass the
    global batch size.

    Attributes:
        requested: the name asked for (`"auto"`, `"default"`, `"mirrored"`
            or `"multiworker"`).
        strategy: a `tf.distribute.Strategy` on TensorFlow, a
            `keras.distribution.Distribution` on JAX (already Keras's global
            distribution), or `None` where training runs as on one device.
        replicas: how many replicas train in sync; the global batch is split
            over them.
        processes: how many processes the job has.
        index: this process's place in the job, from 0 to `processes - 1`.
        is_chief: whether this process is the one that writes files
            (TensorFlow: the chief task, or worker 0; JAX: process 0).
        use_trainer: whether to train with `keras_ext.training.Trainer`
            instead of `model.fit`: true under TensorFlow's
            MultiWorkerMirroredStrategy, where Keras's `fit` fails
            (keras-team/keras#20585).

    Example:

    >>> import keras
    >>> from keras_ext.distribute import setup_strategy
    >>> run = setup_strategy("default")
    >>> run.engine, run.replicas, run.processes, run.is_chief
    ('none', 1, 1, True)
    >>> with run.scope():
    ...     model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    """

    requested: str
    strategy: object
    replicas: int
    processes: int
    index: int
    is_chief: bool
    use_trainer: bool

    @property
    def engine(self):
        """The public name of the strategy's class, or `"none"` (TensorFlow's
        MultiWorkerMirroredStrategy is a CollectiveAllReduceStrategy inside)."""
        if self.strategy is None:
            return "none"
        return "MultiWorkerMirroredStrategy" if self.use_trainer else type(self.strategy).__name__

    def scope(self):
        """The strategy's scope (a context that does nothing when `strategy` is `None`)."""
        return contextlib.nullcontext() if self.strategy is None else self.strategy.scope()

    @property
    def whole_batches_only(self):
        """Whether every batch must split evenly over the replicas (JAX: a smaller last batch cannot)."""
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
        """Raise a `ValueError` when the global `batch_size` cannot be split evenly (JAX only)."""
        if self.whole_batches_only and batch_size % self.replicas:
            raise ValueError(
                f"batch_size={batch_size}: with {self.replicas} replicas on JAX the global batch must "
                f"be a multiple of {self.replicas}"
            )

    def summary(self, backend=None):
        """A JSON-able record of the run's distribution (`backend`: the current one when `None`)."""
        if backend is None:
            import keras

            backend = keras.backend.backend()
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


def check_cluster(name, backend=None):
    """The cluster the environment describes for strategy `name`; reads it, starts nothing.

    Args:
        name: a strategy name (`STRATEGY_NAMES`).
        backend: whose description to read: TF_CONFIG for `"tensorflow"`,
            KERAS_DISTRIBUTION_* otherwise; the current Keras backend when `None`.

    Returns:
        A `cluster_env.ClusterSpec`, or `None` when no cluster is described.

    Raises:
        ValueError: for a malformed description, or `"multiworker"` without
            one; the message says what to set.
    """
    if backend is None:
        import keras

        backend = keras.backend.backend()
    cluster = tf_config_cluster() if backend == "tensorflow" else keras_distribution_cluster()
    if name == "multiworker" and cluster is None:
        needed = "TF_CONFIG" if backend == "tensorflow" else ", ".join(KERAS_VARIABLES)
        raise ValueError(
            f"strategy 'multiworker' on the {backend} backend needs {needed} to describe the cluster "
            "and this process; none is set (see docs/distribute.md)"
        )
    return cluster


def setup_strategy(name="auto", devices=None):
    """Choose the strategy `name` stands for on the current backend, set it up, and say what it is.

    What `keras-ext train --strategy NAME` does before it builds the model:

    - TensorFlow: `get_strategy(name, devices)`; the default strategy (one
      device) becomes `strategy=None`. Call this before TensorFlow runs any
      op: MultiWorkerMirroredStrategy must be created first.
    - JAX: a `keras.distribution.DataParallel`, set as Keras's global
      distribution (`keras.distribution.set_distribution`) unless the run
      has one device in one process. Across processes Keras shards the data
      with tf.data, so `"multiworker"` needs TensorFlow installed.

    The cluster description (TF_CONFIG on TensorFlow, KERAS_DISTRIBUTION_* on
    JAX) is checked first, so a bad one raises here, before any engine starts.

    Args:
        name: `"default"`, `"mirrored"`, `"multiworker"` or `"auto"` (see
            `get_strategy`).
        devices: device names for `"mirrored"`, e.g. `["/cpu:0", "/cpu:1"]`
            (JAX: `["cpu:0", "cpu:1"]`); every local device when `None`.

    Returns:
        A `RunStrategy`: the strategy, its replicas and this process's role.

    Raises:
        ValueError: for an unknown name, a malformed cluster description,
            `"multiworker"` without one, or a multi-process JAX job without
            TensorFlow; the message says what to set or install.

    Example:

    >>> from keras_ext.distribute import setup_strategy
    >>> setup_strategy("default").summary()["strategy"]
    'none'
    """
    import keras

    check_strategy_name(name)
    backend = keras.backend.backend()
    cluster = check_cluster(name, backend)
    if backend == "jax":
        return _set_up_jax(name, cluster, devices)
    import tensorflow as tf

    strategy = get_strategy(name, devices)
    role = _role_in_scope(strategy)
    multiworker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    if not multiworker and not isinstance(strategy, tf.distribute.MirroredStrategy):
        strategy = None  # the default strategy: train exactly as without one
    return RunStrategy(
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


def _set_up_jax(name, cluster, devices):
    import keras

    from keras_ext.distribute.jax_distribution import get_distribution
    from keras_ext.distribute.jax_distribution import replicas
    from keras_ext.distribute.process_role import process_role

    if name == "multiworker" or (name == "auto" and cluster is not None and cluster.processes > 1):
        if not _tensorflow_installed():
            raise ValueError(
                "strategy 'multiworker' on JAX shards its data with tf.data (Keras requires a "
                "tf.data.Dataset there): install tensorflow-cpu, or use strategy 'mirrored'"
            )
    distribution = get_distribution(name, devices)
    count = replicas(distribution)
    role = process_role(None)
    if count == 1 and role.processes == 1:
        distribution = None  # one device: train exactly as without a distribution
    else:
        keras.distribution.set_distribution(distribution)
    return RunStrategy(name, distribution, count, role.processes, role.index, role.is_chief, False)


def _tensorflow_installed():
    """Whether TensorFlow can be imported, looked up without importing it (`keras_ext.data` has the
    same check; `distribute` does not import `data`)."""
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except ValueError:  # sys.modules["tensorflow"] = None: the import is blocked on purpose
        return False
