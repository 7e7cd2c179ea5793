"""docs/checkpointing.md's own loops (a TF GradientTape loop, a JAX stateless loop), SIGKILLed and rerun.

Each is run as written, three times in fresh processes: uninterrupted; SIGKILLed
after a random step; rerun in the killed run's directory. The rerun must end on
the uninterrupted run's weights, with exactly `max_to_keep=3` checkpoints left.
"""

import os
import random
import subprocess
import sys

import numpy as np
import pytest

from tests.checkpoint.run_docs_loop import ROOT

LOOPS = {
    "tensorflow": "tf.GradientTape",
    "jax": "stateless_apply",
}


def _run(backend, marker, workdir, weights, kill_at=None):
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_DETERMINISTIC_OPS": "1",
    }
    command = [sys.executable, "-m", "tests.checkpoint.run_docs_loop", marker, str(workdir), str(weights)]
    if kill_at is not None:
        command.append(str(kill_at))
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("backend", sorted(LOOPS))
def test_a_loop_of_ones_own_killed_at_a_random_step_resumes_exactly(backend, tmp_path):
    pytest.importorskip("tensorflow" if backend == "tensorflow" else "jax")
    marker = LOOPS[backend]
    reference = _run(backend, marker, tmp_path / "reference", tmp_path / "reference.npz")
    assert reference.returncode == 0, reference.stderr[-3000:]
    # Any step but one that ends the run (24 steps; saves every 5): the kill lands
    # before, between and after saves depending on the draw, which the message names.
    kill_at = random.Random().randint(6, 23)
    killed = _run(backend, marker, tmp_path / "run", tmp_path / "killed.npz", kill_at)
    assert killed.returncode == -9, (
        f"kill at step {kill_at}: exit {killed.returncode}\n{killed.stderr[-3000:]}"
    )
    rerun = _run(backend, marker, tmp_path / "run", tmp_path / "rerun.npz")
    assert rerun.returncode == 0, f"kill at step {kill_at}\n{rerun.stderr[-3000:]}"
    assert rerun.stdout.strip() == "[10, 15, 20]", rerun.stdout
    directory = tmp_path / "run" / ("tf_loop_ckpts" if backend == "tensorflow" else "jax_loop_ckpts")
    assert sorted(os.listdir(directory)) == ["ckpt-10", "ckpt-15", "ckpt-20"]
    expected, resumed = np.load(tmp_path / "reference.npz"), np.load(tmp_path / "rerun.npz")
    assert len(expected.files) == len(resumed.files)
    for key in expected.files:
        np.testing.assert_allclose(
            resumed[key], expected[key], atol=1e-6, rtol=0, err_msg=f"kill at step {kill_at}, {key}"
        )
