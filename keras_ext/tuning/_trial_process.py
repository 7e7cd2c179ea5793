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


def build_and_fit(tuner, trial, seed, args, kwargs):
    """`tuner._build_and_fit_model(trial, *args, **kwargs)` in a child process, seeded with `seed`."""
    # keras-tuner's TunerCallback calls the tuner's on_epoch_*/on_batch_* hooks, which are no-ops in
    # keras-tuner 1.4 and not overridden here: the child has no tuner to call, so it is left out.
    relay = _keras_internals.tuner_callback_class()
    callbacks = [c for c in kwargs.get("callbacks", []) if not isinstance(c, relay)]
    payload = {
        "tuner": _without_oracle(tuner),
        "trial": trial,
        "seed": seed,
        "args": args,
        "kwargs": {**kwargs, "callbacks": callbacks},
    }
    payload = check_picklable("the trial (its tuner, hypermodel, data and callbacks)", payload)
    context = multiprocessing.get_context("spawn")  # a fork of a process running TF or JAX is unsafe
    connection, child_connection = context.Pipe()
    with _backend_in_environment():
        process = context.Process(
            target=_child_main, args=(child_connection,), name=f"keras_ext trial {trial.trial_id}"
        )
        process.start()
    child_connection.close()
    try:
        connection.send_bytes(payload)
        status, value = connection.recv()
    except (EOFError, BrokenPipeError, ConnectionResetError):
        process.join()
        raise TrialProcessError(
            f"trial {trial.trial_id}'s process ended (exit code {process.exitcode}) before it sent its result"
        ) from None
    except BaseException:  # interrupted here (KeyboardInterrupt): the trial's process goes too
        process.terminate()
        process.join()
        raise
    finally:
        connection.close()
    process.join(timeout=60)  # it exits once the result is sent
    if process.is_alive():
        process.terminate()
        process.join()
    if status == "error":
        error, text = value
        if error is None:
            raise TrialProcessError(f"trial {trial.trial_id} failed in its process:\n{text}")
        raise error from TrialProcessError(f"in trial {trial.trial_id}'s process:\n{text}")
    return _as_results(value)


def _without_oracle(tuner):
    """A copy of `tuner` that pickles: the oracle (its locks, the search's state) stays here."""
    child = object.__new__(type(tuner))
    child.__dict__.update({k: v for k, v in tuner.__dict__.items() if k not in ("oracle", "_display")})
    child.oracle = _ObjectiveOnly(tuner.oracle.objective)
    child.isolate_trials = False  # the child runs the execution itself
    return child


@contextlib.contextmanager
def _backend_in_environment():
    """The child imports Keras before anything else: it must choose this process's backend."""
    before = os.environ.get("KERAS_BACKEND")
    os.environ["KERAS_BACKEND"] = keras.backend.backend()
    try:
        yield
    finally:
        if before is None:
            del os.environ["KERAS_BACKEND"]
        else:
            os.environ["KERAS_BACKEND"] = before


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
        tuner = payload["tuner"]
        results = tuner._build_and_fit_model(payload["trial"], *payload["args"], **payload["kwargs"])
        connection.send(("ok", _portable(results)))
    except BaseException as e:
        text = traceback.format_exc()
        try:
            pickle.dumps(e)
        except Exception:
            e = None
        connection.send(("error", (e, text)))
    finally:
        connection.close()
