"""On-disk layout of CheckpointManager: atomic checkpoint directories with a verified manifest.

A checkpoint is a directory `ckpt-<global step>` holding

    state.npz       every variable value (model, optimizer, metrics), and under
                    MirroredStrategy each device's copy that differs from the first
    state.json      epoch, step, variable specs, callback states, ...
    MANIFEST.json   size and SHA-256 of the two files above; written last

It is written as `.tmp-ckpt-<step>-<pid>-<random>/` (each file flushed and
fsynced, then the directory), then renamed to `ckpt-<step>` in one
`os.replace`, and the parent directory is fsynced. A process killed at any
instant leaves either no `ckpt-<step>` or a complete one; left-over `.tmp-*`
and `.trash-*` entries are never read and are removed by the next run.
Reading verifies sizes and checksums before anything is used.

A directory given as a URL (`s3://bucket/run`, `memory://run`) is written
through fsspec, committed by its manifest written last, since object stores
have no atomic rename (`_remote_files`); `file://` URLs are local paths.
"""

import hashlib
import io
import json
import numbers
import os
import re
import shutil
import warnings

import numpy as np

from keras_ext.checkpoint import _locations as locations
from keras_ext.checkpoint import _remote_files as remote

FORMAT_VERSION = 1
MANIFEST = "MANIFEST.json"
STATE_JSON = "state.json"
STATE_NPZ = "state.npz"
# The state.npz prefix of device copies that differ from the first device's value.
REPLICAS = "replicas"


def replica_key(group, index, replica):
    """The array key of variable `index`'s copy on device `replica` (1 or more), kept when it differs."""
    return f"{REPLICAS}/{group}/{index:05d}/{replica}"


_NAME = re.compile(r"^ckpt-(\d+)$")


class CorruptCheckpointError(ValueError):
    """A checkpoint directory whose files do not match its manifest (or that has none)."""


def check_directory(directory):
    """Return a checkpoint directory argument as a str path or URL (it may not exist yet), else raise ValueError.

    A URL must have a filesystem installed (`locations.check_url`); a
    `file://` URL comes back as its local path.
    """
    if not isinstance(directory, (str, os.PathLike)):
        raise ValueError(f"`directory` must be a path or URL, got directory={directory!r}.")
    directory = os.fspath(directory)
    if locations.is_url(directory):
        return locations.check_url(directory)
    if locations.scheme(directory) == "file":
        directory = locations.local_path(directory)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ValueError(
            f"`directory` must be a directory (or not exist yet), got directory={directory!r}, "
            "which is an existing file."
        )
    return directory


def check_max_to_keep(max_to_keep):
    """Return `max_to_keep` as a positive int, or None (keep all), else raise ValueError."""
    if max_to_keep is None:
        return None
    if isinstance(max_to_keep, bool) or not isinstance(max_to_keep, numbers.Integral) or max_to_keep < 1:
        raise ValueError(
            f"`max_to_keep` must be a positive integer or None (keep all), got max_to_keep={max_to_keep!r}."
        )
    return int(max_to_keep)


def checkpoint_name(step):
    return f"ckpt-{int(step)}"


def list_checkpoints(directory):
    """`[(step, path)]` of the committed checkpoints in `directory`, oldest to newest by step."""
    if locations.is_url(directory):
        return remote.list_checkpoints(directory, _NAME)
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = _NAME.match(name)
        path = os.path.join(directory, name)
        if match and os.path.isdir(path):
            found.append((int(match.group(1)), path))
    return sorted(found)


def is_checkpoint(path):
    """True if `path` is a committed checkpoint (it holds a manifest), local or at a URL."""
    if locations.is_url(path):
        return remote.is_checkpoint(path)
    return os.path.exists(os.path.join(path, MANIFEST))


def read_file(path, file_name):
    """The bytes of one file of checkpoint `path`; FileNotFoundError or OSError if it cannot be read."""
    if locations.is_url(path):
        return remote.read_bytes(path, file_name)
    with open(os.path.join(path, file_name), "rb") as f:
        return f.read()


def remove_leftovers(directory):
    """Delete `.tmp-*` / `.trash-*` entries that a killed writer left behind (at a URL: see `_remote_files`)."""
    if locations.is_url(directory):
        remote.remove_leftovers(directory, _NAME)
        return
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


