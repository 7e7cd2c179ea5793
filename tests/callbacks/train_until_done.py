"""Training script for the SIGKILL exactness test: `python -m tests.callbacks.train_until_done ...`.

Trains tests/callbacks/training_setup.py's job (3 epochs of 10 steps) with a
CheckpointManager(save_freq=4) on `--directory`, deterministic ops on, and
kills itself with SIGKILL where `--kill` says:

    step:N         after global step N (a batch end)
    epoch_end:E    at the end of epoch E (its epoch-end checkpoint not yet written)
    epoch_begin:E  at the start of epoch E, just after epoch E-1's checkpoint was written
    write:N        inside the write of ckpt-N, after its data files, before its manifest
    rename:N       in the rename that commits ckpt-N, before it happens
    renamed:N      just after the rename that commits ckpt-N (before the directory fsync and
                   the rotation that follows the save)
    delete:any     halfway through deleting a checkpoint rotated out (or replaced): one file of
                   its renamed-away directory removed, the rest not

Each finished epoch appends `{"run": ..., "epoch": e, "logs": {...}}` to
`--log`; a run that finishes saves the final variables to `--weights`.
`--reference` trains the same job without a CheckpointManager (the
independent reference run). `--announce` prints `epoch E begins` at each
epoch start, so a test can send a signal during a chosen epoch. `--trainer` uses keras_ext.training.Trainer
instead of `model.fit`. `--mirrored` splits the CPU into two logical devices and trains
under a MirroredStrategy over them (model, optimizer and Trainer created in its scope).
"""

import argparse
import json
import os
import signal
import sys


def _kill_now():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_in_file_operations(kind, value):
    """Patch os.replace / shutil.rmtree in this process so the kill lands inside a commit or a delete."""
    import shutil

    real_replace, real_rmtree = os.replace, shutil.rmtree

    def replace(src, dst, *args, **kwargs):
        commits = os.path.basename(os.fspath(dst)) == f"ckpt-{value}" and os.path.basename(
            os.fspath(src)
        ).startswith(".tmp-")
        if commits and kind == "rename":
            _kill_now()
        real_replace(src, dst, *args, **kwargs)
        if commits and kind == "renamed":
            _kill_now()

    def rmtree(path, *args, **kwargs):
        if kind == "delete" and os.path.basename(os.fspath(path)).startswith(".trash-ckpt-"):
            names = sorted(os.listdir(path))
            os.remove(os.path.join(path, names[0]))
            _kill_now()
        real_rmtree(path, *args, **kwargs)

    os.replace, shutil.rmtree = replace, rmtree


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--directory")
    parser.add_argument("--log", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--run", default="run")
    parser.add_argument("--kill", default=None)
    parser.add_argument("--async-write", action="store_true")
    parser.add_argument("--reference", action="store_true")
    parser.add_argument("--trainer", action="store_true")
    parser.add_argument("--mirrored", action="store_true")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--save-freq", type=int, default=4)
    parser.add_argument(
        "--announce",
        action="store_true",
        help="print 'epoch E begins' at each epoch start (for a test sending signals)",
    )
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    strategy = tf.distribute.get_strategy()
    if args.mirrored:
        from keras_ext.distribute import split_cpu

        strategy = tf.distribute.MirroredStrategy(split_cpu(2))

    from keras_ext._progress import is_fast_forwarded
    from keras_ext.callbacks import CheckpointManager
    from keras_ext.callbacks import LearningRateLogger
    from tests.callbacks import training_setup as setup

    kind, _, value = (args.kill or "none:0").partition(":")
    value = -1 if value == "any" else int(value)
    if kind in ("rename", "renamed", "delete"):
        _kill_in_file_operations(kind, value)

    class WriteEpochLogs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            with open(args.log, "a") as f:
                f.write(json.dumps({"run": args.run, "epoch": epoch, "logs": logs}) + "\n")

    class Kill(keras.callbacks.Callback):
        epoch = None

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            if args.announce:
                print(f"epoch {epoch} begins", flush=True)
            if kind == "epoch_begin" and epoch == value:
                _kill_now()

        def on_train_batch_end(self, batch, logs=None):
            if kind != "step" or is_fast_forwarded(self._model, self.epoch, batch):
                return
            if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == value:
                _kill_now()

        def on_epoch_end(self, epoch, logs=None):
            if kind == "epoch_end" and epoch == value:
                _kill_now()

    train, validation = setup.digits_pipelines(seed=0)
    with strategy.scope():
        model = setup.make_model(seed=0)
    callbacks, manager = [], None
    if not args.reference:
        manager = CheckpointManager(
            args.directory,
            save_freq=args.save_freq,
            max_to_keep=3,
            async_write=args.async_write,
            data=train,
        )
        if kind == "write":
            manager._before_commit = lambda step, path: _kill_now() if step == value else None
        callbacks.append(manager)
    callbacks += [LearningRateLogger(), WriteEpochLogs(), Kill()]

    if args.trainer:
        from keras_ext.metrics import CategoricalTruePositives
        from keras_ext.training import Trainer

        with strategy.scope():
            trainer = Trainer(
                model,
                optimizer=model.optimizer,
                loss=model.loss,
                metrics=["accuracy", CategoricalTruePositives()],
            )
        history = trainer.fit(
            train, validation_data=validation, epochs=args.epochs, callbacks=callbacks, verbose=0
        )
    else:
        history = model.fit(
            train, validation_data=validation, epochs=args.epochs, callbacks=callbacks, verbose=0
        )
    # Under MirroredStrategy each device's copy too: BatchNormalization's statistics
    # drift apart per device, and validation reads each device's own.
    copies = [c.numpy() for v in model.variables for c in getattr(v.value, "values", ())[1:]]
    np.savez(args.weights, *setup.weights(model), *copies)
    # History covers the whole run (restored epochs too); where training resumed is the manager's.
    resumed_epoch = None if manager is None else manager.resumed_epoch
    print(json.dumps({"history_epochs": history.epoch, "resumed_epoch": resumed_epoch}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
