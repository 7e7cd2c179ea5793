"""`CheckpointManager`: rotating, atomic, verified checkpoints of the whole training state, with exact resume."""

import math
import numbers
import os
import sys
import threading
import time
import warnings

import keras

from keras_ext.callbacks import _checkpoint_files as files
from keras_ext.callbacks import _stateful
from keras_ext.callbacks import _training_state as training_state

# Attribute the manager sets on the model while `fit` fast-forwards through the
# batches a mid-epoch checkpoint already covers: {"epoch": e, "batches": k}.
FAST_FORWARD_ATTRIBUTE = "_keras_ext_fast_forward"
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "true_positives", "iou")


def is_fast_forwarded(model, epoch, batch):
    """Whether `batch` of `epoch` is one `fit` replays without training after a mid-epoch resume."""
    info = None if model is None else model.__dict__.get(FAST_FORWARD_ATTRIBUTE)
    return bool(info) and info["epoch"] == epoch and batch < info["batches"]


def _restore_for_inference(model, directory, include_optimizer=False):
    """Load a checkpoint's model variables (and optionally optimizer state) into `model`, without training.

    `directory` is a CheckpointManager directory (its newest checkpoint
    that passes verification is used; corrupt ones are skipped with a
    warning) or a single `ckpt-<step>` directory. An unbuilt model is built
    from the input shape recorded in the checkpoint. Nothing on disk is
    changed. Raises `CheckpointMismatchError` (a ValueError naming the
    mismatched variables) before assigning anything if the checkpoint does
    not fit the model, and `FileNotFoundError` if there is no valid
    checkpoint. Returns the path of the checkpoint it loaded.
    """
    directory = os.fspath(directory)
    if os.path.exists(os.path.join(directory, files.MANIFEST)):
        path = directory
        arrays, state = files.read_checkpoint(path)
    else:
        found = _newest_valid(directory)[0]
        if found is None:
            raise FileNotFoundError(f"No valid checkpoint (ckpt-<step>) in {directory!r}.")
        path, arrays, state = found
    _build_if_needed(model, state)
    groups = ("model", "optimizer") if include_optimizer else ("model",)
    if include_optimizer:
        training_state.ensure_optimizer_built(model)
    training_state.check_fits(path, state, model, groups)
    live = training_state.variable_groups(model, optimizer=include_optimizer, metrics=False)
    for group in groups:
        training_state.assign(live[group], training_state.group_arrays(arrays, group))
    return path


def _newest_valid(directory):
    """`((path, arrays, state) or None, [corrupt paths newer than it])`, warning about each corrupt one."""
    corrupt = []
    for _, path in reversed(files.list_checkpoints(directory)):
        try:
            arrays, state = files.read_checkpoint(path)
        except files.CorruptCheckpointError as e:
            warnings.warn(
                f"CheckpointManager: skipping corrupt checkpoint {path}: {e}. "
                "Trying the one before it.",
                stacklevel=3,
            )
            corrupt.append(path)
            continue
        return (path, arrays, state), corrupt
    return None, corrupt


def _build_if_needed(model, state):
    if model.built:
        return
    build_config = state.get("build_config")
    if not build_config:
        raise ValueError(
            f"{type(model).__name__} is not built and the checkpoint records no input shape: "
            "build the model (call it on a batch or `model.build(shape)`) before restoring."
        )
    model.build_from_config(build_config)


