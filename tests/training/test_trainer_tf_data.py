"""Trainer on tf.data input, TensorBoard, and tf.distribute (TensorFlow backend)."""

import os

import keras
import numpy as np
import pytest

from keras_ext.training import Trainer
from tests.subprocess_utils import run_fresh_python
from tests.training.test_trainer import _assert_same_weights
from tests.training.test_trainer import _compile_args
from tests.training.test_trainer import _data
from tests.training.test_trainer import _pair

pytestmark = pytest.mark.tensorflow_only
tf = pytest.importorskip("tensorflow")


def test_tf_data_with_sample_weights_matches_fit():
    x, y = _data()
    w = np.linspace(0.1, 1.0, len(x)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(16)
    reference, twin = _pair()
    expected = reference.fit(dataset, epochs=2, validation_data=dataset, verbose=0).history
    history = (
        Trainer(twin, **_compile_args()).fit(dataset, epochs=2, validation_data=dataset, verbose=0).history
    )
    _assert_same_weights(reference, twin)
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], atol=1e-4, err_msg=key)


@pytest.mark.parametrize("mode", ["graph", "eager", "xla"])
def test_steps_per_execution_on_tf_data_matches_fit(mode):
    """Batches are pulled inside the compiled function; the uneven last one and the
    short last execution train as in fit."""
    from tests.training.test_trainer_fit_arguments import _BatchNumbers

    x, y = _data(n=70)
    w = np.linspace(0.1, 1.0, len(x)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(16)
    reference, twin = _pair()
    reference.compile(**_compile_args(), steps_per_execution=3)
    fit_numbers, trainer_numbers = _BatchNumbers(), _BatchNumbers()
    kwargs = dict(epochs=2, validation_data=dataset, verbose=0)
    expected = reference.fit(dataset, callbacks=[fit_numbers], **kwargs).history
    trainer = Trainer(twin, mode=mode, steps_per_execution=3, **_compile_args())
    history = trainer.fit(dataset, callbacks=[trainer_numbers], **kwargs).history
    _assert_same_weights(reference, twin)
    assert int(twin.optimizer.iterations) == int(reference.optimizer.iterations) == 10
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], atol=1e-4, err_msg=key)
    assert [c[:2] for c in trainer_numbers.calls] == [c[:2] for c in fit_numbers.calls]


def test_steps_per_execution_on_a_dataset_of_unknown_length():
    x, y = _data(n=70)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16).filter(lambda a, b: True)
    assert int(dataset.cardinality()) < 0
    reference, twin = _pair()
    reference.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    Trainer(twin, steps_per_execution=3, **_compile_args()).fit(dataset, epochs=2, verbose=0)
    _assert_same_weights(reference, twin)
    assert int(twin.optimizer.iterations) == 10


def test_class_weight_on_tf_data_matches_fit():
    x, y = _data()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    # Every class has a weight: fit's tf.data path fails on a class missing from the dict.
    class_weight = {0: 0.5, 1: 2.0, 2: 1.5, 3: 1.0}
    reference, twin = _pair()
    expected = reference.fit(dataset, epochs=2, class_weight=class_weight, verbose=0).history
    history = (
        Trainer(twin, **_compile_args()).fit(dataset, epochs=2, class_weight=class_weight, verbose=0).history
    )
    _assert_same_weights(reference, twin)
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], atol=1e-4, err_msg=key)


def test_validation_split_refuses_a_dataset():
    x, y = _data()
    _, model = _pair()
    with pytest.raises(ValueError, match="validation_split=0.2"):
        Trainer(model, **_compile_args()).fit(
            tf.data.Dataset.from_tensor_slices((x, y)).batch(16), validation_split=0.2, verbose=0
        )


@pytest.mark.parametrize(
    "make_element",
    [
        lambda x, y: (x, y, y, y),
        lambda x, y: {"image": x, "label": y},
        lambda x, y: x,
    ],
)
def test_dataset_of_the_wrong_structure_is_a_clear_error(make_element):
    x, y = _data()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).map(make_element).batch(16)
    _, model = _pair()
    with pytest.raises(ValueError, match=r"must yield \(x, y\) or \(x, y, sample_weight\)"):
        Trainer(model, **_compile_args()).fit(dataset, verbose=0)


def test_tensorboard_writes_event_files(tmp_path):
    x, y = _data()
    _, model = _pair()
    Trainer(model, **_compile_args()).fit(
        x,
        y,
        batch_size=16,
        epochs=1,
        verbose=0,
        callbacks=[keras.callbacks.TensorBoard(str(tmp_path), update_freq="batch")],
    )
    events = [f for _, _, files in os.walk(tmp_path) for f in files if "tfevents" in f]
    assert events


def test_mirrored_strategy_matches_fit_and_single_device(tmp_path):
    # Two logical CPU devices must be configured before TensorFlow starts: new process.
    run_fresh_python(
        """
        import numpy as np, tensorflow as tf, keras
        from keras_ext.distribute import get_strategy, split_cpu
        assert split_cpu(2) == ["/device:CPU:0", "/device:CPU:1"]
        from keras_ext.training import Trainer
        from keras_ext.layers import Linear

        rng = np.random.default_rng(0)
        x = rng.normal(size=(64, 6)).astype("float32"); y = rng.integers(0, 3, 64)

        def make():
            keras.utils.set_random_seed(0)
            return keras.Sequential([keras.Input((6,)), Linear(8, activation="relu"),
                                     Linear(3, kernel_regularizer="l2")])
        def args():
            return dict(optimizer=keras.optimizers.SGD(0.1),
                        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                        metrics=["accuracy"])

        single = make(); w0 = single.get_weights()
        single_hist = Trainer(single, **args()).fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history

        strategy = get_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2
        with strategy.scope():
            mirrored = make(); mirrored.set_weights(w0)
            trainer = Trainer(mirrored, **args())
            fitted = make(); fitted.set_weights(w0); fitted.compile(**args())
        hist = trainer.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
        fit_hist = fitted.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
        for a, b, c in zip(mirrored.get_weights(), fitted.get_weights(), single.get_weights()):
            np.testing.assert_allclose(a, b, atol=1e-5)
            np.testing.assert_allclose(a, c, atol=1e-5)
        for key in fit_hist:
            np.testing.assert_allclose(hist[key], fit_hist[key], atol=1e-5, err_msg=key)
            np.testing.assert_allclose(hist[key], single_hist[key], atol=1e-5, err_msg=key)
        print("replicas", strategy.num_replicas_in_sync)
        """
    )
