"""A resumed run's History covers every epoch since the run began, as an uninterrupted run's does.

The reference is the same three epochs trained in one go without a
checkpoint; the resumed run crashed in the middle of epoch 2 (step 15 of 30),
so its History holds epoch 1 from the checkpoint and epochs 2 and 3 trained
after the restore. A rerun of the finished run trains nothing and still
returns all three.
"""

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.callbacks import LearningRateLogger
from keras_ext.training import Trainer
from tests.callbacks import training_setup as setup

EPOCHS = 3
CRASH_STEP = setup.STEPS_PER_EPOCH + 5  # mid-epoch 2: the checkpoint of step 12 is the newest


@pytest.fixture(scope="module")
def arrays():
    return setup.digits_arrays()


def _train(loop, arrays, callbacks):
    x, y, xv, yv = arrays
    model = setup.make_model(seed=0)
    fit = model.fit
    if loop == "trainer":
        fit = Trainer(model, optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"]).fit
    history = fit(
        x,
        y,
        batch_size=setup.BATCH_SIZE,
        epochs=EPOCHS,
        shuffle=False,
        validation_data=(xv, yv),
        callbacks=[*callbacks, LearningRateLogger()],
        verbose=0,
    )
    return model, history


def _manager(directory):
    return CheckpointManager(directory, save_freq=4, max_to_keep=2, data=[])


# On JAX only `fit` (the History is filled the same way for both loops; JAX compiles slowly).
@pytest.mark.parametrize("loop", ["fit", pytest.param("trainer", marks=pytest.mark.tensorflow_only)])
def test_a_resumed_and_a_rerun_history_cover_every_epoch_like_an_uninterrupted_run(loop, arrays, tmp_path):
    _, reference = _train(loop, arrays, [])
    with pytest.raises(setup.CrashAtStep.Crash):
        _train(loop, arrays, [_manager(tmp_path), setup.CrashAtStep(CRASH_STEP)])

    resumed_model, resumed = _train(loop, arrays, [manager := _manager(tmp_path)])
    assert manager.resumed_epoch == 1 and manager.restored_from.endswith("ckpt-12")
    _assert_same_history(resumed, reference)
    assert resumed_model.history is resumed

    rerun_model, rerun = _train(loop, arrays, [manager := _manager(tmp_path)])
    assert manager.restored_from.endswith(f"ckpt-{EPOCHS * setup.STEPS_PER_EPOCH}")
    assert int(keras.ops.convert_to_numpy(rerun_model.optimizer.iterations)) == EPOCHS * setup.STEPS_PER_EPOCH
    _assert_same_history(rerun, reference)


def _assert_same_history(history, reference):
    assert history.epoch == list(range(EPOCHS))
    assert sorted(history.history) == sorted(reference.history)
    assert "learning_rate" in history.history  # added by a callback after the manager
    for name, values in reference.history.items():
        np.testing.assert_allclose(history.history[name], values, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.tensorflow_only
def test_names_logged_in_only_some_epochs_are_nan_in_the_others(arrays, tmp_path):
    class LogsOnlyAfterTheResume(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["late"] = float(epoch)

    with pytest.raises(setup.CrashAtStep.Crash):
        _train("fit", arrays, [_manager(tmp_path), setup.CrashAtStep(CRASH_STEP)])
    _, resumed = _train("fit", arrays, [_manager(tmp_path), LogsOnlyAfterTheResume()])
    np.testing.assert_array_equal(resumed.history["late"], [np.nan, 1.0, 2.0])
    assert all(len(values) == EPOCHS for values in resumed.history.values())
