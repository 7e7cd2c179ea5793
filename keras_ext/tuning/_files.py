"""Small-file helpers for the search: atomic text writes and tolerant JSON reads."""

import json
import os
import uuid


def write_text_atomically(path, text):
    """Write `text` to `path` through a temporary file in the same folder and `os.replace`.

    A reader (another worker, or a resumed search after SIGKILL) sees the old
    file or the new one, never half of one.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # A unique name per writer: workers sharing the project never collide.
    tmp = os.path.join(directory, f".tmp-{os.getpid()}-{uuid.uuid4().hex}-{os.path.basename(path)}")
    try:
        with open(tmp, "w", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json_atomically(path, obj):
    write_text_atomically(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path):
    """Return the JSON in `path`, or None when it does not exist."""
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
