#!/usr/bin/env bash
# The next Keras, before it is released (issue 22): the resume, resume-guard, internals,
# serialization and a few Trainer tests on one pinned keras-nightly build, JAX backend, in a
# venv of its own. .ci/lowest_versions.sh proves the lowest declared versions, the README's
# test command the newest release; this proves the one after it, so that a Keras change
# inside fit (3.16 compiles steps_per_execution > 1 into one lax.scan on JAX) fails here
# first, not on a user's machine the day they upgrade.
set -euo pipefail
cd "$(dirname "$0")/.."

# THE PIN. Change it deliberately, in a commit of its own that says what changed in Keras
# (and bump it when a new Keras is released, or when the tests below need a newer nightly).
# setup.cfg caps keras below the release after this pin's series (<3.17): raise the cap with it.
KERAS_NIGHTLY=3.16.0.dev2026102704
# The JAX the pin was tried with (the one the README's test command installs today).
JAX=0.10.2

venv=$(mktemp -d /tmp/keras_ext-next-keras.XXXXXX)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
py="$venv/bin/python"
# The project's JAX install; its keras (a release, pulled in by the project and keras-tuner)
# is then replaced by the nightly, which installs the same `keras` package.
"$py" -m pip install -q -e ".[jax]" "jax==$JAX" "jaxlib==$JAX" "pytest>=7" pytest-timeout
"$py" -m pip uninstall -q -y keras
"$py" -m pip install -q "keras-nightly==$KERAS_NIGHTLY"
KERAS_BACKEND=jax "$py" - "$KERAS_NIGHTLY" <<'PY'
import importlib.metadata as metadata
import sys

import keras

if keras.__version__ != sys.argv[1]:
    sys.exit(f".ci/next_keras.sh: keras {keras.__version__} is imported, not the pinned nightly {sys.argv[1]}")
try:
    sys.exit(f".ci/next_keras.sh: the keras release {metadata.version('keras')} is installed beside the nightly")
except metadata.PackageNotFoundError:
    pass
print(f"next Keras: keras-nightly {keras.__version__}, jax {metadata.version('jax')}")
PY

# About 4 minutes of tests on 2 CPU cores: the resume with steps_per_execution (what 3.16
# changed), the guard's cases with three steps per call (one crash run between them), the fence
# around Keras internals, serialization, and the Trainer against fit with steps_per_execution.
# Everything else runs on the released Keras in the README's test command.
guard=tests/callbacks/test_resume_guard.py
trainer=tests/training/test_trainer_fit_arguments.py
KERAS_BACKEND=jax "$py" -m pytest -q -p no:cacheprovider \
    tests/callbacks/test_resume_steps_per_execution.py \
    "$guard::test_a_resume_where_the_checkpoint_says_passes_the_guard[mid-epoch-3]" \
    "$guard::test_a_fast_forward_one_call_short_is_stopped_before_any_step[3]" \
    "$guard::test_a_fast_forward_drawing_two_calls_at_once_is_stopped_before_any_step[3]" \
    "$guard::test_fit_starting_at_another_epoch_is_stopped_before_any_step" \
    tests/test_keras_internals.py \
    tests/test_serialization.py \
    "$trainer::test_steps_per_execution_matches_fit_with_the_same_setting[spe3-graph]" \
    "$trainer::test_steps_per_execution_resumes_mid_epoch_exactly"
