"""Where only JAX is installed: keras_ext's training path must not need TensorFlow.

.ci/run's JAX pass runs this in a venv without TensorFlow. Each test also
runs in a fresh process with `sys.modules["tensorflow"] = None` (the
standard way to make `import tensorflow` fail as if it were not installed),
so `KERAS_BACKEND=jax pytest` checks the same where TensorFlow is installed.
"""

import textwrap

import keras
import pytest

from tests.subprocess_utils import run_fresh_python

pytest.importorskip("jax", reason="the JAX backend is needed without TensorFlow")
pytestmark = pytest.mark.skipif(
    keras.backend.backend() == "tensorflow",
    reason="runs in the JAX pass (.ci/jax_only.sh, a venv without TensorFlow); "
    "run it here with KERAS_BACKEND=jax",
)

BLOCK_TENSORFLOW = """
import sys
sys.modules["tensorflow"] = None  # import tensorflow now fails as if it were not installed
"""


def test_checkpoint_resume_with_the_pydataset_pipeline_equals_an_uninterrupted_run(tmp_path):
    run_fresh_python(
        BLOCK_TENSORFLOW
        + textwrap.dedent(f"""
        import keras
        import numpy as np
        import keras_ext
        from keras_ext.callbacks import CheckpointManager, LearningRateLogger, ReduceLROnPlateau
        from keras_ext.training import Trainer

        loaded = keras_ext.data.load("digits", batch_size=32, seed=0)
        assert isinstance(loaded.train, keras.utils.PyDataset), type(loaded.train)
        # A small slice keeps the six short runs below quick: 4 steps per epoch.
        arrays = loaded.arrays

        class Crashed(Exception):
            pass

        class Crash(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == 7:
                    raise Crashed

        def run(epochs, directory=None, crash=False, trainer=False):
            # New pipelines for every run, as a new process has: each counts its own passes.
            train = keras_ext.data.make_pipeline(arrays.x_train[:128], arrays.y_train[:128], 32,
                                                 shuffle=True, seed=0)
            validation = keras_ext.data.make_pipeline(arrays.x_val[:64], arrays.y_val[:64], 32)
            keras.utils.set_random_seed(0)
            model = keras_ext.models.SimpleCNN(num_classes=10, filters=(4, 8), dropout_rate=0.2)
            model.build((None, 28, 28, 1))
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            optimizer = keras.optimizers.RMSprop(keras.optimizers.schedules.ExponentialDecay(
                3e-3, decay_steps=3, decay_rate=0.8, staircase=True))
            callbacks = [LearningRateLogger(), ReduceLROnPlateau(patience=5)]
            if directory:
                callbacks.append(CheckpointManager(directory, save_freq=3, data=train))
            if crash:
                callbacks.append(Crash())
            fit = Trainer(model, optimizer=optimizer, loss=loss).fit if trainer else model.fit
            if not trainer:
                model.compile(optimizer, loss)
            try:
                fit(train, validation_data=validation, epochs=epochs, shuffle=False,
                    callbacks=callbacks, verbose=0)
            except Crashed:
                pass
            return [keras.ops.convert_to_numpy(v) for v in model.variables]

        for trainer in (False, True):
            directory = {str(tmp_path)!r} + f"/ckpt-{{trainer}}"
            reference = run(2, trainer=trainer)
            run(2, directory, crash=True, trainer=trainer)  # dies at step 7, in epoch 1; resumes at step 6
            resumed = run(2, directory, trainer=trainer)
            for a, b in zip(resumed, reference, strict=True):
                np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
        assert "tensorflow" not in sys.modules or sys.modules["tensorflow"] is None
        """),
        env={"KERAS_BACKEND": "jax"},
    )
