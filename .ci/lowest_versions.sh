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
# What keras_ext takes from Keras and TensorFlow, on their lowest versions: the private
# pieces it reaches into (test_keras_internals.py), the .keras files, the Trainer against
# fit (graph mode: eager and XLA run the same Keras calls), and every callback's resume
# through fit's hooks. Not here, as they rest on no more of Keras than those do: the
# checkpoint files' own checks (all-or-nothing, checksums, async failures, the processes'
# roles), and the tests that kill training processes (test_sigkill_exactness.py, the
# SIGTERM-a-process tests of test_preemption.py), whose in-process counterparts run here.
# All of them run on the newest versions in the main pass.
callbacks=tests/callbacks
KERAS_BACKEND=tensorflow "$venv/bin/python" -m pytest -q -n 2 --dist loadfile \
    tests/test_keras_internals.py tests/test_serialization.py \
    tests/training/test_trainer.py tests/training/test_trainer_fit_arguments.py \
    tests/training/test_trainer_tf_data.py \
    "$callbacks/test_checkpoint_manager.py" "$callbacks/test_resume_guard.py" \
    "$callbacks/test_resume_steps_per_execution.py" "$callbacks/test_resumed_history.py" \
    "$callbacks/test_trainer_resume.py" "$callbacks/test_user_data_resume.py" \
    "$callbacks/test_learning_rate_logger.py" "$callbacks/test_reduce_lr_on_plateau.py" \
    "$callbacks/test_early_stopping.py" "$callbacks/test_stops_and_nan.py" \
    "$callbacks/test_preemption.py" "$callbacks/test_configs.py" \
    -k "not eager and not xla and not test_sigterm_to_"
