"""ScaledSchedule: the wrapped schedule times a factor that can change between steps."""

import keras
import numpy as np
import pytest

from keras_ext.schedules import ScaledSchedule


def test_multiplies_the_wrapped_schedule_and_follows_changes_in_a_compiled_step():
    inner = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=True)
    scaled = ScaledSchedule(inner, scale=0.5)
    for step in range(6):
        assert float(scaled(step)) == pytest.approx(0.5 * 0.1 * 0.5 ** (step // 2))
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(keras.optimizers.SGD(scaled), "mse")
    x, y = np.ones((4, 2), "float32"), np.ones(4, "float32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    scaled.scale = 0.0  # a TensorFlow step reads the variable when it runs
    if keras.backend.backend() == "jax":
        model.make_train_function(force=True)  # a JAX step was traced with the old value
    before = keras.ops.convert_to_numpy(model.layers[0].kernel)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.layers[0].kernel), before)


@pytest.mark.parametrize(
    "kwargs, message", [({"schedule": None}, "schedule=None"), ({"schedule": 0.1, "scale": -2}, "scale=-2")]
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ScaledSchedule(**kwargs)
