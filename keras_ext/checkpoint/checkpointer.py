"""`Checkpointer`: CheckpointManager's checkpoints for any training loop, in four calls."""

import numbers
import time
import warnings

import keras

from keras_ext.checkpoint import _checkpoint_files as files
from keras_ext.checkpoint import _loading as loading
from keras_ext.checkpoint import _retention as retention
from keras_ext.checkpoint import _training_state as training_state
from keras_ext.checkpoint._save_trigger import SaveTrigger
from keras_ext.checkpoint._writer_lock import WriterLock
from keras_ext.checkpoint._writer_lock import check_still_held
from keras_ext.distribute.process_role import expected_role


class Checkpointer:
    """Save and restore a model, its optimizer and a dict of your own, from any training loop.

    A passive checkpointer, as Orbax's CheckpointManager and TensorFlow's
    `tf.train.CheckpointManager` are: your loop decides when to call it.
    The checkpoints are CheckpointManager's: a directory `ckpt-<step>` per
    save with every model variable (weights, BatchNormalization statistics,
    SeedGenerator states), every optimizer variable (`iterations`, slots),
    and `extra`, your JSON-able dict (the epoch, a data position, a metric).
    Each is written under a temporary name, fsynced and committed by one
    rename, then verified (sizes, SHA-256) when read back; a restore checks
    every name, shape and dtype before it assigns a single value (all or
    nothing), and skips a checkpoint that cannot be read, with a warning,
    for the one before it. It works on TensorFlow and JAX alike.

    The four calls a loop needs:

    * `restore_latest()`: before training, restore the newest usable
      checkpoint; returns its step, or `None` when there is none. It builds
      what it must fill first: an unbuilt model from the input shape the
      checkpoint records, and the optimizer's variables.
    * `should_save(step)`: whether `step` is a multiple of `save_freq`.
    * `save(step, extra=None)`: write the state as checkpoint `step`, then
      delete all but the newest `max_to_keep`.
    * `latest_step`: the newest checkpoint's step, or `None`.

    After a restore, `extra` is the dict saved with it (`{}` if none).

    One writer per directory: a Checkpointer holds an operating-system lock
    on its directory (the file `.NAME.lock` beside it) from construction
    until `close()` (or the end of a `with Checkpointer(...)` block, or its
    garbage collection, or the process's end, however it ends: a killed
    holder never blocks the next run). Constructing one on a directory that
    another live process writes raises `CheckpointDirectoryBusyError` (a
    ValueError naming that process's pid and host). Every Checkpointer and
    CheckpointManager of one process shares the hold. In a job of several
    processes only the chief takes it (`TF_CONFIG`, `KERAS_DISTRIBUTION_*`
    or the running engine says which process that is): the other processes
    restore but must not save. A `save` after `close()` takes it again.

    On JAX, a loop that trains on arrays (`stateless_call`,
    `optimizer.stateless_apply`) assigns them back to the variables before
    `save`, and reads them from the variables after `restore_latest`.

    Args:
        directory: where the checkpoints live (created on the first save).
        model: a built `keras.Model` (or one built by the restore).
        optimizer: the optimizer to save; default `model.optimizer`.
        max_to_keep: how many of the newest checkpoints to keep (positive
            int), or `None` for all.
        save_freq: `should_save(step)` is true every `save_freq` steps.
        verbose: 0 (silent) or 1 (a line per save and restore).

    Example:

    >>> import os, tempfile, numpy as np, keras
    >>> from keras_ext.checkpoint import Checkpointer
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> optimizer = keras.optimizers.SGD(0.1)
    >>> directory = os.path.join(tempfile.mkdtemp(), "ckpts")
    >>> checkpointer = Checkpointer(directory, model, optimizer, max_to_keep=3, save_freq=5)
    >>> start = checkpointer.restore_latest() or 0
    >>> for step in range(start + 1, 21):
    ...     pass  # one training step
    ...     if checkpointer.should_save(step):
    ...         _ = checkpointer.save(step, extra={"epoch": step // 10})
    >>> checkpointer.steps, checkpointer.latest_step
    ([10, 15, 20], 20)
    """

    # False for CheckpointManager's own Checkpointer: the manager holds the lock itself, on the chief.
    _takes_lock = True

    def __init__(self, directory, model, optimizer=None, max_to_keep=3, save_freq=1, verbose=0):
        directory = files.check_directory(directory)
        if not isinstance(model, keras.Model):
            raise ValueError(f"`model` must be a keras.Model, got model={model!r}.")
        if optimizer is not None and not isinstance(optimizer, keras.optimizers.Optimizer):
            raise ValueError(f"`optimizer` must be a keras optimizer or None, got optimizer={optimizer!r}.")
        max_to_keep = files.check_max_to_keep(max_to_keep)
        trigger = SaveTrigger(save_freq)
        if trigger.every_epoch:
            raise ValueError("`save_freq` must be a positive integer number of steps, got save_freq='epoch'.")
        self.directory = directory
        self.model = model
        self.optimizer = optimizer if optimizer is not None else getattr(model, "optimizer", None)
        self.max_to_keep = max_to_keep
        self.save_freq = trigger.save_freq
        self.verbose = verbose
        self.extra = {}
        self._policies = [retention.KeepNewest(self.max_to_keep)]
        self._writer_lock = WriterLock(directory)
        self._writes = self._takes_lock and expected_role().is_chief
        self._hold()

    def _hold(self):
        """Take the directory's writer lock (held already: nothing); refuse a directory another process writes."""
        if self._writes:
            self._writer_lock.acquire()

    def close(self):
        """Let go of the directory's writer lock (a later `save` takes it again)."""
        self._writer_lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def steps(self):
        """The steps of the committed checkpoints, oldest first."""
        return [step for step, _ in files.list_checkpoints(self.directory)]

    @property
    def latest_step(self):
        """The newest checkpoint's step, or None."""
        steps = self.steps
        return steps[-1] if steps else None

    def should_save(self, step):
        """Whether `step` (a positive count of training steps) is one to save at."""
        return int(step) > 0 and int(step) % self.save_freq == 0

    def save(self, step, extra=None):
        """Write the model, the optimizer and `extra` as checkpoint `step`; return its path."""
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise ValueError(f"`step` must be a non-negative int, got step={step!r}.")
        if extra is not None and not isinstance(extra, dict):
            raise ValueError(f"`extra` must be a JSON-able dict or None, got extra={extra!r}.")
        self._hold()
        arrays, specs = training_state.snapshot(self.model, optimizer=self.optimizer, metrics=False)
        bad = training_state.non_finite(arrays)
        if bad:
            raise ValueError(
                f"Checkpointer: not saving step {step}: {len(bad)} variables hold NaN or infinity; "
                f"the newest checkpoint (step {self.latest_step}) stays the one to resume from."
            )
        state = {
            "step": int(step),
            "epoch": 0,
            "step_in_epoch": 0,
            "writer": "Checkpointer",
            "extra": dict(extra or {}),
            "variables": specs,
            "model_class": type(self.model).__name__,
            "optimizer_class": type(self.optimizer).__name__,
            "build_config": self.model.get_build_config(),
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "time": time.time(),
        }
        path, _ = self._commit(int(step), arrays, state)
        if self.verbose:
            print(f"Checkpointer: saved {path}")
        return path

    def restore_latest(self):
        """Restore the newest usable checkpoint; return its step, or None if there is none."""
        self._hold()
        if self._writes:
            files.remove_leftovers(self.directory)
        restored = self._restore_newest(self._restore)
        if restored is None:
            return None
        path, state = restored
        self.extra = dict(state.get("extra") or {})
        if self.verbose:
            print(f"Checkpointer: restored {path}")
        return int(state["step"])

    def _restore(self, path, arrays, state):
        loading.build_if_needed(self.model, state)
        groups = ("model", "optimizer") if self.optimizer is not None else ("model",)
        if self.optimizer is not None and not self.optimizer.built:
            self.optimizer.build(self.model.trainable_variables)
        training_state.assign(
            training_state.plan_restore(path, state, arrays, self.model, groups, self.optimizer)
        )

    # What save() and restore_latest() share with CheckpointManager, which drives the same
    # files from Keras's callback hooks (its state also holds metrics and callback states).
    def _commit(self, step, arrays, state, scores=None, before_commit=None):
        """Write a prepared state as `ckpt-<step>`, then apply retention; return (path, deleted steps)."""
        payload = files.encode(arrays, state)  # a dict that is not JSON-able fails here, before any file
        check_still_held(self.directory)  # a writer whose lease was taken over writes nothing
        path = files.write_checkpoint(self.directory, step, payload, before_commit=before_commit)
        return path, retention.rotate(self.directory, self._policies, scores or {})

    def _restore_newest(self, restore):
        """Call `restore(path, arrays, state)` on the newest usable checkpoint; return (path, state) or None.

        Unusable checkpoints (unreadable, unverified, non-finite, or one whose
        `restore` raises CorruptCheckpointError) are warned about and skipped
        for the one before, then set aside once one restored. All or nothing:
        a checkpoint that does not fit raises CheckpointMismatchError.
        """
        unusable = []
        for path, arrays, state in loading.usable_newest_first(self.directory, unusable, stacklevel=5):
            try:
                restore(path, arrays, state)
            except files.CorruptCheckpointError as e:  # a callback state that does not load
                warnings.warn(f"CheckpointManager: skipping corrupt checkpoint {path}: {e}.", stacklevel=5)
                unusable.append(path)
                continue
            loading.set_aside(unusable, stacklevel=5)
            return path, state
        if unusable:
            raise ValueError(
                f"Every checkpoint in {self.directory!r} is corrupt; nothing to resume from. "
                "Move them away to start fresh."
            )
        return None
