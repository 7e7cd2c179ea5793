"""Checkpoints at an fsspec URL (`s3://`, `gs://`, `memory://`, ...): the object-store protocol.

An object store has no atomic rename, so a checkpoint there is not written
aside and renamed in, as on a local disk (`_checkpoint_files`). It is
written in place, `URL/ckpt-<step>/state.npz` and `state.json` first, and
committed by `MANIFEST.json`, written last (as Orbax commits with a marker
written last). Readers list only `ckpt-<step>` prefixes that hold a
manifest, and still verify every file's size and SHA-256 against it, so a
partial upload is never chosen. Deleting takes the manifest away first, so
a half-deleted checkpoint is never listed either.

A `ckpt-<step>` without a manifest is a write in progress or one a killed
writer left. It is removed only once its newest file is older than
`LEFTOVER_AGE_SECONDS`: a write that is still going (this process's, or
another's) has written within that time, and is never deleted under it.
A prefix whose age cannot be read is kept.

A write that fails is tried again, up to WRITE_ATTEMPTS times with
exponential backoff, before its error reaches the caller (for an async
write, the training thread at its next batch end).

`file://` URLs never come here: `locations.check_directory` turns them into
local paths, which keep the local protocol and its guarantees.
"""

import datetime
import functools
import time
import warnings

from keras_ext.checkpoint import _locations as locations

MANIFEST = "MANIFEST.json"
# An uncommitted checkpoint younger than this may be a write still going: it is never removed.
LEFTOVER_AGE_SECONDS = 3600.0
# A write that fails is tried this many times in all, waiting 1, 2, 4, ... s between tries:
# a store that blinks (a dropped connection, a throttled request) costs a retry, not the run.
WRITE_ATTEMPTS = 4
FIRST_BACKOFF_SECONDS = 1.0


class StorageError(OSError):
    """The store could not be read (an endpoint gone, credentials refused): not a corrupt checkpoint.

    Kept apart from corruption, so that a storage outage never makes a reader
    skip, or set aside, a checkpoint that is whole.
    """


def _store_errors(function):
    """Raise what the store raises (botocore's, aiohttp's, gcsfs's errors) as one StorageError naming the URL.

    FileNotFoundError stays itself: it is an answer (no such file), not an outage.
    """

    @functools.wraps(function)
    def wrapper(url, *args, **kwargs):
        try:
            return function(url, *args, **kwargs)
        except (FileNotFoundError, StorageError):
            raise
        except Exception as e:  # noqa: BLE001 - each store raises its own errors: one type for the callers
            raise StorageError(f"checkpoint storage {url}: {type(e).__name__}: {e}") from e

    return wrapper


