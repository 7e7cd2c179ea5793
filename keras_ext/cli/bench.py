"""`keras-ext bench`: steps/s of model.fit vs the Trainer vs the bare loop (table, JSON, PNG).

Its parser is `keras_ext_cli.bench.add_parser`; `keras_ext_cli.main` calls
`run(args)` here once the arguments parse.
"""

from keras_ext.cli import _inputs
from keras_ext_cli._choices import BENCH_DATA_KINDS as DATA_KINDS
from keras_ext_cli._choices import BENCH_MODEL_NAMES


def settings_from_args(args):
    quick = args.quick
    return dict(
        models=args.models or (("simplecnn",) if quick else BENCH_MODEL_NAMES),
        batch_sizes=args.batch_sizes or ((32,) if quick else (32, 256)),
        data_kinds=args.data or (("arrays",) if quick else DATA_KINDS),
        steps=args.steps or (10 if quick else 30),
        repeats=args.repeats or (3 if quick else 5),
        variants=args.variants,
        steady_steps=args.steady_steps,
        steps_per_execution=args.steps_per_execution,
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
