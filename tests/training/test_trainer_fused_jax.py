"""On JAX, `steps_per_execution=N` trains N same-shaped batches as one compiled `lax.scan` (issue 19).

The reference is `fit` with the same setting: a model with dropout and
BatchNormalization, trained on an uneven last batch, with class weights, so
the dropout masks, the statistics and the weighting must come out of the
scan exactly as out of N one-step calls. The count of compiled calls shows
the fusion itself: without it each batch is a call. On a CPU a model with a
convolution is not fused (XLA's CPU backend runs convolutions in a loop at a
fifth of their speed: benchmarks/RESULTS.md).
"""

import os
import signal

import keras
import numpy as np
import pytest

from keras_ext.training import Trainer
from tests.training.test_trainer import _assert_same_weights
from tests.training.test_trainer import _compile_args
from tests.training.test_trainer import _data
from tests.training.test_trainer import _pair

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="the fused program is JAX's")


class CountCalls:
    """Wraps a compiled function and counts its calls."""

    def __init__(self, function):
        self.function, self.calls = function, 0

    def __call__(self, *args):
        self.calls += 1
        return self.function(*args)


def _mlp(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.25),
            keras.layers.Dense(4),
        ]
    )


def _counted_fit(trainer, x, y, **kwargs):
    """A second fit, the steps built by the first: (History, scans, one-batch calls)."""
    scans = trainer._steps._chunk = CountCalls(trainer._steps._chunk)
    one_step = trainer._steps._train = CountCalls(trainer._steps._train)
    history = trainer.fit(x, y, **kwargs).history
    return history, scans.calls, one_step.calls


def test_an_execution_of_same_shaped_batches_is_one_compiled_call_and_trains_as_fit_does():
    x, y = _data(n=134)  # 8 batches of 16, and one of 6
    reference, twin = _mlp(), _mlp()
    twin.set_weights(reference.get_weights())
    kwargs = dict(batch_size=16, shuffle=False, verbose=0, class_weight={0: 1.0, 1: 2.0, 2: 0.5, 3: 1.5})
    reference.compile(**_compile_args(), steps_per_execution=3)
    expected = reference.fit(x, y, epochs=3, **kwargs).history
    trainer = Trainer(twin, steps_per_execution=3, **_compile_args())
    trainer.fit(x, y, epochs=1, **kwargs)  # builds the steps
    history, scans, one_step = _counted_fit(trainer, x, y, epochs=3, initial_epoch=1, **kwargs)
    # Per epoch: batches 0-2 and 3-5 one scan each, 6-7 a shorter one (the last, partial
    # execution: 9 batches are not 3 of 3 same-shaped ones), the uneven last batch a call.
    assert (scans, one_step) == (6, 2)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(history[key], expected[key][1:], atol=1e-5, err_msg=key)
    # Weights, and BatchNormalization's moving statistics with them.
    _assert_same_weights(reference, twin, atol=1e-5)
    assert int(twin.optimizer.iterations) == int(reference.optimizer.iterations) == 27


def test_on_a_cpu_a_convolution_model_keeps_a_call_per_batch_and_still_matches_fit():
    import jax

    if jax.default_backend() != "cpu":
        pytest.skip("on an accelerator every model is fused")
    x, y = _data(n=64)
    reference, twin = _pair()  # SimpleCNN
    reference.compile(**_compile_args(), steps_per_execution=2)
    reference.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    trainer = Trainer(twin, steps_per_execution=2, **_compile_args())
    trainer.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    _, scans, one_step = _counted_fit(
        trainer, x, y, batch_size=16, epochs=2, initial_epoch=1, shuffle=False, verbose=0
    )
    assert (scans, one_step) == (0, 4)
    _assert_same_weights(reference, twin, atol=1e-5)


def test_a_fused_run_killed_mid_execution_and_rerun_ends_as_an_uninterrupted_one(tmp_path):
    from tests.subprocess_utils import run_fresh_python
    from tests.training import fused_run

    def run(*args, check=True):
        code = f"import sys; from tests.training import fused_run; sys.exit(fused_run.main({list(args)!r}))"
        return run_fresh_python(code, env={"PYTHONPATH": ROOT}, check=check)

    directory, output = str(tmp_path / "ckpt"), str(tmp_path / "final.npz")
    # 3 fused executions an epoch: the 5th is epoch 1's second (steps 12 to 14); the
    # newest checkpoint then is of step 12, mid-epoch.
    killed = run("--directory", directory, "--output", output, "--kill", "5", check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not os.path.exists(output)
    assert sorted(os.listdir(directory)) == ["ckpt-12", "ckpt-6"]  # the rerun resumes mid-epoch 1
    run("--directory", directory, "--output", output)
    model, trainer, fit_kwargs = fused_run.job()  # the reference: uninterrupted, no checkpoints
    expected = fused_run.record(model, trainer.fit(**fit_kwargs))
    got = np.load(output)
    assert sorted(got.files) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, atol=1e-5, err_msg=key)
