"""Plant named one-line bugs in a copy of keras_ext and check that a test catches each.

Every guarantee keras_ext makes (exact resume, atomic and verified
checkpoints, a Trainer equal to `fit`, metrics summed across replicas) has
tests; this script shows they would notice the guarantee breaking. Each
mutation replaces one snippet (which must occur exactly once) in a fresh
copy of the tracked files, then runs only the tests aimed at it. A
mutation is *killed* when those tests fail, and *survives* when they pass,
which is a defect of the suite. A snippet that no longer occurs means the
code moved: update the mutation, do not delete it.

    python tools/mutations.py                 # all mutations, a table, exit 1 if any survives
    python tools/mutations.py --list
    python tools/mutations.py rotation-off-by-one sha256-skipped
    python tools/mutations.py --json docs/mutations.json
    python tools/mutations.py --table docs/mutations.json   # the Markdown table of a recorded run

The latest results are in docs/mutations.md (its table is `--table` of docs/mutations.json).
"""

import argparse
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass(frozen=True)
class Mutation:
    name: str
    guarantee: str
    path: str
    old: str
    new: str
    tests: tuple
    backend: str = "tensorflow"


MUTATIONS = (
    Mutation(
        name="metric-not-summed-across-replicas",
        guarantee="CategoricalTruePositives sums its count across replicas",
        path="keras_ext/metrics/categorical_true_positives.py",
        old='            aggregation="sum",',
        new='            aggregation="mean",',
        tests=("tests/distribute/test_replicas.py", "tests/metrics/test_categorical_true_positives.py"),
    ),
    Mutation(
        name="sha256-skipped",
        guarantee="restore verifies each checkpoint file's SHA-256, not only its size",
        path="keras_ext/checkpoint/_checkpoint_files.py",
        old='if hashlib.sha256(data).hexdigest() != expected["sha256"]:',
        new="if False:",
        tests=("tests/callbacks/test_checksum.py",),
    ),
    Mutation(
        name="optimizer-class-unchecked",
        guarantee="a checkpoint of another optimizer class is refused before anything is assigned",
        path="keras_ext/checkpoint/_training_state.py",
        old="        if saved_class and saved_class != live_class:",
        new="        if False:",
        tests=("tests/callbacks/test_restore_all_or_nothing.py",),
    ),
    Mutation(
        name="restore-by-position",
        guarantee="variables are matched by name (auto-numbering removed), never by position",
        path="keras_ext/checkpoint/_training_state.py",
        old="    live = dict(zip(_keys([v.path for v in variables]), variables, strict=True))",
        new='    live = dict(zip(_keys([s["path"] for s in saved_specs]), variables))',
        tests=("tests/callbacks/test_restore_all_or_nothing.py",),
    ),
    Mutation(
        name="assign-while-checking",
        guarantee="a restore is all or nothing: a late mismatch leaves every variable unchanged",
        path="keras_ext/checkpoint/_training_state.py",
        old="            plan.append((variable, value))",
        new="            variable.assign(value)",
        tests=("tests/callbacks/test_restore_all_or_nothing.py",),
    ),
    Mutation(
        name="state-content-unvalidated",
        guarantee="a checkpoint with valid checksums but malformed content falls back to the previous one",
        path="keras_ext/checkpoint/_checkpoint_files.py",
        old="    problem = state_problem(state, arrays)",
        new="    problem = None",
        tests=("tests/callbacks/test_restore_all_or_nothing.py",),
    ),
    Mutation(
        name="nan-state-saved",
        guarantee="a state with non-finite weights or optimizer slots is never written",
        path="keras_ext/callbacks/checkpoint_manager.py",
        old="        bad = training_state.non_finite(arrays)",
        new="        bad = []",
        tests=("tests/callbacks/test_stops_and_nan.py",),
    ),
    Mutation(
        name="lock-not-taken",
        guarantee="a second process writing a checkpoint directory in use is refused, naming the holder",
        path="keras_ext_cli/directory_lock.py",
        old="            lock.acquire()  # DirectoryBusy: another process holds it\n",
        new="            pass\n",
        tests=("tests/checkpoint/test_one_writer.py",),
    ),
    Mutation(
        name="mid-epoch-stop-recorded-as-epoch-end",
        guarantee="a run stopped mid-epoch records the batch it stopped at",
        path="keras_ext/callbacks/checkpoint_manager.py",
        old="        if self._epoch_complete:\n            return self._epoch + 1, 0",
        new="        if True:\n            return self._epoch + 1, 0",
        tests=("tests/callbacks/test_stops_and_nan.py",),
    ),
    Mutation(
        name="initial-epoch-left-set",
        guarantee="fit's starting epoch does not outlive a resumed fit that raised",
        path="keras_ext/callbacks/_fit_resume.py",
        old="            internals.clear_initial_epoch(self.model)  # fit read it before this epoch began",
        new="            pass",
        tests=("tests/callbacks/test_stops_and_nan.py",),
    ),
    Mutation(
        name="replay-stand-in-trains-nothing-later",
        guarantee="a replay stand-in left by an interrupted fit trains when a later fit calls it",
        path="keras_ext/callbacks/_fit_resume.py",
        old="            if not self._armed:  # not a batch this resume covers: train it",
        new="            if False:",
        tests=("tests/callbacks/test_stops_and_nan.py",),
    ),
    Mutation(
        name="preemption-flag-ignored",
        guarantee="a signal during training saves the next step and stops",
        path="keras_ext/callbacks/checkpoint_manager.py",
        old="        if self._preemption.requested:\n            self._save_for_preemption(batch, logs)",
        new="        if False:\n            self._save_for_preemption(batch, logs)",
        tests=("tests/callbacks/test_preemption.py",),
    ),
    Mutation(
        name="stale-signal-handler-swallows",
        guarantee="a handler left by a fit that raised passes the next signal on",
        path="keras_ext/callbacks/_preemption.py",
        old="        if self._callback_list is None:\n            return True",
        new="        if True:\n            return True",
        tests=("tests/callbacks/test_preemption.py",),
    ),
    Mutation(
        name="write-without-temporary-name",
        guarantee="a checkpoint is written under a temporary name and committed by one rename",
        path="keras_ext/checkpoint/_checkpoint_files.py",
        old='tmp = os.path.join(directory, f".tmp-{name}-{token}")',
        new="tmp = os.path.join(directory, name)",
        tests=("tests/callbacks/test_sigkill_exactness.py",),
    ),
    Mutation(
        name="rotation-off-by-one",
        guarantee="max_to_keep keeps exactly the newest N checkpoints",
        path="keras_ext/checkpoint/_retention.py",
        old="return set(steps if self.n is None else steps[-self.n :])",
        new="return set(steps if self.n is None else steps[-(self.n + 1) :])",
        tests=("tests/callbacks/test_checkpoint_manager.py",),
    ),
    Mutation(
        name="resume-one-batch-late",
        guarantee="a mid-epoch checkpoint resumes at the next untrained batch",
        path="keras_ext/callbacks/_fit_resume.py",
        old='epoch, batches = state["epoch"], state["step_in_epoch"]',
        new='epoch, batches = state["epoch"], state["step_in_epoch"] + 1',
        tests=("tests/callbacks/test_checkpoint_manager.py", "tests/callbacks/test_trainer_resume.py"),
    ),
    Mutation(
        name="resume-one-batch-early",
        guarantee="a mid-epoch checkpoint never trains a batch twice",
        path="keras_ext/callbacks/_fit_resume.py",
        old='epoch, batches = state["epoch"], state["step_in_epoch"]',
        new='epoch, batches = state["epoch"], max(state["step_in_epoch"] - 1, 0)',
        tests=("tests/callbacks/test_checkpoint_manager.py", "tests/callbacks/test_trainer_resume.py"),
    ),
    Mutation(
        name="iterations-not-restored",
        guarantee="the optimizer's iterations (and so the schedule) resume where they were",
        path="keras_ext/checkpoint/_training_state.py",
        old="        variable.assign(value)",
        new='        if "iteration" not in variable.path:\n            variable.assign(value)',
        tests=("tests/callbacks/test_checkpoint_manager.py",),
    ),
    Mutation(
        name="trainer-retrace-hook-disabled",
        guarantee="on JAX a plateau reduction reaches the Trainer's compiled step (it is retraced)",
        path="keras_ext/training/trainer.py",
        old="return loop_state is not None and loop_state.retrace",
        new="return False",
        tests=("tests/callbacks/test_reduce_lr_on_plateau.py",),
        backend="jax",
    ),
    Mutation(
        name="fit-retrace-disabled",
        guarantee="on JAX a plateau reduction reaches fit's compiled train function",
        path="keras_ext/callbacks/reduce_lr_on_plateau.py",
        old="            model.make_train_function(force=True)",
        new="            pass",
        tests=("tests/callbacks/test_reduce_lr_on_plateau.py",),
        backend="jax",
    ),
    Mutation(
        name="digits-split-not-stratified",
        guarantee="the built-in digits split keeps each class's share in both parts",
        path="keras_ext/data/digits.py",
        old="random_state=seed, stratify=labels",
        new="random_state=seed, stratify=None",
        tests=("tests/data/test_load.py",),
    ),
    Mutation(
        name="trainer-loss-unweighted-by-batch-size",
        guarantee="the Trainer's loss is a mean over samples, as fit's is (an uneven last batch counts less)",
        path="keras_ext/training/tf_steps.py",
        old=(
            "        loss_tracker.update_state(_unscale_for_tracking(loss), sample_weight=_batch_size(x))\n"
            "        model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)\n\n    def test_replica"
        ),
        new=(
            "        loss_tracker.update_state(_unscale_for_tracking(loss))\n"
            "        model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)\n\n    def test_replica"
        ),
        tests=("tests/training/test_trainer_fit_arguments.py",),
    ),
    Mutation(
        name="delete-in-place",
        guarantee="a checkpoint is renamed away before it is deleted, so a half-deleted one is never listed",
        path="keras_ext/checkpoint/_checkpoint_files.py",
        old="        os.replace(path, trash)",
        new="        trash = path",
        tests=(
            "tests/callbacks/test_sigkill_exactness.py::"
            "test_fit_killed_inside_the_rename_after_it_and_while_deleting_ends_exactly",
        ),
    ),
    Mutation(
        name="every-process-writes-checkpoints",
        guarantee="in a job of several processes only the chief writes checkpoints",
        path="keras_ext/callbacks/checkpoint_manager.py",
        old="        if not self._role.is_chief:\n            return  # the chief writes",
        new="        if False:\n            return  # the chief writes",
        tests=("tests/callbacks/test_checkpoint_manager_processes.py",),
    ),
    Mutation(
        name="restored-steps-not-compared",
        guarantee="processes that restored different checkpoints stop instead of training apart",
        path="keras_ext/callbacks/checkpoint_manager.py",
        old="        if len(set(steps)) > 1:",
        new="        if False:",
        tests=("tests/callbacks/test_checkpoint_manager_processes.py",),
    ),
    Mutation(
        name="jax-batch-not-split-over-devices",
        guarantee="the Trainer on JAX splits each batch over the devices of a DataParallel distribution",
        path="keras_ext/training/jax_steps.py",
        old="    if keras.distribution.distribution() is None:\n        return batch",
        new="    if True:\n        return batch",
        tests=("tests/distribute/test_trainer_jax_distribution.py",),
    ),
    Mutation(
        name="data-epoch-shared-across-pipelines",
        guarantee="two pipelines in one process are independent: each counts its own passes",
        path="keras_ext/data/pipeline.py",
        old="    counter = PassCounter()",
        new='    counter = globals().setdefault("_shared_counter", PassCounter())',
        tests=("tests/data/test_pipeline.py", "tests/data/test_training_order.py"),
    ),
    Mutation(
        name="pipeline-position-not-restored",
        guarantee="a resume puts a keras_ext pipeline back at the pass its checkpoint recorded",
        path="keras_ext/_progress.py",
        old='                    pipeline.set_epoch(saved["epoch"] + (1 if epoch_finished else 0))',
        new="                    pass",
        tests=("tests/callbacks/test_sigkill_any_backend.py",),
        backend="jax",
    ),
    Mutation(
        name="user-pipeline-not-told-its-epoch",
        guarantee="a user's set_epoch pipeline is told every epoch, the resumed one included",
        path="keras_ext/_progress.py",
        old="            if _is_told_epochs(pipeline):",
        new="            if False:",
        tests=("tests/callbacks/test_user_data_resume.py",),
    ),
    Mutation(
        name="counting-pipeline-told-loop-epochs",
        guarantee="a run with a CheckpointManager trains on the data order a run without one has",
        path="keras_ext/_progress.py",
        old="            if _is_told_epochs(pipeline):",
        new='            if callable(getattr(pipeline, "set_epoch", None)):',
        tests=("tests/data/test_training_order.py",),
        # Keras's JAX fit reads a batch before the first epoch (a pass of its own), TensorFlow's does not.
        backend="jax",
    ),
    Mutation(
        name="checkpointer-keeps-four",
        guarantee="Checkpointer keeps exactly max_to_keep checkpoints",
        path="keras_ext/checkpoint/checkpointer.py",
        old="        self._policies = [retention.KeepNewest(self.max_to_keep)]",
        new="        self._policies = [retention.KeepNewest(None if self.max_to_keep is None else self.max_to_keep + 1)]",
        tests=("tests/checkpoint/test_checkpointer.py", "tests/checkpoint/test_own_loop.py"),
    ),
    Mutation(
        name="output-probe-write-skipped",
        guarantee="an output directory is proved writable by a real write before any training",
        path="keras_ext/cli/_inputs.py",
        old="        _write_probe(path)",
        new="        pass",
        tests=("tests/cli/test_inputs.py",),
    ),
    Mutation(
        name="trials-numbered-from-0",
        guarantee="trials are numbered from 1 everywhere, as keras-tuner's Trial #N",
        path="keras_ext/tuning/leaderboard.py",
        old="    return int(text) + 1 if text.isdigit() else text",
        new="    return int(text) if text.isdigit() else text",
        tests=("tests/tuning/test_leaderboard.py",),
    ),
    Mutation(
        name="keepbest-direction-ignored",
        guarantee='keep_best keeps the best-scored checkpoints the monitor\'s way (the highest for mode="max")',
        path="keras_ext/checkpoint/_retention.py",
        old="ranked({s: scores.get(s) for s in steps}, self.direction)",
        new='ranked({s: scores.get(s) for s in steps}, "min")',
        tests=("tests/callbacks/test_keep_best_direction.py",),
    ),
    Mutation(
        name="device-copies-not-restored",
        guarantee="under MirroredStrategy a resume puts back each device's own BatchNormalization statistics",
        path="keras_ext/checkpoint/_training_state.py",
        old="            plan.extend(copies)\n",
        new="",
        tests=("tests/distribute/test_mirrored_resume.py",),
    ),
    Mutation(
        name="best-model-overwritten",
        guarantee="best_model.keras is replaced only by a trial that scores strictly better by the same objective",
        path="keras_ext/tuning/search.py",
        old='    return best["score"] > old if board.direction == "max" else best["score"] < old',
        new="    return True",
        tests=("tests/tuning/test_search_record.py",),
    ),
    Mutation(
        name="fast-forward-one-batch-short",
        guarantee="a resumed fit that is not where its checkpoint says stops before any step (the resume guard)",
        path="keras_ext/callbacks/_fit_resume.py",
        old='            self._start_fast_forward(epoch, batches, state.get("logs", {}))',
        new='            self._start_fast_forward(epoch, batches - 1, state.get("logs", {}))',
        tests=("tests/callbacks/test_resume_guard.py",),
    ),
    Mutation(
        name="resumed-history-dropped",
        guarantee="a resumed fit's History covers every epoch since the run began, restored from the checkpoint",
        path="keras_ext/callbacks/_fit_resume.py",
        old='        loop.restore_history(state.get("history"))',
        new="        loop.restore_history([])",
        tests=("tests/callbacks/test_resumed_history.py",),
    ),
    Mutation(
        name="epoch-logs-copied-too-early",
        guarantee="a checkpoint saves an epoch's logs as every callback left them (LearningRateLogger's included)",
        path="keras_ext/_progress.py",
        old="        self.finished_epochs.append((int(epoch), logs))",
        new="        self.finished_epochs.append((int(epoch), dict(logs)))",
        tests=("tests/callbacks/test_resumed_history.py",),
    ),
    Mutation(
        name="writer-error-swallowed",
        guarantee="a failed background checkpoint write stops training at the next batch end",
        path="keras_ext/callbacks/checkpoint_manager.py",
        old="            self._writer_error = e\n",
        new="            print(e)\n",
        tests=("tests/callbacks/test_async_write_failure.py",),
    ),
    Mutation(
        name="cli-save-freq-ignored",
        guarantee="keras-ext train --save-freq N saves every N steps",
        path="keras_ext/cli/train.py",
        old="save_freq=20 if args.save_freq is None else args.save_freq,",
        new="save_freq=20,",
        tests=("tests/cli/test_train_save_freq.py",),
    ),
    Mutation(
        name="cooldown-ignored",
        guarantee="ReduceLROnPlateau waits `cooldown` epochs after a reduction, as Keras counts them",
        path="keras_ext/callbacks/reduce_lr_on_plateau.py",
        old="                self.cooldown_counter = self.cooldown\n",
        new="                self.cooldown_counter = 0\n",
        tests=(
            "tests/callbacks/test_reduce_lr_on_plateau.py::"
            "test_cooldown_of_two_holds_off_every_other_reduction_as_keras_counts_it",
        ),
    ),
    Mutation(
        name="search-reload-skipped",
        guarantee="a Search of an existing project reloads it and retrains no finished trial",
        path="keras_ext/tuning/search.py",
        old="            overwrite=self.overwrite and not is_worker(),",
        new="            overwrite=not is_worker(),",
        tests=("tests/tuning/test_search_reload.py",),
    ),
    Mutation(
        name="user-model-function-ignored",
        guarantee="keras-ext train --model MODULE:FUNCTION trains the model the user's function returns",
        path="keras_ext/cli/_model.py",
        old="        model = user_function(spec)(tuple(input_shape), num_classes)\n",
        new='        model = build_model("simplecnn", num_classes, input_shape)\n',
        tests=(
            "tests/cli/test_train_model_forms.py::"
            "test_a_function_on_pythonpath_trains_and_its_model_loads_where_the_module_imports",
        ),
    ),
    Mutation(
        name="early-stopping-counter-not-restored",
        guarantee="keras-ext train --early-stopping resumed from a checkpoint keeps counting where it was",
        path="keras_ext/callbacks/early_stopping.py",
        old='        self.wait = int(state["wait"])\n',
        new="        self.wait = 0\n",
        tests=(
            "tests/cli/test_train_logs_and_stopping.py::"
            "test_a_resumed_run_keeps_the_patience_counter_and_the_best_weights",
        ),
    ),
    Mutation(
        name="user-hypermodel-ignored",
        guarantee="keras-ext tune --hypermodel MODULE:NAME searches the user's hypermodel, not SimpleCNN",
        path="keras_ext/cli/tune.py",
        old="    if hypermodel is None:\n",
        new="    if True:\n",
        tests=(
            "tests/cli/test_tune_hypermodel.py::"
            "test_a_hypermodel_subclass_is_made_and_searched_without_tensorboard_logs",
        ),
    ),
    Mutation(
        name="commit-marker-written-first",
        guarantee="in an object store a checkpoint is committed by its manifest, uploaded after its data",
        path="keras_ext/checkpoint/_checkpoint_files.py",
        old="        in_order = [*payload.items(), (MANIFEST, manifest)]  # the manifest last: it is the commit",
        new="        in_order = [(MANIFEST, manifest), *payload.items()]",
        tests=("tests/checkpoint/test_remote_files.py",),
    ),
    Mutation(
        name="uncommitted-upload-listed",
        guarantee="an upload without its manifest is never listed or restored",
        path="keras_ext/checkpoint/_remote_files.py",
        old='    for manifest in fs.glob(f"{root}/ckpt-*/{MANIFEST}"):',
        new='    for manifest in (f"{p}/{MANIFEST}" for p in fs.glob(f"{root}/ckpt-*")):',
        tests=("tests/checkpoint/test_remote_files.py",),
    ),
    Mutation(
        name="store-outage-taken-for-corruption",
        guarantee="a store that cannot be reached never makes a whole checkpoint be skipped or set aside",
        path="keras_ext/checkpoint/_checkpoint_files.py",
        old="    except remote.StorageError:\n        raise  # the store is unreachable",
        new="    except remote.StorageError as e:\n        raise CorruptCheckpointError(str(e))  # the store is unreachable",
        tests=("tests/checkpoint/test_remote_files.py",),
    ),
    Mutation(
        name="url-lease-not-taken",
        guarantee="a second writer of a checkpoint URL is refused, naming the lease's holder",
        path="keras_ext/checkpoint/_remote_lease.py",
        old="                if not is_free(holder):\n",
        new="                if False:\n",
        tests=("tests/checkpoint/test_remote_lease.py",),
    ),
    Mutation(
        name="lost-lease-ignored",
        guarantee="a writer whose lease was taken over writes no further checkpoint",
        path="keras_ext/checkpoint/checkpointer.py",
        old="        check_still_held(self.directory)  # a writer whose lease was taken over writes nothing\n",
        new="",
        tests=("tests/checkpoint/test_remote_lease.py",),
    ),
    Mutation(
        name="failed-upload-not-retried",
        guarantee="an upload to a store that blinks is retried with backoff before it fails the run",
        path="keras_ext/checkpoint/_remote_files.py",
        old="            if attempt == WRITE_ATTEMPTS:\n",
        new="            if True:\n",
        tests=(
            "tests/checkpoint/test_remote_files.py::test_a_failed_upload_is_retried_with_backoff_and_then_commits",
        ),
    ),
    Mutation(
        name="busy-directory-seen-only-after-keras",
        guarantee="keras-ext train refuses a checkpoint directory in use before Keras is imported",
        path="keras_ext_cli/main.py",
        old="    if check is not None:\n        check(args)\n",
        new="    pass\n",
        tests=("tests/cli/test_directory_lock.py",),
    ),
    Mutation(
        name="collected-holder-released-in-the-collectors-thread",
        guarantee="a lock holder collected in another thread while a lock is taken is released without deadlock",
        path="keras_ext/checkpoint/_writer_lock.py",
        old="        self._release = weakref.finalize(self, shared.release_later, key)\n",
        new="        self._release = weakref.finalize(self, shared.release, key)\n",
        tests=("tests/checkpoint/test_one_writer.py",),
    ),
    Mutation(
        name="fused-steps-unfused",
        guarantee="on JAX one execution of same-shaped batches is one compiled lax.scan, trained as fit trains",
        path="keras_ext/training/jax_steps.py",
        old="        return self._fused\n",
        new="        return False\n",
        tests=("tests/training/test_trainer_fused_jax.py",),
        backend="jax",
    ),
    Mutation(
        name="partial-stack-skipped",
        guarantee="on JAX a fused execution's last, shorter stack of batches is trained, not skipped",
        path="keras_ext/training/jax_steps.py",
        old="        logs, self._state = self._chunk(self._state, *stacked)\n",
        new=(
            "        if len(stacked[0]) < 3:\n"
            "            return None\n"
            "        logs, self._state = self._chunk(self._state, *stacked)\n"
        ),
        tests=("tests/training/test_trainer_fused_jax.py",),
        backend="jax",
    ),
    Mutation(
        name="fused-stack-not-split-over-devices",
        guarantee="under keras.distribution a fused execution's stack is split over the devices along its batch axis",
        path="keras_ext/training/jax_steps.py",
        old="        stacked = _distribute_stack(stacked)\n",
        new="",
        tests=("tests/distribute/test_trainer_jax_distribution.py",),
        backend="jax",
    ),
    Mutation(
        name="fused-resume-retrains-skipped-batches",
        guarantee="a fused run SIGKILLed mid-execution resumes at the newest checkpoint's batch, not the epoch's first",
        path="keras_ext/training/batches.py",
        old="        for first in range(skip, last, size):\n",
        new="        for first in range(0, last, size):\n",
        tests=("tests/training/test_trainer_fused_jax.py",),
        backend="jax",
    ),
    Mutation(
        name="scan-carry-drops-batchnorm-statistics",
        guarantee="on JAX a fused execution carries BatchNormalization's statistics from step to step",
        path="keras_ext/training/jax_steps.py",
        old="            logs, state = train_step(state, *batch)\n",
        new=(
            "            logs, new = train_step(state, *batch)\n"
            "            state = (new[0], state[1], new[2], new[3])\n"
        ),
        tests=("tests/training/test_trainer_fused_jax.py",),
        backend="jax",
    ),
    Mutation(
        name="outage-listed-in-the-error",
        guarantee="a store that dies mid-upload stops training with one error naming the URL",
        path="keras_ext/callbacks/checkpoint_manager.py",
        old="{self._newest_committed()}",
        new="{self.latest}",
        tests=(
            "tests/checkpoint/test_remote_files.py::"
            "test_a_server_that_dies_mid_upload_stops_training_and_after_its_restart_a_rerun_resumes_exactly",
        ),
    ),
    Mutation(
        name="halving-counts-only-finished-trials",
        guarantee="successive halving compares a trial with every trial that reached the rung, not only finished ones",
        path="keras_ext/tuning/successive_halving.py",
        old='REACHED = ("completed", "pruned", "running")\n',
        new='REACHED = ("completed",)\n',
        tests=("tests/tuning/test_successive_halving.py",),
    ),
    Mutation(
        name="halving-keeps-the-worst",
        guarantee="successive halving keeps the best 1/reduction_factor at a rung, in either direction",
        path="keras_ext/tuning/successive_halving.py",
        old="        return bool(sign * value < cutoff)\n",
        new="        return bool(sign * value > cutoff)\n",
        tests=("tests/tuning/test_successive_halving.py",),
    ),
    Mutation(
        name="isolated-trial-unseeded",
        guarantee="a trial in its own process trains exactly as it would in the search's process",
        path="keras_ext/tuning/_trial_process.py",
        old='        keras.utils.set_random_seed(payload["seed"])\n',
        new="",
        tests=("tests/tuning/test_trial_process.py",),
    ),
    Mutation(
        name="isolated-trial-in-process",
        guarantee="with isolate_trials each trial trains in a process of its own",
        path="keras_ext/tuning/_tuners.py",
        old="        if not self.isolate_trials:\n",
        new="        if True:\n",
        tests=("tests/tuning/test_trial_process.py",),
    ),
    Mutation(
        name="isolated-best-epoch-forgotten",
        guarantee="with isolated trials a later execution saves only an epoch better than every earlier one",
        path="keras_ext/tuning/_trial_process.py",
        old="            callback.best_value = best_value\n",
        new="            pass\n",
        tests=("tests/tuning/test_trial_process.py",),
    ),
    Mutation(
        name="isolated-hparams-in-the-search",
        guarantee="with isolated trials each trial writes its TensorBoard logs and hparams from its own process",
        path="keras_ext/tuning/_tuners.py",
        old="        if self.isolate_trials or not any(_is_tensorboard(callback) for callback in callbacks):\n",
        new="        if not any(_is_tensorboard(callback) for callback in callbacks):\n",
        tests=("tests/cli/test_tune_hypermodel.py",),
    ),
    Mutation(
        name="busy-project-refused-after-keras",
        guarantee="a second search of a live search's project is refused before Keras starts",
        path="keras_ext_cli/tune.py",
        old="    _refuse_a_busy_project(args)\n",
        new="    pass\n",
        tests=("tests/cli/test_directory_lock.py",),
    ),
    Mutation(
        name="worker-refused-its-chief-s-project",
        guarantee="a worker of a distributed search is not refused the project its chief holds",
        path="keras_ext_cli/tune.py",
        old="    if args.worker or (",
        new="    if (",
        tests=("tests/cli/test_directory_lock.py",),
    ),
)


