"""`JaxSteps`: the Trainer's steps on JAX: jit-compiled, stateless, with donated state.

The model's variables are handed to the step as arrays and the updated
arrays come back (`stateless_call`, `jax.value_and_grad`,
`optimizer.stateless_apply`), as Keras's own JAX `fit` does. The state
buffers are donated, so XLA updates them in place instead of copying.
Between steps the state lives here, not in the variables; Keras gets it
back after every step (`publish_state`) and the variables at the end of an
epoch.
"""

import jax
import keras
import numpy as np

from keras_ext import _keras_internals


def model_state(model, with_optimizer=True):
    """The model's current state as tuples of arrays, in the order the steps expect."""
    state = [
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
    ]
    if with_optimizer:
        state.append([v.value for v in model.optimizer.variables])
    state.append([v.value for v in model.metrics_variables])
    return tuple(state)


def publish_state(model, state):
    """Hand the latest arrays to Keras, which assigns them on the next `jax_state_sync()`.

    Keras callbacks call `jax_state_sync()` whenever they read `self.model`,
    so a checkpoint written mid-epoch sees the current weights.
    """
    trainable, non_trainable, optimizer_vars, metric_vars = state
    _keras_internals.publish_jax_state(model, trainable, non_trainable, optimizer_vars, metric_vars)


def _update_metrics(model, loss_tracker, metric_vars, loss, x, y, y_pred, sample_weight):
    mapping = list(zip(model.metrics_variables, metric_vars, strict=True))
    with keras.StatelessScope(state_mapping=mapping) as scope:
        loss_tracker.update_state(loss, sample_weight=jax.tree_util.tree_leaves(x)[0].shape[0])
        logs = model.compute_metrics(x, y, y_pred, sample_weight)
    new_vars = []
    for ref, old in zip(model.metrics_variables, metric_vars, strict=True):
        new = scope.get_current_value(ref)
        new_vars.append(old if new is None else new)
    return logs, new_vars


class JaxSteps:
    """The Trainer's train, test and predict steps on JAX, each a named method on NumPy batches.

    With `steps_per_execution=N` one execution's same-shaped batches are
    stacked along a new first axis and trained by one compiled program, a
    `jax.lax.scan` of the one-batch step over the stack (`train_stacked`):
    one dispatch for N steps, where a step's own work is small next to the
    cost of launching it. The step is the same function, so dropout seeds,
    BatchNormalization statistics, sample and class weights and the metrics
    go through the scan exactly as through N calls. The uneven last batch
    runs alone (`Trainer._train_chunk`). Under a `keras.distribution` each
    stack is split over the devices along its batch axis, as a batch is. In
    eager mode each batch keeps a call of its own.

    On a CPU, a model with a convolution keeps a call per batch too: XLA's
    CPU backend runs a convolution inside a compiled loop at a fifth to a
    seventh of its speed (SimpleCNN at batch 32: 135 to 152 steps/s one call
    per batch, 20 as one hand-written `lax.scan`; benchmarks/RESULTS.md), so
    there one call per batch is the faster program (`fuses`).
    """

    # There is no iterator to pull from inside a program.
    pulls_from_iterator = False

    def __init__(self, model, loss_tracker, mode="graph"):
        """`mode="eager"` runs the steps without `jax.jit`; "graph" and "xla" jit them."""
        self.model = model
        self._fused = mode != "eager" and fuses(model)
        train, test, predict = _step_functions(model, loss_tracker)
        chunk = _scanned(train)
        if mode != "eager":
            train, test = jax.jit(train, donate_argnums=0), jax.jit(test, donate_argnums=0)
            predict, chunk = jax.jit(predict), jax.jit(chunk, donate_argnums=0)
        self._train, self._test, self._predict, self._chunk = train, test, predict, chunk
        self._state = model_state(model)
        self._test_state = None

    # ------------------------------------------------------------ training
    def begin_epoch(self):
        """Take the variables' values (a callback may have assigned some between epochs)."""
        self._state = model_state(self.model)

    def train(self, x, y, sample_weight, need_logs=True):
        """Train on one batch; return its logs (JAX computes them anyway)."""
        logs, self._state = self._train(self._state, *_batch(x, y, sample_weight))
        publish_state(self.model, self._state)
        return logs

    @property
    def stacks_batches(self):
        """Whether the Trainer hands one execution's same-shaped batches to `train_stacked`;
        otherwise it trains them one `train` call each.

        Not in eager mode (step by step by definition), and not for a model with
        a convolution on a CPU (faster so, see above).
        """
        return self._fused

    def train_stacked(self, stacked, need_logs=True):
        """Train on (xs, ys, sample weights), same-shaped batches stacked along a new first axis,
        in one compiled `lax.scan`; return the last step's logs."""
        stacked = _distribute_stack(stacked)
        logs, self._state = self._chunk(self._state, *stacked)
        publish_state(self.model, self._state)
        return logs

    def end_epoch(self):
        self.model.jax_state_sync()

    def end_fit(self):
        """However fit ends: the variables get the step's arrays back (theirs were donated)."""
        _keras_internals.sync_jax_state(self.model)

    # ------------------------------------------------------------ evaluation
    def begin_test(self):
        self._test_state = None

    def test(self, x, y, sample_weight):
        if self._test_state is None:
            self._test_state = model_state(self.model, with_optimizer=False)
        logs, state = self._test(self._test_state, *_batch(x, y, sample_weight))
        self._test_state = state
        # Callbacks that read the model mid-evaluation get these arrays (the
        # ones they held before were donated to the step).
        publish_state(self.model, (state[0], state[1], None, state[2]))
        return logs

    def end_test(self):
        state, self._test_state = self._test_state, None
        if state is None:
            return
        model = self.model
        for variables, values in zip(
            (model.trainable_variables, model.non_trainable_variables, model.metrics_variables),
            state,
            strict=True,
        ):
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)
        _keras_internals.mark_jax_state_synced(model)

    def predict(self, x):
        model = self.model
        state = (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
        )
        return self._predict(state, _to_numpy(x))


