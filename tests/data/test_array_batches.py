"""ArrayBatches, the PyDataset pipeline: what fit and the Trainer do with it, and its warnings."""

import warnings

import keras
import numpy as np
import pytest

from keras_ext.data import ArrayBatches
from tests.data.passes import labels


def _tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.random((40, 4), "float32"), np.arange(40) % 3


class RecordedBatches(ArrayBatches):
    """ArrayBatches that keeps the pass number and labels of every batch handed out, in order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.handed_out = []

    def __getitem__(self, index):
        x, y = super().__getitem__(index)
        self.handed_out.append((self.get_position()["epoch"], y))
        return x, y


def test_fit_trains_each_epoch_on_the_reference_order_of_a_pass_of_its_own():
    x, y = _data()
    batches = RecordedBatches(x, y, 8, shuffle=True, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _tiny_model().fit(batches, epochs=2, shuffle=False, verbose=0)
    # Keras may read a batch to learn the shapes first (a pass of its own): the last
    # two passes are the two epochs, each whole and in its pass's reference order.
    trained = batches.handed_out[-10:]
    passes = [epoch for epoch, _ in trained]
    assert passes == [passes[0]] * 5 + [passes[0] + 1] * 5
    for index, epoch in enumerate((passes[0], passes[0] + 1)):
        expected = y[np.random.Generator(np.random.PCG64([4, epoch])).permutation(40)]
        np.testing.assert_array_equal(
            np.concatenate([b for _, b in trained[5 * index : 5 * index + 5]]), expected
        )


def test_fit_with_shuffle_true_reorders_the_batches_and_is_warned_about():
    x, y = _data()
    with pytest.warns(UserWarning, match="pass shuffle=False"):
        _tiny_model().fit(ArrayBatches(x, y, 4, shuffle=True), epochs=1, shuffle=True, verbose=0)


def test_trainer_accepts_it_like_fit():
    from keras_ext.training import Trainer

    x, y = _data()
    model = _tiny_model()
    trainer = Trainer(
        model,
        optimizer=keras.optimizers.SGD(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = trainer.fit(
        ArrayBatches(x, y, 8, shuffle=True),
        epochs=2,
        shuffle=False,
        validation_data=ArrayBatches(x, y, 8),
        verbose=0,
    )
    assert sorted(history.history) == ["loss", "val_loss"] and len(history.epoch) == 2


def test_indexing_and_a_pass_over_it():
    x, y = _data()
    batches = ArrayBatches(x, y, 16)
    assert len(batches) == 3
    np.testing.assert_array_equal(batches[2][1], y[32:])
    np.testing.assert_array_equal(labels(batches), y)
    with pytest.raises(IndexError, match="3 batches"):
        batches[3]


def test_mismatched_lengths_are_named():
    with pytest.raises(ValueError, match="y has 2"):
        ArrayBatches(np.zeros((3, 1)), np.arange(2), 2)
