"""What a pipeline's own position means for training: checkpoints change nothing, pipelines share nothing."""

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.data import load_arrays
from keras_ext.data import make_pipeline
from tests.subprocess_utils import run_fresh_python

ARRAYS = load_arrays("digits")


def _pipeline(seed):
    return make_pipeline(ARRAYS.x_train[:96], ARRAYS.y_train[:96], 32, shuffle=True, seed=seed)


def _model():
    # Not built: Keras's fit then reads a batch to learn the shapes first, a pass of the
    # pipeline's own that a run with a checkpoint manager must count the same way.
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.layers.Flatten(), keras.layers.Dropout(0.2), keras.layers.Dense(10)])


def _train(train, loop="fit", callbacks=()):
    model = _model()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if loop == "fit":
        model.compile(keras.optimizers.Adam(1e-2), loss)
        model.fit(train, epochs=3, shuffle=False, callbacks=list(callbacks), verbose=0)
    else:
        from keras_ext.training import Trainer

        Trainer(model, optimizer=keras.optimizers.Adam(1e-2), loss=loss).fit(
            train, epochs=3, shuffle=False, callbacks=list(callbacks), verbose=0
        )
    return [keras.ops.convert_to_numpy(v) for v in model.variables]


@pytest.mark.parametrize("loop", ["fit", "trainer"])
def test_a_checkpoint_manager_changes_nothing_in_the_trained_model(loop, tmp_path):
    without = _train(_pipeline(seed=5), loop)
    train = _pipeline(seed=5)
    manager = CheckpointManager(tmp_path, save_freq=2, data=train)
    with_checkpoints = _train(train, loop, [manager])
    assert len(manager.checkpoints) == 3
    for a, b in zip(with_checkpoints, without, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)


def test_two_pipelines_trained_one_after_the_other_match_each_trained_alone(tmp_path):
    _train(_pipeline(seed=1))  # another model on another pipeline first, in this process
    second = _train(_pipeline(seed=2))
    np.savez(tmp_path / "second.npz", *second)
    run_fresh_python(
        f"""
        import numpy as np
        from tests.data.test_training_order import _pipeline, _train

        alone = _train(_pipeline(seed=2))
        saved = np.load({str(tmp_path / "second.npz")!r})
        for index, value in enumerate(alone):
            np.testing.assert_allclose(saved[f"arr_{{index}}"], value, atol=1e-6, rtol=0)
        """
    )
