"""A power-law tail whose ratio feeds both branches of a select.  The ratio's division is at its pole only where
the kept branch breaks too (scale = 0); the NaN gradient at n = 0 is the power's (0 * 0 ** -1 behind the select),
and it comes back to the division as NaN, so guarding the division must not be credited with removing it."""
import tensorflow as tf


def tail_weight(n, scale):
    ratio = n / tf.abs(scale)
    return tf.where(n > 1.0, tf.pow(ratio, n), ratio)
