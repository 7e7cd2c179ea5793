"""Every public schedule survives every Keras serialization path (found by discovery).

A schedule missing from EXAMPLES fails `test_every_public_schedule_has_an_example`.
"""

import inspect
import json

import keras
import numpy as np
import pytest

import keras_ext
from tests.subprocess_utils import run_fresh_python


def _decay():
    return keras.optimizers.schedules.ExponentialDecay(3e-3, decay_steps=100, decay_rate=0.8, staircase=True)


EXAMPLES = {
    "LinearWarmup": lambda: keras_ext.schedules.LinearWarmup(
        _decay(), warmup_steps=50, initial_learning_rate=1e-4, name="warm"
    ),
    "ScaledSchedule": lambda: keras_ext.schedules.ScaledSchedule(
        keras_ext.schedules.LinearWarmup(_decay(), warmup_steps=10), scale=0.25
    ),
}
PUBLIC = {
    name: getattr(keras_ext.schedules, name)
    for name in keras_ext.schedules.__all__
    if inspect.isclass(getattr(keras_ext.schedules, name))
    and issubclass(getattr(keras_ext.schedules, name), keras.optimizers.schedules.LearningRateSchedule)
}
STEPS = [0, 5, 10, 60, 150, 400]


def _values(schedule):
    return [float(keras.ops.convert_to_numpy(schedule(s))) for s in STEPS]


def test_every_public_schedule_has_an_example():
    assert set(PUBLIC) == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_config_lists_every_argument_and_round_trips(name):
    original = EXAMPLES[name]()
    config = original.get_config()
    params = [p for p in inspect.signature(PUBLIC[name].__init__).parameters if p != "self"]
    assert sorted(config) == sorted(params)
    json.dumps(config)
    clone = PUBLIC[name].from_config(config)
    assert clone.get_config() == config
    assert _values(clone) == pytest.approx(_values(original))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_serialize_keras_object_round_trip(name):
    original = EXAMPLES[name]()
    serialized = keras.saving.serialize_keras_object(original)
    assert serialized["registered_name"] == f"keras_ext>{name}"
    restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert type(restored) is PUBLIC[name]
    assert _values(restored) == pytest.approx(_values(original))


def test_keras_file_with_every_schedule_loads_in_a_fresh_process(tmp_path):
    expected = {}
    for name in sorted(EXAMPLES):
        schedule = EXAMPLES[name]()
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(keras.optimizers.Adam(learning_rate=schedule), "mse")
        model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0)
        model.save(tmp_path / f"{name}.keras")
        expected[name] = _values(schedule)
    run_fresh_python(
        f"""
        import json, keras
        import keras_ext
        expected = {json.dumps(expected)}
        for name, values in expected.items():
            model = keras.saving.load_model({str(tmp_path)!r} + "/" + name + ".keras")
            schedule = model.optimizer._learning_rate
            assert type(schedule).__name__ == name, type(schedule)
            got = [float(keras.ops.convert_to_numpy(schedule(s))) for s in {STEPS!r}]
            assert all(abs(a - b) <= 1e-6 * max(1.0, abs(b)) for a, b in zip(got, values)), (name, got, values)
        """
    )
