"""`Search`: run a keras-tuner search that checks its input first, resumes, prunes and writes its results."""

import contextlib
import os

import keras
import keras_tuner
import numpy as np

from keras_ext._validation import check_positive_int
from keras_ext.tuning import _search_record
from keras_ext.tuning._project_lock import hold_project
from keras_ext.tuning._trial_process import check_picklable
from keras_ext.tuning._trial_pruner import TrialPruner
from keras_ext.tuning._tuners import TUNERS
from keras_ext.tuning._tuners import check_tensorboard
from keras_ext.tuning.leaderboard import Leaderboard
from keras_ext_cli.tuner_role import is_worker

BEST_MODEL = "best_model.keras"
BEST_HYPERPARAMETERS = "best_hyperparameters.json"
TRIALS_CSV = "trials.csv"


class Search:
    """A hyperparameter search over a keras-tuner HyperModel, run the keras_ext way.

    Everything is checked before any file is written: the arguments when
    the `Search` is created; the objective, when `run` starts, against the
    names the hypermodel's compiled model really logs (so a typo lists the
    names it could be). Then keras-tuner searches: an existing project is
    resumed unless `overwrite` (finished trials are kept, an interrupted one
    runs again), each trial is seeded with `seed + trial number`, its epochs
    are recorded in the project directory and, with `pruning`, hopeless
    trials stop early. At the end the project directory gets
    `best_model.keras` (written atomically; it loads with only
    `import keras_ext`), `best_hyperparameters.json` and `trials.csv`.
    The first two are written only when the best trial changed: a run
    whose trials are no better leaves them byte for byte as they were.

    A project is searched with one objective (and direction) and one
    number of epochs: they are recorded in `search.json` in the project
    directory at its first run, and a later run that asks for others raises
    `SearchSettingsChanged` (a ValueError) before it writes anything
    (`check_project`; `overwrite=True` starts afresh instead).

    Distributed search uses keras-tuner's own variables
    (`KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP`, `KERASTUNER_ORACLE_PORT`):
    the chief serves trials and writes the results; workers run trials.

    One search per project at a time: `run` holds a lock on the project
    (`lock()`), and a second search of it raises `ProjectBusyError` naming
    the holder's pid and host, before it trains or writes anything.

    It speaks keras-tuner's verbs: `search(x, y, validation_data=...,
    epochs=...)` (`run` is the same), then `get_best_models(n)`,
    `get_best_hyperparameters(n)` and `results_summary()`, ranked as the
    leaderboard ranks (so `get_best_models(1)[0]` is the model in
    `best_model.keras`).

    Args:
        hypermodel: a `keras_tuner.HyperModel` (e.g. `SimpleCNNHyperModel`)
            or a function `build(hp)` returning a compiled model, as every
            keras-tuner tuner takes.
        tuner: "random", "bayesian", "hyperband" or "grid".
        objective: name of a logged metric (`"val_accuracy"`,
            `"val_categorical_true_positives"`, ...) or a `keras_tuner.Objective`.
        direction: "min" or "max" for a name whose direction is not known
            (the hypermodel's `METRIC_DIRECTIONS` and keras-tuner's
            inference are tried first).
        max_trials: trials to run in all (>= 1); Hyperband stops there too.
        executions_per_trial: trainings per trial, their scores averaged.
        directory: parent folder of the project.
        project_name: the project folder's name.
        overwrite: start afresh instead of resuming.
        seed: seeds the tuner and every trial.
        pruning: a `MedianPruning`, a `SuccessiveHalving` (or None).
        isolate_trials: run each execution of each trial in a fresh child
            process (`multiprocessing`'s spawn), so no trial's memory stays
            behind in the search's process: 20 trials grow it by tens of MB
            instead of hundreds. The hypermodel, the data and the callbacks
            are pickled for each trial (define them in an importable module),
            and each trial pays the child's start-up (importing Keras and the
            backend, seconds). Same results for a trial's first execution as
            in-process.

    Example:

    >>> import keras_ext
    >>> hypermodel = keras_ext.tuning.SimpleCNNHyperModel((28, 28, 1), 10)
    >>> search = keras_ext.tuning.Search(hypermodel, tuner="random", max_trials=3,
    ...                                  objective="val_categorical_true_positives")
    >>> search.objective.direction
    'max'
    """

    def __init__(
        self,
        hypermodel,
        tuner="random",
        objective="val_accuracy",
        direction=None,
        max_trials=10,
        executions_per_trial=1,
        directory="runs/tune",
        project_name="simplecnn",
        overwrite=False,
        seed=0,
        pruning=None,
        isolate_trials=False,
    ):
        hypermodel = as_hypermodel(hypermodel)
        if tuner not in TUNERS:
            raise ValueError(f"Unknown tuner {tuner!r}: expected one of {list(TUNERS)}.")
        if pruning is not None and not isinstance(pruning, TrialPruner):
            raise ValueError(
                f"`pruning` must be a MedianPruning, a SuccessiveHalving or None, got pruning={pruning!r}."
            )
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"`seed` must be an int >= 0, got seed={seed!r}.")
        self.hypermodel = hypermodel
        self.tuner_name = tuner
        self.objective = _make_objective(objective, direction, hypermodel)
        self.max_trials = check_positive_int("max_trials", max_trials)
        self.executions_per_trial = check_positive_int("executions_per_trial", executions_per_trial)
        self.directory = os.fspath(directory)
        self.project_name = project_name
        self.overwrite = bool(overwrite)
        self.seed = seed
        self.pruning = pruning
        self.isolate_trials = bool(isolate_trials)
        if self.isolate_trials:
            check_picklable("the hypermodel", hypermodel)
        self.tuner = None
        self._checked = False
        self._holds_lock = False
        self.best_written = False

    @property
    def project_dir(self):
        return os.path.join(self.directory, self.project_name)

    def search(self, x, y=None, validation_data=None, epochs=5, callbacks=None, verbose="auto"):
        """Search; return the `Leaderboard` (None on a worker, whose chief writes the results).

        Args:
            x, y: training images and labels (arrays when the batch size is tuned).
            validation_data: `(x_val, y_val)`; the objective is measured on it.
            epochs: epochs per trial (Hyperband's maximum).
            callbacks: the user's Keras callbacks, added to each trial's.
            verbose: Keras's and keras-tuner's verbosity.
        """
        epochs = check_positive_int("epochs", epochs)
        if y is None:
            raise ValueError("`y` must be given: Search trains on arrays `x` and `y` (the labels).")
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise ValueError(
                "`validation_data` must be a pair (x_val, y_val): the objective and the best "
                f"model's score are measured on it; got {type(validation_data).__name__}."
            )
        check_tensorboard(callbacks)
        if self.isolate_trials:
            check_picklable("the callbacks", list(callbacks or []))
            for name, value in (("x", x), ("y", y), *zip(("x_val", "y_val"), validation_data, strict=True)):
                if not isinstance(value, np.ndarray):  # arrays always pickle, and may be large
                    check_picklable(f"`{name}`", value)
        self.check_project(epochs)
        if not self._checked:
            self.check(x, y)
        with self.lock():
            self.check_project(epochs)  # again: a search that held the lock may have just recorded its own
            self.tuner = self._make_tuner(epochs)
            # After the tuner: with `overwrite` keras-tuner has just deleted the project.
            if not is_worker() and (self.overwrite or not _search_record.is_recorded(self.project_dir)):
                _search_record.write(self.project_dir, self._settings(epochs))
            self.tuner.search(
                x,
                y,
                validation_data=validation_data,
                epochs=epochs,
                callbacks=list(callbacks or []),
                verbose=verbose,
            )
            if is_worker():
                return None
            return self.write_results(validation_data)

    run = search  # the name this class had first

    # ---------------------------------------------------- keras-tuner's verbs
    def get_best_hyperparameters(self, num_trials=1):
        """The `keras_tuner.HyperParameters` of the `num_trials` best trials, best first (after `search`)."""
        return [trial.hyperparameters for trial in self._best_trials(num_trials)]

    def get_best_models(self, num_models=1):
        """The `num_models` best trials' models, built, with their best epoch's weights, best first."""
        return [self.tuner.load_model(trial) for trial in self._best_trials(num_models)]

    def results_summary(self, num_trials=10):
        """Print the leaderboard's `num_trials` best trials (keras-tuner prints its own summary here)."""
        board = self.leaderboard()
        print("\n".join(board.format().splitlines()[: 2 + check_positive_int("num_trials", num_trials)]))

    def _best_trials(self, count):
        check_positive_int("count", count)
        board = self.leaderboard()
        scored = [row for row in board.rows if row["score"] is not None][:count]
        return [self.tuner.oracle.get_trial(row["trial_id"]) for row in scored]

    @contextlib.contextmanager
    def lock(self):
        """Hold the project for this search: raises `ProjectBusyError` at once if a live process does.

        `run` takes it itself; take it earlier to fail before other work.
        The lock is released when the block ends or the process dies (a
        killed search does not block the next). A distributed search's
        chief holds it for all; its workers do not take it.
        """
        if self._holds_lock or is_worker():
            yield
            return
        with hold_project(self.directory, self.project_name):
            self._holds_lock = True
            try:
                yield
            finally:
                self._holds_lock = False

    def check(self, x, y):
        """Check the objective against what the compiled model logs; return the available names.

        `run` calls it first; call it yourself to fail early. Writes nothing.
        """
        available = check_objective(self.hypermodel, self.objective.name, x, y)
        if self.objective.direction is None:
            raise ValueError(
                f"Cannot tell whether objective {self.objective.name!r} is to be minimised or "
                "maximised; pass direction='min' or direction='max'."
            )
        self._checked = True
        return available

    def check_project(self, epochs):
        """Raise `SearchSettingsChanged` if the project on disk was searched with another objective,
        direction or number of `epochs` per trial; writes nothing.

        A new project, or one `overwrite` will delete, passes. `run` calls it
        (holding the project's lock); call it yourself to fail early.
        """
        epochs = check_positive_int("epochs", epochs)
        if self.overwrite and not is_worker():
            return
        _search_record.check(self.project_dir, self._settings(epochs))

    def _settings(self, epochs):
        return _search_record.settings(self.objective.name, self.objective.direction, epochs)

    def leaderboard(self):
        """The `Leaderboard` of the trials so far (after `run`)."""
        if self.tuner is None:
            raise ValueError("The search has not run yet: call search() first.")
        return Leaderboard.from_tuner(self.tuner)

    def write_results(self, validation_data):
        """Write all trials and, if the best trial changed, the best model and its hyperparameters.

        Returns the leaderboard. `best_written` says whether `best_model.keras`
        and `best_hyperparameters.json` were written (False when the best
        trial is the one they already hold: they are left untouched).
        """
        from keras_ext._io import save_model_atomically

        board = self.leaderboard()
        board.write_csv(os.path.join(self.project_dir, TRIALS_CSV))
        self.best_written = False
        if board.best is None or not best_changed(board, self.project_dir):
            return board
        # The leaderboard's best (ties broken by trial id), loaded built, weights of its best epoch.
        model = self.tuner.load_model(self.tuner.oracle.get_trial(board.best["trial_id"]))
        save_model_atomically(model, os.path.join(self.project_dir, BEST_MODEL))
        x_val, y_val = validation_data
        batch_size = board.best["hyperparameters"].get("batch_size", 32)
        logs = model.evaluate(x_val, y_val, batch_size=batch_size, verbose=0, return_dict=True)
        # The saved model's own score: with several executions per trial the
        # leaderboard's score is their mean, the saved model the best of them.
        board.write_best_json(
            os.path.join(self.project_dir, BEST_HYPERPARAMETERS),
            model_path=BEST_MODEL,
            model_validation_logs={k: float(v) for k, v in logs.items()},
        )
        self.best_written = True
        return board

    def _make_tuner(self, epochs):
        kwargs = dict(
            hypermodel=self.hypermodel,
            objective=self.objective,
            seed=self.seed,
            pruning=self.pruning,
            executions_per_trial=self.executions_per_trial,
            directory=self.directory,
            project_name=self.project_name,
            # A worker must never delete the project its chief is serving.
            overwrite=self.overwrite and not is_worker(),
            isolate_trials=self.isolate_trials,
        )
        if self.tuner_name == "hyperband":
            tuner = TUNERS["hyperband"](max_epochs=epochs, **kwargs)
            tuner.oracle.max_trials = self.max_trials
            return tuner
        return TUNERS[self.tuner_name](max_trials=self.max_trials, **kwargs)


