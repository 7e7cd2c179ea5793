"""Training script for test_sigkill_any_backend.py: `python -m tests.callbacks.kill_and_resume ...`.

Trains tests/callbacks/training_setup.py's job (3 epochs of 10 steps, the
epoch-ordered digits pipeline: tf.data or, without TensorFlow, a PyDataset)
on whatever KERAS_BACKEND says, with a CheckpointManager(save_freq=4) on
`--directory`, and SIGKILLs itself once the optimizer reaches step
`--kill` (only a step the run has not restored, so a resumed run's
fast-forward cannot trigger it). A run that finishes saves its variables
to `--weights` and prints the epochs it trained. `--reference` trains the
same job without a manager (the pipeline counts its own epochs): the
independent reference run.
"""

import argparse
import json
import os
import signal
import sys


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--directory")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--kill", type=int, default=None)
    parser.add_argument("--async-write", action="store_true")
    parser.add_argument("--reference", action="store_true")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()

    from keras_ext.callbacks import CheckpointManager
    from keras_ext.callbacks import LearningRateLogger
    from tests.callbacks import training_setup as setup

    class KillAtStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == args.kill:
                sys.stdout.flush()
                os.kill(os.getpid(), signal.SIGKILL)

    train, validation = setup.digits_pipelines(seed=0)
    model = setup.make_model(seed=0)
    callbacks, manager = [], None
    if not args.reference:
        manager = CheckpointManager(
            args.directory, save_freq=4, max_to_keep=3, async_write=args.async_write, data=train
        )
        callbacks = [manager]
    callbacks += [LearningRateLogger(), KillAtStep()]
    history = model.fit(
        train, validation_data=validation, epochs=3, shuffle=False, callbacks=callbacks, verbose=0
    )
    np.savez(args.weights, *setup.weights(model))
    # History covers the whole run (restored epochs too); where training resumed is the manager's.
    resumed_epoch = None if manager is None else manager.resumed_epoch
    print(json.dumps({"history_epochs": history.epoch, "resumed_epoch": resumed_epoch}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
