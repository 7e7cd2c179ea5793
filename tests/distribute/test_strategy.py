import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

from keras_ext.distribute import cluster_workers
from keras_ext.distribute import get_strategy

pytestmark = pytest.mark.tensorflow_only
SCRIPT = os.path.join(os.path.dirname(__file__), "multiworker_script.py")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def test_default_and_bad_names(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert get_strategy("default").num_replicas_in_sync == 1
    assert get_strategy("auto").num_replicas_in_sync == 1
    with pytest.raises(ValueError, match="name='horovod'"):
        get_strategy("horovod")
    with pytest.raises(ValueError, match="TF_CONFIG"):
        get_strategy("multiworker")


def test_tf_config_is_parsed_and_checked():
    config = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 0}}
    assert cluster_workers(json.dumps(config)) == 2
    with pytest.raises(ValueError, match="TF_CONFIG must be JSON"):
        cluster_workers('{"cluster": {}}')


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_workers(tmp_path, count=2, timeout=240):
    ports = _free_ports(count)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    env_base = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT}
    try:
        for index in range(count):
            env = {
                **env_base,
                "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            }
            procs.append(
                subprocess.Popen(
                    [sys.executable, SCRIPT, str(tmp_path / f"worker-{index}.npz")],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        for proc in procs:
            out, _ = proc.communicate(timeout=timeout)
            assert proc.returncode == 0, out.decode()[-3000:]
    finally:
        for proc in procs:  # never leave a worker behind, also when the test fails
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return [np.load(tmp_path / f"worker-{i}.npz") for i in range(count)]


def test_trainer_under_multiworker_mirrored_matches_single_process(tmp_path):
    """Two worker processes on 127.0.0.1, one replica each, global batch 16."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT}
    env.pop("TF_CONFIG", None)
    subprocess.run(
        [sys.executable, SCRIPT, str(tmp_path / "single.npz")],
        env=env,
        check=True,
        timeout=240,
        capture_output=True,
    )
    single = np.load(tmp_path / "single.npz")
    workers = _run_workers(tmp_path)
    weight_keys = [k for k in single.files if k.startswith("arr_")]
    for result in workers:
        assert int(result["replicas"]) == 2
        for key in weight_keys:
            np.testing.assert_allclose(result[key], single[key], atol=1e-5, err_msg=key)
        np.testing.assert_allclose(result["loss"], single["loss"], atol=1e-5)