# The layers XLA's CPU backend runs slower inside a compiled loop than in a program of their own.
_CONVOLUTIONS = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
)


def fuses(model):
    """Whether the steps of one execution run as one `lax.scan` for `model` (see JaxSteps)."""
    if jax.default_backend() != "cpu":
        return True  # a GPU or TPU: every step a launch, which fusing saves
    return not any(isinstance(layer, _CONVOLUTIONS) for layer in _keras_internals.all_layers(model))


def _to_numpy(value):
    return None if value is None else np.asarray(value)


def _distribute_stack(stacked):
    """Under a `keras.distribution`, place each stack as its batches are placed, split over the
    devices along the batch axis, which in a stack is the second (its first is the step)."""
    distribution = keras.distribution.distribution()
    if distribution is None:
        return stacked

    def place(array):
        array = np.asarray(array)
        layout = distribution.get_data_layout(array.shape[1:])
        stack_layout = keras.distribution.TensorLayout((None, *layout.axes), layout.device_mesh)
        # This process's batches; across processes they make the global stack, as in `fit`.
        return jax.make_array_from_process_local_data(stack_layout.backend_layout, array)

    return tuple(None if part is None else keras.tree.map_structure(place, part) for part in stacked)


def _scanned(train_step):
    """`train_step` over a stack of batches as one `lax.scan`: (last step's logs, state)."""

    def chunk(state, xs, ys, sample_weights):
        def body(state, batch):
            logs, state = train_step(state, *batch)
            return state, logs

        state, logs = jax.lax.scan(body, state, (xs, ys, sample_weights))
        return jax.tree_util.tree_map(lambda per_step: per_step[-1], logs), state

    return chunk


def _batch(x, y, sample_weight):
    """A batch for the steps: NumPy arrays, split over the devices under a `keras.distribution`
    (`DataParallel`), as Keras's JAX `fit` places them."""
    batch = (_to_numpy(x), _to_numpy(y), _to_numpy(sample_weight))
    if keras.distribution.distribution() is None:
        return batch
    return _keras_internals.jax_distribute_batch(batch)


def _step_functions(model, loss_tracker):
    """The (train, test, predict) functions on explicit state, not yet jitted."""
    optimizer = model.optimizer
    compute_loss_and_updates = _keras_internals.jax_compute_loss_and_updates(model)
    grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)

    def train_step(state, x, y, sample_weight):
        trainable, non_trainable, optimizer_vars, metric_vars = state
        (_, aux), grads = grad_fn(
            trainable,
            non_trainable,
            metric_vars,
            x,
            y,
            sample_weight,
            training=True,
            optimizer_variables=optimizer_vars,
        )
        loss, y_pred, non_trainable, metric_vars = aux
        if trainable:  # a model without trainable weights has nothing to optimise, as in `fit`
            trainable, optimizer_vars = optimizer.stateless_apply(optimizer_vars, grads, trainable)
        logs, metric_vars = _update_metrics(
            model, loss_tracker, metric_vars, loss, x, y, y_pred, sample_weight
        )
        return logs, (trainable, non_trainable, optimizer_vars, metric_vars)

    def test_step(state, x, y, sample_weight):
        trainable, non_trainable, metric_vars = state
        _, aux = compute_loss_and_updates(
            trainable, non_trainable, metric_vars, x, y, sample_weight, training=False
        )
        loss, y_pred, non_trainable, metric_vars = aux
        logs, metric_vars = _update_metrics(
            model, loss_tracker, metric_vars, loss, x, y, y_pred, sample_weight
        )
        return logs, (trainable, non_trainable, metric_vars)

    def predict_step(state, x):
        trainable, non_trainable = state
        y_pred, _ = model.stateless_call(trainable, non_trainable, x, training=False)
        return y_pred

    return train_step, test_step, predict_step
