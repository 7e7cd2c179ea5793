"""Under MirroredStrategy each replica trains on its own slice of the global batch,
and CategoricalTruePositives adds the replicas' counts up.

Weights alone cannot show the split: replicas that each processed the whole
global batch and averaged the gradients would end where single-device
training ends. So a probe layer records, per step, the sample ids each
replica saw, weighted by the replica's id, into a sum-aggregated variable.
"""

import pytest

from tests.subprocess_utils import run_fresh_python

pytestmark = pytest.mark.tensorflow_only

_PROBE = """
import numpy as np, tensorflow as tf, keras
from keras_ext.distribute import get_strategy, split_cpu
assert split_cpu(2) == ["/device:CPU:0", "/device:CPU:1"]
from keras_ext.training import Trainer
from keras_ext.metrics import CategoricalTruePositives


class ReplicaProbe(keras.layers.Layer):
    # While training, adds sum(sample id * (replica id + 1)) over the samples this
    # replica saw. Each replica adds to its own copy (ON_READ), a read sums the
    # copies. (A Keras weight with aggregation="sum" is ON_WRITE, and Keras's
    # assign_add there adds the old value once per replica.)
    def __init__(self, seen, **kwargs):
        super().__init__(**kwargs)
        self._seen = lambda: seen  # a plain tf.Variable, kept out of Keras's tracking

    def call(self, x, training=False):
        if training:
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            weight = tf.cast(replica + 1, x.dtype)
            self._seen().assign_add(tf.reduce_sum(x[:, 0]) * weight)
        return x


def make(strategy):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        seen = tf.Variable(0.0, trainable=False, synchronization=tf.VariableSynchronization.ON_READ,
                           aggregation=tf.VariableAggregation.SUM)
        model = keras.Sequential([keras.Input((3,)), ReplicaProbe(seen), keras.layers.Dense(4)])
        args = dict(optimizer=keras.optimizers.SGD(0.0),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=[CategoricalTruePositives()])
    return model, args


strategy = get_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
rng = np.random.default_rng(0)
x = rng.normal(size=(32, 3)).astype("float32")
x[:, 0] = np.arange(32)          # the sample id, as the probe reads it
y = rng.integers(0, 4, 32)
"""


def test_each_replica_trains_on_its_own_slice_of_the_global_batch():
    run_fresh_python(
        _PROBE
        + """
# Global batch 16 split in two: replica 0 sees ids 16b..16b+7, replica 1 the next 8.
ids = np.arange(32).reshape(2, 2, 8)                 # (batch, replica, sample)
expected = float(sum((r + 1) * ids[:, r].sum() for r in range(2)))
whole_batch_each = float(3 * ids.sum())              # what duplicated batches would give

for run in ("trainer", "fit"):
    model, args = make(strategy)
    with strategy.scope():
        if run == "trainer":
            Trainer(model, **args).fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        else:
            model.compile(**args)
            model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    seen = float(model.layers[0]._seen().numpy())
    assert seen == expected, (run, seen, expected, whole_batch_each)
print("ok")
"""
    )


def test_categorical_true_positives_sums_replicas_to_the_single_device_count():
    run_fresh_python(
        _PROBE
        + """
model, args = make(strategy)
# The independent reference: argmax of the (fixed, lr=0) model's logits in NumPy.
kernel, bias = model.layers[1].get_weights()
expected = float(np.sum(np.argmax(x @ kernel + bias, axis=-1) == y))
assert 0 < expected < len(y)

with strategy.scope():
    history = Trainer(model, **args).fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
assert history.history["categorical_true_positives"] == [expected], history.history

fitted, args = make(strategy)
with strategy.scope():
    fitted.compile(**args)
logs = fitted.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
assert logs["categorical_true_positives"] == expected, (logs, expected)
print("ok")
"""
    )
