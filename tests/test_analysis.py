"""The static analysis on small snippets: every select spelling, every op family, every reason not to flag."""

from __future__ import annotations

import pytest

from helpers import codes, lint


def only_code(snippet: str, **settings) -> list[str]:
    return [code for code, _, _ in codes(snippet, **settings)]


# -- every select spelling ------------------------------------------------------------------------------------------
SELECT_SPELLINGS = {
    "tf.where": ("import tensorflow as tf", "tf.where(x > 0, x, tf.exp(x) - 1)"),
    "tf.compat.v1.where": ("import tensorflow as tf", "tf.compat.v1.where(x > 0, x, tf.exp(x) - 1)"),
    "tf.compat.v2.where": ("import tensorflow as tf", "tf.compat.v2.where(x > 0, x, tf.exp(x) - 1)"),
    "tf.where_v2": ("import tensorflow as tf", "tf.where_v2(x > 0, x, tf.exp(x) - 1)"),
    "compat.v1 as tf": ("import tensorflow.compat.v1 as tf", "tf.where(x > 0, x, tf.exp(x) - 1)"),
    "raw_ops.Select": ("import tensorflow as tf",
                       "tf.raw_ops.Select(condition=x > 0, x=x, y=tf.exp(x) - 1)"),
    "raw_ops.SelectV2": ("import tensorflow as tf",
                         "tf.raw_ops.SelectV2(condition=x > 0, t=x, e=tf.exp(x) - 1)"),
    "tnp.where": ("import tensorflow.experimental.numpy as tnp", "tnp.where(x > 0, x, tnp.exp(x) - 1)"),
    "keras.ops.where": ("import keras", "keras.ops.where(x > 0, x, keras.ops.exp(x) - 1)"),
    "from keras import ops": ("from keras import ops", "ops.where(x > 0, x, ops.exp(x) - 1)"),
    "from keras import backend as K": ("from keras import backend as K", "K.switch(x > 0, x, K.exp(x) - 1)"),
    "import keras.backend as K": ("import keras.backend as K", "K.switch(x > 0, x, K.exp(x) - 1)"),
    "tensorflow.keras.backend": ("from tensorflow.keras import backend as K", "K.switch(x > 0, x, K.exp(x) - 1)"),
    "K = tf.keras.backend": ("import tensorflow as tf\nK = tf.keras.backend", "K.switch(x > 0, x, K.exp(x) - 1)"),
    "tf.keras.backend.switch": ("import tensorflow as tf",
                                "tf.keras.backend.switch(x > 0, x, tf.keras.backend.exp(x) - 1)"),
    "tf_keras": ("import tf_keras as keras", "keras.backend.switch(x > 0, x, keras.backend.exp(x) - 1)"),
    "from tensorflow import where": ("from tensorflow import where, exp", "where(x > 0, x, exp(x) - 1)"),
    "keywords": ("import tensorflow as tf", "tf.where(condition=x > 0, x=x, y=tf.exp(x) - 1)"),
    "keywords reordered": ("import tensorflow as tf", "tf.where(y=tf.exp(x) - 1, condition=x > 0, x=x)"),
    "alias of the function": ("import tensorflow as tf\nselect = tf.where", "select(x > 0, x, tf.exp(x) - 1)"),
}


@pytest.mark.parametrize("imports, expression", SELECT_SPELLINGS.values(), ids=SELECT_SPELLINGS.keys())
def test_every_select_spelling_is_found(imports, expression):
    snippet = f"{imports}\n\n\ndef act(x):\n    return {expression}\n"
    assert only_code(snippet) == ["TFN001"]


NOT_TENSORFLOW = {
    "numpy": ("import numpy as np", "np.where(x > 0, x, np.exp(x) - 1)"),
    "jax.numpy": ("import jax.numpy as jnp", "jnp.where(x > 0, x, jnp.exp(x) - 1)"),
    "torch": ("import torch", "torch.where(x > 0, x, torch.exp(x) - 1)"),
    "keras.ops.switch selects functions": ("import keras",
                                           "keras.ops.switch(i, [lambda: keras.ops.exp(x), lambda: x])"),
    "tf.cond is lazy": ("import tensorflow as tf", "tf.cond(x > 0, lambda: x, lambda: tf.exp(x) - 1)"),
    "one-argument where is an index query": ("import tensorflow as tf", "tf.gather(x, tf.where(tf.exp(x) > 1))"),
    "a local function named where": ("def where(c, a, b):\n    return a", "where(x > 0, x, exp(x) - 1)"),
    "unimported name": ("", "where(x > 0, x, exp(x) - 1)"),
}


