"""`keras-ext train --checkpoint-dir D` on a directory another live run writes: exit 2 at once, naming it."""

import os
import socket
import subprocess
import sys
import time

import pytest

from keras_ext.checkpoint import _checkpoint_files
from tests.cli.test_inputs import _without_tensorflow_startup
from tests.subprocess_utils import kill_group
from tests.subprocess_utils import start_until
from tests.tuning.tiny_data import write_tiny_npz

pytestmark = pytest.mark.tensorflow_only

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # One thread each: the second run starts beside the first's training on 2 cores.
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
}


def _train(npz, checkpoints, output):
    # The user's model waits for the gate file while the run holds the directory (its
    # manager is made before the model): the first run is alive until the test lets it go.
    # `python -m keras_ext_cli` is what the `keras-ext` console script runs.
    return [
        *(sys.executable, "-m", "keras_ext_cli", "train", "--model", "tests.cli.gated_models:build"),
        *("--dataset", npz, "--epochs", "2", "--save-freq", "5"),
        *("--verbose", "0", "--checkpoint-dir", str(checkpoints), "--output", str(output)),
    ]


def test_a_second_run_on_a_directory_in_use_exits_2_naming_the_first(tmp_path):
    npz = write_tiny_npz(tmp_path / "tiny.npz")
    checkpoints = tmp_path / "ckpt"
    holder_record = tmp_path / ".ckpt.lock.json"  # written once the first run's manager holds it
    gate = tmp_path / "gate"
    env = {**ENV, "KERAS_EXT_TEST_GATE": str(gate)}
    first = start_until(
        _train(npz, checkpoints, tmp_path / "first"),
        holder_record.exists,
        "the first run never took the checkpoint directory",
        cwd=ROOT,
        env=env,
    )
    try:
        started = time.monotonic()
        second = subprocess.run(
            _train(npz, checkpoints, tmp_path / "second"),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        refused_after = time.monotonic() - started
        gate.touch()  # the first run goes on: it builds its model and trains
        assert first.wait(timeout=300) == 0, first.stderr.read()[-3000:]
    finally:
        kill_group(first)
        first.stderr.close()
    assert second.returncode == 2, second.stdout[-3000:] + second.stderr[-3000:]
    # Refused after the arguments parse, before Keras (and TensorFlow) is imported: the start
    # of Python and a look at the lock, about 1 s; from the CheckpointManager, after the
    # backend's start-up, it took 14 s alone and 23 s on a loaded 2-core machine.
    assert refused_after < 20, refused_after
    assert second.stdout == ""
    lines = _without_tensorflow_startup(second.stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"keras-ext train: error: checkpoint directory {str(checkpoints)!r} is in use: pid {first.pid} "
        f"on host {socket.gethostname()} (since "
    ), lines[0]
    assert not (tmp_path / "second").exists()
    # The first run wrote alone: its newest three checkpoints (2 epochs of 8 steps), each intact.
    assert sorted(os.listdir(checkpoints)) == ["ckpt-10", "ckpt-15", "ckpt-16"]
    for name in os.listdir(checkpoints):
        _checkpoint_files.read_checkpoint(str(checkpoints / name))
    assert (tmp_path / "first" / "model.keras").exists()
