"""The parser of `keras-ext tune` (the command: `keras_ext.cli.tune.run`)."""

import argparse
import os

from keras_ext_cli import directory_lock
from keras_ext_cli import tuner_role
from keras_ext_cli._choices import TUNERS
from keras_ext_cli.arg_types import add_verbose_argument
from keras_ext_cli.arg_types import is_module_name
from keras_ext_cli.arg_types import non_negative_int
from keras_ext_cli.arg_types import positive_int
from keras_ext_cli.errors import UsageError

# `--prune`'s schedulers, and the options that belong to each (the other's are refused).
PRUNERS = ("median", "asha")
PRUNER_DEFAULTS = {
    "median": {"prune_warmup_trials": 3, "prune_warmup_epochs": 1},
    "asha": {"prune_min_epochs": 1, "prune_reduction_factor": 3},
}

# Hyperparameters `--hp` may fix or narrow, and the form each takes.
RANGE_HPS = ("num_blocks", "dropout_rate", "weight_decay", "learning_rate")
CHOICE_HPS = ("filters", "kernel_size", "optimizer", "batch_size")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "tune",
        help="search SimpleCNN's or your hypermodel's hyperparameters with keras-tuner "
        "(resumable, prunable, distributed)",
        description=(
            "Search SimpleCNN's architecture, optimizer, learning rate and batch size with "
            "keras-tuner, or the space of your own hypermodel (--hypermodel). An existing project resumes (finished trials are kept) unless "
            "--overwrite, with the --objective, --direction and --epochs it was first searched "
            "with (search.json records them; others are refused). At the end it prints a "
            "leaderboard and writes best_model.keras (the best trial's model) and "
            "best_hyperparameters.json when the best trial changed, trials.csv (every trial, "
            "best first) and trials.png (each trial's objective by epoch) to "
            "DIRECTORY/PROJECT_NAME, beside keras-tuner's own files and a trial_<id> folder "
            "per trial (with keras_ext's epochs.json), and each trial's TensorBoard logs with its "
            "hyperparameters (hparams) in LOGDIR/<trial id>. Trials are numbered from 1, as "
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
        help="the project's folder in --directory, which gets the results; a rerun resumes it "
        "(default: simplecnn; with --hypermodel MODULE:NAME, MODULE.NAME)",
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
        "--hypermodel",
        type=_hypermodel,
        metavar="MODULE:NAME",
        help=(
            "search your own space: a function build(hp) returning a compiled keras.Model, or a "
            "keras_tuner.HyperModel subclass (made with no arguments) or instance, in a module on "
            "the import path (default: none, SimpleCNN's space)"
        ),
    )
    p.add_argument(
        "--hp",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=(
            "fix or narrow a hyperparameter (repeatable): range names "
            f"{', '.join(RANGE_HPS)} take VALUE or MIN:MAX; choice names "
            f"{', '.join(CHOICE_HPS)} take VALUE or V1,V2,...; SimpleCNN's space only, not "
            "--hypermodel's (default: none, SimpleCNNHyperModel's whole space)"
        ),
    )
    p.add_argument(
        "--logdir",
        help="directory for TensorBoard logs, LOGDIR/<trial id>/execution0 per trial with its "
        "hyperparameters (hparams), created if missing; '' writes none. Needs the tensorboard package "
        "and the TensorFlow backend: without them tune says logs are off and searches on (default: "
        "DIRECTORY/PROJECT_NAME/logs)",
    )
    p.add_argument(
        "--prune",
        nargs="?",
        const="median",
        choices=PRUNERS,
        help="stop hopeless trials early: 'median' (--prune alone) stops a trial worse than the median "
        "of completed trials at the same epoch; 'asha' (successive halving) stops a trial at epoch "
        "MIN_EPOCHS x FACTOR^k unless it is in the best 1/FACTOR of all trials that got there "
        "(default: no pruning)",
    )
    p.add_argument(
        "--prune-warmup-trials",
        type=positive_int,
        help="median: trials that must run to completion before any is pruned (default: 3)",
    )
    p.add_argument(
        "--prune-warmup-epochs",
        type=non_negative_int,
        help="median: epochs every trial trains before it may be pruned (default: 1)",
    )
    p.add_argument(
        "--prune-min-epochs",
        type=positive_int,
        help="asha: epochs every trial trains, the first rung (default: 1)",
    )
    p.add_argument(
        "--prune-reduction-factor",
        type=positive_int,
        help="asha: the rungs' spacing and the share kept at each, 1/FACTOR (default: 3, at least 2)",
    )
    p.add_argument(
        "--isolate-trials",
        action="store_true",
        help="train each trial in a fresh child process, so no trial's memory stays behind in the search's "
        "process (20 trials grow it by tens of MB instead of hundreds); each trial pays the child's start-up "
        "(importing Keras and the backend, seconds)",
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
    add_verbose_argument(p)
    return p


def _hypermodel(text):
    """MODULE:NAME; only the form is checked here (importing the module would import Keras):
    `keras_ext.cli.tune` imports it and looks NAME up before anything is written."""
    if is_module_name(text):
        return text
    raise argparse.ArgumentTypeError(
        f"must be MODULE:NAME (a build(hp) function or a keras_tuner.HyperModel on the import path), "
        f"got {text}"
    )


def project_name(args):
    """--project-name, else `simplecnn`, or MODULE.NAME for `--hypermodel MODULE:NAME`."""
    if args.project_name:
        return args.project_name
    return args.hypermodel.replace(":", ".") if args.hypermodel else "simplecnn"


def check_before_keras(args):
    """Refuse a `--prune` option of the scheduler not chosen, a reduction factor below 2, and a
    project another live search holds (after the arguments' own checks)."""
    for pruner, defaults in PRUNER_DEFAULTS.items():
        given = [name for name in defaults if getattr(args, name) is not None]
        if given and args.prune != pruner:
            chosen = f"not to --prune {args.prune}" if args.prune else "and this search has no --prune"
            raise UsageError(f"--{given[0].replace('_', '-')} applies to --prune {pruner}, {chosen}.")
    if args.prune_reduction_factor is not None and args.prune_reduction_factor < 2:
        raise UsageError(f"--prune-reduction-factor must be at least 2, got {args.prune_reduction_factor}.")
    _refuse_a_busy_project(args)


def _refuse_a_busy_project(args):
    """Refuse a project another live process searches, before Keras and its backend start.

    Otherwise the second search is refused only at `Search.lock()`, after the
    backend's start-up and the dataset's loading (10 to 30 s). This is a look,
    not the hold: the search takes the lock itself (and refuses a process that
    took it in between). A distributed search's workers share the chief's
    project and take no lock.
    """
    if args.worker or (not args.chief and tuner_role.is_worker()):
        return
    project = os.path.join(args.directory, project_name(args))
    directory_lock.refuse_if_held(project, directory_lock.project_busy)


def pruner_settings(args):
    """`--prune`'s scheduler's options, defaults filled in: {} without --prune."""
    defaults = PRUNER_DEFAULTS.get(args.prune, {})
    return {
        name: default if getattr(args, name) is None else getattr(args, name)
        for name, default in defaults.items()
    }
