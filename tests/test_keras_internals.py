"""The fence around Keras / keras-tuner internals: each still exists here, and nothing else reaches them.

If Keras changes an internal, these tests (and the accessor itself, at run
time) say which one and the installed version, instead of keras_ext silently
training a batch twice or skipping a resume.
"""

import os
import re

import keras
import pytest

from keras_ext import _keras_internals as internals

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "keras_ext")

# Every private name the fence wraps; no other module of the package may use them.
INTERNALS = (
    r"keras\.src",
    r"keras_tuner\.src",
    r"\._jax_state",
    r"\._learning_rate\b",
    r"(?<!self)\._direction\b",
    r"\._try_build",
    r"_get_checkpoint_fname",
    r"\.compute_loss_and_updates",
    r"\._initial_epoch\s*=",
    r"metrics_tracking",
    r"PartialBatchList",
)


def _sources():
    for folder, _, names in os.walk(PACKAGE):
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    yield os.path.relpath(path, ROOT), f.read()


def _code_lines(text):
    """Lines outside docstrings and comments (a docstring may name an internal to explain it)."""
    text = re.sub(r'"""(?:.|\n)*?"""', "", text)
    lines = [line.split("#")[0] for line in text.splitlines()]
    # keras_ext's own modules may be named like an internal (callbacks._learning_rate).
    return [line for line in lines if not re.match(r"\s*(from|import) keras_ext\b", line)]


def test_internals_are_referenced_from_the_fence_module_only():
    offenders = []
    for path, text in _sources():
        if path == os.path.join("keras_ext", "_keras_internals.py"):
            continue
        for line in _code_lines(text):
            offenders += [f"{path}: {line.strip()}" for p in INTERNALS if re.search(p, line)]
    assert not offenders, offenders


def test_no_keras_ext_attribute_on_user_objects_but_the_resume_handle():
    from keras_ext import _progress

    names = set()
    for _, text in _sources():
        for line in _code_lines(text):
            names.update(re.findall(r"\b_keras_ext_\w+", line))
    assert names <= {_progress.ATTRIBUTE}, names


def test_every_fenced_keras_internal_exists_in_the_installed_keras():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)), "mse")
    internals.set_initial_epoch(model, 2)
    assert internals.initial_epoch(model) == 2
    internals.clear_initial_epoch(model)
    assert internals.initial_epoch(model) is None
    assert isinstance(internals.schedule_of(model.optimizer), keras.optimizers.schedules.ExponentialDecay)
    accuracy = keras.metrics.SparseCategoricalAccuracy()
    assert internals.metric_direction(accuracy) == "max"
    internals.print_msg("keras_ext: print_msg works")


def test_jax_fit_stacks_batches_from_keras_3_16():
    # keras-team/keras#23527: one train_function call gets steps_per_execution batches stacked.
    major, minor = (int(part) for part in keras.__version__.split(".")[:2])
    assert internals.jax_fit_stacks_batches() is ((major, minor) >= (3, 16))


@pytest.mark.parametrize("steps_per_execution", [1, 3])
def test_the_draw_only_stand_in_draws_what_each_call_of_fit_trains(steps_per_execution):
    """Installed as fit's train function, it draws every batch once, in calls of steps_per_execution
    batches (the epoch's last call short), and trains nothing."""
    import numpy as np

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=steps_per_execution)
    weights = [keras.ops.convert_to_numpy(w) for w in model.weights]
    drawn = []

    class DrawOnly(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.model.train_function = internals.draw_only_train_function(
                self.model, {"loss": 0.5}, lambda first, count: drawn.append((first, count))
            )

    x = np.arange(14, dtype="float32").reshape(7, 2)
    model.fit(x, np.zeros((7, 1)), batch_size=1, shuffle=False, callbacks=[DrawOnly()], verbose=0)
    starts = list(range(0, 7, steps_per_execution))
    assert [count for _, count in drawn] == [min(steps_per_execution, 7 - start) for start in starts]
    firsts = [
        keras.ops.convert_to_numpy(keras.utils.unpack_x_y_sample_weight(batch)[0]) for batch, _ in drawn
    ]
    np.testing.assert_array_equal(np.concatenate(firsts), x[starts])
    for before, after in zip(weights, model.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(after), before)


@pytest.mark.tensorflow_only
def test_every_fenced_keras_tuner_internal_exists_in_the_installed_keras_tuner():
    protos, oracle_chief = internals.keras_tuner_chief_modules()
    assert hasattr(protos, "get_service_grpc") and hasattr(oracle_chief, "OracleServicer")
    import keras_tuner

    assert hasattr(keras_tuner.Tuner, "_try_build") and hasattr(keras_tuner.Tuner, "_get_checkpoint_fname")


def test_a_missing_internal_fails_loudly_naming_the_keras_version():
    class NotAKerasModel:
        pass

    with pytest.raises(internals.KerasInternalsChanged, match=re.escape(f"Keras {keras.__version__}")):
        internals.set_initial_epoch(NotAKerasModel(), 1)
    with pytest.raises(internals.KerasInternalsChanged, match="_learning_rate"):
        internals.schedule_of(object())


def _private_names_used_in(root):
    """Every `._name` attribute (and `def _name`) that appears in the Python files under `root`."""
    names = set()
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    text = f.read()
                names.update(re.findall(r"\._([A-Za-z]\w*)", text))
                names.update(re.findall(r"\bdef _([A-Za-z]\w*)", text))
    return {f"_{n}" for n in names}


def _keras_ext_private_uses():
    """`(path, line, name)` for each private attribute keras_ext reads off an object not its own.

    An attribute of `self` or `cls`, or one keras_ext defines itself (`self._x =`,
    `def _x`, a class's `_x = ...`), is keras_ext's own; so is a keyword argument.
    """
    import ast

    own, uses = set(), []
    trees = {}
    for path, text in _sources():
        tree = trees[path] = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name.startswith("_"):
                own.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    uses.append((path, node.lineno, node.attr))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr", "setattr")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and str(node.args[1].value).startswith("_")
                and not str(node.args[1].value).startswith("__")
            ):
                uses.append((path, node.lineno, node.args[1].value))
    return [(path, line, name) for path, line, name in uses if name not in own]


def test_every_private_keras_name_is_reached_through_the_fence_only():
    """Any private name of Keras (or keras-tuner, TensorFlow) used outside `_keras_internals.py`
    fails, whatever it is: not only the ones INTERNALS lists."""
    import keras_tuner

    frameworks = _private_names_used_in(os.path.dirname(keras.__file__))
    frameworks |= _private_names_used_in(os.path.dirname(keras_tuner.__file__))
    fence = os.path.join("keras_ext", "_keras_internals.py")
    offenders = [
        f"{path}:{line} {name}"
        for path, line, name in _keras_ext_private_uses()
        if path != fence and name in frameworks
    ]
    assert not offenders, offenders
