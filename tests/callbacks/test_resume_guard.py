"""The resume guard: a resumed Keras `fit` that is not where its checkpoint says stops before any step.

Each crash run (one per `steps_per_execution`, 10 steps per epoch, a checkpoint every 5 steps,
all kept) leaves an epoch-end checkpoint, `ckpt-10` (epoch index 1, batch 0), and a mid-epoch one
in epoch index 1: `ckpt-15` (batch 5) with one step per call, `ckpt-16` (batch 6) with three (the
hooks see steps 3, 6, 9, 10, 13, 16). Resumes restore one of them into a fresh directory. A
disagreement is forced by changing one thing at a time (the fast-forward's length, what one call
draws, the optimizer step, the epoch fit starts at, a pipeline's pass); each must raise
`ResumePositionError` naming the Keras version, with the model and optimizer still holding the
checkpoint's values and nothing saved.
"""

import json
import os

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.callbacks import _fit_resume
from keras_ext.callbacks._resume_guard import ResumeGuard
from keras_ext.callbacks._resume_guard import ResumePositionError
from tests.callbacks import training_setup as setup

EPOCHS = 2
MID_EPOCH = {1: "ckpt-15", 3: "ckpt-16"}  # by steps_per_execution


class OnTrainBegin(keras.callbacks.Callback):
    """Runs `action(model)` in on_train_begin: after a CheckpointManager listed before it has restored."""

    def __init__(self, action):
        super().__init__()
        self.action = action

    def on_train_begin(self, logs=None):
        self.action(self.model)


def _model(steps_per_execution, seed=0):
    model = setup.make_model(seed=seed)
    model.compile(
        optimizer=model.optimizer,
        loss=model.loss,
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def _fit(model, callbacks, data=None):
    x, y, _, _ = setup.digits_arrays()
    if data is None:
        return model.fit(
            x, y, batch_size=setup.BATCH_SIZE, epochs=EPOCHS, shuffle=False, callbacks=callbacks, verbose=0
        )
    return model.fit(data, epochs=EPOCHS, shuffle=False, callbacks=callbacks, verbose=0)


def _crash_run(directory, steps_per_execution, data=None):
    manager = CheckpointManager(directory, save_freq=5, max_to_keep=None, data=[] if data is None else data)
    with pytest.raises(setup.CrashAtStep.Crash):
        _fit(_model(steps_per_execution), [manager, setup.CrashAtStep(17)], data)
    return directory


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """`{steps_per_execution: directory}` of one crash run each, made on first use."""
    made = {}

    def get(steps_per_execution):
        if steps_per_execution not in made:
            made[steps_per_execution] = _crash_run(
                tmp_path_factory.mktemp(f"spe{steps_per_execution}"), steps_per_execution
            )
        return made[steps_per_execution]

    return get


@pytest.fixture
def guard_checks(monkeypatch):
    """How many times the guard checked a resume (and passed or raised)."""
    calls = []
    original = ResumeGuard.check

    def counted(self, *args, **kwargs):
        calls.append(self.path)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ResumeGuard, "check", counted)
    return calls


def _resume(tmp_path, checkpoint, steps_per_execution, extra_callbacks=(), data=None):
    model = _model(steps_per_execution, seed=7)
    manager = CheckpointManager(
        tmp_path / "resumed", save_freq=5, restore=checkpoint, data=[] if data is None else data
    )
    history = _fit(model, [manager, *extra_callbacks], data)
    return model, manager, history


def _assert_stopped_before_any_step(model, checkpoint, steps_per_execution, error):
    message = str(error.value)
    assert "CheckpointManager: resumed from" in message and os.path.basename(checkpoint) in message
    assert f"Keras {keras.__version__}, backend {keras.backend.backend()}" in message
    assert f"steps_per_execution={steps_per_execution}" in message
    saved = _model(steps_per_execution, seed=3)
    CheckpointManager.restore(saved, checkpoint, include_optimizer=True)
    step = int(os.path.basename(checkpoint).split("-")[1])
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == step
    for actual, expected in zip(
        model.trainable_variables + model.optimizer.variables,
        saved.trainable_variables + saved.optimizer.variables,
        strict=True,
    ):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(actual), keras.ops.convert_to_numpy(expected)
        )


@pytest.mark.parametrize("steps_per_execution", [1, 3])
@pytest.mark.parametrize("where", ["mid-epoch", "epoch-end"])
def test_a_resume_where_the_checkpoint_says_passes_the_guard(
    tmp_path, checkpoints, guard_checks, steps_per_execution, where
):
    name = MID_EPOCH[steps_per_execution] if where == "mid-epoch" else "ckpt-10"
    checkpoint = os.path.join(checkpoints(steps_per_execution), name)
    model, manager, history = _resume(tmp_path, checkpoint, steps_per_execution)
    assert manager.restored_from == checkpoint
    assert guard_checks == [checkpoint]  # checked once, before the first step, and it agreed
    assert manager.resumed_epoch == 1 and history.epoch == [0, 1]
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == EPOCHS * setup.STEPS_PER_EPOCH


