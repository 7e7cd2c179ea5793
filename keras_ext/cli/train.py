"""`keras-ext train`: compile/fit a keras_ext model on a dataset, save it as `.keras`."""

import argparse
import os

from keras_ext.cli import _inputs
from keras_ext.cli import _strategy
from keras_ext.cli._choices import MODEL_NAMES as MODELS
from keras_ext.cli.arg_types import non_negative_int
from keras_ext.cli.arg_types import positive_float
from keras_ext.cli.arg_types import positive_int
from keras_ext.cli.arg_types import positive_int_or
from keras_ext.cli.arg_types import unit_rate
from keras_ext.cli.errors import JobFailure
from keras_ext.cli.errors import UsageError
from keras_ext.cli.errors import input_errors
from keras_ext.distribute.strategy import STRATEGY_NAMES


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train",
        help="train SimpleCNN or FashionCNN with compile/fit and save it as .keras",
        description=(
            "Train a keras_ext model with model.compile/model.fit (RMSprop with "
            "ExponentialDecay, sparse categorical cross-entropy from logits, accuracy "
            "and CategoricalTruePositives), print the validation accuracy and write "
            "OUTPUT/model.keras, OUTPUT/metrics.json (settings, validation results, "
            "history, epoch times) and OUTPUT/history.png (loss, accuracy and learning "
            "rate by epoch). Runs offline on the built-in digits by default. The "
            "dataset, the rates, the cluster and --output (created and written to) are "
            "checked before training: bad input is one line on stderr and exit status 2, "
            "with nothing written."
        ),
    )
    p.add_argument("--model", choices=MODELS, default="simplecnn", help="the model to train")
    p.add_argument(
        "--dataset",
        default="digits",
        help="'digits' (built in, offline), 'fashion_mnist' (downloaded once into Keras's cache), "
        "an IDX directory or an .npz",
    )
    p.add_argument("--epochs", type=positive_int, default=20, help="epochs to train")
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=32,
        help="batch size (with several devices, the global one)",
    )
    p.add_argument(
        "--learning-rate",
        type=positive_float,
        default=1.2e-3,
        help="initial learning rate of the ExponentialDecay schedule",
    )
    p.add_argument(
        "--decay-steps",
        type=positive_int,
        default=100,
        help="optimizer steps between the schedule's decays (a staircase)",
    )
    p.add_argument(
        "--decay-rate",
        type=positive_float,
        default=0.8,
        help="what the learning rate is multiplied by every --decay-steps steps",
    )
    p.add_argument(
        "--dropout-rate", type=unit_rate, default=0.0, help="dropout before the classifier (SimpleCNN only)"
    )
    p.add_argument(
        "--output",
        default="runs/train",
        help="directory for model.keras, metrics.json and history.png; created if missing",
    )
    p.add_argument(
        "--strategy",
        choices=STRATEGY_NAMES,
        default="auto",
        help="distribution: 'default' (one device), 'mirrored' (every local device), 'multiworker' "
        "(the processes TF_CONFIG, or on JAX the KERAS_DISTRIBUTION_* variables, describe) or 'auto' "
        "(multiworker if a cluster is described, mirrored with several devices, else default). "
        "--batch-size is the global batch; only the chief (process 0) writes --output",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (>= 0)")
    p.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=2,
        help="Keras progress: 0 silent, 1 progress bar, 2 one line per epoch",
    )
    ckpt = p.add_argument_group(
        "checkpoints",
        "With --checkpoint-dir, a keras_ext CheckpointManager saves the whole training state "
        "(atomically, newest few kept) and a rerun on the same directory resumes exactly where "
        "the last checkpoint left off.",
    )
    ckpt.add_argument(
        "--checkpoint-dir",
        type=_checkpoint_dir,
        default=None,
        help="directory for ckpt-<step> checkpoints; created if missing (default: none, no checkpoints)",
    )
    ckpt.add_argument(
        "--save-freq",
        type=_save_freq,
        default=None,
        help="optimizer steps between checkpoints, or 'epoch' (default: 20)",
    )
    ckpt.add_argument(
        "--max-to-keep",
        type=_max_to_keep,
        default=None,
        help="newest checkpoints kept, or 'all' (default: 3)",
    )
    ckpt.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue from the newest checkpoint in --checkpoint-dir; "
        "--no-resume needs a directory without checkpoints (default: --resume)",
    )
    p.set_defaults(run=run)
    return p


