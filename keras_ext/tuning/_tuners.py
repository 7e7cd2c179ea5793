"""keras-tuner's four tuners with what keras_ext adds to every trial.

Each trial gets its own seed (so a trial gives the same result whether it
runs first, last, on another worker or again after a crash), a per-epoch
record in the project directory (`TrialHistory`), optional median pruning,
and the memory of the previous trial released before the next starts; with
`isolate_trials`, each execution of a trial runs in a child process of its own
(`_trial_process`).
"""

import os
import time

import keras
import keras_tuner

from keras_ext import _keras_internals
from keras_ext.tuning.trial_history import TrialHistory
from keras_ext_cli.tuner_role import is_chief

# Seeds of a trial's second, third, ... execution in its own process: far from every trial's seed.
EXECUTION_SEED_STRIDE = 1_000_003


class _KerasExtTrials:
    """Mixin for a keras-tuner `Tuner`: seeded, recorded, optionally pruned trials."""

    def __init__(self, *args, seed=0, pruning=None, isolate_trials=False, **kwargs):
        self.trial_seed = seed
        self.pruning = pruning
        self.isolate_trials = isolate_trials
        self._execution = 0
        # keras-tuner reads seed 0 as "no seed" (a random one): shift by one.
        super().__init__(*args, seed=seed + 1, **kwargs)

    def search(self, *fit_args, **fit_kwargs):
        if is_chief():
            self.oracle.verbose = fit_kwargs.get("verbose", 1)
            self.save()
            _serve_until_done(self.oracle)
            return
        super().search(*fit_args, **fit_kwargs)

    @property
    def history(self):
        return TrialHistory(self.project_dir)

    def run_trial(self, trial, *args, **kwargs):
        trial_id = trial.trial_id
        self.history.begin(trial_id, tuner_id=self.tuner_id)
        keras.utils.set_random_seed(self.trial_seed + int(trial_id))
        self._execution = 0
        callbacks = [*(kwargs.pop("callbacks", None) or []), self.history.callback(trial_id)]
        if self.pruning is not None:
            objective = self.oracle.objective
            callbacks.append(
                self.pruning.for_trial(self.project_dir, trial_id, objective.name, objective.direction)
            )
        try:
            results = super().run_trial(trial, *args, callbacks=callbacks, **kwargs)
        except BaseException:
            self.history.finish(trial_id, failed=True)
            raise
        self.history.finish(trial_id)
        return results

    def _build_and_fit_model(self, trial, *args, **kwargs):
        execution, self._execution = self._execution, self._execution + 1
        if not self.isolate_trials:
            return super()._build_and_fit_model(trial, *args, **kwargs)
        from keras_ext.tuning import _trial_process

        # In one process a trial's executions follow on one seeded random stream; each in its own
        # process restarts it, so an execution after the first gets a seed of its own (the first
        # gets the trial's, and trains as it would in-process).
        seed = self.trial_seed + int(trial.trial_id) + EXECUTION_SEED_STRIDE * execution
        return _trial_process.build_and_fit(self, trial, execution, seed, args, kwargs)

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
        # keras-tuner 1.4 (keras_tuner/src/engine/tuner.py, Tuner._configure_tensorboard_dir,
        # called by Tuner.run_trial for every execution of every trial) imports
        # tensorboard.plugins.hparams on the TensorFlow backend before it looks for a
        # TensorBoard callback, the only thing it acts on (it points the callback's log_dir at
        # the trial and adds an hparams callback). Without one there is nothing to configure, so
        # a TensorFlow installed without tensorboard must not fail every trial: only search with a
        # TensorBoard callback needs the package (`Search.run` checks that before the first trial).
        # With isolated trials the trial's process does it: the hparams callback cannot be sent there.
        if self.isolate_trials or not any(_is_tensorboard(callback) for callback in callbacks):
            return
        super()._configure_tensorboard_dir(callbacks, trial, execution)

    def load_model(self, trial):
        model = _keras_internals.tuner_build(self, trial.hyperparameters)
        if not model.built:
            return super().load_model(trial)
        # With the optimizer built, the checkpoint's optimizer state loads too
        # (Keras skips it, with a warning, into an unbuilt optimizer).
        if model.optimizer is not None:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(_keras_internals.tuner_checkpoint_path(self, trial.trial_id))
        return model

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        # keras-tuner clears the session only before the next build: the
        # finished trial's model, graphs and datasets would live on while the
        # oracle picks the next trial (a Bayesian oracle fits its model then).
        # Without a garbage collection here: keras-tuner's next build runs two
        # (clear_session's and its own), and each takes about 0.25 s on TensorFlow.
        keras.backend.clear_session(free_memory=False)


def _is_tensorboard(callback):
    # keras-tuner's own test: the class name, so a subclass or another library's TensorBoard counts too.
    return type(callback).__name__ == "TensorBoard"


def check_tensorboard(callbacks):
    """Raise ValueError naming the package if a TensorBoard callback is in a search on TensorFlow
    and `tensorboard.plugins.hparams`, which keras-tuner then imports in every trial, is missing."""
    if keras.backend.backend() != "tensorflow" or not any(_is_tensorboard(c) for c in callbacks or []):
        return
    if not hparams_installed():
        raise ValueError(
            "A TensorBoard callback in a keras-tuner search on TensorFlow needs the tensorboard "
            "package (keras-tuner logs each trial's hyperparameters with tensorboard.plugins.hparams): "
            "pip install tensorboard, or search without the TensorBoard callback."
        )


def hparams_installed():
    """Whether `tensorboard.plugins.hparams` can be imported (without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec("tensorboard.plugins.hparams") is not None
    except (ImportError, ValueError):  # a parent package missing, or None in sys.modules
        return False


def why_no_hparams_logs():
    """None where keras-tuner writes each trial's TensorBoard logs with its hparams; else why not.

    keras-tuner 1.4 configures a TensorBoard callback per trial (its own log
    directory and an hparams callback) only on the TensorFlow backend, and
    needs the tensorboard package for it.
    """
    if keras.backend.backend() != "tensorflow":
        return (
            f"keras-tuner writes per-trial TensorBoard logs with hparams only on the TensorFlow "
            f"backend, not {keras.backend.backend()}"
        )
    if not hparams_installed():
        return "the tensorboard package is not installed (pip install tensorboard)"
    return None


def _serve_until_done(oracle, poll_seconds=0.2):
    """keras-tuner's chief server, but it returns as soon as the last worker is done.

    keras-tuner's own `start_server` checks for finished workers every 20 s.
    """
    from concurrent import futures

    import grpc

    protos, oracle_chief = _keras_internals.keras_tuner_chief_modules()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = oracle_chief.OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    server.add_insecure_port(f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}")
    server.start()
    try:
        while not (servicer.stop_triggered and oracle_chief.exit_chief(oracle)):
            time.sleep(poll_seconds)
    finally:
        server.stop(grace=1)


class RandomTuner(_KerasExtTrials, keras_tuner.RandomSearch):
    pass


class BayesianTuner(_KerasExtTrials, keras_tuner.BayesianOptimization):
    pass


class GridTuner(_KerasExtTrials, keras_tuner.GridSearch):
    pass


class HyperbandTuner(_KerasExtTrials, keras_tuner.Hyperband):
    pass


TUNERS = {
    "random": RandomTuner,
    "bayesian": BayesianTuner,
    "hyperband": HyperbandTuner,
    "grid": GridTuner,
}
