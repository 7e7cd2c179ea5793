"""keras_ext's models by the names the command line and the benchmarks give them."""

from keras_ext.models.fashion_cnn import FashionCNN
from keras_ext.models.simple_cnn import SimpleCNN

MODEL_NAMES = ("simplecnn", "fashioncnn")


def build_model(name, num_classes, input_shape, dropout_rate=0.0):
    """Create the named model (one of `MODEL_NAMES`) and build it for `input_shape` (without the batch).

    `dropout_rate` is SimpleCNN's; FashionCNN has none.
    """
    if name == "simplecnn":
        model = SimpleCNN(num_classes=num_classes, dropout_rate=dropout_rate)
    elif name == "fashioncnn":
        model = FashionCNN(num_classes=num_classes)
    else:
        raise ValueError(f"Unknown model {name!r}; expected one of {list(MODEL_NAMES)}.")
    model.build((None, *input_shape))
    return model
