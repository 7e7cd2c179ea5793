#!/usr/bin/env bash
# Issue 19's GPU table as one command for a lent GPU machine (the device tool): SimpleCNN and
# FashionCNN at batch 32 and 256 on in-memory arrays, Keras's `fit` against the Trainer, step by
# step and fused (`steps_per_execution=10`), on Keras 3.15 and on keras-nightly at the pin
# .ci/next_keras.sh tests; JAX backend (that machine has JAX and neither Keras nor TensorFlow).
#
# Here, once, in the repository root (wheels for the device's Python 3.12, git-ignored):
#   bash benchmarks/gpu_table.sh --download
# Then through the device tool, carrying .whl and .whl-nightly (about 8 minutes on an H100):
#   bash benchmarks/gpu_table.sh "$OUT"
# It writes OUT/keras/results.json and OUT/nightly/results.json; RESULTS.md's tables come from
# them (`python benchmarks/results_markdown.py DIR/results.json`). Each run is a fresh process,
# so the two Keras versions never share one. `BENCH_ARGS` overrides the table's options, and
# WHEELS=0 uses the Keras installed here instead of the wheels (a smoke test on this VM:
# WHEELS=0 BENCH_ARGS="--quick" bash benchmarks/gpu_table.sh /tmp/out).
set -euo pipefail
cd "$(dirname "$0")/.."
pin() { sed -n "s/^$1=//p" .ci/next_keras.sh; }
nightly=$(pin KERAS_NIGHTLY)
keras_release=3.15.1

if [ "${1:-}" = "--download" ]; then
  grep -qx "/.whl/" .git/info/exclude || echo "/.whl/" >>.git/info/exclude
  grep -qx "/.whl-nightly/" .git/info/exclude || echo "/.whl-nightly/" >>.git/info/exclude
  get() {
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d "$@"
  }
  # Keras's own needs that the device's image lacks (it has numpy, absl-py, h5py, rich, ml-dtypes).
  get .whl "keras==$keras_release" namex optree
  get .whl-nightly "keras-nightly==$nightly"
  exit 0
fi

out=${1:?usage: bash benchmarks/gpu_table.sh OUT_DIR   (or --download, here, first)}
read -r -a bench_args <<<"${BENCH_ARGS:---models simplecnn fashioncnn --batch-sizes 32 256 --data arrays \
--variants fit fit_spe trainer_graph trainer_spe --rounds 3 --repeats 3 --steps 20}"
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
run_with() { # SITE WHEEL_DIR... : install the wheels into SITE, then the table with that Keras
  local site=$1 name=$2
  shift 2
  if [ "${WHEELS:-1}" != 0 ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" "$@"
  fi
  PYTHONPATH="$site:$PWD" python3 benchmarks/fit_vs_custom.py "${bench_args[@]}" --output "$out/$name"
}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no NVIDIA GPU"
run_with /tmp/site-keras keras .whl/*.whl
# keras-nightly installs the same `keras` package: its own site, with Keras's needs from .whl.
run_with /tmp/site-nightly nightly .whl-nightly/*.whl $(ls .whl/*.whl 2>/dev/null | grep -v "/keras-")
