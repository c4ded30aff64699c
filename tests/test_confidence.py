"""The evidence behind a finding's confidence, statically: what makes the condition say where the op's input leaves
its domain (high, shown by default) and what leaves it a judgement (medium, shown with --strict).
(``fixtures/bad/real_code_bugs.py`` proves the high cases with TensorFlow.)"""

from __future__ import annotations

import textwrap

import pytest

from helpers import lint

TF = "import tensorflow as tf\n\n\n"


def found(code: str):
    return [(f.code, f.line, f.confidence) for f in lint(TF + textwrap.dedent(code), strict=True)]


def test_a_pinned_variable_is_the_cause_only_where_the_pin_makes_the_input_unsafe():
    # At b == 0 the share is a / a = 1, so 1 - share is certainly 0: the pin is the cause.  The share's own
    # divisor a + b is as unsafe at b == 0 as at any other b: the condition does not say where it is 0.
    code = """\
    def f(a, b):
        share = a / (a + b)
        return tf.where(tf.equal(b, 0.), tf.zeros_like(a), share / (1. - share))
    """
    assert sorted(found(code)) == [("TFN003", 5, "medium"), ("TFN003", 6, "high")]


def test_a_pin_that_keeps_a_divisor_near_zero_is_the_cause():
    code = """\
    def f(n):
        return tf.where(tf.abs(n - 1.) < 1e-5, tf.ones_like(n), (2. - n) / (1. - n))
    """
    assert found(code) == [("TFN003", 5, "high")]


def test_a_pin_is_not_the_cause_when_another_input_makes_the_op_unsafe():
    code = """\
    def f(n, b):
        return tf.where(tf.abs(n - 1.) < 1e-5, tf.ones_like(n), tf.pow(b, n - 1.) / (1. - n))
    """
    confidences = {(code, confidence) for code, _, confidence in found(code)}
    assert ("TFN003", "high") in confidences  # the division by 1 - n
    assert ("TFN004", "high") not in confidences  # pow(b, n - 1) is about 1 at the pin; b decides


@pytest.mark.parametrize("condition, op, expected", [
    # t <= -|a| says t <= 0, so |a| * t <= 0 on the kept elements: exp overflows only where the select discards
    ("t <= -tf.abs(a)", "tf.exp(tf.abs(a) * t)", "high"),
    ("-tf.abs(a) >= t", "tf.exp(tf.abs(a) * t)", "high"),
    ("t <= tf.square(a)", "tf.exp(t)", "medium"),  # the bound is unbounded above: nothing said on the kept side
    ("t <= a", "tf.exp(t)", "medium"),
])
def test_a_comparison_with_a_computed_bound_constrains_each_side_by_the_other(condition, op, expected):
    code = f"""\
    def f(t, a):
        return tf.where({condition}, {op}, tf.zeros_like(t))
    """
    assert found(code) == [("TFN001", 5, expected)]


def test_a_condition_that_keeps_one_value_is_not_evidence_about_the_op():
    # Near n == 1 log(n) is safe, but the select is about the formula at 1, not about where log is defined.
    code = """\
    def f(n, x):
        return tf.where(tf.abs(n - 1.) < 1e-5, tf.math.log(n) * x, x)
    """
    assert found(code) == [("TFN002", 5, "medium")]


@pytest.mark.parametrize("operand, expected", [
    ("x", "high"),
    ("score(x)", "high"),  # a callable the function was handed: its result is as unknown as x
    ("self.score(x)", "high"),
    ("helper(x)", "medium"),  # a function of this module: computed, possibly bounded
    ("tf.nn.softplus(x) + x", "medium"),
])
def test_a_saturating_op_is_high_on_an_input_or_a_handed_callables_result(operand, expected):
    code = f"""\
    def helper(v):
        return v * v


    class Product:
        def __call__(self, x, score):
            return tf.exp(tf.math.log({operand}))
    """
    assert [(c, conf) for c, _, conf in found(code)] == [("TFN008", expected)]


