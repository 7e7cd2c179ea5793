"""`BareLoop`: the original TF2 example's bare training loop, the floor of loop overhead in benchmarks.

No callbacks, no History, no progress: a GradientTape step in a
`tf.function` with the loss and accuracy updated by hand (TensorFlow), or
a plain `jax.jit` of a stateless step without buffer donation (JAX).
"""

import keras
import numpy as np


class BareLoop:
    """The TF2 example's training loop, bare: what `fit` and the Trainer are measured against.

    `run_epoch(x, y, batch_size)` trains one pass over `x, y` (arrays) or
    over `x` alone (a tf.data Dataset of `(x, y)` batches) and waits until
    the device has finished. On JAX the trained state stays in the loop:
    the model's variables are not updated (a benchmark needs only the time).

    Args:
        model: a built Keras model.
        optimizer: a Keras optimizer (built here for the model's variables).
        loss: a Keras loss, called as `loss(y, logits)`.

    Example:

    >>> import keras, numpy as np
    >>> from keras_ext.benchmarking import BareLoop
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    >>> loop = BareLoop(model, keras.optimizers.SGD(0.1),
    ...                 keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> x = np.random.default_rng(0).random((64, 4)).astype("float32")
    >>> y = np.arange(64) % 3
    >>> loop.run_epoch(x, y, batch_size=16)
    4
    """

    def __init__(self, model, optimizer, loss):
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.train_loss = keras.metrics.Mean(name="loss")
        self.train_accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        optimizer.build(model.trainable_variables)
        self._step = self._tf_step() if keras.backend.backend() == "tensorflow" else self._jax_step()

    def _tf_step(self):
        import tensorflow as tf

        model, optimizer, loss_fn = self.model, self.optimizer, self.loss

        @tf.function
        def train_step(x, y):
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                loss = loss_fn(y, logits)
                if model.losses:
                    loss = loss + tf.add_n(model.losses)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            self.train_loss.update_state(loss)
            self.train_accuracy.update_state(y, logits)

        return train_step

    def _jax_step(self):
        import jax

        model, optimizer, loss_fn = self.model, self.optimizer, self.loss

        def loss_and_state(trainable, non_trainable, x, y):
            logits, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
            mapping = list(zip(model.trainable_variables, trainable, strict=True))
            with keras.StatelessScope(state_mapping=mapping):
                decay = sum(model.losses) if model.losses else 0.0
            return loss_fn(y, logits) + decay, non_trainable

        @jax.jit
        def train_step(state, x, y):
            trainable, non_trainable, optimizer_vars = state
            (loss, non_trainable), grads = jax.value_and_grad(loss_and_state, has_aux=True)(
                trainable, non_trainable, x, y
            )
            trainable, optimizer_vars = optimizer.stateless_apply(optimizer_vars, grads, trainable)
            return loss, (trainable, non_trainable, optimizer_vars)

        self._state = (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in optimizer.variables],
        )

        def step(x, y):
            _, self._state = train_step(self._state, np.asarray(x), np.asarray(y))

        return step

    def run_epoch(self, x, y=None, batch_size=32):
        """Train one pass over the batches; return how many steps it took."""
        steps = 0
        if y is None:
            for batch_x, batch_y in x:
                self._step(batch_x, batch_y)
                steps += 1
        else:
            for start in range(0, len(x), batch_size):
                self._step(x[start : start + batch_size], y[start : start + batch_size])
                steps += 1
        # Wait until the device has finished, so timings are honest.
        if keras.backend.backend() == "jax":
            import jax

            jax.block_until_ready(self._state)
        else:
            float(self.train_loss.result())
        return steps
