"""What every variant trains: the model by name, synthetic 28x28x1 data's shape, the optimizer and the loss."""

import keras

from keras_ext.models._by_name import build_model

DATA_KINDS = ("arrays", "tf.data")
INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
OPTIMIZER = "RMSprop(1e-3)"  # as recorded in results.json; `optimizer()` makes it


def make_model(name, seed=0):
    """The named model (`keras_ext.models._by_name.MODEL_NAMES`), built, its initial weights drawn from `seed`."""
    keras.utils.set_random_seed(seed)
    return build_model(name, NUM_CLASSES, INPUT_SHAPE)


def loss():
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def optimizer():
    return keras.optimizers.RMSprop(1e-3)
