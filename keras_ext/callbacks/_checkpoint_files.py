"""On-disk layout of CheckpointManager: atomic checkpoint directories with a verified manifest.

A checkpoint is a directory `ckpt-<global step>` holding

    state.npz       every variable value (model, optimizer, metrics)
    state.json      epoch, step, variable specs, callback states, ...
    MANIFEST.json   size and SHA-256 of the two files above; written last

It is written as `.tmp-ckpt-<step>-<pid>-<random>/` (each file flushed and
fsynced, then the directory), then renamed to `ckpt-<step>` in one
`os.replace`, and the parent directory is fsynced. A process killed at any
instant leaves either no `ckpt-<step>` or a complete one; left-over `.tmp-*`
and `.trash-*` entries are never read and are removed by the next run.
Reading verifies sizes and checksums before anything is used.
"""

import hashlib
import io
import json
import os
import re
import shutil
import uuid

import numpy as np

FORMAT_VERSION = 1
MANIFEST = "MANIFEST.json"
STATE_JSON = "state.json"
STATE_NPZ = "state.npz"
_NAME = re.compile(r"^ckpt-(\d+)$")


class CorruptCheckpointError(ValueError):
    """A checkpoint directory whose files do not match its manifest (or that has none)."""


def checkpoint_name(step):
    return f"ckpt-{int(step)}"


def list_checkpoints(directory):
    """`[(step, path)]` of the committed checkpoints in `directory`, oldest to newest by step."""
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = _NAME.match(name)
        path = os.path.join(directory, name)
        if match and os.path.isdir(path):
            found.append((int(match.group(1)), path))
    return sorted(found)


def remove_leftovers(directory):
    """Delete `.tmp-*` / `.trash-*` entries that a killed writer left behind."""
    if not os.path.isdir(directory):
        return
    for name in os.listdir(directory):
        if name.startswith((".tmp-ckpt-", ".trash-ckpt-")):
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)


def _fsync_directory(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def encode(arrays, state):
    """Serialise the arrays and the JSON state to bytes (done before any file is touched)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    state = {"format": FORMAT_VERSION, **state}
    return {
        STATE_NPZ: buffer.getvalue(),
        STATE_JSON: json.dumps(state, indent=1, sort_keys=True).encode("utf-8"),
    }


def write_checkpoint(directory, step, payload, before_commit=None):
    """Write `payload` ({file name: bytes}) as `directory/ckpt-<step>`, atomically; return its path.

    An existing `ckpt-<step>` (a run that went back to an older checkpoint)
    is replaced: moved to a `.trash-` name just before the new one is
    renamed in, then deleted.
    """
    os.makedirs(directory, exist_ok=True)
    name = checkpoint_name(step)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = os.path.join(directory, f".tmp-{name}-{token}")
    os.mkdir(tmp)
    try:
        manifest = {"format": FORMAT_VERSION, "step": int(step), "files": {}}
        for file_name, data in payload.items():
            _write_bytes(os.path.join(tmp, file_name), data)
            manifest["files"][file_name] = {
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        if before_commit is not None:
            before_commit(step, tmp)  # test hook: lets a test kill the process mid-write
        _write_bytes(os.path.join(tmp, MANIFEST), json.dumps(manifest, indent=1).encode("utf-8"))
        _fsync_directory(tmp)
        final = os.path.join(directory, name)
        trash = None
        if os.path.exists(final):
            trash = os.path.join(directory, f".trash-{name}-{token}")
            os.replace(final, trash)
        os.replace(tmp, final)
        _fsync_directory(directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
    return final


def delete_checkpoint(path):
    """Remove a checkpoint: renamed away first, so a half-deleted one is never listed."""
    directory, name = os.path.split(path)
    trash = os.path.join(directory, f".trash-{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        os.replace(path, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def read_checkpoint(path):
    """Verify and read a checkpoint; return `(arrays dict, state dict)` or raise CorruptCheckpointError."""
    manifest_path = os.path.join(path, MANIFEST)
    try:
        with open(manifest_path, "rb") as f:
            manifest = json.loads(f.read().decode("utf-8"))
        files = manifest["files"]
    except FileNotFoundError:
        raise CorruptCheckpointError(f"{path} has no {MANIFEST} (incomplete write)") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise CorruptCheckpointError(f"{manifest_path} is unreadable: {e}") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise CorruptCheckpointError(
            f"{path} has format {manifest.get('format')!r}; this version reads {FORMAT_VERSION}"
        )
    contents = {}
    for file_name in (STATE_NPZ, STATE_JSON):
        if file_name not in files:
            raise CorruptCheckpointError(f"{manifest_path} does not list {file_name}")
        try:
            with open(os.path.join(path, file_name), "rb") as f:
                data = f.read()
        except OSError as e:
            raise CorruptCheckpointError(f"cannot read {file_name} in {path}: {e}") from None
        expected = files[file_name]
        if len(data) != expected["size"]:
            raise CorruptCheckpointError(
                f"{os.path.join(path, file_name)} has {len(data)} bytes, the manifest says "
                f"{expected['size']} (truncated or overwritten)"
            )
        if hashlib.sha256(data).hexdigest() != expected["sha256"]:
            raise CorruptCheckpointError(
                f"{os.path.join(path, file_name)} does not match its SHA-256 in the manifest"
            )
        contents[file_name] = data
    state = json.loads(contents[STATE_JSON].decode("utf-8"))
    with np.load(io.BytesIO(contents[STATE_NPZ]), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    return arrays, state
