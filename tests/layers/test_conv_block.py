import keras
import numpy as np
import pytest

from keras_ext.layers import ConvBlock
from tests import layer_checks


def _images(shape=(4, 6, 6, 3), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _reference(block, input_shape=(None, 6, 6, 3)):
    """The same block built from plain Keras layers, with the block's weights copied in."""
    reference = keras.Sequential(
        [
            keras.layers.Conv2D(block.filters, block.kernel_size, padding="same", use_bias=False),
            keras.layers.BatchNormalization(momentum=block.batchnorm_momentum),
            keras.layers.ReLU(),
        ]
    )
    reference.build(input_shape)
    reference.set_weights(block.get_weights())
    return reference


@pytest.mark.parametrize("training", [False, True])
def test_matches_plain_keras_conv_bn_relu(training):
    block = ConvBlock(5, 3)
    x = _images()
    block(x)
    reference = _reference(block)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(block(x, training=training)),
        keras.ops.convert_to_numpy(reference(x, training=training)),
        atol=1e-5,
    )
    # The moving statistics move alike too (the same momentum).
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(block.bn.moving_variance),
        keras.ops.convert_to_numpy(reference.layers[1].moving_variance),
        atol=1e-5,
    )


def test_batchnorm_normalises_the_conv_output_not_the_block_input():
    # Same channel count in and out, so the seed's bug (BN on the block input)
    # would not fail on shapes: the moving mean after one training step tells.
    block = ConvBlock(3, 3, weight_decay=0.0)
    x = _images(seed=2) + 1.0
    block(x, training=True)
    conv_out = keras.ops.convert_to_numpy(block.conv(x))
    momentum = block.bn.momentum
    expected = (1 - momentum) * conv_out.mean(axis=(0, 1, 2))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(block.bn.moving_mean), expected, rtol=1e-4, atol=1e-6
    )
    input_mean = (1 - momentum) * x.mean(axis=(0, 1, 2))
    assert not np.allclose(keras.ops.convert_to_numpy(block.bn.moving_mean), input_mean, atol=1e-4)


def test_conv_has_same_padding_no_bias_he_normal():
    block = ConvBlock(4, (3, 5))
    out = block(_images())
    assert tuple(out.shape) == (4, 6, 6, 4)
    assert not block.conv.use_bias
    assert isinstance(block.conv.kernel_initializer, keras.initializers.HeNormal)
    assert tuple(block.conv.kernel.shape) == (3, 5, 3, 4)


def test_dropout_only_in_training():
    block = ConvBlock(8, 3, dropout_rate=0.5)
    x = _images()
    inference = [keras.ops.convert_to_numpy(block(x, training=False)) for _ in range(2)]
    np.testing.assert_array_equal(inference[0], inference[1])
    trained = keras.ops.convert_to_numpy(block(x, training=True))
    # ReLU zeroes about half; dropout zeroes about half of the rest.
    assert (trained == 0).mean() > (inference[0] == 0).mean() + 0.1


def test_weight_decay_appears_in_model_losses():
    inputs = keras.Input((6, 6, 3))
    model = keras.Model(inputs, ConvBlock(4, 3, weight_decay=1e-2)(inputs))
    kernel = keras.ops.convert_to_numpy(model.layers[1].conv.kernel)
    (penalty,) = model.losses
    np.testing.assert_allclose(float(penalty), 1e-2 * np.sum(kernel**2), rtol=1e-5)
    assert ConvBlock(4, 3, weight_decay=0.0).conv.kernel_regularizer is None


def test_symbolic_models_and_mixed_precision():
    layer_checks.check_symbolic(lambda: ConvBlock(4, 3, strides=2), (2, 8, 8, 3))
    layer_checks.check_in_models(lambda: ConvBlock(4, 3, dropout_rate=0.1), (4, 6, 6, 2))
    layer_checks.check_mixed_precision(lambda: ConvBlock(4, 3), (2, 6, 6, 2))


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"dropout_rate": 1.5}, "dropout_rate"),
        ({"dropout_rate": -0.1}, "dropout_rate"),
        ({"dropout_rate": 1.0}, "dropout_rate"),
        ({"weight_decay": -1e-4}, "weight_decay"),
        ({"filters": 0}, "filters"),
        ({"kernel_size": (3,)}, "kernel_size"),
        ({"kernel_size": 0}, "kernel_size"),
        ({"batchnorm_momentum": 1.0}, "batchnorm_momentum"),
        ({"batchnorm_momentum": -0.1}, "batchnorm_momentum"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, argument):
    args = {"filters": 4, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=rf"{argument}="):
        ConvBlock(**args)


def test_non_image_input_is_rejected():
    with pytest.raises(ValueError, match="rank 4"):
        ConvBlock(4, 3)(np.ones((2, 5), "float32"))
