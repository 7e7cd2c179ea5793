"""The Trainer takes what `fit` takes: validation_split, class_weight, vector and dict
metrics, models without trainable weights, uneven batches with sample weights and
dropout (in every mode), steps_per_execution.

Each test trains a model with `model.fit` and a same-weights twin with the
Trainer, and compares History and weights with `fit`'s (the reference).
"""

import warnings

import keras
import numpy as np
import pytest

from keras_ext.training import Trainer
from tests.training.test_trainer import _assert_same_weights
from tests.training.test_trainer import _compile_args
from tests.training.test_trainer import _data
from tests.training.test_trainer import _pair


def _assert_same_history(got, expected, atol=1e-4):
    assert set(got) == set(expected)
    for key in expected:
        assert len(got[key]) == len(expected[key]), key
        for a, b in zip(got[key], expected[key], strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol, err_msg=key)


def _fit_both(
    fit_kwargs, steps_per_execution=1, mode="graph", pair=None, compile_args=_compile_args, jit_compile="auto"
):
    reference, twin = pair or _pair()
    reference.compile(**compile_args(), steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    expected = reference.fit(**fit_kwargs).history
    trainer = Trainer(twin, mode=mode, steps_per_execution=steps_per_execution, **compile_args())
    got = trainer.fit(**fit_kwargs).history
    return reference, twin, expected, got


def test_validation_split_and_class_weight_match_fit():
    x, y = _data(n=80)
    reference, twin, expected, got = _fit_both(
        dict(
            x=x,
            y=y,
            batch_size=16,
            epochs=2,
            validation_split=0.25,
            shuffle=False,
            verbose=0,
            class_weight={0: 1.0, 1: 2.0, 2: 0.5, 3: 3.0},
        )
    )
    assert set(got) == {
        "loss",
        "accuracy",
        "categorical_true_positives",
        "val_loss",
        "val_accuracy",
        "val_categorical_true_positives",
    }
    # The validation set is the last 20 samples: 20 of them are counted.
    assert 0 <= got["val_categorical_true_positives"][-1] <= 20
    _assert_same_history(got, expected)
    _assert_same_weights(reference, twin)


def test_class_weight_changes_training_as_sample_weights_do():
    """Independent of fit: class_weight c -> w gives what sample_weight w[y] gives."""
    x, y = _data()
    class_weight = {0: 0.5, 1: 2.0, 2: 1.0}  # class 3 absent: weight 1.0
    _, a = _pair()
    _, b = _pair()
    kwargs = dict(batch_size=16, epochs=1, shuffle=False, verbose=0)
    Trainer(a, **_compile_args()).fit(x, y, class_weight=class_weight, **kwargs)
    weights = np.array([class_weight.get(int(c), 1.0) for c in y], "float32")
    Trainer(b, **_compile_args()).fit(x, y, sample_weight=weights, **kwargs)
    _assert_same_weights(a, b, atol=1e-6)


# On JAX "xla" is the same jitted step as "graph"; and "eager" (run_eagerly, op by op) took
# 69 s of the JAX pass here, against 6 s for "graph": the eager JAX step is the jitted one's
# function, unjitted, and tests/training/test_trainer.py compares it with fit on JAX.
MODES = ["eager", "graph", "xla"] if keras.backend.backend() == "tensorflow" else ["graph"]


@pytest.mark.parametrize("mode", MODES)
def test_uneven_last_batch_sample_weights_and_dropout_match_fit(mode):
    # All three at once, where a loss averaged without weighting by batch size,
    # a dropped sample weight or a dropout mask drawn differently shows.
    x, y = _data(n=70)  # batches of 16, 16, 16, 16, 6
    weights = np.random.default_rng(3).random(len(x)).astype("float32")
    reference, twin, expected, got = _fit_both(
        dict(
            x=x,
            y=y,
            sample_weight=weights,
            batch_size=16,
            epochs=2,
            shuffle=False,
            verbose=0,
            validation_data=(x[:21], y[:21], weights[:21]),
            validation_batch_size=8,
        ),
        mode=mode,
        pair=_pair(dropout_rate=0.25),
        # From the same seeds XLA draws other dropout masks than TensorFlow's own
        # kernels, so "xla" is compared with fit compiled by XLA too.
        jit_compile=True if mode == "xla" else "auto",
    )
    _assert_same_history(got, expected, atol=1e-5)
    _assert_same_weights(reference, twin)


def _one_hot_data(n=48, classes=3):
    rng = np.random.default_rng(1)
    x = rng.random((n, 6)).astype("float32")
    y = np.eye(classes, dtype="float32")[rng.integers(0, classes, n)]
    return x, y


def _dense_pair(classes=3, trainable=True):
    """Two same-weights Dense models; with `trainable=False` none of their weights is
    trainable, but BatchNormalization (without gamma and beta) still updates its statistics."""

    def make():
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(8, activation="relu", trainable=trainable),
                keras.layers.BatchNormalization(center=trainable, scale=trainable),
                keras.layers.Dense(classes, activation="softmax", trainable=trainable),
            ]
        )
        return model

    reference, twin = make(), make()
    twin.set_weights(reference.get_weights())
    return reference, twin


