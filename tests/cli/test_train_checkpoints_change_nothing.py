"""`keras-ext train` with and without `--checkpoint-dir` ends on the same weights (issue 17).

Each run is a fresh process with deterministic ops. (On JAX the same holds for
fit and the Trainer in tests/data/test_training_order.py, in the JAX pass.) Before the pipelines counted their own epochs, the checkpoint manager
set the data order and a run without one drew another: the same seed gave
another model.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _train(backend, output, *flags):
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_DETERMINISTIC_OPS": "1",
        "XLA_FLAGS": "--xla_gpu_deterministic_ops=true",
    }
    command = [sys.executable, "-m", "keras_ext.cli.main", "train", "--seed", "0", "--epochs", "2"]
    proc = subprocess.run(
        [*command, "--verbose", "0", "--output", str(output), *flags],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    code = (
        "import sys, numpy as np, keras, keras_ext;"
        "m = keras.saving.load_model(sys.argv[1]);"
        "np.savez(sys.argv[2], *[keras.ops.convert_to_numpy(v) for v in m.variables])"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(output / "model.keras"), str(output / "weights.npz")],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return np.load(output / "weights.npz")


def test_checkpointing_on_or_off_trains_the_same_model(tmp_path):
    backend = "tensorflow"
    pytest.importorskip(backend)
    without = _train(backend, tmp_path / "without")
    with_checkpoints = _train(
        backend, tmp_path / "with", "--checkpoint-dir", str(tmp_path / "ckpt"), "--save-freq", "10"
    )
    assert len([n for n in os.listdir(tmp_path / "ckpt") if n.startswith("ckpt-")]) == 3
    assert len(without.files) == len(with_checkpoints.files)
    for key in without.files:
        np.testing.assert_allclose(with_checkpoints[key], without[key], atol=1e-6, rtol=0, err_msg=key)
