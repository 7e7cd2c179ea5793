"""Run Python code in a fresh interpreter, as a user's new process would."""

import os
import signal
import subprocess
import sys
import textwrap
import time


def run_fresh_python(code, timeout=300, env=None, check=True):
    """Run `code` in a new `python -c` process; return the CompletedProcess.

    The child inherits KERAS_BACKEND, so tests run under either backend check
    that backend's loading.
    """
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"fresh process failed with exit code {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
    return proc


def start_until(command, ready, never, timeout=240, **popen_kwargs):
    """Start `command` in a session of its own (stdout discarded, stderr piped); return it once `ready()`.

    If it ends first, or `timeout` seconds pass (the assertion message is
    `never`), it is killed with its children and the test fails with the end
    of its stderr.
    """
    proc = subprocess.Popen(
        command,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        **popen_kwargs,
    )
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.monotonic() < deadline, never
            time.sleep(0.05)
    except BaseException:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        raise
    return proc


def kill_group(proc):
    """SIGKILL the process and everything it started; wait so no zombie is left."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
