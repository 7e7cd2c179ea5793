"""Mid-epoch resume with `fit(steps_per_execution > 1)`: Keras then runs several steps per call
and calls the batch hooks once per call, so the manager sees steps arrive in chunks and must
fast-forward whole chunks. The reference is the same fit (same steps_per_execution), uninterrupted,
without a CheckpointManager. Unshuffled arrays: an input whose order never changes, on any backend.
"""

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from tests.callbacks import training_setup as setup

EPOCHS = 3


class Crashed(Exception):
    pass


class CrashAtStep(keras.callbacks.Callback):
    """Raise once the optimizer has taken `step` steps (used on a run that resumes nothing)."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) >= self.step:
            raise Crashed(f"simulated crash at step {self.step}")


def _fit(steps_per_execution, callbacks, seed=0):
    x, y, xv, yv = setup.digits_arrays()
    model = setup.make_model(seed=seed)
    # make_model compiled it; compile again with the same pieces and the chunk size.
    model.compile(
        optimizer=model.optimizer,
        loss=model.loss,
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    history = model.fit(
        x,
        y,
        batch_size=setup.BATCH_SIZE,
        epochs=EPOCHS,
        shuffle=False,
        validation_data=(xv, yv),
        callbacks=callbacks,
        verbose=0,
    )
    return model, history


# 10 steps per epoch. With 2 steps per call the hooks see steps 2, 4, ..., 30; with 3,
# steps 3, 6, 9, 10 (the epoch's short last call), 13, ... The crash step lies after the
# newest checkpoint, so the resume fast-forwards part of epoch 1.
@pytest.mark.parametrize(
    "steps_per_execution, save_freq, crash_step, resumed_from",
    [
        (2, 4, 16, "ckpt-16"),  # resumes at epoch 1, batch 6: three calls of 2 skipped
        # A save_freq that is no multiple of the chunk (saved where the chunk that crosses it
        # ends), and an epoch that ends in a short call: resumes at epoch 1, batch 6.
        (3, 5, 19, "ckpt-16"),
    ],
)
def test_resume_with_steps_per_execution_matches_an_uninterrupted_run(
    tmp_path, steps_per_execution, save_freq, crash_step, resumed_from
):
    reference, reference_history = _fit(steps_per_execution, [])
    with pytest.raises(Crashed):
        _fit(steps_per_execution, [CheckpointManager(tmp_path, save_freq=save_freq), CrashAtStep(crash_step)])
    manager = CheckpointManager(tmp_path, save_freq=save_freq)
    # Another seed: every value that matters must come from the checkpoint.
    model, history = _fit(steps_per_execution, [manager], seed=7)
    assert manager.restored_from.endswith(resumed_from)
    assert manager.resumed_epoch == 1 and history.epoch == [0, 1, 2]
    for actual, expected in zip(setup.weights(model), setup.weights(reference), strict=True):
        np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=0)
    for actual, expected in zip(setup.optimizer_state(model), setup.optimizer_state(reference), strict=True):
        np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=0)
    # The resumed epoch's logs accumulate across the resume, as in one run (and epoch 0's
    # come back from the checkpoint).
    for key, values in history.history.items():
        np.testing.assert_allclose(values, reference_history.history[key], rtol=1e-5, atol=1e-6, err_msg=key)