class _BuildFunction(keras_tuner.HyperModel):
    """A `build(hp)` function as a HyperModel, as keras-tuner's tuners wrap one."""

    def __init__(self, build):
        super().__init__(name=getattr(build, "__name__", None))
        self._build = build

    def build(self, hp):
        return self._build(hp)


def as_hypermodel(hypermodel):
    """`hypermodel` as a `keras_tuner.HyperModel`: one already, or a `build(hp)` function wrapped."""
    if isinstance(hypermodel, keras_tuner.HyperModel):
        return hypermodel
    if callable(hypermodel) and not isinstance(hypermodel, type):
        return _BuildFunction(hypermodel)
    raise ValueError(
        "`hypermodel` must be a keras_tuner.HyperModel or a function build(hp) that returns a compiled "
        f"model, got hypermodel={hypermodel!r}."
    )


def best_changed(board, project_dir):
    """Whether `board`'s best trial should replace the best model and hyperparameters on disk.

    True when there are none (or the model file is missing), or when the best
    trial differs from the recorded one and scores strictly better by the
    same objective and direction. False when it is the recorded trial, no
    better, or scored by another objective: a worse or differently scored
    trial never overwrites them.
    """
    best = board.best
    if best is None:
        return False
    recorded = _search_record.read_json_or_none(os.path.join(project_dir, BEST_HYPERPARAMETERS))
    if not isinstance(recorded, dict) or not os.path.exists(os.path.join(project_dir, BEST_MODEL)):
        return True
    if (recorded.get("objective"), recorded.get("direction")) != (board.objective_name, board.direction):
        return False
    if (recorded.get("trial_id"), recorded.get("score"), recorded.get("best_epoch")) == (
        best["trial_id"],
        best["score"],
        best["best_epoch"],
    ):
        return False
    old = recorded.get("score")
    if not isinstance(old, (int, float)):
        return True
    return best["score"] > old if board.direction == "max" else best["score"] < old


