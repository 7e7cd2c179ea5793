"""What every variant trains: the model by name, synthetic 28x28x1 data's shape, the optimizer and the loss."""

import keras

from keras_ext.models._by_name import MODEL_NAMES
from keras_ext.models._by_name import build_model

# keras_ext's models, and a small MLP (Flatten, Dense 64, Dense 10): a step so small that
# launching it costs more than computing it, where the loop around the steps shows.
BENCH_MODEL_NAMES = (*MODEL_NAMES, "mlp")

DATA_KINDS = ("arrays", "tf.data")
INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
OPTIMIZER = "RMSprop(1e-3)"  # as recorded in results.json; `optimizer()` makes it


def make_model(name, seed=0):
    """The named model (`BENCH_MODEL_NAMES`), built, its initial weights drawn from `seed`."""
    keras.utils.set_random_seed(seed)
    if name == "mlp":
        return keras.Sequential(
            [
                keras.Input(INPUT_SHAPE),
                keras.layers.Flatten(),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(NUM_CLASSES),
            ],
            name="mlp",
        )
    return build_model(name, NUM_CLASSES, INPUT_SHAPE)


def loss():
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def optimizer():
    return keras.optimizers.RMSprop(1e-3)
