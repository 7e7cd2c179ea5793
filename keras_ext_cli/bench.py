"""The parser of `keras-ext bench` (the command: `keras_ext.cli.bench.run`)."""

from keras_ext_cli._choices import BENCH_DATA_KINDS as DATA_KINDS
from keras_ext_cli._choices import BENCH_MODEL_NAMES
from keras_ext_cli._choices import BENCH_VARIANTS
from keras_ext_cli.arg_types import positive_int


def add_parser(subparsers):
    p = subparsers.add_parser(
        "bench",
        help="benchmark model.fit against the Trainer and a bare GradientTape loop",
        description=(
            "Train SimpleCNN, FashionCNN and a small MLP (where the loop around the steps "
            "shows) on synthetic data (28x28x1 images; 32 features for the MLP) with every variant "
            "(fit and the Trainer, each without and with steps_per_execution, the Trainer's "
            "other modes, the bare GradientTape loop and, on JAX, the same training as one "
            "hand-written lax.scan per pass, the limit) in one process; report steady-state "
            "steps/s (inside one fit call, after a warm-up epoch; median over --rounds "
            "rounds, each fit variant back to back with its Trainer counterpart, and the "
            "Trainer/fit ratios paired round by round) and whole-call steps/s; print a "
            "table and write OUTPUT/results.json (machine, versions, settings, every figure "
            "and ratio) and OUTPUT/chart.png (steady-state images/s with the Trainer/fit "
            "ratios, and whole-call images/s). --quick finishes in about a minute on 2 CPU "
            "cores."
        ),
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="SimpleCNN, batch 32, in-memory arrays; calls of 10 steps x 3 repeats",
    )
    p.add_argument(
        "--models",
        nargs="+",
        choices=BENCH_MODEL_NAMES,
        default=None,
        help=f"models to measure (default: {' '.join(BENCH_MODEL_NAMES)}; simplecnn with --quick)",
    )
    p.add_argument(
        "--batch-sizes",
        nargs="+",
        type=positive_int,
        default=None,
        help="batch sizes to measure (default: 32 256; 32 with --quick)",
    )
    p.add_argument(
        "--data",
        nargs="+",
        choices=DATA_KINDS,
        default=None,
        help=f"how the data is fed (default: {' '.join(DATA_KINDS)}; arrays with --quick)",
    )
    p.add_argument(
        "--variants",
        nargs="+",
        default=None,
        choices=BENCH_VARIANTS,
        metavar="VARIANT",
        help=f"a subset of the variants: {', '.join(BENCH_VARIANTS)} (default: all)",
    )
    p.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        help="steps per whole-call repeat (default: 30; 10 with --quick)",
    )
    p.add_argument(
        "--steady-steps",
        type=positive_int,
        default=200,
        help="timed steps inside one fit call, after a warm-up epoch",
    )
    p.add_argument(
        "--steps-per-execution",
        type=positive_int,
        default=10,
        help="steps_per_execution of the fit_spe and trainer_spe variants",
    )
    p.add_argument(
        "--rounds",
        type=positive_int,
        default=3,
        help="steady-state rounds, each one fit call per steady variant",
    )
    p.add_argument(
        "--repeats",
        type=positive_int,
        default=None,
        help="whole calls timed per variant (default: 5; 3 with --quick)",
    )
    # Not benchmarks/results/: the figures committed there are a record, kept by hand.
    p.add_argument(
        "--output",
        default="runs/bench",
        help="directory for results.json and chart.png; created if missing",
    )
    return p
