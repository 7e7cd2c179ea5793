import keras
import numpy as np
import pytest

from keras_ext.layers import ConvBlock
from keras_ext.layers.conv_block import DEFAULT_BATCHNORM_MOMENTUM
from keras_ext.models import SimpleCNN


def _images(n=4, size=12, channels=1, seed=0):
    return np.random.default_rng(seed).normal(size=(n, size, size, channels)).astype("float32")


def test_structure_follows_arguments():
    model = SimpleCNN(num_classes=7, filters=(4, 8, 16), kernel_size=5, dropout_rate=0.2)
    out = model(_images())
    assert tuple(out.shape) == (4, 7)
    assert [b.filters for b in model.blocks] == [4, 8, 16]
    assert all(isinstance(b, ConvBlock) and b.kernel_size == 5 for b in model.blocks)
    assert all(b.dropout_rate == 0.2 for b in model.blocks)
    assert len(model.pools) == 2
    # one L2 term per ConvBlock kernel
    assert len(model.losses) == 3


def test_matches_the_same_layers_chained_by_hand():
    model = SimpleCNN(num_classes=3, filters=(4, 6))
    x = _images()
    out = keras.ops.convert_to_numpy(model(x, training=False))
    y = model.blocks[0](x, training=False)
    y = model.pools[0](y)
    y = model.blocks[1](y, training=False)
    y = keras.ops.mean(y, axis=(1, 2))
    kernel, bias = model.classifier.get_weights()
    np.testing.assert_allclose(out, keras.ops.convert_to_numpy(y) @ kernel + bias, atol=1e-5)


def test_no_pooling_keeps_spatial_size():
    model = SimpleCNN(filters=(2, 2), pool_size=None)
    model(_images(size=5))
    assert model.pools == []


def test_build_without_call_builds_every_sublayer():
    model = SimpleCNN(filters=(2, 3))
    model.build((None, 10, 10, 1))
    assert model.built and all(layer.built for layer in model.blocks)
    assert len(model.weights) == 2 * 5 + 2  # conv kernel + 4 BN vectors per block, dense


def test_learns_a_small_separable_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8, 8, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int32")
    x[y == 1] += 1.0
    model = SimpleCNN(num_classes=2, filters=(8,), weight_decay=0.0)
    model.compile(
        keras.optimizers.Adam(1e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"filters": ()}, "filters"),
        ({"filters": (8, 0)}, "filters"),
        ({"filters": 8}, "filters"),
        ({"num_classes": 0}, "num_classes"),
        ({"dropout_rate": 2.0}, "dropout_rate"),
        ({"kernel_size": -1}, "kernel_size"),
        ({"batchnorm_momentum": 1.5}, "batchnorm_momentum"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, argument):
    with pytest.raises(ValueError, match=rf"{argument}="):
        SimpleCNN(**kwargs)


def test_rank_2_input_is_rejected_with_shape_in_message():
    with pytest.raises(ValueError, match=r"SimpleCNN expects .*rank 4.*\(3, 784\)"):
        SimpleCNN()(np.ones((3, 784), "float32"))


def test_batchnorm_momentum_reaches_every_batchnorm_and_configs_without_it_keep_keras_0_99():
    # The default lets BatchNormalization's statistics follow a short run
    # (benchmarks/short_runs_learn.py); configs saved before the argument
    # existed trained with Keras's 0.99 and load with it.
    model = SimpleCNN(num_classes=3, filters=(4, 8))
    assert DEFAULT_BATCHNORM_MOMENTUM == 0.9
    assert [b.bn.momentum for b in model.blocks] == [0.9, 0.9]
    assert model.get_config()["batchnorm_momentum"] == 0.9
    assert [b.bn.momentum for b in SimpleCNN(filters=(4, 8), batchnorm_momentum=0.5).blocks] == [0.5, 0.5]
    for original in (model, ConvBlock(4, 3, batchnorm_momentum=0.8)):
        assert type(original).from_config(original.get_config()).get_config() == original.get_config()
        old = {k: v for k, v in original.get_config().items() if k != "batchnorm_momentum"}
        restored = type(original).from_config(old)
        assert restored.batchnorm_momentum == 0.99
        blocks = restored.blocks if isinstance(restored, SimpleCNN) else [restored]
        assert [block.bn.momentum for block in blocks] == [0.99] * len(blocks)
