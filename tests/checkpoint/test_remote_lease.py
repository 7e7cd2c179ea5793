"""One writer per checkpoint URL (issue 20, item 5): the lease object, on a real S3 server and on memory://."""

import json
import os
import socket
import subprocess
import sys
import time

import fsspec
import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.checkpoint._remote_lease import LEASE_NAME
from keras_ext.checkpoint._writer_lock import CheckpointDirectoryBusyError
from tests.s3_server import serving_bucket
from tests.subprocess_utils import run_fresh_python

BUCKET = "leases"


def _put_lease(url, **record):
    fs, root = fsspec.core.url_to_fs(url)
    fs.pipe_file(f"{root}/{LEASE_NAME}", json.dumps({"token": "theirs", "started": 0, **record}).encode())


def _lease(url):
    fs, root = fsspec.core.url_to_fs(url)
    try:
        return json.loads(fs.cat_file(f"{root}/{LEASE_NAME}"))
    except FileNotFoundError:
        return None


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _tiny_data():
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32")


def test_a_second_process_is_refused_naming_the_first_on_a_real_s3_server():
    with serving_bucket(BUCKET) as server:
        url = f"s3://{BUCKET}/run"
        manager = CheckpointManager(url)
        record = _lease(url)
        assert record["host"] == socket.gethostname() and record["pid"] > 0
        proc = run_fresh_python(
            f"""
            from keras_ext.callbacks import CheckpointManager
            CheckpointManager({url!r})
            """,
            env={"AWS_ENDPOINT_URL": server.endpoint},
            check=False,
        )
        assert proc.returncode != 0
        assert "CheckpointDirectoryBusyError" in proc.stderr
        assert f"is in use: pid {record['pid']} on host {record['host']}" in proc.stderr
        manager._writer_lock.release()
        assert _lease(url) is None  # given back: the next writer takes it at once


def test_a_live_writer_elsewhere_is_refused_and_a_lease_it_stopped_renewing_is_taken(memory_url):
    _put_lease(memory_url, pid=4242, host="elsewhere", renewed=time.time(), lease_seconds=60)
    with pytest.raises(
        CheckpointDirectoryBusyError, match=r"in use: pid 4242 on host elsewhere .*lease to run out"
    ):
        CheckpointManager(memory_url)
    _put_lease(memory_url, pid=4242, host="elsewhere", renewed=time.time() - 61, lease_seconds=60)
    manager = CheckpointManager(memory_url)
    assert _lease(memory_url)["token"] != "theirs"
    manager._writer_lock.release()


@pytest.mark.parametrize("holder", ["killed", "this process"])
def test_a_lease_of_a_killed_process_on_this_host_or_of_this_one_blocks_nothing(memory_url, holder):
    # "this process": a lease it gave back while the store was down (the delete failed); a live
    # lease of its own would have been shared, not taken again.
    pid = _dead_pid() if holder == "killed" else os.getpid()
    _put_lease(memory_url, pid=pid, host=socket.gethostname(), renewed=time.time(), lease_seconds=60)
    manager = CheckpointManager(memory_url)
    assert _lease(memory_url)["token"] != "theirs"
    manager._writer_lock.release()


def test_the_lease_is_renewed_while_training_and_given_back_after(memory_url, monkeypatch):
    monkeypatch.setenv("KERAS_EXT_LEASE_SECONDS", "0.4")
    renewals = []

    class WatchLease(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            renewals.append(_lease(memory_url)["renewed"])
            time.sleep(0.06)

    x, y = _tiny_data()
    model = _tiny_model()
    model.fit(
        x,
        y,
        batch_size=4,
        epochs=1,
        callbacks=[CheckpointManager(memory_url, save_freq=4), WatchLease()],
        verbose=0,
    )
    assert len(set(renewals)) >= 3  # renewed every 0.1 s over 8 batches of 0.06 s
    assert _lease(memory_url) is None


def test_a_writer_whose_lease_was_taken_over_writes_no_further_checkpoint(memory_url, monkeypatch):
    monkeypatch.setenv("KERAS_EXT_LEASE_SECONDS", "0.4")

    class TakenOver(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 4:  # after ckpt-4: another writer took the lease, and its heartbeat saw it
                _put_lease(memory_url, pid=4242, host="elsewhere", renewed=time.time() + 60, lease_seconds=60)
                time.sleep(0.3)

    x, y = _tiny_data()
    manager = CheckpointManager(memory_url, save_freq=4)
    with pytest.raises(
        CheckpointDirectoryBusyError,
        match=r"lost its writer lease: pid 4242 on host elsewhere .* holds it now; not writing",
    ):
        _tiny_model().fit(x, y, batch_size=4, epochs=1, callbacks=[TakenOver(), manager], verbose=0)
    assert [c.rsplit("/", 1)[1] for c in manager.checkpoints] == ["ckpt-4"]
    assert _lease(memory_url)["host"] == "elsewhere"  # the new holder's record is left alone
