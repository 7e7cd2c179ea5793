"""`keras-ext --help` answers at once and in full: no backend imported, every default shown, every
file a command writes named."""

import configparser
import os
import subprocess
import sys

import pytest

from keras_ext_cli import _choices
from keras_ext_cli import defaults
from keras_ext_cli.main import build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# What --help and an argument error must not import: the backends, Keras, and keras_ext (whose
# __init__ imports Keras).
HEAVY = ("tensorflow", "jax", "keras", "keras_ext")
# Each command's output files, as the commands write them (tests/cli/test_train.py, test_tune.py and
# test_bench.py check the files themselves).
FILES_WRITTEN = {
    "train": ("model.keras", "metrics.json", "history.png"),
    "tune": ("best_model.keras", "best_hyperparameters.json", "trials.csv", "trials.png"),
    "bench": ("results.json", "chart.png"),
}
# Help and argument errors: each returns before any command runs.
ARGVS = (
    ["--help"],
    ["train", "--help"],
    ["tune", "--help"],
    ["bench", "--help"],
    ["train", "--epochs", "0"],
    ["tune", "--tuner", "annealing"],
    ["bench", "--variants", "warp_speed"],
    ["frobnicate"],
)


def _subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def _option_blocks(help_text):
    """{first option string: its lines of help} for every option `format_help` lists."""
    blocks, current = {}, None
    for line in help_text.splitlines():
        if line.startswith("  -"):
            current = line.split()[0].rstrip(",")
            blocks[current] = line
        elif current and line.startswith(" " * 6):
            blocks[current] += " " + line.strip()
        else:
            current = None
    return blocks


@pytest.mark.parametrize("command", sorted(FILES_WRITTEN))
def test_help_shows_every_default(command, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    parser = _subcommands()[command]
    blocks = _option_blocks(parser.format_help())
    options = [a.option_strings[0] for a in parser._actions if a.option_strings and a.dest != "help"]
    assert sorted(blocks) == sorted(["-h", *options])
    for option in options:
        assert "(default: " in blocks[option], blocks[option]
    if command == "train":
        assert "(default: 20)" in blocks["--epochs"] and "(default: runs/train)" in blocks["--output"]
    if command == "bench":
        assert "(default: runs/bench)" in blocks["--output"]


@pytest.mark.parametrize("command", sorted(FILES_WRITTEN))
def test_help_names_every_file_the_command_writes(command):
    text = " ".join(_subcommands()[command].format_help().split())
    for name in FILES_WRITTEN[command]:
        assert name in text, name


def test_bench_writes_to_runs_bench_not_the_committed_results():
    args = build_parser().parse_args(["bench"])
    assert args.output == "runs/bench"


def test_the_copied_choices_are_the_library_s():
    from keras_ext.benchmarking import variant
    from keras_ext.benchmarking import workload
    from keras_ext.distribute import strategy
    from keras_ext.models import _by_name
    from keras_ext.tuning import _tuners

    assert _choices.MODEL_NAMES == _by_name.MODEL_NAMES
    assert _choices.STRATEGY_NAMES == strategy.STRATEGY_NAMES
    assert _choices.TUNERS == tuple(_tuners.TUNERS)
    assert _choices.BENCH_DATA_KINDS == workload.DATA_KINDS
    assert _choices.BENCH_MODEL_NAMES == workload.BENCH_MODEL_NAMES
    assert _choices.BENCH_VARIANTS == variant.VARIANTS


def test_prune_s_defaults_are_the_schedulers_own():
    # keras_ext_cli copies them (it imports no Keras); the help quotes them.
    import inspect

    from keras_ext.tuning import MedianPruning
    from keras_ext.tuning import SuccessiveHalving
    from keras_ext_cli.tune import PRUNER_DEFAULTS

    for pruner, cls in (("median", MedianPruning), ("asha", SuccessiveHalving)):
        own = {name: p.default for name, p in inspect.signature(cls).parameters.items()}
        assert {
            name: own[name.removeprefix("prune_")] for name in PRUNER_DEFAULTS[pruner]
        } == PRUNER_DEFAULTS[pruner]


def test_train_s_defaults_are_the_search_s():
    from keras_ext.tuning import SimpleCNNHyperModel
    from keras_ext.tuning import hypermodel

    args = build_parser().parse_args(["train"])
    assert hypermodel.TRAIN_DEFAULTS is defaults.TRAIN_DEFAULTS
    assert (args.learning_rate, args.batch_size, args.dropout_rate) == tuple(
        defaults.TRAIN_DEFAULTS[k] for k in ("learning_rate", "batch_size", "dropout_rate")
    )
    search = SimpleCNNHyperModel((8, 8, 1), 10)
    assert (args.decay_steps, args.decay_rate) == (search.decay_steps, search.decay_rate)


def _console_script():
    """The `keras-ext` entry point as setup.cfg declares it: (module, function)."""
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    lines = config["options.entry_points"]["console_scripts"].strip().splitlines()
    scripts = {name.strip(): target.strip() for name, target in (line.split("=", 1) for line in lines)}
    module, function = scripts["keras-ext"].split(":")
    return module, function


@pytest.mark.parametrize("argv", ARGVS, ids=" ".join)
def test_help_and_argument_errors_import_no_backend_from_the_console_command(argv):
    # The console script's own module and function, run as a user runs it: no TF_CPP_MIN_LOG_LEVEL,
    # so a backend's start-up logs would show; -X importtime lists every module imported.
    module, function = _console_script()
    code = f"import sys; from {module} import {function}; sys.exit({function}())"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line]
    assert "argparse" in imported  # -X importtime did list the imports
    assert not [m for m in imported if m.split(".")[0] in HEAVY], argv
    shown = [line for line in proc.stderr.splitlines() if not line.startswith("import time:")]
    if "--help" in argv:
        assert proc.returncode == 0 and shown == [], shown
    else:
        assert proc.returncode == 2 and len(shown) == 1, shown
        assert shown[0].startswith(f"keras-ext {argv[0]}: error: " if len(argv) > 1 else "keras-ext: error: ")
    if argv == ["train", "--help"]:
        assert "(default: 20)" in " ".join(proc.stdout.split())


def test_python_m_keras_ext_cli_is_the_console_script():
    assert _console_script() == ("keras_ext_cli.main", "main")
    proc = subprocess.run(
        [sys.executable, "-m", "keras_ext_cli", "train", "--epochs", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "keras-ext train: error: argument --epochs: must be a positive integer, got 0"
    ]
