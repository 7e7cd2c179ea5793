"""One writer per checkpoint directory: a second process is refused at once, naming the holder.

The holder is a real process (tests/checkpoint/one_writer_holder.py), since
the rule is between processes: within one, managers and checkpointers
share the directory.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.checkpoint import CheckpointDirectoryBusyError
from keras_ext.checkpoint import Checkpointer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def _start_holder(kind, directory):
    """A process holding `directory` as a writer (its CheckpointManager or Checkpointer built)."""
    return _ready(_launch_holder(kind, directory))


def _launch_holder(kind, directory):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.checkpoint.one_writer_holder", kind, str(directory)],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _ready(holder):
    line = holder.stdout.readline().strip()  # the import takes seconds; "ready" once it holds
    if line != "ready":
        holder.kill()
        raise AssertionError(f"the holder did not start: {line!r} {holder.stderr.read()[-3000:]}")
    return holder


def _kill(holder):
    if holder.poll() is None:
        holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    holder.stdout.close()
    holder.stderr.close()


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model


def _names_the_holder(holder):
    return rf"in use: pid {holder.pid} on host {socket.gethostname()} \(since "


@pytest.mark.parametrize("kind", ["manager", "checkpointer"])
def test_a_directory_held_by_a_live_process_is_refused_and_a_killed_holder_blocks_nothing(tmp_path, kind):
    directory = tmp_path / "ckpt"
    holder = _start_holder(kind, directory)
    try:
        with pytest.raises(CheckpointDirectoryBusyError, match=_names_the_holder(holder)) as refused:
            CheckpointManager(directory)
        assert isinstance(refused.value, ValueError)  # keras-ext train: one line, exit 2
        assert len(str(refused.value).splitlines()) == 1
        with pytest.raises(CheckpointDirectoryBusyError, match=_names_the_holder(holder)):
            Checkpointer(directory, _model())
        # Reading is not writing: loading for inference takes no lock (and finds nothing yet).
        with pytest.raises(FileNotFoundError, match="No usable checkpoint"):
            CheckpointManager.restore(_model(), directory)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
        # The operating system dropped the dead holder's lock: a rerun trains and writes.
        manager = CheckpointManager(directory, save_freq=2, data=[])
        x = np.ones((8, 3), "float32")
        _model().fit(x, x[:, :1], batch_size=4, epochs=2, callbacks=[manager], verbose=0)
        assert sorted(os.listdir(directory)) == ["ckpt-2", "ckpt-4"]  # the lock lives beside it
    finally:
        _kill(holder)


def test_the_lock_goes_with_fit_s_end_and_with_close(tmp_path):
    x = np.ones((8, 3), "float32")
    manager = CheckpointManager(tmp_path / "fit", save_freq=2, data=[])
    model = _model()
    model.fit(x, x[:, :1], batch_size=4, epochs=1, callbacks=[manager], verbose=0)
    # Within one process, a second manager, a Checkpointer and a second fit share the directory.
    again = CheckpointManager(tmp_path / "fit", save_freq=2, data=[])
    with Checkpointer(tmp_path / "fit", model):
        model.fit(x, x[:, :1], batch_size=4, epochs=2, callbacks=[again], verbose=0)
    model.fit(x, x[:, :1], batch_size=4, epochs=3, callbacks=[manager], verbose=0)
    checkpointer = Checkpointer(tmp_path / "loop", model)
    checkpointer.save(1)
    checkpointer.close()
    # Both were let go: another process takes each directory (both started at once).
    holders = [_launch_holder("manager", tmp_path / "fit"), _launch_holder("checkpointer", tmp_path / "loop")]
    try:
        for holder in holders:
            _ready(holder)
    finally:
        for holder in holders:
            _kill(holder)


def test_only_the_chief_of_a_multi_process_job_takes_the_lock(tmp_path, monkeypatch):
    directory = tmp_path / "ckpt"
    holder = _start_holder("manager", directory)  # the chief, say
    try:
        # Worker 1 of the job: TF_CONFIG on TensorFlow, KERAS_DISTRIBUTION_* on JAX say so.
        monkeypatch.setenv(
            "TF_CONFIG",
            '{"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 1}}',
        )
        monkeypatch.setenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", "localhost:1,localhost:2")
        monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
        monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "1")
        CheckpointManager(directory)
        Checkpointer(directory, _model())
        monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "0")
        monkeypatch.setenv(
            "TF_CONFIG", '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 0}}'
        )
        with pytest.raises(CheckpointDirectoryBusyError, match=_names_the_holder(holder)):
            CheckpointManager(directory)
    finally:
        _kill(holder)


def test_a_holder_collected_in_another_thread_while_a_lock_is_being_taken_is_released_without_deadlock(
    tmp_path, monkeypatch
):
    # Seen in a test run with checkpoints in a bucket: taking a lease waits on fsspec's
    # event-loop thread, and the garbage collector ran a finalizer there that released
    # another holder's share; that release waited for the take, which waited for the loop.
    # Here the take waits on a thread of the test, where the first holder is collected.
    import threading

    from keras_ext.checkpoint import _writer_lock

    first_directory = str(tmp_path / "first")
    holders = [_writer_lock.WriterLock(first_directory)]
    holders[0].acquire()
    make_lock, finished = _writer_lock._PROCESS._make_lock, []

    def collect_the_first_holder():
        holders.clear()  # its last reference: its finalizer runs here, in this thread
        finished.append(True)

    def make_a_lock_that_waits_on_another_thread(path):
        if path.endswith("second"):
            helper = threading.Thread(target=collect_the_first_holder, daemon=True)
            helper.start()
            helper.join(timeout=20)
        return make_lock(path)

    monkeypatch.setattr(_writer_lock._PROCESS, "_make_lock", make_a_lock_that_waits_on_another_thread)
    second = _writer_lock.WriterLock(str(tmp_path / "second"))
    second.acquire()
    assert finished == [True], "the collected holder's release waited for the lock being taken"
    deadline = time.monotonic() + 10
    while _writer_lock._PROCESS.held(first_directory) is not None:  # released soon after, by its thread
        assert time.monotonic() < deadline, "the collected holder's lock was never released"
        time.sleep(0.01)
    second.release()
    assert _writer_lock._PROCESS.held(str(tmp_path / "second")) is None  # released at once when asked
