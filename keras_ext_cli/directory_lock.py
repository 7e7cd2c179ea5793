"""One writer per directory: an operating-system file lock beside the directory, naming its holder.

Used by `keras-ext tune` (one search per keras-tuner project) and by
`CheckpointManager` / `Checkpointer` (one writer per checkpoint directory),
and by `keras-ext train` before Keras starts (`holder_if_held`), to refuse a
checkpoint directory in use in a second. It imports no Keras: it lives in
`keras_ext_cli` so that the command line can use it before the backend starts.
`DirectoryLock(path)` takes an exclusive `filelock` lock on
`PARENT/.NAME.lock`, where `path` is `PARENT/NAME`; the operating system
drops it when its process ends, however it ends, so a killed holder never
blocks the next. Who holds it (pid, host, start time) is written to
`PARENT/.NAME.lock.json`, so a refused process can say whom it waits for.

Both files sit beside the directory, not in it: a directory may be deleted
whole (keras-tuner's `overwrite=True`, a user's `rm -rf` before a fresh
start) while its lock must stay, and nothing in the directory can then be
mistaken for a checkpoint or a trial, or change a listing of it.
"""

import contextlib
import os
import socket
import threading
import time

import filelock

from keras_ext_cli.files import read_json
from keras_ext_cli.files import write_json_atomically


class DirectoryBusy(Exception):
    """The lock is held by another holder; `holder` is its record (pid, host, started) or None.

    `reason`, when given, says why in other words (a lease this process lost).
    """

    def __init__(self, path, holder, reason=None):
        super().__init__(reason or f"{path} is held by {describe_holder(holder)}")
        self.path = path
        self.holder = holder
        self.reason = reason


def lock_paths(path):
    """`(lock file, holder record)` of `path`: hidden files beside it, in its parent directory."""
    path = os.path.realpath(os.fspath(path))
    base = os.path.join(os.path.dirname(path), f".{os.path.basename(path) or 'root'}.lock")
    return base, base + ".json"


class DirectoryLock:
    """An exclusive lock on `path` that is never waited for: `acquire` raises `DirectoryBusy` at once.

    Two `DirectoryLock`s refuse each other even within one process (the
    operating-system lock belongs to the open file); re-entrant per object.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self.lock_path, self.holder_path = lock_paths(path)
        # thread_local=False: the holder may release from another thread (a finalizer).
        self._lock = filelock.FileLock(self.lock_path, thread_local=False)
        self._me = None

    @property
    def is_held(self):
        return self._lock.is_locked

    def acquire(self):
        """Take the lock; raise `DirectoryBusy` naming the holder if another holds it."""
        if self._lock.is_locked:
            self._lock.acquire(timeout=0)  # re-entrant: counted, released as often
            return
        os.makedirs(os.path.dirname(self.lock_path), exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            raise DirectoryBusy(self.path, read_holder(self.holder_path)) from None
        self._me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        try:
            write_json_atomically(self.holder_path, self._me)
        except BaseException:
            self._lock.release(force=True)
            raise

    def release(self):
        """Give the lock back (once per `acquire`); the holder record goes with the last release."""
        if not self._lock.is_locked:
            return
        if self._lock.lock_counter == 1:
            # A later holder may have rewritten it only after this release; until then it is ours.
            if read_holder(self.holder_path) == self._me:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.holder_path)
        self._lock.release()


def read_holder(path):
    """The holder record, or None while it is missing or half-written by its holder."""
    try:
        return read_json(path)
    except ValueError:
        return None


def describe_holder(holder):
    """'pid P on host H (since T)', or what can be said without a record."""
    if not holder:
        return "another process (it has not recorded its pid yet)"
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("started", 0)))
    return f"pid {holder.get('pid')} on host {holder.get('host')} (since {since})"


def checkpoint_directory_busy(directory, holder, lease_note=""):
    """The one-line refusal of a checkpoint directory another process writes (the library's and the CLI's)."""
    return (
        f"checkpoint directory {directory!r} is in use: {describe_holder(holder)} writes its checkpoints; "
        f"one process writes a directory at a time: wait for it to end{lease_note}, or use another directory"
    )


def holder_if_held(path):
    """The holder's record if another live process holds `path`'s lock, else None; makes no lock file.

    A look before the real hold (taken later, by the writer itself): a path
    never locked has no lock file, and none is made here.
    """
    lock_file, _ = lock_paths(path)
    if not os.path.exists(lock_file):
        return None
    lock = DirectoryLock(path)
    try:
        lock.acquire()
    except DirectoryBusy as e:
        if e.holder and e.holder.get("pid") == os.getpid() and e.holder.get("host") == socket.gethostname():
            return None  # this process holds it already (its writers share one hold)
        return e.holder or {}
    lock.release()
    return None


class ProcessShared:
    """Locks a whole process holds together: every holder in this process shares one `DirectoryLock`.

    The lock stops a second *process*; objects of one process (a manager
    created again for a second run, a fit called twice) share it, and it is
    released when the last of them lets go. Keyed by the real path, so two
    spellings of one directory are one lock.
    """

    def __init__(self, make_lock=None, key=None):
        # A lock of another kind (a lease in a bucket) plugs in with its own maker and key.
        self._make_lock = make_lock or DirectoryLock
        self._key = key or (lambda path: os.path.realpath(os.fspath(path)))
        self._guard = threading.Lock()
        self._held = {}  # key -> [lock, number of holders]
        os.register_at_fork(after_in_child=self._held.clear)  # a child holds nothing of its own

    def held(self, path):
        """This process's lock on `path`, or None."""
        with self._guard:
            entry = self._held.get(self._key(path))
        return None if entry is None else entry[0]

    def acquire(self, path):
        """Join this process's hold on `path`, taking the lock first if no one here holds it."""
        key = self._key(path)
        with self._guard:
            entry = self._held.get(key)
            if entry is None:
                lock = self._make_lock(path)
                lock.acquire()  # DirectoryBusy: another process holds it
                entry = self._held[key] = [lock, 0]
            entry[1] += 1
        return key

    def release(self, key):
        with self._guard:
            entry = self._held.get(key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] <= 0:
                del self._held[key]
                entry[0].release()
