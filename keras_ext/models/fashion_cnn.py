"""The original TF2 example's Fashion-MNIST CNN (its `MyModel`) as a registered Keras model."""

import keras

from keras_ext._validation import check_positive_int
from keras_ext.models._shapes import check_image_shape
from keras_ext.models._tracking import expose_to_tf_checkpoint


@keras.saving.register_keras_serializable(package="keras_ext")
class FashionCNN(keras.Model):
    """Conv2D(32, relu) -> MaxPool -> Conv2D(64, relu) -> MaxPool -> Flatten -> Dense(64, relu) -> Dense logits.

    Outputs unnormalised logits. Inputs are channels-last images, for
    example Fashion-MNIST's `(batch, 28, 28, 1)`.

    Args:
        num_classes: positive int, number of output logits.
        **kwargs: base `keras.Model` arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np, keras_ext
    >>> tuple(keras_ext.models.FashionCNN()(np.zeros((2, 28, 28, 1), "float32")).shape)
    (2, 10)
    """

    def __init__(self, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = check_positive_int("num_classes", num_classes)
        policy = self.dtype_policy
        self.feature_layers = [
            keras.layers.Conv2D(32, 3, activation="relu", dtype=policy, name="conv_0"),
            keras.layers.MaxPooling2D(dtype=policy, name="pool_0"),
            keras.layers.Conv2D(64, 3, activation="relu", dtype=policy, name="conv_1"),
            keras.layers.MaxPooling2D(dtype=policy, name="pool_1"),
            keras.layers.Flatten(dtype=policy, name="flatten"),
            keras.layers.Dense(64, activation="relu", dtype=policy, name="dense"),
        ]
        # Logits stay float32 under mixed precision so the softmax/loss is stable.
        self.classifier = keras.layers.Dense(self.num_classes, dtype="float32", name="logits")
        # The list keeps the `.keras` layout; tf.train.Checkpoint needs the layers as attributes.
        expose_to_tf_checkpoint(self, "feature_layers", self.feature_layers)

    def build(self, input_shape):
        shape = check_image_shape("FashionCNN", input_shape, need_spatial=True)
        for layer in [*self.feature_layers, self.classifier]:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, inputs, training=None):
        check_image_shape("FashionCNN", inputs.shape, need_spatial=True)
        x = inputs
        for layer in self.feature_layers:
            x = layer(x)
        return self.classifier(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
