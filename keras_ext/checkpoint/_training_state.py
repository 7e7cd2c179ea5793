"""Reading and writing the whole training state of a Keras model as NumPy arrays.

The state is three ordered groups of variables: `model` (`model.variables`:
weights, BatchNormalization statistics and the SeedGenerator states that
Dropout draws from), `optimizer` (`optimizer.variables`: `iterations`, slots
and a float learning rate) and `metrics` (`model.metrics_variables`). Values
are matched by variable path with Keras's process-dependent auto-numbering
removed (`simple_cnn_1/...`, `seed_generator_7/...` differ between
processes; `dense_3` and `dense_4` become `dense` #0 and #1, in the order the
model lists them), so two same-shaped layers named `alpha` and `beta` never
cross over. The whole checkpoint is checked (names, count, shapes, dtypes,
optimizer class) before a single value is assigned: a restore is all or
nothing.
"""

import collections
import contextlib
import re
import weakref

import keras
import numpy as np

from keras_ext.checkpoint._checkpoint_files import replica_key

GROUPS = ("model", "optimizer", "metrics")


class CheckpointMismatchError(ValueError):
    """A checkpoint whose variables do not fit the model it is restored into."""


def strategy_scope(model):
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is not None and keras.backend.backend() == "tensorflow":
        return strategy.scope()
    return contextlib.nullcontext()


def _optimizer(model, optimizer):
    """The optimizer whose state travels with `model`: the one given, else the compiled one."""
    return getattr(model, "optimizer", None) if optimizer is None else optimizer


def ensure_optimizer_built(model, optimizer=None):
    """Create the optimizer's slot variables now, so their saved values have somewhere to go.

    Keras skips optimizer state with only a warning when the optimizer is
    unbuilt at load time (tensorflow#44670, keras#19389).
    """
    optimizer = _optimizer(model, optimizer)
    if optimizer is not None and not optimizer.built:
        with strategy_scope(model):
            optimizer.build(model.trainable_variables)


def variable_groups(model, optimizer=True, metrics=True, optimizer_object=None):
    """`{group: [variables]}`; the optimizer is `optimizer_object`, else the model's compiled one."""
    groups = {"model": list(model.variables)}
    optimizer_object = _optimizer(model, optimizer_object)
    if optimizer and optimizer_object is not None:
        groups["optimizer"] = list(optimizer_object.variables)
    if metrics:
        groups["metrics"] = list(model.metrics_variables)
    return groups


def _spec(variable):
    return {
        "path": str(variable.path),
        "shape": [int(d) for d in variable.shape],
        "dtype": str(keras.backend.standardize_dtype(variable.dtype)),
    }


# model -> {"key", "reader"}: one traced reader per model, kept across fits and
# managers (tracing costs tens of milliseconds) without an attribute on the model.
_READERS = weakref.WeakKeyDictionary()


def device_copies(variable):
    """A TensorFlow distributed variable's copies after the first device's; `()` otherwise.

    Under MirroredStrategy a variable with aggregation "none" (Keras's
    default: BatchNormalization's moving statistics) is updated by each
    replica on its own copy, so the copies drift apart, and reading the
    variable gives only the first. An exact resume keeps them all.
    """
    if keras.backend.backend() != "tensorflow":
        return ()
    import tensorflow as tf

    value = getattr(variable, "value", None)
    if not isinstance(value, tf.distribute.DistributedValues):
        return ()
    # An on-read variable (a metric's count) reads as the sum or mean of its
    # copies and is assigned by splitting: its copies are not states of their own.
    if value.synchronization == tf.VariableSynchronization.ON_READ:
        return ()
    return tuple(value.values[1:])


