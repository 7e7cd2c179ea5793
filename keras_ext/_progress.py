"""`TrainingProgress`: the one record of where training is, shared by a loop and keras_ext callbacks.

A loop (keras_ext's Trainer) creates one for each `fit`, attaches it to the
model as the single handle `model._keras_ext_progress` (callbacks only get the
model) and clears it when `fit` ends, however it ends. Keras's own `fit`
knows nothing of it: there CheckpointManager (its fit adapter, `FitResume`)
creates one and clears what it set at the first epoch it starts and at
`on_train_end`.

What it owns, instead of one model attribute or process-wide value per idea:

* `pipelines`: the training data it keeps in step. A pipeline that counts
  its own passes (keras_ext's: it has `get_position()` and `set_epoch`) is
  left to count, its position is saved, and a resume puts it back with
  `set_epoch`. A pipeline with only `set_epoch(epoch)` (PyTorch's
  `DistributedSampler` convention) is told each epoch's number before the
  epoch begins (`begin_epoch`). Any other is resumed at the right step,
  with a one-time warning if its order may differ.
* `initial_epoch`, `initial_step`: where a restored checkpoint says training
  continues (epoch, batches of that epoch already trained). A loop with
  `skips_batches` skips them itself; for Keras `fit`, CheckpointManager runs
  them through a step that only draws the batch (`fast_forward`).
* `restored_from`: the checkpoint path, or None.
* `finished_epochs`: `(epoch, logs)` of every epoch finished since the run
  began, restored ones included: each checkpoint saves it, so a resumed
  run's History covers the whole run.
* `retrace`: a callback changed a value a compiled step holds as a constant
  (ReduceLROnPlateau scaling a schedule on JAX): retrace before the next step.
* `callbacks`: callbacks taking part in checkpoints (`state_key`,
  `get_state()`, `set_state(state)`, as Lightning's callbacks do), by key.
"""

import warnings
import weakref

ATTRIBUTE = "_keras_ext_progress"


class TrainingProgress:
    """Progress and resume requests shared by a training loop and its callbacks."""

    def __init__(self, skips_batches=False):
        self.skips_batches = skips_batches
        self.retrace = False
        self._callbacks = {}
        self.clear()

    def clear(self):
        """Forget everything about one fit (the callback registry stays)."""
        self.pipelines = []
        self.data_declared = False  # whether the loop (or the user) said what the data is
        self.initial_epoch = None
        self.initial_step = 0
        self.restored_from = None
        self.fast_forward = None  # {"epoch": e, "batches": k} while fit replays trained batches
        self.finished_epochs = []

    # -------------------------------------------------------------- history
    def record_epoch(self, epoch, logs):
        """Remember a finished epoch's logs: the dict itself, which callbacks after the
        recorder (LearningRateLogger) may still add to before it is saved."""
        self.finished_epochs.append((int(epoch), logs))

    def restore_history(self, saved):
        """Take back the finished epochs a checkpoint saved (`[{"epoch": e, "logs": {...}}]`)."""
        self.finished_epochs = [
            (int(entry["epoch"]), {k: float("nan") if v is None else v for k, v in entry["logs"].items()})
            for entry in saved or []
        ]

    # ------------------------------------------------------------ pipelines
    def begin_epoch(self, epoch):
        """Tell the pipelines that want it (`set_epoch` only) which epoch begins."""
        for pipeline in self.pipelines:
            if _is_told_epochs(pipeline):
                pipeline.set_epoch(epoch)

    def add_pipelines(self, pipelines):
        """Keep `pipelines` in step too (each one once); an empty list declares there are none."""
        self.data_declared = True
        for pipeline in pipelines:
            if not any(pipeline is known for known in self.pipelines):
                self.pipelines.append(pipeline)

    def pipeline_positions(self):
        """What to save of each pipeline: `{"epoch": e}` of its pass in progress, or None."""
        return [pipeline.get_position() if _counts_passes(pipeline) else None for pipeline in self.pipelines]

    def restore_pipelines(self, positions, epoch_finished, source):
        """Put the pipelines back where a checkpoint says they were.

        A pipeline counting its own passes continues with the saved pass
        (its resumed epoch) or, at an epoch's end, the pass after it. A
        pipeline told its epochs gets them from `begin_epoch`. Any other is
        warned about once when it may shuffle.
        """
        positions = list(positions or [])
        if positions and len(positions) != len(self.pipelines):
            warnings.warn(
                f"{source} holds the positions of {len(positions)} data pipelines, this run has "
                f"{len(self.pipelines)}; their orders are not restored.",
                stacklevel=4,
            )
            positions = []
        for index, pipeline in enumerate(self.pipelines):
            saved = positions[index] if positions else None
            if _counts_passes(pipeline):
                if saved and saved.get("epoch") is not None:
                    pipeline.set_epoch(saved["epoch"] + (1 if epoch_finished else 0))
            elif not _is_told_epochs(pipeline) and may_shuffle(pipeline):
                warnings.warn(
                    f"{type(pipeline).__name__} cannot be put back where it was (it has no "
                    "`set_epoch`): training resumes at the right step, but its batch order from "
                    "here on will differ from an uninterrupted run's. keras_ext.data pipelines, a "
                    "PyDataset with `set_epoch(epoch)` or an unshuffled dataset resume exactly.",
                    stacklevel=4,
                )

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


def _counts_passes(pipeline):
    return callable(getattr(pipeline, "get_position", None)) and callable(
        getattr(pipeline, "set_epoch", None)
    )


def _is_told_epochs(pipeline):
    return callable(getattr(pipeline, "set_epoch", None)) and not _counts_passes(pipeline)


def is_grain_dataset(x):
    """A Grain `MapDataset`, `IterDataset` or `DataLoader` (told apart without importing Grain)."""
    return type(x).__module__.split(".")[0] == "grain" and hasattr(x, "__iter__")


def may_shuffle(pipeline):
    """Whether a pipeline without `set_epoch` may change its order between passes.

    A tf.data Dataset is looked through for a shuffle; a PyDataset may if it
    has epoch hooks of its own; a Grain dataset does not; anything else (a
    generator, an iterator) may.
    """
    import keras

    if isinstance(pipeline, keras.utils.PyDataset):
        # Indexed batches keep their order unless the dataset reorders them between passes.
        return any(
            getattr(type(pipeline), hook) is not getattr(keras.utils.PyDataset, hook, None)
            for hook in ("on_epoch_begin", "on_epoch_end")
            if hasattr(type(pipeline), hook)
        )
    if is_grain_dataset(pipeline):
        # Grain orders by index from its seed: every pass (a new iterator, as fit makes
        # one each epoch) repeats it, and fit's fast-forward finds the resumed batch.
        return False
    if not hasattr(pipeline, "element_spec"):  # a generator, an iterator: it may
        return True
    from keras_ext import _keras_internals

    return _keras_internals.dataset_may_shuffle(pipeline)


def state_key(callback):
    return getattr(callback, "state_key", None) or type(callback).__name__


def of(model, create=False):
    """The model's TrainingProgress (created and attached when `create`), or None."""
    if model is None:
        return None
    state = model.__dict__.get(ATTRIBUTE)
    if state is None and create:
        state = TrainingProgress()
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
