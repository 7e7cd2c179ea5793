"""One search per keras-tuner project at a time: an OS file lock beside the project directory.

Two tuners on one project each run every trial and overwrite each other's
files (keras-tuner has no guard). `hold_project` takes an exclusive
`filelock` lock on `DIRECTORY/.PROJECT.lock`; the operating system drops it
when its process ends, however it ends, so a killed search never blocks the
next. Who holds it (pid, host, start time) is written to
`DIRECTORY/.PROJECT.lock.json`, so a refused process can say whom it waits
for. Both files sit beside the project directory, not in it, because
`overwrite=True` deletes the project directory.
"""

import contextlib
import os
import socket
import time

import filelock

from keras_ext._io import read_json
from keras_ext._io import write_json_atomically


class ProjectBusyError(RuntimeError):
    """Another live process is searching this keras-tuner project."""


def lock_paths(directory, project_name):
    base = os.path.join(os.fspath(directory), f".{project_name}.lock")
    return base, base + ".json"


@contextlib.contextmanager
def hold_project(directory, project_name):
    """Hold the project's lock for the duration of the block; raise ProjectBusyError at once if taken."""
    lock_path, holder_path = lock_paths(directory, project_name)
    os.makedirs(os.fspath(directory), exist_ok=True)
    lock = filelock.FileLock(lock_path)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise ProjectBusyError(
            _busy_message(directory, project_name, read_json_quietly(holder_path))
        ) from None
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    try:
        write_json_atomically(holder_path, me)
        yield
    finally:
        # A later holder may have rewritten it only after this release; until then it is ours.
        if read_json_quietly(holder_path) == me:
            with contextlib.suppress(FileNotFoundError):
                os.remove(holder_path)
        lock.release()


def read_json_quietly(path):
    """The holder record, or None while it is missing or half-written by its holder."""
    try:
        return read_json(path)
    except ValueError:
        return None


def _busy_message(directory, project_name, holder):
    project = os.path.join(os.fspath(directory), project_name)
    if holder:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("started", 0)))
        who = f"pid {holder.get('pid')} on host {holder.get('host')} (since {since})"
    else:
        who = "another process (it has not recorded its pid yet)"
    return (
        f"project {project} is being searched by {who}; wait for it to finish or use another "
        "project name or directory (to share one search, run a chief and workers)"
    )
