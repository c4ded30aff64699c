"""Two divisions by 1 - n whose quotient, infinite at n = 1, multiplies a factor that is 0 there: the NaN reaches
n through the factor (inf * 0 in the product's gradient), past the division's own gradient.  Only a fix that makes
the quotient finite removes it (the divisor guard, as the double where would), and at n = 1 both break."""
import tensorflow as tf


def tail_product(n, alpha):
    use_log = tf.abs(n - 1.) < 1e-5
    first = tf.where(use_log, tf.zeros_like(n), alpha / (1. - n) * (n - 1.))
    second = tf.where(use_log, tf.zeros_like(n), 2. * alpha / (1. - n) * (n - 1.))
    return first + second
