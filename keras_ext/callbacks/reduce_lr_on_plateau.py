"""`ReduceLROnPlateau` that also works when the optimizer's learning rate is a schedule."""

import numbers
import warnings

import keras
import numpy as np

from keras_ext import _keras_internals
from keras_ext import _progress as progress
from keras_ext._direction import compiled_metrics
from keras_ext._direction import is_better
from keras_ext._direction import metric_direction
from keras_ext._validation import check_non_negative
from keras_ext.callbacks._learning_rate import current_learning_rate
from keras_ext.callbacks._learning_rate import schedule_of
from keras_ext.callbacks._learning_rate import set_schedule
from keras_ext.schedules.scaled_schedule import ScaledSchedule


@keras.saving.register_keras_serializable(package="keras_ext")
class ReduceLROnPlateau(keras.callbacks.Callback):
    """Multiply the learning rate by `factor` after `patience` epochs without improvement.

    A drop-in for `keras.callbacks.ReduceLROnPlateau` (same arguments, same
    counting) that also works when the optimizer uses a
    `LearningRateSchedule`, where Keras's raises `TypeError: ... not
    settable`. There the schedule is wrapped once in a
    `keras_ext.schedules.ScaledSchedule` and each reduction multiplies its
    `scale`: the schedule keeps its shape (decay, warmup, ...) and every
    later value is lowered. With a float rate the rate itself is set, as in
    Keras. `min_lr` bounds the rate at the moment of a reduction. The epoch
    logs get `learning_rate` as it is after this epoch's reduction (the rate
    the next step uses; Keras's logs the value before the reduction).

    Its counters (`best`, `wait`, `cooldown_counter`) and the scale are
    saved in every `keras_ext.callbacks.CheckpointManager` checkpoint and
    restored with it (it takes part through `state_key`, `get_state` and
    `set_state`), so a resumed run reduces at the same epochs as an
    uninterrupted one (Keras's resets them on every `fit`). Attach at most
    one per model, or give each its own `state_key`.

    Args:
        monitor: metric to watch (default `"val_loss"`).
        factor: multiplier of the rate, in (0, 1).
        patience: epochs without improvement before a reduction.
        verbose: 0 silent, 1 a message per reduction.
        mode: `"auto"`, `"min"` or `"max"`.
        min_delta: smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: lower bound of the rate at a reduction.

    Example:

    >>> import numpy as np, keras, keras_ext
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> decay = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.9)
    >>> model.compile(keras.optimizers.SGD(decay), "mse")
    >>> reducer = keras_ext.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1,
    ...                                                  min_delta=1e9)  # never "improves"
    >>> _ = model.fit(np.ones((4, 2)), np.ones(4), epochs=3, verbose=0, callbacks=[reducer])
    >>> reducer.get_state()["scale"]   # the schedule's factor: halved after epochs 2 and 3
    0.25
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
    ):
        super().__init__()
        if not isinstance(monitor, str):
            raise ValueError(f"`monitor` must be a metric name, got monitor={monitor!r}.")
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not 0.0 < factor < 1.0:
            raise ValueError(f"`factor` must be a number in (0, 1), got factor={factor!r}.")
        for name, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"`{name}` must be a non-negative integer, got {name}={value!r}.")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"`mode` must be 'auto', 'min' or 'max', got mode={mode!r}.")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = mode
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real):
            raise ValueError(f"`min_delta` must be a number, got min_delta={min_delta!r}.")
        self.min_delta = abs(float(min_delta))
        self.cooldown = int(cooldown)
        self.min_lr = check_non_negative("min_lr", min_lr)
        self._direction = None
        self._restored = False
        self._reset()

    state_key = "ReduceLROnPlateau"

    def _reset(self):
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    # --------------------------------------------------------------- state
    def get_state(self):
        """The counters (and schedule scale) CheckpointManager stores in its checkpoints."""
        scaled = self._scaled_schedule()
        return {
            "best": None if self.best is None else float(self.best),
            "wait": self.wait,
            "cooldown_counter": self.cooldown_counter,
            "scale": None if scaled is None else scaled.scale,
        }

    def set_state(self, state):
        self.best = state.get("best")
        self.wait = int(state.get("wait", 0))
        self.cooldown_counter = int(state.get("cooldown_counter", 0))
        scaled = self._scaled_schedule()
        if scaled is not None and state.get("scale") is not None:
            scaled.scale = state["scale"]
            self._scale_changed()
        self._restored = True

    # ----------------------------------------------------------- callbacks
    def set_model(self, model):
        super().set_model(model)
        loop = progress.of(model, create=True)
        loop.register(self)
        optimizer = getattr(model, "optimizer", None)
        schedule = None if optimizer is None else schedule_of(optimizer)
        if schedule is not None and not isinstance(schedule, ScaledSchedule):
            set_schedule(optimizer, ScaledSchedule(schedule))
            # A train function traced earlier would still call the bare schedule.
            if getattr(model, "train_function", None) is not None:
                model.train_function = None
            loop.retrace = True  # the same, for a custom loop's own steps

    def on_train_begin(self, logs=None):
        if not self._restored:
            self._reset()
        self._restored = False

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        try:
            self._update(optimizer, epoch, logs)
        finally:
            # After any reduction: the rate the next step uses, as LearningRateLogger logs it.
            logs["learning_rate"] = current_learning_rate(optimizer)

    def _update(self, optimizer, epoch, logs):
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau: learning-rate reduction is conditioned on metric "
                f"`{self.monitor}`, which is not available. Available metrics are: "
                f"{','.join(k for k in logs if k != 'learning_rate')}.",
                stacklevel=3,
            )
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(float(current)):
            self.best = float(current)
            self.wait = 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and self._reduce(optimizer, epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    # ------------------------------------------------------------- helpers
    def _reduce(self, optimizer, epoch):
        old_lr = current_learning_rate(optimizer)
        if not old_lr > np.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        scaled = self._scaled_schedule()
        if scaled is None:
            optimizer.learning_rate = new_lr
        else:
            scaled.scale = scaled.scale * (new_lr / old_lr)
            self._scale_changed()
        if self.verbose > 0:
            _keras_internals.print_msg(
                f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}."
            )
        return True

    def _scaled_schedule(self):
        model = self._model
        optimizer = None if model is None else getattr(model, "optimizer", None)
        schedule = None if optimizer is None else schedule_of(optimizer)
        return schedule if isinstance(schedule, ScaledSchedule) else None

    def _scale_changed(self):
        # TensorFlow steps read the scale variable at run time. A JAX step is
        # traced with the value it had: fit gets a fresh train function, and a
        # custom loop is asked (by its TrainingProgress's `retrace`) to retrace its own.
        model = self._model
        if model is None or keras.backend.backend() != "jax":
            return
        progress.of(model, create=True).retrace = True
        if getattr(model, "train_function", None) is not None:
            model.make_train_function(force=True)

    def _is_improvement(self, value):
        if self._direction is None:
            self._direction = metric_direction(self.monitor, self.mode, compiled_metrics(self._model))
            if self._direction is None:
                raise ValueError(
                    f"ReduceLROnPlateau received monitor={self.monitor!r} and cannot tell whether it "
                    "should be minimized or maximized: pass mode='min' or mode='max'."
                )
        return is_better(value, self.best, self._direction, self.min_delta)

    def get_config(self):
        return {
            "monitor": self.monitor,
            "factor": self.factor,
            "patience": self.patience,
            "verbose": self.verbose,
            "mode": self.mode,
            "min_delta": self.min_delta,
            "cooldown": self.cooldown,
            "min_lr": self.min_lr,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
