"""`keras_ext.distribute.setup_strategy`: the strategy for a run, from Python, as `keras-ext train` sets it up.

One process here: the default strategy in this process (either backend), two
CPU devices in a fresh process (TensorFlow's MirroredStrategy over
`split_cpu(2)`, JAX's DataParallel over XLA's forced host devices), and
cluster descriptions that cannot work, which raise a ValueError naming the
problem before any engine starts. Jobs of several processes run through the
command line in test_train_multiworker.py and test_train_jax_distribution.py.
"""

import keras
import pytest

from keras_ext.distribute import RunStrategy
from keras_ext.distribute import setup_strategy
from keras_ext.distribute.cluster_env import KERAS_VARIABLES
from tests.subprocess_utils import run_fresh_python

BACKEND = keras.backend.backend()


@pytest.fixture
def no_cluster(monkeypatch):
    for name in ("TF_CONFIG", *KERAS_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_default_trains_as_on_one_device(no_cluster):
    run = setup_strategy("default")
    assert isinstance(run, RunStrategy)
    assert (run.strategy, run.replicas, run.processes, run.index, run.is_chief) == (None, 1, 1, 0, True)
    assert not run.use_trainer and not run.whole_batches_only
    assert run.summary() == {
        "backend": BACKEND,
        "requested": "default",
        "strategy": "none",
        "replicas": 1,
        "processes": 1,
    }
    run.check_batch_size(33)  # one replica takes any batch
    with run.scope(), run.local_only():
        keras.Variable(1.0)


BAD_CLUSTERS = {
    "TF_CONFIG not JSON": (
        "tensorflow",
        "auto",
        {"TF_CONFIG": "{cluster: workers}"},
        "TF_CONFIG is not JSON",
    ),
    "TF_CONFIG index out of range": (
        "tensorflow",
        "auto",
        {"TF_CONFIG": '{"cluster": {"worker": ["127.0.0.1:1111"]}, "task": {"type": "worker", "index": 1}}'},
        r"task.index must be an integer in \[0, 1\)",
    ),
    "multiworker without TF_CONFIG": (
        "tensorflow",
        "multiworker",
        {},
        "strategy 'multiworker' on the tensorflow backend needs TF_CONFIG",
    ),
    "an incomplete KERAS_DISTRIBUTION_* set": (
        "jax",
        "auto",
        {"KERAS_DISTRIBUTION_NUM_PROCESSES": "2"},
        "KERAS_DISTRIBUTION_JOB_ADDRESSES, KERAS_DISTRIBUTION_PROCESS_ID not set",
    ),
    "multiworker without KERAS_DISTRIBUTION_*": (
        "jax",
        "multiworker",
        {},
        "strategy 'multiworker' on the jax backend needs KERAS_DISTRIBUTION_JOB_ADDRESSES",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CLUSTERS))
def test_a_cluster_that_cannot_work_is_a_value_error_naming_the_problem(no_cluster, case):
    backend, name, variables, message = BAD_CLUSTERS[case]
    if backend != BACKEND:
        pytest.skip(f"a {backend} cluster description; running {BACKEND}")
    for variable, value in variables.items():
        no_cluster.setenv(variable, value)
    with pytest.raises(ValueError, match=message):
        setup_strategy(name)
    if BACKEND == "jax":
        assert keras.distribution.distribution() is None  # nothing was set up


def test_an_unknown_name_is_a_value_error():
    with pytest.raises(ValueError, match="name='horovod'"):
        setup_strategy("horovod")


@pytest.mark.tensorflow_only
def test_mirrored_on_two_cpu_devices_on_tensorflow():
    run_fresh_python(
        """
        import tensorflow as tf
        from keras_ext.distribute import setup_strategy, split_cpu

        run = setup_strategy("mirrored", devices=split_cpu(2))
        assert isinstance(run.strategy, tf.distribute.MirroredStrategy), run
        assert (run.engine, run.replicas, run.processes, run.is_chief) == ("MirroredStrategy", 2, 1, True)
        assert not run.use_trainer and not run.whole_batches_only
        run.check_batch_size(33)  # tf.distribute splits an uneven batch
        with run.scope():
            assert tf.distribute.get_strategy() is run.strategy
        """
    )


def test_mirrored_on_two_jax_devices_is_the_global_distribution():
    pytest.importorskip("jax")
    run_fresh_python(
        """
        import keras
        from keras_ext.distribute import setup_strategy

        run = setup_strategy("mirrored")
        assert keras.distribution.distribution() is run.strategy
        assert run.summary() == {"backend": "jax", "requested": "mirrored", "strategy": "DataParallel",
                                 "replicas": 2, "processes": 1}, run.summary()
        assert run.whole_batches_only and not run.use_trainer
        run.check_batch_size(32)
        try:
            run.check_batch_size(33)
        except ValueError as e:
            assert str(e) == (
                "batch_size=33: with 2 replicas on JAX the global batch must be a multiple of 2"
            ), e
        else:
            raise AssertionError("a batch of 33 on 2 devices passed")
        """,
        env={
            "KERAS_BACKEND": "jax",
            "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
            **{name: "" for name in KERAS_VARIABLES},
        },
    )
