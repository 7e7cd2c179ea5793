"""A small CNN of ConvBlocks: the original TF2 example's SimpleCNN as a registered Keras model."""

import keras

from keras_ext._validation import check_kernel_size
from keras_ext._validation import check_non_negative
from keras_ext._validation import check_positive_int
from keras_ext._validation import check_rate
from keras_ext.layers.conv_block import DEFAULT_BATCHNORM_MOMENTUM
from keras_ext.layers.conv_block import ConvBlock
from keras_ext.layers.conv_block import with_legacy_momentum
from keras_ext.models._shapes import check_image_shape
from keras_ext.models._tracking import expose_to_tf_checkpoint


@keras.saving.register_keras_serializable(package="keras_ext")
class SimpleCNN(keras.Model):
    """ConvBlocks (with 2x2 max pooling between them) -> GlobalAveragePooling2D -> Dense logits.

    Outputs unnormalised logits: compile with
    `SparseCategoricalCrossentropy(from_logits=True)`. Inputs are
    channels-last images `(batch, height, width, channels)`.

    Args:
        num_classes: positive int, number of output logits.
        filters: non-empty sequence of positive ints, one ConvBlock each.
        kernel_size: kernel size of every ConvBlock.
        weight_decay: L2 factor of every ConvBlock's kernel.
        dropout_rate: dropout rate of every ConvBlock.
        pool_size: max-pooling window applied after every block but the
            last (`None` disables pooling: the blocks then keep the input's
            spatial size, which is slower and sees less of the image).
        batchnorm_momentum: momentum of every ConvBlock's BatchNormalization
            moving statistics, in [0, 1) (default 0.9, about the last 10
            steps; Keras's default 0.99 lags a short run: see ConvBlock).
            A config saved without it (keras_ext before this argument) loads
            with 0.99, what it was trained with.
        **kwargs: base `keras.Model` arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np, keras_ext
    >>> model = keras_ext.models.SimpleCNN(num_classes=10, filters=(8, 16))
    >>> tuple(model(np.zeros((2, 28, 28, 1), "float32")).shape)
    (2, 10)
    """

    def __init__(
        self,
        num_classes=10,
        filters=(16, 32, 64),
        kernel_size=3,
        weight_decay=1e-4,
        dropout_rate=0.0,
        pool_size=2,
        batchnorm_momentum=DEFAULT_BATCHNORM_MOMENTUM,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_classes = check_positive_int("num_classes", num_classes)
        if isinstance(filters, (str, bytes)) or not hasattr(filters, "__len__") or not filters:
            raise ValueError(
                f"`filters` must be a non-empty sequence of positive ints, got filters={filters!r}."
            )
        for f in filters:
            check_positive_int("filters", f)
        self.filters = tuple(int(f) for f in filters)
        self.kernel_size = check_kernel_size("kernel_size", kernel_size)
        self.weight_decay = check_non_negative("weight_decay", weight_decay)
        self.dropout_rate = check_rate("dropout_rate", dropout_rate)
        self.pool_size = None if pool_size is None else check_kernel_size("pool_size", pool_size)
        self.batchnorm_momentum = check_rate("batchnorm_momentum", batchnorm_momentum)
        policy = self.dtype_policy
        self.blocks = [
            ConvBlock(
                f,
                self.kernel_size,
                weight_decay=self.weight_decay,
                dropout_rate=self.dropout_rate,
                batchnorm_momentum=self.batchnorm_momentum,
                dtype=policy,
                name=f"block_{i}",
            )
            for i, f in enumerate(self.filters)
        ]
        n_pools = len(self.filters) - 1 if self.pool_size is not None else 0
        self.pools = [
            keras.layers.MaxPooling2D(self.pool_size, padding="same", dtype=policy, name=f"pool_{i}")
            for i in range(n_pools)
        ]
        self.global_pool = keras.layers.GlobalAveragePooling2D(dtype=policy, name="global_pool")
        # Logits stay float32 under mixed precision so the softmax/loss is stable.
        self.classifier = keras.layers.Dense(self.num_classes, dtype="float32", name="logits")
        # The lists keep the `.keras` layout; tf.train.Checkpoint needs the layers as attributes.
        expose_to_tf_checkpoint(self, "blocks", self.blocks)
        expose_to_tf_checkpoint(self, "pools", self.pools)

    def _layer_sequence(self):
        for i, block in enumerate(self.blocks):
            yield block
            if i < len(self.pools):
                yield self.pools[i]
        yield self.global_pool
        yield self.classifier

    def build(self, input_shape):
        # Building every sub-layer here lets `.keras` loading restore weights
        # into a model that has not been called yet.
        shape = check_image_shape("SimpleCNN", input_shape)
        for layer in self._layer_sequence():
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, inputs, training=None):
        check_image_shape("SimpleCNN", inputs.shape)
        x = inputs
        for layer in self._layer_sequence():
            x = layer(x, training=training) if isinstance(layer, ConvBlock) else layer(x)
        return x

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "filters": list(self.filters),
            "kernel_size": self.kernel_size,
            "weight_decay": self.weight_decay,
            "dropout_rate": self.dropout_rate,
            "pool_size": self.pool_size,
            "batchnorm_momentum": self.batchnorm_momentum,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return super().from_config(with_legacy_momentum(config), custom_objects=custom_objects)
