"""A Keras layer that cannot be built without `units`; the model below builds it with units=4."""
import keras
import tensorflow as tf


class GatedELU(keras.layers.Layer):
    def __init__(self, units, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.alpha = alpha

    def call(self, inputs):
        return tf.where(inputs > 0., inputs, self.alpha * (tf.exp(inputs) - 1.))


def build_model():
    return keras.Sequential([GatedELU(units=4)])