@keras.saving.register_keras_serializable(package="keras_ext")
class CheckpointManager(keras.callbacks.Callback):
    """Save the whole training state every `save_freq` steps, keep the newest few, resume exactly.

    Each checkpoint is a directory `ckpt-<global step>` in `directory` with
    every model variable (weights, BatchNormalization statistics, the
    SeedGenerator states Dropout draws from), the optimizer state including
    `iterations` (so learning-rate schedules resume at the right step), the
    metric accumulators, the epoch, the batch within the epoch, the
    monitored score and the state of stateful keras_ext callbacks (such as
    `keras_ext.callbacks.ReduceLROnPlateau`'s counters). It is written under
    a temporary name (each file fsynced), then committed by one rename; its
    manifest (sizes, SHA-256) is verified on restore, and a corrupt or
    truncated newest checkpoint is skipped with a warning naming it.

    When training starts on a directory holding checkpoints, the newest
    valid one is restored (`restore="latest"`): Keras `fit` then starts at
    its epoch. A mid-epoch checkpoint resumes at the next batch without
    training a batch twice or skipping one: `fit` runs the first `k`
    batches of the resumed epoch through a step that only draws them from
    the data (no forward pass, no update; the other callbacks see those
    batches with the checkpoint's logs), so the cost is reading `k` batches.
    The keras_ext Trainer skips them itself. Exact resume also needs the
    data order of an epoch to depend only on the epoch: see
    docs/checkpointing.md for which inputs qualify (`keras_ext.data` ones
    do; the manager sets their epoch).

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
        mode: `"min"`, `"max"` or `"auto"` (max for accuracy-like names).
        keep_best: how many best-scored checkpoints to keep (positive int;
            used with `monitor`).
        restore: `"latest"` (resume from the newest valid checkpoint if
            there is one), `None` (start fresh; the directory must then hold
            no checkpoints) or the path of one checkpoint to start from.
        async_write: write checkpoints in a background thread. The state is
            copied at the step itself; at most one write is in flight (a new
            save waits for the previous one); all writes finish before `fit`
            returns.
        save_on_train_end: also save the final state when training ends, if
            the last step was not saved already.
        verbose: 0 (silent) or 1 (one line per save and restore).

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
        verbose=0,
    ):
        super().__init__()
        if not isinstance(directory, (str, os.PathLike)):
            raise ValueError(f"`directory` must be a path, got directory={directory!r}.")
        directory = os.fspath(directory)
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise ValueError(
                f"`directory` must be a directory (or not exist yet), got directory={directory!r}, "
                "which is an existing file."
            )
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, numbers.Integral) or save_freq < 1
        ):
            raise ValueError(
                "`save_freq` must be 'epoch' or a positive integer number of optimizer steps, "
                f"got save_freq={save_freq!r}."
            )
        if max_to_keep is not None and (
            isinstance(max_to_keep, bool) or not isinstance(max_to_keep, numbers.Integral) or max_to_keep < 1
        ):
            raise ValueError(
                "`max_to_keep` must be a positive integer or None (keep all), "
                f"got max_to_keep={max_to_keep!r}."
            )
        if monitor is not None and not isinstance(monitor, str):
            raise ValueError(f"`monitor` must be a metric name or None, got monitor={monitor!r}.")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"`mode` must be 'auto', 'min' or 'max', got mode={mode!r}.")
        if isinstance(keep_best, bool) or not isinstance(keep_best, numbers.Integral) or keep_best < 1:
            raise ValueError(f"`keep_best` must be a positive integer, got keep_best={keep_best!r}.")
        if restore is False:
            restore = None
        if restore is not None and restore != "latest":
            if not isinstance(restore, (str, os.PathLike)) or not os.path.isdir(os.fspath(restore)):
                raise ValueError(
                    "`restore` must be 'latest', None or the path of an existing checkpoint "
                    f"directory, got restore={restore!r}."
                )
            restore = os.fspath(restore)
        if restore is None and files.list_checkpoints(directory):
            raise ValueError(
                f"`directory` {directory!r} already holds checkpoints "
                f"({', '.join(os.path.basename(p) for _, p in files.list_checkpoints(directory))}) "
                "and restore=None: pass restore='latest' to continue from them, or use an "
                "empty directory."
            )
        if not isinstance(async_write, bool):
            raise ValueError(f"`async_write` must be True or False, got async_write={async_write!r}.")
        self.directory = directory
        self.save_freq = save_freq if save_freq == "epoch" else int(save_freq)
        self.max_to_keep = None if max_to_keep is None else int(max_to_keep)
        self.monitor = monitor
        self.mode = mode
        self.keep_best = int(keep_best)
        self.restore = restore
        self.async_write = async_write
        self.save_on_train_end = bool(save_on_train_end)
        self.verbose = verbose
        self._direction = _direction(monitor, mode)
        self._lock = threading.Lock()
        self._writer = None
        self._writer_error = None
        self._before_commit = None  # test hook, called inside a write before its commit
        self._reset_run_state()

    # A class-level call `CheckpointManager.restore(model, directory)` loads for
    # inference; `__init__` shadows it per instance with the `restore` option.
    restore = staticmethod(_restore_for_inference)

    def _reset_run_state(self):
        self._scores = {}
        self._step = 0
        self._epoch = None
        self._batch_seen = -1
        self._last_write_step = None
        self._pending_epoch_end = None
        self._save_at_epoch_end = False
        self._resume = None
        self._set_initial_epoch = False
        self._original_train_function = None
        self._metrics_to_restore = None
        self.restored_from = None

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
        scores = self._read_scores()
        ranked = self._ranked(scores)
        if not ranked:
            return None
        return os.path.join(self.directory, files.checkpoint_name(ranked[0]))

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
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # -------------------------------------------------------------- callbacks
    def on_train_begin(self, logs=None):
        self._wait_for_writer()
        self._reset_run_state()
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            raise ValueError(f"`directory` {self.directory!r} is an existing file, not a directory.")
        files.remove_leftovers(self.directory)
        self._scores = self._read_scores()
        model = self.model
        found = None
        if self.restore == "latest":
            found, corrupt = _newest_valid(self.directory)
            if found is None and corrupt:
                raise ValueError(
                    f"Every checkpoint in {self.directory!r} is corrupt; nothing to resume from. "
                    "Move them away to start fresh."
                )
            self._set_aside(corrupt)
        elif self.restore is not None:
            path = self.restore
            found = (path, *files.read_checkpoint(path))
        elif files.list_checkpoints(self.directory):
            raise ValueError(
                f"`directory` {self.directory!r} already holds checkpoints and restore=None: pass "
                "restore='latest' to continue from them, or use an empty directory."
            )
        if found is not None:
            self._restore_for_training(model, *found)
        self._step = self._global_step(model)

    def on_epoch_begin(self, epoch, logs=None):
        self._write_pending_epoch_end()
        self._epoch = epoch
        self._batch_seen = -1
        _set_data_epoch(epoch)
        resume = self._resume
        if resume is not None and epoch == resume["epoch"]:
            self._resume = None
            self._batch_seen = resume["batches"] - 1
            if self._metrics_fit(resume) or self._original_train_function is None:
                self._restore_metrics(resume)
            else:
                # TensorFlow fit builds compiled metrics when it traces its first
                # step; the fast-forward builds them on the first batch it draws.
                self._metrics_to_restore = resume

    def on_train_batch_end(self, batch, logs=None):
        if is_fast_forwarded(self._model, self._epoch, batch):
            self._batch_seen = batch
            return
        covered = batch - self._batch_seen
        self._batch_seen = batch
        before = self._step
        self._step += covered
        if self.save_freq == "epoch" or self._step // self.save_freq == before // self.save_freq:
            return
        steps = (self.params or {}).get("steps")
        if steps and batch + 1 >= steps:
            # The epoch ends here: save once on_epoch_end has run everywhere.
            self._save_at_epoch_end = True
            return
        self._save(epoch=self._epoch, step_in_epoch=batch + 1, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        score = None
        if self.monitor is not None:
            score = logs.get(self.monitor)
            if score is None:
                warnings.warn(
                    f"CheckpointManager: monitored metric {self.monitor!r} is not in the epoch logs "
                    f"(available: {', '.join(sorted(logs))}); this checkpoint gets no score.",
                    stacklevel=2,
                )
        if self.save_freq == "epoch" or self.monitor is not None or self._save_at_epoch_end:
            # Written at the next on_epoch_begin (or on_train_end), after every
            # callback has finished this epoch, so their state is complete.
            self._pending_epoch_end = {"epoch": epoch + 1, "score": score, "logs": dict(logs)}
        self._save_at_epoch_end = False
        self._end_fast_forward()

    def on_train_end(self, logs=None):
        try:
            if self._pending_epoch_end is not None:
                self._write_pending_epoch_end()
            elif (
                self.save_on_train_end
                and self._epoch is not None
                and self._step != self._last_write_step
            ):
                self._save(epoch=self._epoch + 1, step_in_epoch=0, logs=logs or {})
            self._wait_for_writer()
        finally:
            self._end_fast_forward()
            if self._set_initial_epoch:
                self._model._initial_epoch = None
                self._set_initial_epoch = False
            if self._epoch is not None:
                _set_data_epoch(None)

    # -------------------------------------------------------------- restore
    def _restore_for_training(self, model, path, arrays, state):
        _build_if_needed(model, state)
        training_state.ensure_optimizer_built(model)
        training_state.check_fits(path, state, model, ("model", "optimizer"))
        live = training_state.variable_groups(model, metrics=False)
        training_state.assign(live["model"], training_state.group_arrays(arrays, "model"))
        training_state.assign(live["optimizer"], training_state.group_arrays(arrays, "optimizer"))
        self._restore_callback_states(model, state.get("callbacks", {}))
        epoch, batches = int(state["epoch"]), int(state["step_in_epoch"])
        model._initial_epoch = epoch
        self._set_initial_epoch = True
        self._last_write_step = int(state["step"])
        self.restored_from = path
        if batches:
            saved_steps, steps = state.get("steps_per_epoch"), (self.params or {}).get("steps")
            if saved_steps and steps and saved_steps != steps:
                warnings.warn(
                    f"CheckpointManager: {path} was written with {saved_steps} batches per epoch, "
                    f"this run has {steps}; the resumed epoch continues at batch {batches} but "
                    "will not match an uninterrupted run.",
                    stacklevel=3,
                )
            self._resume = {
                "epoch": epoch,
                "batches": batches,
                "metrics": training_state.group_arrays(arrays, "metrics"),
                "metric_specs": state["variables"].get("metrics", []),
                "path": path,
            }
            if getattr(model, "_keras_ext_supports_initial_step", False):
                model._keras_ext_initial_step = batches
            else:
                self._start_fast_forward(model, epoch, batches, state.get("logs", {}))
        if self.verbose:
            print(f"CheckpointManager: restored {path} (epoch {epoch + 1}, batch {batches}, step {state['step']})")

    def _metrics_fit(self, resume):
        return not training_state.mismatches(resume["metric_specs"], list(self._model.metrics_variables))

    def _restore_metrics(self, resume):
        variables = list(self.model.metrics_variables)
        problems = training_state.mismatches(resume["metric_specs"], variables)
        if problems:
            warnings.warn(
                f"CheckpointManager: the metric variables of {resume['path']} do not fit this "
                f"model's metrics ({'; '.join(problems)}); the resumed epoch's metrics restart from "
                "zero (weights and optimizer state are restored exactly).",
                stacklevel=3,
            )
            return
        training_state.assign(variables, resume["metrics"])

    def _restore_callback_states(self, model, saved):
        live = _stateful.registered(model)
        for key, callback_state in saved.items():
            if key in live:
                live[key].set_state(callback_state)
            else:
                warnings.warn(
                    f"CheckpointManager: the checkpoint holds the state of a {key} callback, "
                    "but none is attached to this fit; its state is not restored.",
                    stacklevel=3,
                )

    def _set_aside(self, corrupt):
        """Rename corrupt checkpoints newer than the restored one, so new saves never collide with them."""
        for path in corrupt:
            target = f"{path}.corrupt"
            suffix = 1
            while os.path.exists(target):
                suffix += 1
                target = f"{path}.corrupt{suffix}"
            try:
                os.replace(path, target)
            except OSError:
                continue
            warnings.warn(f"CheckpointManager: moved corrupt checkpoint {path} to {target}.", stacklevel=3)

    # ---------------------------------------------------------- fast-forward
    def _start_fast_forward(self, model, epoch, batches, saved_logs):
        """Make fit's first `batches` train-function calls draw their batches and do nothing else."""
        original = model.train_function
        if original is None:
            model.make_train_function()
            original = model.train_function
        self._original_train_function = original
        object.__setattr__(model, FAST_FORWARD_ATTRIBUTE, {"epoch": epoch, "batches": batches})
        steps_per_execution = int(getattr(model, "steps_per_execution", 1) or 1)
        logs = {k: v for k, v in saved_logs.items() if isinstance(v, (int, float))}
        jax = keras.backend.backend() == "jax"
        remaining = [batches]

        def draw_batches_only(*args):
            remaining[0] -= steps_per_execution
            if remaining[0] <= 0:  # the next call trains again
                model.train_function = original
                self._original_train_function = None
            # TensorFlow calls train_function(iterator), JAX train_function(state, iterator);
            # other backends hand over a list of batches already drawn.
            data = args[1] if jax else args[0]
            if not isinstance(data, (list, tuple)):
                data = [next(data) for _ in range(steps_per_execution)]
            if self._metrics_to_restore is not None:
                self._build_metrics_and_restore(data[0])
            if jax:  # keep the state exactly as it is
                return dict(logs), args[0]
            return dict(logs)

        model.train_function = draw_batches_only

    def _build_metrics_and_restore(self, batch):
        resume, self._metrics_to_restore = self._metrics_to_restore, None
        model = self._model
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        # An inference pass (no dropout draw, no BatchNorm update) creates the
        # metric variables; their values are then overwritten by the saved ones.
        model.compute_metrics(x, y, model(x, training=False), sample_weight=sample_weight)
        self._restore_metrics(resume)

    def _end_fast_forward(self):
        model = self._model
        if model is None:
            return
        if self._original_train_function is not None:
            model.train_function = self._original_train_function
            self._original_train_function = None
        model.__dict__.pop(FAST_FORWARD_ATTRIBUTE, None)

    # ----------------------------------------------------------------- saving
    def _save(self, epoch, step_in_epoch, logs, score=None):
        model = self.model
        arrays, specs = training_state.snapshot(model)
        step = self._global_step(model)
        self._step = step
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
            "monitor": self.monitor,
            "score": _finite_or_none(score),
            "logs": {k: float(v) for k, v in (logs or {}).items() if _is_number(v)},
            "variables": specs,
            "callbacks": {
                key: callback.get_state() for key, callback in _stateful.registered(model).items()
            },
            "model_class": type(model).__name__,
            "optimizer_class": type(getattr(model, "optimizer", None)).__name__,
            "build_config": _jsonable(build_config),
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "time": time.time(),
        }
        self._last_write_step = step
        self._wait_for_writer()
        if self.async_write:
            self._writer = threading.Thread(
                target=self._write_in_background, args=(step, arrays, state),
                name=f"keras_ext-checkpoint-{step}",
            )
            self._writer.start()
        else:
            self._write(step, arrays, state)

    def _write_pending_epoch_end(self):
        pending, self._pending_epoch_end = self._pending_epoch_end, None
        if pending is not None:
            self._save(epoch=pending["epoch"], step_in_epoch=0, logs=pending["logs"], score=pending["score"])

    def _write_in_background(self, step, arrays, state):
        try:
            self._write(step, arrays, state)
        except BaseException as e:  # noqa: BLE001 - re-raised on the training thread
            self._writer_error = e

    def _write(self, step, arrays, state):
        payload = files.encode(arrays, state)
        path = files.write_checkpoint(self.directory, step, payload, before_commit=self._before_commit)
        with self._lock:
            self._scores[step] = state["score"]
        self._rotate()
        if self.verbose:
            print(f"CheckpointManager: saved {path}")

    def _wait_for_writer(self):
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.join()
        error, self._writer_error = self._writer_error, None
        if error is not None:
            raise RuntimeError(f"CheckpointManager: a background checkpoint write failed: {error!r}") from error

    def _rotate(self):
        existing = files.list_checkpoints(self.directory)
        steps = [step for step, _ in existing]
        keep = set(steps if self.max_to_keep is None else steps[-self.max_to_keep:])
        if self.monitor is not None:
            with self._lock:
                scores = {s: self._scores.get(s) for s in steps}
            keep.update(self._ranked(scores)[: self.keep_best])
        for step, path in existing:
            if step not in keep:
                files.delete_checkpoint(path)
                with self._lock:
                    self._scores.pop(step, None)

    def _ranked(self, scores):
        """Steps with a finite score, best first (ties: the older first)."""
        valid = [(score, step) for step, score in scores.items() if _finite_or_none(score) is not None]
        sign = -1.0 if self._direction == "max" else 1.0
        return [step for score, step in sorted(valid, key=lambda item: (sign * item[0], item[1]))]

    def _read_scores(self):
        import json

        scores = {}
        for step, path in files.list_checkpoints(self.directory):
            try:
                with open(os.path.join(path, files.STATE_JSON)) as f:
                    state = json.load(f)
            except (OSError, ValueError):
                continue
            if state.get("monitor") == self.monitor:
                scores[step] = state.get("score")
        return scores

    @staticmethod
    def _global_step(model):
        optimizer = getattr(model, "optimizer", None)
        if optimizer is None:
            return 0
        return int(keras.ops.convert_to_numpy(optimizer.iterations))


def _direction(monitor, mode):
    if mode != "auto" or monitor is None:
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    return "max" if any(word in name for word in _HIGHER_IS_BETTER) else "min"


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


def _set_data_epoch(epoch):
    """Tell keras_ext's shuffled tf.data pipelines which epoch is next (if they are in use)."""
    pipeline = sys.modules.get("keras_ext.data.pipeline")
    if pipeline is not None:
        pipeline.set_epoch(epoch)
