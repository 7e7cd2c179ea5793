"""Trainer against model.fit: same weights, same History, same callback behaviour."""

import csv
import os

import keras
import numpy as np
import pytest

import keras_ext
from keras_ext.training import Trainer

MODES = ["eager", "graph", "xla"]


def _data(n=64, seed=0, classes=4):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 12, 12, 1)).astype("float32")
    y = rng.integers(0, classes, n)
    return x, y


def _model(seed=0, dropout_rate=0.0):
    keras.utils.set_random_seed(seed)
    model = keras_ext.models.SimpleCNN(num_classes=4, filters=(4, 8), dropout_rate=dropout_rate)
    model.build((None, 12, 12, 1))
    return model


def _compile_args(lr=1e-3):
    return dict(
        optimizer=keras.optimizers.RMSprop(lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy", keras_ext.metrics.CategoricalTruePositives()],
    )


def _pair(dropout_rate=0.0):
    """A compiled reference model and a same-weights model for the Trainer."""
    reference = _model(dropout_rate=dropout_rate)
    reference.compile(**_compile_args())
    twin = _model(dropout_rate=dropout_rate)
    twin.set_weights(reference.get_weights())
    return reference, twin


def _assert_same_weights(a, b, atol=1e-4):
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, atol=atol)


@pytest.mark.parametrize("mode", MODES)
def test_two_epochs_match_model_fit(mode):
    x, y = _data()
    reference, twin = _pair()
    kwargs = dict(batch_size=16, epochs=2, shuffle=False, validation_data=(x[:20], y[:20]), verbose=0)
    expected = reference.fit(x, y, **kwargs).history
    history = Trainer(twin, mode=mode, **_compile_args()).fit(x, y, **kwargs).history
    _assert_same_weights(reference, twin)
    assert (
        set(history)
        == set(expected)
        == {
            "loss",
            "accuracy",
            "categorical_true_positives",
            "val_loss",
            "val_accuracy",
            "val_categorical_true_positives",
        }
    )
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], atol=1e-4, err_msg=key)


def test_sample_weights_and_evaluate_predict_match_keras():
    x, y = _data()
    weights = np.random.default_rng(5).random(len(x)).astype("float32")
    reference, twin = _pair()
    reference.fit(x, y, sample_weight=weights, batch_size=16, shuffle=False, verbose=0)
    trainer = Trainer(twin, **_compile_args())
    trainer.fit(x, y, sample_weight=weights, batch_size=16, shuffle=False, verbose=0)
    _assert_same_weights(reference, twin)
    got = trainer.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    want = reference.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert got == pytest.approx(want, abs=1e-5)
    np.testing.assert_allclose(trainer.predict(x, batch_size=10), reference.predict(x, verbose=0), atol=1e-5)


def test_weight_decay_is_part_of_the_loss():
    x, y = _data()
    reference, twin = _pair()
    trainer = Trainer(twin, **_compile_args())
    loss = trainer.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)["loss"]
    logits = twin.predict(x, verbose=0)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    data_loss = -log_probs[np.arange(len(y)), y].mean()
    decay = sum(1e-4 * np.sum(keras.ops.convert_to_numpy(b.conv.kernel) ** 2) for b in twin.blocks)
    assert loss == pytest.approx(data_loss + decay, rel=1e-5)


def test_dropout_and_batchnorm_see_training_flag():
    x, y = _data()
    _, model = _pair(dropout_rate=0.5)
    trainer = Trainer(model, **_compile_args())
    before = keras.ops.convert_to_numpy(model.blocks[0].bn.moving_mean).copy()
    trainer.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert not np.allclose(before, keras.ops.convert_to_numpy(model.blocks[0].bn.moving_mean))
    # predict uses training=False: deterministic despite dropout
    np.testing.assert_array_equal(trainer.predict(x[:8]), trainer.predict(x[:8]))


def test_early_stopping_stops_at_the_same_epoch_as_fit():
    x, y = _data()
    reference, twin = _pair()
    stop = lambda: keras.callbacks.EarlyStopping(monitor="loss", min_delta=10.0, patience=1)  # noqa: E731
    expected = reference.fit(x, y, batch_size=16, epochs=6, callbacks=[stop()], verbose=0)
    history = Trainer(twin, **_compile_args()).fit(
        x, y, batch_size=16, epochs=6, callbacks=[stop()], verbose=0
    )
    assert len(history.epoch) == len(expected.epoch) == 2


def test_model_checkpoint_writes_the_same_files(tmp_path):
    x, y = _data()
    reference, twin = _pair()
    pattern = "w-{epoch:02d}.weights.h5"

    def run(fit, directory):
        os.makedirs(directory)
        fit(
            x,
            y,
            batch_size=16,
            epochs=3,
            verbose=0,
            callbacks=[
                keras.callbacks.ModelCheckpoint(os.path.join(directory, pattern), save_weights_only=True)
            ],
        )
        return sorted(os.listdir(directory))

    expected = run(reference.fit, tmp_path / "fit")
    got = run(Trainer(twin, **_compile_args()).fit, tmp_path / "trainer")
    assert got == expected == ["w-01.weights.h5", "w-02.weights.h5", "w-03.weights.h5"]


