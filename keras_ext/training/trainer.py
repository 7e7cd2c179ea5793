"""`Trainer`: the original TF2 example's custom training loop with `model.fit`'s interface."""

import keras
import numpy as np

from keras_ext import _keras_internals
from keras_ext import _progress as progress
from keras_ext._validation import check_positive_int
from keras_ext.training.batches import BatchSource
from keras_ext.training.batches import unpack
from keras_ext.training.batches import validation_split_arrays
from keras_ext.training.targets import check_targets

MODES = ("eager", "graph", "xla")


class Trainer:
    """A custom training loop you can read and change, with `fit`'s interface and callbacks.

    On TensorFlow each step is the original TF2 example's loop: a forward pass under
    `tf.GradientTape`, loss plus `model.losses` (weight decay), gradients
    applied by the optimizer, metrics updated; run plainly (`mode="eager"`),
    in a `tf.function` (`"graph"`, the original example's way) or XLA-compiled
    (`"xla"`). Under a `tf.distribute` strategy scope the step runs per
    replica with `strategy.run`, the loss scaled by the global batch and
    the metrics reduced across replicas. On JAX the step is a jit-compiled
    stateless function (`stateless_call`, `jax.value_and_grad`, donated
    state), so the Trainer runs where only JAX is installed; `"eager"`
    there skips `jax.jit`. Under a `keras.distribution.DataParallel` (one
    process) each batch is split over the devices as `fit` splits it.

    Any Keras callback works as in `fit` (History, progress bar,
    EarlyStopping, ModelCheckpoint, TensorBoard, CSVLogger, TerminateOnNaN,
    `model.stop_training`), and so do keras_ext's. The model is compiled
    with the given optimizer, loss and metrics, so `model.evaluate`,
    `model.save` and callbacks see the same objects.

    Resuming: each `fit` owns a `TrainingProgress` (the model's one handle
    `model._keras_ext_progress`, cleared however `fit` ends) through which a
    callback such as keras_ext's CheckpointManager says where to continue:
    after `on_train_begin` the Trainer starts at its `initial_epoch` and
    skips its `initial_step` batches of that epoch without training on
    them, so a mid-epoch checkpoint resumes exactly. Keras's
    BackupAndRestore (which sets `model._initial_epoch`) works too.

    Args:
        model: a `keras.Model`.
        optimizer: optimizer instance or name (default `"rmsprop"`).
        loss: loss instance, function or name (required).
        metrics: list of metrics, as for `model.compile`.
        mode: `"eager"`, `"graph"` (default) or `"xla"`.
        steps_per_execution: training steps per execution, as in
            `model.compile` (default 1). Batch callbacks then run once per
            execution, numbered by its first and last step, as in `fit`. On
            TensorFlow an execution is one call of the compiled function:
            tf.data batches are pulled inside it, arrays and a PyDataset's
            batches are stacked and looped over inside it. On JAX, as in
            Keras's JAX `fit`, the jitted step is called once per batch.

    Example:

    >>> import numpy as np, keras, keras_ext
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    >>> trainer = keras_ext.training.Trainer(
    ...     model, optimizer="sgd",
    ...     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    ...     metrics=["accuracy"])
    >>> history = trainer.fit(np.ones((8, 4)), np.zeros(8), batch_size=4, epochs=2, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss']
    """

    def __init__(
        self, model, optimizer="rmsprop", loss=None, metrics=None, mode="graph", steps_per_execution=1
    ):
        if not isinstance(model, keras.Model):
            raise ValueError(f"`model` must be a keras.Model, got model={model!r}.")
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {list(MODES)}, got mode={mode!r}.")
        if loss is None:
            raise ValueError("`loss` is required: pass a loss instance, function or name, got loss=None.")
        self.model = model
        self.mode = mode
        self.steps_per_execution = check_positive_int("steps_per_execution", steps_per_execution)
        self.backend = keras.backend.backend()
        # The one place the backend is looked at: everything backend-specific is a
        # method of the steps (TensorFlowSteps, JaxSteps), as Keras has a trainer per backend.
        self._step_class = _step_class(self.backend)
        self.strategy = self._strategy_in_scope()
        with self._scope():
            # The Trainer runs its own steps; this compile gives the model the same
            # optimizer, loss and metrics for callbacks, evaluate and save.
            model.compile(
                optimizer=optimizer, loss=loss, metrics=metrics, steps_per_execution=self.steps_per_execution
            )
        self.optimizer = model.optimizer
        self.loss_tracker = model.metrics[0]
        if self.loss_tracker.name != "loss":
            raise RuntimeError(
                "Unexpected Keras internals: the first compiled metric is not the loss tracker."
            )
        self._steps = None  # TensorFlowSteps or JaxSteps, made on the first batch

    # ------------------------------------------------------------------ public
    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
        seed=None,
    ):
        """Train for `epochs` epochs; return the `keras.callbacks.History`, like `model.fit`.

        `x` is a NumPy array (with `y`, optional `sample_weight`,
        `batch_size`), a tf.data Dataset or a `keras.utils.PyDataset` of
        `(x, y)` or `(x, y, sample_weight)`. With `shuffle`, arrays (and a
        PyDataset's batches) take an order fixed by `(seed, epoch)`, so a run
        resumed at epoch e in a new process sees epoch e's batches; a
        tf.data Dataset shuffles itself. `steps_per_epoch` caps the batches
        of each epoch. As in `fit`, `validation_split` (arrays only) holds
        out the last fraction of the samples, taken before shuffling, unless
        `validation_data` is given; `class_weight` maps class indices to
        sample weights of the training data (not the validation data).
        """
        epochs = check_positive_int("epochs", epochs)
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = validation_split_arrays(
                x, y, sample_weight, validation_split
            )
        source = BatchSource(
            x, y, sample_weight, batch_size, shuffle, where="x", seed=seed, class_weight=class_weight
        )
        val_source = self._validation_source(validation_data, validation_batch_size or batch_size)
        steps = (
            source.num_batches
            if steps_per_epoch is None
            else check_positive_int("steps_per_epoch", steps_per_epoch)
        )
        if steps_per_epoch is not None and source.num_batches is not None:
            steps = min(steps, source.num_batches)
        verbose = 1 if verbose == "auto" else verbose
        model = self.model
        # Before the callbacks see the model, so those taking part in checkpoints
        # (set_model registers them) find this fit's state.
        loop_state = progress.of(model, create=True)
        loop_state.clear()
        loop_state.skips_batches = True
        # Arrays need nothing: the Trainer orders them by (seed, epoch) itself.
        loop_state.add_pipelines([] if source.kind == "arrays" else [source.pipeline])
        callback_list = keras.callbacks.CallbackList(
            callbacks,
            add_history=True,
            add_progbar=verbose != 0,
            verbose=verbose,
            epochs=epochs,
            steps=steps,
            model=model,
        )
        model.stop_training = False
        try:
            with self._scope():
                self._fit_epochs(
                    source,
                    val_source,
                    steps,
                    validation_steps,
                    validation_freq,
                    initial_epoch,
                    epochs,
                    callback_list,
                    loop_state,
                )
        finally:
            # However fit ends (an exception, KeyboardInterrupt): the progress record
            # leaves the model (the next fit makes its own), and on JAX the variables
            # get the step's arrays back (the ones they held were donated to it).
            loop_state.clear()
            progress.detach(model)
            if self._steps is not None:
                self._steps.end_fit()
        return model.history

    def _fit_epochs(
        self,
        source,
        val_source,
        steps,
        validation_steps,
        validation_freq,
        initial_epoch,
        epochs,
        callback_list,
        loop_state,
    ):
        model = self.model
        # As fit does: model, optimizer and compiled metrics exist before any
        # callback runs, so a checkpoint can be restored into all of them.
        example = source.example_batch()
        if example is not None:
            self._ensure_built(*example)
        callback_list.on_train_begin()
        if loop_state.initial_epoch is not None:
            first_epoch, skip = loop_state.initial_epoch, loop_state.initial_step
        else:  # Keras's BackupAndRestore resumes through fit's private attribute
            first_epoch, skip = _keras_internals.initial_epoch(model) or initial_epoch, 0
        epoch_logs = None
        for epoch in range(first_epoch, epochs):
            model.reset_metrics()
            source.set_epoch(epoch)
            loop_state.begin_epoch(epoch)
            callback_list.on_epoch_begin(epoch)
            self._run_train_epoch(source, steps, callback_list, skip)
            skip = 0
            epoch_logs = self._logs_to_floats(model.get_metrics_result())
            if val_source is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_source(val_source, validation_steps, callback_list)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if model.stop_training:
                break
        callback_list.on_train_end(logs=epoch_logs)

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
    ):
        """Compute the loss and metrics on data; like `model.evaluate`."""
        source = BatchSource(x, y, sample_weight, batch_size, shuffle=False, where="x")
        verbose = 1 if verbose == "auto" else verbose
        callback_list = keras.callbacks.CallbackList(
            callbacks,
            add_progbar=verbose != 0,
            verbose=verbose,
            epochs=1,
            steps=steps or source.num_batches,
            model=self.model,
        )
        with self._scope():
            logs = self._evaluate_source(source, steps, callback_list)
        return logs if return_dict else list(logs.values())

    def predict(self, x, batch_size=None, steps=None):
        """Return the model's outputs (training=False) for `x`, concatenated over batches."""
        source = BatchSource(x, batch_size=batch_size, need_y=False, where="x")
        outputs = []
        with self._scope():
            for index, (batch_x, _, _) in enumerate(source.epoch_batches()):
                if steps is not None and index >= steps:
                    break
                self._ensure_built(batch_x, None, None)
                outputs.append(keras.ops.convert_to_numpy(self._steps.predict(batch_x)))
        if not outputs:
            raise ValueError("`x` yielded no batches to predict on.")
        return np.concatenate(outputs, axis=0)

    # --------------------------------------------------------------- epochs
    def _run_train_epoch(self, source, steps, callback_list, skip):
        model = self.model
        if self._steps is not None:
            self._steps.begin_epoch()
        # Keras converts every batch's logs to Python numbers before calling batch
        # hooks, which waits for the step to finish; skip that when no callback listens.
        batch_hooks = _has_batch_hooks(callback_list, "train")
        trained = 0
        for begin, end, execute in self._executions(source, steps, skip):
            # As in `fit`: one begin/end pair of batch hooks per execution, numbered
            # by its first and last step.
            if batch_hooks:
                callback_list.on_train_batch_begin(begin)
            count, logs = execute(batch_hooks)
            if count == 0:
                break  # a dataset of unknown length ran out at the start of an execution
            trained += count
            if batch_hooks:
                callback_list.on_train_batch_end(end, logs)
            if model.stop_training:
                break
        if trained == 0 and skip == 0:
            raise ValueError("The training data yielded no batches: check `x` and `steps_per_epoch`.")
        if self._steps is not None:
            self._steps.end_epoch()

    def _evaluate_source(self, source, steps, callback_list):
        model = self.model
        model.reset_metrics()
        callback_list.on_test_begin()
        batch_hooks = _has_batch_hooks(callback_list, "test")
        for step, batch in enumerate(self._batches(source)):
            if steps is not None and step >= steps:
                break
            if batch_hooks:
                callback_list.on_test_batch_begin(step)
            self._ensure_built(*batch)
            if step == 0:
                self._steps.begin_test()
            logs = self._steps.test(*batch)
            if batch_hooks:
                callback_list.on_test_batch_end(step, logs)
        if self._steps is not None:
            self._steps.end_test()
        logs = self._logs_to_floats(model.get_metrics_result())
        callback_list.on_test_end(logs)
        return logs

    # ---------------------------------------------------------------- steps
    @property
    def _distributed(self):
        """Whether batches are split over several replicas of a tf.distribute strategy."""
        return self.strategy is not None and self.strategy.num_replicas_in_sync > 1

    def _batches(self, source):
        if self._distributed:
            from keras_ext.training.distributed import distributed_batches

            return distributed_batches(self.strategy, source)
        return source.epoch_batches()

    def _executions(self, source, steps, skip):
        """Yield (first step, last step, execute) per execution of `steps_per_execution` steps;
        `execute(need_logs)` trains and returns (steps trained, logs).

        The last step is numbered `first + steps_per_execution - 1` even when
        fewer batches were left, as `fit` numbers it for its batch callbacks.
        """
        spe = self.steps_per_execution
        if spe == 1:
            for step, batch in enumerate(self._batches(source)):
                if steps is not None and step >= steps:
                    break
                if step < skip:
                    continue  # already trained before the checkpoint this run resumed from
                yield (
                    step,
                    step,
                    lambda need_logs, batch=batch: (1, self._train_batch(*batch, need_logs=need_logs)),
                )
        elif self._step_class.pulls_from_iterator and (source.kind == "dataset" or self._distributed):
            yield from self._iterator_executions(source, steps, skip)
        else:
            for begin, runs in source.epoch_runs(spe, skip, steps):
                yield (
                    begin,
                    begin + spe - 1,
                    lambda need_logs, runs=runs: self._train_chunk(runs, need_logs),
                )

    def _iterator_executions(self, source, steps, skip):
        """Executions that pull their batches from a tf.data iterator inside the compiled function."""
        if self._distributed:
            from keras_ext.training.distributed import distributed_dataset

            iterator = iter(distributed_dataset(self.strategy, source))
        else:
            iterator = iter(source.data)
        step = 0
        for _ in range(skip):  # already trained before the checkpoint this run resumed from
            if iterator.get_next_as_optional().has_value():
                step += 1
        if self._steps is None or self._retrace_requested():
            # The first batch (or one after a callback asked for new steps) builds
            # the steps; it trains as a one-step execution.
            element = iterator.get_next_as_optional()
            if not element.has_value():
                return
            batch = unpack(element.get_value(), source.where)
            yield step, step, lambda need_logs: (1, self._train_batch(*batch, need_logs=need_logs))
            step += 1
        trained = [0]

        def execute(need_logs, count):
            trained[0], logs = self._steps.train_from_iterator(iterator, count, need_logs)
            return trained[0], logs

        while steps is None or step < steps:
            count = self.steps_per_execution if steps is None else min(self.steps_per_execution, steps - step)
            yield (
                step,
                step + self.steps_per_execution - 1,
                lambda need_logs, count=count: execute(need_logs, count),
            )
            # The execution has run when control comes back here.
            step += trained[0]
            if trained[0] < count:
                return  # the dataset ran out

    def _train_chunk(self, runs, need_logs):
        """Train on one execution's runs of same-shaped batches (`BatchRun`s); return (count, logs).

        A run of several batches is trained in one compiled call on its stack,
        where the steps stack batches (JaxSteps.stacks_batches says when); a
        batch of another shape (the uneven last one) gets a call of its own.
        """
        logs = None
        for run in runs:
            self._prepare_steps(*run.first())
            if len(run) == 1 or not self._steps.stacks_batches:
                for batch in run:
                    logs = self._train_batch(*batch, need_logs=need_logs)
                continue
            logs = self._steps.train_stacked(run.stacked(), need_logs)
        return sum(len(run) for run in runs), logs

    def _ensure_built(self, x, y, sample_weight):
        """Build model, optimizer, loss and metrics on the first batch's shapes, then make the steps."""
        if self._steps is not None:
            return
        model = self.model
        if self._distributed:
            x, y, sample_weight = (
                None if v is None else self.strategy.experimental_local_results(v)[0]
                for v in (x, y, sample_weight)
            )
        # Symbolically, as `fit` does: a model whose call has side effects must
        # not run once more than it trains.
        check_targets(x, y, _keras_internals.output_spec(model, x))
        if y is not None:
            _keras_internals.symbolic_build(model, x, y, sample_weight)
        self.optimizer.build(model.trainable_variables)
        self._steps = self._step_class(model, self.loss_tracker, self.mode)

    def _train_batch(self, x, y, sample_weight, need_logs=True):
        self._prepare_steps(x, y, sample_weight)
        return self._steps.train(x, y, sample_weight, need_logs)

    def _prepare_steps(self, x, y, sample_weight):
        """Build the steps on the first batch, and again when a callback asks for it."""
        self._ensure_built(x, y, sample_weight)
        if self._retrace_requested():
            # A callback changed a value the compiled step holds as a constant
            # (keras_ext's ReduceLROnPlateau on JAX): compile the steps again.
            progress.of(self.model).retrace = False
            self._steps = None
            self._ensure_built(x, y, sample_weight)

    def _retrace_requested(self):
        loop_state = progress.of(self.model)
        return loop_state is not None and loop_state.retrace

    # -------------------------------------------------------------- helpers
    def _validation_source(self, validation_data, batch_size):
        if validation_data is None:
            return None
        if isinstance(validation_data, (tuple, list)):
            vx, vy, vsw = unpack(validation_data, "validation_data")
            return BatchSource(vx, vy, vsw, batch_size, where="validation_data")
        return BatchSource(validation_data, batch_size=batch_size, where="validation_data")

    @staticmethod
    def _strategy_in_scope():
        if keras.backend.backend() != "tensorflow":
            return None
        import tensorflow as tf

        return tf.distribute.get_strategy() if tf.distribute.has_strategy() else None

    def _scope(self):
        if self.strategy is None:
            import contextlib

            return contextlib.nullcontext()
        return self.strategy.scope()

    @staticmethod
    def _logs_to_floats(logs):
        """Logs as `fit` gives them to callbacks: floats, or NumPy arrays for vector metrics
        (such as `F1Score(average=None)`, logged per class); dict results are flattened."""
        return _pythonify(logs)


def _has_batch_hooks(callback_list, kind):
    """Whether any callback overrides a per-batch hook of `kind` ("train" or "test")."""
    names = (f"on_{kind}_batch_begin", f"on_{kind}_batch_end")
    if kind == "train":
        names += ("on_batch_begin", "on_batch_end")
    return any(
        _keras_internals.overrides_hook(callback, name)
        for callback in callback_list.callbacks
        for name in names
    )


def _pythonify(logs):
    result = {}
    for key, value in sorted(logs.items()):
        if isinstance(value, dict):
            result.update(_pythonify(value))
            continue
        value = keras.ops.convert_to_numpy(value)
        # As Keras does: one number becomes a float, anything longer stays an array.
        result[key] = float(value.reshape(())) if np.size(value) == 1 else value
    return result


def _step_class(backend):
    if backend == "jax":
        from keras_ext.training.jax_steps import JaxSteps

        return JaxSteps
    if backend == "tensorflow":
        from keras_ext.training.tf_steps import TensorFlowSteps

        return TensorFlowSteps
    raise ValueError(f"Trainer supports the tensorflow and jax backends, not {backend!r}.")
