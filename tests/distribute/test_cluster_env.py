"""`cluster_env`: TF_CONFIG roles keras_ext cannot run are named as unsupported, before any engine starts."""

import json

import pytest

from keras_ext.distribute import cluster_env

WORKERS = {"worker": ["127.0.0.1:1111", "127.0.0.1:2222"]}


@pytest.mark.parametrize("role", ["evaluator", "ps", "master"])
def test_a_task_of_an_unsupported_role_is_refused_as_unsupported(role):
    raw = json.dumps({"cluster": WORKERS, "task": {"type": role, "index": 0}})
    with pytest.raises(ValueError) as error:
        cluster_env.tf_config_cluster(raw)
    message = str(error.value)
    assert message.startswith(f"TF_CONFIG task.type: role {role!r} is not supported"), message
    assert "'chief' or a 'worker'" in message


def test_a_cluster_with_parameter_servers_is_refused_as_unsupported():
    raw = json.dumps(
        {"cluster": {**WORKERS, "ps": ["127.0.0.1:3333"]}, "task": {"type": "worker", "index": 0}}
    )
    with pytest.raises(ValueError, match=r"^TF_CONFIG cluster\.ps: role 'ps' is not supported"):
        cluster_env.tf_config_cluster(raw)


def test_an_evaluator_listed_beside_the_trainers_is_theirs_to_ignore():
    # TensorFlow runs an evaluator apart from the training cluster; a trainer's TF_CONFIG may name it.
    raw = json.dumps(
        {"cluster": {**WORKERS, "evaluator": ["127.0.0.1:4444"]}, "task": {"type": "worker", "index": 1}}
    )
    assert cluster_env.tf_config_cluster(raw) == cluster_env.ClusterSpec(
        processes=2, index=1, is_chief=False, source="TF_CONFIG"
    )
