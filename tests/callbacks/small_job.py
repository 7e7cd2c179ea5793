"""A tiny, fast job for restore and resume edge cases: a two-layer MLP (layers `alpha`, `beta`) on fixed data.

Eight batches of 8 per epoch, a fraction of a second per epoch on any
backend; unshuffled arrays, so an epoch's batches never depend on the
process (it qualifies for exact resume everywhere).
"""

import hashlib
import json
import os

import keras
import numpy as np

BATCH_SIZE = 8
STEPS_PER_EPOCH = 8
EPOCHS = 3


def data(classes=4):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH_SIZE * STEPS_PER_EPOCH, 6)).astype("float32")
    y = rng.integers(0, classes, size=len(x))
    return x, y


def make_model(seed=0, classes=4, optimizer="rmsprop", order=("alpha", "beta"), learning_rate=1e-2):
    """`order` is the order the two hidden layers are applied in (both 6 -> 6, so same-shaped)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,))
    hidden = inputs
    for name in order:
        hidden = keras.layers.Dense(6, activation="tanh", name=name)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(classes, name="head")(hidden))
    optimizers = {
        "rmsprop": keras.optimizers.RMSprop,
        "adagrad": keras.optimizers.Adagrad,
        "sgd": keras.optimizers.SGD,
    }
    model.compile(
        optimizer=optimizers[optimizer](learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def fit(model, callbacks=(), epochs=EPOCHS, classes=4):
    x, y = data(classes)
    return model.fit(
        x, y, batch_size=BATCH_SIZE, epochs=epochs, shuffle=False, callbacks=list(callbacks), verbose=0
    )


def values(variables):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def state_of(model):
    """Every model and optimizer value, for "nothing changed" checks."""
    return values(model.variables) + values(model.optimizer.variables)


def assert_same(actual, expected, atol=0.0):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, atol=atol, rtol=0)


def rewrite(path, state=None, npz_bytes=None, manifest=None):
    """Replace a checkpoint's state.json / state.npz and re-sign them, so its checksums verify.

    `state` and `manifest` are functions that edit the parsed JSON in place
    (or return a replacement).
    """

    def load(name):
        with open(os.path.join(path, name), "rb") as f:
            return f.read()

    data_files = {
        "state.npz": npz_bytes if npz_bytes is not None else load("state.npz"),
        "state.json": load("state.json"),
    }
    if state is not None:
        parsed = json.loads(data_files["state.json"])
        parsed = state(parsed) or parsed
        data_files["state.json"] = json.dumps(parsed).encode()
    signed = {"format": 1, "step": int(os.path.basename(path).split("-")[1]), "files": {}}
    for name, blob in data_files.items():
        with open(os.path.join(path, name), "wb") as f:
            f.write(blob)
        signed["files"][name] = {"size": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
    if manifest is not None:
        signed = manifest(signed) or signed
    with open(os.path.join(path, "MANIFEST.json"), "w") as f:
        json.dump(signed, f)


def npz_without(path, drop=(), replace=None):
    """The bytes of `path`'s state.npz without the arrays in `drop`, with `replace` ({key: array}) applied."""
    import io

    with np.load(os.path.join(path, "state.npz")) as npz:
        arrays = {k: npz[k] for k in npz.files if k not in drop}
    arrays.update(replace or {})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()
