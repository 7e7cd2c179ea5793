"""`keras-ext tune`: a keras-tuner search over SimpleCNN, or the user's hypermodel, that resumes,
prunes, writes a leaderboard and each trial's TensorBoard hparams.

Its parser is `keras_ext_cli.tune.add_parser`; `keras_ext_cli.main` calls
`run(args)` here once the arguments parse.
"""

import os

from keras_ext.cli import _inputs
from keras_ext.cli.errors import UsageError
from keras_ext.cli.errors import input_errors
from keras_ext_cli.tune import CHOICE_HPS
from keras_ext_cli.tune import RANGE_HPS
from keras_ext_cli.tune import project_name


def parse_hp(items):
    """Turn `--hp NAME=VALUE` items into SimpleCNNHyperModel keyword arguments."""
    kwargs = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not text:
            raise ValueError(f"--hp expects NAME=VALUE, got {item!r}.")
        if name in RANGE_HPS:
            parts = text.split(":")
            if len(parts) > 2:
                raise ValueError(f"--hp {name} takes VALUE or MIN:MAX, got {text!r}.")
            values = tuple(_number(v, name) for v in parts)
            kwargs[name] = values[0] if len(values) == 1 else values
        elif name in CHOICE_HPS:
            parts = text.split(",")
            kwargs[name] = tuple(v if name == "optimizer" else _number(v, name) for v in parts)
        else:
            raise ValueError(
                f"--hp: unknown hyperparameter {name!r}; expected one of {list(RANGE_HPS + CHOICE_HPS)}."
            )
    return kwargs


def _number(text, name):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    raise ValueError(f"--hp {name}: {text!r} is not a number.")


def _set_role(args):
    """Set keras-tuner's distribution variables for --chief / --worker (before any tuner exists)."""
    if not (args.chief or args.worker):
        return
    tuner_id = "chief" if args.chief else (args.tuner_id or f"tuner{os.getpid()}")
    if args.worker and "chief" in tuner_id:
        raise ValueError(f"--tuner-id {tuner_id!r}: a worker's id must not contain 'chief'.")
    os.environ["KERASTUNER_TUNER_ID"] = tuner_id
    os.environ["KERASTUNER_ORACLE_IP"] = args.oracle_ip
    os.environ["KERASTUNER_ORACLE_PORT"] = str(args.oracle_port)


def _pruning(args):
    """The search's pruning callback from `--prune` and its options (checked before Keras)."""
    from keras_ext import tuning
    from keras_ext_cli.tune import pruner_settings

    settings = pruner_settings(args)
    if args.prune == "median":
        return tuning.MedianPruning(settings["prune_warmup_trials"], settings["prune_warmup_epochs"])
    if args.prune == "asha":
        return tuning.SuccessiveHalving(settings["prune_min_epochs"], settings["prune_reduction_factor"])
    return None


def _prepare(args):
    """Check everything and return (search, data); raises ValueError before anything is written."""
    import keras

    from keras_ext import tuning

    hypermodel = _user_hypermodel(args.hypermodel) if args.hypermodel else None
    arrays = _inputs.load_checked_arrays(args.dataset, seed=args.seed)
    if hypermodel is None:
        hypermodel = tuning.SimpleCNNHyperModel(arrays.input_shape, arrays.num_classes, **parse_hp(args.hp))
    pruning = _pruning(args)
    search = tuning.Search(
        hypermodel,
        tuner=args.tuner,
        objective=args.objective,
        direction=args.direction,
        max_trials=args.max_trials,
        executions_per_trial=args.executions_per_trial,
        directory=args.directory,
        project_name=args.project_name,
        overwrite=args.overwrite,
        seed=args.seed,
        pruning=pruning,
        isolate_trials=args.isolate_trials,
    )
    _check_project(search, args)
    keras.utils.set_random_seed(args.seed)
    if not args.hypermodel:
        search.check(arrays.x_train, arrays.y_train)
        return search, arrays
    try:
        search.check(arrays.x_train, arrays.y_train)
    except Exception as e:  # the user's build(hp) may raise anything; one line, as for every bad input
        first_line = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UsageError(f"--hypermodel {args.hypermodel}: {first_line}") from e
    return search, arrays


def _user_hypermodel(spec):
    """The build(hp) function or keras_tuner.HyperModel `--hypermodel MODULE:NAME` names (a HyperModel
    subclass is made with no arguments); UsageError, one line, for anything else."""
    import keras_tuner

    from keras_ext.cli._model import look_up

    obj = look_up(spec, "--hypermodel")
    name = spec.partition(":")[2]
    if isinstance(obj, type) and issubclass(obj, keras_tuner.HyperModel):
        try:
            return obj()
        except Exception as e:
            raise UsageError(
                f"--hypermodel {spec}: cannot make a {name} with no arguments ({e}); name an instance "
                "made in the module instead"
            ) from e
    if isinstance(obj, keras_tuner.HyperModel) or (callable(obj) and not isinstance(obj, type)):
        return obj
    raise UsageError(
        f"--hypermodel {spec}: {name} is a {'class' if isinstance(obj, type) else type(obj).__name__}"
        f"{'' if not isinstance(obj, type) else ' that is not a keras_tuner.HyperModel'}; expected a "
        "function build(hp) that returns a compiled keras.Model, or a keras_tuner.HyperModel"
    )


