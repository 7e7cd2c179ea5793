#!/usr/bin/env bash
# The benchmark table against the next Keras: `benchmarks/fit_vs_custom.py ARGS...` (that is,
# `keras-ext bench`) on the JAX backend, in a venv of its own with keras-nightly at the pin
# .ci/next_keras.sh tests (never a dependency of keras_ext). Run the same ARGS with the
# installed Keras beside it to compare: figures of both in benchmarks/RESULTS.md.
#
#   bash benchmarks/with_keras_nightly.sh --models mlp simplecnn --batch-sizes 32 --data arrays \
#       --output benchmarks/results/jax-cpu-nightly
set -euo pipefail
cd "$(dirname "$0")/.."
pin() { sed -n "s/^$1=//p" .ci/next_keras.sh; }
nightly=$(pin KERAS_NIGHTLY)
jax=$(pin JAX)
venv=$(mktemp -d "${TMPDIR:-/tmp}/keras_ext-bench-nightly.XXXXXX")
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q -e ".[jax]" "jax==$jax" "jaxlib==$jax"
"$venv/bin/python" -m pip uninstall -q -y keras
"$venv/bin/python" -m pip install -q "keras-nightly==$nightly"
KERAS_BACKEND=jax "$venv/bin/python" benchmarks/fit_vs_custom.py "$@"