@pytest.mark.parametrize("imports, expression", NOT_TENSORFLOW.values(), ids=NOT_TENSORFLOW.keys())
def test_other_libraries_and_lazy_selects_are_not_flagged(imports, expression):
    snippet = f"{imports}\n\n\ndef act(x, i=0):\n    return {expression}\n"
    assert only_code(snippet) == []


# -- every op family ------------------------------------------------------------------------------------------------
OPS = {
    "exp": ("tf.where(x > 0, x, tf.exp(x))", "TFN001"),
    "tf.math.exp": ("tf.where(x > 0, x, tf.math.exp(x))", "TFN001"),
    "expm1": ("tf.where(x > 0, x, tf.math.expm1(x))", "TFN001"),
    "cosh": ("tf.where(tf.abs(x) < 1., tf.math.cosh(x), 0.)", "TFN001"),
    "sinh": ("tf.where(tf.abs(x) < 1., tf.math.sinh(x), 0.)", "TFN001"),
    "2 ** x": ("tf.where(x < 0., 2. ** x, 0.)", "TFN001"),
    "tf.pow(2, x)": ("tf.where(x < 0., tf.pow(2., x), 0.)", "TFN001"),
    "log": ("tf.where(x > 0, tf.math.log(x), 0.)", "TFN002"),
    "log1p": ("tf.where(x > -1., tf.math.log1p(x), 0.)", "TFN002"),
    "lgamma": ("tf.where(x > 0., tf.math.lgamma(x), 0.)", "TFN002"),
    "digamma": ("tf.where(x > 0., tf.math.digamma(x), 0.)", "TFN002"),
    "keras.ops.log2": ("tf.where(x > 0, keras.ops.log2(x), 0.)", "TFN002"),
    "tnp.log10": ("tf.where(x > 0, tnp.log10(x), 0.)", "TFN002"),
    "division": ("tf.where(x != 0, 1. / x, 0.)", "TFN003"),
    "tf.math.divide": ("tf.where(x != 0, tf.math.divide(1., x), 0.)", "TFN003"),
    "tf.math.truediv": ("tf.where(x != 0, tf.math.truediv(1., x), 0.)", "TFN003"),
    "tf.realdiv": ("tf.where(x != 0, tf.realdiv(1., x), 0.)", "TFN003"),
    "keras.ops.divide keyword": ("tf.where(x != 0, keras.ops.divide(1., x2=x), 0.)", "TFN003"),
    "reciprocal": ("tf.where(x != 0, tf.math.reciprocal(x), 0.)", "TFN003"),
    "negative power": ("tf.where(x != 0, x ** -1, 0.)", "TFN003"),
    "sqrt": ("tf.where(x > 0, tf.sqrt(x), 0.)", "TFN004"),
    "K.sqrt": ("K.switch(x > 0, K.sqrt(x), 0.)", "TFN004"),
    "log of negatives: NaN value": ("tf.where(x < 0., 0., x * tf.math.log(x))", "TFN002"),
    "atanh beyond 1: NaN value": ("tf.where(x > 2., 0., x * tf.math.atanh(x))", "TFN005"),
    "rsqrt": ("tf.where(x > 0, tf.math.rsqrt(x), 0.)", "TFN004"),
    "x ** 0.5": ("tf.where(x > 0, x ** 0.5, 0.)", "TFN004"),
    "tf.pow(x, 0.5)": ("tf.where(x > 0, tf.pow(x, 0.5), 0.)", "TFN004"),
    "x ** y": ("tf.where(x > 0, x ** y, 0.)", "TFN004"),
    "acos": ("tf.where(tf.abs(x) < 1., tf.math.acos(x), 0.)", "TFN005"),
    "asin": ("tf.where(tf.abs(x) < 1., tf.math.asin(x), 0.)", "TFN005"),
    "atanh": ("tf.where(tf.abs(x) < 1., tf.math.atanh(x), 0.)", "TFN005"),
    "acosh": ("tf.where(x > 1., tf.math.acosh(x), 0.)", "TFN005"),
    "keras.ops.arccos": ("tf.where(tf.abs(x) < 1., keras.ops.arccos(x), 0.)", "TFN005"),
    "raw_ops.Log": ("tf.where(x > 0, tf.raw_ops.Log(x=x), 0.)", "TFN002"),
}
PRELUDE = (
    "import tensorflow as tf\nimport keras\nimport tensorflow.experimental.numpy as tnp\n"
    "from keras import backend as K\n\n\ndef f(x, y):\n    return "
)