def _tensorboard_logdir(args):
    """(the TensorBoard log directory or None, a line saying why there is none or None).

    UsageError for an explicit --logdir that cannot be written, or where
    keras-tuner cannot write hparams (see `why_no_hparams_logs`).
    """
    from keras_ext.tuning._tuners import why_no_hparams_logs

    if args.logdir == "":
        return None, None
    reason = why_no_hparams_logs()
    if args.logdir is None:
        if reason is not None:
            return None, f"TensorBoard logs are off: {reason}"
        return os.path.join(args.directory, args.project_name, "logs"), None
    if reason is not None:
        raise UsageError(f"--logdir {args.logdir}: {reason}")
    return args.logdir, None


def _check_project(search, args):
    """Refuse, as one line, a resumed project searched with another objective or number of epochs."""
    from keras_ext.tuning import SearchSettingsChanged

    try:
        search.check_project(args.epochs)
    except SearchSettingsChanged as e:
        raise UsageError(_settings_message(e, search.hypermodel)) from e


def _settings_message(error, hypermodel):
    from keras_ext.tuning.search import known_direction

    recorded = error.recorded
    flags = f"--objective {recorded['objective']}"
    # --direction only where the objective alone would not give the recorded one.
    if recorded.get("direction") and recorded["direction"] != known_direction(
        recorded["objective"], hypermodel
    ):
        flags += f" --direction {recorded['direction']}"
    if recorded.get("epochs") is not None:
        flags += f" --epochs {recorded['epochs']}"
    return (
        f"the project {error.project_dir} was searched with {flags}; rerun with those, or use a new "
        "--directory or --project-name (--overwrite starts it afresh)"
    )


def run(args):
    with input_errors():
        _set_role(args)
        if args.hypermodel and args.hp:
            raise UsageError(
                "--hp narrows SimpleCNN's space only; with --hypermodel, your build(hp) defines the space"
            )
        args.project_name = project_name(args)
        # Before Keras (and with it TensorFlow or JAX) is imported.
        _inputs.check_output_dir(args.directory, "--directory")
        if args.logdir:
            _inputs.check_output_dir(args.logdir, "--logdir")
        _inputs.probe_output_dir(os.path.join(args.directory, args.project_name), "--directory")
        if args.logdir:
            _inputs.probe_output_dir(args.logdir, "--logdir")
        logdir, no_logs = _tensorboard_logdir(args)
        search, arrays = _prepare(args)
    from keras_ext.tuning import ProjectBusyError

    try:
        with search.lock():
            # Again under the lock: a search that ended meanwhile may have recorded other settings.
            _check_project(search, args)
            return _search(args, search, arrays, logdir, no_logs)
    except ProjectBusyError as e:
        raise UsageError(e) from e


def _search(args, search, arrays, logdir, no_logs):
    import keras

    from keras_ext._keras_internals import print_msg
    from keras_ext.tuning.search import BEST_HYPERPARAMETERS
    from keras_ext.tuning.search import BEST_MODEL
    from keras_ext.tuning.search import TRIALS_CSV

    role = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
    print_msg(
        f"keras-ext tune: {args.tuner} search of {args.hypermodel or 'SimpleCNN'} on {args.dataset} "
        f"({len(arrays.x_train)} train / {len(arrays.x_val)} validation images), "
        f"{args.max_trials} trials x {args.epochs} epochs, objective {search.objective.name} "
        f"({search.objective.direction}), project {search.project_dir}, as {role}, "
        f"backend {keras.backend.backend()}",
    )
    callbacks = []
    if logdir is not None:
        print_msg(f"keras-ext tune: TensorBoard logs with each trial's hparams in {logdir}")
        # No graph: a trial's model is in its checkpoint; the hparams and scalars are what compare trials.
        callbacks.append(keras.callbacks.TensorBoard(logdir, write_graph=False))
    elif no_logs is not None:
        print_msg(f"keras-ext tune: {no_logs}")
    board = search.run(
        arrays.x_train,
        arrays.y_train,
        (arrays.x_val, arrays.y_val),
        epochs=args.epochs,
        callbacks=callbacks,
        verbose=args.verbose,
    )
    if board is None:
        print_msg(f"keras-ext tune: worker {role} finished; the chief writes the results.")
        return 0
    print_msg(board.format())
    written = [TRIALS_CSV]
    if board.best is not None:
        best = board.best
        at_epoch = "" if best["best_epoch"] is None else f", epoch {best['best_epoch']}"
        print_msg(
            f"best trial #{best['trial']} (trial_{best['trial_id']}{at_epoch}): "
            f"{search.objective.name} = {best['score']:.6f}"
        )
        if search.best_written:
            written = [BEST_MODEL, BEST_HYPERPARAMETERS, TRIALS_CSV]
        else:
            print_msg(
                f"kept {BEST_MODEL} and {BEST_HYPERPARAMETERS}: no trial of this run beats the best "
                "they already hold"
            )
    print_msg("wrote " + ", ".join(os.path.join(search.project_dir, name) for name in written))
    try:
        from keras_ext.plots import plot_trials

        picture = os.path.join(search.project_dir, "trials.png")
        best = None if board.best is None else board.best["trial_id"]
        print_msg(
            f"wrote {plot_trials(search.project_dir, search.objective.name, picture, best_trial_id=best)}"
        )
    except ImportError as e:  # the results are written; a missing picture must not fail the search
        print_msg(f"trials.png not drawn: {e}")
    return 0
