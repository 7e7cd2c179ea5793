"""`keras-ext tune`: a keras-tuner search over SimpleCNN that resumes, prunes and writes a leaderboard."""

import os

from keras_ext.cli import _inputs
from keras_ext.cli.arg_types import non_negative_int
from keras_ext.cli.arg_types import positive_int
from keras_ext.cli.errors import UsageError
from keras_ext.cli.errors import input_errors

TUNERS = ("random", "bayesian", "hyperband", "grid")
# Hyperparameters `--hp` may fix or narrow, and the form each takes.
RANGE_HPS = ("num_blocks", "dropout_rate", "weight_decay", "learning_rate")
CHOICE_HPS = ("filters", "kernel_size", "optimizer", "batch_size")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "tune",
        help="search SimpleCNN's hyperparameters with keras-tuner (resumable, prunable, distributed)",
        description=(
            "Search SimpleCNN's architecture, optimizer, learning rate and batch size with "
            "keras-tuner. An existing project resumes (finished trials are kept) unless "
            "--overwrite, with the --objective, --direction and --epochs it was first searched "
            "with (search.json records them; others are refused). At the end it prints a "
            "leaderboard and writes best_model.keras (the best trial's model) and "
            "best_hyperparameters.json when the best trial changed, trials.csv (every trial, "
            "best first) and trials.png (each trial's objective by epoch) to "
            "DIRECTORY/PROJECT_NAME, beside keras-tuner's own files and a trial_<id> folder "
            "per trial (with keras_ext's epochs.json). Trials are numbered from 1, as "
            "keras-tuner's 'Trial #N' counts them. Runs offline on the built-in digits by "
            "default. One search per project at a time: a second one on a project a live "
            "process is searching stops at once. The dataset, the search's settings and "
            "DIRECTORY (created and written to) are checked first: bad input is one line on "
            "stderr and exit status 2, with nothing written."
        ),
    )
    p.add_argument("--tuner", choices=TUNERS, default="random", help="keras-tuner's search algorithm")
    p.add_argument(
        "--max-trials",
        type=positive_int,
        default=10,
        help="trials in all, those a resumed project has already run included",
    )
    p.add_argument(
        "--epochs", type=positive_int, default=5, help="epochs per trial (Hyperband: the most a trial gets)"
    )
    p.add_argument(
        "--executions-per-trial",
        type=positive_int,
        default=1,
        help="trainings per trial, their scores averaged",
    )
    p.add_argument(
        "--objective",
        default="val_accuracy",
        help="a logged metric: val_accuracy, val_loss, val_categorical_true_positives, ...",
    )
    p.add_argument(
        "--direction",
        choices=("min", "max"),
        help="only for an objective whose direction is not known (default: known from the objective)",
    )
    p.add_argument(
        "--directory",
        default="runs/tune",
        help="parent folder of the project; created if missing",
    )
    p.add_argument(
        "--project-name",
        default="simplecnn",
        help="the project's folder in --directory, which gets the results; a rerun resumes it",
    )
    p.add_argument("--overwrite", action="store_true", help="start afresh (default: resume)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (>= 0)")
    p.add_argument(
        "--dataset",
        default="digits",
        help="'digits' (built in, offline), 'fashion_mnist' (downloaded once into Keras's cache), "
        "an IDX directory or an .npz",
    )
    p.add_argument(
        "--hp",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=(
            "fix or narrow a hyperparameter (repeatable): range names "
            f"{', '.join(RANGE_HPS)} take VALUE or MIN:MAX; choice names "
            f"{', '.join(CHOICE_HPS)} take VALUE or V1,V2,... (default: none, SimpleCNNHyperModel's "
            "whole space)"
        ),
    )
    p.add_argument(
        "--prune",
        action="store_true",
        help="stop a trial worse than the median of completed trials at the same epoch",
    )
    p.add_argument(
        "--prune-warmup-trials",
        type=positive_int,
        default=3,
        help="trials that must run to completion before any is pruned",
    )
    p.add_argument(
        "--prune-warmup-epochs",
        type=non_negative_int,
        default=1,
        help="epochs every trial trains before it may be pruned",
    )
    role = p.add_mutually_exclusive_group()
    role.add_argument(
        "--chief",
        action="store_true",
        help="serve trials to workers (keras-tuner's oracle) and write the results",
    )
    role.add_argument("--worker", action="store_true", help="run trials served by a chief")
    p.add_argument(
        "--oracle-ip",
        default=os.environ.get("KERASTUNER_ORACLE_IP", "127.0.0.1"),
        help="the chief's address (default: $KERASTUNER_ORACLE_IP, else 127.0.0.1)",
    )
    p.add_argument(
        "--oracle-port",
        type=positive_int,
        default=int(os.environ.get("KERASTUNER_ORACLE_PORT", "8000")),
        help="the chief's port (default: $KERASTUNER_ORACLE_PORT, else 8000)",
    )
    p.add_argument("--tuner-id", help="this worker's id (default: tuner<pid>)")
    p.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=2,
        help="Keras progress: 0 silent, 1 progress bar, 2 one line per epoch",
    )
    p.set_defaults(run=run)
    return p


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
