"""``--fix`` proven under real TensorFlow: the rewrite keeps every value and gradient that was finite and removes
the NaN.

For every fixture file with a finding, the fixed source is written to a temporary directory, both versions are
imported (``tests/tf_harness.py`` loads the originals and lists the probed units), and each function or layer is
run on inputs at and around the dangerous values, eagerly and under XLA (``tf.function(jit_compile=True)``),
asking of the fixed version:

* the same dtype and shape;
* the same forward value wherever the original's was finite (exactly);
* the same gradient wherever the original's was not NaN, finite or infinite (exactly when eager);
* no NaN gradient at any input whose forward value is finite.

A finding whose operand may be a Python number or an integer tensor gets no fix (any fill would change a dtype,
``tests/test_fix_differential.py``): its unit must be left exactly as written, the finding saying to cast first.

``SITUATIONS`` adds the rewrites the fixtures do not need: a hoisted random condition, a condition assigned after
the op, imports added to a file, ``ones_like`` where a select takes no Python float, nested risky ops.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import re
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tf_harness  # noqa: E402

tf_harness.quiet_tensorflow()
tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed; install tflint-nan[dynamic] to run the "
                                              "tests that prove the fixes under TensorFlow")
import numpy as np  # noqa: E402

from tflint_nan import knowledge  # noqa: E402
from tflint_nan.fix import fix_source  # noqa: E402
from tflint_nan.lint import Settings, analyse  # noqa: E402

# The harness's probe values plus the thresholds the rewrites clamp or guard at (exp overflows between 88.7 and 89,
# the fixtures compare with 20, 50, 80 and 1e-12).
VALUES = tuple(sorted(set(tf_harness.VALUES) | {
    88.7, 88.72, 89.0, 80.0, 79.9, 80.1, 20.0, 19.9, 20.1, 50.0, -50.0, 1e-12, -1e-12, 200.0, -200.0, 0.4999, 0.5001,
    -89.0, 1e30, -1e30,
}))
# Two-argument functions get every pair of a smaller set (the product of VALUES would be over a thousand elements).
# No ±1e-30 here: x / y at (0, 1e-30) has a NaN gradient on a kept element (y² underflows to 0, and -x / y² is
# 0 / 0), a bug of the formula itself that no rewrite of the discarded elements can or should remove.
PAIR_VALUES = (-100.0, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, 89.0, 100.0)

# Eager TensorFlow runs the same kernels on the kept elements, so their gradients agree exactly.  XLA fuses the
# rewritten graph differently, and next to a pole a last-bit difference is amplified: acos' gradient
# -1 / sqrt(1 - x²) at x = 0.9999 differs by 2.5e-5 relative (1 - x² = 2e-4 cancels four digits of x²).
GRADIENT_RTOL = {"eager": 0.0, "xla": 1e-4}

SCRIPT = tf_harness.FIXTURES / "origin" / "question_full_script.py"


def _has_findings(path: Path) -> bool:
    return bool(analyse(path.read_text(encoding="utf-8"), str(path)))


FIXED_FILES = [path for path in tf_harness.fixture_files() if _has_findings(path)]


# -- the fixed modules --------------------------------------------------------------------------------------------
_FIXED_SOURCES: dict[str, tuple[str, object]] = {}


def fixed_source(path: Path, source: str) -> tuple[str, object]:
    key = str(path)
    if key not in _FIXED_SOURCES:
        result = fix_source(source, key)
        _FIXED_SOURCES[key] = (result.new_source, result)
    return _FIXED_SOURCES[key]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fixed")


_LOADED: dict[str, object] = {}


def load_source(source: str, name: str, directory: Path):
    """Import ``source`` as a module (once per name), with the Keras 2 backend bound as the harness binds it."""
    if name in _LOADED:
        return _LOADED[name]
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if tf_harness.KERAS2_BACKEND_IMPORT.search(source):
        module.K = tf.keras.backend
    _LOADED[name] = module
    return module


def load_functions(source: str, name: str) -> dict:
    """The question's full script downloads MNIST and trains at import: run only its functions, with ``K``."""
    tree = ast.parse(source)
    functions = ast.Module([node for node in tree.body if isinstance(node, ast.FunctionDef)], type_ignores=[])
    namespace = {"K": tf.keras.backend, "tf": tf}
    exec(compile(functions, name, "exec"), namespace)
    return namespace


