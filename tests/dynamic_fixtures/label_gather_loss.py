"""A cross-entropy that takes each row's label entry after the log: ``probabilities`` comes as rows of classes and
``labels`` as one class id per row.  Where a class the label does not pick has probability 0, the log is -inf
there, the gather sends it a zero gradient, and 0 * inf = NaN, although the value is finite.  The probe needs rows
of two classes, one taken and one left out, and integer class ids."""
import tensorflow as tf


def label_nll(probabilities, labels):
    return -tf.gather(tf.math.log(probabilities), labels, batch_dims=1)
