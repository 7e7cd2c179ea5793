"""A checkpoint written on one backend restores on the other with equal predictions.

docs/checkpointing.md promises the same files on TensorFlow and JAX. Each
direction trains in one fresh process with one backend, then loads with
`CheckpointManager.restore` in a fresh process with the other, and compares
the predictions with those the writer made on the same inputs.
"""

import importlib.util
import json

import numpy as np
import pytest

from tests.subprocess_utils import run_fresh_python

_BOTH_BACKENDS = pytest.mark.skipif(
    not all(importlib.util.find_spec(name) for name in ("tensorflow", "jax")),
    reason="needs both TensorFlow and JAX installed",
)

_SETUP = """
import json, sys
import numpy as np, keras, keras_ext

directory, out = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
x = rng.random((40, 28, 28, 1), dtype="float32")
y = np.arange(40) % 10
probe = rng.random((8, 28, 28, 1), dtype="float32")

def make_model():
    model = keras_ext.models.SimpleCNN(num_classes=10, filters=(4, 8), dropout_rate=0.1)
    model.compile(keras.optimizers.RMSprop(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model
"""

_WRITE = (
    _SETUP
    + """
keras.utils.set_random_seed(0)
model = make_model()
manager = keras_ext.callbacks.CheckpointManager(directory, save_freq=3, max_to_keep=1)
model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[manager])
json.dump({"backend": keras.backend.backend(),
           "predictions": np.asarray(model.predict(probe, verbose=0)).tolist()}, open(out, "w"))
"""
)

_READ = (
    _SETUP
    + """
keras.utils.set_random_seed(123)   # a different initialisation than the writer's
model = make_model()
model.build((None, 28, 28, 1))
before = np.asarray(model.predict(probe, verbose=0))
path = keras_ext.callbacks.CheckpointManager.restore(model, directory)
json.dump({"backend": keras.backend.backend(), "path": str(path),
           "before": before.tolist(),
           "predictions": np.asarray(model.predict(probe, verbose=0)).tolist()}, open(out, "w"))
"""
)


def _run(code, backend, *args):
    run_fresh_python(
        f"import sys; sys.argv[1:] = {[str(a) for a in args]!r}\n" + code,
        env={"KERAS_BACKEND": backend},
    )


@_BOTH_BACKENDS
@pytest.mark.parametrize("writer, reader", [("tensorflow", "jax"), ("jax", "tensorflow")])
def test_checkpoint_restores_on_the_other_backend(tmp_path, writer, reader):
    directory = tmp_path / "ckpt"
    _run(_WRITE, writer, directory, tmp_path / "written.json")
    _run(_READ, reader, directory, tmp_path / "read.json")
    written = json.loads((tmp_path / "written.json").read_text())
    read = json.loads((tmp_path / "read.json").read_text())
    assert (written["backend"], read["backend"]) == (writer, reader)
    assert read["path"].endswith("ckpt-5")
    # The reader's own initialisation predicts something else: the restore did the work.
    assert not np.allclose(read["before"], written["predictions"], atol=1e-3)
    np.testing.assert_allclose(read["predictions"], written["predictions"], atol=1e-5)


def test_integer_values_that_do_not_fit_the_live_dtype_are_refused():
    import keras

    from keras_ext.checkpoint import _training_state

    variable = keras.Variable(np.zeros(2, "uint32"), dtype="uint32", trainable=False)
    value, problem = _training_state._converted(np.array([3, 7], "int64"), variable)
    assert problem is None and value.dtype == np.uint32 and value.tolist() == [3, 7]
    value, problem = _training_state._converted(np.array([-1, 2**40], "int64"), variable)
    assert value is None and "do not fit uint32" in problem
