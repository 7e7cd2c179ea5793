"""`keras-ext train --model` takes keras_ext's names, MODULE:FUNCTION and a .keras file (issue 18, item 1)."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_ext.cli import _model
from keras_ext.cli.main import main
from keras_ext.models._by_name import build_model
from tests.cli.test_train import _keras_ext_command
from tests.cli.test_train import assert_one_error_line
from tests.subprocess_utils import run_fresh_python

# A user's module: a function that builds a model with a layer of the user's own, and the
# mistakes the command line must refuse.
MODULE = textwrap.dedent(
    """
    import keras


    @keras.saving.register_keras_serializable(package="mymodule")
    class Scale(keras.layers.Layer):
        def __init__(self, factor=1.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}


    def build(input_shape, num_classes):
        inputs = keras.Input(input_shape)
        x = keras.layers.Flatten()(Scale(2.0)(inputs))
        return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


    def layer_not_model(input_shape, num_classes):
        return keras.layers.Dense(num_classes)


    notcallable = 42
    """
)


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    """tmp_path holding mymodule.py (on sys.path) and data.npz: 64 train / 32 test 8x8x1 images, 3 classes."""
    (tmp_path / "mymodule.py").write_text(MODULE)
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "data.npz",
        x_train=rng.integers(0, 256, (64, 8, 8, 1)).astype("uint8"),
        y_train=np.arange(64) % 3,
        x_test=rng.integers(0, 256, (32, 8, 8, 1)).astype("uint8"),
        y_test=np.arange(32) % 3,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("mymodule", None)
    yield tmp_path
    sys.modules.pop("mymodule", None)


def _train(user_dir, model, output="out", *extra):
    argv = ["train", "--model", model, "--dataset", str(user_dir / "data.npz"), "--epochs", "1"]
    return main([*argv, "--verbose", "0", "--output", str(user_dir / output), *extra])


def _weights(model):
    return [np.array(w) for w in model.weights]


def test_a_function_on_pythonpath_trains_and_its_model_loads_where_the_module_imports(user_dir):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(user_dir), os.environ.get("PYTHONPATH", "")]),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    proc = subprocess.run(
        [*_keras_ext_command(), "train", "--model", "mymodule:build", "--dataset", "data.npz"]
        + ["--epochs", "1", "--verbose", "0", "--output", "out"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=user_dir,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "keras-ext train: mymodule:build on data.npz" in proc.stdout
    summary = json.load(open(user_dir / "out" / "metrics.json"))
    assert summary["model"] == "mymodule:build"
    assert (user_dir / "out" / "history.png").exists()
    accuracy = summary["validation"]["accuracy"]
    run_fresh_python(
        f"""
        import keras
        import keras_ext
        import mymodule
        model = keras.saving.load_model({str(user_dir / "out" / "model.keras")!r})
        assert any(isinstance(layer, mymodule.Scale) for layer in model.layers), model.layers
        results = model.evaluate(
            keras_ext.data.load({str(user_dir / "data.npz")!r}).validation, verbose=0, return_dict=True
        )
        assert abs(results["accuracy"] - {accuracy!r}) < 1e-6, results
        """,
        env={"PYTHONPATH": env["PYTHONPATH"]},
    )


def test_a_keras_file_is_trained_further_and_recompiled_with_the_command_s_optimizer(user_dir, monkeypatch):
    saved = build_model("simplecnn", 3, (8, 8, 1))
    saved.compile(optimizer="adam", loss="mse")  # a compile state the command line does not use
    saved.save(user_dir / "saved.keras")
    built = []

    def recording_build(*args):
        model = real_build(*args)
        built.append(_weights(model))
        return model

    real_build = _model.build
    monkeypatch.setattr(_model, "build", recording_build)
    assert _train(user_dir, str(user_dir / "saved.keras")) == 0
    before = _weights(keras.saving.load_model(user_dir / "saved.keras", compile=False))
    after = keras.saving.load_model(user_dir / "out" / "model.keras")
    assert len(built) == 1
    assert all(np.array_equal(a, b) for a, b in zip(built[0], before, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(_weights(after), before, strict=True))
    assert type(after).__name__ == "SimpleCNN"
    assert isinstance(after.optimizer, keras.optimizers.RMSprop)


def test_a_function_s_model_resumes_exactly_from_its_checkpoint(user_dir):
    ckpt = ["--checkpoint-dir", str(user_dir / "ckpt"), "--save-freq", "epoch"]
    assert _train(user_dir, "mymodule:build", "whole", "--epochs", "2") == 0
    assert _train(user_dir, "mymodule:build", "first", *ckpt) == 0
    assert _train(user_dir, "mymodule:build", "resumed", *ckpt, "--epochs", "2") == 0
    whole, resumed = (keras.saving.load_model(user_dir / d / "model.keras") for d in ("whole", "resumed"))
    for a, b in zip(_weights(whole), _weights(resumed), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert json.load(open(user_dir / "resumed" / "metrics.json"))["resumed_from"]


@pytest.mark.parametrize(
    "model, fragments",
    [
        ("nosuchmodule:build", ["--model nosuchmodule:build: cannot import nosuchmodule", "PYTHONPATH"]),
        ("mymodule:missing", ["--model mymodule:missing: module mymodule (", "mymodule.py) has no missing"]),
        (
            "mymodule:notcallable",
            ["--model mymodule:notcallable: notcallable is not callable (its type is int)"],
        ),
        (
            "mymodule:layer_not_model",
            ["--model mymodule:layer_not_model: returned a", "Dense, not a keras.Model"],
        ),
        ("missing.keras", ["--model missing.keras: no such file"]),
        (
            "resnet",
            ["argument --model: must be simplecnn or fashioncnn, MODULE:FUNCTION", ".keras file, got resnet"],
        ),
    ],
)
def test_a_bad_model_is_one_line_and_exit_2_before_training(user_dir, capsys, model, fragments):
    if model == "missing.keras":
        model = str(user_dir / model)
        fragments = [f"--model {model}: no such file"]
    assert _train(user_dir, model) == 2
    assert_one_error_line(capsys, *fragments)
    assert not (user_dir / "out").exists()


@pytest.mark.parametrize(
    "shape, classes, fragment",
    [
        ((8, 8, 1), 5, "gives (1, 5) for one image; the dataset has 3 classes"),
        ((6, 6, 1), 3, "takes inputs of shape (6, 6, 1), but the dataset's images are (8, 8, 1)"),
    ],
)
def test_a_keras_file_that_does_not_fit_the_dataset_is_refused(user_dir, capsys, shape, classes, fragment):
    inputs = keras.Input(shape)
    keras.Model(inputs, keras.layers.Dense(classes)(keras.layers.Flatten()(inputs))).save(
        user_dir / "m.keras"
    )
    assert _train(user_dir, str(user_dir / "m.keras")) == 2
    assert_one_error_line(capsys, fragment)
    assert not (user_dir / "out").exists()
