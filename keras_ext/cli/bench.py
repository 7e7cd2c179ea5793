"""`keras-ext bench`: steps/s of model.fit vs the Trainer vs the bare loop (table, JSON, PNG)."""

from keras_ext.cli import _inputs
from keras_ext.cli._choices import BENCH_DATA_KINDS as DATA_KINDS
from keras_ext.cli._choices import BENCH_VARIANTS
from keras_ext.cli._choices import MODEL_NAMES
from keras_ext.cli.arg_types import positive_int


def add_parser(subparsers):
    p = subparsers.add_parser(
        "bench",
        help="benchmark model.fit against the Trainer and a bare GradientTape loop",
        description=(
            "Train SimpleCNN and FashionCNN on synthetic 28x28x1 data with every variant "
            "(fit and the Trainer, each without and with steps_per_execution, the Trainer's "
            "other modes, the bare GradientTape loop) in one process; report steady-state "
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
        choices=MODEL_NAMES,
        default=None,
        help=f"models to measure (default: {' '.join(MODEL_NAMES)}; simplecnn with --quick)",
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
    p.set_defaults(run=run)
    return p


def settings_from_args(args):
    quick = args.quick
    return dict(
        models=args.models or (("simplecnn",) if quick else MODEL_NAMES),
        batch_sizes=args.batch_sizes or ((32,) if quick else (32, 256)),
        data_kinds=args.data or (("arrays",) if quick else DATA_KINDS),
        steps=args.steps or (10 if quick else 30),
        repeats=args.repeats or (3 if quick else 5),
        variants=args.variants,
        steady_steps=args.steady_steps,
        rounds=args.rounds,
    )


def run(args):
    # Before Keras (and with it TensorFlow or JAX) is imported.
    _inputs.check_output_dir(args.output)
    _inputs.probe_output_dir(args.output)
    import keras

    from keras_ext import benchmarking
    from keras_ext._keras_internals import print_msg

    settings = settings_from_args(args)
    known = benchmarking.variant_names(keras.backend.backend())
    if settings["variants"]:
        # On JAX "trainer_xla" is the same jitted step as "trainer_graph".
        settings["variants"] = [v for v in settings["variants"] if v in known]
    env = benchmarking.environment()
    print_msg(f"keras-ext bench: backend {env['backend']} on {env.get('device')}, keras {env['keras']}")
    results = benchmarking.run_benchmark(**settings, log=print_msg)
    print_msg("")
    print_msg(benchmarking.format_table(results))
    json_path, png_path = benchmarking.write_outputs(results, args.output)
    print_msg(f"\nwrote {json_path} and {png_path}")
    return 0