@pytest.mark.parametrize("expression, code", OPS.values(), ids=OPS.keys())
def test_every_risky_op_is_found_with_its_code(expression, code):
    assert only_code(PRELUDE + expression + "\n") == [code]


SAFE_OPS = {
    "integer power": "tf.where(x > 0, x ** 2, 0.)",
    "floordiv has no gradient": "tf.where(x != 0, 1. // x, 0.)",
    "exp with bounded input": "tf.where(x > 0, x, tf.exp(tf.tanh(x)))",
    "division by a constant": "tf.where(x > 0, x / 2., 0.)",
    "K.sqrt clamps negatives itself": "K.switch(x < -1., 0., K.sqrt(x))",
    "base one": "tf.where(x > 0, 1. ** x, 0.)",
    "base below one with a bounded exponent": "tf.where(x > 0., 0., 0.5 ** x)",
}


@pytest.mark.parametrize("expression", SAFE_OPS.values(), ids=SAFE_OPS.keys())
def test_ops_that_cannot_go_nan_on_the_discarded_elements(expression):
    assert only_code(PRELUDE + expression + "\n") == []


# -- what must not be flagged ---------------------------------------------------------------------------------------
SAFE = {
    "clamp minimum": "tf.where(x > 0, x, tf.exp(tf.minimum(x, 0.)) - 1)",
    "clamp K.minimum": "K.switch(x > 0, x, K.exp(K.minimum(x, 0.)) - 1)",
    "clamp clip_by_value": "tf.where(x > 0, tf.math.log(tf.clip_by_value(x, 1e-7, 1.)), 0.)",
    "clamp K.clip": "K.switch(x > 0, K.log(K.clip(x, K.epsilon(), 1.)), 0.)",
    "clamp keras.ops.clip": "keras.ops.where(x > 0, keras.ops.log(keras.ops.clip(x, 1e-7, 1.)), 0.)",
    "clamp maximum": "tf.where(x > 0, tf.math.log(tf.maximum(x, 1e-12)), 0.)",
    "clamp keyword": "tf.where(x > 0, tf.sqrt(tf.maximum(x=x, y=1e-12)), 0.)",
    "double where": "tf.where(x > 0, tf.math.log(tf.where(x > 0, x, 1.)), 0.)",
    "double where, swapped": "tf.where(x <= 0, 0., tf.math.log(tf.where(x > 0, x, 1.)))",
    "double where, negated": "tf.where(~(x > 0), 0., tf.math.log(tf.where(x > 0, x, 1.)))",
    "double where, equivalent": "tf.where(x > 0, tf.math.log(tf.where(0 < x, x, 1.)), 0.)",
    "double where, stricter": "tf.where(x > 1, tf.math.log(tf.where(x > 0.5, x, 1.)), 0.)",
    "double where, opaque mask": "tf.where(tf.math.is_finite(x), tf.math.log(tf.where(tf.math.is_finite(x), tf.abs(x) + 1., 1.)), 0.)",
    "double where, division": "tf.where(y != 0, x / tf.where(y != 0, y, 1.), 0.)",
    "condition-aware exp": "tf.where(x <= 0, x + 1., tf.exp(x))",
    "condition-aware exp, comparison function": "tf.where(tf.less_equal(x, 0.), x + 1., tf.exp(x))",
    "condition-aware exp, K.greater": "K.switch(K.greater(x, 0.), x, K.exp(-x))",
    "condition-aware log": "tf.where(x > 1e-3, 0., tf.math.log(x))",
    "condition-aware reversed comparison": "tf.where(0. < x, 0., tf.math.log(x))",
    "condition-aware abs": "tf.where(tf.abs(x) < 0.9, 0., tf.math.acos(x))",
    "condition-aware builtin abs": "tf.where(abs(x) < 1., 0., tf.math.asin(x))",
    "condition-aware logical_and": "tf.where(tf.logical_and(x > -0.5, x < 0.5), 0., tf.math.atanh(x))",
    "condition-aware &": "tf.where((x > -0.5) & (x < 0.5), 0., tf.math.acos(x))",
    "condition-aware logical_or": "tf.where(tf.logical_or(x <= 0., x > 1e6), tf.math.log(x), 0.)",
    "condition-aware |": "tf.where((x <= 0.) | (y > 0.), tf.math.log(x), 0.)",
    "condition-aware cast of a comparison": "tf.where(tf.cast(x > 0., tf.float32), 0., tf.math.log(x))",
    "condition-aware logical_not": "tf.where(tf.logical_not(x > 0), tf.math.log(x), 0.)",
    "condition-aware chained": "tf.where(0.5 < x < 2., 0., tf.math.log(x))",
    "condition-aware difference": "tf.where(x > y, 0., tf.math.log(x - y))",
    "condition-aware equal": "tf.where(tf.equal(y, 0.), 1. / y, 0.)",
    "relu plus epsilon": "tf.where(x > 0, tf.math.log(tf.nn.relu(x) + 1e-6), 0.)",
    "square plus epsilon": "tf.where(x > 0, tf.sqrt(tf.square(x) + 1e-8), 0.)",
    "x * x plus epsilon": "tf.where(x > 0, tf.sqrt(x * x + 1e-8), 0.)",
    "x ** 2 plus epsilon": "tf.where(x > 0, 1. / (x ** 2 + 1e-8), 0.)",
    "negative abs": "tf.where(x > 0, x, tf.exp(-tf.abs(x)))",
    "sigmoid": "tf.where(x > 0, x, tf.exp(tf.sigmoid(x)))",
    "softplus plus one": "tf.where(x > 0, tf.math.log(tf.nn.softplus(x) + 1.), 0.)",
    "abs plus one": "tf.where(x > 0, 1. / (tf.abs(x) + 1.), 0.)",
    "exp plus one": "tf.where(x > 0, 1. / (tf.exp(tf.minimum(x, 0.)) + 1.), 0.)",
    "ones_like": "tf.where(x > 0, tf.math.log(tf.ones_like(x)), 0.)",
    "constant": "tf.where(x > 0, x, tf.exp(tf.constant(1.)))",
    "epsilon": "tf.where(x > 0, tf.math.log(K.epsilon()), 0.)",
    "safe built-ins": "tf.where(x > 0, tf.math.xlogy(x, x) + tf.nn.elu(x) + "
                      "tf.nn.softplus(x) + tf.math.log_sigmoid(x) + tf.math.xdivy(x, y) + tf.nn.selu(x), 0.)",
    "divide_no_nan discarded where its divisor is exactly 0": (
        "tf.where(tf.equal(y, 0.), x, tf.math.divide_no_nan(x, y))"),
    "divide_no_nan discarded where its divisor is at most 0 of a count": (
        "tf.where(tf.reduce_sum(tf.cast(x > 0., tf.float32)) > 0., tf.math.divide_no_nan(x, tf.reduce_sum("
        "tf.cast(x > 0., tf.float32))), 0.)"),
    "stop_gradient around the op": "tf.where(x > 0, tf.stop_gradient(tf.math.log(x)), 0.)",
    "stop_gradient around the select": "tf.stop_gradient(tf.where(x > 0, tf.math.log(x), 0.))",
    "select only feeds a comparison": "tf.cast(tf.where(x > 0., x, tf.exp(x) - 1.) > 0.5, tf.float32)",
    "select only feeds tf.greater": "tf.cast(tf.greater(tf.where(x > 0., x, tf.exp(x)), 1.), tf.float32)",
    "comparison inside a branch": "tf.where(x > 0., x, tf.cast(tf.exp(x) > 2., tf.float32))",
}


