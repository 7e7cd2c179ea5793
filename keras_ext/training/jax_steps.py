"""JAX train/test/predict steps of the Trainer: jit-compiled, stateless, with donated state.

The model's variables are handed to the step as arrays and the updated
arrays come back (`stateless_call`, `jax.value_and_grad`,
`optimizer.stateless_apply`), as Keras's own JAX `fit` does. The state
buffers are donated, so XLA updates them in place instead of copying.
"""

import collections

import jax
import keras

from keras_ext import _keras_internals

Steps = collections.namedtuple("Steps", ["train", "test", "predict"])


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


def make_steps(model, loss_tracker, jit=True):
    """Return the `Steps` (train, test, predict) on explicit state, jitted if `jit`.

    There is no multi-step function: with `steps_per_execution` the Trainer
    calls the jitted step once per batch, as Keras's JAX `fit` does. On CPU
    one XLA program of several steps ran slower than the same steps called
    one by one (SimpleCNN, batch 32: about 2x slower unrolled, 10x slower
    as a `jax.lax.scan`).
    """
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

    if not jit:
        return Steps(train_step, test_step, predict_step)
    return Steps(
        jax.jit(train_step, donate_argnums=0),
        jax.jit(test_step, donate_argnums=0),
        jax.jit(predict_step),
    )
