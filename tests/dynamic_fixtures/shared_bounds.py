import numpy as np
import tensorflow as tf


def truncated_mass(centre, width, flip, low, high):
    """The probability mass of a (possibly mirrored) normal between two bounds.  Each standardised bound is read by
    both selects, and one of them keeps it on every element: where ``width`` is tiny the erf saturates on the kept
    elements and sends the bound a zero gradient of its own, so the NaN there is not either select's doing."""
    spread = tf.abs(width)
    start = (low - centre) / spread
    stop = (high - centre) / spread
    mirrored = tf.less(flip, 0.)
    stop, start = (
        tf.where(mirrored, -start, stop),
        tf.where(mirrored, -stop, start),
    )
    return 0.5 * (tf.math.erf(stop / np.sqrt(2.)) - tf.math.erf(start / np.sqrt(2.)))


def shifted_elu(x):
    """The exp is assigned first and read only by the select: its overflow on the discarded elements is the
    select's NaN, as if it were written inside the call."""
    grown = tf.exp(x)
    return tf.where(x > 0., x, grown - 1.)
