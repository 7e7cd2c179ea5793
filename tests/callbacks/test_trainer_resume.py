"""A checkpoint written by `model.fit` resumes in keras_ext's Trainer, and the other way round."""

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.checkpoint import _checkpoint_files
from keras_ext.training import Trainer
from tests.callbacks import training_setup as setup

pytestmark = [
    pytest.mark.tensorflow_only,
    # The Trainer builds its metrics before on_train_begin, so the manager can
    # restore the resumed epoch's metric sums: any warning about them is a failure.
    pytest.mark.filterwarnings("error:CheckpointManager. the metric variables"),
]

# fit and the Trainer compute the same step with different float rounding; over
# 30 RMSprop steps their weights drift apart by ~1e-4 (measured), so a run that
# switches loops is compared with both single-loop references at that scale, and
# exactly (1e-5) with the same switch made in memory, without a checkpoint.
SWITCH_ATOL = 2e-3
EXACT_ATOL = 1e-5


@pytest.fixture(scope="module")
def arrays():
    return setup.digits_arrays()


def _with_fit(model, arrays, callbacks, epochs=3):
    x, y, xv, yv = arrays
    return model.fit(
        x,
        y,
        batch_size=setup.BATCH_SIZE,
        epochs=epochs,
        shuffle=False,
        validation_data=(xv, yv),
        callbacks=callbacks,
        verbose=0,
    )


def _with_trainer(model, arrays, callbacks, epochs=3):
    from keras_ext.metrics import CategoricalTruePositives

    x, y, xv, yv = arrays
    trainer = Trainer(
        model, optimizer=model.optimizer, loss=model.loss, metrics=["accuracy", CategoricalTruePositives()]
    )
    return trainer.fit(
        x,
        y,
        batch_size=setup.BATCH_SIZE,
        epochs=epochs,
        shuffle=False,
        validation_data=(xv, yv),
        callbacks=callbacks,
        verbose=0,
    )


class StateAtResume(keras.callbacks.Callback):
    """The model and optimizer variables when the resumed epoch begins."""

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self, "weights"):
            self.weights = setup.weights(self.model)
            self.optimizer = setup.optimizer_state(self.model)


@pytest.fixture(scope="module")
def references(arrays):
    result = {}
    for name, loop in (("fit", _with_fit), ("trainer", _with_trainer)):
        model = setup.make_model(seed=0)
        loop(model, arrays, [])
        result[name] = setup.weights(model)
    return result


@pytest.mark.parametrize(
    "first, second",
    [(_with_fit, _with_trainer), (_with_trainer, _with_fit)],
    ids=["fit_then_trainer", "trainer_then_fit"],
)
def test_checkpoint_resumes_in_the_other_loop(tmp_path, arrays, references, first, second):
    with pytest.raises(setup.CrashAtStep.Crash):
        first(
            setup.make_model(seed=0),
            arrays,
            [CheckpointManager(tmp_path, save_freq=4), setup.CrashAtStep(14)],
        )
    saved, state = _checkpoint_files.read_checkpoint(str(tmp_path / "ckpt-12"))
    assert (state["epoch"], state["step_in_epoch"]) == (1, 2)

    model = setup.make_model(seed=9)
    manager = CheckpointManager(tmp_path, save_freq=4)
    at_resume = StateAtResume()
    history = second(model, arrays, [manager, at_resume])
    assert manager.restored_from.endswith("ckpt-12")
    assert manager.resumed_epoch == 1 and history.epoch == [0, 1, 2]
    # The loop starts from exactly the saved state ...
    for index, value in enumerate(at_resume.weights):
        np.testing.assert_array_equal(value, saved[f"model/{index:05d}"])
    for index, value in enumerate(at_resume.optimizer):
        np.testing.assert_array_equal(value, saved[f"optimizer/{index:05d}"])
    # ... trains the 18 remaining steps (none twice, none skipped) ...
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 30
    assert [n.split("-")[1] for n in (p.rsplit("/", 1)[-1] for p in manager.checkpoints)] == [
        "24",
        "28",
        "30",
    ]
    # ... and ends where both uninterrupted loops end, up to their rounding drift.
    for name in ("fit", "trainer"):
        for value, expected in zip(setup.weights(model), references[name], strict=True):
            np.testing.assert_allclose(value, expected, atol=SWITCH_ATOL, rtol=0, err_msg=name)


class _Epochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs))


def _switch_in_memory(arrays, first, second):
    """The same switch without a checkpoint: `first` stops after step 12 (epoch 1, batch 2),
    `second` trains the rest of epoch 1's batches, then epoch 2, on the same model object."""
    model = setup.make_model(seed=0)

    class StopAtStep12(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == 12:
                self.model.stop_training = True

    first(model, arrays, [StopAtStep12()], epochs=2)
    x, y, xv, yv = arrays
    done = 2 * setup.BATCH_SIZE  # epoch 1's batches trained before the switch
    second(model, (x[done:], y[done:], xv, yv), [], epochs=1)
    epochs = _Epochs()
    second(model, arrays, [epochs], epochs=1)
    return setup.weights(model), epochs.logs[-1]


@pytest.mark.parametrize(
    "first, second",
    [(_with_fit, _with_trainer), (_with_trainer, _with_fit)],
    ids=["fit_then_trainer", "trainer_then_fit"],
)
def test_cross_loop_resume_equals_the_same_switch_made_without_a_checkpoint(tmp_path, arrays, first, second):
    expected_weights, expected_logs = _switch_in_memory(arrays, first, second)
    with pytest.raises(setup.CrashAtStep.Crash):
        first(
            setup.make_model(seed=0),
            arrays,
            [CheckpointManager(tmp_path, save_freq=4), setup.CrashAtStep(14)],
        )
    model = setup.make_model(seed=9)
    epochs = _Epochs()
    second(model, arrays, [CheckpointManager(tmp_path, save_freq=4), epochs])
    for value, expected in zip(setup.weights(model), expected_weights, strict=True):
        np.testing.assert_allclose(value, expected, atol=EXACT_ATOL, rtol=0)
    assert set(epochs.logs[-1]) == set(expected_logs)
    for key, value in expected_logs.items():  # epoch 2: loss, metrics and validation
        assert epochs.logs[-1][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
