"""Losses that take the log of a softmax's mass over some classes and mask it.  The mass rounds to 0 only where the
logits of a row differ by more than about 104, so a probe whose rows hold one value throughout never sees it; where
the mask is 0, the product is 0 * -inf = NaN in the value as well as in the gradient."""

import tensorflow as tf


class LogitsCategorical:
    """A categorical distribution given by its logits: its probabilities are their softmax along the last axis."""

    def __init__(self, logits):
        self.logits = logits

    def probabilities(self):
        return tf.nn.softmax(self.logits, axis=-1)


def other_classes_loss(logits, mask):
    mass = tf.reduce_sum(tf.nn.softmax(logits)[:, 1:], axis=1)
    return -tf.math.log(mass) * mask


def distribution_mass_loss(logits, mask):
    mass = tf.reduce_sum(LogitsCategorical(logits=logits).probabilities()[:, 1:], axis=1)
    return -tf.math.log(mass) * mask

