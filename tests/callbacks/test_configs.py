"""Every public callback's config lists its constructor arguments and round-trips (found by discovery)."""

import inspect
import json

import keras
import pytest

import keras_ext

EXAMPLES = {
    "CheckpointManager": {
        "directory": "unused_ckpt",
        "save_freq": "epoch",
        "max_to_keep": None,
        "monitor": "val_loss",
        "mode": "min",
        "keep_best": 2,
        "async_write": True,
    },
    "EarlyStopping": {"monitor": "val_accuracy", "patience": 2, "mode": "max", "restore_best_weights": True},
    "LearningRateLogger": {"every": "batch"},
    "ReduceLROnPlateau": {"monitor": "loss", "factor": 0.5, "patience": 3, "cooldown": 1, "min_lr": 1e-5},
}
PUBLIC = {
    name: getattr(keras_ext.callbacks, name)
    for name in keras_ext.callbacks.__all__
    if inspect.isclass(getattr(keras_ext.callbacks, name))
    and issubclass(getattr(keras_ext.callbacks, name), keras.callbacks.Callback)
}


# CheckpointManager's `data` is the pipeline fit iterates.
LIVE_ARGUMENTS = {"CheckpointManager": ("data",)}


def test_every_public_callback_has_an_example():
    assert set(PUBLIC) == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_config_is_complete_and_round_trips(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cls = PUBLIC[name]
    original = cls(**EXAMPLES[name])
    config = original.get_config()
    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    # Live objects, like the model, are not part of a config.
    assert sorted(config) == sorted(p for p in params if p not in LIVE_ARGUMENTS.get(name, ()))
    for key, value in EXAMPLES[name].items():  # each argument kept as a same-named attribute
        assert getattr(original, key) == value == config[key]
    json.dumps(config)
    assert cls.from_config(config).get_config() == config
    serialized = keras.saving.serialize_keras_object(original)
    assert serialized["registered_name"] == f"keras_ext>{name}"
    assert keras.saving.deserialize_keras_object(serialized).get_config() == config
