"""SIGKILL, then rerun until done, on the backend under test (JAX in .ci/run's JAX pass, which
has no TensorFlow, so the pipeline is then the PyDataset one).

Each run is tests/callbacks/kill_and_resume.py in a fresh interpreter; the
reference is the same job trained once, uninterrupted, without a
CheckpointManager. test_sigkill_exactness.py covers more kill points on
TensorFlow.
"""

import json
import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_ext.checkpoint._checkpoint_files import list_checkpoints
from tests.callbacks.training_setup import STEPS_PER_EPOCH

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KILLED = -signal.SIGKILL


def _run(tmp_path, weights, *args):
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.callbacks.kill_and_resume",
            "--directory",
            str(tmp_path / "ckpt"),
            "--weights",
            str(tmp_path / weights),
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _check(proc, returncode):
    assert proc.returncode == returncode, proc.stdout[-2000:] + proc.stderr[-4000:]


@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow",
    reason="TensorFlow has its own, longer SIGKILL test (test_sigkill_exactness.py)",
)
def test_fit_killed_twice_mid_epoch_then_finished_equals_an_uninterrupted_run(tmp_path):
    # The Trainer's resume without TensorFlow is in tests/test_without_tensorflow.py; four
    # fresh processes here keep the JAX pass short.
    _check(_run(tmp_path, "reference.npz", "--reference"), 0)
    # Killed in epoch 1 after batch 4 (newest checkpoint: step 12); then, resumed from there,
    # in epoch 2 after batch 3, with background writes (the one of step 20 may be unfinished).
    _check(_run(tmp_path, "unused.npz", "--kill", "14"), KILLED)
    _check(_run(tmp_path, "unused.npz", "--kill", "23", "--async-write"), KILLED)
    # A background write still running at the kill never commits, so the resume point is step
    # 20 (epoch 2 begins) if that write finished in the 3 steps before the kill, else step 16.
    newest_step = list_checkpoints(str(tmp_path / "ckpt"))[-1][0]
    assert newest_step in (16, 20)
    finished = _run(tmp_path, "final.npz")
    _check(finished, 0)
    assert json.loads(finished.stdout.strip().splitlines()[-1]) == {
        "history_epochs": [0, 1, 2],
        "resumed_epoch": newest_step // STEPS_PER_EPOCH,
    }
    final, reference = np.load(tmp_path / "final.npz"), np.load(tmp_path / "reference.npz")
    assert final.files == reference.files
    for key in reference.files:
        np.testing.assert_allclose(final[key], reference[key], atol=1e-5, rtol=0, err_msg=key)