@pytest.mark.parametrize("steps_per_execution", [1, 3])
def test_a_fast_forward_one_call_short_is_stopped_before_any_step(
    tmp_path, checkpoints, monkeypatch, steps_per_execution
):
    # The fast-forward stops one call (one batch, or three) before the checkpoint's batch.
    start = _fit_resume.FitResume._start_fast_forward

    def short(self, epoch, batches, saved_logs):
        return start(self, epoch, batches - steps_per_execution, saved_logs)

    monkeypatch.setattr(_fit_resume.FitResume, "_start_fast_forward", short)
    checkpoint = os.path.join(checkpoints(steps_per_execution), MID_EPOCH[steps_per_execution])
    batch = 5 if steps_per_execution == 1 else 6
    model = _model(steps_per_execution, seed=7)
    manager = CheckpointManager(tmp_path / "resumed", save_freq=5, restore=checkpoint, data=[])
    with pytest.raises(ResumePositionError) as error:
        _fit(model, [manager])
    assert (
        f"the fast-forward ended after drawing {batch - steps_per_execution} batches without training them, "
        f"the checkpoint says {batch}"
    ) in str(error.value)
    _assert_stopped_before_any_step(model, checkpoint, steps_per_execution, error)
    assert not os.path.exists(tmp_path / "resumed")  # nothing saved either


@pytest.mark.parametrize("steps_per_execution", [1, 3])
def test_a_fast_forward_drawing_two_calls_at_once_is_stopped_before_any_step(
    tmp_path, checkpoints, monkeypatch, steps_per_execution
):
    # What keras-nightly 3.16 did to the stand-in of Keras 3.15 on JAX: each call of fit
    # drew twice the batches fit numbered it (steps_per_execution super-batches, not one).
    real = _fit_resume.internals.draw_only_train_function

    def greedy(model, logs, on_drawn):
        draw = real(model, logs, on_drawn)

        def twice(*args):
            draw(*args)
            return draw(*args)

        return twice

    monkeypatch.setattr(_fit_resume.internals, "draw_only_train_function", greedy)
    checkpoint = os.path.join(checkpoints(steps_per_execution), MID_EPOCH[steps_per_execution])
    model = _model(steps_per_execution, seed=7)
    manager = CheckpointManager(tmp_path / "resumed", save_freq=5, restore=checkpoint, data=[])
    with pytest.raises(ResumePositionError) as error:
        _fit(model, [manager])
    assert (
        f"fit's call for batches 0 to {steps_per_execution - 1} of the epoch left the fast-forward at "
        f"{2 * steps_per_execution} batches drawn, not {steps_per_execution}"
    ) in str(error.value)
    _assert_stopped_before_any_step(model, checkpoint, steps_per_execution, error)
    assert not os.path.exists(tmp_path / "resumed")


def test_an_optimizer_step_that_disagrees_is_stopped_before_any_step(tmp_path, checkpoints):
    checkpoint = os.path.join(checkpoints(1), "ckpt-10")
    reset = OnTrainBegin(lambda model: model.optimizer.iterations.assign(0))
    model = _model(1, seed=7)
    with pytest.raises(
        ResumePositionError, match="optimizer.iterations is 0, the checkpoint says 10"
    ) as error:
        _fit(model, [CheckpointManager(tmp_path / "resumed", restore=checkpoint, data=[]), reset])
    model.optimizer.iterations.assign(10)  # the sabotage's own change; the rest must be the checkpoint's
    _assert_stopped_before_any_step(model, checkpoint, 1, error)


def test_fit_starting_at_another_epoch_is_stopped_before_any_step(tmp_path, checkpoints, monkeypatch):
    # As if fit no longer read the epoch the manager asks it to start at.
    monkeypatch.setattr(_fit_resume.internals, "set_initial_epoch", lambda model, epoch: None)
    checkpoint = os.path.join(checkpoints(3), MID_EPOCH[3])
    model = _model(3, seed=7)
    with pytest.raises(
        ResumePositionError, match="fit runs epoch index 0, the checkpoint says epoch index 1"
    ) as error:
        _fit(model, [CheckpointManager(tmp_path / "resumed", save_freq=5, restore=checkpoint, data=[])])
    _assert_stopped_before_any_step(model, checkpoint, 3, error)


def test_a_pipeline_reading_another_pass_is_stopped_before_any_step(tmp_path):
    from keras_ext.data import ArrayBatches

    x, y, _, _ = setup.digits_arrays()
    crashed = ArrayBatches(x, y, setup.BATCH_SIZE, shuffle=True, seed=0)
    checkpoint = os.path.join(_crash_run(tmp_path / "run", 1, data=crashed), "ckpt-15")
    with open(os.path.join(checkpoint, "state.json")) as f:
        # The pass epoch index 1 read (1, or 2 where fit's symbolic build took a pass of its own).
        saved = json.load(f)["data"][0]["epoch"]
    pipeline = ArrayBatches(x, y, setup.BATCH_SIZE, shuffle=True, seed=0)
    moved = OnTrainBegin(lambda model: pipeline.set_epoch(saved + 3))  # after the restore put it back
    model = _model(1, seed=7)
    manager = CheckpointManager(tmp_path / "resumed", save_freq=5, restore=checkpoint, data=pipeline)
    with pytest.raises(
        ResumePositionError, match=f"reads pass {saved + 3}, the checkpoint says pass {saved}"
    ) as error:
        _fit(model, [manager, moved], pipeline)
    _assert_stopped_before_any_step(model, checkpoint, 1, error)
