"""`keras-ext train`: compile/fit a model (keras_ext's, a user's function's or a `.keras` file's) on a
dataset, save it as `.keras`.

Its parser is `keras_ext_cli.train.add_parser`; `keras_ext_cli.main` calls
`run(args)` here once the arguments parse.
"""

import os

from keras_ext.checkpoint import _locations as locations
from keras_ext.cli import _inputs
from keras_ext.cli import _model
from keras_ext.cli import _strategy
from keras_ext.cli.errors import JobFailure
from keras_ext.cli.errors import UsageError
from keras_ext.cli.errors import input_errors


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


def logdir(args):
    """Where TensorBoard logs go: --logdir, OUTPUT/logs by default; None for `--logdir ''`."""
    if args.logdir is None:
        return os.path.join(args.output, "logs")
    return args.logdir or None


def tensorboard_missing():
    """Why Keras's TensorBoard callback cannot write here (it needs `tensorflow.summary`), or None."""
    try:
        import tensorflow.summary  # noqa: F401
    except ImportError as e:
        return str(e)
    return None


def make_tensorboard(directory):
    """Keras's TensorBoard callback writing epoch scalars (learning rate included) to `directory`.

    It goes last in the callback list: the epoch logs it writes then hold
    what LearningRateLogger adds. No graph, no profile: epoch scalars only.
    """
    import keras

    return keras.callbacks.TensorBoard(directory, write_graph=False, profile_batch=0, update_freq="epoch")


def make_callbacks(args):
    """LearningRateLogger and an EpochTimer always; EarlyStopping with --early-stopping; a
    CheckpointManager when --checkpoint-dir is given (TensorBoard is added by `run`, on the chief)."""
    import keras

    from keras_ext._keras_internals import print_msg
    from keras_ext.callbacks import CheckpointManager
    from keras_ext.callbacks import EarlyStopping
    from keras_ext.callbacks import LearningRateLogger
    from keras_ext.cli._epoch_timer import EpochTimer

    callbacks = [LearningRateLogger(), EpochTimer()]
    if args.early_stopping is not None:
        # Its counter, best value and best weights are saved in every checkpoint.
        callbacks.append(
            EarlyStopping(
                monitor="val_loss", patience=args.early_stopping, restore_best_weights=True, verbose=1
            )
        )
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
    # Said as soon as the manager has restored (its on_train_begin), before any epoch.
    announce = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: manager.resume_message and print_msg(manager.resume_message)
    )
    return [manager, announce, *callbacks], manager


def check_inputs(args):
    """Raise UsageError for a dataset, --output, cluster or --model that cannot work; leaves nothing written.

    The directories come first, before Keras (and with it TensorFlow or JAX) is imported.
    Returns the dataset's arrays, checked.
    """
    _inputs.check_output_dir(args.output)
    local_checkpoint_dir = None
    if args.checkpoint_dir is not None:
        # A URL (s3://...) is written through fsspec: refused now if nothing can write it.
        args.checkpoint_dir = _inputs.check_checkpoint_url(args.checkpoint_dir)
        if not locations.is_url(args.checkpoint_dir):
            local_checkpoint_dir = args.checkpoint_dir
    for option, path in (("--checkpoint-dir", local_checkpoint_dir), ("--logdir", logdir(args))):
        if path is not None:
            _inputs.check_output_dir(path, option)
    for option, path in (
        ("--output", args.output),
        ("--checkpoint-dir", local_checkpoint_dir),
        ("--logdir", logdir(args)),
    ):
        if path is not None:
            _inputs.probe_output_dir(path, option)
    import keras

    arrays = _inputs.load_checked_arrays(args.dataset, seed=args.seed, image_size=args.image_size)
    _strategy.check_cluster(args.strategy, keras.backend.backend())
    _model.check_model(args.model)
    return arrays


