"""A cluster that cannot work stops `keras-ext train` before any engine starts: one line, exit 2.

Malformed TF_CONFIG, an incomplete or malformed KERAS_DISTRIBUTION_* set,
`--strategy multiworker` with no cluster described, an unknown strategy
name. The line says what to set.
"""

import json
import subprocess
import sys

import keras
import pytest

from keras_ext.cli import _strategy
from keras_ext.cli.errors import UsageError
from keras_ext.cli.main import main
from keras_ext.distribute import RunStrategy
from keras_ext.distribute import run_strategy
from tests.cli.test_train import assert_one_error_line
from tests.distribute.cluster_processes import base_env

GOOD_CLUSTER = {"worker": ["127.0.0.1:1111", "127.0.0.1:2222"]}

BAD_TF_CONFIGS = {
    "not JSON": ("{cluster: workers}", "TF_CONFIG is not JSON"),
    "no task": (json.dumps({"cluster": GOOD_CLUSTER}), "TF_CONFIG needs a 'cluster' and a 'task'"),
    "index out of range": (
        json.dumps({"cluster": GOOD_CLUSTER, "task": {"type": "worker", "index": 2}}),
        "task.index must be an integer in [0, 2)",
    ),
    "parameter server task": (
        json.dumps({"cluster": GOOD_CLUSTER, "task": {"type": "ps", "index": 0}}),
        "TF_CONFIG task.type: role 'ps' is not supported",
    ),
    "evaluator task": (
        json.dumps({"cluster": GOOD_CLUSTER, "task": {"type": "evaluator", "index": 0}}),
        "TF_CONFIG task.type: role 'evaluator' is not supported",
    ),
    "parameter servers in the cluster": (
        json.dumps(
            {"cluster": {**GOOD_CLUSTER, "ps": ["127.0.0.1:3333"]}, "task": {"type": "worker", "index": 0}}
        ),
        "TF_CONFIG cluster.ps: role 'ps' is not supported",
    ),
    "a chief the cluster does not list": (
        json.dumps({"cluster": GOOD_CLUSTER, "task": {"type": "chief", "index": 0}}),
        "task.type must be one of the cluster's jobs ['worker'], got 'chief'",
    ),
    "address without port": (
        json.dumps({"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}),
        "cluster.worker must be a list of 'host:port' strings",
    ),
}


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("case", sorted(BAD_TF_CONFIGS))
def test_malformed_tf_config_exits_2_with_one_line(tmp_path, capsys, monkeypatch, case):
    raw, fragment = BAD_TF_CONFIGS[case]
    monkeypatch.setenv("TF_CONFIG", raw)
    status = main(["train", "--strategy", "auto", "--output", str(tmp_path / "out"), "--epochs", "1"])
    assert status == 2
    assert_one_error_line(capsys, fragment)
    assert not (tmp_path / "out").exists()


@pytest.mark.tensorflow_only
def test_multiworker_without_a_cluster_says_to_set_tf_config(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert main(["train", "--strategy", "multiworker", "--output", str(tmp_path / "out")]) == 2
    assert_one_error_line(capsys, "--strategy multiworker", "needs TF_CONFIG")


def test_an_unknown_strategy_name_exits_2(tmp_path, capsys):
    assert main(["train", "--strategy", "horovod", "--output", str(tmp_path / "out")]) == 2
    assert_one_error_line(capsys, "--strategy", "'horovod'")


KERAS_SETS = {
    "two of three": (
        {"KERAS_DISTRIBUTION_JOB_ADDRESSES": "127.0.0.1:1111", "KERAS_DISTRIBUTION_NUM_PROCESSES": "2"},
        "KERAS_DISTRIBUTION_PROCESS_ID not set",
    ),
    "process id too large": (
        {
            "KERAS_DISTRIBUTION_JOB_ADDRESSES": "127.0.0.1:1111,127.0.0.1:2222",
            "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
            "KERAS_DISTRIBUTION_PROCESS_ID": "2",
        },
        "KERAS_DISTRIBUTION_PROCESS_ID must be below KERAS_DISTRIBUTION_NUM_PROCESSES=2",
    ),
    "addresses and count disagree": (
        {
            "KERAS_DISTRIBUTION_JOB_ADDRESSES": "127.0.0.1:1111,127.0.0.1:2222,127.0.0.1:3333",
            "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
            "KERAS_DISTRIBUTION_PROCESS_ID": "0",
        },
        "lists 3 addresses but KERAS_DISTRIBUTION_NUM_PROCESSES=2",
    ),
    "count not a number": (
        {
            "KERAS_DISTRIBUTION_JOB_ADDRESSES": "127.0.0.1:1111",
            "KERAS_DISTRIBUTION_NUM_PROCESSES": "two",
            "KERAS_DISTRIBUTION_PROCESS_ID": "0",
        },
        "KERAS_DISTRIBUTION_NUM_PROCESSES must be an integer >= 1, got 'two'",
    ),
}


def _clear_keras_variables(monkeypatch):
    for name in (
        "KERAS_DISTRIBUTION_JOB_ADDRESSES",
        "KERAS_DISTRIBUTION_NUM_PROCESSES",
        "KERAS_DISTRIBUTION_PROCESS_ID",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("case", sorted(KERAS_SETS))
def test_a_bad_keras_distribution_set_is_a_usage_error_on_jax(monkeypatch, case):
    variables, fragment = KERAS_SETS[case]
    _clear_keras_variables(monkeypatch)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(").replace("[", r"\[")):
        _strategy.check_cluster("auto", "jax")


def test_multiworker_on_jax_without_variables_says_which_to_set(monkeypatch):
    _clear_keras_variables(monkeypatch)
    with pytest.raises(
        UsageError, match="needs KERAS_DISTRIBUTION_JOB_ADDRESSES, KERAS_DISTRIBUTION_NUM_PROCESSES"
    ):
        _strategy.check_cluster("multiworker", "jax")


def test_the_library_errors_read_as_the_command_line_s_own(monkeypatch):
    """keras_ext.distribute says `strategy 'multiworker'` and `batch_size=33`; the command says
    `--strategy multiworker` and `--batch-size 33`, word for word as before the move."""
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(UsageError) as error:
        _strategy.check_cluster("multiworker", "tensorflow")
    assert str(error.value) == (
        "--strategy multiworker on the tensorflow backend needs TF_CONFIG to describe the cluster and "
        "this process; none is set (see docs/distribute.md)"
    )
    two_jax_devices = RunStrategy("mirrored", object(), 2, 1, 0, True, False)
    with pytest.raises(UsageError) as error:
        _strategy.check_batch_size(two_jax_devices, 33)
    assert str(error.value) == (
        "--batch-size 33: with 2 replicas on JAX the global batch must be a multiple of 2"
    )
    _strategy.check_batch_size(two_jax_devices, 32)
    # A two-process JAX job where TensorFlow is missing: refused before JAX starts.
    _clear_keras_variables(monkeypatch)
    monkeypatch.setenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", "127.0.0.1:1111,127.0.0.1:2222")
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "0")
    monkeypatch.setattr(run_strategy, "_tensorflow_installed", lambda: False)
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(UsageError) as error:
        _strategy.set_up("multiworker")
    assert str(error.value) == (
        "--strategy multiworker on JAX shards its data with tf.data (Keras requires a tf.data.Dataset "
        "there): install tensorflow-cpu, or use --strategy mirrored"
    )


def test_an_incomplete_keras_set_stops_the_jax_command_line_before_jax_starts(tmp_path):
    """The console command on JAX: exit 2, one line, no traceback, nothing written."""
    pytest.importorskip("jax")
    env = base_env(KERAS_BACKEND="jax", KERAS_DISTRIBUTION_NUM_PROCESSES="2")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_ext.cli.main",
            "train",
            "--strategy",
            "multiworker",
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith(
        "keras-ext train: error: KERAS_DISTRIBUTION_JOB_ADDRESSES, KERAS_DISTRIBUTION_PROCESS_ID not set"
    ), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()
