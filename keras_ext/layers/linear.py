"""The original TF2 example's lazily built dense layer, as a registered Keras layer."""

import keras
from keras import ops

from keras_ext._validation import check_positive_int


@keras.saving.register_keras_serializable(package="keras_ext")
class Linear(keras.layers.Layer):
    """A dense layer `y = activation(x @ kernel + bias)` whose weights are created on first call.

    The kernel's input size is read from the last axis of the first input
    (lazy build), so the layer needs no input shape up front. Inputs of rank
    2 and higher are accepted; the last axis is transformed.

    Args:
        units: positive int, size of the output's last axis.
        activation: activation function or its name; `None` means linear.
        use_bias: whether to add a bias vector.
        kernel_initializer: initializer for the kernel (default
            `"random_normal"`, as in the original TF2 example).
        bias_initializer: initializer for the bias (default `"zeros"`).
        kernel_regularizer, bias_regularizer: optional regularizers; their
            penalties appear in `layer.losses` / `model.losses`.
        kernel_constraint, bias_constraint: optional constraints.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`,
            `activity_regularizer`, ...).

    Example:

    >>> import numpy as np, keras_ext
    >>> layer = keras_ext.layers.Linear(4)
    >>> tuple(layer(np.ones((2, 3), "float32")).shape)
    (2, 4)
    >>> tuple(layer.kernel.shape)
    (3, 4)
    """

    def __init__(
        self,
        units=32,
        activation=None,
        use_bias=True,
        kernel_initializer="random_normal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.input_spec = keras.layers.InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if len(input_shape) < 2 or input_dim is None:
            raise ValueError(
                "Linear needs inputs of rank >= 2 with a known last axis, "
                f"got input_shape={tuple(input_shape)}."
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_dim, self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.units,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: input_dim})

    def call(self, inputs):
        outputs = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
        }
