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
    """Return (train_step, test_step, predict_step) for `mode`, each taking one batch."""
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
            if strategy.num_replicas_in_sync > 1 or tf.distribute.has_strategy():
                outputs = strategy.run(replica_fn, args=batch)
            else:
                outputs = replica_fn(*batch)
            if returns_logs:
                # Read in cross-replica context, so replica states are aggregated.
                return model.get_metrics_result()
            if strategy.num_replicas_in_sync > 1:
                return strategy.gather(outputs, axis=0)
            return outputs

        return step

    train_step = distributed(train_replica)
    test_step = distributed(test_replica)
    predict_step = distributed(predict_replica, returns_logs=False)
    if mode == "eager":
        return train_step, test_step, predict_step
    jit = mode == "xla"
    return tuple(
        tf.function(fn, jit_compile=jit, reduce_retracing=True)
        for fn in (train_step, test_step, predict_step)
    )
