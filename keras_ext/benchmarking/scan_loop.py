"""`ScanLoop`: the benchmark's training as one hand-written `jax.lax.scan` per pass: the limit on JAX.

No loop around the steps at all: a pass over the data is one compiled
program, the steps scanned over batches that went to the device once, so
nothing is launched, fed or reported per step. What `fit` and the Trainer
reach on a dispatch-bound model is measured against it (issue 19).
"""

import keras
import numpy as np


class ScanLoop:
    """The same model, optimizer and loss as `BareLoop`, trained by one `lax.scan` per pass (JAX only).

    `run_epoch(x, y, batch_size)` trains on the pass's whole batches (an
    uneven rest is left out) and waits for the device. The stacked data is
    put on the device on the first pass over an array and kept there: the
    limit leaves out feeding. The trained state stays in the loop.

    Example:

    >>> import keras, numpy as np
    >>> from keras_ext.benchmarking.scan_loop import ScanLoop
    >>> if keras.backend.backend() == "jax":
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    ...     loop = ScanLoop(model, keras.optimizers.SGD(0.1),
    ...                     keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ...     x = np.random.default_rng(0).random((64, 4)).astype("float32")
    ...     print(loop.run_epoch(x, np.arange(64) % 3, batch_size=16))
    ... else:
    ...     print(4)
    4
    """

    def __init__(self, model, optimizer, loss):
        import jax

        if keras.backend.backend() != "jax":
            raise ValueError(f"ScanLoop runs on the JAX backend only, not {keras.backend.backend()!r}.")
        optimizer.build(model.trainable_variables)

        def step(state, batch):
            trainable, non_trainable, optimizer_vars = state
            x, y = batch

            def loss_and_state(trainable, non_trainable):
                logits, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
                return loss(y, logits), non_trainable

            (value, non_trainable), grads = jax.value_and_grad(loss_and_state, has_aux=True)(
                trainable, non_trainable
            )
            trainable, optimizer_vars = optimizer.stateless_apply(optimizer_vars, grads, trainable)
            return (trainable, non_trainable, optimizer_vars), value

        self._pass = jax.jit(lambda state, xs, ys: jax.lax.scan(step, state, (xs, ys)), donate_argnums=0)
        self._state = (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in optimizer.variables],
        )
        self._stacked = {}

    def run_epoch(self, x, y, batch_size):
        """Train one pass over the whole batches of `x, y` (arrays); return how many steps it took."""
        import jax

        steps = len(x) // batch_size
        key = (np.asarray(x).ctypes.data, np.asarray(y).ctypes.data, steps, batch_size)
        if key not in self._stacked:
            n = steps * batch_size
            x, y = np.asarray(x)[:n], np.asarray(y)[:n]
            self._stacked = {
                key: jax.device_put(
                    (x.reshape(steps, batch_size, *x.shape[1:]), y.reshape(steps, batch_size, *y.shape[1:]))
                )
            }
        self._state, losses = self._pass(self._state, *self._stacked[key])
        jax.block_until_ready(losses)
        return steps
