"""A function that branches in Python on one of its inputs: called with a vector of probe points, ``if
temperature > 1.0`` cannot be decided, so each point is probed alone, as a scalar.  The division's value is
assigned inside the branch, so the select reads either it or the x from before: its check guards it where it
stands instead of copying it into the select."""
import tensorflow as tf


def scaled_log(x, temperature):
    if temperature > 1.0:
        x = x / temperature
    return tf.where(x > 0.0, tf.math.log(x), 0.0)
