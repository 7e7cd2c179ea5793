"""`keras-ext train --strategy multiworker` on TensorFlow: two worker processes on 127.0.0.1 (TF_CONFIG).

Each test starts its own workers through `cluster_processes.started`, which
kills whatever is left when the test ends.
"""

import json
import os
import signal
import time

import numpy as np
import pytest

from tests.distribute import cluster_processes as cluster

pytestmark = pytest.mark.tensorflow_only
LOST_PEER_LIMIT_S = 120  # the bound for a survivor to give up on a lost worker


@pytest.fixture(scope="module")
def small_npz(tmp_path_factory):
    """256 training and 64 validation digits: 8 steps of the global batch 32 per epoch."""
    from keras_ext import data

    arrays = data.load_arrays("digits", seed=0)
    path = tmp_path_factory.mktemp("data") / "digits-small.npz"
    np.savez(
        path,
        x_train=arrays.x_train[:256],
        y_train=arrays.y_train[:256],
        x_test=arrays.x_val[:64],
        y_test=arrays.y_val[:64],
    )
    return str(path)


def _train_commands(npz, outputs, *extra):
    return [
        [
            *cluster.CLI,
            "train",
            "--strategy",
            "multiworker",
            "--dataset",
            npz,
            "--epochs",
            "3",
            "--output",
            str(out),
            *extra,
        ]
        for out in outputs
    ]


def _worker_envs(count=2):
    # Deterministic ops: the resumed run must equal the uninterrupted one to 1e-4.
    base = cluster.base_env(TF_DETERMINISTIC_OPS="1", PYTHONUNBUFFERED="1")
    return [{**base, **env} for env in cluster.tf_config_envs(count)]


def _model_weights(path):
    from tests.subprocess_utils import run_fresh_python

    out = os.path.join(os.path.dirname(path), "weights.npz")
    run_fresh_python(
        f"""
        import keras, numpy as np, keras_ext
        model = keras.saving.load_model({str(path)!r})
        np.savez({out!r}, *model.get_weights())
        """
    )
    with np.load(out) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, small_npz):
    """One uninterrupted run of two workers: [(status, output)] and the two --output folders."""
    root = tmp_path_factory.mktemp("two-workers")
    outputs = [root / "out-0", root / "out-1"]
    with cluster.started(_train_commands(small_npz, outputs, "--seed", "3"), _worker_envs()) as procs:
        return cluster.finish(procs, timeout=300), outputs


def test_two_workers_train_and_only_the_chief_writes(two_workers):
    results, outputs = two_workers
    for status, output in results:
        assert status == 0, output[-3000:]
    assert sorted(os.listdir(outputs[0])) == ["history.png", "logs", "metrics.json", "model.keras"]
    assert not outputs[1].exists(), "worker 1 wrote to its --output"
    metrics = json.loads((outputs[0] / "metrics.json").read_text())
    assert metrics["distribution"] == {
        "backend": "tensorflow",
        "requested": "multiworker",
        "strategy": "MultiWorkerMirroredStrategy",
        "replicas": 2,
        "processes": 2,
    }
    assert metrics["history_epochs"] == [0, 1, 2]
    assert "keras-team/keras#20585" in results[0][1]  # says once why it uses the Trainer
    assert "process 1 done" in results[1][1]


def _wait_for(proc, text, timeout):
    """Read `proc`'s output until a line holds `text`; return what was read."""
    seen = []
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(line)
        if text in line:
            return "".join(seen)
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"{text!r} not seen within {timeout} s:\n{''.join(seen)[-3000:]}")


def test_lost_worker_stops_the_other_and_a_rerun_resumes_exactly(tmp_path, small_npz, two_workers):
    """SIGKILL worker 1 in epoch 2: worker 0 fails within the bound, naming the peer; rerunning
    both finishes with the weights of the uninterrupted two-worker run (the `two_workers` fixture)."""
    ckpt = ["--checkpoint-dir", str(tmp_path / "ckpt"), "--save-freq", "3", "--verbose", "2"]
    results, (reference, _) = two_workers
    for status, output in results:
        assert status == 0, output[-3000:]

    outputs = [tmp_path / "out-0", tmp_path / "out-1"]
    commands = _train_commands(small_npz, outputs, "--seed", "3", *ckpt)
    with cluster.started(commands, _worker_envs()) as procs:
        _wait_for(procs[0], "Epoch 2/3", timeout=240)
        os.killpg(procs[1].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        status, output = cluster.finish(procs[:1], timeout=LOST_PEER_LIMIT_S + 60)[0]
        waited = time.monotonic() - killed_at
    assert waited < LOST_PEER_LIMIT_S, f"worker 0 took {waited:.0f} s to give up"
    assert status == 75, output[-3000:]
    last = output.strip().splitlines()[-1]
    assert last.startswith("keras-ext train: error: process 0 of 2 lost contact with /job:worker/task:1;"), (
        last
    )
    assert "restart every process of the job" in last and str(tmp_path / "ckpt") in last
    assert os.listdir(tmp_path / "ckpt"), "nothing was saved before the kill"
    # Only TensorBoard's logs of the epochs it trained: no model, no metrics.json.
    assert sorted(os.listdir(outputs[0])) == ["logs"]

    with cluster.started(commands, _worker_envs()) as procs:
        results = cluster.finish(procs, timeout=300)
    for status, output in results:
        assert status == 0, output[-3000:]
    assert "resumed from" in results[0][1]
    for got, want in zip(
        _model_weights(outputs[0] / "model.keras"), _model_weights(reference / "model.keras"), strict=True
    ):
        np.testing.assert_allclose(got, want, atol=1e-4)
