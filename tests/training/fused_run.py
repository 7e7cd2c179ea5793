"""Training script for the fused SIGKILL test: `python -m tests.training.fused_run ...` (JAX).

Trains `job()`'s MLP (BatchNormalization and dropout) with the Trainer at
`steps_per_execution=3`, shuffled by a fixed seed, 3 epochs of 9 steps (8
batches of 16 and one of 6), with a CheckpointManager(save_freq=6) on
`--directory`. `--kill N` SIGKILLs the process while its N-th fused
execution runs: right after the compiled `lax.scan` is dispatched (JAX
returns before the program ends), before the Trainer finishes the
execution. A run that finishes writes its weights and History to
`--output` (.npz). The test runs the same job in its own process,
uninterrupted and without a manager, as the reference.
"""

import argparse
import os
import signal
import sys

EPOCHS, SPE, BATCH_SIZE, SEED = 3, 3, 16, 7


def job():
    """(model, trainer, fit keyword arguments) of the run, the model's weights drawn from seed 0."""
    import keras
    import numpy as np

    from keras_ext.training import Trainer

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((12,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.25),
            keras.layers.Dense(4),
        ]
    )
    trainer = Trainer(
        model,
        optimizer=keras.optimizers.RMSprop(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=SPE,
    )
    rng = np.random.default_rng(0)
    x, y = rng.random((134, 12)).astype("float32"), rng.integers(0, 4, 134)
    fit_kwargs = dict(x=x, y=y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=True, seed=SEED, verbose=0)
    return model, trainer, fit_kwargs


def record(model, history):
    """The arrays to compare: every variable (BatchNormalization's statistics too) and the History."""
    arrays = {f"weight_{i}": w for i, w in enumerate(model.get_weights())}
    arrays.update({f"history_{key}": values for key, values in history.history.items()})
    return arrays


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--directory", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--kill", type=int, default=None)
    args = parser.parse_args(argv)

    import numpy as np

    from keras_ext.callbacks import CheckpointManager
    from keras_ext.training.jax_steps import JaxSteps

    train_stacked, calls = JaxSteps.train_stacked, [0]

    def train_stacked_then_die(self, stacked, need_logs=True):
        logs = train_stacked(self, stacked, need_logs)
        calls[0] += 1
        if calls[0] == args.kill:
            os.kill(os.getpid(), signal.SIGKILL)  # the scan just dispatched may still be running
        return logs

    JaxSteps.train_stacked = train_stacked_then_die
    model, trainer, fit_kwargs = job()
    manager = CheckpointManager(args.directory, save_freq=6, max_to_keep=3)
    history = trainer.fit(callbacks=[manager], **fit_kwargs)
    np.savez(args.output, **record(model, history))
    return 0


if __name__ == "__main__":
    sys.exit(main())
