"""CheckpointManager under MirroredStrategy (two logical CPUs): SIGKILL mid-epoch, rerun, exact end.

Each run is tests/callbacks/train_until_done.py in a fresh process with
`--mirrored`; the reference is the same job under the same strategy,
uninterrupted and without a manager. For `fit` and for the Trainer. The
weights compared include every device's copy: each replica updates its own
BatchNormalization statistics, so the copies differ, and a restore that set
them all to the first device's changed the validation scores (issue 23).
"""

import pytest

from tests.callbacks.test_sigkill_exactness import KILLED
from tests.callbacks.test_sigkill_exactness import _assert_epoch_logs_match
from tests.callbacks.test_sigkill_exactness import _assert_same_weights
from tests.callbacks.test_sigkill_exactness import _check
from tests.callbacks.test_sigkill_exactness import _epoch_logs
from tests.callbacks.test_sigkill_exactness import _listing
from tests.callbacks.test_sigkill_exactness import _run

pytestmark = pytest.mark.tensorflow_only


@pytest.mark.parametrize("loop", [[], ["--trainer"]], ids=["fit", "trainer"])
def test_killed_mid_epoch_under_mirrored_strategy_ends_exactly(tmp_path, loop):
    _check(_run(tmp_path, "reference", "--reference", "--mirrored", *loop, weights="reference.npz"), 0)
    # 10 steps per epoch, a checkpoint every 4: killed in epoch 1 at batch 4.
    _check(_run(tmp_path, "killed", "--mirrored", "--kill", "step:14", *loop), KILLED)
    assert _listing(tmp_path) == ["ckpt-12", "ckpt-4", "ckpt-8"]
    finished = _run(tmp_path, "final", "--mirrored", *loop)
    _check(finished, 0)
    _assert_same_weights(tmp_path, "final.npz", "reference.npz")
    logs = _epoch_logs(tmp_path)
    reference = dict(logs["reference"])
    # The resumed epoch 1 (its loss and metrics summed across the resume) and epoch 2,
    # validation included: it reads each device's own BatchNormalization statistics.
    assert [e for e, _ in logs["final"]] == [1, 2]
    for epoch, epoch_logs in logs["final"]:
        _assert_epoch_logs_match(epoch_logs, reference[epoch])
