"""A `.keras` file written atomically, with keras_ext's metadata in it (text and JSON: `keras_ext_cli.files`)."""

import json

from keras_ext_cli.files import write_atomically

METADATA_JSON = "metadata.json"  # inside a .keras zip, beside config.json and the weights


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

    write_atomically(path, write)


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
