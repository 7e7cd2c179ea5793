"""Every private Keras / keras-tuner internal keras_ext relies on, behind one door.

keras_ext uses public API wherever it does the job. What is left (how `fit`
reads its starting epoch, what its train function is called with, where an
optimizer keeps its schedule, ...) is used only through the functions here.
Each checks that the internal still exists and has the shape keras_ext
expects and otherwise raises `KerasInternalsChanged`, naming the internal and
the installed Keras version: a changed internal must fail loudly, never
silently train a batch twice or skip a resume.
"""

import types

import keras

KERAS_VERSION = keras.__version__
# What CI proves: the lowest declared Keras (.ci/lowest_versions.sh), the newest release (the
# test command) and the next one's nightly that .ci/next_keras.sh pins (the exact build is named there).
TESTED_WITH = "Keras 3.11 to 3.15 and a keras-nightly 3.16 build"


class KerasInternalsChanged(RuntimeError):
    """A private Keras or keras-tuner API keras_ext relies on is missing or has changed."""


def _changed(what, detail):
    return KerasInternalsChanged(
        f"keras_ext relies on the Keras internal {what}, which {detail} in the installed Keras "
        f"{KERAS_VERSION} (backend {keras.backend.backend()}). keras_ext was tested with {TESTED_WITH}; "
        "please report this with both versions."
    )


# ------------------------------------------------------------- callbacks
def overrides_hook(callback, name):
    """Whether `callback` has its own `name` hook: in its class, or set on the instance
    (as `LambdaCallback` does).

    Keras marks its do-nothing hooks with `_is_default`, which its CallbackList
    reads to skip batch hooks no callback listens to; older Keras has no mark,
    and the class and instance are compared instead.
    """
    base = getattr(keras.callbacks.Callback, name)
    if hasattr(base, "_is_default"):
        return not getattr(getattr(callback, name), "_is_default", False)
    return getattr(type(callback), name) is not base or name in vars(callback)


# --------------------------------------------------------------- tf.data
def dataset_may_shuffle(dataset):
    """Whether a tf.data Dataset's graph holds a shuffle (or cannot be looked through).

    Walks TensorFlow's private `_inputs()` links from the dataset to its sources;
    a dataset kind without them counts as one that may shuffle.
    """
    seen, stack = set(), [dataset]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if "Shuffle" in type(node).__name__:
            return True
        try:
            stack.extend(node._inputs())
        except Exception:  # noqa: BLE001 - a dataset kind that cannot list its inputs
            return True
    return False


# --------------------------------------------------------------- fit's epoch
def set_initial_epoch(model, epoch):
    """Make Keras `fit` start at `epoch`: it reads `model._initial_epoch` right after `on_train_begin`.

    Keras's own BackupAndRestore resumes the same way. Cleared again by
    `clear_initial_epoch` once `fit` has read it.
    """
    if "_initial_epoch" not in model.__dict__:
        raise _changed("keras.Model._initial_epoch (read by fit after on_train_begin)", "is missing")
    model._initial_epoch = epoch


def clear_initial_epoch(model):
    if "_initial_epoch" in model.__dict__:
        model._initial_epoch = None


def initial_epoch(model):
    """The epoch a callback (BackupAndRestore, CheckpointManager) asked a loop to start at, or None."""
    return model.__dict__.get("_initial_epoch")


