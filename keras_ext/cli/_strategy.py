"""`keras-ext train --strategy`: `keras_ext.distribute.setup_strategy`, in the command line's words.

Choosing and setting up the strategy is the library's (`distribute/run_strategy.py`);
this module turns its ValueErrors (a malformed cluster description, a batch the
devices cannot split) into UsageErrors that name the command's flags (exit 2),
and words what to do when a process of the job is lost.
"""

import contextlib
import re

from keras_ext.cli.errors import UsageError
from keras_ext.distribute import run_strategy

FIT_ISSUE = "keras-team/keras#20585"


@contextlib.contextmanager
def _usage_errors():
    """The library's ValueErrors as UsageErrors, its `strategy 'NAME'` and `batch_size=N` spelled as
    the flags `--strategy NAME` and `--batch-size N`."""
    try:
        yield
    except ValueError as e:
        text = re.sub(r"\bstrategy '(\w+)'", r"--strategy \1", str(e))
        raise UsageError(re.sub(r"\bbatch_size=(\d+)", r"--batch-size \1", text)) from None


def check_cluster(name, backend):
    """UsageError for a cluster description that cannot work; reads the environment, starts nothing."""
    with _usage_errors():
        return run_strategy.check_cluster(name, backend)


def set_up(name):
    """`setup_strategy(name)`; call before the model (and on TensorFlow, before any op)."""
    with _usage_errors():
        return run_strategy.setup_strategy(name)


def check_batch_size(setup, batch_size):
    """UsageError when --batch-size cannot be split evenly over the replicas (JAX)."""
    with _usage_errors():
        setup.check_batch_size(batch_size)


def lost_peer_message(error, setup, checkpoint_dir):
    """One line for a training step that failed because the job lost a process: which peer, and
    what to do (restart every process; with a checkpoint directory they resume)."""
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", str(error))  # TensorFlow's graph function names
    peers = [name for name in _task_names(text) if name != _own_task_name(setup)]
    peer = ", ".join(peers) if peers else "another process of the job"
    detail = " ".join(text.split())[:300]
    resume = (
        f"; they resume from the newest checkpoint in {checkpoint_dir}"
        if checkpoint_dir
        else " (pass --checkpoint-dir to resume instead of starting over)"
    )
    return (
        f"process {setup.index} of {setup.processes} lost contact with {peer}; restart every process of "
        f"the job{resume}. The engine said: {type(error).__name__}: {detail}"
    )


def _task_names(text):
    """TensorFlow task names in an error message, as /job:NAME/task:N, in order of appearance."""
    names = []
    for job, index in re.findall(r"/job:(\w+)(?:/replica:\d+)?/task:(\d+)", text):
        name = f"/job:{job}/task:{index}"
        if name not in names:
            names.append(name)
    return names


def _own_task_name(setup):
    import json
    import os

    try:
        task = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {})
        return f"/job:{task['type']}/task:{task['index']}"
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def engine_errors(backend):
    """The exception types a collective raises when a peer is gone."""
    if backend == "jax":
        import jax

        return (jax.errors.JaxRuntimeError,)
    import tensorflow as tf

    return (tf.errors.OpError,)
