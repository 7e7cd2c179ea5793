#!/usr/bin/env bash
# The resume, Trainer and serialization tests on the lowest Keras, TensorFlow and
# keras-tuner that setup.cfg declares (pins from .ci/lowest_pins.py), in a fresh
# venv: the declared minimum is the version CI proves. The newest versions are
# what the README's test command installs.
set -euo pipefail
cd "$(dirname "$0")/.."
pins=$(python3 .ci/lowest_pins.py cpu)
echo "lowest declared versions: $pins"
venv=$(mktemp -d /tmp/keras_ext-lowest.XXXXXX)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
# shellcheck disable=SC2086  # $pins is a list of requirements
"$venv/bin/python" -m pip install -q -e ".[cpu]" $pins "pytest>=7" pytest-timeout pytest-xdist
"$venv/bin/python" -m pip list 2>/dev/null | grep -iE '^(keras|keras-tuner|tensorflow-cpu|numpy) '
# Not the tests that kill training processes (test_sigkill_exactness.py, and the two
# SIGTERM-a-process tests of test_preemption.py): they take half of this job's time,
# and what they rest on with Keras (the restore, the fast-forward, the guard, the signal
# handling) runs here in-process, in the other resume tests; they run in full on the
# newest versions in the main pass.
KERAS_BACKEND=tensorflow "$venv/bin/python" -m pytest -q -n 2 --dist loadfile \
    --ignore=tests/callbacks/test_sigkill_exactness.py \
    --deselect=tests/callbacks/test_preemption.py::test_sigterm_to_keras_ext_train_saves_exits_and_the_rerun_matches \
    --deselect=tests/callbacks/test_preemption.py::test_sigterm_to_the_trainer_saves_exits_and_the_rerun_matches \
    tests/callbacks tests/training tests/test_serialization.py
