"""What every variant trains: the model by name, its synthetic data's shape, the optimizer and the loss."""

import keras

from keras_ext.models._by_name import MODEL_NAMES
from keras_ext.models._by_name import build_model

# keras_ext's models, and a small MLP (32 features, Dense 64, Dense 10, as in issue 19): a
# step so small that launching it costs more than computing it, where the loop around the
# steps shows. (On 28x28x1 images, a Flatten first, the 784x64 product made the step
# compute-bound: about 6,600 steps/s at the lax.scan limit on a 2-core CPU, against 90,000.)
BENCH_MODEL_NAMES = (*MODEL_NAMES, "mlp")

DATA_KINDS = ("arrays", "tf.data")
INPUT_SHAPE = (28, 28, 1)
MLP_INPUT_SHAPE = (32,)
NUM_CLASSES = 10
OPTIMIZER = "RMSprop(1e-3)"  # as recorded in results.json; `optimizer()` makes it


def input_shape(name):
    """The shape of one sample of the named model's data: 28x28x1 images, 32 features for the MLP."""
    return MLP_INPUT_SHAPE if name == "mlp" else INPUT_SHAPE


def make_model(name, seed=0):
    """The named model (`BENCH_MODEL_NAMES`), built, its initial weights drawn from `seed`."""
    keras.utils.set_random_seed(seed)
    if name == "mlp":
        return keras.Sequential(
            [
                keras.Input(MLP_INPUT_SHAPE),
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