@pytest.mark.parametrize("expression", SAFE.values(), ids=SAFE.keys())
def test_safe_forms_are_not_flagged(expression):
    prelude = "import tensorflow as tf\nimport keras\nfrom keras import backend as K\n\n\ndef f(x, y):\n    return "
    assert only_code(prelude + expression + "\n") == []


def test_the_first_unclamped_variant_of_each_safe_form_is_flagged():
    # The same shapes without the protection: the analysis sees the difference, not the spelling.
    flagged = [
        "tf.where(x > 0, x, tf.exp(tf.maximum(x, 0.)) - 1)",
        "tf.where(x > 0, tf.math.log(tf.where(x > -1, x, 1.)), 0.)",
        "tf.where(x > 0, tf.math.log(tf.where(y > 0, x, 1.)), 0.)",
        "tf.where(x <= 0, tf.exp(x), x + 1.)",
        "tf.where(x > 1e-3, tf.math.log(x), 0.)",
        "tf.where(x > 0, tf.math.log(tf.nn.relu(x)), 0.)",
        "tf.where(x > 0, tf.math.log(tf.nn.relu(x) - 1e-6), 0.)",
        "tf.where(tf.abs(x) < 0.9, tf.math.acos(x), 0.)",
        "tf.where((x > -0.5) | (x < 0.5), 0., tf.math.acos(x))",
        "tf.where(x > y, tf.math.log(y - x), 0.)",
    ]
    prelude = "import tensorflow as tf\n\n\ndef f(x, y):\n    return "
    for expression in flagged:
        assert len(only_code(prelude + expression + "\n")) == 1, expression
    # The kept elements reach the bad domain too (x < -88.7): medium confidence, shown with --strict.
    unclamped_both_ways = prelude + "tf.where(x > 0, x, tf.exp(tf.abs(x)))\n"
    assert only_code(unclamped_both_ways) == [] and only_code(unclamped_both_ways, strict=True) == ["TFN001"]


