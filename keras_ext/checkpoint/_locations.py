"""Where a checkpoint directory is: a local path, or a URL that fsspec writes (`s3://`, `gs://`, `memory://`).

A string with a scheme (`NAME://`) is a URL and never a relative local
path: before this module, `s3://bucket/run` was written to a local folder
named `s3:`, and the bucket stayed empty. A URL whose scheme has no
filesystem installed is refused at once, in one line naming what to
install. `file://` URLs become local paths, which keep the local protocol
(an atomic rename per checkpoint, fsync) and its one-writer lock.
"""

import os
import re
import uuid

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# The pip extra that brings each optional protocol package, for the refusal's hint.
_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}


def scheme(path):
    """The URL scheme of `path` (`"s3"`), or None for a local path."""
    match = _SCHEME.match(path) if isinstance(path, str) else None
    return match.group(1).lower() if match else None


def is_url(path):
    """True for a remote URL (any scheme but `file`); such a path goes through fsspec."""
    return scheme(path) not in (None, "file")


def check_url(url, argument="directory"):
    """Return `url` without a trailing slash if fsspec has a filesystem for its scheme, else raise ValueError."""
    name = scheme(url)
    try:
        import fsspec
    except ImportError:
        raise ValueError(
            f"`{argument}` {url!r} is a URL, and URLs are written through fsspec, which is not installed: "
            "pip install fsspec"
        ) from None
    try:
        fsspec.get_filesystem_class(name)
    except ImportError as e:
        extra = _EXTRAS.get(name)
        hint = f"pip install 'keras_ext[{extra}]'" if extra else "install the fsspec package for it"
        raise ValueError(
            f"`{argument}` {url!r}: no filesystem for {name}:// is installed ({e}); {hint}"
        ) from None
    except ValueError:
        raise ValueError(
            f"`{argument}` {url!r}: fsspec knows no filesystem for {name}://; a checkpoint directory is a "
            "local path or a URL such as s3://bucket/run, gs://bucket/run or memory://run"
        ) from None
    root = url.rstrip("/")
    if not url[len(name) + 3 :].strip("/"):
        raise ValueError(f"`{argument}` {url!r} names no bucket or folder")
    return root


def local_path(file_url):
    """The local path of a `file://` URL (`file:///data/run` -> `/data/run`)."""
    return file_url[len("file://") :] or os.sep


def unique_token():
    """pid and 8 random hex digits: two writers never pick the same temporary name."""
    return f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
