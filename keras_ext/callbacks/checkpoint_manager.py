"""`CheckpointManager`: rotating, atomic, verified checkpoints of the whole training state, with exact resume.

The callback composes small parts, each a module a reader can hold in mind:

* when to save: `_save_trigger.SaveTrigger` (every `save_freq` steps or epoch ends),
  plus preemption signals (`_preemption.PreemptionGuard`);
* what to keep: `_retention` (keep the newest N, keep the best N);
* how fit resumes: `_fit_resume.FitResume`, through the loop's `TrainingProgress`;
* loading: `_loading` (the newest usable checkpoint, loading for inference);
* the files: `_checkpoint_files` (atomic directories, verified reads) and
  `_training_state` (variables <-> arrays, all-or-nothing restore).
"""

import json
import math
import numbers
import os
import threading
import time
import warnings

import keras

from keras_ext import _progress as progress
from keras_ext._direction import MODES
from keras_ext._direction import metric_direction
from keras_ext._direction import ranked
from keras_ext.callbacks._fit_resume import FitResume
from keras_ext.callbacks._preemption import PreemptionGuard
from keras_ext.checkpoint import _checkpoint_files as files
from keras_ext.checkpoint import _loading as loading
from keras_ext.checkpoint import _locations as locations
from keras_ext.checkpoint import _retention as retention
from keras_ext.checkpoint import _training_state as training_state
from keras_ext.checkpoint._save_trigger import SaveTrigger
from keras_ext.checkpoint._writer_lock import WriterLock
from keras_ext.checkpoint.checkpointer import Checkpointer
from keras_ext.distribute.process_role import SINGLE
from keras_ext.distribute.process_role import all_gather_int
from keras_ext.distribute.process_role import expected_role
from keras_ext.distribute.process_role import process_role

# Kept for callers of the previous location.
is_fast_forwarded = progress.is_fast_forwarded