def make_callable(module, case: tf_harness.Case):
    """(function of float tensors, number of inputs) for a fixture unit, as the harness builds it."""
    import keras

    obj = getattr(module, case.name)
    if case.kind == "class":
        assert issubclass(obj, keras.layers.Layer), case.id
        return obj(), 1
    return obj, tf_harness._required_positional(obj)


# -- running both versions ----------------------------------------------------------------------------------------
def inputs(n: int):
    if n == 1:
        return [tf.constant(VALUES, tf.float32)]
    columns = list(zip(*itertools.product(PAIR_VALUES, repeat=n)))
    return [tf.constant(column, tf.float32) for column in columns]


def run(fn, n: int, mode: str):
    """Inputs, forward values and gradients of ``reduce_sum(fn(inputs))`` as NumPy arrays, eagerly or under XLA."""
    step = tf_harness.gradient_step(fn)
    if mode == "xla":
        step = tf.function(step, jit_compile=True)
    args = inputs(n)
    y, grads = step(*args)
    return np.stack([np.asarray(arg) for arg in args], -1), np.asarray(y), [np.asarray(grad) for grad in grads]


def assert_fix_is_exact(original, fixed, n: int, label: str) -> dict[str, bool]:
    """Compare the two versions in both modes; returns, per mode, whether the original had a NaN gradient at a
    finite forward value (the bug the fix removes)."""
    had_nan = {}
    for mode in ("eager", "xla"):
        points, y0, g0 = run(original, n, mode)
        _, y1, g1 = run(fixed, n, mode)
        where = f"{label} ({mode})"
        assert y1.dtype == y0.dtype and y1.shape == y0.shape, f"{where}: {y1.dtype}{y1.shape} != {y0.dtype}{y0.shape}"
        finite = np.isfinite(y0)
        np.testing.assert_array_equal(y1[finite], y0[finite], err_msg=f"{where}: forward values changed")
        shape = points.shape[:1]
        nan_before = np.zeros(shape, bool)
        for grad0, grad1 in zip(g0, g1):
            assert grad1.dtype == grad0.dtype and grad1.shape == grad0.shape, where
            kept = ~np.isnan(grad0)
            np.testing.assert_allclose(grad1[kept], grad0[kept], rtol=GRADIENT_RTOL[mode], atol=0,
                                       err_msg=f"{where}: a gradient that was not NaN changed")
            nan_left = np.isnan(np.broadcast_to(grad1, shape)) & np.isfinite(np.broadcast_to(y1, shape))
            assert not nan_left.any(), f"{where}: NaN gradient left at inputs {points[nan_left].tolist()}"
            nan_before |= np.isnan(np.broadcast_to(grad0, shape))
        had_nan[mode] = bool((nan_before & np.isfinite(np.broadcast_to(y0, shape))).any())
    return had_nan


# -- every fixture file with a finding ----------------------------------------------------------------------------
def _fixture_units():
    units = []
    for path in FIXED_FILES:
        units += [pytest.param(path, case, id=case.id) for case in tf_harness.collect_cases(path)
                  if case.not_tensorflow is None]
    return units


