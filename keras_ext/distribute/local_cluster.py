"""The environment of each process of a job on this machine (127.0.0.1), for trying multi-process
training without a cluster: TF_CONFIG for TensorFlow, KERAS_DISTRIBUTION_* for JAX.

Example:

>>> from keras_ext.distribute.local_cluster import tf_config_envs
>>> import json
>>> [json.loads(env["TF_CONFIG"])["task"] for env in tf_config_envs(2)]
[{'type': 'worker', 'index': 0}, {'type': 'worker', 'index': 1}]
"""

import json
import socket


def free_ports(count):
    """`count` TCP ports on 127.0.0.1 that were free a moment ago."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config_envs(count):
    """One `{"TF_CONFIG": ...}` per TensorFlow worker: the same cluster, each its own index."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(count)]}
    return [
        {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
        for i in range(count)
    ]


def keras_distribution_envs(count):
    """One set of Keras's KERAS_DISTRIBUTION_* variables per JAX process."""
    addresses = ",".join(f"127.0.0.1:{p}" for p in free_ports(count))
    return [
        {
            "KERAS_DISTRIBUTION_JOB_ADDRESSES": addresses,
            "KERAS_DISTRIBUTION_NUM_PROCESSES": str(count),
            "KERAS_DISTRIBUTION_PROCESS_ID": str(i),
        }
        for i in range(count)
    ]
