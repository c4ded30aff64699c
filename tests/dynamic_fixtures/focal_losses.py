import tensorflow as tf


def one_hot_focal_loss(labels, logits, gamma=0.0):
    """The label's softmax entry picked by a one-hot sum.  At gamma = 0 (plain cross-entropy) the power's gradient
    is 0 * inf = NaN where the entry saturates to 1, a confident correct prediction; the log's is NaN where the
    entry underflows to 0."""
    probs = tf.nn.softmax(logits, axis=-1)
    picked = tf.reduce_sum(probs * tf.one_hot(labels, 2), axis=-1)
    return -tf.reduce_mean(tf.pow(1. - picked, gamma) * tf.math.log(picked))


def make_gathered_focal_loss(gamma=2.0):
    def gathered_focal_loss(labels, logits):
        """The label's entry gathered by row: the squeeze of the labels needs a batch of two or more, and the log's
        -inf reaches the gradient through the focal factor beside it, which a guard on the log alone leaves."""
        probs = tf.nn.softmax(logits, axis=-1)
        rows = tf.range(tf.shape(probs)[0], dtype=tf.int32)
        class_probs = tf.gather_nd(probs, tf.stack([rows, tf.squeeze(tf.cast(labels, tf.int32))], axis=1))
        return tf.reduce_mean(-tf.pow(1. - class_probs, gamma) * tf.math.log(class_probs))

    return gathered_focal_loss


loss = make_gathered_focal_loss()


def binary_focal_loss(y_true, logits, gamma=0.0):
    """p_t is the sigmoid where the label is 1 and its complement where it is 0: at a logit of 89 it is exactly 0
    for a label 0 (the log's NaN) and exactly 1 for a label 1 (the focal term's, at gamma = 0)."""
    p = tf.sigmoid(logits)
    p_t = tf.where(tf.equal(y_true, 1.), p, 1. - p)
    return -tf.pow(1. - p_t, gamma) * tf.math.log(p_t)
