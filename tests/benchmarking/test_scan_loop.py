"""`ScanLoop`, the benchmark's limit on JAX: the same training as the bare loop, as one lax.scan per pass."""

import keras
import numpy as np
import pytest

from keras_ext.benchmarking import workload
from keras_ext.benchmarking.bare_loop import BareLoop
from keras_ext.benchmarking.scan_loop import ScanLoop


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="a lax.scan: JAX's")
def test_a_pass_trains_the_weights_the_bare_loop_trains_step_by_step():
    rng = np.random.default_rng(0)
    x = rng.random((4 * 16 + 5, *workload.input_shape("mlp"))).astype(
        "float32"
    )  # 4 whole batches, and a rest
    y = rng.integers(0, workload.NUM_CLASSES, len(x)).astype("int32")
    scan = ScanLoop(workload.make_model("mlp"), workload.optimizer(), workload.loss())
    bare = BareLoop(workload.make_model("mlp"), workload.optimizer(), workload.loss())
    assert scan.run_epoch(x, y, batch_size=16) == 4
    bare.run_epoch(x[:64], y[:64], batch_size=16)
    for got, want in zip(scan._state[0], bare._state[0], strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-5)
    assert scan.run_epoch(x, y, batch_size=16) == 4  # the data stays on the device; the state goes on


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="refused on the other backends")
def test_another_backend_is_refused_in_one_line():
    with pytest.raises(ValueError, match="ScanLoop runs on the JAX backend only"):
        ScanLoop(workload.make_model("mlp"), workload.optimizer(), workload.loss())
