"""Run one execution of a trial in a fresh child process, so the memory it leaves behind goes with it.

A search that builds and trains many models in one process grows trial after
trial: compiled functions, backend caches and allocator fragmentation outlive
`clear_session` (keras-tuner #395, #873, #1031). `Search(isolate_trials=True)`
sends each execution (the tuner without its oracle, the trial, the data and
the callbacks, pickled) to a `spawn`ed process, which builds and fits the
model exactly as keras-tuner would in-process and sends back the History's
values; the process then exits and its memory is the operating system's again.
The trial's files (the best epoch's weights, `epochs.json`, pruning) are written
by the child into the project directory, as an in-process trial writes them.
"""

import contextlib
import multiprocessing
import os
import pickle
import traceback

import keras
import keras_tuner

from keras_ext import _keras_internals


class _ObjectiveOnly:
    """What a trial's build and fit read of the oracle (keras-tuner checks results against the objective)."""

    def __init__(self, objective):
        self.objective = objective


class TrialProcessError(RuntimeError):
    """A trial's process failed: the child's own traceback is the message."""


def check_picklable(what, value):
    """`value` pickled; ValueError naming `what` if it cannot be sent to a trial's process."""
    try:
        return pickle.dumps(value)
    except Exception as e:  # pickle raises PicklingError, AttributeError, TypeError, ...
        raise ValueError(
            f"isolate_trials=True sends {what} to each trial's process, and it cannot be pickled ({e}); "
            "define it at the top level of an importable module, or search with isolate_trials=False."
        ) from e


def build_and_fit(tuner, trial, execution, seed, args, kwargs):
    """`tuner._build_and_fit_model(trial, *args, **kwargs)` in a child process, seeded with `seed`.

    `execution` is the execution's number in the trial: the child configures the
    TensorBoard callback's per-execution log directory itself (keras-tuner's
    hparams callback opens a file writer, which cannot be sent).
    """
    relay, save_best_epoch = _keras_internals.tuner_callback_classes()
    # TunerCallback calls the tuner's on_epoch_*/on_batch_* hooks, no-ops in keras-tuner 1.4 and
    # not overridden here: the child has no tuner to call, so it is left out.
    callbacks = [c for c in kwargs.get("callbacks", []) if not isinstance(c, relay)]
    try:
        payload = check_picklable(
            "the trial (its tuner, hypermodel, data and callbacks)",
            {
                "tuner": _without_oracle(tuner),
                "trial": trial,
                "execution": execution,
                "seed": seed,
                "args": args,
                "kwargs": {**kwargs, "callbacks": callbacks},
            },
        )
    except ValueError as e:  # fatal: every trial would fail the same way
        raise keras_tuner.errors.FatalValueError(str(e)) from e
    status, value = _run_child(payload, trial.trial_id)
    if status == "error":
        raise _child_error(trial.trial_id, *value)
    results, best_value = value
    # keras-tuner keeps one SaveBestEpoch per trial, so a later execution saves only a better
    # epoch than an earlier one reached: the child's copy saw this execution's epochs.
    for callback in callbacks:
        if isinstance(callback, save_best_epoch) and best_value is not None:
            callback.best_value = best_value
    return _as_results(results)


def _run_child(payload, trial_id):
    """Start the trial's process, send it `payload`, and return what it sends back."""
    context = multiprocessing.get_context("spawn")  # a fork of a process running TF or JAX is unsafe
    connection, child_connection = context.Pipe()
    with _child_environment():
        process = context.Process(
            target=_child_main, args=(child_connection,), name=f"keras_ext trial {trial_id}"
        )
        process.start()
    child_connection.close()
    received = False
    try:
        connection.send_bytes(payload)
        outcome = connection.recv()
        received = True
        return outcome
    except (EOFError, BrokenPipeError, ConnectionResetError):
        _end(process, grace=30)
        raise TrialProcessError(
            f"trial {trial_id}'s process ended (exit code {process.exitcode}) before it sent its result"
        ) from None
    finally:
        connection.close()
        # It exits once the result is sent; interrupted here (KeyboardInterrupt), it is stopped at once.
        _end(process, grace=60 if received else 0)


def _end(process, grace):
    """Wait up to `grace` seconds for `process` to exit, then stop it (SIGTERM, then SIGKILL)."""
    try:
        process.join(timeout=grace)
    finally:
        for stop in (process.terminate, process.kill):
            if process.exitcode is not None:
                break
            stop()
            process.join(timeout=10)


def _child_error(trial_id, pickled_error, text):
    """The child's exception with its traceback as the cause, or a TrialProcessError holding the traceback."""
    try:
        error = pickle.loads(pickled_error) if pickled_error is not None else None
    except Exception:  # an exception class whose __init__ does not take its args back
        error = None
    if error is None:
        return TrialProcessError(f"trial {trial_id} failed in its process:\n{text}")
    error.__cause__ = TrialProcessError(f"in trial {trial_id}'s process:\n{text}")
    return error


def _without_oracle(tuner):
    """A copy of `tuner` that pickles: the oracle (its locks, the search's state) stays here."""
    child = object.__new__(type(tuner))
    child.__dict__.update({k: v for k, v in tuner.__dict__.items() if k not in ("oracle", "_display")})
    child.oracle = _ObjectiveOnly(tuner.oracle.objective)
    child.isolate_trials = False  # the child runs the execution itself
    return child


# What the child's environment gets unless the user set it: the backend of this process (the child
# imports Keras before anything else), and, on a GPU, no preallocation of most of its memory: this
# process has started the backend already (the search's checks build a model) and holds its share.
def _child_settings():
    return {
        "KERAS_BACKEND": keras.backend.backend(),
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
    }


@contextlib.contextmanager
def _child_environment():
    """`_child_settings()` in os.environ while the child starts (spawn copies it), then as before."""
    added = {k: v for k, v in _child_settings().items() if k not in os.environ or k == "KERAS_BACKEND"}
    before = {k: os.environ.get(k) for k in added}
    os.environ.update(added)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                del os.environ[k]
            else:
                os.environ[k] = v


def _as_results(value):
    """The child's portable result as keras-tuner takes it: a History again, or the value as sent."""
    if isinstance(value, dict) and value.get("kind") == "history":
        history = keras.callbacks.History()
        history.history, history.epoch = value["history"], value["epoch"]
        return history
    return value


def _portable(results):
    # A History holds its model: send only its values.
    if isinstance(results, keras.callbacks.History):
        return {"kind": "history", "history": results.history, "epoch": results.epoch}
    return results


def _child_main(connection):
    try:
        payload = pickle.loads(connection.recv_bytes())
        keras.utils.set_random_seed(payload["seed"])
        tuner, trial, callbacks = payload["tuner"], payload["trial"], payload["kwargs"]["callbacks"]
        _keras_internals.tuner_configure_tensorboard(tuner, callbacks, trial, payload["execution"])
        results = tuner._build_and_fit_model(trial, *payload["args"], **payload["kwargs"])
        _, save_best_epoch = _keras_internals.tuner_callback_classes()
        best = [c.best_value for c in callbacks if isinstance(c, save_best_epoch)]
        connection.send(("ok", (_portable(results), best[0] if best else None)))
    except BaseException as e:
        text = traceback.format_exc()
        try:
            pickled = pickle.dumps(e)
        except Exception:
            pickled = None
        connection.send(("error", (pickled, text)))
    finally:
        connection.close()
