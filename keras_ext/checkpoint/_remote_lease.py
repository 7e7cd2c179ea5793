"""One writer per checkpoint URL: a lease object in the store, naming its holder, kept alive by a heartbeat.

An operating-system lock cannot cover a bucket. At a URL, the writer holds
`URL/.keras_ext-writer.json` instead: its pid, host, start time and the
time it last renewed the lease, with a token of its own.

- **Taken** with an exclusive create (`mode="create"`: S3's conditional
  `If-None-Match: *` put, GCS's generation precondition, an exclusive open
  in memory://), so of two writers starting at once, one gets it and the
  other is refused, naming the first.
- **Kept** by a heartbeat thread, which rewrites the record every quarter
  of the lease time (`KERAS_EXT_LEASE_SECONDS`, 60 s by default).
- **Free** once not renewed for the lease time: a killed holder blocks a
  rerun for at most that long, and not at all on the same host, where a
  holder whose pid is dead (or is this process, which would share a live
  lease rather than take it again) is free at once. Taking over a free lease is a
  delete and an exclusive create; the holder's clocks are assumed to agree
  within a few seconds.
- **Lost** when the heartbeat finds another writer's token in the record
  (a writer that took over a lease this one had not renewed in time) or
  cannot renew for the whole lease time: the next checkpoint write then
  raises instead of writing beside the new holder.
- **Given back** at release: the record is deleted if it is still this
  writer's.
"""

import json
import os
import socket
import threading
import time

from keras_ext.checkpoint import _locations as locations
from keras_ext.checkpoint import _remote_files as remote
from keras_ext_cli.directory_lock import DirectoryBusy
from keras_ext_cli.directory_lock import describe_holder

LEASE_NAME = ".keras_ext-writer.json"
DEFAULT_LEASE_SECONDS = 60.0


def lease_seconds():
    """The lease time: `KERAS_EXT_LEASE_SECONDS` if set (a positive number), else 60 s."""
    try:
        value = float(os.environ.get("KERAS_EXT_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))
    except ValueError:
        return DEFAULT_LEASE_SECONDS
    return value if value > 0 else DEFAULT_LEASE_SECONDS


class RemoteLease:
    """The lease of one checkpoint URL, as `directory_lock.ProcessShared` drives a lock: acquire, release."""

    def __init__(self, url):
        self.url = url
        self.token = locations.unique_token()
        self.lost = None  # why this writer no longer holds the lease, once it does not
        self._started = time.time()
        self._stop = threading.Event()
        self._heartbeat = None

    def _where(self):
        fs, root = remote._filesystem(self.url)
        return fs, f"{root}/{LEASE_NAME}"

    def _record(self):
        return {
            "token": self.token,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": self._started,
            "renewed": time.time(),
            "lease_seconds": lease_seconds(),
        }

    def holder(self):
        """The record in the store: a dict, None if there is none, {} if it does not parse."""
        fs, path = self._where()
        try:
            data = fs.cat_file(path)
        except FileNotFoundError:
            return None
        try:
            record = json.loads(data)
        except ValueError:
            return {}
        return record if isinstance(record, dict) else {}

    def acquire(self):
        """Take the lease; raise DirectoryBusy naming the holder if a live writer has it."""
        try:
            self._take()
        except (DirectoryBusy, remote.StorageError):
            raise
        except Exception as e:  # noqa: BLE001 - the store's own errors, as one type
            raise remote.StorageError(f"checkpoint storage {self.url}: {type(e).__name__}: {e}") from e
        self._heartbeat = threading.Thread(target=self._beat, name="keras_ext lease heartbeat", daemon=True)
        self._heartbeat.start()

    def _take(self):
        fs, path = self._where()
        for _ in range(3):
            try:
                fs.pipe_file(path, json.dumps(self._record()).encode("utf-8"), mode="create")
                return
            except FileExistsError:
                holder = self.holder()
                if holder is None:
                    continue  # given back meanwhile: try again
                if not is_free(holder):
                    raise DirectoryBusy(self.url, holder) from None
                try:
                    fs.rm_file(path)  # free: take it over
                except FileNotFoundError:
                    pass
        raise DirectoryBusy(self.url, self.holder())

    def _beat(self):
        interval = lease_seconds() / 4
        last_renewal = time.monotonic()
        while not self._stop.wait(interval):
            try:
                holder = self.holder()
                if not holder or holder.get("token") != self.token:
                    self.lost = f"{describe_holder(holder)} holds it now"
                    return
                fs, path = self._where()
                fs.pipe_file(path, json.dumps(self._record()).encode("utf-8"))
                last_renewal = time.monotonic()
            except Exception as e:  # noqa: BLE001 - a store that fails now may answer at the next beat
                if time.monotonic() - last_renewal > lease_seconds():
                    self.lost = f"it could not be renewed for {lease_seconds():g} s ({type(e).__name__}: {e})"
                    return

    def check(self):
        """Raise DirectoryBusy if the lease was lost (see the module docstring)."""
        if self.lost is not None:
            raise DirectoryBusy(self.url, None, reason=f"this process lost its writer lease: {self.lost}")

    def release(self):
        """Stop the heartbeat and delete the record if it is still this writer's."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        try:
            holder = self.holder()
            if holder and holder.get("token") == self.token:
                fs, path = self._where()
                fs.rm_file(path)
        except Exception:  # noqa: BLE001 - a store gone at release: the lease runs out by itself
            pass


def is_free(holder):
    """Whether a lease record may be taken over: not renewed for its lease time, or its holder
    is a dead process on this host, or this process. A record that does not parse counts as
    renewed never."""
    renewed = holder.get("renewed") if isinstance(holder.get("renewed"), (int, float)) else 0.0
    seconds = holder.get("lease_seconds") if isinstance(holder.get("lease_seconds"), (int, float)) else None
    if time.time() - renewed > (seconds or lease_seconds()):
        return True
    # On this host: a dead holder, or this very process, whose own live lease would have been
    # shared rather than taken again (a release whose delete failed, a store down at the time).
    pid = holder.get("pid")
    return holder.get("host") == socket.gethostname() and (pid == os.getpid() or not _alive(pid))


def _alive(pid):
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
