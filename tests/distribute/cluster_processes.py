"""Start the processes of a local multi-process job on 127.0.0.1, and always stop them.

Every test that starts workers goes through `started`: however the test ends
(an assertion, a timeout, an error), no worker is left running.
"""

import contextlib
import os
import signal
import subprocess
import sys

from keras_ext.distribute.local_cluster import keras_distribution_envs  # noqa: F401 - re-exported
from keras_ext.distribute.local_cluster import tf_config_envs  # noqa: F401 - re-exported

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = [sys.executable, "-m", "keras_ext.cli.main"]


def base_env(**extra):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT, **extra}
    for name in ("TF_CONFIG", "KERAS_DISTRIBUTION_JOB_ADDRESSES"):
        env.pop(name, None)
    return env


@contextlib.contextmanager
def started(commands, envs, cwd=None):
    """Start one process per (command, env); yield the Popen list; kill what is left at exit."""
    procs = []
    try:
        for command, env in zip(commands, envs, strict=True):
            procs.append(
                subprocess.Popen(
                    command,
                    env=env,
                    cwd=cwd,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    start_new_session=True,  # the whole process group can be killed
                )
            )
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()


def finish(procs, timeout):
    """Wait for every process (reading its output as it comes); return [(returncode, output)]."""
    outputs = [proc.communicate(timeout=timeout)[0] for proc in procs]
    return [(proc.returncode, output) for proc, output in zip(procs, outputs, strict=True)]
