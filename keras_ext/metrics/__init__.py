"""Registered Keras metrics: `CategoricalTruePositives`."""

from keras_ext.metrics.categorical_true_positives import CategoricalTruePositives

__all__ = ["CategoricalTruePositives"]
