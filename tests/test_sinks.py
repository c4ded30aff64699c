"""The zero-gradient sinks besides the select (TFN006-TFN009), statically: what is reported, at which confidence,
against which sink, and what stays silent.  (``tests/test_sinks_tf.py`` proves the TensorFlow facts behind them.)"""

from __future__ import annotations

import textwrap

import pytest

from helpers import lint
from tflint_nan.report import to_dict

TF = "import tensorflow as tf\n\n\n"
KERAS = "import keras\nimport tensorflow as tf\n\n\n"


def found(code: str, prelude: str = TF):
    return [(f.code, f.confidence, f.strict_only) for f in lint(prelude + textwrap.dedent(code), strict=True)]


CASES = {
    # clamps of an op's output (TFN006)
    "exp of a parameter under an upper clamp": ("def f(x):\n    return tf.minimum(tf.exp(x), 1e6)\n",
                                                [("TFN006", "high", False)]),
    "log of a parameter under a lower clamp": ("def f(p):\n    return tf.maximum(tf.math.log(p), -100.)\n",
                                               [("TFN006", "high", False)]),
    "relu of a log": ("def f(x):\n    return tf.nn.relu(tf.math.log(x))\n", [("TFN006", "high", False)]),
    # the function's input minus anything is as unbounded as the input (a PPO ratio of log-probabilities)
    "exp of a computed ratio under a clip": (
        "def f(new, old):\n    return tf.clip_by_value(tf.exp(new - old), 0.8, 1.2)\n", [("TFN006", "high", False)]),
    "exp of a placeholder's difference under a clip": (
        "class PPO:\n    def __init__(self):\n        self.old_logp_ph = None\n\n"
        "    def setup(self, logp):\n        self.old_logp_ph = tf.compat.v1.placeholder(tf.float32, [None])\n"
        "        ratio = tf.exp(logp() - self.old_logp_ph)\n"
        "        return tf.clip_by_value(ratio, 0.8, 1.2)\n", [("TFN006", "high", False)]),
    # a log-density (``log_prob``, ``logp``) is unbounded: so is a log importance ratio of two of them
    "exp of two log-densities under a clip": (
        "def f(pi, old_pi, a):\n    return tf.clip_by_value(tf.exp(pi.logp(a) - old_pi.logp(a)), 0.8, 1.2)\n",
        [("TFN006", "high", False)]),
    "exp of a log-density held in a variable under a clip": (
        "def f(dist, a, old):\n    logp = dist.log_prob(a)\n"
        "    return tf.clip_by_value(tf.exp(logp - old), 0.8, 1.2)\n", [("TFN006", "high", False)]),
    "exp of two computed scores under a clip": (
        "def f(model, a):\n    return tf.clip_by_value(tf.exp(model.score(a) - model.base(a)), 0.8, 1.2)\n",
        [("TFN006", "medium", True)]),
    "arithmetic between the op and the clamp": (
        "def f(a):\n    return tf.clip_by_value(1. - tf.exp(a), 1e-7, 1.)\n", [("TFN006", "medium", True)]),
    "a division under a clamp": ("def f(x, y):\n    return tf.clip_by_value(x / y, -10., 10.)\n",
                                 [("TFN006", "medium", True)]),
    "an XLA-only root under a clamp, no Keras": ("def f(r):\n    return tf.maximum(tf.sqrt(r), 1e-6)\n",
                                                 [("TFN006", "medium", True)]),
    "exp under a lower clamp: its pole is kept": ("def f(x):\n    return tf.maximum(tf.exp(x), 1e-3)\n", []),
    "log under an upper clamp: its pole is kept": ("def f(p):\n    return tf.minimum(tf.math.log(p), 0.)\n", []),
    "a clamp of the input": ("def f(p):\n    return tf.math.log(tf.maximum(p, 1e-7))\n", []),
    # masks (TFN007)
    "a cast condition times a log": ("def f(x):\n    return tf.cast(x > 0., tf.float32) * tf.math.log(x)\n",
                                     [("TFN007", "high", False)]),
    "one minus a cast condition, through a variable": (
        "def f(x):\n    m = 1. - tf.cast(x <= 0., tf.float32)\n    return m * tf.math.log(x)\n",
        [("TFN007", "high", False)]),
    "a boolean mask of a log": ("def f(x):\n    return tf.boolean_mask(tf.math.log(x), x > 0.)\n",
                                [("TFN007", "high", False)]),
    "a boolean mask of a root: no NaN in any mode": (
        "def f(x):\n    return tf.boolean_mask(tf.sqrt(x), x > 0.)\n", []),
    "a mask of the input": (
        "def f(x):\n    return tf.cast(x > 0., tf.float32) * tf.math.log(tf.where(x > 0., x, 1.))\n", []),
    # saturating ops (TFN008)
    "hand-written sigmoid": ("def f(x):\n    return 1. / (1. + tf.exp(-x))\n", [("TFN008", "high", False)]),
    "hand-written softmax of a linear map": (  # logits whose values training decides
        "def f(a, b):\n    e = tf.exp(a @ b)\n    return e / tf.reduce_sum(e, -1, keepdims=True)\n",
        [("TFN008", "high", False)]),
    "hand-written softmax of a computed value": (
        "def helper(v):\n    return v * v\n\n\ndef f(a):\n    e = tf.exp(helper(a))\n"
        "    return e / tf.reduce_sum(e, -1, keepdims=True)\n",
        [("TFN008", "medium", True)]),
    "max-subtracted softmax": (
        "def f(z):\n    e = tf.exp(z - tf.reduce_max(z, -1, keepdims=True))\n"
        "    return e / tf.reduce_sum(e, -1, keepdims=True)\n", []),
    "log of one plus exp is inf there, not hidden": ("def f(x):\n    return tf.math.log(1. + tf.exp(x))\n", []),
    "a bounded exponent": ("def f(x):\n    return 1. / (1. + tf.exp(-tf.clip_by_value(x, -50., 50.)))\n", []),
    # roots of a flat zero (TFN009)
    "a distance between two inputs": (
        "def f(a, b):\n    return tf.sqrt(tf.reduce_sum(tf.square(a - b), -1))\n", [("TFN009", "high", False)]),
    "a root of an abs at a shifted input": ("def f(m):\n    return tf.sqrt(tf.abs(m - 1.))\n",
                                            [("TFN009", "high", False)]),
    "the norm of one vector": ("def f(v):\n    return tf.norm(v, axis=-1)\n", [("TFN009", "medium", True)]),
    "a sum of squares of two inputs": ("def f(x, y):\n    return tf.sqrt(tf.square(x) + tf.square(y))\n",
                                       [("TFN009", "medium", True)]),
    "an L1 norm has no root": ("def f(v):\n    return tf.norm(v, ord=1)\n", []),
    "a matrix 2-norm is spectral": ("def f(m):\n    return tf.norm(m, ord=2, axis=(-2, -1))\n", []),
    "an epsilon inside the root": ("def f(a, b):\n    return tf.sqrt(tf.reduce_sum(tf.square(a - b), -1) + 1e-12)\n",
                                   []),
    "a power above one": ("def f(x):\n    return tf.square(x) ** 1.5\n", []),
    # labels as masks (TFN007)
    "a cross-entropy on probabilities": (
        "def f(y_true, y_pred):\n    return -tf.reduce_sum(y_true * tf.math.log(y_pred), -1)\n",
        [("TFN007", "high", False)]),
    "a binary cross-entropy through a cast label and its complement": (
        "def f(labels, p):\n    y = tf.cast(labels, tf.float32)\n"
        "    return -(y * tf.math.log(p) + (1. - y) * tf.math.log(1. - p))\n",
        [("TFN007", "high", False), ("TFN007", "medium", True)]),
    "a one-hot encoding times a log": (
        "def f(actions, probs):\n    return tf.reduce_sum(tf.one_hot(actions, 4) * tf.math.log(probs), -1)\n",
        [("TFN007", "high", False)]),
    "a label times an op that is not a log": (
        "def f(labels, alpha):\n    return tf.reduce_sum(labels * tf.math.digamma(alpha), -1)\n",
        [("TFN007", "medium", True)]),
    "a label times the log of a computed value": (
        "def f(labels, h, w):\n    return labels * tf.math.log(h @ w)\n", [("TFN007", "medium", True)]),
    "a clamped probability": (
        "def f(y_true, y_pred):\n    y_pred = tf.maximum(y_pred, 1e-15)\n"
        "    return -tf.reduce_sum(y_true * tf.math.log(y_pred), -1)\n", []),
    "xlogy": ("def f(y_true, y_pred):\n    return -tf.reduce_sum(tf.math.xlogy(y_true, y_pred), -1)\n", []),
    "a where on the probability": (
        "def f(y_true, y_pred):\n    safe = tf.where(y_pred > 0., y_pred, tf.ones_like(y_pred))\n"
        "    return -tf.reduce_sum(y_true * tf.math.log(safe), -1)\n", []),
    "a factor that is no label": ("def f(w, p):\n    return w * tf.math.log(p)\n", []),
    # logs of probabilities that round to 0 (TFN010)
    "log of a softmax of an input": ("def f(z):\n    return tf.math.log(tf.nn.softmax(z))\n",
                                     [("TFN010", "high", False)]),
    "log of a gathered softmax entry, through a variable": (
        "def f(z, label):\n    p = tf.nn.softmax(z, axis=-1)\n"
        "    return -tf.math.log(tf.gather(p, label, batch_dims=1))\n", [("TFN010", "high", False)]),
    "log of a sigmoid": ("def f(x):\n    return tf.math.log(tf.sigmoid(x))\n", [("TFN010", "high", False)]),
    "log of one minus a sigmoid": ("def f(x):\n    p = tf.sigmoid(x)\n    return tf.math.log(1. - p)\n",
                                   [("TFN010", "high", False)]),
    "log of an exp": ("def f(x):\n    return tf.math.log(tf.exp(x))\n", [("TFN010", "high", False)]),
    "log of the softmax of a linear map's logits": (
        "def f(h, w):\n    return tf.math.log(tf.nn.softmax(h @ w))\n", [("TFN010", "high", False)]),
    "log of the softmax of computed logits": (
        "def f(h):\n    return tf.math.log(tf.nn.softmax(tf.nn.relu(h) / 2.))\n", [("TFN010", "medium", True)]),
    "log_softmax": ("def f(z):\n    return tf.nn.log_softmax(z)\n", []),
    "an epsilon added to the softmax": ("def f(z):\n    return tf.math.log(tf.nn.softmax(z) + 1e-7)\n", []),
    "a clamped sigmoid": ("def f(x):\n    return tf.math.log(tf.clip_by_value(tf.sigmoid(x), 1e-7, 1.))\n", []),
    "a sigmoid of a bounded input": ("def f(x):\n    return tf.math.log(tf.sigmoid(tf.tanh(x)))\n", []),
    "an exp of a bounded input": ("def f(x):\n    return tf.math.log(tf.exp(tf.maximum(x, -80.)))\n", []),
    "one minus a sigmoid of a bounded input": (
        "def f(x):\n    return tf.math.log(1. - tf.sigmoid(tf.minimum(x, 15.)))\n", []),
    "multiply_no_nan of a log by a label": (
        "def f(y_true, y_pred):\n    return tf.math.multiply_no_nan(tf.math.log(y_pred), y_true)\n",
        [("TFN007", "high", False)]),
    "multiply_no_nan's mask is its second argument": (
        "def f(y_true, y_pred):\n    return tf.math.multiply_no_nan(y_true, tf.math.log(y_pred))\n", []),
    # a focal term: a power of one minus a probability that rounds to 1 (TFN009)
    "a focal term with a tensor exponent": (
        "def f(logits, gamma):\n    p = tf.nn.softmax(logits)\n    return tf.pow(1. - p, gamma)\n",
        [("TFN009", "medium", True)]),
    "a focal term of a sigmoid with a default exponent below 1": (
        "def f(x, gamma=0.5):\n    return (1. - tf.sigmoid(x)) ** gamma\n", [("TFN009", "high", False)]),
    "a focal term with exponent 2": ("def f(logits):\n    return tf.pow(1. - tf.nn.softmax(logits), 2.)\n", []),
    "a focal term of a clipped probability": (
        "def f(x, gamma):\n    p = tf.clip_by_value(tf.sigmoid(x), 1e-7, 1. - 1e-7)\n"
        "    return tf.pow(1. - p, gamma)\n", []),
    "a focal term whose exponent is at least 1": (
        "def f(logits, gamma):\n    g = tf.maximum(gamma, 1.)\n    return tf.pow(1. - tf.nn.softmax(logits), g)\n", []),
    # a one-hot pick: the sum over the class axis of a product with a one-hot encoding is the label's entry
    "the log of a one-hot pick of a softmax": (
        "def f(logits, labels):\n    probs = tf.nn.softmax(logits)\n"
        "    picked = tf.reduce_sum(probs * tf.one_hot(labels, 10), axis=1)\n    return tf.math.log(picked)\n",
        [("TFN010", "high", False)]),
    "a focal term of a one-hot pick of a softmax": (
        "def f(logits, labels, gamma=0.):\n    probs = tf.nn.softmax(logits)\n"
        "    picked = tf.reduce_sum(tf.cast(tf.one_hot(labels, 10), tf.float32) * probs, axis=-1)\n"
        "    return tf.pow(1. - picked, gamma)\n", [("TFN009", "high", False)]),
    # the exponent's default (an author's setting) is at least 1: the power is finite at 0
    "a focal term whose exponent defaults to 2": (
        "def f(logits, labels, gamma=2.):\n    probs = tf.nn.softmax(logits)\n"
        "    picked = tf.reduce_sum(tf.cast(tf.one_hot(labels, 10), tf.float32) * probs, axis=-1)\n"
        "    return tf.pow(1. - picked, gamma)\n", [("TFN009", "medium", True)]),
    "a focal term of a bounded score": (
        "def f(score, gamma=0.):\n    p = tf.nn.sigmoid(tf.tanh(score))\n    return tf.pow(1. - p, gamma)\n",
        [("TFN009", "medium", True)]),
    "the log of a one-hot weighted sum over every axis": (
        "def f(logits, labels):\n"
        "    return tf.math.log(tf.reduce_sum(tf.nn.softmax(logits) * tf.one_hot(labels, 10)))\n", []),
    "the log of a sum weighted by labels that may be soft": (
        "def f(logits, y_true):\n    return tf.math.log(tf.reduce_sum(tf.nn.softmax(logits) * y_true, -1))\n", []),
    "the log of a clamped one-hot pick": (
        "def f(logits, labels):\n    picked = tf.reduce_sum(tf.nn.softmax(logits) * tf.one_hot(labels, 10), 1)\n"
        "    return tf.math.log(tf.maximum(picked, 1e-7))\n", []),
    # a select of probabilities: each branch on its elements (a binary focal loss's p_t)
    "the log of a select of a sigmoid and its complement": (
        "def f(y_true, logits):\n    p = tf.sigmoid(logits)\n    p_t = tf.where(tf.equal(y_true, 1.), p, 1. - p)\n"
        "    return -tf.math.log(p_t)\n", [("TFN010", "high", False)]),
    "a focal term of a select of a sigmoid and its complement": (
        "def f(y_true, logits, gamma=0.):\n    p = tf.sigmoid(logits)\n"
        "    p_t = tf.where(tf.equal(y_true, 1.), p, 1. - p)\n    return tf.pow(1. - p_t, gamma)\n",
        [("TFN009", "high", False)]),
    "a select of a clipped sigmoid and its complement": (
        "def f(y_true, logits, gamma=0.):\n    p = tf.clip_by_value(tf.sigmoid(logits), 1e-7, 1. - 1e-7)\n"
        "    p_t = tf.where(tf.equal(y_true, 1.), p, 1. - p)\n"
        "    return -tf.pow(1. - p_t, gamma) * tf.math.log(p_t)\n", []),
    "the log of one minus a softmax": ("def f(z):\n    return tf.math.log(1. - tf.nn.softmax(z))\n",
                                       [("TFN010", "high", False)]),
    # an index of an op's value (TFN011)
    "a gather of the log of an input": (
        "def f(p, labels):\n    return -tf.gather(tf.math.log(p), labels, batch_dims=1)\n",
        [("TFN011", "high", False)]),
    "a gather_nd of the log of an input, through a variable": (
        "def f(p, at):\n    log_p = tf.math.log(p)\n    return tf.gather_nd(log_p, at)\n", [("TFN011", "high", False)]),
    "a backend gather": ("from keras import backend as K\n\n\ndef f(p, i):\n    return K.gather(K.log(p), i)\n",
                         [("TFN011", "high", False)]),
    "take_along_axis": (
        "from keras import ops\n\n\ndef f(p, i):\n    return ops.take_along_axis(ops.log(p), i, axis=-1)\n",
        [("TFN011", "high", False)]),
    "a slice of a log may leave nothing out": ("def f(p):\n    return tf.math.log(p)[:, 0]\n",
                                               [("TFN011", "medium", True)]),
    "a gather of a division": ("def f(x, i):\n    return tf.gather(1. / x, i)\n", [("TFN011", "medium", True)]),
    "a gather of the log of computed values": (
        "def f(h, w, i):\n    return tf.gather(tf.math.log(h @ w), i)\n", [("TFN011", "medium", True)]),
    "the input gathered first": ("def f(p, i):\n    return tf.math.log(tf.gather(p, i))\n", []),
    "slices that keep every element": (
        "def f(p):\n    return tf.math.log(p)[..., None] + tf.math.log(p)[:] + tf.math.log(p)[::-1]\n", []),
    "a log of a clamped input, gathered": ("def f(p, i):\n    return tf.gather(tf.math.log(tf.maximum(p, 1e-7)), i)\n",
                                                    []),
    "an item of a tuple": ("def f(x):\n    pair = (tf.math.log(x), x)\n    return pair[1]\n", []),
    "a slice of NumPy values": (
        "import numpy as np\n\n\ndef f(z, i):\n    e = np.exp(z)\n    return (e / e.sum())[i]\n", []),
    "an element assigned, not read": ("def f(t, x):\n    t[..., -1] = tf.math.log(x)\n    return t\n", []),
    "a reduction between the op and the index": (
        "def f(p, i):\n    return tf.gather(tf.reduce_sum(tf.math.log(p), -1), i)\n", []),
    # picks by value (TFN011): a maximum leaves out the log's -inf, a minimum the exp's inf
    "a maximum of a log": ("def f(p):\n    return tf.reduce_max(tf.math.log(p), axis=-1)\n",
                           [("TFN011", "high", False)]),
    "a minimum of an exp": ("def f(x):\n    return tf.reduce_min(tf.exp(x))\n", [("TFN011", "high", False)]),
    "a maximum of a log of a computed value": (
        "def f(a, b):\n    return tf.reduce_max(tf.math.log(a * b), axis=-1)\n", [("TFN011", "medium", True)]),
    "a maximum of a division: its +inf is the value": (
        "def f(x, y):\n    return tf.reduce_max(x / y)\n", [("TFN011", "medium", True)]),
    "a maximum of an exp: the inf is the value": ("def f(x):\n    return tf.reduce_max(tf.exp(x))\n", []),
    "a minimum of a root: its 0 is the value": ("def f(x):\n    return tf.reduce_min(tf.sqrt(x))\n", []),
    "a maximum of one minus an exp: the order is turned": (
        "def f(x):\n    return tf.reduce_max(1. - tf.exp(x))\n", [("TFN011", "medium", True)]),
    "max pooling of a log": ("def f(p):\n    return tf.nn.max_pool2d(tf.math.log(p), 2, 2, 'VALID')\n",
                             [("TFN011", "high", False)]),
    "a segment maximum of a log": (
        "def f(p, ids):\n    return tf.math.unsorted_segment_max(tf.math.log(p), ids, 4)\n",
        [("TFN011", "high", False)]),
    "a maximum of a clamped log": ("def f(p):\n    return tf.reduce_max(tf.math.log(tf.maximum(p, 1e-7)))\n", []),
    # segment sums drop the elements whose id is negative: only code that makes an id negative makes them sinks
    "a segment sum with ids counted from 1": (
        "def f(p, ids):\n    return tf.math.unsorted_segment_sum(tf.math.log(p), ids - 1, 4)\n",
        [("TFN011", "medium", True)]),
    "a segment mean with invalid ids set to -1": (
        "def f(p, ids, valid):\n    ids = tf.where(valid, ids, -1)\n"
        "    return tf.math.unsorted_segment_mean(tf.math.log(p), ids, 4)\n", [("TFN011", "medium", True)]),
    "a segment sum with literal ids, one negative": (
        "def f(p):\n    return tf.math.unsorted_segment_sum(tf.math.log(p), tf.constant([0, -1]), 2)\n",
        [("TFN011", "medium", True)]),
    "a segment sum with ids as given": (
        "def f(p, ids):\n    return tf.math.unsorted_segment_sum(tf.math.log(p), ids, 4)\n", []),
    "a segment sum with ids shifted to start at 0": (
        "def f(p, ids):\n    return tf.math.unsorted_segment_sum(tf.math.log(p), ids - tf.reduce_min(ids), 4)\n",
        []),
    "a segment sum with a reshape's -1": (
        "def f(p, ids):\n    return tf.math.unsorted_segment_sum(tf.math.log(p), tf.reshape(ids, [-1]), 4)\n", []),
    # overwrites by position
    "a band of a log": ("def f(a):\n    return tf.linalg.band_part(tf.math.log(a), -1, 0)\n",
                        [("TFN011", "medium", True)]),
    "a log with scattered updates": (
        "def f(p, i, u):\n    return tf.tensor_scatter_nd_update(tf.math.log(p), i, u)\n",
        [("TFN011", "medium", True)]),
    "a new diagonal on an exp": ("def f(x, d):\n    return tf.linalg.set_diag(tf.exp(x), d)\n",
                                 [("TFN011", "medium", True)]),
    # padding masks (TFN007): 0 where they drop, but nothing drives the op to its pole there
    "a mask parameter times a log": ("def f(p, mask):\n    return mask * tf.math.log(p)\n",
                                     [("TFN007", "medium", True)]),
    "the complement of a padding mask times an exp": (
        "def f(x, padding_mask):\n    return (1. - padding_mask) * tf.exp(x)\n", [("TFN007", "medium", True)]),
    "a sequence mask times a log": (
        "def f(p, lengths):\n    mask = tf.sequence_mask(lengths, 10, dtype=tf.float32)\n"
        "    return mask * tf.math.log(p)\n", [("TFN007", "medium", True)]),
    "a weight times a log": ("def f(p, w):\n    return w * tf.math.log(p)\n", []),
    "a mask times a clamped log": ("def f(p, mask):\n    return mask * tf.math.log(tf.maximum(p, 1e-7))\n", []),
    # divide_no_nan defuses a divisor of exactly 0, not one near 0: its gradient -x/y² overflows there
    "divide_no_nan discarded where its divisor is small": (
        "def f(x, y):\n    return tf.where(tf.abs(y) > 1e-3, tf.math.divide_no_nan(x, y), x)\n",
        [("TFN003", "medium", True)]),
    "divide_no_nan discarded where its divisor is exactly 0": (
        "def f(x, y):\n    return tf.where(tf.equal(y, 0.), x, tf.math.divide_no_nan(x, y))\n", []),
    "divide_no_nan of a count discarded where the count is 0": (
        "def f(s, m):\n    count = tf.reduce_sum(tf.cast(m > 0., tf.float32))\n"
        "    return tf.where(count > 0., tf.math.divide_no_nan(s, count), 0.)\n", []),
    # one report per op, against the select first
    "a where inside a clamp": (
        "def f(x):\n    return tf.minimum(tf.where(x > 0., tf.math.log(x), 0.), 10.)\n", [("TFN002", "high", False)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sink_findings_and_confidence(name):
    code, expected = CASES[name]
    assert found(code) == expected


def test_an_xla_only_clamp_is_high_where_the_module_uses_keras():
    assert found("def f(r):\n    return tf.maximum(tf.sqrt(r), 1e-6)\n", KERAS) == [("TFN006", "high", False)]


def test_a_mask_finding_says_xla_hides_it():
    (finding,) = lint(TF + "def f(x):\n    return tf.cast(x > 0., tf.float32) * tf.math.log(x)\n")
    assert finding.not_under_xla and not finding.xla_only
    assert "XLA rewrites the product into a select" in finding.message


def test_a_multiply_no_nan_mask_is_nan_in_every_mode():
    code = "def f(x):\n    return tf.math.multiply_no_nan(tf.math.log(x), tf.cast(x > 0., tf.float32))\n"
    (finding,) = lint(TF + code)
    assert finding.code == "TFN007" and not finding.not_under_xla and not finding.xla_only
    assert finding.fix.replacement == "tf.math.log(tf.where(x > 0., x, 1.))"


def test_a_label_mask_is_not_hidden_by_xla_and_names_xlogy():
    (finding,) = lint(TF + "def f(y_true, y_pred):\n    return y_true * tf.math.log(y_pred)\n")
    assert not finding.not_under_xla and not finding.xla_only
    assert "`y_true` is 0" in finding.message and "tf.math.xlogy(y_true, ...)" in finding.message


def test_a_log_of_an_exp_finding_says_xla_hides_it():
    (finding,) = lint(TF + "def f(x):\n    return tf.math.log(tf.exp(x))\n")
    assert finding.not_under_xla and "XLA simplifies the log of an exp" in finding.message
    assert "tf.math.log_sigmoid" not in finding.message and "the exp's input itself" in finding.message


def test_an_op_two_sinks_meet_is_reported_once_against_the_one_shown_by_default():
    # The clamp of a computed log is medium; the sigmoid that rounds to 0 is the cause the code shows.
    assert found("def f(x):\n    return tf.maximum(tf.math.log(tf.sigmoid(x)), -100.)\n") == [
        ("TFN010", "high", False)]
    # Both high: the clamp, which comes first, names it.
    assert found("def f(p):\n    return tf.maximum(tf.math.log(p), -100.)\n") == [("TFN006", "high", False)]


def test_keras_spellings_of_a_log_of_a_probability():
    code = ("from keras import ops\n\n\ndef f(z):\n    return ops.log(ops.softmax(z))\n\n\n"
            "def g(x):\n    return keras.ops.log(keras.activations.sigmoid(x))\n")
    assert found(code, KERAS) == [("TFN010", "high", False)] * 2
    (finding, second) = lint(KERAS + code, strict=True)
    # The unsafe fix spells the built-in through the alias the softmax is written with; keras.activations has no
    # log_sigmoid in Keras 2, so the sigmoid's finding names the built-in without a rewrite.
    assert finding.fix.applicability == "unsafe" and finding.fix.replacement == "ops.log_softmax(z)"
    assert second.fix is None and "keras.ops.log_sigmoid" in second.message


def test_the_unsafe_fix_of_a_log_of_a_probability_follows_its_spelling():
    cases = {
        "tf.math.log(tf.nn.softmax(z, axis=1))": "tf.nn.log_softmax(z, axis=1)",
        "tf.math.log(tf.math.softmax(z))": "tf.math.log_softmax(z)",
        "tf.math.log(tf.nn.sigmoid(z))": "tf.math.log_sigmoid(z)",
        "tf.math.log(1. - tf.sigmoid(z))": "tf.math.log_sigmoid(-z)",
        "tf.math.log(1 - tf.sigmoid(z * 2.))": "tf.math.log_sigmoid(-(z * 2.))",
        "tf.compat.v1.log(tf.compat.v1.nn.softmax(z))": "tf.compat.v1.nn.log_softmax(z)",
    }
    for written, built_in in cases.items():
        (finding,) = lint(TF + f"def f(z):\n    return {written}\n", strict=True)
        assert finding.fix is not None and finding.fix.applicability == "unsafe", written
        assert finding.fix.replacement == built_in
    # Through a variable, a selection or a bare imported name: the built-in is named, no rewrite offered.
    for body in ("p = tf.nn.softmax(z)\n    return tf.math.log(p)", "return tf.math.log(tf.nn.softmax(z)[0])"):
        (finding,) = lint(TF + f"def f(z):\n    {body}\n", strict=True)
        assert finding.fix is None and "tf.nn.log_softmax" in finding.no_fix_reason
    (finding,) = lint("from tensorflow.nn import softmax\nimport tensorflow as tf\n\n\n"
                      "def f(z):\n    return tf.math.log(softmax(z))\n", strict=True)
    assert finding.fix is None


def test_an_index_finding_rewrites_the_index_onto_the_input():
    (finding,) = lint(TF + "def f(p, labels):\n    return -tf.gather(tf.math.log(p), labels, batch_dims=1)\n")
    assert finding.sink_kind == "index" and finding.sink == "tf.gather" and not finding.xla_only
    assert finding.fix.replacement == "tf.math.log(tf.gather(p, labels, batch_dims=1))"
    (finding,) = lint(TF + "def f(x):\n    return tf.sqrt(x)[:, 0]\n", strict=True)
    assert finding.xla_only and finding.sink == "[:, 0]" and finding.fix.replacement == "tf.sqrt(x[:, 0])"
    (finding,) = lint(TF + "def f(x, y, i):\n    return tf.gather(x / y, i)\n", strict=True)
    assert finding.fix is None and "other tensor inputs" in finding.no_fix_reason


def test_json_names_the_sink_and_its_kind():
    (finding,) = lint(TF + "def f(x):\n    return tf.minimum(tf.exp(x), 1e6)\n")
    item = to_dict(finding)
    assert item["sink"]["name"] == "tf.minimum" and item["sink"]["kind"] == "clamp"
    assert "tf.exp(tf.minimum(x, 14.82))" in finding.message


def test_a_maximum_of_an_increasing_op_is_rewritten_onto_the_input_and_a_segment_is_not():
    (finding,) = lint(TF + "def f(p):\n    return tf.reduce_max(tf.math.log(p), axis=-1)\n", strict=True)
    assert finding.fix.replacement == "tf.math.log(tf.reduce_max(p, axis=-1))"
    assert finding.fix.description == "Take the maximum of the op's input instead of its value"
    assert "not the maximum" in finding.message
    (finding,) = lint(TF + "def f(x):\n    return tf.reduce_min(tf.exp(x), 0)\n", strict=True)
    assert finding.fix.replacement == "tf.exp(tf.reduce_min(x, 0))" and "not the minimum" in finding.message
    # top_k gives a pair, and a segment maximum fills an empty segment with the lowest float: no rewrite
    for call in ("tf.math.top_k(tf.math.log(p), k=2).values", "tf.math.unsorted_segment_max(tf.math.log(p), i, 3)"):
        (finding,) = lint(TF + f"def f(p, i):\n    return {call}\n", strict=True)
        assert finding.fix is None and "keep the op's input in its domain" in finding.no_fix_reason
    (finding,) = lint(TF + "def f(p, ids):\n    return tf.math.unsorted_segment_sum(tf.math.log(p), ids - 1, 4)\n",
                      strict=True)
    assert finding.fix is None and "segment id is negative" in finding.message
