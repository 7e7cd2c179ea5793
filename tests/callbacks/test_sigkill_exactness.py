"""Exactness after crashes: a training process SIGKILLed at several points, rerun until done.

Every run is tests/callbacks/train_until_done.py in a fresh interpreter with
deterministic ops; the reference is the same job trained once, uninterrupted,
without any CheckpointManager (only the data pipeline told its epoch): one
run for `fit`, shared by this module's tests, and one for the Trainer. The
checkpoints go to a local directory, and once to a bucket of a real S3
server on 127.0.0.1 (tests/s3_server.py).
"""

import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from keras_ext.checkpoint._remote_lease import LEASE_NAME
from tests.s3_server import s3_filesystem
from tests.s3_server import serving_bucket

pytestmark = pytest.mark.tensorflow_only

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KILLED = -signal.SIGKILL


@pytest.fixture(scope="module")
def fit_reference(tmp_path_factory):
    """The folder of the uninterrupted `fit` run: its reference.npz and its lines of epochs.jsonl."""
    folder = tmp_path_factory.mktemp("fit_reference")
    _check(_run(folder, "reference", "--reference", weights="reference.npz"), 0)
    return folder


def _start_from(tmp_path, fit_reference):
    """Put the reference run's weights and epoch logs where a test's own runs write theirs."""
    for name in ("reference.npz", "epochs.jsonl"):
        shutil.copy(fit_reference / name, tmp_path / name)


def _run(tmp_path, run, *args, weights="final.npz", directory=None):
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.callbacks.train_until_done",
            "--directory",
            directory or str(tmp_path / "ckpt"),
            "--log",
            str(tmp_path / "epochs.jsonl"),
            "--weights",
            str(tmp_path / weights),
            "--run",
            run,
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _listing(tmp_path):
    directory = tmp_path / "ckpt"
    return sorted(os.listdir(directory)) if directory.exists() else []


def _epoch_logs(tmp_path):
    logs = {}
    for line in (tmp_path / "epochs.jsonl").read_text().splitlines():
        entry = json.loads(line)
        logs.setdefault(entry["run"], []).append((entry["epoch"], entry["logs"]))
    return logs


def _assert_same_weights(tmp_path, name, reference, atol=1e-5):
    final, expected = np.load(tmp_path / name), np.load(tmp_path / reference)
    assert final.files == expected.files
    for key in expected.files:
        np.testing.assert_allclose(final[key], expected[key], atol=atol, rtol=0, err_msg=key)


def _assert_epoch_logs_match(actual, expected):
    assert sorted(actual) == sorted(expected)
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def _check(proc, returncode):
    assert proc.returncode == returncode, proc.stdout[-2000:] + proc.stderr[-4000:]


def test_fit_killed_mid_epoch_at_an_epoch_boundary_and_mid_write_ends_exactly(tmp_path, fit_reference):
    # A kill before the first checkpoint leaves nothing listed: test_checkpoint_manager.py
    # reads the directory at that instant in-process, without a process to start and kill.
    _start_from(tmp_path, fit_reference)
    # 10 steps per epoch, a checkpoint every 4 steps (an epoch's end is saved once
    # every callback has finished that epoch), 3 newest kept.
    plan = [
        ("mid_epoch", ["--kill", "step:14"], ["ckpt-12", "ckpt-4", "ckpt-8"]),  # epoch 1, batch 4
        # resumes at ckpt-12 (epoch 1 after 2 batches); dies after epoch 1's logs, before its save
        ("epoch_end", ["--kill", "epoch_end:1"], ["ckpt-12", "ckpt-16", "ckpt-8"]),
        # resumes at ckpt-16 (epoch 1 after 6 batches); dies right after ckpt-20 is committed
        ("epoch_boundary", ["--kill", "epoch_begin:2"], ["ckpt-12", "ckpt-16", "ckpt-20"]),
        # resumes at ckpt-20; dies inside the background write of ckpt-24
        ("in_write", ["--kill", "write:24", "--async-write"], ["ckpt-12", "ckpt-16", "ckpt-20"]),
    ]
    for run, args, expected in plan:
        _check(_run(tmp_path, run, *args), KILLED)
        committed = [n for n in _listing(tmp_path) if not n.startswith(".tmp-")]
        assert committed == expected, run
    assert any(n.startswith(".tmp-ckpt-24-") for n in _listing(tmp_path))  # the half write

    finished = _run(tmp_path, "final")
    _check(finished, 0)
    assert json.loads(finished.stdout.strip().splitlines()[-1]) == {
        "history_epochs": [0, 1, 2],
        "resumed_epoch": 2,
    }
    assert _listing(tmp_path) == ["ckpt-24", "ckpt-28", "ckpt-30"]  # no leftovers
    _assert_same_weights(tmp_path, "final.npz", "reference.npz")

    logs = _epoch_logs(tmp_path)
    reference = dict(logs["reference"])
    assert [e for e, _ in logs["mid_epoch"]] == [0]
    assert [e for e, _ in logs["epoch_end"]] == [1]  # resumed mid-epoch 1
    assert [e for e, _ in logs["epoch_boundary"]] == [1]  # resumed mid-epoch 1 again
    assert [e for e, _ in logs["final"]] == [2]
    assert "in_write" not in logs
    for run in ("mid_epoch", "epoch_end", "epoch_boundary", "final"):
        for epoch, epoch_logs in logs[run]:
            # Loss, metrics (accumulated across the resume), validation and learning rate.
            _assert_epoch_logs_match(epoch_logs, reference[epoch])


