"""One writer per checkpoint directory: CheckpointManager's and Checkpointer's share of the directory lock.

The lock (`keras_ext._directory_lock`) is an operating-system file lock on
`PARENT/.NAME.lock` beside the checkpoint directory `PARENT/NAME`, with the
holder's pid, host and start time in `PARENT/.NAME.lock.json`. Beside, not
in it: nothing in the directory may be mistaken for a checkpoint or left
over by a write (`list_checkpoints`, `remove_leftovers`), a listing of it
shows checkpoints only, and a directory deleted for a fresh start keeps its
lock.

It is held per process, not per object: every manager and checkpointer of
one process on one directory shares the hold (a script that trains twice,
a fit called again, a manager made anew for a rerun), and the lock goes
back when the last of them lets go. A second process is refused at once
with `CheckpointDirectoryBusyError`, a ValueError naming the holder. Only
a writer takes it: in a job of several processes, the chief. A checkpoint directory at a URL
(`s3://...`) has no lock yet: a warning says so.
"""

import warnings
import weakref

from keras_ext import _directory_lock
from keras_ext.checkpoint import _locations as locations


class CheckpointDirectoryBusyError(ValueError):
    """Another live process writes checkpoints to this directory (its pid and host are in the message)."""


_PROCESS = _directory_lock.ProcessShared()
_WARNED_URLS = set()  # each URL's missing lock is said once per process


class WriterLock:
    """One object's share of this process's hold on a checkpoint directory; let go when it is collected."""

    def __init__(self, directory):
        self.directory = directory
        self._release = None  # a weakref.finalize while held: released at collection or exit too

    @property
    def held(self):
        return self._release is not None and self._release.alive

    def acquire(self):
        """Hold the directory (again a no-op); raise CheckpointDirectoryBusyError if another process does."""
        if self.held:
            return
        if locations.is_url(self.directory):
            # An operating-system file lock cannot cover a bucket, and no lock in the store is built yet.
            if self.directory in _WARNED_URLS:
                return
            _WARNED_URLS.add(self.directory)
            warnings.warn(
                f"checkpoint directory {self.directory!r}: the one-writer lock covers local directories "
                "only; nothing stops a second process from writing to this URL too.",
                stacklevel=4,
            )
            return
        try:
            key = _PROCESS.acquire(self.directory)
        except _directory_lock.DirectoryBusy as e:
            raise CheckpointDirectoryBusyError(
                f"checkpoint directory {self.directory!r} is in use: {_directory_lock.describe_holder(e.holder)} "
                "writes its checkpoints; one process writes a directory at a time: wait for it to end, "
                "or use another directory"
            ) from None
        except OSError as e:
            # A directory whose parent is not writable (a mount point, say) can still be written.
            warnings.warn(
                f"checkpoint directory {self.directory!r}: cannot take the one-writer lock beside it ({e}); "
                "nothing stops a second process from writing there too.",
                stacklevel=4,
            )
            return
        self._release = weakref.finalize(self, _PROCESS.release, key)

    def release(self):
        if self._release is not None:
            self._release()  # runs once
            self._release = None

    def hold_if(self, writer):
        """Hold the directory if this process writes it (`writer`), else let go of it."""
        if writer:
            self.acquire()
        else:
            self.release()
