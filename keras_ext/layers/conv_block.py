"""Conv2D -> BatchNormalization -> ReLU -> Dropout: the original TF2 example's ConvBlock, bug fixed."""

import keras

from keras_ext._validation import check_kernel_size
from keras_ext._validation import check_non_negative
from keras_ext._validation import check_positive_int
from keras_ext._validation import check_rate

# The momentum of BatchNormalization's moving mean and variance: each training
# step moves them (1 - momentum) of the way to the batch's statistics. With
# 0.9 (PyTorch's default) they weigh about the last 10 steps, so they follow a
# short run; Keras's default 0.99 weighs about the last 100, which early in
# training are mostly statistics of weights long gone
# (benchmarks/short_runs_learn.py measures short runs).
DEFAULT_BATCHNORM_MOMENTUM = 0.9
# What configs saved before `batchnorm_momentum` existed trained with (Keras's
# default): `from_config` uses it where the key is missing, so old `.keras`
# files load and train on as before.
LEGACY_BATCHNORM_MOMENTUM = 0.99


@keras.saving.register_keras_serializable(package="keras_ext")
class ConvBlock(keras.layers.Layer):
    """A convolution block: Conv2D (same padding, no bias, he_normal, L2) -> BatchNorm -> ReLU -> Dropout.

    BatchNormalization normalises the convolution's output (the original TF2
    example fed it the block input, which is a bug). `training` reaches both
    BatchNormalization (batch statistics vs. moving averages) and Dropout.
    The L2 penalty of the kernel appears in `model.losses`. Inputs are
    channels-last images `(batch, height, width, channels)`.

    Args:
        filters: positive int, number of output channels.
        kernel_size: positive int or tuple of 2 positive ints.
        weight_decay: L2 factor on the convolution kernel (>= 0; 0 disables).
        dropout_rate: fraction of activations dropped in training, in [0, 1).
        strides: positive int or tuple of 2, the convolution's strides.
        batchnorm_momentum: momentum of BatchNormalization's moving mean and
            variance, in [0, 1): each training step moves them 1 - momentum of
            the way to the batch's (default 0.9, about the last 10 steps;
            Keras's own default, 0.99, lags a short run). A config saved
            without it (keras_ext before this argument) loads with 0.99,
            what it was trained with.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np, keras_ext
    >>> block = keras_ext.layers.ConvBlock(8, 3, dropout_rate=0.1)
    >>> tuple(block(np.zeros((2, 28, 28, 1), "float32")).shape)
    (2, 28, 28, 8)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        weight_decay=1e-4,
        dropout_rate=0.0,
        strides=1,
        batchnorm_momentum=DEFAULT_BATCHNORM_MOMENTUM,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = check_kernel_size("kernel_size", kernel_size)
        self.weight_decay = check_non_negative("weight_decay", weight_decay)
        self.dropout_rate = check_rate("dropout_rate", dropout_rate)
        self.strides = check_kernel_size("strides", strides)
        self.batchnorm_momentum = check_rate("batchnorm_momentum", batchnorm_momentum)
        regularizer = keras.regularizers.L2(self.weight_decay) if self.weight_decay else None
        # Sub-layers are created here (not in build) so Keras tracks them and a
        # `.keras` file restores their weights; they share this layer's dtype policy
        # so mixed precision reaches every one of them.
        policy = self.dtype_policy
        self.conv = keras.layers.Conv2D(
            self.filters,
            self.kernel_size,
            strides=self.strides,
            padding="same",
            use_bias=False,
            kernel_initializer="he_normal",
            kernel_regularizer=regularizer,
            dtype=policy,
            name="conv",
        )
        self.bn = keras.layers.BatchNormalization(momentum=self.batchnorm_momentum, dtype=policy, name="bn")
        self.relu = keras.layers.ReLU(dtype=policy, name="relu")
        self.dropout = keras.layers.Dropout(self.dropout_rate, dtype=policy, name="dropout")

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                "ConvBlock expects channels-last images of rank 4 "
                f"(batch, height, width, channels), got input_shape={tuple(input_shape)}."
            )
        self.conv.build(input_shape)
        conv_shape = self.conv.compute_output_shape(input_shape)
        self.bn.build(conv_shape)
        self.relu.build(conv_shape)
        self.dropout.build(conv_shape)

    def call(self, inputs, training=None):
        x = self.conv(inputs)
        x = self.bn(x, training=training)
        x = self.relu(x)
        return self.dropout(x, training=training)

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "weight_decay": self.weight_decay,
            "dropout_rate": self.dropout_rate,
            "strides": self.strides,
            "batchnorm_momentum": self.batchnorm_momentum,
        }

    @classmethod
    def from_config(cls, config):
        return super().from_config(with_legacy_momentum(config))


def with_legacy_momentum(config):
    """`config` with `batchnorm_momentum` 0.99 where it has none (saved before the argument existed)."""
    return {"batchnorm_momentum": LEGACY_BATCHNORM_MOMENTUM, **config}
