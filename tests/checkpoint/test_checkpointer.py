"""Checkpointer: the four calls a loop of one's own makes, and the ways they fail."""

import os
import warnings

import keras
import numpy as np
import pytest

from keras_ext.checkpoint import Checkpointer
from keras_ext.checkpoint._training_state import CheckpointMismatchError


def _model(units=3, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(units), keras.layers.Dense(2)])


def _train(model, optimizer, steps):
    for _ in range(steps):
        # A fixed, backend-free "gradient": it moves every weight and optimizer slot.
        grads = [keras.ops.ones(v.shape) * 0.1 for v in model.trainable_variables]
        optimizer.apply(grads, model.trainable_variables)


def _values(variables):
    return [keras.ops.convert_to_numpy(v).copy() for v in variables]


def test_save_restore_and_keep_the_newest_three(tmp_path):
    model, optimizer = _model(), keras.optimizers.Adam(0.01)
    checkpointer = Checkpointer(tmp_path / "c", model, optimizer, max_to_keep=3, save_freq=2)
    assert checkpointer.restore_latest() is None and checkpointer.latest_step is None
    for step in range(1, 11):
        _train(model, optimizer, 1)
        if checkpointer.should_save(step):
            checkpointer.save(step, extra={"epoch": step // 4, "note": "x"})
    assert checkpointer.steps == [6, 8, 10] and checkpointer.latest_step == 10
    assert sorted(os.listdir(tmp_path / "c")) == ["ckpt-10", "ckpt-6", "ckpt-8"]

    # A fresh model and an unbuilt optimizer, as in a new process.
    fresh, fresh_optimizer = _model(seed=1), keras.optimizers.Adam(0.01)
    restored = Checkpointer(tmp_path / "c", fresh, fresh_optimizer)
    assert restored.restore_latest() == 10
    assert restored.extra == {"epoch": 2, "note": "x"}
    for a, b in zip(_values(fresh.variables), _values(model.variables), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_values(fresh_optimizer.variables), _values(optimizer.variables), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(keras.ops.convert_to_numpy(fresh_optimizer.iterations)) == 10


def test_a_corrupt_newest_checkpoint_is_skipped_for_the_one_before(tmp_path):
    model, optimizer = _model(), keras.optimizers.SGD(0.1)
    checkpointer = Checkpointer(tmp_path, model, optimizer, max_to_keep=None)
    _train(model, optimizer, 1)
    checkpointer.save(1)
    kept = _values(model.variables)
    _train(model, optimizer, 1)
    checkpointer.save(2)
    (tmp_path / "ckpt-2" / "state.npz").write_bytes(b"not a checkpoint")
    fresh = _model(seed=3)
    with pytest.warns(UserWarning, match="ckpt-2"):
        assert Checkpointer(tmp_path, fresh, keras.optimizers.SGD(0.1)).restore_latest() == 1
    for a, b in zip(_values(fresh.variables), kept, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_checkpoint_of_another_model_is_refused_before_anything_is_assigned(tmp_path):
    model, optimizer = _model(units=3), keras.optimizers.SGD(0.1)
    Checkpointer(tmp_path, model, optimizer).save(5)
    other = _model(units=5)
    before = _values(other.variables)
    with pytest.raises(CheckpointMismatchError, match="Nothing was restored"):
        Checkpointer(tmp_path, other, keras.optimizers.SGD(0.1)).restore_latest()
    for a, b in zip(_values(other.variables), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_extra_that_is_not_json_writes_nothing(tmp_path):
    checkpointer = Checkpointer(tmp_path, _model(), keras.optimizers.SGD())
    with pytest.raises(TypeError):
        checkpointer.save(1, extra={"array": np.zeros(2)})
    assert checkpointer.steps == [] and not [n for n in os.listdir(tmp_path) if n.startswith(".tmp")]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_to_keep": 0}, "max_to_keep=0"),
        ({"save_freq": 0}, "save_freq=0"),
        ({"save_freq": "epoch"}, "save_freq='epoch'"),
        ({"model": "model"}, "model='model'"),
        ({"optimizer": "adam"}, "optimizer='adam'"),
    ],
)
def test_bad_arguments_are_named(tmp_path, kwargs, message):
    arguments = {"directory": tmp_path, "model": _model(), **kwargs}
    with warnings.catch_warnings(), pytest.raises(ValueError, match=message):
        Checkpointer(**arguments)


@pytest.mark.parametrize("step", [-1, 1.5, True])
def test_bad_steps_are_named(tmp_path, step):
    with pytest.raises(ValueError, match=f"step={step!r}"):
        Checkpointer(tmp_path, _model(), keras.optimizers.SGD()).save(step)