# ------------------------------------------------------ fit's train function
def draw_only_train_function(model, logs, on_drawn):
    """A stand-in for `model.train_function` that draws one call's batches and does nothing else.

    Keras `fit` calls `train_function(iterator)` on TensorFlow and
    `train_function(state, iterator)` on JAX (returning `(logs, state)`;
    the state is passed back unchanged). One call trains
    `steps_per_execution` batches: drawn with as many `next(iterator)` up
    to Keras 3.15, and with one on Keras's JAX trainer from 3.16, whose
    iterator yields super-batches, `steps_per_execution` batches stacked
    along a new leading axis (a shorter stack, or a `PartialBatchList`,
    at an epoch's end; keras-team/keras#23527). `on_drawn(first_batch,
    count)` sees the first drawn batch and how many batches the call drew.
    """
    backend = keras.backend.backend()
    if backend not in ("tensorflow", "jax"):
        raise _changed("fit's train_function calling convention", f"is unknown for backend {backend!r}")
    jax = backend == "jax"
    steps_per_execution = int(getattr(model, "steps_per_execution", 1) or 1)
    stacked = jax and steps_per_execution > 1 and jax_fit_stacks_batches()

    def draw_batches_only(*args):
        if len(args) != (2 if jax else 1):
            raise _changed(
                "Model.train_function's arguments",
                f"are now {len(args)} ({'(state, iterator)' if jax else '(iterator)'} expected)",
            )
        data = args[1] if jax else args[0]
        if isinstance(data, (list, tuple)):  # Keras that hands the call's batches as a list
            first, count = data[0], len(data)
        elif stacked:
            first, count = _first_of_super_batch(next(data), steps_per_execution)
        else:
            first, count = next(data), 1
            try:  # as Keras's own multi-step call: an epoch's last call may be short
                for _ in range(steps_per_execution - 1):
                    next(data)
                    count += 1
            except StopIteration:
                pass
        on_drawn(first, count)
        if jax:
            return dict(logs), args[0]
        return dict(logs)

    return draw_batches_only


def jax_fit_stacks_batches():
    """Whether Keras's JAX `fit` hands `train_function` super-batches when `steps_per_execution > 1`.

    From Keras 3.16 (keras-team/keras#23527) its data adapters take
    `get_jax_iterator(super_batch=...)` and one `next(iterator)` yields
    `steps_per_execution` batches, compiled into one `lax.scan`; up to 3.15
    each `next` yields one batch.
    """
    import inspect

    try:
        from keras.src.trainers.data_adapters.data_adapter import DataAdapter
    except ImportError:
        raise _changed(
            "keras.src.trainers.data_adapters.data_adapter.DataAdapter", "cannot be imported"
        ) from None
    return "super_batch" in inspect.signature(DataAdapter.get_jax_iterator).parameters


def _first_of_super_batch(item, steps_per_execution):
    """`(first batch, number of batches)` of one super-batch drawn from Keras's JAX `fit` iterator."""
    try:
        from keras.src.trainers.data_adapters.data_adapter_utils import PartialBatchList
    except ImportError:
        raise _changed(
            "keras.src.trainers.data_adapters.data_adapter_utils.PartialBatchList", "is missing"
        ) from None
    if isinstance(item, PartialBatchList):  # an epoch's last, short call: the batches unstacked
        count = len(item)
        if not 1 <= count <= steps_per_execution:
            raise _changed("fit's JAX super-batches", f"now hold {count} batches per call")
        return item[0], count
    leaves = [leaf for leaf in keras.tree.flatten(item) if leaf is not None]
    counts = {int(leaf.shape[0]) if getattr(leaf, "ndim", 0) else None for leaf in leaves}
    if len(counts) != 1 or not 1 <= (next(iter(counts)) or 0) <= steps_per_execution:
        raise _changed(
            "fit's JAX super-batches (batches stacked along a leading axis)",
            f"now have leading axes {sorted(counts, key=str)} for steps_per_execution={steps_per_execution}",
        )
    first = keras.tree.map_structure(lambda leaf: None if leaf is None else leaf[0], item)
    return first, counts.pop()


def sync_jax_state(model):
    """On JAX, `fit` keeps the state outside the variables during an epoch: put it back (public)."""
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:
        sync()


def all_layers(model):
    """Every layer of `model`, itself and nested ones (inside custom layers too), as Keras tracks them."""
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is None:
        raise _changed("keras.layers.Layer._flatten_layers (every tracked sublayer)", "is missing")
    return list(flatten(include_self=True, recursive=True))


