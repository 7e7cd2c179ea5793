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


def test_each_pass_is_the_reference_permutation_of_seed_and_pass_number(kind):
    loaded = data.load("digits", batch_size=128, seed=3, kind=kind)
    y = loaded.arrays.y_train
    passes = [labels(loaded.train) for _ in range(3)]
    assert loaded.train.get_position() == {"epoch": 2}
    for epoch, order in enumerate(passes):
        np.testing.assert_array_equal(order, y[_reference_order(len(y), 3, epoch)])
    assert not np.array_equal(passes[0], passes[1])  # another epoch: another order
    loaded.train.set_epoch(1)  # how a resume puts it back
    np.testing.assert_array_equal(labels(loaded.train), passes[1])
    np.testing.assert_array_equal(labels(loaded.train), passes[2])  # and it counts on from there


def test_tf_data_and_pydataset_give_the_same_batches():
    pytest.importorskip("tensorflow", reason="compares against the tf.data pipeline")
    rng = np.random.default_rng(0)
    x, y = rng.random((50, 3, 2), "float32"), np.arange(50)
    tf_data = pipeline.make_pipeline(x, y, 8, shuffle=True, seed=11, kind="tf.data")
    py_dataset = pipeline.make_pipeline(x, y, 8, shuffle=True, seed=11, kind="pydataset")
    for epoch in (None, 4):
        if epoch is not None:
            tf_data.set_epoch(epoch)
            py_dataset.set_epoch(epoch)
        pairs = list(zip(tf_data, py_dataset, strict=True))
        assert len(pairs) == 7
        for (tx, ty), (px, py) in pairs:
            np.testing.assert_array_equal(tx.numpy(), px)
            np.testing.assert_array_equal(ty.numpy(), py)


def test_two_pipelines_in_one_process_are_independent(kind):
    first = data.load("digits", batch_size=128, seed=3, kind=kind).train
    second = data.load("digits", batch_size=128, seed=3, kind=kind).train
    first_passes = [labels(first) for _ in range(3)]
    first.set_epoch(9)
    # The second pipeline neither saw the first one's passes nor its set_epoch.
    np.testing.assert_array_equal(labels(second), first_passes[0])
    np.testing.assert_array_equal(labels(second), first_passes[1])


def test_a_fresh_process_set_to_epoch_2_sees_the_third_pass(kind, tmp_path):
    loaded = data.load("digits", batch_size=128, seed=3, kind=kind)
    for _ in range(3):  # this process makes passes 0 and 1 first
        order = labels(loaded.train)
    np.save(tmp_path / "epoch2.npy", order)
    run_fresh_python(
        f"""
        import numpy as np
        from keras_ext import data
        train = data.load("digits", batch_size=128, seed=3, kind={kind!r}).train
        train.set_epoch(2)
        labels = np.concatenate([np.asarray(y) for _, y in train])
        np.testing.assert_array_equal(labels, np.load({str(tmp_path / "epoch2.npy")!r}))
        """
    )


def test_every_batch_is_there_and_reading_a_batch_is_not_a_pass(kind):
    loaded = data.load("digits", batch_size=100, seed=5, kind=kind)
    assert len(loaded.train) == -(-len(loaded.arrays.y_train) // 100)
    if kind == "pydataset":
        loaded.train[0]  # what the Trainer reads to build a model: not a pass
        assert loaded.train.get_position() == {"epoch": None}
    first = labels(loaded.train)
    np.testing.assert_array_equal(np.sort(first), np.sort(loaded.arrays.y_train))


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


@pytest.mark.parametrize("epoch", [-3, 1.0, True, "1", None])
def test_bad_epochs_are_named(epoch, kind):
    train = pipeline.make_pipeline(np.zeros((4, 1)), np.arange(4), 2, shuffle=True, kind=kind)
    with pytest.raises(ValueError, match=f"epoch={epoch!r}"):
        train.set_epoch(epoch)
    assert train.get_position() == {"epoch": None}


def test_no_module_level_state_in_keras_ext_data():
    """Every pipeline owns its position: no module of keras_ext.data keeps a mutable global."""
    import ast
    import pathlib

    import keras_ext.data

    for path in pathlib.Path(keras_ext.data.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            assert not isinstance(node, ast.Global), f"{path.name}:{node.lineno} uses `global`"
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                names = [target.id] if isinstance(target, ast.Name) else []
                for name in names:
                    if name == "__all__":
                        continue
                    assert name.isupper(), f"{path.name}: module-level {name}"
                    frozen = isinstance(node.value, ast.Call) and "MappingProxyType" in ast.unparse(
                        node.value.func
                    )
                    assert frozen or isinstance(node.value, (ast.Constant, ast.Tuple)), (
                        f"{path.name}: {name} is not an immutable constant"
                    )