def _read_values(variables, cache):
    """`(values, copies)`: the variables' current values, and each one's `device_copies`, as NumPy.

    On TensorFlow one `tf.function` reads them all (about 5x faster than one
    eager read per variable, which matters on the training thread); it is
    kept in `cache` (per model, in `_READERS`).
    """
    if keras.backend.backend() != "tensorflow":
        values = [np.array(keras.ops.convert_to_numpy(v.value), copy=True) for v in variables]
        return values, [[] for _ in variables]
    import tensorflow as tf

    key = tuple(id(v) for v in variables)
    if cache.get("key") != key:
        cache["key"] = key
        cache["reader"] = tf.function(
            lambda: (
                [tf.identity(v.value) for v in variables],
                [[tf.identity(c) for c in device_copies(v)] for v in variables],
            )
        )
    values, copies = cache["reader"]()
    return (
        [np.array(value, copy=True) for value in values],
        [[np.array(c, copy=True) for c in variable_copies] for variable_copies in copies],
    )


def snapshot(model, optimizer=None, metrics=True):
    """Copy every variable's value to host memory; return `(arrays, specs)`.

    `optimizer`: the optimizer to save, when it is not `model.optimizer` (a
    loop of one's own need not compile the model).
    """
    from keras_ext import _keras_internals

    _keras_internals.sync_jax_state(model)
    arrays, specs = {}, {}
    groups = variable_groups(model, metrics=metrics, optimizer_object=optimizer)
    flat = [v for variables in groups.values() for v in variables]
    try:
        cache = _READERS.setdefault(model, {})
    except TypeError:  # not weak-referenceable: no cache
        cache = {}
    values, copies = (iter(read) for read in _read_values(flat, cache))
    for group, variables in groups.items():
        specs[group] = []
        for index, variable in enumerate(variables):
            value = arrays[f"{group}/{index:05d}"] = next(values)
            for replica, copy in enumerate(next(copies), start=1):
                if not np.array_equal(copy, value):
                    arrays[replica_key(group, index, replica)] = copy
            specs[group].append(_spec(variable))
    return arrays, specs


def group_arrays(arrays, group):
    prefix = f"{group}/"
    keys = sorted(k for k in arrays if k.startswith(prefix))
    return [arrays[k] for k in keys]


# "_<digits>" that ends a name component (`dense_3/`, `seed_generator_7/`) or a
# part of an optimizer slot name (`dense_3_kernel_velocity`): Keras's auto-numbering.
_AUTO_NUMBER = re.compile(r"_\d+(?=/|_|$)")


def normalized_path(path):
    return _AUTO_NUMBER.sub("", path)


def _keys(paths):
    """`(normalized path, ordinal among equal normalized paths)` for each path, in order."""
    seen = collections.Counter()
    keys = []
    for path in paths:
        name = normalized_path(path)
        keys.append((name, seen[name]))
        seen[name] += 1
    return keys


def match(saved_specs, variables, limit=10):
    """Pair saved variable records with live variables by normalized path.

    Returns `(pairs, problems)`: `pairs` is `[(index in saved_specs,
    variable)]`, `problems` human-readable reasons the two do not fit (empty
    when every record has exactly one live variable of the same name, shape
    and dtype, and every live variable has a record).
    """
    live = dict(zip(_keys([v.path for v in variables]), variables, strict=True))
    pairs, problems, used = [], [], set()
    for index, (key, saved) in enumerate(
        zip(_keys([s["path"] for s in saved_specs]), saved_specs, strict=True)
    ):
        variable = live.get(key)
        if variable is None:
            problems.append(
                f"checkpoint {saved['path']!r} {tuple(saved['shape'])}: no variable of that name in the model"
            )
            continue
        used.add(key)
        spec = _spec(variable)
        if saved["shape"] != spec["shape"] or not _dtypes_fit(saved["dtype"], spec["dtype"]):
            problems.append(
                f"checkpoint {saved['path']!r} {tuple(saved['shape'])} {saved['dtype']} "
                f"vs model {spec['path']!r} {tuple(spec['shape'])} {spec['dtype']}"
            )
            continue
        pairs.append((index, variable))
    problems.extend(
        f"model {variable.path!r} {tuple(variable.shape)}: not in the checkpoint"
        for key, variable in live.items()
        if key not in used
    )
    if len(problems) > limit:
        problems = problems[:limit] + [f"... and {len(problems) - limit} more"]
    return pairs, problems