# A finding whose operand may be a Python number or an integer tensor (a parameter divided by, a parameter exponent,
# a parameter in K.switch) gets no fix: any guard would change a dtype (tests/test_fix_differential.py).  The finding
# says so and tells the user to cast first.  These are the fixture findings left that way, per file.
UNFIXED_FOR_DTYPE = {
    "bad/division.py": 8,  # divisors `x`, `y`, `(1. + x)`, `(1. - x)`; tf.math.reciprocal(x); x ** -1.
    "bad/exp_family.py": 2,  # 2. ** x, tf.pow(2., x)
    "bad/keras_backend.py": 3,  # K.switch of a parameter
    "bad/keras_backend_module.py": 1,
    "bad/real_code_bugs.py": 4,  # divisors `(np.pi * x)`, `(1. - n)`, `(1. - share)`; a log under an exp
    "bad/sqrt_pow.py": 2,  # x ** 0.5, x ** 1.5
    "bad/tf_keras_backend.py": 1,
    "bad/tf1_spellings.py": 2,  # tf.compat.v1.where needs tensor branches: x may be a Python number
}
# Findings of the other sinks with no exact rewrite at all (a log clamped at -100; hand-written sigmoids, softmaxes
# and powers, hand-written log-probabilities, whose built-ins agree only up to rounding; roots whose input the double
# where would repeat; a log whose value reaches a gather, and an exp a minimum, through a variable; a log masked by a
# label), and the two masked divisions whose divisor may be a number.
UNFIXED_FOR_DTYPE["bad/sinks.py"] = 32
FIXED_IN_FIXTURES = 112  # of 167 findings in these files and the question's script
_NO_EXACT_REWRITE = ("clamp the op's input to where it is finite", "use ",
                     "the double where repeats the root's input", "the root of an exp is an exp",
                     "the root's input underflows", "the op's value reaches the index",
                     "compute the product with tf.math.xlogy", "its fix is unsafe",
                     "the elements left out are computed")


def is_dtype_reason(reason: str | None) -> bool:
    return reason is not None and "is not known to be a tensor" in reason and "tf.cast" in reason


def is_expected_reason(finding, reason: str | None) -> bool:
    """The reason to cast first, or, for a clamp, a saturating op, a root, a log of a probability or an index, that
    no exact rewrite exists."""
    return is_dtype_reason(reason) or (
        finding.code in (knowledge.CLAMP_CODE, knowledge.MASK_CODE, knowledge.SATURATION_CODE,
                         knowledge.ROOT_AT_ZERO_CODE, knowledge.LOG_OF_PROBABILITY_CODE, knowledge.INDEX_CODE)
        and (reason or "").startswith(_NO_EXACT_REWRITE))


@pytest.mark.parametrize("path", FIXED_FILES + [SCRIPT], ids=tf_harness.relative)
def test_every_finding_in_the_fixture_file_is_fixed(path):
    """Every finding is fixed, or left with the reason to cast its operand first: exactly the expected number."""
    source = path.read_text(encoding="utf-8")
    new_source, result = fixed_source(path, source)
    found = analyse(source, str(path))
    left = [item for item in result.remaining if not is_expected_reason(item.finding, item.reason)]
    assert not left, [(item.finding.line, item.reason) for item in left]
    assert all(is_expected_reason(item.finding, item.finding.no_fix_reason or item.reason) for item in result.remaining)
    assert len(result.remaining) == UNFIXED_FOR_DTYPE.get(tf_harness.relative(path), 0)
    assert result.fixed and len(result.fixed) + len(result.remaining) == len(found)
    assert sorted([f.start for f in result.fixed] + [item.finding.start for item in result.remaining_in_source]) == (
        sorted(f.start for f in found))
    # The fixed source has exactly the findings left, nothing new.
    assert sorted((f.code, f.start) for f in analyse(new_source, str(path))) == sorted(
        (item.finding.code, item.finding.start) for item in result.remaining)


def test_the_number_of_fixture_findings_fixed():
    results = [fixed_source(path, path.read_text(encoding="utf-8"))[1] for path in FIXED_FILES + [SCRIPT]]
    assert sum(len(result.fixed) for result in results) == FIXED_IN_FIXTURES
    assert sum(len(result.remaining) for result in results) == sum(UNFIXED_FOR_DTYPE.values())


@pytest.mark.parametrize("path, case", _fixture_units())
def test_fixed_fixture_keeps_values_and_gradients(path, case, workdir):
    source = path.read_text(encoding="utf-8")
    new_source, result = fixed_source(path, source)
    left = [item for item in result.remaining_in_source if case.first_line <= item.finding.start.line <= case.last_line]
    if left:
        # No fix for this unit (its operand may be a Python number or an integer tensor): it must be left exactly as
        # written, each finding with the reason to cast.  A unit partly fixed would need a check of its own.
        assert all(is_expected_reason(item.finding, item.reason) for item in left), [item.reason for item in left]
        assert not [f for f in result.fixed if case.first_line <= f.start.line <= case.last_line], case.id
        unit = "".join(source.splitlines(keepends=True)[case.first_line - 1:case.last_line])
        assert unit in new_source, f"{case.id}: a unit with no fix was changed"
        return
    module_name = "tflint_fixed_" + re.sub(r"\W", "_", tf_harness.relative(path).removesuffix(".py"))
    original, n = tf_harness.make_callable(case)
    fixed, n_fixed = make_callable(load_source(new_source, module_name, workdir), case)
    assert n == n_fixed
    had_nan = assert_fix_is_exact(original, fixed, n, case.id)
    if case.bad:
        assert any(had_nan.values()), f"{case.id}: the original shows no NaN gradient, so the test proves nothing"