# ------------------------------------------------------ fit's symbolic build
def output_spec(model, x):
    """The model's output for a batch shaped like `x` (a KerasTensor), computed without running it.

    As `fit` does before training (`backend.compute_output_spec`): layers are
    built, but a call with side effects (a counter, say) does not run.
    """
    try:
        from keras.src.backend import compute_output_spec
    except ImportError:
        raise _changed("keras.src.backend.compute_output_spec", "is missing") from None
    x_spec = keras.KerasTensor(tuple(x.shape), dtype=keras.backend.standardize_dtype(x.dtype))
    return compute_output_spec(model, x_spec, training=False)


def symbolic_build(model, x, y, sample_weight):
    """Build the model, its compiled loss and metrics and its optimizer from one batch's shapes,
    as `fit` does (`Trainer._symbolic_build`), without running them on the data."""
    if not callable(getattr(model, "_symbolic_build", None)):
        raise _changed("keras.Model._symbolic_build (fit's symbolic build)", "is missing")
    model._symbolic_build(data_batch=(x, y, sample_weight))


# -------------------------------------------------------- optimizer schedule
def schedule_of(optimizer):
    """The optimizer's `LearningRateSchedule`, or None when it uses a plain (settable) rate.

    Keras keeps it in `optimizer._learning_rate` and has no public getter
    (`optimizer.learning_rate` returns its current value). The public setter
    accepts a schedule, so setting one needs no internal.
    """
    if not hasattr(optimizer, "_learning_rate"):
        raise _changed("Optimizer._learning_rate (where the schedule is kept)", "is missing")
    value = optimizer._learning_rate
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return value
    return None


# ----------------------------------------------------------------- metrics
def metric_direction(metric):
    """`"max"`/`"min"` from a Keras metric's private `_direction` ("up"/"down"), or None if it has none."""
    direction = getattr(metric, "_direction", None)
    return {"up": "max", "down": "min"}.get(direction)


# --------------------------------------------------------------- messages
def print_msg(message):
    """Print as Keras's own callbacks do (to the absl log when Keras is told to, else stdout)."""
    try:
        from keras.src.utils import io_utils
    except ImportError:
        raise _changed("keras.src.utils.io_utils.print_msg", "cannot be imported") from None
    io_utils.print_msg(message)


# -------------------------------------------------------------- keras-tuner
def keras_tuner_chief_modules():
    """`(protos, oracle_chief)`: what keras-tuner's own chief server is built from (keras_tuner.src)."""
    try:
        from keras_tuner.src import protos
        from keras_tuner.src.distribute import oracle_chief
    except ImportError as e:
        import keras_tuner

        raise KerasInternalsChanged(
            f"keras_ext relies on keras_tuner.src.protos and keras_tuner.src.distribute.oracle_chief, "
            f"which cannot be imported from the installed keras-tuner {keras_tuner.__version__}: {e}"
        ) from None
    for name in ("OracleServicer", "exit_chief"):
        if not hasattr(oracle_chief, name):
            raise KerasInternalsChanged(
                f"keras_tuner.src.distribute.oracle_chief.{name} is missing in the installed keras-tuner"
            )
    return protos, oracle_chief


def tuner_build(tuner, hyperparameters):
    """`Tuner._try_build(hp)`: build (and compile) a trial's model as keras-tuner does, with its retries."""
    if not hasattr(tuner, "_try_build"):
        raise _tuner_changed("Tuner._try_build")
    return tuner._try_build(hyperparameters)


def tuner_configure_tensorboard(tuner, callbacks, trial, execution):
    """`Tuner._configure_tensorboard_dir`: point a TensorBoard callback at the trial's execution and
    add keras-tuner's hparams callback (on TensorFlow; `callbacks` is extended in place)."""
    if not hasattr(tuner, "_configure_tensorboard_dir"):
        raise _tuner_changed("Tuner._configure_tensorboard_dir")
    tuner._configure_tensorboard_dir(callbacks, trial, execution)


def tuner_checkpoint_path(tuner, trial_id):
    """`Tuner._get_checkpoint_fname(trial_id)`: where keras-tuner saved a trial's best weights."""
    if not hasattr(tuner, "_get_checkpoint_fname"):
        raise _tuner_changed("Tuner._get_checkpoint_fname")
    return tuner._get_checkpoint_fname(trial_id)


