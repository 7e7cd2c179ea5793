"""`LearningRateLogger`: put the optimizer's learning rate into the logs, for floats and schedules alike."""

import keras

from keras_ext._progress import is_fast_forwarded
from keras_ext.callbacks._learning_rate import current_learning_rate

EVERY = ("epoch", "batch")


@keras.saving.register_keras_serializable(package="keras_ext")
class LearningRateLogger(keras.callbacks.Callback):
    """Add `learning_rate` to the logs, so History, CSVLogger, TensorBoard and the progress bar show it.

    Keras logs the rate only when LearningRateScheduler or ReduceLROnPlateau
    is attached, and never per batch. The value logged is what
    `model.optimizer.learning_rate` reads at that moment: the rate the next
    optimizer step will use, i.e. `schedule(optimizer.iterations)` for a
    `LearningRateSchedule` (times the factor keras_ext's ReduceLROnPlateau
    applied) or the current float rate. Place it before CSVLogger /
    TensorBoard in the callback list so they see the key.

    Args:
        every: `"epoch"` (default: once per epoch, in the epoch logs) or
            `"batch"` (also after every batch, in the batch logs: one value
            per optimizer step). On JAX, per-batch logging makes `fit` copy
            its state back to the variables after every batch.

    Example:

    >>> import numpy as np, keras, keras_ext
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5,
    ...                                                        staircase=True)
    >>> model.compile(keras.optimizers.SGD(schedule), "mse")
    >>> history = model.fit(np.ones((8, 2)), np.ones(8), batch_size=4, epochs=2, verbose=0,
    ...                     callbacks=[keras_ext.callbacks.LearningRateLogger()])
    >>> [round(v, 4) for v in history.history["learning_rate"]]
    [0.05, 0.025]
    """

    def __init__(self, every="epoch"):
        super().__init__()
        if every not in EVERY:
            raise ValueError(f"`every` must be one of {list(EVERY)}, got every={every!r}.")
        self.every = every
        self._epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.every != "batch" or logs is None:
            return
        if is_fast_forwarded(self._model, self._epoch, batch):
            return  # a batch a resumed run only draws from the data: no step was taken
        logs["learning_rate"] = current_learning_rate(self.model.optimizer)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)

    def get_config(self):
        return {"every": self.every}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
