"""Sinks whose probes need integer ids and 0/1 masks: a segment sum over ids counted from 1 (id 0 is padding and is
dropped), a padded negative log-likelihood, and the most likely class's log-probability."""

import tensorflow as tf


def pooled_log_likelihood(probabilities, ids):
    per_item = tf.math.unsorted_segment_sum(tf.math.log(probabilities), ids - 1, 4)
    return tf.reduce_sum(per_item)


def padded_nll(probabilities, padding_mask):
    return -tf.reduce_sum(padding_mask * tf.math.log(probabilities), axis=-1)


def best_log_probability(probabilities):
    return tf.reduce_max(tf.math.log(probabilities), axis=-1)
