"""Checkpoints at a URL (issue 20, items 1 and 2): a real S3 server on 127.0.0.1, and fsspec's memory://.

The S3 tests run against moto's server (tests/s3_server.py),
reached through AWS_ENDPOINT_URL as any S3 endpoint is; the protocol's
corner cases (a partial upload, a corrupt file, leftovers) use memory://,
which goes through the same code and needs no server.
"""

import os
import threading

import fsspec
import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.checkpoint import _checkpoint_files as files
from keras_ext.checkpoint import _remote_files as remote
from tests.callbacks.training_setup import BATCH_SIZE
from tests.callbacks.training_setup import CrashAtStep
from tests.callbacks.training_setup import digits_arrays
from tests.callbacks.training_setup import make_model
from tests.callbacks.training_setup import weights
from tests.s3_server import forget_s3_clients
from tests.s3_server import free_port
from tests.s3_server import s3_filesystem
from tests.s3_server import serving_bucket

BUCKET = "ckpts"


@pytest.fixture(scope="module")
def s3():
    """The server (an S3Server), with this process's AWS variables pointing at it and a bucket made."""
    with serving_bucket(BUCKET) as server:
        yield server


def _fit(model, directory, epochs=2, crash_at=None, before_commit=None, callbacks=(), **manager_kwargs):
    """`fit` on the digits with a CheckpointManager on `directory`, after `callbacks`; return the manager."""
    x, y, xv, yv = digits_arrays()
    # data=[]: arrays with shuffle=False come in the same order in every pass.
    manager = CheckpointManager(directory, **{"save_freq": 4, "max_to_keep": 2, "data": [], **manager_kwargs})
    manager._before_commit = before_commit  # a test hook: runs before a checkpoint's commit
    callbacks = [*callbacks, manager] + ([CrashAtStep(crash_at)] if crash_at else [])
    try:
        model.fit(x, y, batch_size=BATCH_SIZE, epochs=epochs, shuffle=False, callbacks=callbacks, verbose=0)
    except CrashAtStep.Crash:
        pass
    return manager


@pytest.fixture(scope="module")
def uninterrupted():
    model = make_model()
    x, y, xv, yv = digits_arrays()
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=2, shuffle=False, verbose=0)
    return weights(model)


