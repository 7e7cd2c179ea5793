"""One worker of a MultiWorkerMirroredStrategy run of the Trainer (or the single-process reference).

Usage: python multiworker_script.py OUT.npz   (with TF_CONFIG set for a worker)

Keras 3.15's own `fit` fails under MultiWorkerMirroredStrategy on CPU
("Attempt to convert a value (PerReplica...) to a Tensor", with arrays and
with tf.data alike), so only the Trainer is run here.
"""

import sys

import keras
import numpy as np

from keras_ext.distribute import get_strategy
from keras_ext.layers import Linear
from keras_ext.training import Trainer


def main(out):
    strategy = get_strategy("auto")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = rng.integers(0, 3, 64)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((6,)), Linear(8, activation="relu"), Linear(3)])
        args = dict(
            optimizer=keras.optimizers.SGD(0.1),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        trainer = Trainer(model, **args)
    history = trainer.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    np.savez(out, *model.get_weights(), replicas=strategy.num_replicas_in_sync, loss=history["loss"])


if __name__ == "__main__":
    main(sys.argv[1])
