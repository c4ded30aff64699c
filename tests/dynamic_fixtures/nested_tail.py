"""A tail integral in the shape of a crystal ball's: two divisions by 1 - n that both give NaN gradients at n = 1
(either one's fix alone leaves the other's NaN: confirmed only with the other findings fixed), beside a division
nested inside a log, whose rewrites nest when the function is checked with every finding fixed."""
import tensorflow as tf


def tail_integral(n, alpha):
    use_log = tf.abs(n - 1.) < 1e-5
    first = tf.where(use_log, tf.math.log(n / alpha), alpha / (1. - n))
    second = tf.where(use_log, tf.zeros_like(n), 2. * alpha / (1. - n))
    return first + second
