"""What a project was searched with (objective, direction, epochs per trial), kept in the project.

keras-tuner stores each trial's score under the objective of the search
that ran it, but not the objective itself, nor the epochs: a project
resumed with `objective="val_loss"` ranks trials scored by val_accuracy
as if they were losses, and one resumed with more epochs mixes trials of
2 and 3 epochs in one leaderboard. `Search` records the settings in
`<project>/search.json` (written atomically) at the project's first run and
refuses, before anything is written, a later run that asks for others
(`SearchSettingsChanged`). A project from before the record has its
objective read from keras_ext's `best_hyperparameters.json`, else from
keras-tuner's `oracle.json` where it holds one; its epochs are unknown and
not checked. Its next run writes the record.
"""

import os

from keras_ext_cli.files import read_json
from keras_ext_cli.files import write_json_atomically

FILE_NAME = "search.json"


class SearchSettingsChanged(ValueError):
    """A project is resumed with another objective, direction or number of epochs than it was searched with.

    Attributes:
        project_dir: the project directory.
        recorded: what it was searched with: `{"objective", "direction", "epochs"}`
            (`epochs` None when a project from before the record does not say).
        requested: what this run asked for, the same keys.
    """

    def __init__(self, project_dir, recorded, requested):
        self.project_dir = project_dir
        self.recorded = recorded
        self.requested = requested
        super().__init__(
            f"Project {project_dir} was searched with {_describe(recorded)}; this run asks for "
            f"{_describe(requested)}. Its trials are scored and trained under the first, so resuming "
            "would rank them by mixed scores: run it with those settings, or use another "
            "directory or project_name (overwrite=True starts it afresh)."
        )


def settings(objective_name, direction, epochs):
    return {"objective": objective_name, "direction": direction, "epochs": int(epochs)}


def record_path(project_dir):
    return os.path.join(os.fspath(project_dir), FILE_NAME)


def read(project_dir):
    """What the project was searched with, or None for a new project or an old one that does not say.

    The record first; for a project from before it, the objective (with
    `epochs` None) of keras_ext's `best_hyperparameters.json`, else of
    keras-tuner's `oracle.json` where it holds one.
    """
    project_dir = os.fspath(project_dir)
    record = read_json_or_none(record_path(project_dir))
    if isinstance(record, dict):
        return {key: record.get(key) for key in ("objective", "direction", "epochs")}
    best = read_json_or_none(os.path.join(project_dir, "best_hyperparameters.json"))
    if isinstance(best, dict) and isinstance(best.get("objective"), str):
        return {"objective": best["objective"], "direction": best.get("direction"), "epochs": None}
    oracle = read_json_or_none(os.path.join(project_dir, "oracle.json"))
    objective = oracle.get("objective") if isinstance(oracle, dict) else None
    if isinstance(objective, dict) and isinstance(objective.get("name"), str):
        return {"objective": objective["name"], "direction": objective.get("direction"), "epochs": None}
    if isinstance(objective, str):
        return {"objective": objective, "direction": None, "epochs": None}
    return None


def check(project_dir, requested):
    """Raise `SearchSettingsChanged` if the project was searched with other settings; write nothing."""
    recorded = read(project_dir)
    if recorded is None:
        return
    differs = [
        key
        for key in ("objective", "direction", "epochs")
        if recorded.get(key) is not None and recorded[key] != requested[key]
    ]
    if differs:
        raise SearchSettingsChanged(os.fspath(project_dir), recorded, requested)


def is_recorded(project_dir):
    """Whether the project has a readable record of its own (not one inferred from older files)."""
    return isinstance(read_json_or_none(record_path(project_dir)), dict)


def write(project_dir, requested):
    write_json_atomically(record_path(project_dir), requested)


def read_json_or_none(path):
    try:
        return read_json(path)
    except (ValueError, OSError):  # half-written by hand, unreadable: as if missing
        return None


def _describe(s):
    text = f"objective={s['objective']!r}"
    if s.get("direction"):
        text += f" ({s['direction']})"
    if s.get("epochs") is not None:
        text += f", epochs={s['epochs']}"
    return text
