"""`keras-ext train` on JAX under Keras's `keras.distribution.DataParallel`.

One process with two CPU devices (`--strategy mirrored`) and two processes of
one device each on 127.0.0.1 (`--strategy multiworker`, KERAS_DISTRIBUTION_*)
split the same global batches over two replicas, so they must end with the
same weights, also when one of the two processes is killed mid-run and a
rerun of both resumes from the chief's checkpoint. Every worker is started through `cluster_processes.started`,
which kills whatever is left when the test ends.
"""

import json
import os
import signal
import time

import numpy as np
import pytest

from keras_ext.data.pipeline import tensorflow_available
from tests.distribute import cluster_processes as cluster
from tests.distribute.test_train_multiworker import _model_weights
from tests.distribute.test_train_multiworker import small_npz  # noqa: F401 - a fixture

pytest.importorskip("jax")
TWO_CPU_DEVICES = "--xla_force_host_platform_device_count=2"


def _command(npz, output, strategy, *extra):
    return [
        *cluster.CLI,
        "train",
        "--strategy",
        strategy,
        "--dataset",
        npz,
        "--epochs",
        "2",
        "--output",
        str(output),
        "--verbose",
        "0",
        *extra,
    ]


def _jax_env(**extra):
    return cluster.base_env(KERAS_BACKEND="jax", **extra)


def _distribution(output):
    with open(output / "metrics.json") as f:
        return json.load(f)["distribution"]


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory, small_npz):  # noqa: F811
    """One process with two devices, 3 epochs, checkpointing: the reference of the two-process runs."""
    root = tmp_path_factory.mktemp("mirrored")
    command = _command(
        small_npz, root / "out", "mirrored", "--epochs", "3", "--checkpoint-dir", str(root / "ckpt")
    )
    with cluster.started([command], [_jax_env(XLA_FLAGS=TWO_CPU_DEVICES)]) as procs:
        [(status, output)] = cluster.finish(procs, timeout=300)
    assert status == 0, output[-3000:]
    return root / "out"


def test_one_process_with_two_devices_trains_under_data_parallel(mirrored):
    assert _distribution(mirrored) == {
        "backend": "jax",
        "requested": "mirrored",
        "strategy": "DataParallel",
        "replicas": 2,
        "processes": 1,
    }


def test_a_batch_the_devices_cannot_split_evenly_is_a_usage_error(tmp_path, small_npz):  # noqa: F811
    command = _command(small_npz, tmp_path / "out", "mirrored", "--batch-size", "33")
    with cluster.started([command], [_jax_env(XLA_FLAGS=TWO_CPU_DEVICES)]) as procs:
        [(status, output)] = cluster.finish(procs, timeout=120)
    assert status == 2, output[-3000:]
    assert (
        "keras-ext train: error: --batch-size 33: with 2 replicas on JAX the global batch must be a multiple of 2"
        in output
    )
    assert "Traceback" not in output and not (tmp_path / "out").exists()


@pytest.mark.skipif(not tensorflow_available(), reason="multi-process JAX shards its data with tf.data")
def test_a_lost_jax_process_stops_the_other_and_the_rerun_ends_as_two_devices_do(
    tmp_path,
    small_npz,  # noqa: F811
    mirrored,
):
    """SIGKILL process 1 in epoch 2: process 0 gives up within the bound; the rerun of both resumes
    from the chief's checkpoint, only process 0 writes, and the weights are those of one process
    with two devices trained without a stop (`mirrored`)."""
    from tests.distribute.test_train_multiworker import LOST_PEER_LIMIT_S
    from tests.distribute.test_train_multiworker import _wait_for

    outputs = [tmp_path / "out-0", tmp_path / "out-1"]
    commands = [
        _command(
            small_npz,
            out,
            "multiworker",
            "--epochs",
            "3",
            "--verbose",
            "2",
            "--checkpoint-dir",
            str(tmp_path / "ckpt"),
            "--save-freq",
            "3",
        )
        for out in outputs
    ]
    envs = [{**_jax_env(PYTHONUNBUFFERED="1"), **env} for env in cluster.keras_distribution_envs(2)]
    with cluster.started(commands, envs) as procs:
        _wait_for(procs[0], "Epoch 2/3", timeout=240)
        os.killpg(procs[1].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        status, output = cluster.finish(procs[:1], timeout=LOST_PEER_LIMIT_S + 60)[0]
        waited = time.monotonic() - killed_at
    assert waited < LOST_PEER_LIMIT_S, f"process 0 took {waited:.0f} s to give up"
    assert status == 75, output[-3000:]
    last = output.strip().splitlines()[-1]
    assert last.startswith("keras-ext train: error: process 0 of 2 lost contact with"), last
    assert "restart every process of the job" in last and str(tmp_path / "ckpt") in last

    envs = [{**_jax_env(), **env} for env in cluster.keras_distribution_envs(2)]
    with cluster.started(commands, envs) as procs:
        results = cluster.finish(procs, timeout=300)
    for status, output in results:
        assert status == 0, output[-3000:]
    assert "resumed from" in results[0][1]
    assert json.loads((outputs[0] / "metrics.json").read_text())["history_epochs"][-1] == 2
    assert sorted(os.listdir(outputs[0])) == ["history.png", "logs", "metrics.json", "model.keras"]
    assert not outputs[1].exists(), "process 1 wrote to its --output"
    assert _distribution(outputs[0]) == {
        "backend": "jax",
        "requested": "multiworker",
        "strategy": "DataParallel",
        "replicas": 2,
        "processes": 2,
    }
    for got, want in zip(
        _model_weights(outputs[0] / "model.keras"), _model_weights(mirrored / "model.keras"), strict=True
    ):
        np.testing.assert_allclose(got, want, atol=1e-5)
