import keras
import numpy as np
import pytest

from keras_ext.layers import Linear
from tests import layer_checks


def test_lazy_build_creates_weights_from_last_axis_on_first_call():
    layer = Linear(5)
    assert not layer.built and not layer.weights
    layer(np.ones((2, 7), "float32"))
    assert tuple(layer.kernel.shape) == (7, 5)
    assert tuple(layer.bias.shape) == (5,)


def test_matches_numpy_reference_on_rank_2_and_rank_3():
    rng = np.random.default_rng(0)
    layer = Linear(4, activation="relu")
    for shape in [(3, 6), (2, 3, 6)]:
        x = rng.normal(size=shape).astype("float32")
        out = keras.ops.convert_to_numpy(layer(x))
        w, b = (keras.ops.convert_to_numpy(v) for v in (layer.kernel, layer.bias))
        np.testing.assert_allclose(out, np.maximum(x @ w + b, 0), atol=1e-5)


def test_matches_keras_dense_with_the_same_weights():
    x = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    dense = keras.layers.Dense(2, activation="tanh")
    dense.build((None, 3))
    linear = Linear(2, activation="tanh")
    linear.build((None, 3))
    linear.set_weights(dense.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(linear(x)), keras.ops.convert_to_numpy(dense(x)), atol=1e-6
    )


def test_without_bias_and_with_regularizer_in_losses():
    layer = Linear(3, use_bias=False, kernel_regularizer=keras.regularizers.L2(0.5))
    layer(np.ones((1, 2), "float32"))
    assert layer.bias is None and len(layer.weights) == 1
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    (penalty,) = layer.losses
    np.testing.assert_allclose(float(penalty), 0.5 * np.sum(kernel**2), rtol=1e-5)


def test_symbolic_models_and_mixed_precision():
    layer_checks.check_symbolic(lambda: Linear(3), (2, 4, 5))
    layer_checks.check_in_models(lambda: Linear(3), (8, 5))
    layer_checks.check_mixed_precision(lambda: Linear(3), (2, 5))


@pytest.mark.parametrize("units", [0, -3, 2.5, "4", True, None])
def test_bad_units_raise_value_error_naming_argument(units):
    with pytest.raises(ValueError, match=r"units="):
        Linear(units=units)


def test_rank_1_input_is_rejected():
    with pytest.raises(ValueError, match="ndim|rank"):
        Linear(2)(np.ones((3,), "float32"))


def test_wrong_last_axis_after_build_is_rejected():
    layer = Linear(2)
    layer(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match="axis|incompatible"):
        layer(np.ones((1, 4), "float32"))
