"""Run Python code in a fresh interpreter, as a user's new process would."""

import os
import subprocess
import sys
import textwrap


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
