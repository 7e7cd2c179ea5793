"""`EpochTimer`: each epoch's wall-clock seconds, which `keras-ext train` writes to metrics.json."""

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Seconds of each epoch this fit trained (training and validation), in `seconds`."""

    def __init__(self):
        super().__init__()
        self.seconds = []
        self._start = None

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
