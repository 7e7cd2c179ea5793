"""Start the processes of a local multi-process job on 127.0.0.1, and always stop them.

Every test that starts workers goes through `started`: however the test ends
(an assertion, a timeout, an error), no worker is left running.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = [sys.executable, "-m", "keras_ext.cli.main"]


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config_envs(count):
    """One environment per TensorFlow worker: TF_CONFIG naming all, with the worker's own index."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(count)]}
    return [
        {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
        for i in range(count)
    ]


def keras_distribution_envs(count):
    """One environment per JAX process: Keras's KERAS_DISTRIBUTION_* variables."""
    addresses = ",".join(f"127.0.0.1:{p}" for p in free_ports(count))
    return [
        {
            "KERAS_DISTRIBUTION_JOB_ADDRESSES": addresses,
            "KERAS_DISTRIBUTION_NUM_PROCESSES": str(count),
            "KERAS_DISTRIBUTION_PROCESS_ID": str(i),
        }
        for i in range(count)
    ]


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
