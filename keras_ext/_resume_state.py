"""`ResumeState`: the one object through which a training loop and keras_ext callbacks agree on a resume.

A loop (keras_ext's Trainer) creates one for each `fit`, attaches it to the
model as the single handle `model._keras_ext_resume` (callbacks only get the
model) and detaches it when `fit` ends, however it ends. Keras's own `fit`
knows nothing of it: there CheckpointManager creates one and clears what it
set at the first epoch it starts and at `on_train_end`.

What travels through it, instead of one model attribute per idea:

* `initial_epoch`, `initial_step`: where a restored checkpoint says training
  continues (epoch, batches of that epoch already trained). A loop with
  `skips_batches` skips them itself; for Keras `fit`, CheckpointManager runs
  them through a step that only draws the batch (`fast_forward`).
* `data_epoch`: the epoch whose sample order the data pipeline must produce.
* `restored_from`: the checkpoint path, or None.
* `retrace`: a callback changed a value a compiled step holds as a constant
  (ReduceLROnPlateau scaling a schedule on JAX): retrace before the next step.
* `callbacks`: callbacks taking part in checkpoints (`state_key`,
  `get_state()`, `set_state(state)`, as Lightning's callbacks do), by key.
"""

import weakref

ATTRIBUTE = "_keras_ext_resume"


class ResumeState:
    """Progress and resume requests shared by a training loop and its callbacks."""

    def __init__(self, skips_batches=False):
        self.skips_batches = skips_batches
        self.retrace = False
        self._callbacks = {}
        self.clear()

    def clear(self):
        """Forget everything about one resume (the callback registry stays)."""
        self.initial_epoch = None
        self.initial_step = 0
        self.data_epoch = None
        self.restored_from = None
        self.fast_forward = None  # {"epoch": e, "batches": k} while fit replays trained batches

    # ------------------------------------------------ participating callbacks
    def register(self, callback):
        """Make `callback` take part in checkpoints, keyed by its `state_key` (default: class name).

        A later callback with the same key replaces the earlier one. Held by
        weak reference: a callback dropped by the user is dropped here too.
        """
        self._callbacks[state_key(callback)] = weakref.ref(callback)

    def callbacks(self):
        """`{key: callback}` of the live participating callbacks."""
        alive = {}
        for key, ref in list(self._callbacks.items()):
            callback = ref()
            if callback is None:
                del self._callbacks[key]
            else:
                alive[key] = callback
        return alive

    def is_fast_forwarded(self, epoch, batch):
        info = self.fast_forward
        return bool(info) and info["epoch"] == epoch and batch < info["batches"]


def state_key(callback):
    return getattr(callback, "state_key", None) or type(callback).__name__


def of(model, create=False):
    """The model's ResumeState (created and attached when `create`), or None."""
    if model is None:
        return None
    state = model.__dict__.get(ATTRIBUTE)
    if state is None and create:
        state = ResumeState()
        attach(model, state)
    return state


def attach(model, state):
    # Not through Keras's __setattr__, which would track it as a layer attribute.
    object.__setattr__(model, ATTRIBUTE, state)


def detach(model):
    model.__dict__.pop(ATTRIBUTE, None)


def is_fast_forwarded(model, epoch, batch):
    """Whether `batch` of `epoch` is one `fit` replays without training after a mid-epoch resume.

    Callbacks that act per optimizer step (LearningRateLogger per batch, a
    step counter) skip those batches: no step was taken.
    """
    state = of(model)
    return state is not None and state.is_fast_forwarded(epoch, batch)
