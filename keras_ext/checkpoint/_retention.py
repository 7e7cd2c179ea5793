"""What CheckpointManager keeps: small preservation policies, composed, as Orbax expresses them.

Each policy names the checkpoint steps it wants kept; a checkpoint no policy
keeps is deleted. Every checkpoint CheckpointManager writes holds finite
values (it refuses to write any other), so keeping the newest one always
keeps the newest finite one.
"""

from keras_ext._direction import ranked
from keras_ext.checkpoint import _checkpoint_files as files


class KeepNewest:
    """Keep the `n` newest checkpoints by step (`None`: all)."""

    def __init__(self, n):
        self.n = n

    def keep(self, steps, scores):
        return set(steps if self.n is None else steps[-self.n :])


class KeepBest:
    """Keep the `n` best-scored checkpoints by `direction` (ties: the older); unscored ones never count."""

    def __init__(self, n, direction):
        self.n = n
        self.direction = direction

    def keep(self, steps, scores):
        return set(ranked({s: scores.get(s) for s in steps}, self.direction)[: self.n])


def rotate(directory, policies, scores):
    """Delete the committed checkpoints of `directory` that no policy keeps; return their steps."""
    existing = files.list_checkpoints(directory)
    steps = [step for step, _ in existing]
    keep = set()
    for policy in policies:
        keep |= policy.keep(steps, scores)
    deleted = []
    for step, path in existing:
        if step not in keep:
            files.delete_checkpoint(path)
            deleted.append(step)
    return deleted
