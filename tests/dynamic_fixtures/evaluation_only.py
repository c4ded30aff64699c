"""An uncertainty score that only an evaluation metric reads: differentiating it gives a NaN gradient above 88.7
(a hand-written softmax-like ratio), but no training step ever differentiates it."""

import tensorflow as tf


def uncertainty(logits):
    return 1. / (1. + tf.reduce_sum(tf.exp(logits), axis=-1))


def evaluate(logits, metric):
    metric.update_state(uncertainty(logits))
