"""`keras-ext tune`: a keras-tuner search over SimpleCNN that resumes, prunes and writes a leaderboard.

Its parser is `keras_ext_cli.tune.add_parser`; `keras_ext_cli.main` calls
`run(args)` here once the arguments parse.
"""

import os

from keras_ext.cli import _inputs
from keras_ext.cli.errors import UsageError
from keras_ext.cli.errors import input_errors
from keras_ext_cli.tune import CHOICE_HPS
from keras_ext_cli.tune import RANGE_HPS


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


def _prepare(args):
    """Check everything and return (search, data); raises ValueError before anything is written."""
    import keras

    from keras_ext import tuning

    arrays = _inputs.load_checked_arrays(args.dataset, seed=args.seed)
    hypermodel = tuning.SimpleCNNHyperModel(arrays.input_shape, arrays.num_classes, **parse_hp(args.hp))
    pruning = tuning.MedianPruning(args.prune_warmup_trials, args.prune_warmup_epochs) if args.prune else None
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
    )
    _check_project(search, args)
    keras.utils.set_random_seed(args.seed)
    search.check(arrays.x_train, arrays.y_train)
    return search, arrays


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
        # Before Keras (and with it TensorFlow or JAX) is imported.
        _inputs.check_output_dir(args.directory, "--directory")
        _inputs.probe_output_dir(os.path.join(args.directory, args.project_name), "--directory")
        search, arrays = _prepare(args)
    from keras_ext.tuning import ProjectBusyError

    try:
        with search.lock():
            # Again under the lock: a search that ended meanwhile may have recorded other settings.
            _check_project(search, args)
            return _search(args, search, arrays)
    except ProjectBusyError as e:
        raise UsageError(e) from e


def _search(args, search, arrays):
    import keras

    from keras_ext._keras_internals import print_msg
    from keras_ext.tuning.search import BEST_HYPERPARAMETERS
    from keras_ext.tuning.search import BEST_MODEL
    from keras_ext.tuning.search import TRIALS_CSV

    role = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
    print_msg(
        f"keras-ext tune: {args.tuner} search of SimpleCNN on {args.dataset} "
        f"({len(arrays.x_train)} train / {len(arrays.x_val)} validation images), "
        f"{args.max_trials} trials x {args.epochs} epochs, objective {search.objective.name} "
        f"({search.objective.direction}), project {search.project_dir}, as {role}, "
        f"backend {keras.backend.backend()}",
    )
    board = search.run(
        arrays.x_train,
        arrays.y_train,
        (arrays.x_val, arrays.y_val),
        epochs=args.epochs,
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
