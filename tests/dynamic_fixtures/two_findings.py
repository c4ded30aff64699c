"""Two findings in one function; only the log causes the NaN gradient.  The exp is evaluated where scale > 0 is
false, but every call passes scale=-0.5, where exp(-0.5 * x) never overflows on a lane the select discards."""
import tensorflow as tf


def log_and_scaled_exp(x, scale):
    y = tf.where(x > 0., tf.math.log(x), tf.zeros_like(x))
    z = tf.where(scale > 0., x, tf.exp(scale * x))
    return y + z


def model_output(x):
    return log_and_scaled_exp(x, -0.5)
