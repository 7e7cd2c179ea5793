"""Preemption: SIGTERM / SIGINT during training save the current step, stop, and the rerun resumes exactly.

Subprocess tests send a real SIGTERM from outside to `keras-ext train` and to
tests/callbacks/train_until_done.py (the Trainer), and compare the rerun with
an uninterrupted run of the same job (deterministic ops). In-process tests
send SIGINT to this process from a callback.
"""

import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.checkpoint import _checkpoint_files
from tests.callbacks import small_job as job
from tests.callbacks.training_setup import CrashAtStep

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXIT_WITHIN = 30  # seconds from the signal to the process gone, as Slurm and Kubernetes allow
ENV = {
    **os.environ,
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONUNBUFFERED": "1",
    "TF_DETERMINISTIC_OPS": "1",
    "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
}


def _signal_when(command, marker, signum=signal.SIGTERM):
    """Start `command`, send `signum` once a stdout line contains `marker`; return (returncode, seconds, output)."""
    proc = subprocess.Popen(
        command, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = []
    try:
        for line in proc.stdout:
            output.append(line)
            if marker in line:
                proc.send_signal(signum)
                sent = time.monotonic()
                break
        else:
            raise AssertionError("never saw " + repr(marker) + ":\n" + "".join(output)[-3000:])
        remaining, _ = proc.communicate(timeout=120)
        output.append(remaining)
        return proc.returncode, time.monotonic() - sent, "".join(output)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _only_checkpoint(directory):
    (path,) = [os.path.join(directory, n) for n in os.listdir(directory) if n.startswith("ckpt-")]
    return _checkpoint_files.read_checkpoint(path)[1]


def _cli(*args):
    script = os.path.join(os.path.dirname(sys.executable), "keras-ext")
    base = [script] if os.path.exists(script) else [sys.executable, "-m", "keras_ext.cli.main"]
    return [*base, "train", "--epochs", "3", "--verbose", "2", *args]


def _load_weights(path):
    import keras_ext  # noqa: F401 - registers the classes model.keras names

    return [keras.ops.convert_to_numpy(v) for v in keras.saving.load_model(path).variables]


def _assert_close(actual, expected, atol=1e-5):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, atol=atol, rtol=0)