# -- dataflow -------------------------------------------------------------------------------------------------------
def test_op_behind_a_local_variable_is_reported_at_the_op_and_names_the_select():
    snippet = """\
        import tensorflow as tf

        def elu(x):
            negative = tf.exp(x) - 1.
            return tf.where(x > 0, x, negative)
        """
    (finding,) = lint(snippet)
    assert (finding.code, finding.line, finding.col) == ("TFN001", 4, 16)
    assert "tf.where (line 5)" in finding.message


def test_rebinding_the_reaching_value_counts():
    safe = """\
        import tensorflow as tf

        def elu(x):
            y = tf.exp(x)
            y = tf.exp(tf.minimum(x, 0.))
            return tf.where(x > 0, x, y - 1.)
        """
    unsafe = """\
        import tensorflow as tf

        def elu(x):
            y = tf.exp(tf.minimum(x, 0.))
            y = tf.exp(x)
            return tf.where(x > 0, x, y - 1.)
        """
    assert codes(safe) == []
    assert codes(unsafe) == [("TFN001", 5, 9)]


def test_condition_and_clamp_through_variables():
    snippet = """\
        from keras import backend as K

        def elu(x):
            cond = K.greater(x, 0)
            clamped = K.minimum(x, 0.)
            return K.switch(cond, x, K.exp(clamped) - 1)
        """
    assert codes(snippet) == []


def test_condition_variable_is_followed_for_the_region_and_the_words():
    snippet = """\
        from keras import backend as K

        def elu(x):
            cond = K.greater(x, 0)
            return K.switch(cond, x, K.exp(x) - 1)
        """
    (finding,) = lint(snippet)
    assert "where `x > 0`" in finding.message
    assert finding.message.endswith("Clamp the input: K.exp(K.minimum(x, 0.))")