@keras.saving.register_keras_serializable(package="keras_ext")
class CheckpointManager(keras.callbacks.Callback):
    """Save the whole training state every `save_freq` steps, keep the newest few, resume exactly.

    Each checkpoint is a directory `ckpt-<global step>` in `directory` with
    every model variable (weights, BatchNormalization statistics, the
    SeedGenerator states Dropout draws from), the optimizer state including
    `iterations` (so learning-rate schedules resume at the right step), the
    metric accumulators, the epoch, the batch within the epoch, the
    monitored score and the state of every participating callback (any
    callback registered with the loop's TrainingProgress, such as
    `keras_ext.callbacks.ReduceLROnPlateau`). It is written under a
    temporary name (each file fsynced), then committed by one rename; its
    manifest (sizes, SHA-256) and contents are verified on restore.

    When training starts on a directory holding checkpoints, the newest
    usable one is restored (`restore="latest"`), all or nothing: names,
    shapes, dtypes and the optimizer class are checked before any variable
    is assigned. One that cannot be read or validated, or that holds NaN or
    infinite values, is skipped with a warning naming it and set aside
    (`ckpt-<step>.corrupt`); the one before it is used. A state with
    non-finite weights or optimizer slots is never written. A run stopped
    mid-epoch (TerminateOnNaN, EarlyStopping in a batch hook, a preemption
    signal) records the batch it stopped at. With `save_on_preemption`,
    SIGTERM or a first SIGINT during training saves the current step at the
    next batch end, stops training, and then lets the signal take its course.

    A mid-epoch checkpoint resumes at the next batch without training a batch
    twice or skipping one. Exact resume also needs the data to come back in
    the same order. Keras's `fit` does not show its data to callbacks, so
    pass the training pipeline as `data`: the checkpoint then records its
    position and a resume puts it back (`keras_ext.data` pipelines; any
    pipeline with `set_epoch(epoch)`, which is told each epoch). The
    keras_ext Trainer does this for its `x` itself. See docs/checkpointing.md.

    Each checkpoint also holds the logs of every epoch finished so far. The
    History a resumed `fit` returns (and `model.history`) covers every epoch
    since the run began, the restored ones first, as an uninterrupted run's
    does; rerunning a finished run trains nothing and returns all of them.
    After a restore, `restored_from` is the checkpoint's path,
    `resumed_epoch` the epoch (from 0) training continues in, and
    `resume_message` says so in one line ("resumed from PATH at epoch E,
    step S", epochs counted from 1 as Keras shows them).

    In a job of several processes (`MultiWorkerMirroredStrategy`, JAX's
    `keras.distribution` across processes) every process runs the manager on
    the same directory, which all of them must see (a shared filesystem):
    only the chief writes checkpoints; every process restores the same one,
    and none starts training before all have (an all-gather of the restored
    step, which must agree).

    One writer per directory: the manager holds an operating-system lock on
    its directory (the file `.NAME.lock` beside it, `NAME` being the
    directory's name) from construction until the end of its `fit`, and
    again during each later `fit`. Constructing a manager on a directory
    that another live process writes raises `CheckpointDirectoryBusyError`
    (a ValueError naming that process's pid and host; `keras-ext train`
    exits 2 with that line). The operating system drops the lock when its
    process ends, however it ends: a killed run never blocks its rerun.
    Within one process, managers and `Checkpointer`s on one directory share
    the hold (a script that trains twice, a manager made again for a
    rerun). In a job of several processes only the chief takes it (known
    from `TF_CONFIG`, `KERAS_DISTRIBUTION_*` or the running engine at
    construction, from the engine when training begins). Loading for
    inference (`CheckpointManager.restore(model, directory)`) takes no lock.

    Args:
        directory: where checkpoints live (created on the first save; must
            not be an existing file).
        save_freq: a positive int (save every that many optimizer steps,
            counted by `optimizer.iterations`) or `"epoch"`.
        max_to_keep: how many of the newest checkpoints to keep (positive
            int), or `None` to keep all.
        monitor: optional name of an epoch-level metric (e.g. `"val_loss"`).
            When set, a checkpoint is also written at the end of every epoch,
            scored by that metric, and the `keep_best` best-scored ones are
            kept in addition to the newest, never rotated out by newer ones.
        mode: `"min"`, `"max"` or `"auto"` (the rule ReduceLROnPlateau and
            the tuner share: losses and errors down, accuracy-like up).
        keep_best: how many best-scored checkpoints to keep (positive int;
            used with `monitor`).
        restore: `"latest"` (resume from the newest usable checkpoint if
            there is one), `None` (start fresh; the directory must then hold
            no checkpoints) or the path of one checkpoint to start from.
        async_write: write checkpoints in a background thread. The state is
            copied at the step itself; at most one write is in flight (a new
            save waits for the previous one); all writes finish before `fit`
            returns. A write that fails stops training at the next batch end
            with its error.
        save_on_train_end: also save the final state when training ends, if
            the last step was not saved already.
        save_on_preemption: on SIGTERM or SIGINT during training (main
            thread only), save at the next batch end, stop training, then
            hand the signal to the handler that was installed before (by
            default SIGTERM ends the process and SIGINT raises
            KeyboardInterrupt). A second SIGINT aborts at once. Default True.
        verbose: 0 (silent) or 1 (one line per save and restore).
        data: the training data `fit` iterates (a pipeline or a list of
            them), kept in step as described above; `[]` says there is
            nothing to keep (arrays with `fit(shuffle=False)`, an
            unshuffled dataset). Left as None under `fit`, a resume warns
            that the data order may differ. Not part of the config: it is a
            live object, like the model.

    `CheckpointManager.restore(model, directory)`, called on the class,
    loads a checkpoint for inference or evaluation without training (on an
    instance, `restore` is the constructor option above).

    Example:

    >>> import os, tempfile, numpy as np, keras, keras_ext
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    >>> model.compile("sgd", "mse")
    >>> directory = os.path.join(tempfile.mkdtemp(), "ckpts")
    >>> manager = keras_ext.callbacks.CheckpointManager(directory, save_freq=2, max_to_keep=2)
    >>> _ = model.fit(np.ones((16, 4)), np.zeros((16, 2)), batch_size=4, epochs=2,
    ...               callbacks=[manager], verbose=0)
    >>> [os.path.basename(p) for p in manager.checkpoints]
    ['ckpt-6', 'ckpt-8']
    """

    def __init__(
        self,
        directory,
        save_freq=20,
        max_to_keep=3,
        monitor=None,
        mode="auto",
        keep_best=1,
        restore="latest",
        async_write=False,
        save_on_train_end=True,
        save_on_preemption=True,
        verbose=0,
        data=None,
    ):
        super().__init__()
        directory = files.check_directory(directory)
        trigger = SaveTrigger(save_freq)
        max_to_keep = files.check_max_to_keep(max_to_keep)
        if monitor is not None and not isinstance(monitor, str):
            raise ValueError(f"`monitor` must be a metric name or None, got monitor={monitor!r}.")
        if mode not in MODES:
            raise ValueError(f"`mode` must be 'auto', 'min' or 'max', got mode={mode!r}.")
        if isinstance(keep_best, bool) or not isinstance(keep_best, numbers.Integral) or keep_best < 1:
            raise ValueError(f"`keep_best` must be a positive integer, got keep_best={keep_best!r}.")
        if restore is False:
            restore = None
        if restore is not None and restore != "latest":
            if not isinstance(restore, (str, os.PathLike)) or not _is_existing_checkpoint(restore):
                raise ValueError(
                    "`restore` must be 'latest', None or the path of an existing checkpoint "
                    f"directory, got restore={restore!r}."
                )
            restore = files.check_directory(restore)
        for name, value in (("async_write", async_write), ("save_on_preemption", save_on_preemption)):
            if not isinstance(value, bool):
                raise ValueError(f"`{name}` must be True or False, got {name}={value!r}.")
        pipelines = _pipelines(data)
        # Once the arguments are known good, before the directory is looked at: a directory
        # another process writes is refused here, before any training.
        self._writer_lock = WriterLock(directory)
        self._writer_lock.hold_if(expected_role().is_chief)
        if restore is None and files.list_checkpoints(directory):
            self._writer_lock.release()
            raise ValueError(
                f"`directory` {directory!r} already holds checkpoints "
                f"({', '.join(os.path.basename(p) for _, p in files.list_checkpoints(directory))}) "
                "and restore=None: pass restore='latest' to continue from them, or use an "
                "empty directory."
            )
        self.directory = directory
        self.save_freq = trigger.save_freq
        self.max_to_keep = max_to_keep
        self.monitor = monitor
        self.mode = mode
        self.keep_best = int(keep_best)
        self.restore = restore
        self.async_write = async_write
        self.save_on_train_end = bool(save_on_train_end)
        self.save_on_preemption = save_on_preemption
        self.verbose = verbose
        self.data = pipelines
        self._trigger = trigger
        # Unknown names keep the previous default, "min" (ReduceLROnPlateau refuses them).
        self._direction = None if monitor is None else (metric_direction(monitor, mode) or "min")
        self._lock = threading.Lock()
        self._writer = None
        self._writer_error = None
        self._preemption = PreemptionGuard()
        self._before_commit = None  # test hook, called inside a write before its commit
        self._reset_run_state()

    # A class-level call `CheckpointManager.restore(model, directory)` loads for
    # inference; `__init__` shadows it per instance with the `restore` option.
    restore = staticmethod(loading.restore_for_inference)

    def _reset_run_state(self):
        self._scores = {}
        self._step = 0
        self._epoch = None
        self._batch_seen = -1
        self._epoch_complete = True
        self._epoch_ended = False
        self._last_write_step = None
        self._pending_epoch_end = None
        self._save_at_epoch_end = False
        self._warned_non_finite = False
        self._loop_state = None
        self._fit_resume = None
        self._checkpointer = None  # this run's files, made in on_train_begin (it needs the model)
        self._role = SINGLE
        self.restored_from = None
        self.resume_message = None  # "resumed from PATH at epoch E, step S" (epochs from 1), after a restore
        self.resumed_epoch = None  # the epoch (from 0) training continued in, after a restore
        self.preempted = None

    # ------------------------------------------------------------ properties
    @property
    def checkpoints(self):
        """Paths of the committed checkpoints, oldest to newest by global step."""
        return [path for _, path in files.list_checkpoints(self.directory)]

    @property
    def latest(self):
        """Path of the newest checkpoint (by global step), or None."""
        found = files.list_checkpoints(self.directory)
        return found[-1][1] if found else None

    @property
    def best(self):
        """Path of the best-scored checkpoint by `monitor` (ties: the older), or None."""
        if self.monitor is None:
            return None
        best = ranked(self._read_scores(), self._direction)
        return os.path.join(self.directory, files.checkpoint_name(best[0])) if best else None

    def get_config(self):
        return {
            "directory": self.directory,
            "save_freq": self.save_freq,
            "max_to_keep": self.max_to_keep,
            "monitor": self.monitor,
            "mode": self.mode,
            "keep_best": self.keep_best,
            "restore": self.restore,
            "async_write": self.async_write,
            "save_on_train_end": self.save_on_train_end,
            "save_on_preemption": self.save_on_preemption,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # -------------------------------------------------------------- callbacks
    def on_train_begin(self, logs=None):
        self._wait_for_writer()
        self._reset_run_state()
        if (
            not locations.is_url(self.directory)
            and os.path.exists(self.directory)
            and not os.path.isdir(self.directory)
        ):
            raise ValueError(f"`directory` {self.directory!r} is an existing file, not a directory.")
        model = self.model
        # Under a multi-process strategy only the chief writes (and tidies); all read.
        self._role = process_role(model)
        # The engine's word on the role, now that it runs; the lock is the chief's alone.
        self._writer_lock.hold_if(self._role.is_chief)
        if self._role.is_chief:
            files.remove_leftovers(self.directory)
        self._scores = self._read_scores()
        self._checkpointer = self._make_checkpointer(model)
        # The loop's TrainingProgress (the Trainer passes one in); Keras fit has none: make one.
        self._loop_state = progress.of(model, create=True)
        if self.data is not None:
            self._loop_state.add_pipelines(self.data)
        self._fit_resume = FitResume(model, self._loop_state)
        if self.restore == "latest":
            self._resume_from_newest(model)
        elif self.restore is not None:
            path = self.restore
            arrays, state = loading.read_usable(path)
            self._restore_for_training(model, path, arrays, state)
        elif files.list_checkpoints(self.directory):
            raise ValueError(
                f"`directory` {self.directory!r} already holds checkpoints and restore=None: pass "
                "restore='latest' to continue from them, or use an empty directory."
            )
        self._step = self._global_step(model)
        self._agree_on_restored_step()
        if self.save_on_preemption:
            self._preemption.install()

    def on_epoch_begin(self, epoch, logs=None):
        self._write_pending_epoch_end()
        self._epoch = epoch
        self._epoch_complete = False
        self._epoch_ended = False
        self._batch_seen = self._fit_resume.epoch_begin(epoch) - 1

    def on_train_batch_begin(self, batch, logs=None):
        self._fit_resume.batch_begin(self._epoch, batch)

    def on_train_batch_end(self, batch, logs=None):
        if self._writer is not None and not self._writer.is_alive():
            self._wait_for_writer()  # a background write that failed stops training here
        if self._loop_state.is_fast_forwarded(self._epoch, batch):
            self._batch_seen = batch
            return
        covered = batch - self._batch_seen
        self._batch_seen = batch
        before = self._step
        self._step += covered
        if self._preemption.requested:
            self._save_for_preemption(batch, logs)
            return
        if not self._trigger.due(before, self._step):
            return
        steps = (self.params or {}).get("steps")
        if steps and batch + 1 >= steps:
            # The epoch ends here: save once on_epoch_end has run everywhere.
            self._save_at_epoch_end = True
            return
        self._save(epoch=self._epoch, step_in_epoch=batch + 1, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:  # not `logs or {}`: the history keeps this very dict (see record_epoch)
            logs = {}
        steps = (self.params or {}).get("steps")
        # A stop inside the epoch (TerminateOnNaN, a preemption, a user callback)
        # still reaches on_epoch_end: it must not be recorded as a finished epoch.
        # With an unknown epoch length, a stop request counts as mid-epoch (resuming
        # there replays the rest, which is then empty).
        stopped = bool(getattr(self.model, "stop_training", False))
        self._epoch_complete = (self._batch_seen + 1 >= steps) if steps else not stopped
        self._epoch_ended = True
        self._fit_resume.epoch_end()
        if not self._epoch_complete:
            self._save_at_epoch_end = False
            return
        self._loop_state.record_epoch(epoch, logs)
        score = None
        if self.monitor is not None:
            score = logs.get(self.monitor)
            if score is None:
                warnings.warn(
                    f"CheckpointManager: monitored metric {self.monitor!r} is not in the epoch logs "
                    f"(available: {', '.join(sorted(logs))}); this checkpoint gets no score.",
                    stacklevel=2,
                )
        if (
            self._trigger.every_epoch
            or self.monitor is not None
            or self._save_at_epoch_end
            or (self._preemption.requested)
        ):
            # Written at the next on_epoch_begin (or on_train_end), after every
            # callback has finished this epoch, so their state is complete.
            self._pending_epoch_end = {
                "epoch": epoch + 1,
                "score": score,
                "logs": dict(logs),
                # Now, before the next pass can start.
                "data": self._loop_state.pipeline_positions(),
            }
        self._save_at_epoch_end = False
        if self._preemption.requested:
            self._preemption.handled = True
            self.preempted = self._preemption.received
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        try:
            if self._pending_epoch_end is not None:
                self._write_pending_epoch_end()
            elif self.save_on_train_end and self._epoch is not None and self._step != self._last_write_step:
                self._save(*self._position(), logs=logs or {})
            self._wait_for_writer()
        finally:
            self._end_of_fit()
            self._writer_lock.release()  # every write is done; the next fit takes it again

    def _end_of_fit(self):
        """Undo everything set on the model and in the process for this fit (then deliver a pending signal)."""
        if self._fit_resume is not None:
            self._fit_resume.end()
        if self._loop_state is not None:
            self._loop_state.clear()
            if not self._loop_state.skips_batches:
                # Under Keras fit the record is this manager's: it leaves the model with
                # the fit (a loop's own record is the loop's to remove).
                progress.detach(self.model)
        self._preemption.uninstall()

    def _position(self):
        """`(epoch, batches of it done)` where training stands now."""
        if self._epoch_complete:
            return self._epoch + 1, 0
        return self._epoch, self._batch_seen + 1

    # -------------------------------------------------------------- restore
    def _resume_from_newest(self, model):
        self._checkpointer._restore_newest(
            lambda path, arrays, state: self._restore_for_training(model, path, arrays, state)
        )

    def _make_checkpointer(self, model):
        """The files of this run, as a loop of one's own has them, plus a best-scored retention."""
        checkpointer = _ManagersCheckpointer(self.directory, model, max_to_keep=self.max_to_keep)
        if self.monitor is not None:
            checkpointer._policies.append(retention.KeepBest(self.keep_best, self._direction))
        return checkpointer

    def _agree_on_restored_step(self):
        """Across processes: wait until every one has restored, and check they restored the same step.

        A worker that cannot see the chief's files (no shared filesystem) would
        otherwise train from other weights than its peers without a word.
        """
        if self._role.processes == 1:
            return
        steps = all_gather_int(self._step, self.model)
        if len(set(steps)) > 1:
            raise RuntimeError(
                f"CheckpointManager: the workers restored different steps {steps} (in process order) from "
                f"{self.directory!r}; every worker must see the same checkpoint directory (a filesystem "
                "they all share)."
            )

    def _restore_for_training(self, model, path, arrays, state):
        """All or nothing: check everything, then assign the variables and callback states."""
        loading.build_if_needed(model, state)
        training_state.ensure_optimizer_built(model)
        plan = training_state.plan_restore(path, state, arrays, model, ("model", "optimizer"))
        self._restore_callback_states(path, state.get("callbacks", {}))
        training_state.assign(plan)
        self._last_write_step = int(state["step"])
        self.restored_from = path
        self.resumed_epoch = int(state["epoch"])
        self._fit_resume.start(path, arrays, state, (self.params or {}).get("steps"))
        trained = (
            f" ({state['step_in_epoch']} batches of it already trained)" if state["step_in_epoch"] else ""
        )
        self.resume_message = (
            f"resumed from {path} at epoch {state['epoch'] + 1}, step {state['step']}{trained}"
        )
        if self.verbose:
            print(f"CheckpointManager: {self.resume_message}")

    def _restore_callback_states(self, path, saved):
        live = self._loop_state.callbacks()
        previous = {key: callback.get_state() for key, callback in live.items()}
        try:
            for key, callback_state in saved.items():
                if key in live:
                    live[key].set_state(callback_state)
                else:
                    warnings.warn(
                        f"CheckpointManager: the checkpoint holds the state of a {key} callback, "
                        "but none is attached to this fit; its state is not restored.",
                        stacklevel=5,
                    )
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            for key, callback_state in previous.items():
                live[key].set_state(callback_state)
            raise files.CorruptCheckpointError(f"the state of callback {key} does not load: {e!r}") from None

    # ----------------------------------------------------------------- saving
    def _save_for_preemption(self, batch, logs):
        """The signal arrived during this batch: save it now, in this thread, and stop."""
        self._preemption.handled = True
        self.preempted = self._preemption.received
        steps = (self.params or {}).get("steps")
        if steps and batch + 1 >= steps:
            self._save_at_epoch_end = True  # the last batch: the epoch-end checkpoint covers it
        else:
            self._save(epoch=self._epoch, step_in_epoch=batch + 1, logs=logs)
            self._wait_for_writer()
        self.model.stop_training = True
        if self.verbose:
            print(
                f"CheckpointManager: signal {self.preempted} received; saved step {self._step} and stopped."
            )

    def _save(self, epoch, step_in_epoch, logs, score=None, data=None):
        model = self.model
        step = self._global_step(model)
        self._step = step
        self._last_write_step = step
        # Every process reads the state: under tf.distribute, reading a metric (an
        # on-read variable) is a collective, which all processes must join in the same order.
        arrays, specs = training_state.snapshot(model)
        bad = training_state.non_finite(arrays)
        if bad:
            # Never a resume point: every rerun would continue from NaN, and rotation
            # would push the last finite checkpoints out.
            if not self._warned_non_finite:
                self._warned_non_finite = True
                warnings.warn(
                    f"CheckpointManager: not saving step {step}: the model or optimizer holds "
                    f"non-finite values ({len(bad)} variables). The newest checkpoint, "
                    f"{self.latest}, stays the resume point.",
                    stacklevel=3,
                )
            return
        build_config = None
        try:
            build_config = model.get_build_config()
        except Exception:  # noqa: BLE001 - an input shape is a convenience, not a requirement
            pass
        state = {
            "step": step,
            "epoch": int(epoch),
            "step_in_epoch": int(step_in_epoch),
            "steps_per_epoch": (self.params or {}).get("steps"),
            # After a stop inside an epoch, validation has already replaced the
            # metrics' training sums.
            "metrics_exact": not (step_in_epoch and self._epoch_ended),
            "monitor": self.monitor,
            "score": _finite_or_none(score),
            "logs": {k: float(v) for k, v in (logs or {}).items() if _is_number(v)},
            "data": self._loop_state.pipeline_positions() if data is None else data,
            "history": [
                {"epoch": e, "logs": {k: _finite_or_none(v) for k, v in epoch_logs.items() if _is_number(v)}}
                for e, epoch_logs in self._loop_state.finished_epochs
            ],
            "variables": specs,
            "callbacks": {
                key: callback.get_state() for key, callback in self._loop_state.callbacks().items()
            },
            "model_class": type(model).__name__,
            "optimizer_class": type(getattr(model, "optimizer", None)).__name__,
            "build_config": _jsonable(build_config),
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "time": time.time(),
        }
        if not self._role.is_chief:
            return  # the chief writes this step's checkpoint; its state equals ours
        self._wait_for_writer()
        if self.async_write:
            self._writer = threading.Thread(
                target=self._write_in_background,
                args=(step, arrays, state),
                name=f"keras_ext-checkpoint-{step}",
            )
            self._writer.start()
        else:
            self._write(step, arrays, state)

    def _write_pending_epoch_end(self):
        pending, self._pending_epoch_end = self._pending_epoch_end, None
        if pending is not None:
            self._save(
                epoch=pending["epoch"],
                step_in_epoch=0,
                logs=pending["logs"],
                score=pending["score"],
                data=pending["data"],
            )

    def _write_in_background(self, step, arrays, state):
        try:
            self._write(step, arrays, state)
        except BaseException as e:  # noqa: BLE001 - re-raised on the training thread
            self._writer_error = e

    def _write(self, step, arrays, state):
        with self._lock:
            self._scores[step] = state["score"]
            scores = dict(self._scores)
        path, deleted = self._checkpointer._commit(
            step, arrays, state, scores, before_commit=self._before_commit
        )
        with self._lock:
            for gone in deleted:
                self._scores.pop(gone, None)
        if self.verbose:
            print(f"CheckpointManager: saved {path}")

    def _wait_for_writer(self):
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.join()
        error, self._writer_error = self._writer_error, None
        if error is not None:
            raise RuntimeError(
                f"CheckpointManager: a background checkpoint write to {self.directory!r} failed: "
                f"{error!r}. The newest committed checkpoint, {self._newest_committed()}, stays the "
                "resume point."
            ) from error

    def _newest_committed(self):
        """`latest` for an error message: the store that just failed a write may not answer a listing."""
        try:
            return self.latest
        except OSError:
            return f"the newest of {self.directory!r} (it could not be listed just now)"

    def _read_scores(self):
        scores = {}
        for step, path in files.list_checkpoints(self.directory):
            try:
                state = json.loads(files.read_file(path, files.STATE_JSON))
            except (OSError, ValueError):
                continue
            if isinstance(state, dict) and state.get("monitor") == self.monitor:
                scores[step] = state.get("score")
        return scores

    @staticmethod
    def _global_step(model):
        optimizer = getattr(model, "optimizer", None)
        if optimizer is None:
            return 0
        return int(keras.ops.convert_to_numpy(optimizer.iterations))


class _ManagersCheckpointer(Checkpointer):
    """A manager's files: the manager holds the directory's lock itself, on the chief only."""

    _takes_lock = False


def _pipelines(data):
    """`data` as a list of pipelines (None: not said), refusing what has no order of its own to keep."""
    if data is None:
        return None
    pipelines = list(data) if isinstance(data, (list, tuple)) else [data]
    for pipeline in pipelines:
        if pipeline is None or hasattr(pipeline, "__array__") and not hasattr(pipeline, "element_spec"):
            raise ValueError(
                "`data` must be the pipeline(s) fit iterates (a tf.data.Dataset, a "
                "keras.utils.PyDataset, a Grain dataset, ...), got an element of type "
                f"{type(pipeline).__name__}. Arrays need no position kept: leave `data` out."
            )
    return pipelines


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _finite_or_none(value):
    if value is None or not _is_number(value):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if _is_number(value):
        return float(value)
    return str(value)


def _is_existing_checkpoint(path):
    """True for an existing local directory, or a committed checkpoint at a URL."""
    path = os.fspath(path)
    if locations.is_url(path):
        return files.is_checkpoint(files.check_directory(path))
    if locations.scheme(path) == "file":
        path = locations.local_path(path)
    return os.path.isdir(path)
