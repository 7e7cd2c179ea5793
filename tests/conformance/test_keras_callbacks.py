"""Keras's own callback tests, run with every compiled model's `fit` sent through the Trainer.

The test classes below are Keras's, imported from the installed Keras
(keras/src/callbacks/*_test.py), so pytest collects them here and runs them
unchanged. An autouse fixture replaces `keras.Model.fit` for each of them
with `Trainer(model, optimizer, loss, metrics).fit`, built from the model's
own `compile` arguments: whatever Keras checks about callbacks under `fit`
(History, CSVLogger rows, EarlyStopping epochs and restored weights,
ModelCheckpoint files, TerminateOnNaN, LearningRateScheduler) is checked
against the Trainer.

Keras's ReduceLROnPlateau tests run twice against
`keras_ext.callbacks.ReduceLROnPlateau` (put in place of Keras's class):
under plain `fit` and through the Trainer.

Excluded, with the reason:
- `ReduceLROnPlateauTest.test_throws_when_optimizer_has_schedule`: it
  asserts that a learning-rate schedule is refused; keras_ext's
  ReduceLROnPlateau supports schedules on purpose (it scales them).
Run on the TensorFlow backend; on JAX the same tests run too (they are
backend-agnostic), except where Keras itself skips them.
"""

import functools

import keras
import pytest
from keras.src import callbacks as keras_callbacks
from keras.src.callbacks import callback_test
from keras.src.callbacks import csv_logger_test
from keras.src.callbacks import early_stopping_test
from keras.src.callbacks import learning_rate_scheduler_test
from keras.src.callbacks import model_checkpoint_test
from keras.src.callbacks import reduce_lr_on_plateau_test
from keras.src.callbacks import terminate_on_nan_test

import keras_ext
from keras_ext.training import Trainer

# Compile arguments the Trainer does not take: a test that uses one must fail
# loudly here rather than silently train differently from `fit`.
_UNSUPPORTED_COMPILE_ARGS = ("loss_weights", "weighted_metrics")

_original_fit = keras.Model.fit


def fit_through_trainer(model, *args, **kwargs):
    """`model.fit(...)` for a compiled model, run by the Trainer with the model's compile arguments."""
    config = model._compile_config.config  # what the test passed to `compile`
    for name in _UNSUPPORTED_COMPILE_ARGS:
        if config.get(name) is not None:
            raise NotImplementedError(f"The Trainer does not take compile(..., {name}=...).")
    trainer = Trainer(
        model,
        optimizer=model.optimizer,
        loss=config["loss"],
        metrics=config["metrics"],
        mode="eager" if config.get("run_eagerly") else "graph",
        steps_per_execution=config.get("steps_per_execution") or 1,
    )
    fit_through_trainer.calls += 1
    return trainer.fit(*args, **kwargs)


fit_through_trainer.calls = 0


@pytest.fixture
def fit_via_trainer(monkeypatch):
    monkeypatch.setattr(keras.Model, "fit", fit_through_trainer)


@pytest.fixture
def keras_ext_reduce_lr(monkeypatch):
    monkeypatch.setattr(keras_callbacks, "ReduceLROnPlateau", keras_ext.callbacks.ReduceLROnPlateau)


def _via_trainer(keras_test_class):
    """A subclass of Keras's test class, collected here, whose tests run with fit routed
    through the Trainer."""
    name = f"Test{keras_test_class.__name__.removesuffix('Test')}ViaTrainer"
    return pytest.mark.usefixtures("fit_via_trainer")(type(name, (keras_test_class,), {}))


TestCallbackViaTrainer = _via_trainer(callback_test.CallbackTest)
TestCSVLoggerViaTrainer = _via_trainer(csv_logger_test.CSVLoggerTest)
TestEarlyStoppingViaTrainer = _via_trainer(early_stopping_test.EarlyStoppingTest)
TestLearningRateSchedulerViaTrainer = _via_trainer(learning_rate_scheduler_test.LearningRateSchedulerTest)
TestModelCheckpointViaTrainer = _via_trainer(model_checkpoint_test.ModelCheckpointTest)
TestTerminateOnNaNViaTrainer = _via_trainer(terminate_on_nan_test.TerminateOnNaNTest)


def _marked(mark, method):
    """`method` under `mark`, as a new function: marking Keras's own function would
    mark it everywhere it is collected."""

    @functools.wraps(method)
    def test(self):
        return method(self)

    return mark(test)


_RLROP = reduce_lr_on_plateau_test.ReduceLROnPlateauTest

# Excluded: keras_ext's ReduceLROnPlateau supports learning-rate schedules on purpose.
_SCHEDULES_SUPPORTED = pytest.mark.skip(
    reason="keras_ext's ReduceLROnPlateau supports learning-rate schedules on purpose; "
    "Keras's test asserts they are refused"
)


@pytest.mark.usefixtures("keras_ext_reduce_lr")
class TestKerasExtReduceLROnPlateauUnderFit(_RLROP):
    test_throws_when_optimizer_has_schedule = _marked(
        _SCHEDULES_SUPPORTED, _RLROP.test_throws_when_optimizer_has_schedule
    )


@pytest.mark.usefixtures("keras_ext_reduce_lr", "fit_via_trainer")
class TestKerasExtReduceLROnPlateauViaTrainer(_RLROP):
    test_throws_when_optimizer_has_schedule = _marked(
        _SCHEDULES_SUPPORTED, _RLROP.test_throws_when_optimizer_has_schedule
    )


# Keras's own classes are imported above only to be subclassed: pytest would collect
# (and run) them as they are, so they are not left in this module's namespace.
del _RLROP