def test_question_script_fix_keeps_values_and_gradients():
    source = SCRIPT.read_text(encoding="utf-8")
    new_source, _ = fixed_source(SCRIPT, source)
    original = load_functions(source, "question_original")
    fixed = load_functions(new_source, "question_fixed")
    had_nan = assert_fix_is_exact(original["custom_activation"], fixed["custom_activation"], 1,
                                  "question_full_script.py::custom_activation")
    assert had_nan["eager"] and had_nan["xla"]


# -- rewrites the fixtures do not need ------------------------------------------------------------------------------
SITUATIONS = {
    "hoisted_random_condition": """
        import tensorflow as tf


        def log_under_random_mask(x):
            return tf.where(tf.random.stateless_uniform(tf.shape(x), seed=(7, 3)) > 0.5, tf.math.log(x), 0.)
        """,
    "condition_assigned_after_the_op": """
        import tensorflow as tf


        def log_then_mask(x):
            logs = tf.math.log(x)
            positive = x > 0.
            return tf.where(positive, logs, 0.)
        """,
    "bare_names_extend_the_import": """
        from tensorflow import exp, where, zeros_like
        from tensorflow.math import log


        def elu(x):
            return where(x > 0., x, exp(x) - 1.)


        def log_or_zero(x):
            return where(x > 0., log(x), zeros_like(x))
        """,
    "import_added_for_local_imports": '''
        """No module-level TensorFlow import: the fix adds one."""


        def elu(x):
            from tensorflow import exp, where
            return where(x > 0., x, exp(x) - 1.)
        ''',
    "tensor_branches": """
        import tensorflow as tf
        import tensorflow.experimental.numpy as tnp

        K = tf.keras.backend


        # K.switch and the compat.v1/raw selects need tensor branches of the condition's rank: a parameter that may
        # be a Python number gets no fix, so each function makes it a tensor first (keeping its dtype).
        def log_of_negative_side(x):
            x = tf.convert_to_tensor(x)
            return K.switch(x > 0., K.zeros_like(x), K.log(1. - x))


        def log_compat_v1(x):
            x = tf.convert_to_tensor(x)
            return tf.compat.v1.where(x > 0., tf.math.log(x), tf.zeros_like(x))


        def acosh_compat_v1(x):
            x = tf.convert_to_tensor(x)
            return tf.compat.v1.where(x > 1., tf.math.acosh(x), tf.zeros_like(x))


        def log_raw_select(x):
            x = tf.convert_to_tensor(x)
            return tf.raw_ops.Select(condition=x > 0., x=tf.math.log(x), y=tf.zeros_like(x))


        def log_tnp(x):
            return tnp.where(x > 0., tnp.log(x), 0.)
        """,
    "nested_quotient": """
        import tensorflow as tf


        def log_of_quotient(x, y):
            y = tf.cast(y, tf.float32)  # a divisor that may be a Python number or an int tensor gets no fix
            return tf.where(y > 0., tf.math.log(x / y), 0.)
        """,
    "nested_risky_ops": """
        import tensorflow as tf


        def sqrt_of_log(x):
            return tf.where(x > 1., tf.sqrt(tf.math.log(x)), 0.)
        """,
    "multi_line_operand_with_comment": """
        import tensorflow as tf


        def log_shifted(x):
            return tf.where(x > -1.,
                            tf.math.log(x  # the input
                                        + 1.),
                            0.)
        """,
}