class _TopScore(keras.metrics.Metric):
    """A metric whose result is a dict, which `fit` logs as one entry per key."""

    def __init__(self, name="top_score", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable((), initializer="zeros", name="total")
        self.count = self.add_variable((), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        top = keras.ops.max(y_pred, axis=-1)
        self.total.assign_add(keras.ops.sum(top))
        self.count.assign_add(keras.ops.cast(keras.ops.shape(top)[0], "float32"))

    def result(self):
        # A new tensor, not the variable itself: fit would log a live reference to it.
        return {"top_mean": self.total / self.count, "top_sum": self.total * 1.0}


def _vector_metric_args():
    return dict(
        optimizer=keras.optimizers.SGD(0.1),
        loss="categorical_crossentropy",
        metrics=[keras.metrics.F1Score(average=None), _TopScore()],
    )


def test_vector_and_dict_metrics_are_logged_as_fit_logs_them():
    x, y = _one_hot_data()
    _, _, expected, got = _fit_both(
        dict(x=x, y=y, batch_size=16, epochs=2, validation_data=(x, y), shuffle=False, verbose=0),
        pair=_dense_pair(),
        compile_args=_vector_metric_args,
    )
    assert set(got) == {
        "loss",
        "f1_score",
        "top_mean",
        "top_sum",
        "val_loss",
        "val_f1_score",
        "val_top_mean",
        "val_top_sum",
    }
    # One F1 per class, per epoch.
    assert [np.shape(v) for v in got["f1_score"]] == [(3,), (3,)]
    _assert_same_history(got, expected)


def test_vector_metric_in_batch_logs_and_evaluate():
    x, y = _one_hot_data()
    _, model = _dense_pair()
    seen = []
    callback = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: seen.append(logs["f1_score"])
    )
    trainer = Trainer(model, **_vector_metric_args())
    trainer.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[callback])
    assert len(seen) == 3 and np.shape(seen[-1]) == (3,)
    logs = trainer.evaluate(x, y, verbose=0, return_dict=True)
    assert np.shape(logs["f1_score"]) == (3,)
    model.compile(**_vector_metric_args())
    np.testing.assert_allclose(
        logs["f1_score"], model.evaluate(x, y, verbose=0, return_dict=True)["f1_score"], atol=1e-5
    )


def test_model_without_trainable_weights_trains_like_fit():
    x, y = _one_hot_data()
    reference, twin = _dense_pair(trainable=False)
    assert not twin.trainable_weights
    before = [w.copy() for w in twin.get_weights()]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, expected, got = _fit_both(
            dict(x=x, y=y, batch_size=16, epochs=2, shuffle=False, verbose=0),
            pair=(reference, twin),
            compile_args=_vector_metric_args,
        )
    if keras.backend.backend() == "tensorflow":  # fit warns on TensorFlow only
        assert any("does not have any trainable weights" in str(w.message) for w in caught)
    _assert_same_history(got, expected)
    _assert_same_weights(reference, twin, atol=1e-6)
    # Still "training": BatchNormalization's statistics moved (they do in fit too).
    assert any(not np.allclose(a, b) for a, b in zip(before, twin.get_weights(), strict=True))


