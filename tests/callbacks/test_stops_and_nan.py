"""No poisoned resume points, true positions after a mid-epoch stop, and no resume state outliving a fit.

References are uninterrupted runs of the same job (tests/callbacks/small_job.py)
and plain Keras facts (History's epochs, `optimizer.iterations`).
"""

import os
import warnings

import keras
import numpy as np
import pytest

import keras_ext
from keras_ext.callbacks import CheckpointManager
from keras_ext.checkpoint import _checkpoint_files
from tests.callbacks import small_job as job
from tests.callbacks.training_setup import CrashAtStep
from tests.callbacks.training_setup import RecordBatchLogs


@pytest.fixture(scope="module")
def reference():
    model = job.make_model(seed=0)
    job.fit(model)
    return job.state_of(model)


def _iterations(model):
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def _names(manager):
    return [os.path.basename(p) for p in manager.checkpoints]


class PoisonBeforeStep(keras.callbacks.Callback):
    """Set alpha's kernel to NaN just before optimizer step `step` (a diverging run, made exact)."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_begin(self, batch, logs=None):
        if _iterations(self.model) == self.step - 1:
            sync = getattr(self.model, "jax_state_sync", None)
            if sync is not None:  # JAX fit keeps the state outside the variables
                sync()
            kernel = self.model.get_layer("alpha").kernel
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


class StopAtStep(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if _iterations(self.model) == self.step:
            self.model.stop_training = True


def _all_finite(path):
    arrays, _ = _checkpoint_files.read_checkpoint(path)
    return all(np.isfinite(a).all() for a in arrays.values() if np.issubdtype(a.dtype, np.floating))


def test_nan_under_terminate_on_nan_is_never_a_resume_point(tmp_path, reference):
    def run(poison, seed=5):  # a rerun's own initial weights must not matter
        model = job.make_model(seed=seed)
        manager = CheckpointManager(tmp_path, save_freq=4, max_to_keep=2)
        callbacks = [manager, keras.callbacks.TerminateOnNaN()]
        if poison:
            callbacks.insert(0, PoisonBeforeStep(14))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            job.fit(model, callbacks)
        return model, manager, [str(w.message) for w in caught]

    model, manager, messages = run(poison=True, seed=0)
    assert model.stop_training
    assert any("not saving step 14" in m and "non-finite" in m for m in messages), messages
    assert _names(manager) == ["ckpt-8", "ckpt-12"]
    # The same diverging script, rerun twice: each resumes from ckpt-12, and
    # rotation never pushes the last finite checkpoint out.
    for _ in range(2):
        model, manager, _ = run(poison=True)
        assert os.path.basename(manager.restored_from) == "ckpt-12"
        assert _names(manager) == ["ckpt-8", "ckpt-12"]
    assert all(_all_finite(p) for p in manager.checkpoints)

    # Fixed (here: the poison removed; a lower rate works the same way): it resumes
    # from the last finite state and ends where an uninterrupted run ends.
    model, manager, _ = run(poison=False)
    assert os.path.basename(manager.restored_from) == "ckpt-12"
    job.assert_same(job.state_of(model), reference, atol=1e-5)


@pytest.mark.parametrize("save_freq", [4, "epoch"])
def test_mid_epoch_stop_records_its_position_and_the_rerun_matches_an_uninterrupted_run(
    tmp_path, reference, save_freq
):
    model = job.make_model(seed=0)
    manager = CheckpointManager(tmp_path, save_freq=save_freq, monitor="loss")
    history = job.fit(model, [manager, StopAtStep(13)])
    assert history.epoch == [0, 1] and _iterations(model) == 13
    assert os.path.basename(manager.latest) == "ckpt-13"
    _, state = _checkpoint_files.read_checkpoint(manager.latest)
    assert (state["epoch"], state["step_in_epoch"]) == (1, 5)  # not "epoch 1 finished"
    assert state["score"] is None  # a partial epoch is never ranked as a best

    rerun = job.make_model(seed=9)
    history = job.fit(rerun, [manager := CheckpointManager(tmp_path, save_freq=save_freq, monitor="loss")])
    assert manager.resumed_epoch == 1 and history.epoch == [0, 1, 2]
    job.assert_same(job.state_of(rerun), reference, atol=1e-5)


def _resumed_at_step_12(directory):
    with pytest.raises(CrashAtStep.Crash):
        job.fit(job.make_model(seed=0), [CheckpointManager(directory, save_freq=4), CrashAtStep(14)])


def _assert_nothing_left(model):
    from keras_ext import _progress

    left = [name for name in vars(model) if name.startswith("_keras_ext")]
    assert "draw_or_train" not in getattr(model.train_function, "__name__", "")
    assert left in ([], [_progress.ATTRIBUTE]), left
    state = _progress.of(model)
    if state is not None:
        assert (state.initial_epoch, state.initial_step, state.fast_forward) == (None, 0, None)
        # Left True, a later Keras fit would be taken for a loop that skips batches itself.
        assert not state.skips_batches
    assert model._initial_epoch is None


class Interrupt(keras.callbacks.Callback):
    """Raise `error` at the end of batch `batch` of epoch `epoch` (counted as fit reports them)."""

    def __init__(self, epoch, batch, error):
        super().__init__()
        self.at, self.error, self.epoch = (epoch, batch), error, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise self.error


@pytest.mark.parametrize(
    "where, error",
    [
        ((2, 1), RuntimeError("a callback failed")),  # after the resumed epoch
        ((1, 1), KeyboardInterrupt()),  # while fit replays ckpt-12's batches
    ],
)
def test_an_exception_inside_a_resumed_fit_leaves_nothing_for_the_next_fit(tmp_path, where, error):
    _resumed_at_step_12(tmp_path)
    model = job.make_model(seed=3)
    with pytest.raises(type(error)):
        job.fit(model, [CheckpointManager(tmp_path, save_freq=4), Interrupt(*where, error)])
    assert model._initial_epoch is None
    # A plain fit afterwards runs every epoch and trains every batch (Keras called
    # no hook after the exception: a stand-in left mid-replay removes itself here).
    start = _iterations(model)
    logger = keras_ext.callbacks.LearningRateLogger(every="batch")
    recorder = RecordBatchLogs()
    history = job.fit(model, [logger, recorder], epochs=3)
    assert history.epoch == [0, 1, 2]
    assert _iterations(model) - start == 3 * job.STEPS_PER_EPOCH
    assert all("learning_rate" in logs for logs in recorder.batches)  # no batch taken for a replay
    _assert_nothing_left(model)


def test_an_exception_inside_a_resumed_trainer_fit_leaves_nothing_for_the_next_fit(tmp_path):
    from keras_ext.training import Trainer

    _resumed_at_step_12(tmp_path)
    model = job.make_model(seed=3)
    trainer = Trainer(model, optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"])
    x, y = job.data()
    kwargs = dict(batch_size=job.BATCH_SIZE, shuffle=False, verbose=0)
    with pytest.raises(RuntimeError):
        trainer.fit(
            x,
            y,
            epochs=3,
            callbacks=[CheckpointManager(tmp_path, save_freq=4), Interrupt(2, 1, RuntimeError("boom"))],
            **kwargs,
        )
    _assert_nothing_left(model)
    start = _iterations(model)
    assert trainer.fit(x, y, epochs=3, **kwargs).epoch == [0, 1, 2]
    assert _iterations(model) - start == 3 * job.STEPS_PER_EPOCH