# A random condition says nothing about the op's input, nor ``y > 0.`` about ``log(x / y)``'s: findings of medium
# confidence, shown (and fixed) with --strict.  (Not ``sqrt_of_log``: once fixed, --strict also shows its
# ``sqrt(log(1.))`` on the discarded side, which no gradient reaches, so nothing is left to fix there.)
STRICT_SITUATIONS = {"hoisted_random_condition", "nested_quotient"}


def situation_fix(situation: str):
    """The situation's source and the result of fixing it (strict where its findings need it)."""
    source = textwrap.dedent(SITUATIONS[situation])
    settings = Settings(strict=situation in STRICT_SITUATIONS)
    return source, fix_source(source, f"{situation}.py", settings), settings


def _situation_units():
    units = []
    for name, source in SITUATIONS.items():
        for node in ast.parse(textwrap.dedent(source)).body:
            if isinstance(node, ast.FunctionDef):
                units.append(pytest.param(name, node.name, id=f"{name}::{node.name}"))
    return units


@pytest.mark.parametrize("situation, function", _situation_units())
def test_situation_fix_keeps_values_and_gradients(situation, function, workdir):
    source, result, settings = situation_fix(situation)
    assert result.fixed and not result.remaining, [(item.finding.line, item.reason) for item in result.remaining]
    assert analyse(result.new_source, f"{situation}.py", settings) == []
    original = getattr(load_source(source, f"tflint_situation_{situation}", workdir), function)
    fixed = getattr(load_source(result.new_source, f"tflint_situation_{situation}_fixed", workdir), function)
    n = tf_harness._required_positional(original)
    had_nan = assert_fix_is_exact(original, fixed, n, f"{situation}::{function}")
    assert any(had_nan.values()), f"{situation}::{function}: the original shows no NaN gradient"


@pytest.mark.parametrize("situation, function", [("tensor_branches", name) for name in (
    "log_of_negative_side", "log_compat_v1", "acosh_compat_v1", "log_raw_select", "log_tnp")] + [
    ("bare_names_extend_the_import", "elu"), ("nested_risky_ops", "sqrt_of_log")])
@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_fix_keeps_other_float_dtypes(situation, function, dtype, workdir):
    """The literals and ones_like of a rewrite take the input's dtype: float16 and float64 stay what they were."""
    source, result, _ = situation_fix(situation)
    fixed = getattr(load_source(result.new_source,
                                f"tflint_situation_{situation}_fixed", workdir), function)
    original = getattr(load_source(source, f"tflint_situation_{situation}", workdir), function)
    x = tf.constant([-2.0, -0.0, 0.0, 0.5, 1.0, 2.0, 50.0], getattr(tf, dtype))
    y0, y1 = original(x), fixed(x)
    assert y1.dtype == y0.dtype == x.dtype and y1.shape == y0.shape
    finite = np.isfinite(y0.numpy())
    np.testing.assert_array_equal(y1.numpy()[finite], y0.numpy()[finite])


# -- the tables the rewrites rely on --------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["ELEMENTWISE", "PURE_CONDITION_CALLS"])
def test_rewrite_tables_name_real_functions(table):
    """Every name the rewrite treats as element-wise or pure exists (legacy Keras 2 and builtin names aside); a
    TensorFlow 1 top-level spelling (``tensorflow.log``) exists as ``tf.compat.v1.log``."""
    names = getattr(knowledge, table)
    live = [name for name in names if "." in name and not name.startswith("builtins.")
            and not any(name.startswith(module + ".") for module in knowledge.LEGACY_MODULES)]

    def exists(name: str) -> bool:
        if callable(tf_harness.resolve(name)):
            return True
        tf1 = name.startswith("tensorflow.") and not name.startswith("tensorflow.compat.")
        return tf1 and callable(tf_harness.resolve("tensorflow.compat.v1." + name.removeprefix("tensorflow.")))

    missing = sorted(name for name in live if not exists(name))
    assert missing == []


INTERNAL_SPELLINGS_SOURCE = '''\
from tensorflow.python.ops import array_ops, math_ops


def internal_where_and_log(x):
    return array_ops.where_v2(x > 0., math_ops.log(x), 0.)


def internal_tf1_where(x):
    return array_ops.where(x > 0., x, math_ops.exp(x) - 1.)
'''


