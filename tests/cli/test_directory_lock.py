"""`keras_ext_cli.directory_lock.holder_if_held`: the look `keras-ext train` and `keras-ext tune` take
before Keras starts.

The lock itself (refusal, a killed holder, one hold per process) is tested
through its users: tests/checkpoint/test_one_writer.py, tests/cli/test_tune.py.
"""

import os
import socket
import subprocess
import sys

import pytest

from keras_ext_cli import directory_lock
from keras_ext_cli.errors import UsageError
from keras_ext_cli.main import build_parser
from keras_ext_cli.tune import check_before_keras
from tests.subprocess_utils import kill_group
from tests.subprocess_utils import start_until

HOLD = """
import sys, time
from keras_ext_cli.directory_lock import DirectoryLock
lock = DirectoryLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_a_directory_never_locked_is_free_and_no_lock_file_is_made(tmp_path):
    assert directory_lock.holder_if_held(tmp_path / "ckpt") is None
    assert os.listdir(tmp_path) == []


@pytest.fixture
def held(tmp_path):
    """`(directory, holder process)`: another live process holds `tmp_path/ckpt`'s lock."""
    record = tmp_path / ".ckpt.lock.json"
    proc = start_until(
        [sys.executable, "-c", HOLD, str(tmp_path / "ckpt")], record.exists, "the holder never held"
    )
    yield tmp_path / "ckpt", proc
    kill_group(proc)
    proc.stderr.close()


def test_a_live_holder_is_named_and_a_killed_one_frees_the_directory(held):
    directory, proc = held
    holder = directory_lock.holder_if_held(directory)
    assert holder["pid"] == proc.pid and holder["host"] == socket.gethostname()
    kill_group(proc)
    assert directory_lock.holder_if_held(directory) is None  # its lock file is left, its lock is not


def test_this_process_s_own_hold_is_not_another_holder(tmp_path):
    lock = directory_lock.DirectoryLock(tmp_path / "ckpt")
    lock.acquire()
    try:
        assert directory_lock.holder_if_held(tmp_path / "ckpt") is None
    finally:
        lock.release()


def _main_without_keras(*argv):
    """`keras-ext ARGV` in a new process that fails if Keras was imported."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from keras_ext_cli.main import main; status = main(sys.argv[1:]); "
            "assert 'keras' not in sys.modules, 'Keras was imported'; sys.exit(status)",
            *argv,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_line_refuses_before_keras_is_imported(held, tmp_path):
    directory, proc = held
    refused = _main_without_keras(
        "train", "--checkpoint-dir", str(directory), "--output", str(tmp_path / "out")
    )
    assert refused.returncode == 2, refused.stderr
    assert f"is in use: pid {proc.pid} on host {socket.gethostname()}" in refused.stderr
    assert not (tmp_path / "out").exists()


def test_a_second_search_of_a_project_is_refused_before_keras_is_imported(held, tmp_path):
    project, proc = held  # as if a search of project "ckpt" in tmp_path held it
    refused = _main_without_keras("tune", "--directory", str(tmp_path), "--project-name", "ckpt")
    assert refused.returncode == 2, refused.stderr
    assert f"project {project} is being searched by pid {proc.pid} on host {socket.gethostname()}" in (
        refused.stderr
    )
    assert sorted(os.listdir(tmp_path)) == [".ckpt.lock", ".ckpt.lock.json"]  # nothing written


def test_a_worker_shares_the_chief_s_project_and_is_not_refused(held, tmp_path):
    def check(*role):
        args = build_parser().parse_args(
            ["tune", *role, "--directory", str(tmp_path), "--project-name", "ckpt"]
        )
        check_before_keras(args)

    check("--worker")
    with pytest.raises(UsageError, match="is being searched by"):
        check("--chief")
