"""``--fix`` and ``--diff`` without TensorFlow: what the engine writes, what it refuses and why, and how files are
read and written.  ``test_fix_tf.py`` proves under TensorFlow that the rewrites keep values and gradients."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tflint_nan import atomic, fix
from tflint_nan.cli import main
from tflint_nan.finding import Edit, Fix
from tflint_nan.fix import fix_file, fix_source, unified_diff
from tflint_nan.files import lint_path
from tflint_nan.lint import Settings, analyse

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
FIXTURE_FILES = sorted(FIXTURES.rglob("*.py"))


def fixed(code: str, **settings) -> fix.FixResult:
    return fix_source(textwrap.dedent(code), "snippet.py", Settings(**settings))


# The reason a finding is left when its operand may be a Python number or an integer tensor (a parameter divided by,
# a parameter exponent, a parameter in K.switch): the fix would change a dtype, so the user is told to cast first.
_DTYPE_REASON = "is not known to be a tensor"


def is_dtype_reason(reason: str) -> bool:
    return _DTYPE_REASON in reason and "tf.cast" in reason


# The reasons the other sinks' findings may have no rewrite: a clamp whose bound has no exact input clamp, and a
# hand-written function whose built-in agrees with it only up to rounding, an index that takes the op's value
# from a variable, and a label that masks a log (xlogy computes it, up to rounding).
_NO_EXACT_REWRITE = ("clamp the op's input to where it is finite", "use ",
                     "the double where repeats the root's input", "the root of an exp is an exp",
                     "the root's input underflows", "the op's value reaches the index",
                     "compute the product with tf.math.xlogy", "its fix is unsafe",
                     "the elements left out are computed")


def is_expected_reason(finding, reason: str) -> bool:
    return is_dtype_reason(reason) or (
        finding.code in ("TFN006", "TFN007", "TFN008", "TFN009", "TFN010", "TFN011")
        and reason.startswith(_NO_EXACT_REWRITE))


def reasons(result: fix.FixResult) -> list[str]:
    return [item.reason for item in result.remaining]


# -- the fixture set --------------------------------------------------------------------------------------------
_FIXTURE_RESULTS: dict[Path, fix.FixResult] = {}


def fixture_result(path: Path) -> fix.FixResult:
    if path not in _FIXTURE_RESULTS:
        _FIXTURE_RESULTS[path] = fix_source(path.read_text(encoding="utf-8"), str(path))
    return _FIXTURE_RESULTS[path]


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.relative_to(FIXTURES).as_posix())
def test_every_fixture_finding_is_fixed_and_the_result_is_clean_and_stable(path):
    found = lint_path(str(path)).findings
    result = fixture_result(path)
    # A finding whose operand may be a Python number or an integer tensor (a parameter divided by, a parameter
    # exponent) has no dtype-safe rewrite: it stays, with that reason (tests/test_fix_differential.py).
    assert all(is_expected_reason(item.finding, item.reason) for item in result.remaining), reasons(result)
    assert all(is_expected_reason(item.finding, item.finding.no_fix_reason or item.reason) for item in result.remaining)
    unfixed = [item.finding.start for item in result.remaining_in_source]
    assert sorted([f.start for f in result.fixed] + unfixed) == sorted(f.start for f in found)
    assert len(result.remaining_in_source) == len(result.remaining)
    # What the analysis still finds in the fixed source is exactly what was left, nothing new.
    assert sorted((f.code, f.start) for f in analyse(result.new_source, str(path))) == sorted(
        (item.finding.code, item.finding.start) for item in result.remaining)
    again = fix_source(result.new_source, str(path))
    assert again.new_source == result.new_source and again.fixed == []
    assert result.changed == bool(found)


def test_fixture_counts():
    """167 findings in the fixture set (the question's script included); 112 have an exact rewrite that keeps every
    dtype running.  24 read an operand that may be a Python number or an integer tensor (a bare parameter,
    ``1. - x``), where a guard would change a dtype: 11 divisors, 2 exponents (``2. ** x``), 4 inputs of ops that
    also take integers or Python numbers (``tf.math.reciprocal(x)``, ``x ** -1.``, ``x ** 0.5``, ``x ** 1.5``),
    and 7 branches of ``K.switch`` and ``tf.compat.v1.where`` that must be tensors of the condition's rank.  The
    other 31 have no exact rewrite at all: a log clamped at -100 (no normal float32 input maps below it), 10
    hand-written sigmoids, softmaxes and powers (an exp of a log among them) and 8 hand-written log-softmaxes,
    whose built-ins agree only up to rounding (5 of them written as the log of the call itself,
    whose unsafe fix into the built-in ``--unsafe-fixes`` applies), 9 roots whose input the double where would
    repeat (or of an exp, whose fix is exp(0.5 * x)), a log and an exp whose values reach a gather or a minimum
    through a variable, and a log masked by a label through multiply_no_nan."""
    results = [fixture_result(path) for path in FIXTURE_FILES]
    assert sum(len(result.fixed) for result in results) == 112
    left = [item.reason for result in results for item in result.remaining]
    assert len(left) == 55
    dtype = [reason for reason in left if is_dtype_reason(reason)]
    assert len(dtype) == 24
    assert sum(reason.startswith("the divisor ") for reason in dtype) == 11
    assert sum(reason.startswith("the exponent ") for reason in dtype) == 2
    assert sum(reason.startswith("the input ") for reason in dtype) == 4
    assert sum("needs tensor branches of the condition's rank" in reason for reason in dtype) == 7
    assert sum(reason.startswith(_NO_EXACT_REWRITE) for reason in left) == 31
    assert sum(reason.startswith("its fix is unsafe") for reason in left) == 5


def test_unsafe_fixes_are_applied_only_when_asked():
    results = [fix_source(path.read_text(encoding="utf-8"), str(path), Settings(unsafe_fixes=True))
               for path in FIXTURE_FILES]
    assert sum(len(result.fixed) for result in results) == 117
    sinks = FIXTURES / "bad" / "sinks.py"
    safe_only = fix_source(sinks.read_text(encoding="utf-8"), str(sinks))
    unsafe = fix_source(sinks.read_text(encoding="utf-8"), str(sinks), Settings(unsafe_fixes=True))
    assert "log_softmax" not in safe_only.new_source and "log_softmax" in unsafe.new_source
    assert [item.finding.code for item in unsafe.remaining if item.reason.startswith("its fix is unsafe")] == []


def test_only_the_rewritten_expressions_change():
    path = FIXTURES / "bad" / "exp_family.py"
    source, result = path.read_text(encoding="utf-8"), fixture_result(path)
    old_lines, new_lines = source.splitlines(), result.new_source.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [(old, new) for old, new in zip(old_lines, new_lines) if old != new]
    # 15 findings: symmetric_decay's two share a line, as do two of stable_sigmoid's; power_of_two's and
    # tf_pow_of_two's exponent `x` may be a Python number, so those two lines are left (with the reason to cast).
    assert len(changed) == 11
    assert [item.finding.line for item in result.remaining] == [54, 58]
    for old, new in changed:
        assert old.split("#")[1] == new.split("#")[1]  # the expect markers, comments, stay as they were


# -- exact rewrite texts -------------------------------------------------------------------------------------------
# A division, a K.switch or a compat.v1 select is rewritten only where its operand is known to be a floating
# tensor (a parameter may be a Python number or an integer tensor, which a guard's fill would change): these
# cases cast the parameter first, as the finding's message tells the user to.
_END_OF_CAST = "\n    "
FLOAT_X = "x = tf.cast(x, tf.float32)" + _END_OF_CAST
FLOAT_Y = "y = tf.cast(y, tf.float32)" + _END_OF_CAST
REWRITES = {
    "clamp": ("tf.where(x > 0., x, tf.exp(x) - 1.)", "tf.where(x > 0., x, tf.exp(tf.minimum(x, 0.)) - 1.)"),
    "double where": (
        "tf.where(x > 0., tf.math.log(x), 0.)", "tf.where(x > 0., tf.math.log(tf.where(x > 0., x, 1.)), 0.)"),
    "parenthesised input keeps one pair of parentheses": (
        FLOAT_X + "tf.where(x > 0., x / (1. + x), 0.)",
        FLOAT_X + "tf.where(x > 0., x / tf.where(x > 0., (1. + x), 1.), 0.)"),
    "keras backend": (FLOAT_X + "K.switch(x > 0., K.log(x), 0.)",
                      FLOAT_X + "K.switch(x > 0., K.log(K.switch(x > 0., x, 1.)), 0.)"),
    "K.switch cannot take a float then-branch": (
        FLOAT_X + "K.switch(x > 0., 0. * x, K.log(1. - x))",
        FLOAT_X + "K.switch(x > 0., 0. * x, K.log(K.switch(x > 0., K.ones_like(1. - x), 1. - x)))"),
    "compat.v1.where needs tensor branches": (
        FLOAT_X + "tf.compat.v1.where(x > 1., tf.math.acosh(x), tf.zeros_like(x))",
        FLOAT_X + "tf.compat.v1.where(x > 1., tf.math.acosh(tf.compat.v1.where(x > 1., x, 2. * "
        "tf.compat.v1.ones_like(x))), tf.zeros_like(x))"),
    "raw ops take keywords": (
        "tf.raw_ops.SelectV2(condition=x > 0., t=tf.math.log(x), e=0.)",
        "tf.raw_ops.SelectV2(condition=x > 0., t=tf.math.log(tf.raw_ops.SelectV2(condition=x > 0., t=x, e=1.)), e=0.)"),
    "keras.ops gets the double where where minimum's tie gradient would differ under JAX": (
        "ops.where(x > 0., x, ops.exp(x))", "ops.where(x > 0., x, ops.exp(ops.where(x > 0., 0., x)))"),
    "keras.ops clamps when the tie is discarded": (
        "ops.where(x >= 0., x, ops.exp(x))", "ops.where(x >= 0., x, ops.exp(ops.minimum(x, 0.)))"),
    "tnp": ("tnp.where(x > 0., x, tnp.exp(x))", "tnp.where(x > 0., x, tnp.exp(tnp.minimum(x, 0.)))"),
    "the innermost op first: a log of a quotient": (
        FLOAT_Y + "tf.where(y > 0., tf.math.log(x / y), 0.)",
        FLOAT_Y + "tf.where(y > 0., tf.math.log(tf.where(y > 0., x / tf.where(y > 0., y, 1.), 1.)), 0.)"),
    "the inner guard makes the outer op safe": (
        "tf.where(x > 0., tf.math.log(tf.math.sqrt(x)), 0.)",
        "tf.where(x > 0., tf.math.log(tf.math.sqrt(tf.where(x > 0., x, 1.))), 0.)"),
}
PRELUDE = ("import keras.backend as K\nimport tensorflow as tf\nimport tensorflow.experimental.numpy as tnp\n"
           "from keras import ops\n\n\ndef f(x, y):\n    ")


def _body(expression: str) -> str:
    """``return expression``, after the casts ``FLOAT_X``/``FLOAT_Y`` put in front of it."""
    casts, _, expression = expression.rpartition(_END_OF_CAST)
    return casts + _END_OF_CAST * bool(casts) + "return " + expression + "\n"


# ``y > 0.`` bounds the divisor, not the log's input ``x / y``: that finding is of medium confidence, shown (and
# fixed) with --strict.
STRICT_REWRITES = {"the innermost op first: a log of a quotient"}


@pytest.mark.parametrize("name", REWRITES)
def test_rewrite_text(name):
    before, after = REWRITES[name]
    result = fix_source(PRELUDE + _body(before), "snippet.py", Settings(strict=name in STRICT_REWRITES))
    assert result.new_source == PRELUDE + _body(after)
    assert result.remaining == [] and result.fixed


def test_comments_and_line_breaks_inside_the_rewritten_input_survive():
    code = """\
        import tensorflow as tf


        def f(x):
            return tf.where(x > -1.,
                            tf.math.log(x  # the input
                                        + 1.),
                            0.)
        """
    result = fixed(code)
    assert "# the input" in result.new_source
    rewritten = "tf.math.log(tf.where(x > -1., x  # the input\n                                + 1., 1.))"
    assert rewritten in result.new_source
    assert result.fixed and analyse(result.new_source, "snippet.py") == []


# -- the condition, written at the op ----------------------------------------------------------------------------
def test_a_condition_assigned_after_the_op_is_repeated_when_pure():
    result = fixed("""\
        import tensorflow as tf


        def f(x):
            logs = tf.math.log(x)
            positive = x > 0.
            return tf.where(positive, logs, 0.)
        """)
    assert "    logs = tf.math.log(tf.where(x > 0., x, 1.))\n" in result.new_source
    assert result.remaining == []


def test_a_stored_condition_is_reused_by_name():
    result = fixed("""\
        import tensorflow as tf


        def f(x):
            mask = x > 0.
            logs = tf.math.log(x)
            return tf.where(mask, logs, 0.)
        """)
    assert "    logs = tf.math.log(tf.where(mask, x, 1.))\n" in result.new_source


# A random condition says nothing about the op's input: these findings are of medium confidence, shown with --strict.
def test_a_costly_condition_is_hoisted_into_a_variable():
    result = fixed(strict=True, code="""\
        import tensorflow as tf


        def f(x, mask):
            # keep about half
            return tf.where(tf.random.uniform(tf.shape(x)) > 0.5, tf.math.log(x), tf.math.log(-x))
        """)
    assert result.new_source == textwrap.dedent("""\
        import tensorflow as tf


        def f(x, mask):
            # keep about half
            mask_1 = tf.random.uniform(tf.shape(x)) > 0.5
            return tf.where(mask_1, tf.math.log(tf.where(mask_1, x, 1.)), tf.math.log(tf.where(tf.logical_not(mask_1), -x, 1.)))
        """)
    assert len(result.fixed) == 2 and result.remaining == []


def test_hoisting_keeps_crlf_and_indentation():
    source = ("import tensorflow as tf\r\n\r\nclass L:\r\n    def call(self, x):\r\n"
              "        return tf.where(tf.random.uniform(tf.shape(x)) > 0.5, tf.math.log(x), 0.)\r\n")
    result = fix_source(source, "snippet.py", Settings(strict=True))
    assert result.new_source == (
        "import tensorflow as tf\r\n\r\nclass L:\r\n    def call(self, x):\r\n"
        "        mask = tf.random.uniform(tf.shape(x)) > 0.5\r\n"
        "        return tf.where(mask, tf.math.log(tf.where(mask, x, 1.)), 0.)\r\n")


REFUSED = {
    "costly condition assigned after the op": ("""\
        def f(x):
            logs = tf.math.log(x)
            keep = tf.random.uniform(tf.shape(x)) > 0.5
            return tf.where(keep, logs, 0.)
        """, "the condition `keep` is assigned on line 6, after the op on line 5, and calls `tf.random.uniform`"),
    "costly condition in a lambda": ("""\
        f = lambda v: tf.where(tf.random.uniform(tf.shape(v)) > 0.5, tf.math.log(v), 0.)
        """, "the select sits in a lambda or comprehension, out of which it cannot be moved"),
    "costly condition on one side of a conditional expression": ("""\
        def f(x, training):
            return tf.where(tf.random.uniform(tf.shape(x)) > 0.5, tf.math.log(x), 0.) if training else x
        """, "the select runs only on one side of a conditional"),
    "costly condition after another call with effects": ("""\
        def f(x):
            return tf.random.normal(tf.shape(x)) + tf.where(tf.random.uniform(tf.shape(x)) > .5, tf.math.log(x), 0.)
        """, "`tf.random.normal` runs before it in the same statement"),
    "costly condition and the op on an earlier line": ("""\
        def f(x):
            logs = tf.math.log(x)
            return tf.where(tf.random.uniform(tf.shape(x)) > 0.5, logs, 0.)
        """, "the op is computed on an earlier line (5): assign the condition to a variable before line 5"),
    "a condition variable reassigned between the op and the select": ("""\
        def f(x):
            e = tf.math.log(x)
            x = -x
            return tf.where(x > 0., e, 0.)
        """, "`x` in the select (line 7) is not the same variable at the op (line 5): it is assigned in between"),
    "the op's variable has another use": ("""\
        def f(x):
            e = tf.exp(x)
            y = tf.where(x > 0., x, e - 1.)
            return y + e
        """, "`e` (assigned on line 5) is also used on line 7, which a rewrite of the op would change too"),
    "a divisor that may be a Python number or an integer tensor": ("""\
        def f(x, y):
            return tf.where(y != 0., x / y, 0.)
        """, "the divisor `y` is not known to be a tensor: it may be a Python number (or an integer tensor)"),
    "a divisor parameter: the message says how to cast it": ("""\
        def f(x, y):
            return tf.where(y != 0., x / y, 0.)
        """, "make it a tensor of the dtype it is used with first, e.g. `y = tf.cast(y, tf.float32)`"),
    "an exponent that may be a Python number": ("""\
        def f(x):
            return tf.where(x < 0., 2. ** x, x + 1.)
        """, "the exponent `x` is not known to be a tensor"),
    "an expression divisor that may be a Python number": ("""\
        def f(x):
            return tf.where(x > 0., x / (1. + x), 0.)
        """, "the divisor `(1. + x)` is not known to be a tensor"),
    "K.switch of a parameter that may be a Python number": ("""\
        import keras.backend as K


        def f(x):
            return K.switch(x > 0., K.log(x), 0.)
        """, ("K.switch needs tensor branches of the condition's rank, and `x` is not known to be a tensor (it may "
              "be a Python number): make it a tensor first (`tf.convert_to_tensor`, `tf.cast`)")),
    "a reduction between the op and the select": ("""\
        def f(x):
            return tf.where(x > 0., x, tf.reduce_sum(tf.exp(x)) * tf.ones_like(x))
        """, "reaches the select through `tf.reduce_sum(tf.exp(x))`, which is not known to be element-wise"),
    "a matrix product between the op and the select": ("""\
        def f(x, w):
            return tf.where(x > 0., x, tf.exp(x) @ w)
        """, "reaches the select through `tf.exp(x) @ w`"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_no_rewrite_when_it_would_not_be_exact(name):
    body, reason = REFUSED[name]
    source = "import tensorflow as tf\n\n\n" + textwrap.dedent(body)
    # A random condition says nothing about the op's input: a finding of medium confidence, shown with --strict.
    result = fix_source(source, "snippet.py", Settings(strict=name.startswith("costly condition")))
    assert result.new_source == source and result.fixed == []
    [item] = result.remaining
    assert reason in item.reason
    assert item.finding.fix is None and reason in item.finding.message  # the lint message says why as well


def test_a_condition_that_does_not_pin_down_the_input_still_gets_the_double_where():
    """``(y > 0.) & (z > 0.)`` says nothing about ``x``; the repeated condition still agrees with itself."""
    # Such a finding is of low confidence, shown (and fixed) with --strict.
    result = fixed(strict=True, code="""\
        import tensorflow as tf


        def f(x, y, z):
            return tf.where((y > 0.) & (z > 0.), tf.math.log(x), 0.)
        """)
    assert result.new_source.endswith(
        "tf.where((y > 0.) & (z > 0.), tf.math.log(tf.where((y > 0.) & (z > 0.), x, 1.)), 0.)\n")
    assert analyse(result.new_source, "snippet.py", Settings(strict=True)) == []


def test_a_rewrite_the_analysis_cannot_confirm_is_not_nested_again_and_again(monkeypatch):
    """Should the analysis fail to see that a guard helps, the engine stops at once instead of wrapping the input
    ten times: the finding is reported with the reason and the code is left as written."""
    from tflint_nan import ranges

    monkeypatch.setattr(ranges.Analysis, "region", lambda self, cond, positive, as_of, depth=0:
                        self._structured_region(cond, positive, as_of, depth))
    code = ("import tensorflow as tf\n\n\ndef f(x, y, z):\n"
            "    return tf.where((y > 0.) & (z > 0.), tf.math.log(x), 0.)\n")
    result = fix_source(code, "snippet.py", Settings(strict=True))  # a low-confidence finding: shown with --strict
    assert result.new_source == code
    assert reasons(result) == ["even rewritten, the op is not provably safe to the analysis (its condition is "
                               "beyond what it can reason about), so it is left as written"]


def test_rewrites_that_never_settle_are_undone(monkeypatch):
    """A guard that repeats its input (``ones_like(x)``) looks new in every round: the op flagged again by the same
    select shows that the analysis does not accept it, so the engine starts again without that op, and no
    half-built nest is written."""
    from tflint_nan import ranges

    monkeypatch.setattr(ranges.Analysis, "region", lambda self, cond, positive, as_of, depth=0:
                        self._structured_region(cond, positive, as_of, depth))
    # compat.v1.where needs tensor branches: x is cast first, or no rewrite is offered at all.
    code = ("import tensorflow as tf\n\n\ndef f(x, y, z):\n    x = tf.cast(x, tf.float32)\n"
            "    return tf.compat.v1.where((y > 0.) & (z > 0.), tf.math.log(x), tf.zeros_like(x))\n"
            "\n\ndef g(x):\n    return tf.where(x > 0., x, tf.exp(x))\n")
    strict = Settings(strict=True)  # the condition on y and z says nothing about x: a finding shown with --strict
    result = fix_source(code, "snippet.py", strict)
    assert result.new_source == code.replace("tf.exp(x))", "tf.exp(tf.minimum(x, 0.)))")
    assert [item.finding.code for item in result.remaining] == ["TFN002"]
    assert reasons(result) == ["even rewritten, the op is not provably safe to the analysis (its condition is beyond "
                               "what it can reason about), so it is left as written"]
    assert fix_source(result.new_source, "snippet.py", strict).new_source == result.new_source


def test_a_variable_reassigned_before_its_other_use_is_still_fixed():
    result = fixed("""\
        import tensorflow as tf


        def f(x, z):
            e = tf.exp(x)
            y = tf.where(x > 0., x, e)
            e = tf.exp(z)
            return y + tf.where(z > 0., z, e)
        """)
    assert len(result.fixed) == 2 and result.remaining == []


# -- imports: only when no usable name exists -----------------------------------------------------------------------
def test_an_alias_local_to_another_function_is_not_used_to_spell_the_clamp():
    result = fixed("""\
        from tensorflow import exp, where


        def helper():
            import tensorflow
            T = tensorflow
            return T


        def f(x):
            return where(x > 0., x, exp(x) - 1.)
        """)
    assert result.remaining == [] and len(result.fixed) == 1
    assert "from tensorflow import exp, where, minimum" in result.new_source
    assert "return where(x > 0., x, exp(minimum(x, 0.)) - 1.)" in result.new_source


def test_an_alias_assigned_in_the_function_spells_the_clamp_there():
    result = fixed("""\
        import keras


        def elu(x):
            K = keras.backend
            return K.switch(x > 0., x, K.exp(x) - 1.)
        """)
    assert result.remaining == [] and "K.exp(K.minimum(x, 0.)) - 1." in result.new_source


def test_bare_names_extend_the_existing_import():
    result = fixed("""\
        from tensorflow import exp, where


        def f(x):
            return where(x > 0., x, exp(x) - 1.)
        """)
    assert result.new_source == textwrap.dedent("""\
        from tensorflow import exp, where, minimum


        def f(x):
            return where(x > 0., x, exp(minimum(x, 0.)) - 1.)
        """)


def test_an_existing_alias_is_used_before_adding_anything():
    source = textwrap.dedent("""\
        import tensorflow as tf
        from tensorflow import exp, where


        def f(x):
            return where(x > 0., x, exp(x) - 1.)
        """)
    result = fix_source(source, "snippet.py")
    assert result.new_source == source.replace("exp(x)", "exp(tf.minimum(x, 0.))")


def test_an_import_is_added_after_the_docstring_and_imports_when_nothing_else_works():
    result = fixed('''\
        """Module docstring."""
        from __future__ import annotations

        import math


        def f(x):
            from tensorflow import exp, where
            return where(x > 0., x, exp(x) - 1.)
        ''')
    assert result.new_source.startswith('"""Module docstring."""\nfrom __future__ import annotations\n\n'
                                        "import math\nimport tensorflow as tf\n\n\ndef f(x):\n")
    assert "exp(tf.minimum(x, 0.))" in result.new_source


def test_no_import_when_its_name_is_taken():
    result = fixed("""\
        def f(x, tf=None):
            from tensorflow import exp, where
            return where(x <= 0., exp(x) - 1., x)
        """)
    assert "exp(where(x <= 0., x, 0.))" in result.new_source  # the select's own name writes the double where
    assert "import tensorflow as tf" not in result.new_source
    # With the op in the false branch, the fill would sit in the true one, where tf.where makes a Python float a
    # float32 tensor in a graph: it needs zeros_like or logical_not, and no name for either can be written here.
    code = textwrap.dedent("""\
        def f(x, tf=None):
            from tensorflow import exp, where
            return where(x > 0., x, exp(x) - 1.)
        """)
    result = fix_source(code, "snippet.py")
    assert result.new_source == code
    assert reasons(result) == ["no name for `logical_not` is in scope, and `tf` is already taken"]


def test_two_fixes_needing_the_same_import_add_it_once():
    result = fixed("""\
        from tensorflow import exp, where


        def f(x):
            return where(x > 0., x, exp(x) - 1.)


        def g(x):
            return where(x < 0., exp(x), x)
        """)
    assert result.new_source.startswith("from tensorflow import exp, where, minimum\n\n")
    assert result.new_source.count("minimum") == 3


# -- what is left alone ----------------------------------------------------------------------------------------------
def test_noqa_lines_are_not_touched():
    code = """\
        import tensorflow as tf


        def f(x):
            return tf.where(x > 0., x, tf.exp(x) - 1.)  # noqa: TFN001


        def g(x):
            return tf.where(x > 0., tf.math.log(x), tf.exp(x))  # noqa: TFN002
        """
    result = fixed(code)
    lines = result.new_source.splitlines()
    assert lines[4] == "    return tf.where(x > 0., x, tf.exp(x) - 1.)  # noqa: TFN001"
    assert lines[8] == "    return tf.where(x > 0., tf.math.log(x), tf.exp(tf.minimum(x, 0.)))  # noqa: TFN002"


def test_edits_reaching_a_line_whose_noqa_covers_the_code_are_refused():
    code = """\
        import tensorflow as tf


        def f(x):
            return tf.where(x > -1., tf.math.log(x +
                                                 1.), 0.)  # noqa: TFN002
        """
    result = fixed(code)
    assert result.new_source == textwrap.dedent(code) and result.fixed == []
    assert reasons(result) == ["the rewrite would change line 6, whose `# noqa` covers TFN002"]


def test_select_and_ignore_limit_what_is_fixed():
    code = "import tensorflow as tf\n\n\ndef f(x):\n    return tf.where(x > 0., tf.math.log(x), tf.exp(x) - 1.)\n"
    only_log = fix_source(code, "snippet.py", Settings(select=frozenset({"TFN002"})))
    assert only_log.new_source.endswith("tf.math.log(tf.where(x > 0., x, 1.)), tf.exp(x) - 1.)\n")
    not_log = fix_source(code, "snippet.py", Settings(ignore=frozenset({"TFN002"})))
    assert not_log.new_source.endswith("tf.math.log(x), tf.exp(tf.minimum(x, 0.)) - 1.)\n")


def test_a_rewrite_that_does_not_parse_is_dropped(monkeypatch):
    """The engine re-parses every result; a broken edit is reported, never written."""
    real_analyse = fix.analyse

    def analyse_with_a_broken_fix(source, path, settings):
        findings = real_analyse(source, path, settings)
        return [finding if finding.fix is None or "return" in finding.fix.edits[0].text else
                finding.__class__(**{**finding.__dict__, "fix": Fix("Broken", "(", (
                    Edit(finding.fix.edits[0].start, finding.fix.edits[0].end, "tf.exp((x"),))})
                for finding in findings]

    monkeypatch.setattr(fix, "analyse", analyse_with_a_broken_fix)
    code = "import tensorflow as tf\n\n\ndef f(x):\n    return tf.where(x > 0., tf.math.log(x), tf.exp(x))\n"
    result = fix_source(code, "snippet.py")
    assert result.new_source == code
    assert [item.finding.code for item in result.remaining] == ["TFN002", "TFN001"]
    assert all(reason.startswith("the rewritten code does not parse") for reason in reasons(result))


def test_verify_sees_both_versions_and_can_veto():
    code = "import tensorflow as tf\n\n\ndef f(x):\n    return tf.where(x > 0., x, tf.exp(x))\n"
    seen = []

    def verify(original, candidate, path):
        seen.append((original, candidate, path))
        return "the probe found a difference"

    result = fix_source(code, "snippet.py", verify=verify)
    assert seen == [(code, code.replace("tf.exp(x)", "tf.exp(tf.minimum(x, 0.))"), "snippet.py")]
    assert result.new_source == code and result.fixed == []
    assert reasons(result) == ["the fixed code failed verification: the probe found a difference"]
    assert fix_source(code, "snippet.py", verify=lambda original, candidate, path: None).changed


# -- files: encodings, line endings, atomic writes ------------------------------------------------------------------
EXAMPLE = (FIXTURES / "example.py").read_text(encoding="utf-8")
EXAMPLE_FIXED = fix_source(EXAMPLE, "example.py").new_source


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_line_endings_are_kept(tmp_path, newline):
    path = tmp_path / "example.py"
    path.write_bytes(EXAMPLE.replace("\n", newline).encode())
    outcome = fix_file(str(path))
    assert outcome.written and outcome.error is None
    assert path.read_bytes() == EXAMPLE_FIXED.replace("\n", newline).encode()


def test_bom_and_crlf_are_kept(tmp_path):
    path = tmp_path / "example.py"
    path.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.replace("\n", "\r\n").encode())
    fix_file(str(path))
    assert path.read_bytes() == b"\xef\xbb\xbf" + EXAMPLE_FIXED.replace("\n", "\r\n").encode()


def test_a_declared_encoding_is_kept(tmp_path):
    source = "# -*- coding: latin-1 -*-\n# Caf\xe9 \xbd\n" + EXAMPLE
    path = tmp_path / "example.py"
    path.write_bytes(source.encode("latin-1"))
    fix_file(str(path))
    assert path.read_bytes() == ("# -*- coding: latin-1 -*-\n# Caf\xe9 \xbd\n" + EXAMPLE_FIXED).encode("latin-1")


def test_permissions_are_kept_and_no_temporary_file_is_left(tmp_path):
    path = tmp_path / "example.py"
    path.write_text(EXAMPLE, encoding="utf-8")
    path.chmod(0o640)
    fix_file(str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["example.py"]


def test_a_symlink_stays_a_link_to_the_fixed_file(tmp_path):
    target = tmp_path / "real.py"
    target.write_text(EXAMPLE, encoding="utf-8")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    fix_file(str(link))
    assert link.is_symlink() and target.read_text(encoding="utf-8") == EXAMPLE_FIXED


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_leaves_the_original_intact(tmp_path, monkeypatch, failing):
    path = tmp_path / "example.py"
    path.write_text(EXAMPLE, encoding="utf-8")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, failing, fail)
    outcome = fix_file(str(path))
    assert outcome.error is not None and "No space left on device" in outcome.error.message
    assert not outcome.written
    assert path.read_text(encoding="utf-8") == EXAMPLE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["example.py"]


def test_a_file_changed_while_being_fixed_is_not_overwritten(tmp_path):
    path = tmp_path / "example.py"
    path.write_text(EXAMPLE, encoding="utf-8")

    def someone_edits_the_file(original, candidate, name):
        path.write_text(EXAMPLE + "\n# edited meanwhile\n", encoding="utf-8")

    outcome = fix_file(str(path), verify=someone_edits_the_file)
    assert "changed on disk while being fixed" in outcome.error.message
    assert path.read_text(encoding="utf-8").endswith("# edited meanwhile\n")


def test_unreadable_and_unparsable_files_are_errors(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n    tf.where(x, y, z)\n", encoding="utf-8")
    outcome = fix_file(str(broken))
    assert outcome.error.code == "TFN999" and "syntax error" in outcome.error.message
    assert fix_file(str(tmp_path / "missing.py")).error.message.startswith("cannot read")


def test_diff_marks_a_missing_final_newline():
    diff = unified_diff("f.py", "a = 1\nb = 2", "a = 1\nb = 3")
    assert diff.splitlines()[-3:] == ["-b = 2", "+b = 3", "\\ No newline at end of file"] or (
        diff.endswith("+b = 3\n\\ No newline at end of file\n"))


# -- the command line -----------------------------------------------------------------------------------------------
def test_diff_prints_a_patch_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("example.py").write_text(EXAMPLE, encoding="utf-8")
    assert main(["--diff", "example.py"]) == 1
    out, err = capsys.readouterr()
    assert out == unified_diff("example.py", EXAMPLE, EXAMPLE_FIXED)
    assert out.startswith("--- example.py\n+++ example.py\n@@ ")
    assert "Would fix 2 problems in 1 file (1 file checked)." in err
    assert Path("example.py").read_text(encoding="utf-8") == EXAMPLE


def test_the_diff_applies_with_patch(tmp_path):
    if subprocess.run(["patch", "--version"], capture_output=True).returncode != 0:  # pragma: no cover
        pytest.skip("patch is not installed")
    (tmp_path / "example.py").write_text(EXAMPLE, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    diff = subprocess.run([sys.executable, "-m", "tflint_nan", "--diff", "example.py"], cwd=tmp_path,
                          capture_output=True, env=env, timeout=120)
    assert diff.returncode == 1
    subprocess.run(["patch", "-p0", "--quiet"], input=diff.stdout, cwd=tmp_path, check=True)
    assert (tmp_path / "example.py").read_text(encoding="utf-8") == EXAMPLE_FIXED


def test_diff_with_nothing_to_change_exits_0(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("clean.py").write_text(EXAMPLE_FIXED, encoding="utf-8")
    assert main(["--diff", "clean.py"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "No problems found (1 file checked)." in err


def test_fix_writes_reports_and_a_second_run_has_nothing_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("src").mkdir()
    Path("src/example.py").write_text(EXAMPLE, encoding="utf-8")
    Path("src/unfixable.py").write_text(
        "import tensorflow as tf\n\n\ndef f(x):\n    e = tf.exp(x)\n    return tf.where(x > 0., x, e) + e\n",
        encoding="utf-8")
    assert main(["--fix", "src"]) == 1  # one finding remains
    out, err = capsys.readouterr()
    assert Path("src/example.py").read_text(encoding="utf-8") == EXAMPLE_FIXED
    assert out.startswith("src/unfixable.py:5:9: TFN001 ")
    assert "`e` (assigned on line 5) is also used on line 6" in out
    assert "Fixed 2 problems in 1 file; 1 problem remains, with no safe rewrite known" in err
    assert main(["--fix", "src/example.py"]) == 0
    assert "No problems found (1 file checked)." in capsys.readouterr().err


def test_fix_with_select_and_exit_zero(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("example.py").write_text(EXAMPLE, encoding="utf-8")
    assert main(["--fix", "--select", "TFN002", "--exit-zero", "-q", "example.py"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    text = Path("example.py").read_text(encoding="utf-8")
    assert "tf.math.log(tf.where(x > 0., x, 1.))" in text and "K.exp(x) - 1." in text


def test_fix_reports_files_it_cannot_parse(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("broken.py").write_text("def f(:\n", encoding="utf-8")
    assert main(["--fix", "broken.py"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("broken.py:1:") and "TFN999" in out
    assert "1 file could not be fixed" in err
