"""KeepBest keeps the best-scored checkpoint the monitor's way: the highest for a metric to maximise."""

import os

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.checkpoint import _retention as retention

# The monitored value after each epoch: the best (highest) is epoch 2's, the worst epoch 1's.
ACCURACIES = [0.2, 0.9, 0.5, 0.3, 0.4]


class Accuracy(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs["val_accuracy"] = ACCURACIES[epoch]


def test_keep_best_ranks_by_its_direction():
    steps, scores = [1, 2, 3, 4], {1: 0.5, 2: 0.9, 3: 0.1, 4: None}
    assert retention.KeepBest(1, "max").keep(steps, scores) == {2}
    assert retention.KeepBest(2, "max").keep(steps, scores) == {1, 2}
    assert retention.KeepBest(1, "min").keep(steps, scores) == {3}


@pytest.mark.parametrize("mode", ["max", "auto"])
def test_the_highest_val_accuracy_checkpoint_survives_rotation(tmp_path, mode):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.ones((4, 3), "float32")
    manager = CheckpointManager(
        tmp_path, save_freq=1000, max_to_keep=1, monitor="val_accuracy", mode=mode, keep_best=1
    )
    model.fit(x, x[:, 0], batch_size=2, epochs=len(ACCURACIES), callbacks=[Accuracy(), manager], verbose=0)
    # Epoch ends only (2 steps each): the newest (epoch 5) and the best (epoch 2, 0.9).
    assert [os.path.basename(p) for p in manager.checkpoints] == ["ckpt-4", "ckpt-10"]
    assert os.path.basename(manager.best) == "ckpt-4"