@pytest.mark.parametrize("logits, expected", [
    ("tf.matmul(h, w) + b", "high"),  # a trained linear map: training decides its values
    ("h @ w", "high"),
    ("tf.keras.layers.Dense(10)(h)", "high"),
    ("tf.nn.bias_add(tf.nn.conv2d(h, w, 1, 'SAME'), b)[..., 0] * 2.", "high"),
    ("tf.concat([tf.matmul(h, w), tf.matmul(h, -w)], -1)", "high"),
    ("tf.tanh(tf.matmul(h, w))", "medium"),  # bounded: computed from the map, not the map
    ("tf.reduce_sum(h, -1)", "medium"),
])
def test_the_log_of_a_softmax_of_a_linear_map_is_high(logits, expected):
    # TensorFlow 1's first tutorial at module level: ``-tf.reduce_sum(y_ * tf.log(tf.nn.softmax(...)))``.
    code = f"""\
    h = tf.compat.v1.placeholder(tf.float32, [None, 784])
    w = tf.Variable(tf.zeros([784, 10]))
    b = tf.Variable(tf.zeros([10]))
    y = tf.nn.softmax({logits})
    cross_entropy = -tf.reduce_sum(tf.math.log(y))
    """
    assert [(c, conf) for c, _, conf in found(code)] == [("TFN010", expected)]


HELPERS = '''\
def dense(h, units, scale=True):
    w = tf.compat.v1.get_variable("w", [h.shape[-1], units])
    if scale:
        out = tf.matmul(h, w)
    else:
        out = tf.nn.bias_add(tf.matmul(h, w), tf.zeros([units]))
    out += tf.compat.v1.get_variable("b", [units])
    out *= tf.exp(tf.compat.v1.get_variable("logs", [units]) * 3.)
    return out


def stem(h, units):
    with tf.compat.v1.variable_scope("stem"):
        h = tf.nn.relu(dense(h, units))
        h = dense(h, units)
    return h


def padded(h, units):
    out = tf.pad(h, [[0, 0], [1, 1]])
    if units > 1:
        out = dense(h, units)
    return out


def bounded(h, units):
    return tf.tanh(dense(h, units))
'''


@pytest.mark.parametrize("helper, expected", [
    ("dense", "high"),  # every return is a linear map's output, with a bias and a positive learned scale
    ("stem", "high"),  # through another helper
    ("padded", "medium"),  # on one path it returns the padded input, not logits
    ("bounded", "medium"),  # tanh bounds it
])
def test_logits_returned_by_a_helper(helper, expected):
    code = HELPERS + f'''

def coupling(z, units):
    h = {helper}(z, 2 * units)
    scale = tf.nn.sigmoid(h[:, 1::2] + 2.)
    return z * scale, tf.reduce_sum(tf.math.log(scale), axis=1)
'''
    assert [(c, conf) for c, _, conf in found(code)] == [("TFN010", expected)]


PENALIZED = '''\
class Penalty:
    def __init__(self, points):
        self.points = points

    def __call__(self, x):
        return tf.reduce_prod(tf.atan(tf.norm(x[:, None] - self.points[None], axis=-1)), axis=-1)


class Penalized:
    def __init__(self, base, points, penalty_fn):
        self._base = base
        self._penalty = None
        self._handed = penalty_fn

    def update(self, points):
        self._penalty = Penalty(points)

        @tf.function
        def acquisition(x):
            return tf.exp(tf.math.log(self._base(x)) + tf.math.log(tf.cast(Callable, self.{attribute})(x)))
        return acquisition
'''


@pytest.mark.parametrize("attribute, expected", [
    ("_penalty", "medium"),  # every assignment builds an object of this module's class: its own, computed code
    ("_handed", "high"),  # handed in by the caller: as unknown as a parameter
])
def test_a_callable_attribute_built_from_the_module_own_class_is_computed_code(attribute, expected):
    code = "from typing import Callable, cast\n\n" + PENALIZED.replace("{attribute}", attribute).replace(
        "tf.cast(Callable, ", "cast(Callable, ")
    # the base acquisition (a handed callable, read inside a function nested in the method) stays high
    saturations = sorted(f for f in found(code) if f[0] == "TFN008")
    assert saturations == sorted([("TFN008", 25, "high"), ("TFN008", 25, expected)])
