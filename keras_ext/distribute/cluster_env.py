"""Read the cluster a process belongs to from its environment, checking it before any engine starts.

Two descriptions exist, one per engine:

- TensorFlow's `TF_CONFIG`, read by `tf.distribute.MultiWorkerMirroredStrategy`:
  `{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}`.
- Keras's `KERAS_DISTRIBUTION_JOB_ADDRESSES` (comma-separated `host:port`, the
  first is the coordinator), `KERAS_DISTRIBUTION_NUM_PROCESSES` and
  `KERAS_DISTRIBUTION_PROCESS_ID`, read by `keras.distribution.initialize`
  on JAX.

Both engines fail late and obscurely on a malformed description (a hang
waiting for a peer that was never named, a KeyError deep inside). The
functions here raise a ValueError that says what to set instead.
"""

import json
import os
from typing import NamedTuple

KERAS_VARIABLES = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)
TF_CONFIG_EXAMPLE = (
    '{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}'
)
# The roles of MultiWorkerMirroredStrategy, the only multi-process strategy keras_ext runs. TF_CONFIG
# also knows "ps" (ParameterServerStrategy) and "evaluator" (a side-car that evaluates checkpoints).
SUPPORTED_ROLES = ("chief", "worker")
_UNSUPPORTED_ROLE = (
    "role {role!r} is not supported: keras_ext trains with MultiWorkerMirroredStrategy, whose "
    "processes are each a 'chief' or a 'worker' (no parameter servers, no evaluator)"
)


class ClusterSpec(NamedTuple):
    """The processes of a job and this process's place in it."""

    processes: int
    index: int
    is_chief: bool
    source: str  # the environment variable(s) it was read from


def tf_config_cluster(raw=None):
    """The cluster TF_CONFIG describes, or None when it is unset or empty.

    Raises:
        ValueError: naming what is wrong and what TF_CONFIG should look like.
    """
    raw = os.environ.get("TF_CONFIG") if raw is None else raw
    if not raw or not raw.strip():
        return None
    try:
        config = json.loads(raw)
    except ValueError as e:
        raise ValueError(f"TF_CONFIG is not JSON ({e}); set it like {TF_CONFIG_EXAMPLE}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ValueError(f"TF_CONFIG needs a 'cluster' and a 'task' object; set it like {TF_CONFIG_EXAMPLE}")
    for job in cluster:
        # An evaluator runs apart from the training cluster (TensorFlow's rule), so the trainers'
        # TF_CONFIG may list one; they ignore it.
        if job not in (*SUPPORTED_ROLES, "evaluator"):
            raise ValueError(f"TF_CONFIG cluster.{job}: " + _UNSUPPORTED_ROLE.format(role=job))
    members = {}
    for job in SUPPORTED_ROLES:
        addresses = cluster.get(job, [])
        if not isinstance(addresses, list) or not all(_is_address(a) for a in addresses):
            raise ValueError(
                f"TF_CONFIG cluster.{job} must be a list of 'host:port' strings, got {addresses!r}"
            )
        members[job] = addresses
    if not members["worker"] and not members["chief"]:
        raise ValueError(f"TF_CONFIG names no worker; set it like {TF_CONFIG_EXAMPLE}")
    task_type, index = task.get("type"), task.get("index")
    if isinstance(task_type, str) and task_type not in SUPPORTED_ROLES:
        raise ValueError("TF_CONFIG task.type: " + _UNSUPPORTED_ROLE.format(role=task_type))
    if task_type not in members or not members[task_type]:
        raise ValueError(
            f"TF_CONFIG task.type must be one of the cluster's jobs {[j for j in members if members[j]]}, "
            f"got {task_type!r}"
        )
    if not _is_int(index) or not 0 <= index < len(members[task_type]):
        raise ValueError(
            f"TF_CONFIG task.index must be an integer in [0, {len(members[task_type])}) for "
            f"{len(members[task_type])} {task_type}(s), got {index!r}"
        )
    # TensorFlow's rule: the chief job if there is one, else worker 0.
    chief_type = "chief" if members["chief"] else "worker"
    offset = len(members["chief"]) if task_type == "worker" else 0
    return ClusterSpec(
        processes=len(members["chief"]) + len(members["worker"]),
        index=offset + index,
        is_chief=task_type == chief_type and index == 0,
        source="TF_CONFIG",
    )


def keras_distribution_cluster(environ=None):
    """The cluster the KERAS_DISTRIBUTION_* variables describe, or None when none is set.

    Raises:
        ValueError: when only some are set, or one is malformed; the message
            names the variables to set.
    """
    environ = os.environ if environ is None else environ
    values = {name: environ.get(name, "").strip() for name in KERAS_VARIABLES}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ValueError(
            f"{', '.join(missing)} not set: a multi-process JAX job needs all of "
            f"{', '.join(KERAS_VARIABLES)} (e.g. 127.0.0.1:1234,127.0.0.1:1235 / 2 / 0)"
        )
    addresses = values["KERAS_DISTRIBUTION_JOB_ADDRESSES"].split(",")
    if not all(_is_address(a.strip()) for a in addresses):
        raise ValueError(
            "KERAS_DISTRIBUTION_JOB_ADDRESSES must be comma-separated host:port addresses "
            f"(the first is the coordinator), got {values['KERAS_DISTRIBUTION_JOB_ADDRESSES']!r}"
        )
    processes = _parse_int("KERAS_DISTRIBUTION_NUM_PROCESSES", values, low=1)
    index = _parse_int("KERAS_DISTRIBUTION_PROCESS_ID", values, low=0)
    if index >= processes:
        raise ValueError(
            f"KERAS_DISTRIBUTION_PROCESS_ID must be below KERAS_DISTRIBUTION_NUM_PROCESSES={processes}, "
            f"got {index}"
        )
    if len(addresses) > 1 and len(addresses) != processes:
        raise ValueError(
            f"KERAS_DISTRIBUTION_JOB_ADDRESSES lists {len(addresses)} addresses but "
            f"KERAS_DISTRIBUTION_NUM_PROCESSES={processes}: give one address per process, or only the "
            "coordinator's"
        )
    return ClusterSpec(processes=processes, index=index, is_chief=index == 0, source="KERAS_DISTRIBUTION_*")


def _parse_int(name, values, low):
    try:
        value = int(values[name])
    except ValueError:
        value = None
    if value is None or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {values[name]!r}")
    return value


def _is_address(text):
    if not isinstance(text, str):
        return False
    host, sep, port = text.rpartition(":")
    return bool(sep and host and port.isdigit())


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)
