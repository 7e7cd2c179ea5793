"""keras_ext's own layer test helper (Keras's `run_layer_test` is private API).

It checks what TensorFlow Addons checked for every layer: use inside a
Sequential, a functional and a subclassed model, symbolic shapes, one fit
step, and mixed precision.
"""

import keras
import numpy as np


def _targets_like(model, x):
    out = model.predict(x, verbose=0)
    return np.random.default_rng(0).normal(size=out.shape).astype("float32")


def _fit_one_step(model, x):
    y = _targets_like(model, x)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    loss = history.history["loss"][0]
    assert np.isfinite(loss), f"fit step gave a non-finite loss {loss}"
    return model


def check_symbolic(make_layer, input_shape):
    """A symbolic call on keras.Input gives compute_output_shape's shape."""
    layer = make_layer()
    inputs = keras.Input(shape=input_shape[1:], batch_size=None)
    outputs = layer(inputs)
    expected = layer.compute_output_shape((None, *input_shape[1:]))
    assert tuple(outputs.shape) == tuple(expected)
    eager = layer(np.zeros(input_shape, "float32"))
    assert tuple(eager.shape) == (input_shape[0], *tuple(expected)[1:])


def check_in_models(make_layer, input_shape):
    """The layer trains one step inside Sequential, functional and subclassed models."""
    x = np.random.default_rng(1).normal(size=input_shape).astype("float32")

    sequential = keras.Sequential([keras.Input(shape=input_shape[1:]), make_layer()])
    _fit_one_step(sequential, x)

    inputs = keras.Input(shape=input_shape[1:])
    functional = keras.Model(inputs, make_layer()(inputs))
    _fit_one_step(functional, x)

    class Wrapper(keras.Model):
        def __init__(self):
            super().__init__()
            self.inner = make_layer()

        def call(self, inputs, training=None):
            return self.inner(inputs, training=training)

    subclassed = Wrapper()
    _fit_one_step(subclassed, x)
    for model in (sequential, functional, subclassed):
        assert model.trainable_weights, "the layer's weights were not tracked by the model"


def check_mixed_precision(make_layer, input_shape):
    """Under mixed_float16 outputs are float16 and weights stay float32."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        layer = make_layer()
        out = layer(np.ones(input_shape, "float32"))
        assert keras.backend.standardize_dtype(out.dtype) == "float16"
        assert layer.weights
        for w in layer.weights:
            assert w.dtype == "float32", f"{w.path} is {w.dtype}"
    finally:
        keras.config.set_dtype_policy(previous)
