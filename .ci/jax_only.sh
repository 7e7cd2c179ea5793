#!/usr/bin/env bash
# The JAX test pass, in a fresh venv that has no TensorFlow, so that TensorFlow
# cannot creep back unnoticed into what must work with JAX alone (import
# keras_ext, the data pipelines, the callbacks, the Trainer, keras-ext train).
# Usage: .ci/jax_only.sh [PYTEST_OPTION...] TEST_PATH...   (the README's test command calls it)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d /tmp/keras_ext-jax-only.XXXXXX)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
# Lean on purpose: only what the project declares for JAX plus the test runner.
"$venv/bin/python" -m pip install -q -e ".[jax]" "pytest>=7" pytest-timeout pytest-xdist
if ! "$venv/bin/python" -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('tensorflow') is not None)"; then
    echo ".ci/jax_only.sh: tensorflow got installed into the JAX-only venv; something requires it:" >&2
    "$venv/bin/python" -m pip show tensorflow tensorflow-cpu 2>/dev/null | grep -E '^(Name|Required-by)' >&2 || true
    exit 1
fi
KERAS_BACKEND=jax "$venv/bin/python" -m pytest -q "$@"