def tuner_callback_classes():
    """`(TunerCallback, SaveBestEpoch)` of keras_tuner.src.engine.tuner_utils: what `Tuner.run_trial`
    adds to every execution, to call the tuner's on_epoch_*/on_batch_* hooks and to save the
    trial's best epoch (one SaveBestEpoch per trial, its `best_value` carried across executions)."""
    try:
        from keras_tuner.src.engine.tuner_utils import SaveBestEpoch
        from keras_tuner.src.engine.tuner_utils import TunerCallback
    except ImportError:
        raise _tuner_changed("keras_tuner.src.engine.tuner_utils.TunerCallback and SaveBestEpoch") from None
    if not hasattr(SaveBestEpoch(types.SimpleNamespace(direction="max"), ""), "best_value"):
        raise _tuner_changed("SaveBestEpoch.best_value")
    return TunerCallback, SaveBestEpoch


def _tuner_changed(what):
    import keras_tuner

    return KerasInternalsChanged(
        f"keras_ext relies on the keras-tuner internal {what}, which is missing in the installed "
        f"keras-tuner {keras_tuner.__version__} (keras_ext was tested with 1.4.8)."
    )


# ------------------------------------------------------- JAX trainer state
def jax_compute_loss_and_updates(model):
    """The JAX trainer's `compute_loss_and_updates` (a stateless forward pass, loss and loss scaling).

    `stateless_call` plus `stateless_compute_loss` are public, but forward-pass
    losses reach the loss only through the trainer's private
    `_losses_override`, which this method handles.
    """
    method = getattr(model, "compute_loss_and_updates", None)
    if method is None:
        raise _changed("the JAX trainer's Model.compute_loss_and_updates", "is missing")
    return method


def publish_jax_state(model, trainable, non_trainable, optimizer_variables, metrics_variables):
    """Hand arrays to Keras's JAX trainer, which assigns them on the next `jax_state_sync()`.

    Keras's JAX `fit` keeps its state in `model._jax_state` and
    `jax_state_sync()` (called by callbacks that read the model) writes it
    back to the variables unless `model._jax_state_synced` is set.
    """
    if not hasattr(model, "jax_state_sync"):
        raise _changed("Model.jax_state_sync (the JAX trainer's state hand-back)", "is missing")
    state = {
        "trainable_variables": trainable,
        "non_trainable_variables": non_trainable,
        "metrics_variables": metrics_variables,
    }
    if optimizer_variables is not None:  # None during evaluation, which leaves the optimizer alone
        state["optimizer_variables"] = optimizer_variables
    model._jax_state = state
    model._jax_state_synced = False


def hand_back_jax_state(model, train_function_args):
    """On JAX, make the state a `train_function(state, iterator)` call received fit's latest, as if the
    call had returned it unchanged: a stand-in that raises leaves it for fit's `finally` to put back
    into the variables (fit took them out before the call). Nothing to do on TensorFlow."""
    if keras.backend.backend() != "jax" or len(train_function_args) != 2:
        return
    state = train_function_args[0]
    if not isinstance(state, (list, tuple)) or len(state) != 4:
        raise _changed(
            "the JAX train_function's state",
            "is no longer a (trainable, non_trainable, optimizer, metrics) tuple",
        )
    publish_jax_state(model, *state)


def mark_jax_state_synced(model):
    """Tell Keras's JAX trainer the variables already hold the latest state."""
    model._jax_state_synced = True


def jax_distribute_batch(batch):
    """Place a batch as Keras's JAX `fit` does under a `keras.distribution` (split over the devices
    along the batch axis); `keras.src.backend.jax.trainer._distribute_data` is private."""
    try:
        from keras.src.backend.jax.trainer import _distribute_data
    except ImportError:
        raise _changed("keras.src.backend.jax.trainer._distribute_data", "cannot be imported") from None
    return _distribute_data(batch)