@pytest.mark.tensorflow_only
def test_sigterm_to_keras_ext_train_saves_exits_and_the_rerun_matches(tmp_path):
    directory = str(tmp_path / "ckpt")
    returncode, seconds, output = _signal_when(
        _cli("--checkpoint-dir", directory, "--save-freq", "1000", "--output", str(tmp_path / "a")),
        "Epoch 3/3",
    )
    assert returncode == -signal.SIGTERM, output[-3000:]
    assert seconds < EXIT_WITHIN
    state = _only_checkpoint(directory)  # save-freq 1000: only the preemption wrote one
    assert state["epoch"] == 2 and 0 < state["step_in_epoch"] < state["steps_per_epoch"]

    rerun = subprocess.run(
        _cli("--checkpoint-dir", directory, "--save-freq", "1000", "--output", str(tmp_path / "a")),
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "resumed from" in rerun.stdout
    # The same command, uninterrupted (with a directory of its own: without one the
    # pipeline is not told its epoch and reshuffles differently).
    reference = subprocess.run(
        _cli(
            "--checkpoint-dir",
            str(tmp_path / "other"),
            "--save-freq",
            "1000",
            "--output",
            str(tmp_path / "b"),
        ),
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert reference.returncode == 0, reference.stderr[-3000:]
    _assert_close(
        _load_weights(str(tmp_path / "a" / "model.keras")), _load_weights(str(tmp_path / "b" / "model.keras"))
    )


def _until_done(tmp_path, *args):
    return [
        sys.executable,
        "-m",
        "tests.callbacks.train_until_done",
        "--trainer",
        "--save-freq",
        "1000",
        "--directory",
        str(tmp_path / "ckpt"),
        "--log",
        str(tmp_path / "epochs.jsonl"),
        *args,
    ]


@pytest.mark.tensorflow_only
def test_sigterm_to_the_trainer_saves_exits_and_the_rerun_matches(tmp_path):
    weights = str(tmp_path / "final.npz")
    returncode, seconds, output = _signal_when(
        _until_done(tmp_path, "--weights", weights, "--announce"), "epoch 2 begins"
    )
    assert returncode == -signal.SIGTERM, output[-3000:]
    assert seconds < EXIT_WITHIN
    assert _only_checkpoint(str(tmp_path / "ckpt"))["epoch"] == 2
    assert not os.path.exists(weights)  # it stopped before the end

    rerun = subprocess.run(
        _until_done(tmp_path, "--weights", weights),
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    reference = str(tmp_path / "reference.npz")
    done = subprocess.run(
        _until_done(tmp_path, "--weights", reference, "--reference", "--run", "ref"),
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    final, expected = np.load(weights), np.load(reference)
    _assert_close([final[k] for k in expected.files], [expected[k] for k in expected.files])


@pytest.fixture(autouse=True)
def default_handlers():
    """Python's own handlers before each test, whatever an earlier test's fit that raised left behind."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class SendSignal(keras.callbacks.Callback):
    def __init__(self, step, times=1, signum=signal.SIGINT):
        super().__init__()
        self.step, self.times, self.signum = step, times, signum

    def on_train_batch_end(self, batch, logs=None):
        if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == self.step:
            for _ in range(self.times):
                os.kill(os.getpid(), self.signum)


@pytest.fixture()
def reference():
    model = job.make_model(seed=0)
    job.fit(model)
    return job.state_of(model)


def test_one_sigint_saves_the_next_step_then_raises_keyboard_interrupt(tmp_path, reference):
    before = signal.getsignal(signal.SIGINT)
    manager = CheckpointManager(tmp_path, save_freq=1000)
    with pytest.raises(KeyboardInterrupt):
        job.fit(job.make_model(seed=0), [manager, SendSignal(13)])
    assert signal.getsignal(signal.SIGINT) is before
    assert manager.preempted == signal.SIGINT
    # Sent during step 13's hooks (after the manager's): saved at the next batch end.
    state = _only_checkpoint(str(tmp_path))
    assert (state["step"], state["epoch"], state["step_in_epoch"]) == (14, 1, 6)

    model = job.make_model(seed=4)
    assert job.fit(model, [manager := CheckpointManager(tmp_path, save_freq=1000)]).epoch == [0, 1, 2]
    assert manager.resumed_epoch == 1
    job.assert_same(job.state_of(model), reference, atol=1e-5)


def test_a_second_sigint_aborts_at_once(tmp_path):
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        job.fit(
            job.make_model(seed=0), [CheckpointManager(tmp_path, save_freq=1000), SendSignal(13, times=2)]
        )
    assert signal.getsignal(signal.SIGINT) is before
    assert not [n for n in os.listdir(tmp_path) if n.startswith("ckpt-")]  # aborted before any save


def test_a_handler_left_by_a_fit_that_raised_does_not_swallow_the_next_signal(tmp_path):
    before = signal.getsignal(signal.SIGINT)
    for _ in range(2):  # the second fit's handler chains to Python's, not to the stale one
        with pytest.raises(CrashAtStep.Crash):
            job.fit(job.make_model(seed=0), [CheckpointManager(tmp_path, save_freq=4), CrashAtStep(6)])
    stale = signal.getsignal(signal.SIGINT).__self__
    assert stale._previous[signal.SIGINT] is before
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)  # the handler runs before this returns
    assert signal.getsignal(signal.SIGINT) is before


def test_save_on_preemption_false_leaves_the_handlers_alone(tmp_path):
    seen = []

    class Look(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    job.fit(job.make_model(seed=0), [CheckpointManager(tmp_path, save_on_preemption=False), Look()], epochs=1)
    assert set(seen) == {before}
