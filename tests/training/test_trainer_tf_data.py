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
    history = Trainer(twin, **_compile_args()).fit(dataset, epochs=2, validation_data=dataset, verbose=0).history
    _assert_same_weights(reference, twin)
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], atol=1e-4, err_msg=key)


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
        x, y, batch_size=16, epochs=1, verbose=0,
        callbacks=[keras.callbacks.TensorBoard(str(tmp_path), update_freq="batch")])
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
