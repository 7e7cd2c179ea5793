"""Atomic file writes (temporary name in the same folder, then `os.replace`) and tolerant JSON reads."""

import json
import os
import uuid

METADATA_JSON = "metadata.json"  # inside a .keras zip, beside config.json and the weights


def _temporary_path(path):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # A unique name per writer: processes sharing a folder never collide. The
    # name keeps the file's extension, which `model.save` insists on.
    return os.path.join(directory, f".tmp-{os.getpid()}-{uuid.uuid4().hex}-{os.path.basename(path)}")


def _write_atomically(path, write):
    """Call `write(tmp)`, then rename tmp over `path`; a crash leaves the old file or none."""
    tmp = _temporary_path(path)
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

    _write_atomically(path, write)


def save_model_atomically(model, path, metadata=None):
    """`model.save(path)` (a `.keras` file) without ever leaving a truncated file at `path`.

    `metadata`, a JSON-able dict, goes into the file's own `metadata.json`
    under the key `"keras_ext"` (`read_keras_ext_metadata` reads it back);
    Keras keeps its `keras_version` and `date_saved` there and ignores other keys.
    """

    def write(tmp):
        model.save(tmp)
        if metadata is not None:
            _add_metadata(tmp, metadata)

    _write_atomically(path, write)


def _add_metadata(keras_file, metadata):
    """Rewrite the `.keras` zip with `{"keras_ext": metadata}` added to its metadata.json."""
    import zipfile

    with zipfile.ZipFile(keras_file) as source:
        entries = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(keras_file, "w") as target:
        for info, data in entries:
            if info.filename == METADATA_JSON:
                data = json.dumps({**json.loads(data), "keras_ext": metadata}).encode()
            target.writestr(info, data)


def read_keras_ext_metadata(keras_file):
    """The `metadata` a `.keras` file was saved with by `save_model_atomically` (`{}` if none)."""
    import zipfile

    with zipfile.ZipFile(keras_file) as source:
        return json.loads(source.read(METADATA_JSON)).get("keras_ext", {})


def write_json_atomically(path, obj):
    write_text_atomically(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path):
    """Return the JSON in `path`, or None when it does not exist."""
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
