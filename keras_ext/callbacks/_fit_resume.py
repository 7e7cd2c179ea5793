"""How a training loop resumes from a restored checkpoint, and how everything set for it is undone.

An epoch-end checkpoint resumes at the next epoch. A checkpoint taken after
batch `k` of epoch `e` resumes at batch `k`:

* A loop that skips batches itself (the keras_ext Trainer: its TrainingProgress
  has `skips_batches`) reads `initial_epoch` / `initial_step` from the
  TrainingProgress it passed in.
* Keras `fit` has no "initial step". It reads `model._initial_epoch` after
  `on_train_begin` (set through `_keras_internals`, as BackupAndRestore
  does); for the first `k` batches of that epoch `model.train_function` is a
  stand-in that only draws the batch (no forward pass, no update) and
  returns the checkpoint's logs. The stand-in works only for a call armed by
  `on_train_batch_begin` of a batch it covers: called any other way (a later
  `fit` after this one ended by an exception) it puts the real function
  back and trains.

A resumed `fit` is checked against the checkpoint before the first batch it
trains, and each call of the stand-in before its batch end
(`_resume_guard.ResumeGuard`: the global step, the epoch, the batch within
it, the batches drawn, the data passes); a disagreement stops it with
`ResumePositionError` before anything is trained or saved.

Nothing outlives the fit: `model._initial_epoch` is cleared as soon as the
first epoch begins (fit has read it by then), the real train function is back
after the last covered batch, and `end()` (from `on_train_end`) undoes
whatever is left. Keras calls no hook when `fit` ends by an exception; the
only thing that can then remain is the stand-in (an exception during the
covered batches), and its first call, unarmed, removes it and trains.
"""

import warnings

import keras

from keras_ext import _keras_internals as internals
from keras_ext.callbacks._resume_guard import ResumeGuard
from keras_ext.checkpoint import _training_state as training_state


