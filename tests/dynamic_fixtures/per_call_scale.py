import tensorflow as tf


def reflected_standard_score(x, scale, reflect):
    """A per-call scale divides every element, on both sides of the select: at a scale of 0 (or 1e-30) the kept
    elements' gradient is infinite too, so the select hides nothing."""
    score = x / tf.abs(scale)
    return tf.where(reflect < 0., -score, score)