@pytest.mark.parametrize("function", ["internal_where_and_log", "internal_tf1_where"])
def test_internal_module_spellings_are_found_and_fixed_in_their_own_spelling(function, workdir):
    """With ``internal-modules``, ``array_ops.where_v2``/``math_ops.log`` are the public ops: each select is found,
    the fix is written with the same modules (``math_ops.minimum``), and it removes the NaN gradient, eagerly and
    under XLA, without changing anything else."""
    settings = Settings(internal_modules=True)
    assert analyse(INTERNAL_SPELLINGS_SOURCE, "internal.py") == []  # not followed by default
    assert len(analyse(INTERNAL_SPELLINGS_SOURCE, "internal.py", settings)) == 2
    result = fix_source(INTERNAL_SPELLINGS_SOURCE, "internal.py", settings)
    assert "tf." not in result.new_source and result.new_source.count("math_ops.") >= 3
    original = load_source(INTERNAL_SPELLINGS_SOURCE, "internal_original", workdir)
    fixed = load_source(result.new_source, "internal_fixed", workdir)
    had_nan = assert_fix_is_exact(getattr(original, function), getattr(fixed, function), 1, function)
    assert any(had_nan.values()), f"{function}: the original had no NaN gradient to remove"


UNSAFE_FIXES_SOURCE = '''\
import keras
import tensorflow as tf


def log_softmax_by_hand(z):
    return tf.math.log(tf.nn.softmax(z, axis=-1))


def log_sigmoid_by_hand(x):
    return tf.math.log(tf.math.sigmoid(x))


def log_of_the_complement(x):
    return tf.math.log(1. - tf.sigmoid(x))


def ops_log_sigmoid_by_hand(x):
    return keras.ops.log(keras.ops.sigmoid(x))
'''


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "xla"])
def test_unsafe_fixes_agree_up_to_rounding_and_leave_no_nan_gradient(jit, workdir):
    """``--unsafe-fixes`` rewrites the hand-written logs into the built-ins: the same values up to rounding where the
    hand-written form is finite, a finite value where it was -inf, and no NaN gradient anywhere.  Without the flag
    nothing changes."""
    assert fix_source(UNSAFE_FIXES_SOURCE, "probabilities.py").new_source == UNSAFE_FIXES_SOURCE
    result = fix_source(UNSAFE_FIXES_SOURCE, "probabilities.py", Settings(unsafe_fixes=True))
    assert len(result.fixed) == 4 and not result.remaining
    assert "tf.nn.log_softmax(z, axis=-1)" in result.new_source and "tf.math.log_sigmoid(-x)" in result.new_source
    original = load_source(UNSAFE_FIXES_SOURCE, "unsafe_original", workdir)
    fixed = load_source(result.new_source, "unsafe_fixed", workdir)
    rows = tf.constant([[-100.0, 0.0, 3.0], [0.5, -0.5, 0.0], [30.0, -60.0, 90.0]])
    points = tf.constant([-120.0, -90.0, -20.0, -1.0, 0.0, 1.0, 17.0, 40.0, 120.0])
    for name, inputs in [("log_softmax_by_hand", rows), ("log_sigmoid_by_hand", points),
                         ("log_of_the_complement", points), ("ops_log_sigmoid_by_hand", points)]:
        results = []
        for module in (original, fixed):
            function = tf.function(getattr(module, name), jit_compile=jit)

            @tf.function(jit_compile=jit)
            def value_and_gradient(value, function=function):
                with tf.GradientTape() as tape:
                    tape.watch(value)
                    out = function(value)
                return out, tape.gradient(out, value)

            results.append([array.numpy() for array in value_and_gradient(inputs)])
        (value, gradient), (fixed_value, fixed_gradient) = results
        assert not np.isfinite(value).all() and np.isnan(gradient).any(), f"{name}: nothing to fix"
        assert np.isfinite(fixed_value).all() and np.isfinite(fixed_gradient).all(), name
        finite = np.isfinite(value)
        np.testing.assert_allclose(fixed_value[finite], value[finite], rtol=1e-5, atol=1e-6, err_msg=name)
