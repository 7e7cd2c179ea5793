"""Reading and writing the whole training state of a Keras model as NumPy arrays.

The state is three ordered groups of variables: `model` (`model.variables`:
weights, BatchNormalization statistics and the SeedGenerator states that
Dropout draws from), `optimizer` (`optimizer.variables`: `iterations`, slots
and a float learning rate) and `metrics` (`model.metrics_variables`). Values
are matched by position within a group, never by variable path: paths carry
instance names (`simple_cnn_1/...`, `seed_generator_7/...`) that differ
between processes. Shapes and dtypes must agree before anything is assigned.
"""

import contextlib

import keras
import numpy as np

GROUPS = ("model", "optimizer", "metrics")


class CheckpointMismatchError(ValueError):
    """A checkpoint whose variables do not fit the model it is restored into."""


def sync_from_device(model):
    """On JAX, `fit` keeps the state outside the variables during an epoch: put it back."""
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:
        sync()


def strategy_scope(model):
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is not None and keras.backend.backend() == "tensorflow":
        return strategy.scope()
    return contextlib.nullcontext()


def ensure_optimizer_built(model):
    """Create the optimizer's slot variables now, so their saved values have somewhere to go.

    Keras skips optimizer state with only a warning when the optimizer is
    unbuilt at load time (tensorflow#44670, keras#19389).
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        with strategy_scope(model):
            optimizer.build(model.trainable_variables)


def variable_groups(model, optimizer=True, metrics=True):
    groups = {"model": list(model.variables)}
    if optimizer and getattr(model, "optimizer", None) is not None:
        groups["optimizer"] = list(model.optimizer.variables)
    if metrics:
        groups["metrics"] = list(model.metrics_variables)
    return groups


def _spec(variable):
    return {
        "path": str(variable.path),
        "shape": [int(d) for d in variable.shape],
        "dtype": str(keras.backend.standardize_dtype(variable.dtype)),
    }


def _read_values(model, variables):
    """The variables' current values as NumPy copies.

    On TensorFlow one cached `tf.function` reads them all (about 5x faster
    than one eager read per variable, which matters on the training thread).
    """
    if keras.backend.backend() != "tensorflow":
        return [np.array(keras.ops.convert_to_numpy(v.value), copy=True) for v in variables]
    import tensorflow as tf

    key = tuple(id(v) for v in variables)
    cached = model.__dict__.get("_keras_ext_read_all")
    if cached is None or cached[0] != key:
        reader = tf.function(lambda: [tf.identity(v.value) for v in variables])
        cached = (key, reader)
        object.__setattr__(model, "_keras_ext_read_all", cached)
    return [np.array(value, copy=True) for value in cached[1]()]


def snapshot(model):
    """Copy every variable's value to host memory; return `(arrays, specs)`."""
    sync_from_device(model)
    arrays, specs = {}, {}
    groups = variable_groups(model)
    flat = [v for variables in groups.values() for v in variables]
    values = iter(_read_values(model, flat))
    for group, variables in groups.items():
        specs[group] = []
        for index, variable in enumerate(variables):
            arrays[f"{group}/{index:05d}"] = next(values)
            specs[group].append(_spec(variable))
    return arrays, specs


def group_arrays(arrays, group):
    prefix = f"{group}/"
    keys = sorted(k for k in arrays if k.startswith(prefix))
    return [arrays[k] for k in keys]


def mismatches(saved_specs, variables, limit=10):
    """Human-readable differences between saved specs and live variables (empty if they fit)."""
    problems = []
    for index, (saved, variable) in enumerate(zip(saved_specs, variables)):
        live = _spec(variable)
        if saved["shape"] != live["shape"] or saved["dtype"] != live["dtype"]:
            problems.append(
                f"#{index}: checkpoint {saved['path']!r} {tuple(saved['shape'])} {saved['dtype']} "
                f"vs model {live['path']!r} {tuple(live['shape'])} {live['dtype']}"
            )
    if len(saved_specs) > len(variables):
        problems.extend(
            f"#{i}: checkpoint {s['path']!r} {tuple(s['shape'])} has no counterpart in the model"
            for i, s in enumerate(saved_specs[len(variables):], start=len(variables))
        )
    elif len(variables) > len(saved_specs):
        problems.extend(
            f"#{i}: model {v.path!r} {tuple(v.shape)} has no counterpart in the checkpoint"
            for i, v in enumerate(variables[len(saved_specs):], start=len(saved_specs))
        )
    if len(problems) > limit:
        problems = problems[:limit] + [f"... and {len(problems) - limit} more"]
    return problems


def check_fits(path, state, model, groups):
    """Raise CheckpointMismatchError naming every mismatched variable of `groups`; assign nothing."""
    live = variable_groups(model, optimizer="optimizer" in groups, metrics=False)
    report = []
    for group in groups:
        saved = state["variables"].get(group, [])
        problems = mismatches(saved, live.get(group, []))
        if problems:
            counts = f"{len(saved)} in the checkpoint, {len(live.get(group, []))} in the model"
            report.append(f"{group} variables ({counts}):\n  " + "\n  ".join(problems))
    if report:
        raise CheckpointMismatchError(
            f"Checkpoint {path} does not fit this model (saved from "
            f"{state.get('model_class', '?')} with optimizer {state.get('optimizer_class', '?')}; "
            f"restoring into {type(model).__name__} with optimizer "
            f"{type(getattr(model, 'optimizer', None)).__name__}). Mismatched "
            + "\n".join(report)
            + "\nNothing was restored."
        )


def assign(variables, values):
    for variable, value in zip(variables, values):
        variable.assign(value)
