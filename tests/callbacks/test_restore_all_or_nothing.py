"""Restores are all or nothing and matched by name; unusable checkpoints fall back to the one before.

Every test compares with plain Keras values taken before the restore (nothing
changed) or with an uninterrupted run of the same job (the fallback resumes
exactly).
"""

import json
import os
import warnings

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.callbacks import CheckpointMismatchError
from keras_ext.callbacks import CorruptCheckpointError
from tests.callbacks import small_job as job
from tests.callbacks.training_setup import CrashAtStep


@pytest.fixture(scope="module")
def reference():
    model = job.make_model(seed=0)
    job.fit(model)
    return job.state_of(model)


def _crash_at(directory, step, **model_kwargs):
    """Train with checkpoints every 4 steps until `step`: ckpt-4, -8, -12 exist for step 14."""
    with pytest.raises(CrashAtStep.Crash):
        job.fit(
            job.make_model(seed=0, **model_kwargs),
            [CheckpointManager(directory, save_freq=4, max_to_keep=None), CrashAtStep(step)],
        )


def _trained_checkpoints(directory, **model_kwargs):
    job.fit(
        job.make_model(seed=0, **model_kwargs),
        [CheckpointManager(directory, save_freq=4, max_to_keep=None)],
        epochs=1,
    )


def test_checkpoint_of_another_optimizer_class_is_refused_and_nothing_is_assigned(tmp_path):
    _trained_checkpoints(tmp_path, optimizer="rmsprop")
    model = job.make_model(seed=1, optimizer="adagrad")
    model.optimizer.build(model.trainable_variables)
    before = job.state_of(model)
    with pytest.raises(
        CheckpointMismatchError, match=r"holds the state of a RMSprop, the model is compiled with a Adagrad"
    ):
        job.fit(model, [CheckpointManager(tmp_path, save_freq=4)])
    job.assert_same(job.state_of(model), before)
    with pytest.raises(CheckpointMismatchError, match="optimizer"):
        CheckpointManager.restore(model, tmp_path, include_optimizer=True)
    job.assert_same(job.state_of(model), before)


def test_four_class_checkpoint_into_a_five_class_model_changes_no_variable(tmp_path):
    _trained_checkpoints(tmp_path, classes=4)
    model = job.make_model(seed=1, classes=5)
    model.optimizer.build(model.trainable_variables)
    before = job.state_of(model)
    # The head is the last layer: positional restores used to assign alpha and beta first.
    with pytest.raises(CheckpointMismatchError, match=r"head/kernel.*\(6, 4\).*\(6, 5\)"):
        job.fit(model, [CheckpointManager(tmp_path, save_freq=4)], classes=5)
    job.assert_same(job.state_of(model), before)
    with pytest.raises(CheckpointMismatchError, match="Nothing was restored"):
        CheckpointManager.restore(model, tmp_path / "ckpt-8")
    job.assert_same(job.state_of(model), before)


def test_same_shaped_layers_in_another_order_get_their_own_weights(tmp_path):
    trained = job.make_model(seed=0, order=("alpha", "beta"))
    job.fit(trained, [CheckpointManager(tmp_path, save_freq=4)], epochs=1)
    swapped = job.make_model(seed=1, order=("beta", "alpha"))  # beta's variables now come first
    assert [v.path for v in swapped.variables][:2] == ["beta/kernel", "beta/bias"]
    CheckpointManager.restore(swapped, tmp_path, include_optimizer=True)
    for name in ("alpha", "beta", "head"):
        job.assert_same(
            job.values(swapped.get_layer(name).variables), job.values(trained.get_layer(name).variables)
        )

    # Optimizer slots follow their variables by name too.
    def by_name(optimizer):  # without the optimizer's own auto-number (rm_sprop_3/...)
        return {v.path.split("/", 1)[1]: keras.ops.convert_to_numpy(v) for v in optimizer.variables}

    slots, reference = by_name(swapped.optimizer), by_name(trained.optimizer)
    assert sorted(slots) == sorted(reference)
    for path, value in reference.items():
        np.testing.assert_array_equal(slots[path], value, err_msg=path)


