"""One writer per checkpoint directory: CheckpointManager's and Checkpointer's share of the directory lock.

The lock (`keras_ext_cli.directory_lock`) is an operating-system file lock on
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
(`s3://...`) is held by a lease object in the store instead
(`_remote_lease`), shared by the process the same way.
"""

import warnings
import weakref

from keras_ext.checkpoint import _locations as locations
from keras_ext.checkpoint import _remote_files as remote
from keras_ext.checkpoint import _remote_lease as lease
from keras_ext_cli import directory_lock


class CheckpointDirectoryBusyError(ValueError):
    """Another live process writes checkpoints to this directory (its pid and host are in the message)."""


_PROCESS = directory_lock.ProcessShared()
# At a URL: a lease object in the store (`_remote_lease`), shared the same way.
_LEASES = directory_lock.ProcessShared(make_lock=lease.RemoteLease, key=lambda url: url)


def check_still_held(directory):
    """Raise CheckpointDirectoryBusyError if this process held `directory`'s lease and lost it.

    Called before every checkpoint write: a writer whose lease was taken over
    must not write beside the new holder. A local lock cannot be lost.
    """
    held = _LEASES.held(directory) if locations.is_url(directory) else None
    if held is None:
        return
    try:
        held.check()
    except directory_lock.DirectoryBusy as e:
        raise CheckpointDirectoryBusyError(
            f"checkpoint directory {directory!r}: {e}; not writing this checkpoint, so as not to write "
            "beside the new holder"
        ) from None


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
        shared = _LEASES if locations.is_url(self.directory) else _PROCESS
        try:
            key = shared.acquire(self.directory)
        except directory_lock.DirectoryBusy as e:
            lease_note = (
                f" (or for its lease to run out, {lease.lease_seconds():g} s after its last renewal)"
                if shared is _LEASES
                else ""
            )
            raise CheckpointDirectoryBusyError(
                directory_lock.checkpoint_directory_busy(self.directory, e.holder, lease_note)
            ) from None
        except remote.StorageError:
            raise  # a store that cannot be reached: no lease, and no checkpoint either
        except OSError as e:
            # A directory whose parent is not writable (a mount point, say) can still be written.
            warnings.warn(
                f"checkpoint directory {self.directory!r}: cannot take the one-writer lock beside it ({e}); "
                "nothing stops a second process from writing there too.",
                stacklevel=4,
            )
            return
        self._shared, self._key = shared, key
        # Collected: the release is queued (a finalizer may run in any thread, see ProcessShared);
        # at exit ProcessShared.release_all lets go of what is left.
        self._release = weakref.finalize(self, shared.release_later, key)
        self._release.atexit = False

    def release(self):
        if self._release is not None and self._release.detach() is not None:
            self._shared.release(self._key)  # here and now
        self._release = None

    def hold_if(self, writer):
        """Hold the directory if this process writes it (`writer`), else let go of it."""
        if writer:
            self.acquire()
        else:
            self.release()
