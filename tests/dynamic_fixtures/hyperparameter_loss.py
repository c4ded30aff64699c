"""A loss divided by a normalizer that only a normalizer of 0 would break; every call passes 4.0: refuted."""
import tensorflow as tf


def normalized_loss(y_pred, normalizer):
    loss = tf.square(y_pred)
    return tf.where(normalizer > 0., loss / normalizer, loss)


def total_loss(predictions):
    return tf.reduce_mean(normalized_loss(predictions, 4.0))
