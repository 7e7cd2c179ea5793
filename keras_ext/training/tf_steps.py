"""`TensorFlowSteps`: the Trainer's steps on TensorFlow: eager, tf.function, or XLA-compiled."""

import warnings

import tensorflow as tf

from keras_ext.training.batches import unpack
from keras_ext.training.targets import check_targets


def _unscale_for_tracking(loss):
    # Keras's losses divide by the replica count so that gradients summed over
    # replicas are a global-batch mean; the reported loss undoes that.
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss * tf.cast(replicas, loss.dtype) if replicas > 1 else loss


def _batch_size(x):
    return tf.shape(tf.nest.flatten(x)[0])[0]


class TensorFlowSteps:
    """The Trainer's train, test and predict steps on TensorFlow, each a named method.

    The state lives in the variables: the steps update them in place, so
    nothing needs syncing between steps, epochs or fits. Under a
    `tf.distribute` strategy each step runs per replica with `strategy.run`.
    """

    # One execution's same-shaped batches are stacked and trained in one call, and
    # tf.data batches are pulled from their iterator inside the compiled function.
    stacks_batches = True
    pulls_from_iterator = True

    def __init__(self, model, loss_tracker, mode):
        functions = _step_functions(model, loss_tracker, mode)
        self._train, self._silent_train, self._test, self._predict, self._chunk, self._iterator = functions

    def begin_epoch(self):
        pass

    def train(self, x, y, sample_weight, need_logs=True):
        """Train on one batch; return its logs, or None when `need_logs` is false (no metric read)."""
        if need_logs:
            return self._train(x, y, sample_weight)
        return self._silent_train(x, y, sample_weight)

    def train_stacked(self, stacked, need_logs):
        """Train on (xs, ys, sample weights), same-shaped batches stacked along a new first axis,
        in one call; return logs or None."""
        return self._chunk(*stacked, need_logs)[1]

    def train_from_iterator(self, iterator, count, need_logs):
        """Pull up to `count` batches from a tf.data (or distributed) iterator and train on them,
        inside one compiled call; return (steps trained, logs or None)."""
        done, logs = self._iterator(iterator, tf.constant(count), need_logs)
        return int(done), logs

    def end_epoch(self):
        pass

    def end_fit(self):
        pass

    def begin_test(self):
        pass

    def test(self, x, y, sample_weight):
        return self._test(x, y, sample_weight)

    def end_test(self):
        pass

    def predict(self, x):
        return self._predict(x)


def _step_functions(model, loss_tracker, mode):
    """Return the compiled (train, silent train, test, predict, train chunk, train iterator) for `mode`.

    The one-batch functions take `(x, y, sample_weight)`; the silent train
    trains like train but returns nothing, so the metric results are not
    computed every step when no callback reads per-batch logs. For
    `steps_per_execution`, the chunk function trains on batches stacked
    along a new first axis, and the iterator function pulls up to `count`
    batches from a tf.data (or distributed) iterator inside the compiled
    function; both return (steps trained, logs or None).
    """
    optimizer = model.optimizer

    def train_replica(x, y, sample_weight):
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            check_targets(x, y, y_pred)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            scaled = optimizer.scale_loss(loss)
        variables = model.trainable_variables
        if variables:
            gradients = tape.gradient(scaled, variables)
            optimizer.apply_gradients(zip(gradients, variables, strict=True))
        else:
            # As `fit` does: a model without trainable weights still updates its
            # state (BatchNorm statistics, metrics) but has nothing to optimise.
            warnings.warn("The model does not have any trainable weights.", stacklevel=2)
        loss_tracker.update_state(_unscale_for_tracking(loss), sample_weight=_batch_size(x))
        model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def test_replica(x, y, sample_weight):
        y_pred = model(x, training=False)
        check_targets(x, y, y_pred)
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        loss_tracker.update_state(_unscale_for_tracking(loss), sample_weight=_batch_size(x))
        model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def predict_replica(x):
        return model(x, training=False)

    def distributed(replica_fn, returns_logs=True):
        def step(*batch):
            strategy = tf.distribute.get_strategy()
            if tf.distribute.has_strategy():
                outputs = strategy.run(replica_fn, args=batch)
            else:
                outputs = replica_fn(*batch)
            if returns_logs:
                # Read in cross-replica context, so replica states are aggregated.
                return model.get_metrics_result()
            if outputs is not None and strategy.num_replicas_in_sync > 1:
                return strategy.gather(outputs, axis=0)
            return outputs

        return step

    jit = mode == "xla"

    def compiled(fn, jit_compile=jit):
        return fn if mode == "eager" else tf.function(fn, jit_compile=jit_compile, reduce_retracing=True)

    train = compiled(distributed(train_replica, returns_logs=False))

    # Explicit tf.while_loop rather than autograph, which would try to convert
    # Keras's own code called from the loop body.
    @tf.autograph.experimental.do_not_convert
    def train_chunk(xs, ys, sws, need_logs):
        count = tf.shape(xs)[0]

        def body(i):
            train(xs[i], None if ys is None else ys[i], None if sws is None else sws[i])
            return (i + 1,)

        tf.while_loop(lambda i: i < count, body, (tf.constant(0),))
        return count, model.get_metrics_result() if need_logs else None

    @tf.autograph.experimental.do_not_convert
    def train_iterator(iterator, count, need_logs):
        def cond(i, element):
            return tf.logical_and(i < count, element.has_value())

        def body(i, element):
            train(*unpack(element.get_value(), "x"))
            # Pull the next batch only if this call trains on it: a batch pulled
            # here and not trained on would be lost to the next call.
            following = tf.cond(i + 1 < count, iterator.get_next_as_optional, lambda: element)
            return i + 1, following

        trained, _ = tf.while_loop(cond, body, (tf.constant(0), iterator.get_next_as_optional()))
        return trained, model.get_metrics_result() if need_logs else None

    return (
        compiled(distributed(train_replica)),
        train,
        compiled(distributed(test_replica)),
        compiled(distributed(predict_replica, returns_logs=False)),
        # The loops call the (XLA-compiled, with mode="xla") one-step function;
        # iterator ops cannot be XLA-compiled themselves.
        compiled(train_chunk, jit_compile=False),
        compiled(train_iterator, jit_compile=False),
    )
