import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_ext.distribute import cluster_workers
from keras_ext.distribute import get_strategy
from tests.distribute import cluster_processes as cluster

pytestmark = pytest.mark.tensorflow_only
SCRIPT = os.path.join(os.path.dirname(__file__), "multiworker_script.py")


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
    with pytest.raises(ValueError, match="TF_CONFIG needs a 'cluster' and a 'task'"):
        cluster_workers('{"cluster": {}}')


def _run_workers(tmp_path, count=2, timeout=240):
    commands = [[sys.executable, SCRIPT, str(tmp_path / f"worker-{i}.npz")] for i in range(count)]
    envs = [{**cluster.base_env(), **env} for env in cluster.tf_config_envs(count)]
    with cluster.started(commands, envs) as procs:
        for status, output in cluster.finish(procs, timeout):
            assert status == 0, output[-3000:]
    return [np.load(tmp_path / f"worker-{i}.npz") for i in range(count)]


def test_trainer_under_multiworker_mirrored_matches_single_process(tmp_path):
    """Two worker processes on 127.0.0.1, one replica each, global batch 16."""
    subprocess.run(
        [sys.executable, SCRIPT, str(tmp_path / "single.npz")],
        env=cluster.base_env(),
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
