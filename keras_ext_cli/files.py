"""Atomic file writes (a temporary name in the same folder, then `os.replace`) and tolerant JSON reads.

Standard library only, so that the command line's checks before Keras starts
(`directory_lock`) can use them; `keras_ext._io` adds the model writes.
"""

import json
import os
import uuid


def temporary_path(path):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # A unique name per writer: processes sharing a folder never collide. The
    # name keeps the file's extension, which `model.save` insists on.
    return os.path.join(directory, f".tmp-{os.getpid()}-{uuid.uuid4().hex}-{os.path.basename(path)}")


def write_atomically(path, write):
    """Call `write(tmp)`, then rename tmp over `path`; a crash leaves the old file or none."""
    tmp = temporary_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text_atomically(path, text):
    """Write `text` to `path` so a reader sees the old file or the new one, never half of one."""

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            f.write(text)

    write_atomically(path, write)


def write_json_atomically(path, obj):
    write_text_atomically(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path):
    """Return the JSON in `path`, or None when it does not exist."""
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
