"""`EarlyStopping` whose counter and best weights travel with keras_ext checkpoints."""

import base64
import io

import keras
import numpy as np

from keras_ext import _keras_internals
from keras_ext import _progress as progress


@keras.saving.register_keras_serializable(package="keras_ext")
class EarlyStopping(keras.callbacks.EarlyStopping):
    """Keras's `EarlyStopping` (same arguments, same counting) that a resumed run continues.

    Keras's resets its counter, its best value and its best weights on every
    `fit`, so a run resumed from a checkpoint waits `patience` epochs anew
    and forgets the weights it would restore. This one takes part in
    `keras_ext.callbacks.CheckpointManager` checkpoints (`state_key`,
    `get_state`, `set_state`): each checkpoint saves `wait`, `best`,
    `best_epoch`, `stopped_epoch` and, with `restore_best_weights=True`, the
    best weights themselves (every weight of the model, as `get_weights()`
    gives them, stored exactly, as the base64 of an uncompressed `.npz` in
    the checkpoint's `state.json`: about 4/3 of the weights' size in bytes,
    so one more copy of a model's weights in each checkpoint). A resumed run
    stops at the same epoch as an uninterrupted one and restores the same
    weights. A run that stopped early is finished: a rerun that resumes from
    its last checkpoint trains no more epochs (unless `patience` is now
    larger than the epochs it waited), and still restores the best weights.
    Attach at most one per model, or give each its own `state_key`.

    Example:

    >>> import numpy as np, keras, keras_ext
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> stop = keras_ext.callbacks.EarlyStopping(monitor="loss", patience=2, min_delta=1e9,
    ...                                         restore_best_weights=True)  # never "improves"
    >>> history = model.fit(np.ones((4, 2)), np.ones(4), epochs=10, verbose=0, callbacks=[stop])
    >>> len(history.epoch), stop.best_epoch   # epoch 1 is the best; 2 more, then the stop
    (3, 0)
    >>> sorted(stop.get_state())
    ['best', 'best_epoch', 'best_weights', 'stopped_epoch', 'wait']
    """

    state_key = "EarlyStopping"

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__(
            monitor=monitor,
            min_delta=min_delta,
            patience=patience,
            verbose=verbose,
            mode=mode,
            baseline=baseline,
            restore_best_weights=restore_best_weights,
            start_from_epoch=start_from_epoch,
        )
        # Keras keeps min_delta with the sign of the direction; the config keeps what was given.
        self._min_delta_argument = min_delta
        self.best_epoch = 0  # Keras sets it first in on_train_begin
        self._restored = False

    def get_config(self):
        return {
            "monitor": self.monitor,
            "min_delta": self._min_delta_argument,
            "patience": self.patience,
            "verbose": self.verbose,
            "mode": self.mode,
            "baseline": self.baseline,
            "restore_best_weights": self.restore_best_weights,
            "start_from_epoch": self.start_from_epoch,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # --------------------------------------------------------------- state
    def get_state(self):
        """The counter, best value and epoch, and the best weights, for a checkpoint (JSON)."""
        return {
            "wait": int(self.wait),
            "best": None if self.best is None else float(self.best),
            "best_epoch": int(self.best_epoch),
            "stopped_epoch": int(self.stopped_epoch),
            "best_weights": None if self.best_weights is None else _encode(self.best_weights),
        }

    def set_state(self, state):
        weights = state.get("best_weights")
        weights = None if weights is None else _decode(weights)
        if weights is not None and self.model is not None:
            _check_fits(weights, self.model)
        self.wait = int(state["wait"])
        self.best = None if state.get("best") is None else float(state["best"])
        self.best_epoch = int(state.get("best_epoch", 0))
        self.stopped_epoch = int(state.get("stopped_epoch", 0))
        self.best_weights = weights if self.restore_best_weights else None
        self._restored = True

    # ----------------------------------------------------------- callbacks
    def set_model(self, model):
        super().set_model(model)
        progress.of(model, create=True).register(self)

    def on_train_begin(self, logs=None):
        if not self._restored:
            super().on_train_begin(logs)
            return
        self._restored = False
        if self.stopped_epoch > 0 and self.wait >= self.patience:
            self._train_no_more_epochs()
        else:
            self.stopped_epoch = 0

    def _train_no_more_epochs(self):
        """The restored run had stopped: ask the loop to start at its last epoch, which trains none."""
        epochs = (self.params or {}).get("epochs")
        if epochs is None:
            return
        loop = progress.of(self.model)
        if loop is not None and loop.initial_epoch is not None:  # keras_ext's Trainer reads these
            loop.initial_epoch, loop.initial_step = epochs, 0
        if _keras_internals.initial_epoch(self.model) is not None:  # Keras fit reads this
            _keras_internals.set_initial_epoch(self.model, epochs)
        if self.verbose > 0:
            _keras_internals.print_msg(
                f"EarlyStopping: the restored run stopped early after epoch {self.stopped_epoch + 1}; "
                "no more epochs to train"
            )


def _encode(weights):
    buffer = io.BytesIO()
    np.savez(buffer, *[np.asarray(w) for w in weights])
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _decode(text):
    try:
        with np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False) as arrays:
            return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
    except Exception as e:  # noqa: BLE001 - bad base64, not an .npz: a state that does not load
        raise ValueError(f"best_weights is not a base64 .npz of arrays ({e!r})") from None


def _check_fits(weights, model):
    shapes = [tuple(w.shape) for w in model.weights]
    if [tuple(w.shape) for w in weights] != shapes:
        raise ValueError(
            f"best_weights holds {len(weights)} arrays that do not fit the model's {len(shapes)} weights"
        )