def test_a_run_killed_mid_epoch_resumes_exactly_from_a_bucket(s3, uninterrupted):
    url = f"s3://{BUCKET}/exact"
    crashed = _fit(make_model(), url, crash_at=13)
    assert [os.path.basename(p) for p in crashed.checkpoints] == ["ckpt-8", "ckpt-12"]
    # A new model and manager, as on the replacement machine: everything comes from the bucket.
    resumed_model = make_model(seed=99)
    resumed = _fit(resumed_model, url)
    assert resumed.restored_from == f"{url}/ckpt-12"
    for got, want in zip(weights(resumed_model), uninterrupted, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # Retention deleted the older checkpoints in the bucket itself; nothing else is left there.
    stored = sorted(p.split("/", 2)[2] for p in s3_filesystem().find(f"{BUCKET}/exact"))
    stored = [name for name in stored if name.startswith("ckpt-")]  # not the writer's lease
    assert stored == [
        f"{name}/{f}" for name in ("ckpt-16", "ckpt-20") for f in sorted(files_of_a_checkpoint())
    ]


def test_a_server_that_dies_mid_upload_stops_training_and_after_its_restart_a_rerun_resumes_exactly(
    s3, uninterrupted, monkeypatch
):
    monkeypatch.setattr(remote, "FIRST_BACKOFF_SECONDS", 0.05)  # the retries, quicker
    url = f"s3://{BUCKET}/dies"

    def stop_the_server(step, path):  # ckpt-12's data files are up, its manifest is not
        if step == 12:
            s3.stop()

    model = make_model()
    try:
        with pytest.raises(RuntimeError, match="background checkpoint write") as raised:
            _fit(model, url, before_commit=stop_the_server, async_write=True)
    finally:
        s3.start()
    assert repr(url) in str(raised.value) and "Could not connect" in str(raised.value)
    # Raised within 2 save intervals (save_freq 4) of the save the outage broke.
    assert 12 < int(keras.ops.convert_to_numpy(model.optimizer.iterations)) <= 12 + 2 * 4
    # Listing: only the two committed before the outage; ckpt-12's upload lies there, uncommitted.
    assert [os.path.basename(p) for p in CheckpointManager(url).checkpoints] == ["ckpt-4", "ckpt-8"]
    assert s3_filesystem().ls(f"{BUCKET}/dies/ckpt-12")
    # Restoring: the rerun, on a new model, resumes at ckpt-8 and ends as the uninterrupted run.
    resumed_model = make_model(seed=99)
    resumed = _fit(resumed_model, url)
    assert resumed.restored_from == f"{url}/ckpt-8"
    for got, want in zip(weights(resumed_model), uninterrupted, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert [os.path.basename(p) for p in resumed.checkpoints] == ["ckpt-16", "ckpt-20"]


def files_of_a_checkpoint():
    return [files.MANIFEST, files.STATE_JSON, files.STATE_NPZ]


def test_checkpoint_manager_restore_reads_a_bucket_in_a_fresh_client(s3):
    url = f"s3://{BUCKET}/inference"
    trained = make_model()
    _fit(trained, url, epochs=1)
    forget_s3_clients()
    fresh = make_model(seed=5)
    assert CheckpointManager.restore(fresh, url) == f"{url}/ckpt-10"
    for got, want in zip(weights(fresh)[:4], weights(trained)[:4], strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_dead_endpoint_is_an_error_not_a_corrupt_checkpoint(s3):
    url = f"s3://{BUCKET}/outage"
    _fit(make_model(), url, epochs=1)
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    forget_s3_clients()
    try:
        with pytest.raises(OSError, match="cannot read|Could not connect|Connect"):
            CheckpointManager.restore(make_model(seed=3), url)
    finally:
        os.environ["AWS_ENDPOINT_URL"] = s3.endpoint
        forget_s3_clients()
    # Whole and still where it was: an outage never sets a checkpoint aside.
    assert [os.path.basename(p) for p in CheckpointManager(url).checkpoints] == ["ckpt-8", "ckpt-10"]


def test_an_outage_while_reading_stops_the_resume_and_sets_nothing_aside(memory_url, monkeypatch):
    _fit(make_model(), memory_url, epochs=1)
    # The listing answers, then the store goes away: each read fails as a dropped connection does.
    fs = fsspec.filesystem("memory")

    def dropped(*args, **kwargs):
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(type(fs), "cat_file", dropped)
    with pytest.raises(OSError, match=r"checkpoint storage .*ckpt-10: ConnectionResetError"):
        _fit(make_model(seed=3), memory_url, epochs=1)
    monkeypatch.undo()
    # Both checkpoints whole and in place: an outage is not corruption.
    assert [os.path.basename(p) for p in CheckpointManager(memory_url).checkpoints] == ["ckpt-8", "ckpt-10"]
    assert not fs.glob(f"/{memory_url.split('://')[1]}/*.corrupt*")


def test_an_upload_without_its_manifest_is_never_listed_or_resumed_from(memory_url):
    manager = _fit(make_model(), memory_url, epochs=1)
    assert [os.path.basename(p) for p in manager.checkpoints] == ["ckpt-8", "ckpt-10"]
    fs, root = fsspec.core.url_to_fs(memory_url)
    # A writer killed before its commit: the files are there, the manifest (written last) is not.
    fs.rm_file(f"{root}/ckpt-10/{files.MANIFEST}")
    resumed = CheckpointManager(memory_url, save_freq=4, max_to_keep=2)
    assert [os.path.basename(p) for p in resumed.checkpoints] == ["ckpt-8"]
    model = make_model(seed=3)
    assert CheckpointManager.restore(model, memory_url) == f"{memory_url}/ckpt-8"


def test_a_corrupt_file_is_skipped_with_a_warning_and_set_aside(memory_url):
    _fit(make_model(), memory_url, epochs=1)
    fs, root = fsspec.core.url_to_fs(memory_url)
    data = bytearray(fs.cat_file(f"{root}/ckpt-10/{files.STATE_NPZ}"))
    data[len(data) // 2] ^= 0xFF
    fs.pipe_file(f"{root}/ckpt-10/{files.STATE_NPZ}", bytes(data))
    with pytest.warns(UserWarning, match=r"skipping corrupt checkpoint .*ckpt-10: .*SHA-256"):
        manager = _fit(make_model(seed=3), memory_url, epochs=1)
    assert manager.restored_from == f"{memory_url}/ckpt-8"
    assert fs.exists(f"{root}/ckpt-10.corrupt/{files.STATE_NPZ}")


def test_uncommitted_leftovers_are_removed_only_once_old(memory_url, monkeypatch):
    fs, root = fsspec.core.url_to_fs(memory_url)
    fs.pipe_file(f"{root}/ckpt-3/{files.STATE_NPZ}", b"half an upload")
    files.remove_leftovers(memory_url)
    # Young: it may be another writer's upload in progress, so it stays.
    assert fs.exists(f"{root}/ckpt-3/{files.STATE_NPZ}")
    monkeypatch.setattr(remote, "LEFTOVER_AGE_SECONDS", 0.0)
    files.remove_leftovers(memory_url)
    assert not fs.exists(f"{root}/ckpt-3")


def test_the_manifest_is_uploaded_last_and_a_rewrite_uncommits_first(memory_url):
    fs, root = fsspec.core.url_to_fs(memory_url)
    old, new = files.encode({}, {"step": 5, "run": "old"}), files.encode({}, {"step": 5, "run": "new"})
    first = files.write_checkpoint(memory_url, 5, old)
    at_commit = []

    def before_commit(step, url):
        # Just before the commit: the old manifest is gone, and every new data file is up.
        at_commit.append((files.is_checkpoint(url), files.read_file(url, files.STATE_JSON)))

    second = files.write_checkpoint(memory_url, 5, new, before_commit=before_commit)
    assert first == second == f"{memory_url}/ckpt-5"
    assert at_commit == [(False, new[files.STATE_JSON])]
    assert files.is_checkpoint(second)
    assert fs.cat_file(f"{root}/ckpt-5/{files.STATE_NPZ}") == new[files.STATE_NPZ]


@pytest.mark.parametrize(
    "url, message",
    [
        ("foo://bucket/run", r"fsspec knows no filesystem for foo://"),
        ("s3://", r"names no bucket or folder"),
    ],
)
def test_a_url_without_a_filesystem_is_refused_and_never_made_a_local_folder(
    url, message, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=message):
        CheckpointManager(url)
    assert os.listdir(tmp_path) == []  # not a folder named "foo:" or "s3:"


def test_a_missing_protocol_package_is_named_with_its_extra(monkeypatch):
    def no_gcsfs(protocol):
        raise ImportError("Please install gcsfs to access Google Storage")

    monkeypatch.setattr(fsspec, "get_filesystem_class", no_gcsfs)
    with pytest.raises(
        ValueError, match=r"no filesystem for gs:// is installed .*pip install 'keras_ext\[gcs\]'"
    ):
        CheckpointManager("gs://bucket/run")


def test_file_urls_are_local_paths_with_the_local_protocol(tmp_path):
    manager = _fit(make_model(), f"file://{tmp_path}/run", epochs=1)
    assert manager.directory == f"{tmp_path}/run"
    assert sorted(os.listdir(tmp_path / "run")) == ["ckpt-10", "ckpt-8"]


def test_the_checkpointer_of_a_loop_of_your_own_takes_a_url(memory_url):
    from keras_ext.checkpoint import Checkpointer

    def model_and_optimizer(seed):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        optimizer = keras.optimizers.SGD(0.1)
        optimizer.build(model.trainable_variables)
        return model, optimizer

    model, optimizer = model_and_optimizer(0)
    writer = Checkpointer(memory_url, model, optimizer, max_to_keep=2, save_freq=5)
    for step in (5, 10, 15):
        writer.save(step, extra={"epoch": step // 10})
    assert writer.steps == [10, 15]
    restored, restored_optimizer = model_and_optimizer(1)
    reader = Checkpointer(memory_url, restored, restored_optimizer)
    assert reader.restore_latest() == 15 and reader.extra == {"epoch": 1}
    for got, want in zip(restored.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def _failing_uploads(monkeypatch, failures):
    """memory:// uploads that fail (as a dropped connection does) `failures` times, then work again."""
    fs_class = type(fsspec.filesystem("memory"))
    real_pipe_file = fs_class.pipe_file
    calls = {"failed": 0}

    def pipe_file(self, path, value, *args, **kwargs):
        if calls["failed"] < failures:
            calls["failed"] += 1
            raise ConnectionResetError("connection reset by peer")
        return real_pipe_file(self, path, value, *args, **kwargs)

    monkeypatch.setattr(fs_class, "pipe_file", pipe_file)
    monkeypatch.setattr(remote, "FIRST_BACKOFF_SECONDS", 0.01)
    return calls


def test_a_failed_upload_is_retried_with_backoff_and_then_commits(memory_url, monkeypatch):
    calls = _failing_uploads(monkeypatch, failures=2)
    with pytest.warns(
        UserWarning, match=r"ConnectionResetError.*writing ckpt-5 again in 0.01 s \(try 2 of 4\)"
    ):
        path = files.write_checkpoint(memory_url, 5, files.encode({}, {"step": 5}))
    assert calls["failed"] == 2 and files.is_checkpoint(path)


def test_an_upload_that_keeps_failing_reaches_the_training_thread_and_the_newest_commit_stays(
    memory_url, monkeypatch
):
    class StoreGoesAway(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 5:  # after ckpt-4 was committed
                _failing_uploads(monkeypatch, failures=10**6)

    with pytest.raises(RuntimeError) as raised, pytest.warns(UserWarning, match="again in"):
        _fit(make_model(), memory_url, epochs=1, callbacks=[StoreGoesAway()], async_write=True)
    message = str(raised.value)
    assert f"background checkpoint write to {memory_url!r} failed" in message
    assert "writing ckpt-8 failed 4 times" in message and "ConnectionResetError" in message
    assert f"{memory_url}/ckpt-4, stays the resume point" in message
    monkeypatch.undo()
    assert [os.path.basename(p) for p in CheckpointManager(memory_url).checkpoints] == ["ckpt-4"]


def test_an_async_upload_runs_beside_training_and_never_holds_the_training_thread(memory_url):
    """The upload of ckpt-4 waits until training has gone 3 steps past it: on the training thread, it never would."""
    past_the_save = threading.Event()
    upload_waited = []

    def hold_the_upload(step, path):  # ckpt-4's files are staged, its commit waits for training
        if step == 4:
            upload_waited.append(past_the_save.wait(timeout=60))

    class SeeTheTrainingGoOn(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == 7:
                past_the_save.set()

    manager = _fit(
        make_model(),
        memory_url,
        epochs=1,
        before_commit=hold_the_upload,
        callbacks=[SeeTheTrainingGoOn()],
        async_write=True,
    )
    assert upload_waited == [True]  # the training thread reached step 7 while ckpt-4 was uploading
    assert [os.path.basename(p) for p in manager.checkpoints] == ["ckpt-8", "ckpt-10"]
