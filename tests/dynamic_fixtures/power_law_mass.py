"""The mass of a power law x ** -n on [1, 2] and on [1, 4]: the logarithm where n is 1, (x ** (1 - n) - 1) / (1 - n)
elsewhere.  At n = 1 both discarded branches divide by 0 and multiply the inf by a factor that is 0 there, so each
sends NaN back to n, and fixing either division alone leaves the other's NaN: each is confirmed only with the
other's divisor guarded too."""
import tensorflow as tf


def power_law_mass(n):
    use_log = tf.abs(n - 1.0) < 1e-5
    to_two = tf.where(use_log, tf.math.log(2.0) + 0.0 * n, 1.0 / (1.0 - n) * (tf.pow(2.0, 1.0 - n) - 1.0))
    to_four = tf.where(use_log, tf.math.log(4.0) + 0.0 * n, 1.0 / (1.0 - n) * (tf.pow(4.0, 1.0 - n) - 1.0))
    return to_four - to_two