def _assert_every_listed_checkpoint_is_whole(tmp_path, run):
    from keras_ext.checkpoint import _checkpoint_files as files

    for _, path in files.list_checkpoints(str(tmp_path / "ckpt")):
        files.read_checkpoint(path)  # raises CorruptCheckpointError for a torn one
    assert not any(n.startswith("ckpt-") and "." in n for n in _listing(tmp_path)), run


def test_fit_killed_inside_the_rename_after_it_and_while_deleting_ends_exactly(tmp_path, fit_reference):
    """Kills in the commit rename, right after it (before rotation) and halfway through a delete."""
    _start_from(tmp_path, fit_reference)
    plan = [
        ("rename", ["--kill", "rename:8"]),  # ckpt-8 written, not renamed in: resumes at ckpt-4
        ("renamed", ["--kill", "renamed:16"]),  # ckpt-16 committed, ckpt-4 not yet rotated out
        ("delete", ["--kill", "delete:any"]),  # a rotated-out checkpoint half deleted
    ]
    for run, args in plan:
        _check(_run(tmp_path, run, *args), KILLED)
        _assert_every_listed_checkpoint_is_whole(tmp_path, run)
    listing = _listing(tmp_path)
    assert "ckpt-16" in listing and any(n.startswith(".trash-ckpt-") for n in listing), listing

    finished = _run(tmp_path, "final")
    _check(finished, 0)
    assert _listing(tmp_path) == ["ckpt-24", "ckpt-28", "ckpt-30"]  # no leftovers
    _assert_same_weights(tmp_path, "final.npz", "reference.npz")
    reference = dict(_epoch_logs(tmp_path)["reference"])
    for epoch, epoch_logs in _epoch_logs(tmp_path)["final"]:
        _assert_epoch_logs_match(epoch_logs, reference[epoch])


def test_fit_with_checkpoints_in_a_bucket_killed_mid_epoch_ends_exactly_with_3_committed_left(
    tmp_path, fit_reference
):
    with serving_bucket("sigkill"):  # this process's AWS variables point at it, and so its children's
        url = "s3://sigkill/run"
        _start_from(tmp_path, fit_reference)
        # save_freq 5, 3 kept; killed in epoch 1 (of 3, 10 steps each), after ckpt-5 and ckpt-10.
        _check(_run(tmp_path, "mid_epoch", "--kill", "step:14", "--save-freq", "5", directory=url), KILLED)
        finished = _run(tmp_path, "final", "--save-freq", "5", directory=url)
        _check(finished, 0)
        assert json.loads(finished.stdout.strip().splitlines()[-1])["resumed_epoch"] == 1
        from keras_ext.checkpoint import _checkpoint_files as files

        committed = files.list_checkpoints(url)
        assert [step for step, _ in committed] == [20, 25, 30]
        for _, path in committed:
            files.read_checkpoint(path)  # whole: sizes and SHA-256 as the manifest says
        stored = {p.split("/")[2] for p in s3_filesystem().find("sigkill/run")} - {LEASE_NAME}
        assert stored == {"ckpt-20", "ckpt-25", "ckpt-30"}  # retention deleted the rest in the bucket
    _assert_same_weights(tmp_path, "final.npz", "reference.npz")
    reference = dict(_epoch_logs(tmp_path)["reference"])
    for epoch, epoch_logs in _epoch_logs(tmp_path)["final"]:
        _assert_epoch_logs_match(epoch_logs, reference[epoch])


def test_trainer_killed_mid_epoch_and_mid_write_ends_exactly(tmp_path):
    _check(_run(tmp_path, "reference", "--reference", "--trainer", weights="reference.npz"), 0)
    _check(_run(tmp_path, "mid_epoch", "--trainer", "--kill", "step:14"), KILLED)
    assert _listing(tmp_path) == ["ckpt-12", "ckpt-4", "ckpt-8"]
    # Resumes at ckpt-12 (epoch 1 after 2 batches), dies inside the write of ckpt-24.
    _check(_run(tmp_path, "in_write", "--trainer", "--kill", "write:24", "--async-write"), KILLED)
    finished = _run(tmp_path, "final", "--trainer")
    _check(finished, 0)
    assert json.loads(finished.stdout.strip().splitlines()[-1]) == {
        "history_epochs": [0, 1, 2],
        "resumed_epoch": 2,
    }
    assert _listing(tmp_path) == ["ckpt-24", "ckpt-28", "ckpt-30"]
    _assert_same_weights(tmp_path, "final.npz", "reference.npz")
    logs = _epoch_logs(tmp_path)
    reference = dict(logs["reference"])
    assert [e for e, _ in logs["in_write"]] == [1] and [e for e, _ in logs["final"]] == [2]
    _assert_epoch_logs_match(logs["final"][0][1], reference[2])
    # The epoch resumed mid-way: loss and metrics accumulated across the resume,
    # validation and learning rate all match the uninterrupted run.
    _assert_epoch_logs_match(logs["in_write"][0][1], reference[1])
