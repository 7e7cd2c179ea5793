"""`keras-ext train --model`: a keras_ext model's name, MODULE:FUNCTION, or a `.keras` file.

`check_model` runs with the other input checks, before the strategy is set
up and before any training: it imports the module and looks the function up,
or checks that the file exists. `build` makes the model inside the
strategy's scope and refuses, with one line, a model that does not fit the
dataset. A `.keras` file is loaded without its compile state: `keras-ext
train` compiles every model with its own optimizer, loss and metrics
(`keras_ext.cli.train.compile_arguments`), so a continued model starts a fresh
optimizer and learning-rate schedule.
"""

import importlib
import os

from keras_ext.cli.errors import UsageError


def kind(spec):
    """'name', 'file' or 'function': how `--model spec` names its model (the parser checked the form)."""
    from keras_ext.models._by_name import MODEL_NAMES

    if spec in MODEL_NAMES:
        return "name"
    if spec.endswith(".keras"):
        return "file"
    return "function"


def check_model(spec):
    """Raise UsageError unless the function imports and is callable, or the file exists."""
    if kind(spec) == "file":
        if not os.path.isfile(spec):
            raise UsageError(f"--model {spec}: no such file")
    elif kind(spec) == "function":
        user_function(spec)


def user_function(spec):
    """The callable `MODULE:FUNCTION` names (FUNCTION may be dotted, `module:Class.method`)."""
    obj = look_up(spec, "--model")
    if not callable(obj):
        raise UsageError(
            f"--model {spec}: {spec.partition(':')[2]} is not callable (its type is {type(obj).__name__}); "
            "expected a function called as FUNCTION(input_shape, num_classes)"
        )
    return obj


def look_up(spec, option):
    """The object `MODULE:NAME` names (NAME may be dotted); UsageError naming `option` if there is none."""
    module_name, _, qualname = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UsageError(
            f"{option} {spec}: cannot import {module_name} ({e}); is its directory on PYTHONPATH?"
        ) from e
    obj = module
    for part in qualname.split("."):
        if not hasattr(obj, part):
            where = getattr(module, "__file__", None) or "a namespace package"
            raise UsageError(f"{option} {spec}: module {module_name} ({where}) has no {qualname}")
        obj = getattr(obj, part)
    return obj


def build(spec, num_classes, input_shape, dropout_rate):
    """The model `--model spec` names, for images of `input_shape` and `num_classes` classes.

    Call inside the strategy's scope. Raise UsageError for a model that is
    not a keras.Model or does not fit the dataset.
    """
    import keras

    from keras_ext.models._by_name import build_model

    what = kind(spec)
    if what == "name":
        try:
            return build_model(spec, num_classes, input_shape, dropout_rate)
        except ValueError as e:  # FashionCNN flattens, so small images leave it nothing to pool
            raise UsageError(f"--model {spec} cannot take images of shape {input_shape}: {e}") from e
    if what == "file":
        try:
            # Without the file's optimizer, loss and metrics: train compiles with its own.
            model = keras.saving.load_model(spec, compile=False)
        except (ValueError, OSError, TypeError) as e:
            raise UsageError(f"--model {spec}: cannot load it as a Keras model ({e})") from e
    else:
        model = user_function(spec)(tuple(input_shape), num_classes)
        if not isinstance(model, keras.Model):
            raise UsageError(
                f"--model {spec}: returned a {type(model).__module__}.{type(model).__qualname__}, "
                "not a keras.Model"
            )
    check_fits(spec, model, num_classes, input_shape)
    return model


def check_fits(spec, model, num_classes, input_shape):
    """Raise UsageError unless `model` takes one batch of the images and gives one logit per class.

    One image of zeros goes through the model (building a model that is not
    built yet): a symbolic call alone lets a functional model built for one
    channel pass three.
    """
    import numpy as np

    declared = [tuple(t.shape[1:]) for t in getattr(model, "inputs", None) or []]
    if len(declared) > 1:
        raise UsageError(f"--model {spec}: takes {len(declared)} inputs; keras-ext train feeds one, images")
    if declared and not _compatible(declared[0], input_shape):
        raise UsageError(
            f"--model {spec}: takes inputs of shape {declared[0]}, but the dataset's images "
            f"are {tuple(input_shape)}"
        )
    try:
        out = model(np.zeros((1, *input_shape), "float32"), training=False)
    except Exception as e:  # the backends raise different errors for a mismatched shape
        first_line = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UsageError(
            f"--model {spec}: cannot take the dataset's images of shape {tuple(input_shape)} ({first_line})"
        ) from e
    shape = tuple(getattr(out, "shape", ()))
    if shape != (1, num_classes):
        raise UsageError(
            f"--model {spec}: gives {shape or type(out).__name__} for one image; "
            f"the dataset has {num_classes} classes, so it must give (1, {num_classes}) logits"
        )


def _compatible(declared, actual):
    actual = tuple(actual)
    return len(declared) == len(actual) and all(
        d is None or d == a for d, a in zip(declared, actual, strict=True)
    )
