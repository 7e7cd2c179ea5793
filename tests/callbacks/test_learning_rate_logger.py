"""LearningRateLogger against the ExponentialDecay formula computed in NumPy, before and after a resume."""

import csv

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.callbacks import LearningRateLogger
from keras_ext.schedules import LinearWarmup
from tests.callbacks import training_setup as setup


@pytest.fixture(scope="module")
def arrays():
    return setup.digits_arrays()


def _fit(model, arrays, callbacks, epochs=3):
    x, y, _, _ = arrays
    return model.fit(
        x, y, batch_size=setup.BATCH_SIZE, epochs=epochs, shuffle=False, callbacks=callbacks, verbose=0
    )


def test_epoch_and_batch_rates_equal_the_staircase_formula(arrays):
    model = setup.make_model(seed=0)
    recorder = setup.RecordBatchLogs()
    history = _fit(model, arrays, [LearningRateLogger(every="batch"), recorder])
    steps = setup.STEPS_PER_EPOCH
    rates = [logs["learning_rate"] for logs in recorder.batches]
    # One value per optimizer step: the rate the next step uses, schedule(iterations).
    np.testing.assert_allclose(rates, setup.staircase_rate(np.arange(1, 3 * steps + 1)), rtol=1e-6)
    np.testing.assert_allclose(
        history.history["learning_rate"], setup.staircase_rate([steps, 2 * steps, 3 * steps]), rtol=1e-6
    )


def test_rates_continue_the_formula_after_a_mid_epoch_resume(tmp_path, arrays):
    with pytest.raises(setup.CrashAtStep.Crash):
        _fit(
            setup.make_model(seed=0),
            arrays,
            [CheckpointManager(tmp_path, save_freq=4), setup.CrashAtStep(14)],
        )
    model = setup.make_model(seed=1)
    recorder = setup.RecordBatchLogs()
    history = _fit(
        model, arrays, [CheckpointManager(tmp_path, save_freq=4), LearningRateLogger(every="batch"), recorder]
    )
    # Resumed at step 12 (epoch 1, batch 2): the two batches fit only draws from
    # the data carry no rate; steps 13..30 each log one.
    assert ["learning_rate" in logs for logs in recorder.batches] == [False] * 2 + [True] * 18
    rates = [logs["learning_rate"] for logs in recorder.batches[2:]]
    np.testing.assert_allclose(rates, setup.staircase_rate(np.arange(13, 31)), rtol=1e-6)
    # Epoch 0 comes back from the checkpoint: the crashed run logged no rate (NaN).
    assert history.epoch == [0, 1, 2]
    np.testing.assert_allclose(
        history.history["learning_rate"], [np.nan, *setup.staircase_rate([20, 30])], rtol=1e-6
    )


def test_float_rate_reaches_history_and_csv_logger(tmp_path, arrays):
    model = setup.make_model(seed=0, learning_rate=0.01)
    path = tmp_path / "log.csv"
    history = _fit(model, arrays, [LearningRateLogger(), keras.callbacks.CSVLogger(str(path))], epochs=2)
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.01])
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert [float(r["learning_rate"]) for r in rows] == pytest.approx([0.01, 0.01])


def test_warmup_schedule_is_logged_step_by_step(arrays):
    inner = setup.schedule()
    warmup = 6
    model = setup.make_model(
        seed=0, learning_rate=LinearWarmup(inner, warmup_steps=warmup, initial_learning_rate=1e-4)
    )
    recorder = setup.RecordBatchLogs()
    _fit(model, arrays, [LearningRateLogger(every="batch"), recorder], epochs=1)
    steps = np.arange(1, setup.STEPS_PER_EPOCH + 1)
    expected = np.where(
        steps < warmup,
        1e-4 + (setup.LEARNING_RATE - 1e-4) * steps / warmup,
        setup.staircase_rate(np.maximum(steps - warmup, 0)),
    )
    np.testing.assert_allclose([b["learning_rate"] for b in recorder.batches], expected, rtol=1e-6)


@pytest.mark.parametrize("every", ["step", "", None, 1])
def test_bad_every_is_refused(every):
    with pytest.raises(ValueError, match="every="):
        LearningRateLogger(every=every)