def _tracked_files():
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True)
    return [p for p in out.stdout.decode().split("\0") if p]


def _copy_tree(destination):
    for relative in _tracked_files():
        source = os.path.join(ROOT, relative)
        if not os.path.isfile(source):
            continue  # deleted in the working tree
        target = os.path.join(destination, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target)


def _apply(mutation, tree):
    path = os.path.join(tree, mutation.path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    count = text.count(mutation.old)
    if count != 1:
        return f"snippet found {count} times in {mutation.path} (must be exactly once)"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(mutation.old, mutation.new))
    return None


def run_mutation(mutation, timeout):
    """Return a result dict: status is 'killed', 'survived' or 'broken' (cannot be applied)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"mutation-{mutation.name}-") as tree:
        _copy_tree(tree)
        problem = _apply(mutation, tree)
        if problem:
            return {"name": mutation.name, "status": "broken", "detail": problem, "seconds": 0.0}
        env = {
            **os.environ,
            "PYTHONPATH": tree,
            "KERAS_BACKEND": mutation.backend,
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *mutation.tests]
        try:
            proc = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
            code, output = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            code, output = "timeout", ""
    seconds = round(time.monotonic() - started, 1)
    # pytest exits 1 when a test failed; anything else (no tests, usage error) proves nothing.
    status = "killed" if code in (1, "timeout") else "survived" if code == 0 else "broken"
    # "FAILED tests/x.py::test[param id] - Error": the test id may hold spaces.
    failed = [
        line[len("FAILED ") :].split(" - ")[0] for line in output.splitlines() if line.startswith("FAILED ")
    ]
    detail = failed[0] if failed else (f"pytest exit {code}" if status != "survived" else "all passed")
    return {"name": mutation.name, "status": status, "detail": detail, "seconds": seconds}


def markdown_table(record):
    """The Markdown table of a recorded run (what docs/mutations.md shows)."""
    lines = ["| mutation | guarantee it breaks | result | first test that failed |", "|---|---|---|---|"]
    for r in record["results"]:
        lines.append(f"| `{r['name']}` | {r['guarantee']} | {r['status']} | `{r['detail']}` |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per mutation")
    parser.add_argument("--table", metavar="JSON", help="print the Markdown table of a recorded run and exit")
    args = parser.parse_args(argv)
    if args.table:
        with open(args.table, encoding="utf-8") as f:
            print(markdown_table(json.load(f)), end="")
        return 0
    by_name = {m.name: m for m in MUTATIONS}
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:40s} {m.guarantee}")
        return 0
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        parser.error(f"unknown mutation(s) {unknown}; choose from {sorted(by_name)}")
    results = []
    for mutation in [by_name[n] for n in args.names] or MUTATIONS:
        result = run_mutation(mutation, args.timeout)
        results.append({**result, "guarantee": mutation.guarantee, "path": mutation.path})
        print(
            f"{result['status']:9s} {mutation.name:40s} {result['seconds']:7.1f}s  {result['detail']}",
            flush=True,
        )
    if args.json:
        import keras

        if args.names and os.path.exists(args.json):
            # A run of some mutations updates their rows of the recorded run, in MUTATIONS order.
            with open(args.json, encoding="utf-8") as f:
                rows = {r["name"]: r for r in json.load(f)["results"]}
            rows.update({r["name"]: r for r in results})
            results = [rows[m.name] for m in MUTATIONS if m.name in rows]
        record = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, Keras {keras.__version__}",
            "results": results,
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2)
            f.write("\n")
    bad = [r for r in results if r["status"] != "killed"]
    print(f"{len(results) - len(bad)} of {len(results)} mutations killed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
