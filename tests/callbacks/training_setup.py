"""The small, fast training job the callback tests share (also used by the SIGKILL script).

A 320-image subset of the built-in digits (10 batches of 32 per epoch), a
SimpleCNN with filters (4, 8) and dropout, RMSprop with the seed's staircase
ExponentialDecay: a few seconds for three epochs on two CPU cores.
"""

import keras
import numpy as np

TRAIN_SIZE = 320
VAL_SIZE = 64
BATCH_SIZE = 32
STEPS_PER_EPOCH = TRAIN_SIZE // BATCH_SIZE
LEARNING_RATE = 3e-3
DECAY_STEPS = 7
DECAY_RATE = 0.8


def digits_arrays():
    from keras_ext import data

    arrays = data.load_arrays("digits", seed=0)
    return (
        arrays.x_train[:TRAIN_SIZE],
        arrays.y_train[:TRAIN_SIZE],
        arrays.x_val[:VAL_SIZE],
        arrays.y_val[:VAL_SIZE],
    )


def digits_pipelines(seed=0):
    """Epoch-deterministic shuffled train pipeline and a validation pipeline (TensorFlow)."""
    from keras_ext.data.pipeline import make_pipeline

    x, y, xv, yv = digits_arrays()
    return (
        make_pipeline(x, y, BATCH_SIZE, shuffle=True, seed=seed),
        make_pipeline(xv, yv, BATCH_SIZE, shuffle=False),
    )


def schedule():
    return keras.optimizers.schedules.ExponentialDecay(
        LEARNING_RATE, decay_steps=DECAY_STEPS, decay_rate=DECAY_RATE, staircase=True
    )


def staircase_rate(step):
    """The seed's schedule in NumPy: the independent reference for logged rates."""
    return LEARNING_RATE * DECAY_RATE ** np.floor(np.asarray(step) / DECAY_STEPS)


def make_model(seed=0, dropout_rate=0.25, filters=(4, 8), learning_rate=None):
    """A compiled SimpleCNN whose initial weights and dropout seeds depend only on `seed`."""
    from keras_ext.metrics import CategoricalTruePositives
    from keras_ext.models import SimpleCNN

    keras.utils.set_random_seed(seed)
    model = SimpleCNN(num_classes=10, filters=filters, dropout_rate=dropout_rate)
    model.build((None, 28, 28, 1))
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate or schedule()),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy", CategoricalTruePositives()],
    )
    return model


def weights(model):
    return [keras.ops.convert_to_numpy(v) for v in model.variables]


def optimizer_state(model):
    return [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]


class CrashAtStep(keras.callbacks.Callback):
    """Raise at the end of global step `step` (after every callback before it has run)."""

    class Crash(RuntimeError):
        pass

    def __init__(self, step):
        super().__init__()
        self.step = step
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        from keras_ext._progress import is_fast_forwarded

        if is_fast_forwarded(self._model, getattr(self, "_epoch", None), batch):
            return
        self.seen = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if self.seen >= self.step:
            raise CrashAtStep.Crash(f"simulated crash at step {self.seen}")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


class RecordBatchLogs(keras.callbacks.Callback):
    """Keep every batch's logs and the global step after it."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(dict(logs or {}))