def test_a_renamed_layer_is_refused_with_both_names(tmp_path):
    _trained_checkpoints(tmp_path, order=("alpha", "beta"))
    renamed = job.make_model(seed=1, order=("alpha", "gamma"))
    before = job.values(renamed.variables)
    with pytest.raises(
        CheckpointMismatchError, match=r"(?s)beta/kernel.*no variable of that name.*gamma/kernel"
    ):
        CheckpointManager.restore(renamed, tmp_path)
    job.assert_same(job.values(renamed.variables), before)


def test_auto_numbered_names_of_another_process_still_match(tmp_path):
    # Unnamed layers get dense_<n> from a process-wide counter: another process
    # (here: more layers created first) numbers them differently.
    def unnamed(seed):
        keras.utils.set_random_seed(seed)
        inputs = keras.Input((6,))
        outputs = keras.layers.Dense(4)(keras.layers.Dense(6, activation="tanh")(inputs))
        model = keras.Model(inputs, outputs)
        model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    first = unnamed(0)
    job.fit(first, [CheckpointManager(tmp_path, save_freq=4)], epochs=1)
    for _ in range(3):
        keras.layers.Dense(1)  # bump the counter
    second = unnamed(1)
    assert [v.path for v in second.variables] != [v.path for v in first.variables]
    CheckpointManager.restore(second, tmp_path)
    job.assert_same(job.values(second.variables), job.values(first.variables))


def _files_null(manifest):
    manifest["files"] = None


def _no_epoch(state):
    del state["epoch"]


def _epoch_as_text(state):
    state["epoch"] = "1"


def _variables_null(state):
    state["variables"] = None


def _shape_as_text(state):
    state["variables"]["model"][0]["shape"] = "6x6"


MALFORMED = {
    "manifest files: null": dict(manifest=_files_null),
    "missing epoch": dict(state=_no_epoch),
    "epoch as a string": dict(state=_epoch_as_text),
    "variables: null": dict(state=_variables_null),
    "shape as a string": dict(state=_shape_as_text),
    "unreadable npz": dict(npz_bytes=b"PK\x03\x04 not really a zip file"),
    "missing array": dict(npz_drop=("optimizer/00000",)),  # iterations: used to restore partly
    "wrong-shaped late array": dict(npz_replace={"model/00005": np.zeros(7, "float32")}),
    "non-finite weights": dict(npz_replace={"model/00002": np.full((6, 6), np.nan, "float32")}),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_newest_checkpoint_falls_back_with_a_warning(tmp_path, reference, kind):
    _crash_at(tmp_path, step=14)
    newest = str(tmp_path / "ckpt-12")
    edit = dict(MALFORMED[kind])
    drop, replace = edit.pop("npz_drop", ()), edit.pop("npz_replace", None)
    if drop or replace:
        edit["npz_bytes"] = job.npz_without(newest, drop, replace)
    job.rewrite(newest, **edit)

    # One bad checkpoint, restored alone: one clear exception, the model untouched.
    alone = job.make_model(seed=3)
    alone.optimizer.build(alone.trainable_variables)
    before = job.state_of(alone)
    with pytest.raises(CorruptCheckpointError, match="ckpt-12"):
        CheckpointManager.restore(alone, newest, include_optimizer=True)
    job.assert_same(job.state_of(alone), before)

    model = job.make_model(seed=7)
    manager = CheckpointManager(tmp_path, save_freq=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = job.fit(model, [manager])
    messages = [str(w.message) for w in caught]
    assert any("skipping corrupt checkpoint" in m and "ckpt-12" in m for m in messages), messages
    assert os.path.basename(manager.restored_from) == "ckpt-8"
    assert os.path.isdir(tmp_path / "ckpt-12.corrupt")
    assert manager.resumed_epoch == 1 and history.epoch == [0, 1, 2]  # ckpt-8 ends epoch 0
    job.assert_same(job.state_of(model), reference, atol=1e-5)


def test_only_one_checkpoint_and_it_is_malformed_is_refused(tmp_path):
    _trained_checkpoints(tmp_path)
    for path in CheckpointManager(tmp_path).checkpoints:
        job.rewrite(path, state=_no_epoch)
    model = job.make_model(seed=2)
    before = job.values(model.variables)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="Every checkpoint .* is corrupt"):
            job.fit(model, [CheckpointManager(tmp_path, save_freq=4)])
    job.assert_same(job.values(model.variables), before)
    state = json.loads((tmp_path / "ckpt-8" / "state.json").read_text())
    assert "epoch" not in state  # left as it was, for the user to look at