def check_objective(hypermodel, objective_name, x, y):
    """Raise ValueError naming the available names if the compiled model never logs `objective_name`.

    Evaluates the model of the default hyperparameters on two samples (the
    first and the one of the highest label) to get the names Keras really
    logs (`loss`, each compiled metric) and adds their `val_` forms. A build
    that returns no compiled `keras.Model`, or a model that cannot take the
    samples, is a ValueError too, of one line. Writes nothing.
    """
    model = hypermodel.build(keras_tuner.HyperParameters())
    try:
        if not isinstance(model, keras.Model):
            raise ValueError(
                f"build(hp) returned a {type(model).__module__}.{type(model).__qualname__}, not a keras.Model"
            )
        if not model.compiled:
            raise ValueError("build(hp) returned a model that is not compiled; compile it in build(hp)")
        samples = _first_samples(x, y)
        try:
            logs = model.evaluate(*samples, verbose=0, return_dict=True)
        except Exception as e:  # the backends raise different errors for a model that does not fit
            first_line = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ValueError(
                f"the model of the default hyperparameters cannot be evaluated on the data (images of "
                f"shape {tuple(samples[0].shape[1:])}, labels such as {samples[1][-1]!r}): {first_line}"
            ) from e
    finally:
        keras.backend.clear_session()
    available = [*logs, *(f"val_{name}" for name in logs)]
    if objective_name not in available:
        raise ValueError(
            f"Objective {objective_name!r} is not a metric the model logs; "
            f"available objectives: {', '.join(available)}."
        )
    return available


