"""Registered Keras layers: `Linear`, `ConvBlock`."""

from keras_ext.layers.conv_block import ConvBlock
from keras_ext.layers.linear import Linear

__all__ = ["ConvBlock", "Linear"]