def run(args):
    # Everything is checked before any work is done or any file written.
    with input_errors():
        arrays = check_inputs(args)
        callbacks, manager = make_callbacks(args)
    import keras

    from keras_ext._keras_internals import print_msg
    from keras_ext.cli._epoch_timer import EpochTimer
    from keras_ext.data.load import loaded_dataset

    backend = keras.backend.backend()
    # Before TensorFlow runs any op: MultiWorkerMirroredStrategy must come first.
    setup = _strategy.set_up(args.strategy)
    _strategy.check_batch_size(setup, args.batch_size)
    keras.utils.set_random_seed(args.seed)
    dataset = loaded_dataset(
        arrays, batch_size=args.batch_size, seed=args.seed, drop_remainder=setup.whole_batches_only
    )
    if manager is not None:
        manager.data = [dataset.train]  # its position travels with every checkpoint
    with setup.scope():
        model = _model.build(args.model, dataset.num_classes, dataset.input_shape, args.dropout_rate)
    print_msg(
        f"keras-ext train: {args.model} on {args.dataset} "
        f"({len(dataset.arrays.x_train)} train / {len(dataset.arrays.x_val)} validation images, "
        f"shape {dataset.input_shape}, {dataset.num_classes} classes), "
        f"{args.epochs} epochs, batch {args.batch_size}, backend {backend}",
    )
    _announce_strategy(setup, args.batch_size, dataset)
    callbacks = _chief_s_callbacks(args, setup, callbacks)
    try:
        history, results = train_and_evaluate(args, setup, model, dataset, callbacks)
    except _strategy.engine_errors(backend) as e:
        if setup.processes == 1:
            raise
        raise JobFailure(_strategy.lost_peer_message(e, setup, args.checkpoint_dir)) from e
    if manager is not None and manager.restored_from:
        trained = [e + 1 for e in history.epoch if e >= manager.resumed_epoch]
        print_msg(f"trained epochs {', '.join(map(str, trained)) or 'none: the run was already done'}")
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
        # Where this run's TensorBoard logs went (None: none written).
        "logdir": next((c.log_dir for c in callbacks if isinstance(c, keras.callbacks.TensorBoard)), None),
    }
    with setup.local_only():
        write_outputs(
            args, setup, model, history, results, manager, timing, backend, dataset.arrays.class_names
        )
    print_msg(f"validation accuracy: {results['accuracy']:.4f}")
    return 0


def _chief_s_callbacks(args, setup, callbacks):
    """The callbacks with TensorBoard added last where logs are written (the chief alone writes them);
    EarlyStopping speaks on the chief only."""
    from keras_ext._keras_internals import print_msg
    from keras_ext.callbacks import EarlyStopping

    for callback in callbacks:
        if isinstance(callback, EarlyStopping):
            callback.verbose = int(setup.is_chief)
    directory = logdir(args)
    if directory is None or not setup.is_chief:
        return callbacks
    missing = tensorboard_missing()
    if missing is not None:
        print_msg(f"TensorBoard logs off: they need TensorFlow, which does not import here ({missing})")
        return callbacks
    print_msg(f"TensorBoard logs in {directory}")
    return [*callbacks, make_tensorboard(directory)]


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


def write_outputs(args, setup, model, history, results, manager, timing, backend, class_names=None):
    """model.keras, metrics.json and history.png in --output (the chief only)."""
    from keras_ext._io import save_model_atomically
    from keras_ext._keras_internals import print_msg
    from keras_ext_cli.files import write_json_atomically

    model_path = os.path.join(args.output, "model.keras")
    class_names = None if class_names is None else list(class_names)
    # The label names travel with the model (read them with keras_ext._io.read_keras_ext_metadata).
    save_model_atomically(model, model_path, metadata={"class_names": class_names})
    summary = {
        "model": args.model,
        "dataset": args.dataset,
        "class_names": class_names,
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
        "early_stopping": args.early_stopping,
    }
    write_json_atomically(os.path.join(args.output, "metrics.json"), summary)
    print_msg(f"saved {model_path}")
    try:
        from keras_ext.plots import plot_history

        picture = os.path.join(args.output, "history.png")
        print_msg(f"saved {plot_history(history.history, picture, epochs=history.epoch)}")
    except ImportError as e:  # the model and metrics.json are saved; a missing picture must not fail the run
        print_msg(f"history.png not drawn: {e}")
