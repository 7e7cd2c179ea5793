"""Keras's own `keras.distribution` for the JAX backend: DataParallel over local or all processes' devices."""

from keras_ext.distribute.cluster_env import KERAS_VARIABLES
from keras_ext.distribute.cluster_env import keras_distribution_cluster


def get_distribution(name="auto", devices=None):
    """Return a `keras.distribution.DataParallel` for a strategy name (JAX backend).

    - `"default"`: one device (the first), so training runs as without a distribution.
    - `"mirrored"`: every local device (or `devices`, e.g. `["cpu:0", "cpu:1"]`);
      `XLA_FLAGS=--xla_force_host_platform_device_count=2` gives a CPU two.
    - `"multiworker"`: joins the job the `KERAS_DISTRIBUTION_*` variables
      describe (`keras.distribution.initialize`, on CPU with gloo collectives),
      then spreads over every process's devices.
    - `"auto"`: multiworker when those variables name more than one process,
      mirrored with more than one local device, else default.

    Pass the distribution to `keras.distribution.set_distribution` (or use
    `with distribution.scope():`) before the model is created.
    """
    import keras

    cluster = keras_distribution_cluster()  # checked first: a bad description fails here, not in JAX
    if name == "auto":
        name = _auto_name(cluster, devices)
    if name == "multiworker":
        if cluster is None:
            raise ValueError(
                f"strategy 'multiworker' on JAX needs {', '.join(KERAS_VARIABLES)}; none is set "
                "(see docs/distribute.md)"
            )
        initialize_processes()
        devices = keras.distribution.list_devices()
    elif name == "mirrored":
        devices = devices or keras.distribution.list_devices()
    else:
        devices = keras.distribution.list_devices()[:1]
    return keras.distribution.DataParallel(devices=devices)


def initialize_processes():
    """`keras.distribution.initialize()` from the environment, once per process.

    On CPU JAX has no cross-process collectives unless told to use gloo; the
    option must be set before JAX starts its backends, and is ignored by GPUs.
    """
    import jax
    import keras

    if jax.distributed.is_initialized():
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    keras.distribution.initialize()


def replicas(distribution):
    """Number of data-parallel replicas of a `keras.distribution` Distribution."""
    mesh = distribution.device_mesh
    return int(mesh.shape[mesh.axis_names.index(distribution.batch_dim_name)])


def _auto_name(cluster, devices):
    import jax

    if cluster is not None and cluster.processes > 1:
        return "multiworker"
    if devices or jax.local_device_count() > 1:
        return "mirrored"
    return "default"
