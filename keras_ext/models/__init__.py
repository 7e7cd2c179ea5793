"""Registered Keras models: `SimpleCNN`, `FashionCNN`."""

from keras_ext.models.fashion_cnn import FashionCNN
from keras_ext.models.simple_cnn import SimpleCNN

__all__ = ["FashionCNN", "SimpleCNN"]
