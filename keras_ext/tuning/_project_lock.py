"""One search per keras-tuner project at a time: the shared directory lock, on the project directory.

Two tuners on one project each run every trial and overwrite each other's
files (keras-tuner has no guard). `hold_project` takes an exclusive lock
(`keras_ext_cli.directory_lock`) on `DIRECTORY/.PROJECT.lock`, beside the
project directory (`overwrite=True` deletes the project directory), with
the holder's pid, host and start time in `DIRECTORY/.PROJECT.lock.json`.
The operating system drops it when its process ends, so a killed search
never blocks the next.
"""

import contextlib
import os

from keras_ext_cli import directory_lock


class ProjectBusyError(RuntimeError):
    """Another live process is searching this keras-tuner project."""


@contextlib.contextmanager
def hold_project(directory, project_name):
    """Hold the project's lock for the duration of the block; raise ProjectBusyError at once if taken."""
    project = os.path.join(os.fspath(directory), project_name)
    lock = directory_lock.DirectoryLock(project)
    try:
        lock.acquire()
    except directory_lock.DirectoryBusy as e:
        raise ProjectBusyError(directory_lock.project_busy(project, e.holder)) from None
    try:
        yield
    finally:
        lock.release()
