"""On JAX, `steps_per_execution=N` trains N same-shaped batches as one compiled `lax.scan` (issue 19).

The reference is `fit` with the same setting: a SimpleCNN with dropout and
BatchNormalization, trained on an uneven last batch, with class weights, so
the dropout masks, the statistics and the weighting must come out of the
scan exactly as out of N one-step calls. The count of compiled calls shows
the fusion itself: without it each batch is a call.
"""

import keras
import numpy as np
import pytest

from keras_ext.training import Trainer
from tests.training.test_trainer import _assert_same_weights
from tests.training.test_trainer import _compile_args
from tests.training.test_trainer import _data
from tests.training.test_trainer import _pair

pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="the fused program is JAX's")


class CountCalls:
    """Wraps a compiled function and counts its calls."""

    def __init__(self, function):
        self.function, self.calls = function, 0

    def __call__(self, *args):
        self.calls += 1
        return self.function(*args)


def test_an_execution_of_same_shaped_batches_is_one_compiled_call_and_trains_as_fit_does():
    x, y = _data(n=70)  # batches of 16, 16, 16, 16 and 6
    reference, twin = _pair(dropout_rate=0.25)
    kwargs = dict(batch_size=16, shuffle=False, verbose=0, class_weight={0: 1.0, 1: 2.0, 2: 0.5, 3: 1.5})
    reference.compile(**_compile_args(), steps_per_execution=2)
    expected = reference.fit(x, y, epochs=3, **kwargs).history
    trainer = Trainer(twin, steps_per_execution=2, **_compile_args())
    trainer.fit(x, y, epochs=1, **kwargs)  # builds the steps
    chunk = trainer._steps._chunk = CountCalls(trainer._steps._chunk)
    one_step = trainer._steps._train = CountCalls(trainer._steps._train)
    history = trainer.fit(x, y, epochs=3, initial_epoch=1, **kwargs).history
    # Per epoch: batches 0-1 and 2-3 one scan each; the uneven last batch a call of its own.
    assert (chunk.calls, one_step.calls) == (4, 2)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(history[key], expected[key][1:], atol=1e-5, err_msg=key)
    _assert_same_weights(reference, twin, atol=1e-5)
    assert int(twin.optimizer.iterations) == int(reference.optimizer.iterations) == 15