def _first_samples(x, y, n=2):
    """The first `n` samples; with integer labels, the last of them swapped for one of the highest label."""
    if y is None:  # a dataset of (images, labels) batches
        x, y = next(iter(x))
    x, y = np.asarray(x), np.asarray(y)
    indices = list(range(min(n, len(x))))
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer) and len(y):
        # A model with too few outputs for the classes fails here, not in the middle of a trial.
        indices[-1] = int(np.argmax(y))
    return x[indices], y[indices]


def _make_objective(objective, direction, hypermodel):
    """A keras_tuner.Objective; its direction is None when it cannot be told (checked in `run`)."""
    if isinstance(objective, keras_tuner.Objective):
        return objective
    if not isinstance(objective, str) or not objective:
        raise ValueError(
            f"`objective` must be a metric name or a keras_tuner.Objective, got objective={objective!r}."
        )
    if direction is not None and direction not in ("min", "max"):
        raise ValueError(f"`direction` must be 'min' or 'max', got direction={direction!r}.")
    if direction is None:
        direction = known_direction(objective, hypermodel)
    return keras_tuner.Objective(objective, direction)


def known_direction(objective_name, hypermodel):
    """The direction of a metric name: the hypermodel's `metric_directions`, else keras_ext's rule
    (the one CheckpointManager and ReduceLROnPlateau use); None when neither knows it."""
    base = objective_name[len("val_") :] if objective_name.startswith("val_") else objective_name
    direction = getattr(hypermodel, "metric_directions", {}).get(base)
    if direction is None:
        from keras_ext._direction import metric_direction

        direction = metric_direction(objective_name)
    return direction