def _checkpoint_dir(text):
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"must be a directory, got {text}, which is an existing file")
    return text


_save_freq = positive_int_or("epoch")
_max_to_keep = positive_int_or("all")


def compile_arguments(learning_rate, decay_steps, decay_rate):
    """What `keras-ext train` compiles with: RMSprop on a staircase ExponentialDecay, logits loss,
    accuracy and CategoricalTruePositives (fresh objects: create them inside a strategy's scope)."""
    import keras

    from keras_ext.metrics import CategoricalTruePositives

    schedule = keras.optimizers.schedules.ExponentialDecay(
        learning_rate, decay_steps=decay_steps, decay_rate=decay_rate, staircase=True
    )
    return dict(
        optimizer=keras.optimizers.RMSprop(learning_rate=schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy", CategoricalTruePositives()],
    )


def compile_default(model, learning_rate, decay_steps, decay_rate):
    """Compile as `keras-ext train` does (see `compile_arguments`)."""
    model.compile(**compile_arguments(learning_rate, decay_steps, decay_rate))


def make_callbacks(args):
    """LearningRateLogger and an EpochTimer always; a CheckpointManager when --checkpoint-dir is given."""
    from keras_ext.callbacks import CheckpointManager
    from keras_ext.callbacks import LearningRateLogger
    from keras_ext.cli._epoch_timer import EpochTimer

    callbacks = [LearningRateLogger(), EpochTimer()]
    if args.checkpoint_dir is None:
        if args.save_freq is not None or args.max_to_keep is not None:
            raise UsageError("--save-freq and --max-to-keep need --checkpoint-dir")
        return callbacks, None
    manager = CheckpointManager(
        args.checkpoint_dir,
        save_freq=20 if args.save_freq is None else args.save_freq,
        max_to_keep={None: 3, "all": None}.get(args.max_to_keep, args.max_to_keep),
        restore="latest" if args.resume else None,
        save_on_preemption=True,  # SIGTERM / Ctrl-C: save the current step, then exit
    )
    return [manager, *callbacks], manager


def check_inputs(args):
    """Raise UsageError for a dataset, --output or cluster that cannot work; leaves nothing written.

    The directories come first, before Keras (and with it TensorFlow or JAX) is imported.
    """
    _inputs.check_output_dir(args.output)
    for option, path in (("--output", args.output), ("--checkpoint-dir", args.checkpoint_dir)):
        if path is not None:
            _inputs.probe_output_dir(path, option)
    import keras

    _inputs.load_checked_arrays(args.dataset, seed=args.seed)
    _strategy.check_cluster(args.strategy, keras.backend.backend())


def run(args):
    # Everything is checked before any work is done or any file written.
    with input_errors():
        check_inputs(args)
        callbacks, manager = make_callbacks(args)
    import keras

    from keras_ext import data
    from keras_ext._keras_internals import print_msg
    from keras_ext.cli._epoch_timer import EpochTimer
    from keras_ext.models._by_name import build_model

    backend = keras.backend.backend()
    # Before TensorFlow runs any op: MultiWorkerMirroredStrategy must come first.
    setup = _strategy.set_up(args.strategy)
    _strategy.check_batch_size(setup, args.batch_size)
    keras.utils.set_random_seed(args.seed)
    dataset = data.load(
        args.dataset, batch_size=args.batch_size, seed=args.seed, drop_remainder=setup.whole_batches_only
    )
    if manager is not None:
        manager.data = [dataset.train]  # its position travels with every checkpoint
    with setup.scope():
        try:
            model = build_model(args.model, dataset.num_classes, dataset.input_shape, args.dropout_rate)
        except ValueError as e:  # FashionCNN flattens, so small images leave it nothing to pool
            raise UsageError(
                f"--model {args.model} cannot take images of shape {dataset.input_shape}: {e}"
            ) from e
    print_msg(
        f"keras-ext train: {args.model} on {args.dataset} "
        f"({len(dataset.arrays.x_train)} train / {len(dataset.arrays.x_val)} validation images, "
        f"shape {dataset.input_shape}, {dataset.num_classes} classes), "
        f"{args.epochs} epochs, batch {args.batch_size}, backend {backend}",
    )
    _announce_strategy(setup, args.batch_size, dataset)
    try:
        history, results = train_and_evaluate(args, setup, model, dataset, callbacks)
    except _strategy.engine_errors(backend) as e:
        if setup.processes == 1:
            raise
        raise JobFailure(_strategy.lost_peer_message(e, setup, args.checkpoint_dir)) from e
    if manager is not None and manager.restored_from:
        print_msg(
            f"resumed from {manager.restored_from} (trained epochs "
            f"{', '.join(str(e + 1) for e in history.epoch) or 'none: already done'})"
        )
    if not setup.is_chief:
        print_msg(f"process {setup.index} done; process 0 writes {args.output}")
        return 0
    timer = next(c for c in callbacks if isinstance(c, EpochTimer))
    train_images = len(dataset.arrays.x_train)
    timing = {
        "epoch_seconds": [round(t, 4) for t in timer.seconds],
        "train_images_per_epoch": train_images - train_images % args.batch_size
        if setup.whole_batches_only
        else train_images,
    }
    with setup.local_only():
        write_outputs(args, setup, model, history, results, manager, timing, backend)
    print_msg(f"validation accuracy: {results['accuracy']:.4f}")
    return 0


def _announce_strategy(setup, batch_size, dataset):
    """Say how training is distributed, once, where it differs from one device."""
    from keras_ext._keras_internals import print_msg

    if setup.strategy is None:
        return
    chief = " (the chief, which writes --output)" if setup.is_chief else ""
    print_msg(
        f"strategy {setup.engine}: {setup.replicas} replicas in {setup.processes} process(es); "
        f"this is process {setup.index}{chief}"
    )
    if setup.whole_batches_only:
        left_out = [len(a) % batch_size for a in (dataset.arrays.x_train, dataset.arrays.x_val)]
        print_msg(
            f"every batch is split over {setup.replicas} devices, so each epoch leaves out its last "
            f"partial batch ({left_out[0]} training and {left_out[1]} validation images)"
        )
    if setup.use_trainer:
        print_msg(
            f"training with keras_ext's Trainer: Keras's model.fit fails under {setup.engine} "
            f"({_strategy.FIT_ISSUE})"
        )


def train_and_evaluate(args, setup, model, dataset, callbacks):
    """Train with `fit` (or the Trainer where `fit` fails); return (History, validation results)."""
    verbose = args.verbose if setup.is_chief else 0
    # The tf.data pipeline reshuffles every epoch (by seed and epoch, so a resumed run
    # sees the same batches as an uninterrupted one): fit must not shuffle on top.
    fit_args = dict(
        validation_data=dataset.validation,
        epochs=args.epochs,
        shuffle=False,
        callbacks=callbacks,
        verbose=verbose,
    )
    with setup.scope():
        compile_args = compile_arguments(args.learning_rate, args.decay_steps, args.decay_rate)
        if setup.use_trainer:
            from keras_ext.training import Trainer

            trainer = Trainer(model, **compile_args)
        else:
            model.compile(**compile_args)
    if setup.use_trainer:
        history = trainer.fit(dataset.train, **fit_args)
        results = trainer.evaluate(dataset.validation, verbose=0, return_dict=True)
    else:
        history = model.fit(dataset.train, **fit_args)
        results = model.evaluate(dataset.validation, verbose=0, return_dict=True)
    return history, results


def write_outputs(args, setup, model, history, results, manager, timing, backend):
    """model.keras, metrics.json and history.png in --output (the chief only)."""
    from keras_ext._io import save_model_atomically
    from keras_ext._io import write_json_atomically
    from keras_ext._keras_internals import print_msg

    model_path = os.path.join(args.output, "model.keras")
    save_model_atomically(model, model_path)
    summary = {
        "model": args.model,
        "dataset": args.dataset,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "distribution": setup.summary(backend),
        "validation": {k: float(v) for k, v in results.items()},
        "history": {k: [float(x) for x in v] for k, v in history.history.items()},
        "history_epochs": [int(e) for e in history.epoch],
        **timing,
        "model_path": model_path,
        "checkpoint_dir": args.checkpoint_dir,
        "resumed_from": None if manager is None else manager.restored_from,
    }
    write_json_atomically(os.path.join(args.output, "metrics.json"), summary)
    print_msg(f"saved {model_path}")
    try:
        from keras_ext.plots import plot_history

        picture = os.path.join(args.output, "history.png")
        print_msg(f"saved {plot_history(history.history, picture, epochs=history.epoch)}")
    except ImportError as e:  # the model and metrics.json are saved; a missing picture must not fail the run
        print_msg(f"history.png not drawn: {e}")
