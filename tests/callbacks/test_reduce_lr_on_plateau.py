"""ReduceLROnPlateau with a scheduled optimizer, checked against Keras's own on a float rate."""

import json

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.callbacks import ReduceLROnPlateau
from keras_ext.schedules import ScaledSchedule

# The monitored value per epoch. With patience 2 and cooldown 1, Keras reduces
# after epochs 2, 5 and 9; after epoch 4, best=0.5 and wait=1.
SCORES = [1.0, 1.1, 1.2, 0.5, 0.6, 0.7, 0.8, 0.4, 0.45, 0.5]
EPOCHS = len(SCORES)
KWARGS = {"monitor": "score", "factor": 0.5, "patience": 2, "cooldown": 1, "mode": "min"}
STEPS = 2  # batches per epoch


def _decay():
    return keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.8, staircase=True)


def _model(learning_rate):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate), "mse")
    return model


class Score(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = SCORES[epoch]


class Record(keras.callbacks.Callback):
    """The rate after each epoch's callbacks, and the scale when there is one."""

    def __init__(self):
        super().__init__()
        self.rates, self.scales, self.logged = {}, {}, {}

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        self.rates[epoch] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        schedule = getattr(optimizer, "_learning_rate", None)
        self.scales[epoch] = schedule.scale if isinstance(schedule, ScaledSchedule) else None
        self.logged[epoch] = logs.get("learning_rate")


class CrashAtEpochBegin(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("simulated crash")


def _fit(model, callbacks, epochs=EPOCHS):
    x = np.random.default_rng(0).normal(size=(2 * STEPS, 4)).astype("float32")
    return model.fit(
        x, x.sum(axis=1), batch_size=2, epochs=epochs, shuffle=False, callbacks=callbacks, verbose=0
    )


@pytest.fixture(scope="module")
def keras_reference():
    """Keras's ReduceLROnPlateau on a float rate of 1.0: its rate is the expected scale."""
    record = Record()
    _fit(_model(1.0), [Score(), keras.callbacks.ReduceLROnPlateau(**KWARGS), record])
    return record.rates


def test_kerass_own_reducer_refuses_a_schedule():
    model = _model(_decay())
    with pytest.raises(TypeError, match="not settable"):
        _fit(model, [Score(), keras.callbacks.ReduceLROnPlateau(**KWARGS)])


def test_lowers_the_scheduled_rate_after_patience_epochs_like_keras(keras_reference):
    assert len(set(keras_reference.values())) >= 3  # the scores do trigger reductions
    record = Record()
    model = _model(_decay())
    model.optimizer.build(model.trainable_variables)
    # Reducing wraps the schedule; it must not add optimizer variables (a checkpoint
    # of the optimizer would then no longer fit a fresh one).
    n_variables = len(model.optimizer.variables)
    _fit(model, [Score(), ReduceLROnPlateau(**KWARGS), record])
    assert record.scales == pytest.approx(keras_reference)
    for epoch, rate in record.rates.items():
        step = STEPS * (epoch + 1)
        expected = 0.1 * 0.8 ** (step // 3) * keras_reference[epoch]  # the schedule keeps decaying
        assert rate == pytest.approx(expected, rel=1e-6), epoch
        assert record.logged[epoch] == pytest.approx(rate, rel=1e-6)
    assert len(model.optimizer.variables) == n_variables


def test_float_rate_is_reduced_exactly_as_keras_does(keras_reference):
    record = Record()
    _fit(_model(1.0), [Score(), ReduceLROnPlateau(**KWARGS), record])
    assert record.rates == pytest.approx(keras_reference)


def test_cooldown_of_two_holds_off_every_other_reduction_as_keras_counts_it():
    # A score that never improves, patience 1. Keras decrements the cooldown before
    # it checks it, so cooldown=1 changes nothing (a reduction after every epoch
    # from the second) and cooldown=2 skips one epoch: reductions after epochs 2, 4, 6.
    kwargs = {"monitor": "loss_score", "factor": 0.5, "patience": 1, "cooldown": 2, "mode": "min"}

    class Flat(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["loss_score"] = 1.0

    record, keras_record = Record(), Record()
    _fit(_model(_decay()), [Flat(), ReduceLROnPlateau(**kwargs), record], epochs=6)
    _fit(_model(1.0), [Flat(), keras.callbacks.ReduceLROnPlateau(**kwargs), keras_record], epochs=6)
    assert list(record.scales.values()) == [1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert list(keras_record.rates.values()) == pytest.approx(list(record.scales.values()))


def test_counters_and_scale_survive_a_resume(tmp_path, keras_reference):
    uninterrupted = Record()
    _fit(_model(_decay()), [Score(), ReduceLROnPlateau(**KWARGS), uninterrupted])

    first = _model(_decay())
    # The crash lands mid-count, after one reduction: a reducer that lost its
    # counters (as Keras's does on every fit) or the scale would diverge.
    with pytest.raises(RuntimeError, match="simulated crash"):
        _fit(
            first,
            [
                Score(),
                ReduceLROnPlateau(**KWARGS),
                CheckpointManager(tmp_path, save_freq="epoch"),
                CrashAtEpochBegin(5),
            ],
        )
    state = json.loads((tmp_path / f"ckpt-{5 * STEPS}" / "state.json").read_text())
    saved = state["callbacks"]["ReduceLROnPlateau"]
    assert saved["scale"] == pytest.approx(keras_reference[4]) == 0.5
    assert (saved["best"], saved["wait"], saved["cooldown_counter"]) == (pytest.approx(0.5), 1, 0)

    resumed = Record()
    model = _model(_decay())
    manager = CheckpointManager(tmp_path, save_freq="epoch")
    history = _fit(model, [Score(), ReduceLROnPlateau(**KWARGS), manager, resumed])
    assert manager.resumed_epoch == 5 and history.epoch == list(range(EPOCHS))
    assert [resumed.scales[e] for e in range(5, EPOCHS)] == [0.25, 0.25, 0.25, 0.25, 0.125]
    for epoch in range(5, EPOCHS):
        assert resumed.scales[epoch] == pytest.approx(uninterrupted.scales[epoch]), epoch
        assert resumed.rates[epoch] == pytest.approx(uninterrupted.rates[epoch], rel=1e-6), epoch


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"factor": 1.0}, "factor=1.0"),
        ({"factor": 0}, "factor=0"),
        ({"patience": -1}, "patience=-1"),
        ({"cooldown": 1.5}, "cooldown=1.5"),
        ({"mode": "down"}, "mode='down'"),
        ({"min_lr": -1}, "min_lr=-1"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReduceLROnPlateau(**kwargs)


def test_trainer_with_a_scheduled_optimizer_trains_like_fit_after_reductions():
    """The reduced rate reaches the Trainer's compiled step (on JAX it is rebuilt)."""
    from keras_ext.training import Trainer

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    results = []
    for use_trainer in (False, True):
        model = _model(_decay())
        callbacks = [Score(), ReduceLROnPlateau(**KWARGS)]
        kwargs = dict(batch_size=4, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=callbacks)
        if use_trainer:
            Trainer(model, optimizer=model.optimizer, loss="mse").fit(x, y, **kwargs)
        else:
            model.fit(x, y, **kwargs)
        assert model.optimizer._learning_rate.scale == 0.125  # three reductions
        results.append(model.get_weights())
    for fitted, trained in zip(*results, strict=True):
        np.testing.assert_allclose(trained, fitted, atol=1e-6)


# The scale each epoch trains with, written down beforehand from SCORES and
# KWARGS: reductions after epochs 2, 5 and 9 (the last one after training).
SCALE_DURING_EPOCH = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]


class _FixedScaleSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`_decay()` times the scale of the step's epoch in SCALE_DURING_EPOCH: no callback involved."""

    def __init__(self):
        self.decay = _decay()

    def __call__(self, step):
        epoch = keras.ops.floor_divide(keras.ops.cast(step, "int32"), STEPS)
        scale = keras.ops.take(keras.ops.convert_to_tensor(SCALE_DURING_EPOCH, "float32"), epoch)
        return self.decay(step) * scale


def test_reference_scales_are_keras_own_reductions(keras_reference):
    # Keras's reducer on a float rate of 1.0 records, after epoch e, the rate epoch e+1 uses.
    assert [keras_reference[e] for e in range(EPOCHS - 1)] == SCALE_DURING_EPOCH[1:]


@pytest.mark.parametrize("use_trainer", [False, True], ids=["fit", "trainer"])
def test_reductions_reach_the_compiled_step_as_a_fixed_schedule_would(use_trainer):
    """On JAX the step holds the scale as a constant: without a retrace the old rate stays."""
    from keras_ext.training import Trainer

    reference = _model(_FixedScaleSchedule())
    _fit(reference, [])
    model = _model(_decay())
    callbacks = [Score(), ReduceLROnPlateau(**KWARGS)]
    if use_trainer:
        x = np.random.default_rng(0).normal(size=(2 * STEPS, 4)).astype("float32")
        Trainer(model, optimizer=model.optimizer, loss="mse").fit(
            x, x.sum(axis=1), batch_size=2, epochs=EPOCHS, shuffle=False, callbacks=callbacks, verbose=0
        )
    else:
        _fit(model, callbacks)
    for trained, expected in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(trained, expected, atol=1e-6)
