"""Every public layer, model and metric survives every Keras serialization path.

Classes are found by discovery over `keras_ext.layers`, `keras_ext.models`
and `keras_ext.metrics`; a class without an entry in EXAMPLES fails
`test_every_public_class_has_an_example`, so none can skip these checks.
"""

import inspect
import json

import keras
import numpy as np
import pytest

import keras_ext
from tests.subprocess_utils import run_fresh_python

PUBLIC_MODULES = (keras_ext.layers, keras_ext.models, keras_ext.metrics)

# class name -> (constructor kwargs that differ from the defaults, input shape)
EXAMPLES = {
    "Linear": (
        {
            "units": 3,
            "activation": "relu",
            "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}},
        },
        (4, 5),
    ),
    "ConvBlock": (
        {"filters": 4, "kernel_size": (3, 3), "weight_decay": 1e-3, "dropout_rate": 0.25},
        (2, 8, 8, 3),
    ),
    "SimpleCNN": ({"num_classes": 4, "filters": [4, 8], "dropout_rate": 0.1}, (2, 12, 12, 1)),
    "FashionCNN": ({"num_classes": 5}, (2, 28, 28, 1)),
    "CategoricalTruePositives": ({"name": "ctp"}, (6, 4)),
}


def discover_public_classes():
    found = {}
    for module in PUBLIC_MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, (keras.layers.Layer, keras.metrics.Metric)):
                found[name] = obj
    return found


PUBLIC_CLASSES = discover_public_classes()


def _make(name):
    kwargs, _ = EXAMPLES[name]
    cls = PUBLIC_CLASSES[name]
    if "kernel_regularizer" in kwargs:
        kwargs = {**kwargs, "kernel_regularizer": keras.regularizers.get(kwargs["kernel_regularizer"])}
    return cls(**kwargs)


def test_every_public_class_has_an_example():
    assert set(PUBLIC_CLASSES) == set(EXAMPLES), (
        "add an entry to EXAMPLES for every public class so it goes through serialization tests"
    )


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_get_config_lists_every_constructor_argument(name):
    cls = PUBLIC_CLASSES[name]
    config = _make(name).get_config()
    params = [
        p
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    missing = [p.name for p in params if p.name not in config]
    assert not missing, f"{name}.get_config() lacks constructor arguments {missing}"
    json.dumps(config)  # plain JSON, as a .keras file needs


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_from_config_round_trip(name):
    original = _make(name)
    config = original.get_config()
    clone = type(original).from_config(config)
    assert clone.get_config() == config


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_serialize_keras_object_round_trip(name):
    original = _make(name)
    serialized = keras.saving.serialize_keras_object(original)
    assert serialized["registered_name"] == f"keras_ext>{name}"
    restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert type(restored) is type(original)
    assert restored.get_config() == original.get_config()


def _model_for(name):
    """A model whose saved file exercises class `name`, and its input."""
    _, shape = EXAMPLES[name]
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    obj = _make(name)
    if isinstance(obj, keras.Model):
        obj.build((None, *shape[1:]))
        return obj, x
    if isinstance(obj, keras.metrics.Metric):
        model = keras.Sequential([keras.Input(shape[1:]), keras.layers.Dense(3)])
        model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=[obj])
        return model, x
    inputs = keras.Input(shape[1:])
    return keras.Model(inputs, obj(inputs)), x


def test_keras_file_loads_in_fresh_process_with_only_import_keras_ext(tmp_path):
    expected = {}
    for name in sorted(EXAMPLES):
        model, x = _model_for(name)
        if model.compiled:
            y = np.arange(len(x)) % 3
            metric_name = EXAMPLES[name][0]["name"]
            model.fit(x, y, verbose=0)
            expected[name] = model.evaluate(x, y, verbose=0, return_dict=True)[metric_name]
            np.save(tmp_path / f"{name}_y.npy", y)
        else:
            expected[name] = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
        model.save(tmp_path / f"{name}.keras")
        np.save(tmp_path / f"{name}_x.npy", x)

    run_fresh_python(
        f"""
        import json, os, numpy as np, keras
        import keras_ext
        d = {str(tmp_path)!r}
        out = {{}}
        for name in {sorted(EXAMPLES)!r}:
            model = keras.saving.load_model(os.path.join(d, name + ".keras"))
            x = np.load(os.path.join(d, name + "_x.npy"))
            if model.compiled and os.path.exists(os.path.join(d, name + "_y.npy")):
                y = np.load(os.path.join(d, name + "_y.npy"))
                out[name] = model.evaluate(x, y, verbose=0, return_dict=True)
            else:
                np.save(os.path.join(d, name + "_pred.npy"), model.predict(x, verbose=0))
        json.dump(out, open(os.path.join(d, "metrics.json"), "w"))
        """
    )
    loaded_metrics = json.load(open(tmp_path / "metrics.json"))
    for name, value in expected.items():
        if name in loaded_metrics:
            metric_name = EXAMPLES[name][0]["name"]
            assert loaded_metrics[name][metric_name] == pytest.approx(value, abs=1e-6), name
        else:
            np.testing.assert_allclose(np.load(tmp_path / f"{name}_pred.npy"), value, atol=1e-6, err_msg=name)
