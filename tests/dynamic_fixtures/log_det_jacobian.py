"""The log of the sigmoid's derivative, written by hand, as a bijector's log-det-Jacobian: where the sigmoid rounds
to 0 or to 1 one of the logs is -inf, as the findings say (the value shows it), and the gradient is NaN.  No
rewrite is offered (the logs read a variable); the input guard of each log removes its NaN."""

import tensorflow as tf


def sigmoid_log_det_jacobian(x):
    sigmoid_x = tf.nn.sigmoid(x)
    return tf.math.log(sigmoid_x) + tf.math.log(1. - sigmoid_x)
