"""CheckpointManager under MirroredStrategy (two logical CPUs): SIGKILL mid-epoch, rerun, exact end.

Each run is tests/callbacks/train_until_done.py in a fresh process with
`--mirrored`; the reference is the same job under the same strategy,
uninterrupted and without a manager. For `fit` and for the Trainer.
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
    # The resumed epoch 1 (its loss and metrics summed across the resume) and epoch 2.
    assert [e for e, _ in logs["final"]] == [1, 2]
    for epoch, epoch_logs in logs["final"]:
        training = {k: v for k, v in epoch_logs.items() if not k.startswith("val_")}
        _assert_epoch_logs_match(training, {k: v for k, v in reference[epoch].items() if k in training})
    for epoch, epoch_logs in logs["final"]:
        try:
            _assert_epoch_logs_match(epoch_logs, reference[epoch])
        except AssertionError:
            if not loop:
                raise
            # Known, issue 23: with the Trainer under MirroredStrategy the resumed run's
            # validation differs slightly (val_loss by about 1.5e-5 in both epochs after the
            # resume, one borderline sample flips val_accuracy) while its weights (1e-5) and
            # training logs match. Root cause not found yet; the weights and training logs
            # above stay checked.
            pytest.xfail(f"issue 23: validation of epoch {epoch} after a resume under the Trainer")