def test_csv_logger_writes_the_same_columns(tmp_path):
    x, y = _data()
    reference, twin = _pair()

    def columns(fit, name):
        path = tmp_path / name
        fit(
            x,
            y,
            batch_size=16,
            epochs=2,
            validation_data=(x, y),
            verbose=0,
            callbacks=[keras.callbacks.CSVLogger(str(path))],
        )
        rows = list(csv.reader(open(path)))
        return rows[0], len(rows)

    assert columns(Trainer(twin, **_compile_args()).fit, "t.csv") == columns(reference.fit, "f.csv")


def test_progress_bar_and_stop_training_from_a_callback(capsys):
    x, y = _data()
    _, model = _pair()

    class StopAfterThreeBatches(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.stop_training = True

    history = Trainer(model, **_compile_args()).fit(
        x, y, batch_size=16, epochs=5, verbose=1, callbacks=[StopAfterThreeBatches()]
    )
    assert history.epoch == [0]
    out = capsys.readouterr().out
    assert "Epoch 1/5" in out and "loss" in out


def test_terminate_on_nan_stops_and_says_so(capsys):
    x, y = _data()
    _, model = _pair()

    def nan_loss(y_true, y_pred):
        return keras.ops.mean(y_pred) * np.float32("nan")

    trainer = Trainer(model, optimizer="sgd", loss=nan_loss)
    history = trainer.fit(
        x, y, batch_size=16, epochs=3, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN()]
    )
    assert "Invalid loss" in capsys.readouterr().out
    assert model.stop_training and len(history.epoch) <= 1


@pytest.mark.parametrize("shuffle", [False, True])
def test_resume_point_set_by_a_callback_skips_trained_batches(shuffle):
    """The TrainingProgress's `initial_epoch` and `initial_step` give an exact mid-epoch resume.

    With `shuffle` the order of epoch e is a function of (seed, e), so a new
    Trainer (a new process, say) resuming at epoch 1 sees epoch 1's batches.
    """
    x, y = _data()
    reference, twin = _pair()
    kwargs = dict(batch_size=16, shuffle=shuffle, seed=7, verbose=0)
    Trainer(reference, **_compile_args()).fit(x, y, epochs=2, **kwargs)

    class ResumeAt(keras.callbacks.Callback):
        def __init__(self, epoch, step):
            super().__init__()
            self.epoch, self.step = epoch, step

        def on_train_begin(self, logs=None):
            from keras_ext import _progress

            loop_state = _progress.of(self.model)
            assert loop_state.skips_batches
            loop_state.initial_epoch, loop_state.initial_step = self.epoch, self.step

    args = _compile_args()  # one optimizer throughout: its state stands in for a checkpoint's
    Trainer(twin, **args).fit(x, y, epochs=1, **kwargs)
    # epoch 1, first 2 of 4 batches; then a "new run" resumes at epoch 1, batch 2
    Trainer(twin, **args).fit(x, y, epochs=2, steps_per_epoch=2, callbacks=[ResumeAt(1, 0)], **kwargs)
    history = Trainer(twin, **args).fit(x, y, epochs=2, callbacks=[ResumeAt(1, 2)], **kwargs)
    assert history.epoch == [1]
    _assert_same_weights(reference, twin, atol=1e-6)


def test_shuffled_epochs_differ_and_repeat_with_the_seed():
    from keras_ext.training.batches import BatchSource

    x, y = _data()

    def orders(seed):
        source = BatchSource(x, y, batch_size=64, shuffle=True, seed=seed)
        result = []
        for epoch in range(2):
            source.set_epoch(epoch)
            (batch,) = list(source.epoch_batches())
            result.append(batch[1].tolist())
        return result

    first, again, other = orders(3), orders(3), orders(4)
    assert first == again and first[0] != first[1] and first != other
    assert sorted(first[0]) == sorted(y.tolist())


def test_py_dataset_input():
    x, y = _data()

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x[16 * i : 16 * (i + 1)], y[16 * i : 16 * (i + 1)]

    reference, twin = _pair()
    reference.fit(Batches(), epochs=1, shuffle=False, verbose=0)
    Trainer(twin, **_compile_args()).fit(Batches(), epochs=1, shuffle=False, verbose=0)
    _assert_same_weights(reference, twin)


@pytest.mark.parametrize("mode", ["fast", "", None, "GRAPH"])
def test_unknown_mode_is_rejected(mode):
    _, model = _pair()
    with pytest.raises(ValueError, match="mode="):
        Trainer(model, mode=mode, **_compile_args())


def test_missing_loss_and_bad_epochs_are_rejected():
    x, y = _data()
    _, model = _pair()
    with pytest.raises(ValueError, match="loss"):
        Trainer(model, optimizer="sgd")
    with pytest.raises(ValueError, match="epochs=0"):
        Trainer(model, **_compile_args()).fit(x, y, epochs=0)


def test_labels_of_the_wrong_shape_are_a_clear_error():
    x, y = _data()
    _, model = _pair()
    with pytest.raises(
        ValueError, match=r"Targets of shape \(16, 3\) do not fit predictions of shape \(16, 4\)"
    ):
        Trainer(model, **_compile_args()).fit(x, np.zeros((len(x), 3)), batch_size=16, verbose=0)


def test_mismatched_sample_counts_are_a_clear_error():
    x, y = _data()
    _, model = _pair()
    with pytest.raises(ValueError, match="x has 64 samples but y has 10"):
        Trainer(model, **_compile_args()).fit(x, y[:10], verbose=0)
