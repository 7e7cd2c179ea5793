"""When CheckpointManager saves: every `save_freq` optimizer steps, or at epoch ends."""

import numbers


class SaveTrigger:
    """Decides, from the global step before and after a batch, whether a checkpoint is due.

    Steps are counted by `optimizer.iterations`, so the schedule does not
    depend on where a resumed run started or on `steps_per_execution`.
    """

    def __init__(self, save_freq):
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, numbers.Integral) or save_freq < 1
        ):
            raise ValueError(
                "`save_freq` must be 'epoch' or a positive integer number of optimizer steps, "
                f"got save_freq={save_freq!r}."
            )
        self.save_freq = save_freq if save_freq == "epoch" else int(save_freq)

    @property
    def every_epoch(self):
        return self.save_freq == "epoch"

    def due(self, step_before, step_after):
        """Whether a multiple of `save_freq` was crossed in `(step_before, step_after]`."""
        if self.every_epoch:
            return False
        return step_after // self.save_freq != step_before // self.save_freq
