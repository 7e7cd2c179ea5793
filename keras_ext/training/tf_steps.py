"""TensorFlow train/test/predict steps of the Trainer: eager, tf.function, or XLA-compiled."""

import tensorflow as tf

from keras_ext.training.targets import check_targets

MODES = ("eager", "graph", "xla")


def _unscale_for_tracking(loss):
    # Keras's losses divide by the replica count so that gradients summed over
    # replicas are a global-batch mean; the reported loss undoes that.
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss * tf.cast(replicas, loss.dtype) if replicas > 1 else loss


def _batch_size(x):
    return tf.shape(tf.nest.flatten(x)[0])[0]


def make_steps(model, loss_tracker, mode):
    """Return (train_step, test_step, predict_step, silent_train_step) for `mode`.

    Each takes one batch. `silent_train_step` trains like `train_step` but
    returns nothing, so the metric results are not computed every step
    when no callback reads per-batch logs.
    """
    optimizer = model.optimizer

    def train_replica(x, y, sample_weight):
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            check_targets(x, y, y_pred)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            scaled = optimizer.scale_loss(loss)
        variables = model.trainable_variables
        gradients = tape.gradient(scaled, variables)
        optimizer.apply_gradients(zip(gradients, variables))
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

    steps = (
        distributed(train_replica),
        distributed(test_replica),
        distributed(predict_replica, returns_logs=False),
        distributed(train_replica, returns_logs=False),
    )
    if mode == "eager":
        return steps
    jit = mode == "xla"
    return tuple(tf.function(fn, jit_compile=jit, reduce_retracing=True) for fn in steps)