class _BatchNumbers(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(("begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("end", batch, round(float(logs["loss"]), 4)))


# 70 samples in batches of 16: 5 batches, the last one of 6. With 3 steps per
# execution: executions of 3 and 2 (with the uneven batch); with steps_per_epoch=4
# and 2 steps per execution: two executions of 2. (One epoch there: with
# steps_per_epoch, fit's next epoch continues where the iterator stopped.)
SPE_CASES = [
    dict(steps_per_execution=3, steps_per_epoch=None, epochs=2),
    dict(steps_per_execution=2, steps_per_epoch=4, epochs=1),
]


@pytest.mark.parametrize("mode", ["graph", "eager"])
@pytest.mark.parametrize("case", SPE_CASES, ids=["spe3", "spe2_steps4"])
def test_steps_per_execution_matches_fit_with_the_same_setting(mode, case):
    x, y = _data(n=70)
    weights = np.random.default_rng(3).random(len(x)).astype("float32")
    fit_numbers, trainer_numbers = _BatchNumbers(), _BatchNumbers()
    reference, twin = _pair()
    spe = case["steps_per_execution"]
    kwargs = dict(
        x=x,
        y=y,
        sample_weight=weights,
        batch_size=16,
        epochs=case["epochs"],
        shuffle=False,
        verbose=0,
        steps_per_epoch=case["steps_per_epoch"],
        validation_data=(x[:20], y[:20]),
    )
    reference.compile(**_compile_args(), steps_per_execution=spe)
    expected = reference.fit(callbacks=[fit_numbers], **kwargs).history
    trainer = Trainer(twin, mode=mode, steps_per_execution=spe, **_compile_args())
    got = trainer.fit(callbacks=[trainer_numbers], **kwargs).history
    _assert_same_history(got, expected, atol=1e-5)
    _assert_same_weights(reference, twin)
    assert int(twin.optimizer.iterations) == int(reference.optimizer.iterations)
    # One begin/end per execution, numbered by its first and last step, as in fit.
    assert [c[:2] for c in trainer_numbers.calls] == [c[:2] for c in fit_numbers.calls]
    for a, b in zip(trainer_numbers.calls, fit_numbers.calls, strict=True):
        if a[0] == "end":
            assert a[2] == pytest.approx(b[2], abs=1e-3)


def test_steps_per_execution_resumes_mid_epoch_exactly():
    x, y = _data()
    reference, twin = _pair()
    kwargs = dict(batch_size=16, shuffle=True, seed=7, verbose=0)
    Trainer(reference, **_compile_args()).fit(x, y, epochs=2, **kwargs)

    class ResumeAt(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            from keras_ext import _progress

            loop_state = _progress.of(self.model)
            loop_state.initial_epoch, loop_state.initial_step = 1, 1

    args = _compile_args()  # one optimizer throughout: its state stands in for a checkpoint's
    Trainer(twin, steps_per_execution=3, **args).fit(x, y, epochs=1, **kwargs)
    # Epoch 1's first batch only; then a new run resumes at epoch 1, batch 1.
    Trainer(twin, **args).fit(x, y, epochs=2, steps_per_epoch=1, initial_epoch=1, **kwargs)
    history = Trainer(twin, steps_per_execution=3, **args).fit(
        x, y, epochs=2, callbacks=[ResumeAt()], **kwargs
    )
    assert history.epoch == [1]
    _assert_same_weights(reference, twin, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(validation_split=1.0), "validation_split=1.0"),
        (dict(validation_split=-0.1), "validation_split=-0.1"),
        (dict(class_weight=[1.0, 2.0]), r"class_weight=\[1.0, 2.0\]"),
        (dict(class_weight={"a": 1.0}), "class_weight="),
        (dict(class_weight={0: float("nan")}), "class_weight="),
        (dict(class_weight={0: 2.0}, sample_weight=np.ones(64)), "class_weight.*sample_weight"),
    ],
)
def test_bad_fit_arguments_are_clear_errors(kwargs, match):
    x, y = _data()
    _, model = _pair()
    with pytest.raises(ValueError, match=match):
        Trainer(model, **_compile_args()).fit(x, y, verbose=0, **kwargs)


def test_bad_steps_per_execution_is_a_clear_error():
    _, model = _pair()
    with pytest.raises(ValueError, match="steps_per_execution=0"):
        Trainer(model, steps_per_execution=0, **_compile_args())


def test_a_grain_dataset_trains_as_fit_trains_on_it():
    grain = pytest.importorskip("grain")
    rng = np.random.default_rng(0)
    x, y = rng.random((48, 4), "float32"), (np.arange(48) % 3).astype("int32")

    def dataset():
        return grain.MapDataset.range(48).shuffle(seed=3).map(lambda i: (x[i], y[i])).batch(16)

    def model():
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])

    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    reference = model()
    reference.compile(keras.optimizers.SGD(0.1), loss)
    reference.fit(dataset(), epochs=2, shuffle=False, verbose=0)
    trained = model()
    history = Trainer(trained, optimizer=keras.optimizers.SGD(0.1), loss=loss).fit(
        dataset(), epochs=2, shuffle=False, verbose=0
    )
    assert len(history.epoch) == 2
    for a, b in zip(trained.weights, reference.weights, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-6)
