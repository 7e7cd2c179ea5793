"""Benchmarks of `model.fit` against the Trainer and a bare GradientTape loop (what `keras-ext bench` runs).

`run_benchmark` measures steps/s of every variant (`variant_names`) at
steady state and per whole call; `format_table` and `write_outputs` show
and keep the figures (a table; results.json with `environment()`'s record
of the machine and versions; chart.png). `BareLoop` is the TF2 example's
loop, the floor the others are measured against. Nothing in
`keras_ext.training` imports this package.
"""

from keras_ext.benchmarking.bare_loop import BareLoop
from keras_ext.benchmarking.environment_record import environment
from keras_ext.benchmarking.report import format_table
from keras_ext.benchmarking.report import write_outputs
from keras_ext.benchmarking.runner import run_benchmark
from keras_ext.benchmarking.variant import VARIANTS
from keras_ext.benchmarking.variant import variant_names

__all__ = [
    "VARIANTS",
    "BareLoop",
    "environment",
    "format_table",
    "run_benchmark",
    "variant_names",
    "write_outputs",
]
