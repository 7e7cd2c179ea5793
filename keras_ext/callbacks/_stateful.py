"""How callbacks put their own state into CheckpointManager's checkpoints.

A stateful callback (keras_ext's ReduceLROnPlateau, for instance) calls
`register(callback)` from `set_model`; the manager then saves
`callback.get_state()` in every checkpoint and calls `callback.set_state()`
on restore. Callbacks are keyed by `state_key` (the class name by default):
a later callback with the same key replaces an earlier one, so attach at
most one of each class per model. The registry holds weak references on
the model object and does not go through Keras's attribute tracking. A
callback stays registered after its fit (CheckpointManager's final save in
`on_train_end` may come after the callback's own `on_train_end`).
"""

import weakref

_ATTRIBUTE = "_keras_ext_stateful_callbacks"


def _registry(model, create=False):
    registry = model.__dict__.get(_ATTRIBUTE)
    if registry is None and create:
        registry = {}
        object.__setattr__(model, _ATTRIBUTE, registry)
    return registry


def state_key(callback):
    return getattr(callback, "state_key", None) or type(callback).__name__


def register(callback):
    model = callback.model
    if model is None:
        return
    _registry(model, create=True)[state_key(callback)] = weakref.ref(callback)


def registered(model):
    """`{key: callback}` of the live stateful callbacks attached to `model`."""
    registry = _registry(model) or {}
    alive = {}
    for key, ref in list(registry.items()):
        callback = ref()
        if callback is None:
            del registry[key]
        else:
            alive[key] = callback
    return alive
