"""Choosing and loading a checkpoint: the newest usable one of a directory, or one given path.

A checkpoint is usable when it reads and validates completely (manifest,
checksums, state fields, one array of the recorded shape and dtype per
variable; see `_checkpoint_files.read_checkpoint`) and holds only finite
values. Anything else is unusable: skipped with a warning naming it. A
checkpoint that is usable but does not fit the model (another architecture,
another optimizer) is not skipped: `CheckpointMismatchError` is raised,
since every older checkpoint of that directory would not fit either.
"""

import os
import warnings

from keras_ext.checkpoint import _checkpoint_files as files
from keras_ext.checkpoint import _locations as locations
from keras_ext.checkpoint import _remote_files as remote
from keras_ext.checkpoint import _training_state as training_state


def read_usable(path):
    """`(arrays, state)` of one checkpoint, or CorruptCheckpointError saying why it cannot be resumed from."""
    arrays, state = files.read_checkpoint(path)
    bad = training_state.non_finite(arrays)
    if bad:
        paths = [state["variables"][key.split("/")[0]][int(key.split("/")[1])]["path"] for key in bad]
        raise files.CorruptCheckpointError(
            f"{path} holds non-finite values (NaN or infinity) in {', '.join(paths[:5])}"
            + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        )
    return arrays, state


def usable_newest_first(directory, unusable, stacklevel=3):
    """Yield `(path, arrays, state)` of the usable checkpoints of `directory`, newest first.

    Each unusable one met on the way is warned about and appended to
    `unusable`.
    """
    for _, path in reversed(files.list_checkpoints(directory)):
        try:
            arrays, state = read_usable(path)
        except files.CorruptCheckpointError as e:
            warnings.warn(
                f"CheckpointManager: skipping corrupt checkpoint {path}: {e}. Trying the one before it.",
                stacklevel=stacklevel,
            )
            unusable.append(path)
            continue
        yield path, arrays, state


def set_aside(paths, stacklevel=3):
    """Rename unusable checkpoints (`ckpt-12` -> `ckpt-12.corrupt`): never read again, never collided with."""
    for path in paths:
        if locations.is_url(path):
            target = remote.set_aside(path)
            if target is not None:
                warnings.warn(
                    f"CheckpointManager: moved corrupt checkpoint {path} to {target}.", stacklevel=stacklevel
                )
            continue
        target = f"{path}.corrupt"
        suffix = 1
        while os.path.exists(target):
            suffix += 1
            target = f"{path}.corrupt{suffix}"
        try:
            os.replace(path, target)
        except OSError:
            continue
        warnings.warn(
            f"CheckpointManager: moved corrupt checkpoint {path} to {target}.", stacklevel=stacklevel
        )


def build_if_needed(model, state):
    if model.built:
        return
    build_config = state.get("build_config")
    if not build_config:
        raise ValueError(
            f"{type(model).__name__} is not built and the checkpoint records no input shape: "
            "build the model (call it on a batch or `model.build(shape)`) before restoring."
        )
    model.build_from_config(build_config)


def restore_for_inference(model, directory, include_optimizer=False):
    """Load a checkpoint's model variables (and optionally optimizer state) into `model`, without training.

    `directory` is a CheckpointManager directory (its newest usable
    checkpoint is used; unusable ones are skipped with a warning) or a single
    `ckpt-<step>` directory. An unbuilt model is built from the input shape
    recorded in the checkpoint. Nothing on disk is changed. All or nothing:
    raises `CorruptCheckpointError` (a single checkpoint that cannot be read
    and validated), `CheckpointMismatchError` (one that does not fit the
    model or optimizer: every mismatched variable is named) or
    `FileNotFoundError` (no usable checkpoint), each before any variable is
    assigned. Returns the path of the checkpoint it loaded.
    """
    directory = files.check_directory(directory)
    if (
        files.is_checkpoint(directory)
        or files.list_checkpoints(directory) == []
        and (os.path.basename(os.path.normpath(directory)).startswith("ckpt-"))
    ):
        path = directory
        arrays, state = read_usable(path)
    else:
        found = next(usable_newest_first(directory, []), None)
        if found is None:
            raise FileNotFoundError(f"No usable checkpoint (ckpt-<step>) in {directory!r}.")
        path, arrays, state = found
    build_if_needed(model, state)
    groups = ("model", "optimizer") if include_optimizer else ("model",)
    if include_optimizer:
        training_state.ensure_optimizer_built(model)
    training_state.assign(training_state.plan_restore(path, state, arrays, model, groups))
    return path
