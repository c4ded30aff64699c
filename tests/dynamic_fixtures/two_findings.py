"""Two findings in one function; only the log causes the NaN gradient.  Every call passes scale=-0.5, so exp's
input atan(x) * scale stays below 0.8 (static ranges do not bound atan: reported, then not confirmed)."""
import tensorflow as tf


def log_and_scaled_exp(x, scale):
    y = tf.where(x > 0., tf.math.log(x), tf.zeros_like(x))
    z = tf.where(x < -1., x, tf.exp(tf.math.atan(x) * scale))
    return y + z


def model_output(x):
    return log_and_scaled_exp(x, -0.5)