def _dtypes_fit(saved, live):
    """Equal dtypes, or two integer dtypes.

    SeedGenerator states (what Dropout draws from) are int64 on TensorFlow
    and uint32 on JAX; letting integers meet is what makes a checkpoint
    restore on the other backend. `plan_restore` checks every value fits.
    """
    return saved == live or (
        np.issubdtype(np.dtype(saved), np.integer) and np.issubdtype(np.dtype(live), np.integer)
    )


def _converted(value, variable):
    """`(value in the variable's dtype, None)`, or `(None, problem)` if an integer does not fit it."""
    dtype = np.dtype(keras.backend.standardize_dtype(variable.dtype))
    if value.dtype == dtype:
        return value, None
    converted = value.astype(dtype)
    if not np.array_equal(converted.astype(value.dtype), value):
        return None, f"{variable.path!r}: the checkpoint's {value.dtype} values do not fit {dtype}"
    return converted, None


def mismatches(saved_specs, variables, limit=10):
    """Human-readable differences between saved specs and live variables (empty if they fit)."""
    return match(saved_specs, variables, limit)[1]


def plan_restore(path, state, arrays, model, groups, optimizer=None):
    """Check the whole checkpoint against `model`; return `[(variable, value)]` to assign.

    Raises CheckpointMismatchError naming every problem (an optimizer of
    another class, missing, extra or mis-shaped variables) before anything
    is assigned.
    """
    live = variable_groups(model, optimizer="optimizer" in groups, metrics=False, optimizer_object=optimizer)
    optimizer = _optimizer(model, optimizer)
    report = []
    if "optimizer" in groups:
        saved_class = state.get("optimizer_class")
        live_class = type(optimizer).__name__
        if saved_class and saved_class != live_class:
            report.append(
                f"optimizer: the checkpoint holds the state of a {saved_class}, the model is "
                f"compiled with a {live_class}"
            )
    plan = []
    for group in groups:
        saved = state["variables"].get(group, [])
        pairs, problems = match(saved, live.get(group, []))
        if problems:
            counts = f"{len(saved)} in the checkpoint, {len(live.get(group, []))} in the model"
            report.append(f"{group} variables ({counts}):\n  " + "\n  ".join(problems))
        for index, variable in pairs:
            value, problem = _converted(arrays[f"{group}/{index:05d}"], variable)
            if problem:
                report.append(f"{group} variables: {problem}")
            plan.append((variable, value))
            copies, problems = _copies_plan(arrays, group, index, variable)
            plan.extend(copies)
            report.extend(f"{group} variables: {problem}" for problem in problems)
    if report:
        raise CheckpointMismatchError(
            f"Checkpoint {path} does not fit this model (saved from "
            f"{state.get('model_class', '?')} with optimizer {state.get('optimizer_class', '?')}; "
            f"restoring into {type(model).__name__} with optimizer "
            f"{type(optimizer).__name__}). Mismatched " + "\n".join(report) + "\nNothing was restored."
        )
    return plan


def _copies_plan(arrays, group, index, variable):
    """`([(device copy, saved value)], problems)` for the copies saved apart from the variable's value.

    Assigned after the variable itself (which sets every copy to the first
    device's value). A checkpoint restored on fewer devices than it was
    saved from keeps the first device's value, as Keras's own saving does.
    A copy's value is converted as the variable's own is (`_converted`).
    """
    plan, problems = [], []
    for replica, copy in enumerate(device_copies(variable), start=1):
        saved = arrays.get(replica_key(group, index, replica))
        if saved is None:
            continue
        value, problem = _converted(saved, variable)
        if problem:
            problems.append(f"device copy {replica} of {problem}")
        else:
            plan.append((copy, value))
    return plan, problems


def assign(plan):
    """Assign a plan from `plan_restore` (or `match`): only ever called once it has been fully checked."""
    for variable, value in plan:
        variable.assign(value)


def non_finite(arrays, groups=("model", "optimizer")):
    """Keys of the floating-point arrays of `groups` that hold a NaN or an infinity."""
    found = []
    for key, value in arrays.items():
        if key.split("/")[0] in groups and np.issubdtype(value.dtype, np.floating):
            if not np.isfinite(value).all():
                found.append(key)
    return found
