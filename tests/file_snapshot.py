"""`snapshot(directory)`: what every file under a directory holds, to check that a refused run wrote nothing."""

import hashlib
import os


def snapshot(directory):
    """{path: (sha256, mtime_ns)} of every file under `directory`."""
    out = {}
    for folder, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[path] = (hashlib.sha256(f.read()).hexdigest(), os.stat(path).st_mtime_ns)
    return out
