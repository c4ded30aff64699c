"""A loss factory: the loss is a closure the factory returns, configured by the factory's defaults."""

import tensorflow as tf


def softplus_loss_fn(threshold=30.):
    def softplus_loss(z):
        return tf.where(z > threshold, z, tf.math.log(tf.exp(z) + 1.))

    return softplus_loss
