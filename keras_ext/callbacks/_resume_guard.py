"""The check that a resumed `fit` is where its checkpoint says, made once, before its first real step.

Exact resume under Keras `fit` rests on how `fit` reads its starting epoch,
calls the batch hooks and hands batches to its train function (see
`_fit_resume.py`), all of which a new Keras may change (Keras 3.16 stacks
`steps_per_execution` batches into one call on JAX). Whatever changed, a
resume that lands elsewhere must stop with an error, not train on. So at the
first batch `fit` is about to train after a restore, `ResumeGuard.check`
compares what the checkpoint says with what the run shows:

* `optimizer.iterations` (read after putting back the state JAX's `fit`
  keeps outside the variables) against the checkpoint's global step;
* the epoch `fit` runs and the batch it is about to train against the
  checkpoint's epoch and batch within the epoch, and the number of batches
  the fast-forward drew without training against that batch too;
* for a mid-epoch resume, the pass each keras_ext pipeline (one that counts
  its passes) is reading against the pass the checkpoint recorded. At an
  epoch's start a tf.data pipeline may not have begun its pass yet, so only
  the fit epoch is compared there.

Each call of the fast-forward is checked too (`check_draw`), before its
batch end, where a checkpoint could be written: the batches it drew must be
the ones `fit` numbered, and when it ends it must have drawn the
checkpoint's batch count. Any disagreement raises `ResumePositionError`,
naming the checkpoint, each disagreement, the Keras version, the backend and
`steps_per_execution`; nothing has been trained or saved by then.
"""

import keras

from keras_ext import _keras_internals as internals


class ResumePositionError(internals.KerasInternalsChanged):
    """A resumed `fit` is not where the restored checkpoint says it is; nothing has been trained."""


class ResumeGuard:
    """What a restored checkpoint says about the first step a resumed `fit` trains."""

    def __init__(self, path, state, pipelines):
        self.path = path
        self.step = int(state["step"])
        self.epoch = int(state["epoch"])
        self.batch = int(state["step_in_epoch"])
        self.passes = _expected_passes(pipelines, state.get("data"), mid_epoch=bool(self.batch))

    def check(self, model, epoch, batch, drawn):
        """Raise `ResumePositionError` unless fit is at the checkpoint's place (before training `batch`)."""
        problems = []
        if epoch != self.epoch:
            problems.append(f"fit runs epoch index {epoch}, the checkpoint says epoch index {self.epoch}")
        if batch != self.batch:
            problems.append(
                f"fit is about to train batch {batch} of the epoch, the checkpoint says batch {self.batch}"
            )
        if drawn != self.batch:
            problems.append(
                f"the fast-forward drew {drawn} batches without training them, the checkpoint says {self.batch}"
            )
        iterations = _iterations(model)
        if iterations != self.step:
            problems.append(f"optimizer.iterations is {iterations}, the checkpoint says {self.step}")
        for index, (pipeline, expected) in enumerate(self.passes):
            position = pipeline.get_position() or {}
            if position.get("epoch") != expected:
                problems.append(
                    f"data pipeline #{index} ({type(pipeline).__name__}) reads pass {position.get('epoch')}, "
                    f"the checkpoint says pass {expected}"
                )
        self._raise_for(model, problems)

    def check_draw(self, model, epoch, first, drawn, done):
        """After each call of the fast-forward: it must have drawn the batches fit numbered that call.

        `first` is the batch fit numbered the call's first (the call covers
        `steps_per_execution` batches from there), `drawn` how many the
        fast-forward has drawn in all, `done` whether it ends with this call.
        """
        steps_per_execution = int(getattr(model, "steps_per_execution", 1) or 1)
        last = first + steps_per_execution - 1
        problems = []
        if epoch != self.epoch:
            problems.append(f"fit runs epoch index {epoch}, the checkpoint says epoch index {self.epoch}")
        if drawn != last + 1:
            problems.append(
                f"fit's call for batches {first} to {last} of the epoch left the fast-forward at "
                f"{drawn} batches drawn, not {last + 1}"
            )
        if done and drawn != self.batch:
            problems.append(
                f"the fast-forward ended after drawing {drawn} batches without training them, the "
                f"checkpoint says {self.batch}"
            )
        self._raise_for(model, problems)

    def _raise_for(self, model, problems):
        if not problems:
            return
        steps_per_execution = int(getattr(model, "steps_per_execution", 1) or 1)
        raise ResumePositionError(
            f"CheckpointManager: resumed from {self.path}, but before its first step fit is not where "
            f"the checkpoint says: {'; '.join(problems)}. Stopped before training anything, since "
            f"training on would not continue the run exactly. Keras {internals.KERAS_VERSION}, backend "
            f"{keras.backend.backend()}, steps_per_execution={steps_per_execution}; keras_ext was "
            f"tested with {internals.TESTED_WITH}. If the checkpoint was written with another "
            "steps_per_execution, resume with the same one; otherwise please report this with "
            "both versions."
        )


def _iterations(model):
    internals.sync_jax_state(model)  # on JAX, fit keeps the latest optimizer state outside the variables
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def _expected_passes(pipelines, positions, mid_epoch):
    """`[(pipeline, pass)]` for each pipeline counting its passes that a mid-epoch restore put back."""
    positions = list(positions or [])
    if not mid_epoch or len(positions) != len(pipelines):
        return []
    expected = []
    for pipeline, saved in zip(pipelines, positions, strict=True):
        counts = callable(getattr(pipeline, "get_position", None)) and callable(
            getattr(pipeline, "set_epoch", None)
        )
        if counts and saved and saved.get("epoch") is not None:
            expected.append((pipeline, saved["epoch"]))
    return expected