def _filesystem(url):
    """(fsspec filesystem, its path for `url`), with the listing cache emptied (another process writes too)."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    fs.invalidate_cache()
    return fs, path.rstrip("/")


def child(url, name):
    return f"{url.rstrip('/')}/{name}"


@_store_errors
def list_checkpoints(url, name_pattern):
    """`[(step, url)]` of the committed checkpoints under `url` (those with a manifest), oldest first."""
    fs, root = _filesystem(url)
    found = []
    for manifest in fs.glob(f"{root}/ckpt-*/{MANIFEST}"):
        name = manifest.rstrip("/").split("/")[-2]
        match = name_pattern.match(name)
        if match:
            found.append((int(match.group(1)), child(url, name)))
    return sorted(found)


@_store_errors
def is_checkpoint(url):
    fs, path = _filesystem(url)
    return fs.exists(f"{path}/{MANIFEST}")


@_store_errors
def read_bytes(url, file_name):
    """The bytes of `url/file_name`; FileNotFoundError if it is not there, OSError if it cannot be read."""
    fs, path = _filesystem(url)
    return fs.cat_file(f"{path}/{file_name}")


@_store_errors
def write_checkpoint(url, name, files_in_order, before_commit=None):
    """Upload `files_in_order` ([(file name, bytes)], the manifest last) as `url/name`; return its URL.

    A checkpoint of the same name (a run that went back to an older one) is
    uncommitted first, by deleting its manifest, so no reader takes a mix of
    the two. A failed upload removes what it wrote, as far as it can, and
    leaves no manifest.
    """
    fs, root = _filesystem(url)
    path = f"{root}/{name}"
    if fs.exists(f"{path}/{MANIFEST}"):
        fs.rm_file(f"{path}/{MANIFEST}")
    # Only from here on is `path` this write's own (uncommitted): a failure before this line
    # (the store unreachable) must not go on to delete a checkpoint that is still committed.
    committed = False
    try:
        for file_name, data in files_in_order:
            if file_name == MANIFEST and before_commit is not None:
                before_commit()  # test hook: lets a test kill the process before the commit
            fs.pipe_file(f"{path}/{file_name}", data)
        committed = True
    finally:
        if not committed:
            _remove_quietly(fs, path)
    return child(url, name)


def write_checkpoint_with_retries(url, name, files_in_order, before_commit=None):
    """`write_checkpoint`, tried WRITE_ATTEMPTS times with exponential backoff on a StorageError.

    Each try starts over (the manifest of a half-written try was never
    uploaded). The last try's error is raised as one StorageError that
    names the URL, the checkpoint and the number of tries.
    """
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return write_checkpoint(url, name, files_in_order, before_commit)
        except StorageError as e:
            if attempt == WRITE_ATTEMPTS:
                raise StorageError(
                    f"checkpoint storage {url}: writing {name} failed {attempt} times; the last: {e}"
                ) from e
            wait = FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1)
            warnings.warn(
                f"{e}; writing {name} again in {wait:g} s (try {attempt + 1} of {WRITE_ATTEMPTS})",
                stacklevel=2,
            )
            time.sleep(wait)


@_store_errors
def delete_checkpoint(url):
    """Remove a checkpoint: its manifest first, so a half-deleted one is never listed."""
    fs, path = _filesystem(url)
    if not fs.exists(path):
        return
    try:
        fs.rm_file(f"{path}/{MANIFEST}")
    except FileNotFoundError:
        pass
    _remove_quietly(fs, path)


@_store_errors
def remove_leftovers(url, name_pattern, now=None):
    """Remove the uncommitted `ckpt-<step>` prefixes whose newest file is older than LEFTOVER_AGE_SECONDS."""
    fs, root = _filesystem(url)
    if not fs.exists(root):
        return
    now = time.time() if now is None else now
    for entry in fs.ls(root, detail=False):
        name = entry.rstrip("/").split("/")[-1]
        if not name_pattern.match(name) or fs.exists(f"{entry}/{MANIFEST}"):
            continue
        newest = _newest_modification(fs, entry)
        if newest is not None and now - newest > LEFTOVER_AGE_SECONDS:
            _remove_quietly(fs, entry)


def set_aside(url):
    """Move an unusable checkpoint to `ckpt-<step>.corrupt[N]` (never listed again); return the new URL or None."""
    fs, path = _filesystem(url)
    target, suffix = f"{path}.corrupt", 1
    while fs.exists(target):
        suffix += 1
        target = f"{path}.corrupt{suffix}"
    try:
        fs.mv(path, target, recursive=True)
    except Exception:  # noqa: BLE001 - left where it is, still skipped by the next reader
        return None
    return f"{url}{target[len(path) :]}"


@_store_errors
def probe_writable(url):
    """Write and delete one small object under `url`; raise StorageError naming the cause if that fails
    (a dead endpoint, refused credentials, a missing bucket)."""
    fs, root = _filesystem(url)
    probe = f"{root}/.keras_ext-probe-{locations.unique_token()}"
    fs.pipe_file(probe, b"")
    fs.rm_file(probe)


def _newest_modification(fs, path):
    """The newest modification time (seconds since the epoch) of the files under `path`, or None."""
    newest = None
    try:
        for file_path in fs.find(path):
            stamp = fs.modified(file_path)
            if isinstance(stamp, datetime.datetime):
                if stamp.tzinfo is None:
                    stamp = stamp.replace(tzinfo=datetime.timezone.utc)
                stamp = stamp.timestamp()
            newest = stamp if newest is None else max(newest, stamp)
    except Exception:  # noqa: BLE001 - no way to tell its age: keep it
        return None
    return newest


def _remove_quietly(fs, path):
    try:
        fs.rm(path, recursive=True)
    except Exception:  # noqa: BLE001 - what is left is uncommitted: readers skip it, a later run removes it
        pass
