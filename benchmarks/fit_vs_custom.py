"""Benchmark model.fit against keras_ext's Trainer and a bare GradientTape loop.

Same as `keras-ext bench`; run from the repository root:

    python benchmarks/fit_vs_custom.py --quick            # about a minute on 2 CPU cores
    python benchmarks/fit_vs_custom.py --output benchmarks/results
    KERAS_BACKEND=jax python benchmarks/fit_vs_custom.py  # the JAX backend

It prints a table, and writes results.json (backend, device, versions,
every figure, the ratios) and chart.png to --output.
"""

import sys

from keras_ext.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
