"""`Variant`: one way of training the benchmark's model (`fit`, the Trainer in a mode, the bare loop)."""

import time

import keras

from keras_ext.benchmarking import workload
from keras_ext.benchmarking.bare_loop import BareLoop
from keras_ext.benchmarking.scan_loop import ScanLoop
from keras_ext.training.trainer import Trainer

# Every variant, in the order results list them.
VARIANTS = (
    "fit",
    "fit_spe",
    "trainer_graph",
    "trainer_spe",
    "trainer_xla",
    "trainer_eager",
    "bare_loop",
    "scan_reference",
)
# Measured at steady state too: fit and the Trainer, each without and with steps_per_execution.
STEADY_VARIANTS = ("fit", "fit_spe", "trainer_graph", "trainer_spe")
# (fit variant, Trainer variant): measured back to back in every steady round, compared round by round.
STEADY_PAIRS = (("fit", "trainer_graph"), ("fit_spe", "trainer_spe"))


def variant_names(backend):
    """The variants that differ on `backend` (a Keras backend name), in the order of `VARIANTS`."""
    names = list(VARIANTS)
    if backend == "jax":
        # On JAX "graph" and "xla" are the same jitted step.
        names.remove("trainer_xla")
    else:
        names.remove("scan_reference")  # a lax.scan: JAX's
    return names


class Variant:
    """One way of training: `timed_run(x, y)` times one pass over the given batches.

    `fit` and `fit_spe` compile the model for `model.fit` (without and with
    `steps_per_execution`); `trainer_<mode>` and `trainer_spe` train it with
    the Trainer; `bare_loop` with `BareLoop`; `scan_reference` (JAX) with
    `ScanLoop`, one `lax.scan` per pass over data kept on the device, the
    limit the loops are measured against. `data_kind` feeds the batches as
    in-memory arrays or as a tf.data pipeline (`scan_reference` takes arrays
    either way: it has no feeding to measure).
    """

    def __init__(self, name, model, batch_size, data_kind, steps_per_execution):
        self.name = name
        self.model = model
        self.batch_size = batch_size
        self.data_kind = data_kind
        if name.startswith("fit"):
            spe = steps_per_execution if name == "fit_spe" else 1
            # jit_compile="auto", Keras's default: XLA off for TensorFlow on CPU, jit on JAX.
            model.compile(
                workload.optimizer(),
                workload.loss(),
                metrics=["accuracy"],
                steps_per_execution=spe,
                jit_compile="auto",
            )
            self._fit = model.fit
            self._run = self._run_fit
        elif name.startswith("trainer"):
            spe = steps_per_execution if name == "trainer_spe" else 1
            mode = "graph" if name == "trainer_spe" else name.split("_", 1)[1]
            trainer = Trainer(
                model,
                workload.optimizer(),
                workload.loss(),
                metrics=["accuracy"],
                mode=mode,
                steps_per_execution=spe,
            )
            self._fit = trainer.fit
            self._run = self._run_fit
        elif name == "scan_reference":
            self.loop = ScanLoop(model, workload.optimizer(), workload.loss())
            self._run = lambda x, y: self.loop.run_epoch(x, y, self.batch_size)
        else:
            self.loop = BareLoop(model, workload.optimizer(), workload.loss())
            self._run = self._run_bare

    def _data(self, x, y):
        if self.data_kind == "arrays":
            return (x, y)
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(self.batch_size)
        return (dataset.prefetch(tf.data.AUTOTUNE), None)

    def _run_fit(self, x, y, epochs=1, callbacks=None):
        """`epochs` passes through `model.fit` or `Trainer.fit`, which take the same arguments."""
        data_x, data_y = self._data(x, y)
        batch_size = self.batch_size if data_y is not None else None
        self._fit(
            data_x,
            data_y,
            batch_size=batch_size,
            epochs=epochs,
            shuffle=False,
            verbose=0,
            callbacks=callbacks,
        )

    def steady_run(self, x, y, epochs):
        """Seconds of each timed epoch of one `fit` call: a warm-up epoch, then `epochs` more."""
        clock = _EpochClock()
        self._run_fit(x, y, epochs=1 + epochs, callbacks=[clock])
        ends = clock.times
        return [(ends[i + 1] - ends[i]) for i in range(1, len(ends) - 1)]

    def _run_bare(self, x, y):
        data_x, data_y = self._data(x, y)
        self.loop.run_epoch(data_x, data_y, self.batch_size)

    def timed_run(self, x, y):
        """Seconds of one pass over `x, y` (one call, with what starting it costs)."""
        start = time.perf_counter()
        self._run(x, y)
        return time.perf_counter() - start


class _EpochClock(keras.callbacks.Callback):
    """Records the time at the start of training and at each epoch's end.

    Epoch ends come after the epoch's logs are read (a device sync), so the
    time between two of them is the whole epoch's work.
    """

    def on_train_begin(self, logs=None):
        self.times = [time.perf_counter()]

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter())