def _manifest(step, payload):
    manifest = {"format": FORMAT_VERSION, "step": int(step), "files": {}}
    for file_name, data in payload.items():
        manifest["files"][file_name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return json.dumps(manifest, indent=1).encode("utf-8")


def write_checkpoint(directory, step, payload, before_commit=None):
    """Write `payload` ({file name: bytes}) as `directory/ckpt-<step>`, atomically; return its path.

    An existing `ckpt-<step>` (a run that went back to an older checkpoint)
    is replaced: moved to a `.trash-` name just before the new one is
    renamed in, then deleted. At a URL, the files are uploaded in place and
    the manifest last (`_remote_files.write_checkpoint`).
    """
    name = checkpoint_name(step)
    manifest = _manifest(step, payload)
    if locations.is_url(directory):
        url = remote.child(directory, name)
        hook = None if before_commit is None else (lambda: before_commit(step, url))
        in_order = [*payload.items(), (MANIFEST, manifest)]  # the manifest last: it is the commit
        return remote.write_checkpoint_with_retries(directory, name, in_order, hook)
    os.makedirs(directory, exist_ok=True)
    token = locations.unique_token()
    tmp = os.path.join(directory, f".tmp-{name}-{token}")
    os.mkdir(tmp)
    try:
        for file_name, data in payload.items():
            _write_bytes(os.path.join(tmp, file_name), data)
        if before_commit is not None:
            before_commit(step, tmp)  # test hook: lets a test kill the process mid-write
        _write_bytes(os.path.join(tmp, MANIFEST), manifest)
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
    """Remove a checkpoint: renamed away first (at a URL: its manifest deleted first), so a
    half-deleted one is never listed."""
    if locations.is_url(path):
        try:
            remote.delete_checkpoint(path)
        except remote.StorageError as e:
            # One checkpoint too many is no danger: the next rotation lists it and tries again.
            warnings.warn(f"could not delete {path} ({e}); the next rotation tries again", stacklevel=2)
        return
    directory, name = os.path.split(path)
    trash = os.path.join(directory, f".trash-{name}-{locations.unique_token()}")
    try:
        os.replace(path, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def read_checkpoint(path):
    """Verify and read a checkpoint; return `(arrays dict, state dict)` or raise CorruptCheckpointError.

    Everything that can go wrong while reading counts as corruption, not only
    a checksum mismatch: a manifest or state of the wrong shape (`files:
    null`, a missing `epoch`, a string where a number belongs) or an npz
    that does not load. So a caller sees one exception type and can fall
    back to an older checkpoint before anything was assigned.
    """
    manifest_path = os.path.join(path, MANIFEST)
    try:
        manifest = json.loads(read_file(path, MANIFEST).decode("utf-8"))
    except remote.StorageError:
        raise  # the store is unreachable: the checkpoint may be whole, so it is not called corrupt
    except FileNotFoundError:
        raise CorruptCheckpointError(f"{path} has no {MANIFEST} (incomplete write)") from None
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise CorruptCheckpointError(f"{manifest_path} is unreadable: {e}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise CorruptCheckpointError(f"{manifest_path} has no `files` mapping")
    if manifest.get("format") != FORMAT_VERSION:
        raise CorruptCheckpointError(
            f"{path} has format {manifest.get('format')!r}; this version reads {FORMAT_VERSION}"
        )
    files = manifest["files"]
    contents = {}
    for file_name in (STATE_NPZ, STATE_JSON):
        expected = files.get(file_name)
        if (
            not isinstance(expected, dict)
            or not _is_int(expected.get("size"))
            or not isinstance(expected.get("sha256"), str)
        ):
            raise CorruptCheckpointError(f"{manifest_path} has no valid size and sha256 for {file_name}")
        try:
            data = read_file(path, file_name)
        except remote.StorageError:
            raise
        except OSError as e:
            raise CorruptCheckpointError(f"cannot read {file_name} in {path}: {e}") from None
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
    try:
        state = json.loads(contents[STATE_JSON].decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise CorruptCheckpointError(f"{os.path.join(path, STATE_JSON)} is not valid JSON: {e}") from None
    try:
        with np.load(io.BytesIO(contents[STATE_NPZ]), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as e:  # noqa: BLE001 - zipfile, zlib and format errors all mean "unreadable"
        raise CorruptCheckpointError(f"{os.path.join(path, STATE_NPZ)} does not load: {e!r}") from None
    problem = state_problem(state, arrays)
    if problem:
        raise CorruptCheckpointError(f"{os.path.join(path, STATE_JSON)}: {problem}")
    return arrays, state


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_spec(spec):
    return (
        isinstance(spec, dict)
        and isinstance(spec.get("path"), str)
        and isinstance(spec.get("shape"), list)
        and all(_is_int(d) and d >= 0 for d in spec["shape"])
        and isinstance(spec.get("dtype"), str)
    )


def state_problem(state, arrays):
    """What makes `state` (with its `arrays`) unusable as a resume point, or None if nothing.

    Checked before any value is assigned: the types of every field a restore
    reads, one array per recorded variable, and each array's shape and dtype
    equal to its record.
    """
    if not isinstance(state, dict):
        return f"the state is a {type(state).__name__}, not an object"
    for key in ("step", "epoch", "step_in_epoch"):
        if not _is_int(state.get(key)) or state[key] < 0:
            return f"`{key}` must be a non-negative integer, got {state.get(key)!r}"
    for key in ("callbacks", "logs"):
        if not isinstance(state.get(key, {}), dict):
            return f"`{key}` must be an object, got {state[key]!r}"
    for key in ("optimizer_class", "model_class"):
        if not isinstance(state.get(key, ""), str):
            return f"`{key}` must be a string, got {state[key]!r}"
    variables = state.get("variables")
    if not isinstance(variables, dict) or not isinstance(variables.get("model"), list):
        return "`variables` must map each group to a list of variable records"
    for group, specs in variables.items():
        if not isinstance(specs, list) or not all(_is_spec(s) for s in specs):
            return f"`variables.{group}` must be a list of {{path, shape, dtype}} records"
        for index, spec in enumerate(specs):
            key = f"{group}/{index:05d}"
            array = arrays.get(key)
            if array is None:
                return f"{spec['path']!r} ({key}) has no array in {STATE_NPZ}"
            if list(array.shape) != spec["shape"] or str(array.dtype) != spec["dtype"]:
                return (
                    f"{key} is {tuple(array.shape)} {array.dtype}, its record says "
                    f"{tuple(spec['shape'])} {spec['dtype']}"
                )
        expected = {f"{group}/{index:05d}" for index in range(len(specs))}
        extra = [k for k in arrays if k.startswith(f"{group}/") and k not in expected]
        if extra:
            return f"{STATE_NPZ} has arrays no variable record describes: {', '.join(sorted(extra))}"
    copies_problem = _device_copies_problem(variables, arrays)
    if copies_problem:
        return copies_problem
    unknown = [k for k in arrays if k.split("/")[0] not in (*variables, REPLICAS)]
    if unknown:
        return f"{STATE_NPZ} has arrays of no recorded group: {', '.join(sorted(unknown))}"
    return None


def _device_copies_problem(variables, arrays):
    """What is wrong with the `replicas/<group>/<index>/<replica>` arrays, or None.

    Each is one device's copy of a recorded variable (MirroredStrategy keeps
    BatchNormalization statistics per device) and has that variable's shape and dtype.
    """
    for key in (k for k in arrays if k.startswith(f"{REPLICAS}/")):
        parts = key.split("/")
        specs = variables.get(parts[1]) if len(parts) == 4 else None
        index = int(parts[2]) if specs is not None and parts[2].isdigit() else -1
        if not 0 <= index < len(specs or []) or not parts[3].isdigit() or int(parts[3]) < 1:
            return f"{STATE_NPZ} has a device copy of no recorded variable: {key}"
        spec, array = specs[index], arrays[key]
        if list(array.shape) != spec["shape"] or str(array.dtype) != spec["dtype"]:
            return f"{key} is {tuple(array.shape)} {array.dtype}, its variable's record says {tuple(spec['shape'])} {spec['dtype']}"
    return None