def test_variables_of_other_functions_do_not_leak():
    snippet = """\
        import tensorflow as tf

        def first(x):
            y = tf.exp(x)
            return y

        def second(x, y):
            return tf.where(x > 0, x, y)
        """
    assert codes(snippet) == []


def test_parameters_shadow_module_variables():
    snippet = """\
        import tensorflow as tf

        x = tf.constant(1.)

        def f(x):
            return tf.where(x > 0, x, tf.exp(x))
        """
    assert only_code(snippet) == ["TFN001"]


def test_module_constants_are_followed():
    snippet = """\
        import tensorflow as tf

        EPS = 1e-7

        def f(x):
            return tf.where(x > 0, tf.math.log(tf.nn.relu(x) + EPS), 0.)
        """
    assert codes(snippet) == []


def test_nested_where_reports_the_innermost_call():
    snippet = """\
        import tensorflow as tf

        def f(x):
            return tf.where(x > 1., x, tf.where(x > 0., tf.math.log(x), 0.))
        """
    (finding,) = lint(snippet)
    assert "true branch of tf.where" in finding.message
    assert "`x <= 0.`" in finding.message


def test_nested_where_reports_an_outer_select_when_only_it_discards_unsafely():
    snippet = """\
        import tensorflow as tf

        def f(x):
            return tf.where(x > 0., x, tf.where(x < -100., 0., tf.exp(x)))
        """
    (finding,) = lint(snippet)
    assert "`x > 0.`" in finding.message


def test_lambda_tf_function_and_layer_call():
    snippet = """\
        import tensorflow as tf
        import keras

        act = lambda x: tf.where(x > 0, x, tf.exp(x) - 1)

        @tf.function(jit_compile=True)
        def g(x):
            return tf.where(x > 0, tf.math.log(x), 0.)

        class Elu(keras.layers.Layer):
            def call(self, inputs):
                return keras.ops.where(inputs > 0, inputs, keras.ops.exp(inputs) - 1)
        """
    assert codes(snippet) == [("TFN001", 4, 36), ("TFN002", 8, 28), ("TFN001", 12, 52)]


def test_lambda_parameter_is_not_the_outer_variable():
    snippet = """\
        import tensorflow as tf

        def f(y):
            x = tf.minimum(y, 0.)
            g = lambda x: tf.where(x > 0, x, tf.exp(x))
            return g(y)
        """
    assert only_code(snippet) == ["TFN001"]


# -- no gradient path -----------------------------------------------------------------------------------------------
NO_GRADIENT = """\
    import tensorflow as tf
    import keras

    @tf.custom_gradient
    def safe_log(x):
        y = tf.where(x > 0, tf.math.log(x), 0.)
        def grad(dy):
            return dy * tf.where(x > 0, 1. / x, 0.)
        return y, grad

    class Ratio(keras.metrics.Metric):
        def update_state(self, a, b):
            self.value = tf.where(b != 0, a / b, 0.)

        def result(self):
            return tf.where(self.count > 0, self.total / self.count, 0.)

    class MyOptimizer(keras.optimizers.Optimizer):
        def update_step(self, gradient, variable, learning_rate):
            variable.assign_sub(tf.where(gradient != 0, learning_rate / gradient, 0.))

    def f(x):
        return tf.where(x > 0, tf.stop_gradient(tf.math.log(x)), 0.)
    """


def test_no_gradient_places_are_quiet_by_default_and_reported_with_strict():
    assert codes(NO_GRADIENT) == []
    strict = lint(NO_GRADIENT, strict=True)
    assert [f.code for f in strict] == ["TFN002", "TFN003", "TFN003", "TFN003", "TFN003", "TFN002"]
    assert all(f.strict_only and "--strict" in f.message for f in strict)


# -- messages and fixes ---------------------------------------------------------------------------------------------
def test_message_for_the_original_question():
    snippet = """\
        from keras import backend as K

        def custom_activation(x):
            cond = K.greater(x, 0)
            return K.switch(cond, x, K.exp(x) - 1)
        """
    (finding,) = lint(snippet)
    assert finding.message == (
        "K.exp(x) in the false branch of K.switch is evaluated where `x > 0` and overflows to inf above 88.7; "
        "its gradient there is 0*inf = NaN. Clamp the input: K.exp(K.minimum(x, 0.))"
    )