class FitResume:
    """One restored checkpoint being applied to one `fit` of `model`."""

    def __init__(self, model, loop_state):
        self.model = model
        self.loop_state = loop_state
        self._pending = None
        self._original_train_function = None
        self._armed = False
        self._metrics_to_restore = None
        self._initial_epoch_set = False
        self._guard = None
        self._drawn = 0
        self._armed_at = None
        self._history_to_fill = None

    def start(self, path, arrays, state, steps):
        """Tell the loop where to continue (the variables are already restored)."""
        epoch, batches = state["epoch"], state["step_in_epoch"]
        loop = self.loop_state
        loop.initial_epoch, loop.initial_step, loop.restored_from = epoch, batches, path
        loop.restore_pipelines(state.get("data"), epoch_finished=not batches, source=path)
        loop.restore_history(state.get("history"))
        self._history_to_fill = list(loop.finished_epochs)
        if not loop.data_declared:
            warnings.warn(
                f"CheckpointManager: resumed from {path}, but fit's training data was not given "
                "as `data=`: unless its order is the same in every pass, the batch order from "
                "here on differs from an uninterrupted run's. Pass the pipeline as "
                "CheckpointManager(..., data=pipeline), or data=[] for arrays with "
                "fit(shuffle=False) or an unshuffled dataset.",
                stacklevel=4,
            )
        if not loop.skips_batches:
            internals.set_initial_epoch(self.model, epoch)
            self._initial_epoch_set = True
            self._guard = ResumeGuard(path, state, loop.pipelines)
            self._drawn = 0
        if not batches:
            return
        saved_steps = state.get("steps_per_epoch")
        if saved_steps and steps and saved_steps != steps:
            warnings.warn(
                f"CheckpointManager: {path} was written with {saved_steps} batches per epoch, "
                f"this run has {steps}; the resumed epoch continues at batch {batches} but "
                "will not match an uninterrupted run.",
                stacklevel=4,
            )
        self._pending = {
            "epoch": epoch,
            "batches": batches,
            # A checkpoint written after validation ran (a run stopped mid-epoch) holds
            # the validation's metric sums, not the training ones: those restart.
            "metrics": training_state.group_arrays(arrays, "metrics")
            if state.get("metrics_exact", True)
            else None,
            "metric_specs": state["variables"].get("metrics", []),
            "path": path,
        }
        if not loop.skips_batches:
            self._start_fast_forward(epoch, batches, state.get("logs", {}))

    def epoch_begin(self, epoch):
        """Return how many batches of `epoch` are already trained (0 unless it is the resumed one)."""
        if self._initial_epoch_set:
            internals.clear_initial_epoch(self.model)  # fit read it before this epoch began
            self._initial_epoch_set = False
        # Every loop has read where to start by now.
        self.loop_state.initial_epoch, self.loop_state.initial_step = None, 0
        if not self.loop_state.skips_batches:
            self.loop_state.begin_epoch(epoch)  # the Trainer tells its pipelines itself
        resume = self._pending
        if resume is None or epoch != resume["epoch"]:
            return 0
        self._pending = None
        if resume["metrics"] is not None:
            if self._metrics_fit(resume) or self._original_train_function is None:
                self._restore_metrics(resume)
            else:
                # TensorFlow fit builds compiled metrics when it traces its first
                # step; the fast-forward builds them on the first batch it draws.
                self._metrics_to_restore = resume
        return resume["batches"]

    def batch_begin(self, epoch, batch):
        if self._original_train_function is not None and self.loop_state.is_fast_forwarded(epoch, batch):
            self._armed = True
            self._armed_at = (epoch, batch)  # where fit numbers the call's first batch
        elif self._guard is not None:  # the first batch fit trains after the restore
            guard, self._guard = self._guard, None
            try:
                guard.check(self.model, epoch, batch, self._drawn)
            except Exception:
                self.end()  # no on_train_end follows
                raise

    def epoch_end(self):
        self._end_fast_forward()

    def end(self):
        self._fill_history()
        self._end_fast_forward()
        if self._initial_epoch_set:
            internals.clear_initial_epoch(self.model)
            self._initial_epoch_set = False
        self._pending = None
        self._guard = None

    # --------------------------------------------------------------- history
    def _fill_history(self):
        """Put the restored epochs in front of the History this fit returns (at its end).

        Keras's History empties its `epoch` at `on_train_begin`, which runs
        after this callback's, so this waits for the end of the fit, when
        every name this fit logs is known. Names logged in only some epochs
        get NaN in the others, so every list stays as long as `epoch`.
        """
        restored, self._history_to_fill = self._history_to_fill, None
        history = getattr(self.model, "history", None)
        if not restored or not isinstance(history, keras.callbacks.History):
            return
        trained = list(getattr(history, "epoch", []))
        names = list(dict.fromkeys([k for _, logs in restored for k in logs] + list(history.history)))
        nan = float("nan")
        for name in names:
            before = [logs.get(name, nan) for _, logs in restored]
            history.history[name] = before + history.history.get(name, [nan] * len(trained))
        history.epoch = [epoch for epoch, _ in restored] + trained

    # ---------------------------------------------------------- fast-forward
    def _start_fast_forward(self, epoch, batches, saved_logs):
        model = self.model
        original = model.train_function
        if original is None:
            model.make_train_function()
            original = model.train_function
        self._original_train_function = original
        self.loop_state.fast_forward = {"epoch": epoch, "batches": batches}
        logs = {k: v for k, v in saved_logs.items() if isinstance(v, (int, float))}
        draw = internals.draw_only_train_function(model, logs, self._on_drawn)

        def draw_or_train(*args):
            if not self._armed:  # not a batch this resume covers: train it
                self._end_fast_forward()
                return original(*args)
            self._armed = False
            epoch_now, first = self._armed_at
            result = draw(*args)
            done = self._drawn >= batches
            if done:  # the next call trains again
                model.train_function = original
                self._original_train_function = None
            if self._guard is not None:
                # Before this call's batch end, where a checkpoint could be written.
                try:
                    self._guard.check_draw(model, epoch_now, first, self._drawn, done)
                except Exception:
                    internals.hand_back_jax_state(model, args)  # fit's `finally` puts it back
                    self.end()  # no on_train_end follows
                    raise
            return result

        model.train_function = draw_or_train

    def _on_drawn(self, batch, count):
        """The stand-in drew `count` batches (one call's), the first of them `batch`."""
        self._drawn += count
        if self._metrics_to_restore is None:
            return
        resume, self._metrics_to_restore = self._metrics_to_restore, None
        model = self.model
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        # An inference pass (no dropout draw, no BatchNorm update) creates the
        # metric variables; their values are then overwritten by the saved ones.
        model.compute_metrics(x, y, model(x, training=False), sample_weight=sample_weight)
        self._restore_metrics(resume)

    def _end_fast_forward(self):
        if self._original_train_function is not None:
            self.model.train_function = self._original_train_function
            self._original_train_function = None
        self._armed = False
        self.loop_state.fast_forward = None

    # --------------------------------------------------------------- metrics
    def _metrics_fit(self, resume):
        return not training_state.mismatches(resume["metric_specs"], list(self.model.metrics_variables))

    def _restore_metrics(self, resume):
        variables = list(self.model.metrics_variables)
        pairs, problems = training_state.match(resume["metric_specs"], variables)
        if problems:
            warnings.warn(
                f"CheckpointManager: the metric variables of {resume['path']} do not fit this "
                f"model's metrics ({'; '.join(problems)}); the resumed epoch's metrics restart from "
                "zero (weights and optimizer state are restored exactly).",
                stacklevel=3,
            )
            return
        training_state.assign((variable, resume["metrics"][index]) for index, variable in pairs)
