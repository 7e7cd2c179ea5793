"""`keras-ext train` on JAX where TensorFlow cannot be imported: it trains, checkpoints and resumes.

.ci/run's JAX pass runs it in a venv that has no TensorFlow at all; the
child process also sets `sys.modules["tensorflow"] = None` (so `import
tensorflow` fails as if it were not installed) before running the CLI, so
`KERAS_BACKEND=jax pytest` checks the same where TensorFlow is installed.
The reference is the same command run once for 3 epochs, uninterrupted,
into another checkpoint directory (the manager is what gives the pipeline
its epoch, so both runs see the same batches).
"""

import json
import os
import subprocess
import sys

import keras
import pytest

pytest.importorskip("jax", reason="keras-ext train without TensorFlow runs on JAX")
pytestmark = pytest.mark.skipif(
    keras.backend.backend() == "tensorflow",
    reason="runs in the JAX pass (.ci/jax_only.sh, a venv without TensorFlow); "
    "run it here with KERAS_BACKEND=jax",
)

CLI_WITHOUT_TENSORFLOW = (
    "import sys; sys.modules['tensorflow'] = None; "
    "from keras_ext.cli.main import main; sys.exit(main(sys.argv[1:]))"
)


def _run(output, *args, env=None):
    return subprocess.run(
        [
            sys.executable,
            "-c",
            CLI_WITHOUT_TENSORFLOW,
            "train",
            "--output",
            str(output),
            "--verbose",
            "0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
    )


def _train(output, *args, env=None):
    proc = _run(output, *args, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "backend jax" in proc.stdout
    with open(output / "metrics.json") as f:
        return proc.stdout, json.load(f)


def test_train_two_epochs_then_a_rerun_with_three_resumes_and_matches_one_run(tmp_path):
    checkpoints = str(tmp_path / "ckpt")
    _, first = _train(tmp_path / "first", "--epochs", "2", "--checkpoint-dir", checkpoints)
    assert first["history_epochs"] == [0, 1]
    assert os.listdir(checkpoints)
    out, resumed = _train(tmp_path / "resumed", "--epochs", "3", "--checkpoint-dir", checkpoints)
    assert "resumed from" in out and "trained epochs 3\n" in out
    assert resumed["history_epochs"] == [0, 1, 2]  # the record covers the whole run

    _, reference = _train(
        tmp_path / "reference", "--epochs", "3", "--checkpoint-dir", str(tmp_path / "reference-ckpt")
    )
    assert reference["history_epochs"] == [0, 1, 2]
    # Epoch 3 of the resumed run is epoch 3 of the uninterrupted one (same batches, same
    # state), and epochs 1 and 2 come back from the checkpoint as the first run logged them.
    for key, values in reference["history"].items():
        assert resumed["history"][key] == pytest.approx(values, rel=1e-5, abs=1e-6), key
    for key, value in reference["validation"].items():
        assert resumed["validation"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_two_devices_train_without_tensorflow_on_whole_batches(tmp_path):
    out, metrics = _train(
        tmp_path / "mirrored",
        "--strategy",
        "mirrored",
        "--epochs",
        "1",
        env={"XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
    )
    assert metrics["distribution"]["replicas"] == 2
    assert "leaves out its last partial batch (29 training and 8 validation images)" in out


def test_multiworker_without_tensorflow_says_to_install_it(tmp_path):
    variables = {
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": "127.0.0.1:1111,127.0.0.1:2222",
        "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
        "KERAS_DISTRIBUTION_PROCESS_ID": "0",
    }
    proc = _run(tmp_path / "out", "--strategy", "multiworker", env=variables)
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "keras-ext train: error: --strategy multiworker on JAX shards its data with tf.data"
    )
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()
