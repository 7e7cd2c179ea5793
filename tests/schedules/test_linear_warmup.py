"""LinearWarmup against the warmup formula computed in NumPy."""

import keras
import numpy as np
import pytest

from keras_ext.schedules import LinearWarmup

STEPS = np.arange(0, 40)


def _values(schedule, steps=STEPS):
    return np.array([float(keras.ops.convert_to_numpy(schedule(int(s)))) for s in steps])


def _expected(steps, warmup, start, after):
    steps = np.asarray(steps, dtype="float64")
    target = after(0)
    return np.where(
        steps < warmup, start + (target - start) * steps / warmup, after(np.maximum(steps - warmup, 0))
    )


@pytest.mark.parametrize("staircase", [True, False])
def test_wraps_exponential_decay(staircase):
    inner = keras.optimizers.schedules.ExponentialDecay(
        0.01, decay_steps=7, decay_rate=0.5, staircase=staircase
    )

    def decay(s):
        s = np.asarray(s, dtype="float64") / 7
        return 0.01 * 0.5 ** (np.floor(s) if staircase else s)

    schedule = LinearWarmup(inner, warmup_steps=10, initial_learning_rate=0.001)
    np.testing.assert_allclose(_values(schedule), _expected(STEPS, 10, 0.001, decay), rtol=1e-5)


def test_wraps_piecewise_constant_and_a_constant():
    inner = keras.optimizers.schedules.PiecewiseConstantDecay([5, 15], [0.1, 0.01, 0.001])

    def piecewise(s):
        s = np.asarray(s)
        return np.select([s <= 5, s <= 15], [0.1, 0.01], 0.001)

    np.testing.assert_allclose(
        _values(LinearWarmup(inner, 4)), _expected(STEPS, 4, 0.0, piecewise), rtol=1e-6
    )
    np.testing.assert_allclose(
        _values(LinearWarmup(0.05, 3)),
        _expected(STEPS, 3, 0.0, lambda s: np.full(np.shape(s), 0.05)),
        rtol=1e-6,
    )


def test_is_continuous_and_works_inside_a_compiled_step():
    schedule = LinearWarmup(keras.optimizers.schedules.CosineDecay(0.1, decay_steps=50), warmup_steps=5)
    values = _values(schedule, range(0, 8))
    assert values[0] == 0.0 and values[5] == pytest.approx(0.1)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(schedule), "mse")
    model.fit(np.ones((8, 2)), np.ones(8), batch_size=4, epochs=1, verbose=0)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.04, rel=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"schedule": "fast", "warmup_steps": 3}, "schedule='fast'"),
        ({"schedule": -0.1, "warmup_steps": 3}, "schedule=-0.1"),
        ({"schedule": 0.1, "warmup_steps": 0}, "warmup_steps=0"),
        ({"schedule": 0.1, "warmup_steps": 2.5}, "warmup_steps=2.5"),
        ({"schedule": 0.1, "warmup_steps": 3, "initial_learning_rate": -1}, "initial_learning_rate=-1"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LinearWarmup(**kwargs)
