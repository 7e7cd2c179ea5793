import keras
import numpy as np
import pytest

from keras_ext.models import FashionCNN


def _plain_keras_reference(num_classes):
    """The walkthrough's MyModel written as a plain Keras Sequential."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(num_classes),
        ]
    )


def test_matches_plain_keras_sequential_with_the_same_weights():
    model = FashionCNN(num_classes=10)
    model.build((None, 28, 28, 1))
    reference = _plain_keras_reference(10)
    assert [tuple(w.shape) for w in model.weights] == [tuple(w.shape) for w in reference.weights]
    reference.set_weights(model.get_weights())
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(x)), keras.ops.convert_to_numpy(reference(x)), atol=1e-5
    )


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="num_classes="):
        FashionCNN(num_classes=0)
    with pytest.raises(ValueError, match=r"FashionCNN expects .*rank 4"):
        FashionCNN()(np.ones((2, 784), "float32"))