@pytest.mark.parametrize(
    "expression, replacement",
    [
        ("tf.where(x > 0, tf.math.log(x), 0.)", "tf.math.log(tf.where(x > 0, x, 1.))"),
        ("tf.where(x <= 0, 0., tf.math.log(x))", "tf.math.log(tf.where(x <= 0, tf.ones_like(x), x))"),
        ("tf.where(x > 0, x, tf.exp(x))", "tf.exp(tf.minimum(x, 0.))"),
        ("tf.where(x >= 2, x, tf.exp(x))", "tf.exp(tf.minimum(x, 2.))"),
        ("tf.where(x > 0, x, tf.math.exp(x))", "tf.math.exp(tf.math.minimum(x, 0.))"),
        ("tf.where(x > 0, x, tf.raw_ops.Exp(x=x))", "tf.raw_ops.Exp(x=tf.minimum(x, 0.))"),
        ("tf.where(x > 1000, x, tf.exp(x))", "tf.exp(tf.where(x > 1000, tf.zeros_like(x), x))"),
        ("tf.where(tf.abs(x) < 1, tf.math.cosh(x), 0.)", "tf.math.cosh(tf.where(tf.abs(x) < 1, x, 0.))"),
        ("tf.where(x > 1, tf.math.acosh(x), 0.)", "tf.math.acosh(tf.where(x > 1, x, 2.))"),
        ("tf.raw_ops.SelectV2(condition=x > 0, t=tf.math.log(x), e=0.)",
         "tf.math.log(tf.raw_ops.SelectV2(condition=x > 0, t=x, e=1.))"),
        ("keras.ops.where(x > 0, keras.ops.log(x), 0.)", "keras.ops.log(keras.ops.where(x > 0, x, 1.))"),
    ],
)
def test_rewrite_suggestions(expression, replacement):
    prelude = "import tensorflow as tf\nimport keras\n\n\ndef f(x, y):\n    return "
    (finding,) = lint(prelude + expression + "\n")
    assert finding.fix is not None
    assert finding.fix.replacement == replacement
    assert finding.message.endswith(replacement)


@pytest.mark.parametrize("expression,replacement", [
    ("tf.where(x < 0, 2. ** x, 0.)", "2. ** tf.where(x < 0, x, 0.)"),
    ("tf.where(y != 0, x / y, 0.)", "x / tf.where(y != 0, y, 1.)"),
    ("tf.compat.v1.where(x > 0, tf.math.log(x), tf.zeros_like(x))",
     "tf.math.log(tf.compat.v1.where(x > 0, x, tf.compat.v1.ones_like(x)))"),
])
def test_rewrites_that_need_a_float_tensor(expression, replacement):
    """A divisor, an exponent or a compat.v1 branch that may be a Python number or an integer tensor gets no
    rewrite (a float fill would break the running code), and the message says how to make one possible; once the
    parameters are float tensors, the rewrite is offered."""
    prelude = "import tensorflow as tf\nimport keras\n\n\ndef f(x, y):\n"
    (finding,) = lint(prelude + "    return " + expression + "\n")
    assert finding.fix is None and "tf.cast" in finding.no_fix_reason
    cast = "    x = tf.cast(x, tf.float32)\n    y = tf.cast(y, tf.float32)\n"
    (finding,) = lint(prelude + cast + "    return " + expression + "\n")
    assert finding.fix is not None and finding.fix.replacement == replacement


def test_xla_only_ops_say_so():
    (finding,) = lint("import tensorflow as tf\n\n\ndef f(x):\n    return tf.where(x > 0, tf.sqrt(x), 0.)\n")
    assert "XLA" in finding.message and "eager" in finding.message


def test_edit_replaces_exactly_the_operand():
    source = "import tensorflow as tf\n\n\ndef f(x):\n    return tf.where(x > 0, tf.math.log(x), 0.)\n"
    (finding,) = lint(source)
    (edit,) = finding.fix.edits
    lines = source.splitlines(keepends=True)
    line = lines[edit.start.line - 1]
    fixed = line[: edit.start.column] + edit.text + line[edit.end.column:]
    assert fixed == "    return tf.where(x > 0, tf.math.log(tf.where(x > 0, x, 1.)), 0.)\n"


