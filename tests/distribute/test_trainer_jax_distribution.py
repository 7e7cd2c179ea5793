"""The Trainer's JAX step under Keras's `keras.distribution.DataParallel` on two CPU devices.

Runs in a fresh process (XLA must be told to show two CPU devices before
JAX starts). Each batch is split over the devices as Keras's JAX `fit`
splits it (a batch of 15 cannot be: the error shows the split happens);
the weights equal single-device training, also with `steps_per_execution`
(each execution one `lax.scan` whose steps' batches are split alike); a CheckpointManager resume under
the distribution equals an uninterrupted run.
"""

import pytest

from tests.subprocess_utils import run_fresh_python

pytest.importorskip("jax")

CODE = """
import os, tempfile
import keras, numpy as np
from keras_ext.callbacks import CheckpointManager
from keras_ext.distribute import get_strategy, replicas
from keras_ext.training import Trainer
from keras_ext.training import jax_steps

# Each fused execution's stack of x, as the lax.scan gets it: the shape of its part on each device.
stacked_calls = []
distribute_stack = jax_steps._distribute_stack
def recorded(stacked):
    placed = distribute_stack(stacked)
    stacked_calls.append([shard.data.shape for shard in placed[0].addressable_shards])
    return placed
jax_steps._distribute_stack = recorded

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 6)).astype("float32")
y = rng.integers(0, 3, 64)


def train(distributed, epochs=2, batch_size=16, callbacks=None, seed=0, steps_per_execution=1):
    keras.distribution.set_distribution(get_strategy("mirrored") if distributed else None)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(3)])
    trainer = Trainer(model, optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
                      steps_per_execution=steps_per_execution)
    history = trainer.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)
    return model.get_weights(), history.history


assert replicas(get_strategy("mirrored")) == 2
single, single_logs = train(False)
split, split_logs = train(True)
for a, b in zip(single, split, strict=True):
    np.testing.assert_allclose(a, b, atol=1e-6)
for key in single_logs:
    np.testing.assert_allclose(single_logs[key], split_logs[key], atol=1e-6)
assert stacked_calls == []

# Fused: an execution's 4 batches are one lax.scan, each step's batch still split over the devices.
fused, fused_logs = train(True, steps_per_execution=4)
assert stacked_calls == [[(4, 8, 6), (4, 8, 6)]] * 2, stacked_calls  # 2 epochs of one execution
for a, b in zip(single, fused, strict=True):
    np.testing.assert_allclose(a, b, atol=1e-6)
for key in single_logs:
    np.testing.assert_allclose(single_logs[key], fused_logs[key], atol=1e-6)

try:
    train(True, batch_size=15)
except Exception as e:
    assert "evenly divide" in str(e), e
else:
    raise AssertionError("a batch of 15 went through two devices unsplit")

directory = os.path.join(tempfile.mkdtemp(), "ckpt")
train(True, epochs=1, callbacks=[CheckpointManager(directory, save_freq=3)])
resumed, resumed_logs = train(True, epochs=2, callbacks=[CheckpointManager(directory, save_freq=3)], seed=7)
# The History covers the whole run: epoch 1's loss comes back from the checkpoint.
np.testing.assert_allclose(resumed_logs["loss"], split_logs["loss"], atol=1e-6)
for a, b in zip(resumed, split, strict=True):
    np.testing.assert_allclose(a, b, atol=1e-6)
print("ok")
"""


def test_trainer_splits_batches_over_two_devices_and_resumes_exactly():
    proc = run_fresh_python(
        CODE, env={"KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    )
    assert proc.stdout.strip().splitlines()[-1] == "ok"
