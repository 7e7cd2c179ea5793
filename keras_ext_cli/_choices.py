"""The names the command line's options accept, spelled out so that building the parsers imports no Keras.

Each tuple is a copy of the library's own list, which lives in a module that
imports Keras (and with it TensorFlow or JAX); `--help` and an argument error
must not wait for that. tests/cli/test_help.py checks that each copy equals
its source.
"""

# keras_ext.models._by_name.MODEL_NAMES
MODEL_NAMES = ("simplecnn", "fashioncnn")
# keras_ext.distribute.strategy.STRATEGY_NAMES
STRATEGY_NAMES = ("auto", "default", "mirrored", "multiworker")
# keras_ext.tuning._tuners.TUNERS (its keys)
TUNERS = ("random", "bayesian", "hyperband", "grid")
# keras_ext.benchmarking.workload.BENCH_MODEL_NAMES
BENCH_MODEL_NAMES = ("simplecnn", "fashioncnn", "mlp")
# keras_ext.benchmarking.workload.DATA_KINDS
BENCH_DATA_KINDS = ("arrays", "tf.data")
# keras_ext.benchmarking.variant.VARIANTS
BENCH_VARIANTS = (
    "fit",
    "fit_spe",
    "trainer_graph",
    "trainer_spe",
    "trainer_xla",
    "trainer_eager",
    "bare_loop",
    "scan_reference",
)