# -- noqa -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "comment, reported",
    [("# noqa", False), ("# noqa: TFN001", False), ("# NOQA:TFN001,TFN003", False), ("# noqa: TFN", False),
     ("# noqa: TFN002", True), ("# noqa:E501", True), ("", True)],
)
def test_noqa(comment, reported):
    snippet = f"import tensorflow as tf\n\n\ndef f(x):\n    return tf.where(x > 0, x, tf.exp(x))  {comment}\n"
    assert bool(codes(snippet)) is reported


def test_select_and_ignore():
    snippet = PRELUDE + "tf.where(x > 0, tf.math.log(x) + tf.exp(-x), 0.)\n"
    assert only_code(snippet) == ["TFN002", "TFN001"]
    assert only_code(snippet, select=frozenset({"TFN001"})) == ["TFN001"]
    assert only_code(snippet, ignore=frozenset({"TFN001"})) == ["TFN002"]


def test_tensorflow_1_top_level_names():
    """TF1 code writes ``tf.log``, ``tf.div``, ``tf.rsqrt`` with ``import tensorflow as tf`` (TensorFlow 2 keeps
    them only as ``tf.compat.v1.*``; ``tests/test_knowledge_tf.py`` proves they are the same ops)."""
    code = ("import tensorflow as tf\n\n\ndef f(x):\n"
            "    a = tf.where(x > 0., tf.log(x), tf.zeros_like(x))\n"
            "    b = tf.where(tf.not_equal(x, 0.), tf.div(1., x), tf.zeros_like(x))\n"
            "    c = tf.where(x > 0., tf.rsqrt(x), tf.zeros_like(x))\n"
            "    d = tf.where(tf.to_float(x > 0.) > 0., x, tf.zeros_like(x))\n"
            "    return a + b + c + d\n")
    assert [(f.code, f.line) for f in lint(code)] == [("TFN002", 5), ("TFN003", 6), ("TFN004", 7)]


# -- float types: an epsilon is a guard only if the tensor's float type holds it, and float16 overflows sooner -------
_LOG_OF_SQUARE = ("import tensorflow as tf\n\n\ndef f(z):\n    s = {value}\n"
                  "    return tf.where(s > 0., tf.math.log(s + {epsilon}), 0.)\n")


@pytest.mark.parametrize("epsilon,expected", [("1e-7", []), ("1e-37", []), ("1e-40", ["TFN002"]),
                                              ("1e-45", ["TFN002"])])
def test_an_epsilon_below_the_smallest_normal_float32_is_no_guard(epsilon, expected):
    assert [code for code, _, _ in codes(_LOG_OF_SQUARE.format(value="tf.square(z)", epsilon=epsilon))] == expected


@pytest.mark.parametrize("value", ["tf.cast(tf.square(z), tf.float16)", "tf.cast(tf.square(z), 'float16')",
                                   "tf.square(tf.cast(z, dtype=tf.half))"])
def test_in_float16_a_small_epsilon_leaves_the_log_gradient_overflowing(value):
    (finding,) = lint(_LOG_OF_SQUARE.format(value=value, epsilon="1e-7"))
    assert finding.code == "TFN002" and "in float16 its gradient 1/x overflows to inf below 1.5e-05" in finding.message
    assert codes(_LOG_OF_SQUARE.format(value=value, epsilon="1e-4")) == []


def test_a_module_that_sets_the_mixed_float16_policy_computes_in_float16():
    code = ("import tensorflow as tf\n\ntf.keras.mixed_precision.set_global_policy('mixed_float16')\n\n\n"
            "def bounded_growth(x):\n    return tf.where(x > 20., 20., tf.exp(tf.minimum(x, 30.)))\n")
    (finding,) = lint(code)
    assert finding.code == "TFN001" and "overflows to inf above 11.1 in float16" in finding.message
    assert codes(code.replace("mixed_float16", "float32")) == []
