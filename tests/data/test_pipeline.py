"""make_pipeline: each epoch's order is a function of (seed, epoch), the same for tf.data and the PyDataset.

The reference order is NumPy's PCG64 generator seeded with [seed, epoch],
written out here independently of keras_ext.
"""

import numpy as np
import pytest

from keras_ext import data
from keras_ext.data import pipeline
from tests.data.passes import labels
from tests.subprocess_utils import run_fresh_python


def _reference_order(num_samples, seed, epoch):
    return np.random.Generator(np.random.PCG64([seed, epoch])).permutation(num_samples)


def test_each_epoch_is_the_reference_permutation_of_seed_and_epoch(kind):
    loaded = data.load("digits", batch_size=128, seed=3, kind=kind)
    y = loaded.arrays.y_train
    orders = {}
    for epoch in (0, 1, 2, 1):
        pipeline.set_epoch(epoch)
        assert pipeline.get_epoch() == epoch
        orders.setdefault(epoch, []).append(labels(loaded.train))
    np.testing.assert_array_equal(orders[1][0], orders[1][1])  # epoch 1 again: same order
    assert not np.array_equal(orders[0][0], orders[1][0])  # another epoch: another order
    for epoch in (0, 1, 2):
        np.testing.assert_array_equal(orders[epoch][0], y[_reference_order(len(y), 3, epoch)])


def test_tf_data_and_pydataset_give_the_same_batches():
    pytest.importorskip("tensorflow", reason="compares against the tf.data pipeline")
    rng = np.random.default_rng(0)
    x, y = rng.random((50, 3, 2), "float32"), np.arange(50)
    tf_data = pipeline.make_pipeline(x, y, 8, shuffle=True, seed=11, kind="tf.data")
    py_dataset = pipeline.make_pipeline(x, y, 8, shuffle=True, seed=11, kind="pydataset")
    for epoch in (0, 4):
        pipeline.set_epoch(epoch)
        pairs = list(zip(tf_data, py_dataset, strict=True))
        assert len(pairs) == 7
        for (tx, ty), (px, py) in pairs:
            np.testing.assert_array_equal(tx.numpy(), px)
            np.testing.assert_array_equal(ty.numpy(), py)


def test_a_fresh_process_starting_at_epoch_2_sees_epoch_2s_order(kind, tmp_path):
    loaded = data.load("digits", batch_size=128, seed=3, kind=kind)
    for epoch in (0, 1, 2):  # this process iterates epochs 0 and 1 first
        pipeline.set_epoch(epoch)
        order = labels(loaded.train)
    np.save(tmp_path / "epoch2.npy", order)
    run_fresh_python(
        f"""
        import numpy as np
        from keras_ext import data
        from keras_ext.data import pipeline
        train = data.load("digits", batch_size=128, seed=3, kind={kind!r}).train
        pipeline.set_epoch(2)
        labels = np.concatenate([np.asarray(y) for _, y in train])
        np.testing.assert_array_equal(labels, np.load({str(tmp_path / "epoch2.npy")!r}))
        """
    )


def test_without_an_epoch_each_pass_is_reshuffled_and_every_batch_is_there(kind):
    loaded = data.load("digits", batch_size=100, seed=5, kind=kind)
    assert len(loaded.train) == -(-len(loaded.arrays.y_train) // 100)
    first, second = labels(loaded.train), labels(loaded.train)
    if kind == "pydataset":
        # A PyDataset learns that a pass ended from on_epoch_end, as fit and the Trainer call it.
        loaded.train.on_epoch_end()
        second = labels(loaded.train)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(np.sort(first), np.sort(loaded.arrays.y_train))
    y = loaded.arrays.y_train
    # Never one of the epoch orders: those belong to runs that set the epoch.
    assert not any(np.array_equal(first, y[_reference_order(len(y), 5, e)]) for e in range(3))


def test_unshuffled_pipeline_keeps_the_array_order(kind):
    x, y = np.arange(10.0)[:, None], np.arange(10)
    batches = list(pipeline.make_pipeline(x, y, 4, kind=kind))
    assert [len(np.asarray(b)) for _, b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([np.asarray(b) for _, b in batches]), y)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "batch_size=0"),
        ({"seed": -2}, "seed=-2"),
        ({"seed": 1.5}, "seed=1.5"),
        ({"kind": "grain"}, "kind='grain'"),
        ({"y": np.arange(3)}, "y has 3"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    arguments = {"x": np.zeros((4, 1)), "y": np.arange(4), "batch_size": 2, "shuffle": True, **kwargs}
    with pytest.raises(ValueError, match=message):
        pipeline.make_pipeline(**arguments)


@pytest.mark.parametrize("epoch", [-3, 1.0, True, "1"])
def test_bad_epochs_are_named(epoch):
    with pytest.raises(ValueError, match=f"epoch={epoch!r}"):
        pipeline.set_epoch(epoch)
    assert pipeline.get_epoch() is None
