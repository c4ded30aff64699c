"""Code that computes in float64 throughout, as zfit and GPflow do: its own constants are float64 tensors, which
float32 probe tensors cannot meet in one op.  The probe runs again in float64, where exp overflows above 709."""
import tensorflow as tf

ONE = tf.constant(1.0, tf.float64)


def shifted_elu(x):
    return tf.where(x > 0., x + ONE, tf.exp(x) - ONE)


def half_precision_elu(x):
    # float16 probe tensors would suit it, float64 ones do not: a float32/float16 clash is not retried in float64.
    return tf.where(x > 0., x, tf.exp(x) - tf.constant(1.0, tf.float16))
