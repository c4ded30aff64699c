"""A loss divided by lgamma of a normalizer, which only a normalizer of 1 or 2 would make 0; every call passes 4.0,
a value the static ranges cannot follow through lgamma: refuted."""
import tensorflow as tf


def normalized_loss(y_pred, normalizer):
    loss = tf.square(y_pred)
    return tf.where(normalizer > 0., loss / tf.math.lgamma(normalizer), loss)


def total_loss(predictions):
    return tf.reduce_mean(normalized_loss(predictions, 4.0))
