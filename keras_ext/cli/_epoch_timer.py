"""`EpochTimer`: each epoch's wall-clock seconds, which `keras-ext train` writes to metrics.json."""

import time

import keras

from keras_ext import _progress as progress


class EpochTimer(keras.callbacks.Callback):
    """Seconds of each epoch of the run (training and validation), in `seconds`.

    It takes part in checkpoints (`state_key`, `get_state`, `set_state`), so
    a resumed run keeps the seconds of the epochs finished before it; an
    epoch resumed in its middle counts only the time after the resume.
    """

    state_key = "EpochTimer"

    def __init__(self):
        super().__init__()
        self.seconds = []
        self._start = None
        self._restored = False

    def get_state(self):
        return {"seconds": list(self.seconds)}

    def set_state(self, state):
        self.seconds = [float(s) for s in state.get("seconds", [])]
        self._restored = True

    def set_model(self, model):
        super().set_model(model)
        progress.of(model, create=True).register(self)

    def on_train_begin(self, logs=None):
        if not self._restored:
            self.seconds = []
        self._restored = False

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
