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

import atexit
import contextlib
import os
import queue
import socket
import threading
import time
import warnings

import filelock

from keras_ext_cli.errors import UsageError
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


def project_busy(project, holder):
    """The one-line refusal of a keras-tuner project another live search holds (the library's and the CLI's)."""
    return (
        f"project {project} is being searched by {describe_holder(holder)}; wait for it "
        "to finish or use another project name or directory (to share one search, run a chief and workers)"
    )


def refuse_if_held(path, refusal):
    """Raise UsageError(refusal(path, holder)) if another live process holds `path`'s lock.

    The command line's look before Keras starts; the writer takes the lock
    itself later. A path that cannot be looked at (OSError) is left to that
    writer, which says what is wrong with it.
    """
    try:
        holder = holder_if_held(path)
    except OSError:
        return
    if holder is not None:
        raise UsageError(refusal(path, holder))


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

    A holder let go by the garbage collector (`release_later`, a
    `weakref.finalize` callback) only queues its release: the collector
    runs finalizers in whatever thread allocates, fsspec's event loop among
    them, while this process's main thread may be waiting on that loop to
    take a lease in a bucket. A release done there would wait for the main
    thread, forever (seen in a test run). A thread of this object's own does
    the queued releases; whatever is still held when the interpreter exits
    is released then.
    """

    def __init__(self, make_lock=None, key=None):
        # A lock of another kind (a lease in a bucket) plugs in with its own maker and key.
        self._make_lock = make_lock or DirectoryLock
        self._key = key or (lambda path: os.path.realpath(os.fspath(path)))
        self._fresh_state()
        # A child holds nothing of its own, and the threads and locks of its parent are not its own.
        os.register_at_fork(after_in_child=self._fresh_state)
        atexit.register(self.release_all)

    def _fresh_state(self):
        # Taking or giving back a lock may wait (a lease in a bucket is network calls): `_taking`
        # orders those; `_guard` only ever covers the table, never a wait.
        self._taking = threading.Lock()
        self._guard = threading.Lock()
        self._held = {}  # key -> [lock, number of holders]
        self._later = queue.SimpleQueue()  # keys whose holders were collected (put() is safe in a finalizer)
        self._releaser = None

    def held(self, path):
        """This process's lock on `path`, or None."""
        with self._guard:
            entry = self._held.get(self._key(path))
        return None if entry is None else entry[0]

    def acquire(self, path):
        """Join this process's hold on `path`, taking the lock first if no one here holds it."""
        key = self._key(path)
        self._start_releaser()
        with self._taking:
            with self._guard:
                entry = self._held.get(key)
                if entry is not None:
                    entry[1] += 1
                    return key
            lock = self._make_lock(path)
            lock.acquire()  # DirectoryBusy: another process holds it
            with self._guard:
                self._held[key] = [lock, 1]
        return key

    def release(self, key):
        """Let go of one holder's share; the lock goes back with the last one."""
        with self._taking:
            with self._guard:
                entry = self._held.get(key)
                if entry is None:
                    return
                entry[1] -= 1
                if entry[1] > 0:
                    return
                del self._held[key]
            entry[0].release()

    def release_later(self, key):
        """`release(key)` from this object's own thread: for a garbage-collector callback, which must not wait."""
        self._later.put(key)

    def release_all(self):
        """Release every lock this process holds (at interpreter exit)."""
        with self._guard:
            entries, self._held = list(self._held.values()), {}
        for lock, _ in entries:
            with contextlib.suppress(Exception):  # exiting: a store that cannot be reached keeps its lease
                lock.release()

    def _start_releaser(self):
        if self._releaser is None:
            self._releaser = threading.Thread(
                target=self._release_queued, name="keras_ext-lock-releaser", daemon=True
            )
            self._releaser.start()

    def _release_queued(self):
        while True:
            key = self._later.get()
            try:
                self.release(key)
            except Exception as e:  # noqa: BLE001  a release that fails must not end the thread
                warnings.warn(f"could not release the lock of {key}: {e}", stacklevel=1)
