"""The fixture labels are facts about TensorFlow, checked against TensorFlow itself.

Every function in ``fixtures/bad`` carries ``# expect: TFN00N:COL`` markers and must produce a NaN gradient at an
input where its forward value is finite, eagerly or under XLA; every function in ``fixtures/good`` must never do
so in either mode.  See ``tests/tf_harness.py`` for how the fixtures are loaded and probed.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tf_harness  # noqa: E402

tf_harness.quiet_tensorflow()
tf = pytest.importorskip("tensorflow",
                         reason="TensorFlow is not installed; install tflint-nan[dynamic] to run the gradient tests")
import numpy as np  # noqa: E402
from tflint_nan.knowledge import RULE_CODES, SELECT_RULE_CODES  # noqa: E402

CASES = tf_harness.all_cases()
PROBED = [case for case in CASES if case.not_tensorflow is None]
FOREIGN = [case for case in CASES if case.not_tensorflow is not None]


def _ids(cases):
    return [case.id for case in cases]


# -- the labels themselves ------------------------------------------------------------------------------------------
def test_fixture_set_is_substantial():
    bad = [case for case in CASES if case.bad]
    good = [case for case in CASES if not case.bad]
    assert len(bad) >= 40 and len(good) >= 40, (len(bad), len(good))
    assert {case.file for case in bad} >= {"origin/custom_elu_keras.py", "origin/custom_elu_tf.py"}
    assert set(tf_harness.NOT_TENSORFLOW) <= {case.id for case in CASES}


@pytest.mark.parametrize("path", tf_harness.fixture_files(), ids=tf_harness.relative)
def test_markers_sit_where_they_belong(path):
    """Good and origin files have no markers; in bad files every function has one and every marker is in one."""
    source = path.read_text(encoding="utf-8")
    markers = tf_harness.parse_markers(source)
    file = tf_harness.relative(path)
    if file.startswith("good/") or file in tf_harness.ORIGIN_VERDICTS:
        assert markers == [], f"{file} must carry no expect markers"
    covered = {m for case in tf_harness.collect_cases(path) for m in case.markers}
    stray = [m for m in markers if m not in covered]
    assert not stray, f"markers outside any probed function: {stray}"
    if file.startswith("bad/"):
        unmarked = [case.id for case in tf_harness.collect_cases(path) if not case.markers]
        assert not unmarked, f"every function in fixtures/bad needs an expect marker: {unmarked}"


_CALL_CODES = {
    "TFN001": {"exp", "expm1", "cosh", "sinh", "pow", "power"},
    "TFN002": {"log", "log1p", "lgamma", "digamma"},
    "TFN003": {"divide", "truediv", "realdiv", "reciprocal", "div"},
    "TFN004": {"sqrt", "rsqrt", "pow"},
    "TFN005": {"acos", "asin", "atanh", "acosh"},
}


def _constant(node) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _constant(node.operand)
        return None if value is None else -value
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    return None


def _power_code(exponent) -> str:
    value = _constant(exponent)
    if value is None:
        return "TFN001"  # a tensor exponent: overflow
    return "TFN003" if value < 0 else "TFN004"


def _code_of(node) -> set[str]:
    """The codes an expression starting a marker can carry: a risky call, a division or a power."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return {"TFN003"}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return {_power_code(node.right)}
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("pow", "power"):
            return {_power_code(node.args[1])} if len(node.args) > 1 else {"TFN001"}
        return {code for code, names in _CALL_CODES.items() if name in names}
    return set()


@pytest.mark.parametrize("path", tf_harness.fixture_files(), ids=tf_harness.relative)
def test_marker_columns_point_at_the_risky_op(path):
    """``TFN00N:COL`` names the line and 1-based column where the risky expression starts, with the right code."""
    source = path.read_text(encoding="utf-8")
    starts: dict[tuple[int, int], set[str]] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Call, ast.BinOp)):
            starts.setdefault((node.lineno, node.col_offset + 1), set()).update(_code_of(node))
    for marker in tf_harness.parse_markers(source):
        codes = starts.get((marker.line, marker.column), set())
        if codes:  # the other sinks' rules (a clamp, a mask, a saturating op) meet any risky op
            codes |= set(RULE_CODES) - set(SELECT_RULE_CODES)
        assert marker.code in codes, (
            f"{tf_harness.relative(path)}:{marker.line}:{marker.column}: {marker.code} does not start a matching "
            f"risky call/operator there (found {sorted(codes) or 'nothing'})")


# -- the labels against TensorFlow ---------------------------------------------------------------------------------
def _describe(results) -> str:
    return "; ".join(f"{r.mode}: NaN gradient at {r.nan_inputs[:6]}{' ...' if len(r.nan_inputs) > 6 else ''}"
                     if r.has_nan else f"{r.mode}: no NaN gradient" for r in results)


@pytest.mark.parametrize("case", PROBED, ids=_ids(PROBED))
def test_label_matches_tensorflow(case):
    results = tf_harness.probe_cached(case)
    if case.bad:
        assert any(r.has_nan for r in results), (
            f"{case.id} is labelled {[m.code for m in case.markers]} but TensorFlow computes no NaN gradient "
            f"at a finite forward value ({_describe(results)})")
    else:
        assert not any(r.has_nan for r in results), (
            f"{case.id} is labelled good but TensorFlow computes NaN gradients: {_describe(results)}")


@pytest.mark.parametrize("case", FOREIGN, ids=_ids(FOREIGN))
def test_not_tensorflow_fixtures_run_outside_the_tape(case):
    assert not case.bad
    library = case.not_tensorflow
    if library != "numpy":
        pytest.importorskip(library)
    result = tf_harness.run_not_tensorflow(case)
    assert not isinstance(result, (tf.Tensor, tf.Variable)), f"{case.id} returned a TensorFlow tensor"
    assert np.shape(result) == (len(tf_harness.VALUES),)


# -- the question the project started from ------------------------------------------------------------------------
def _origin(name):
    return tf_harness.load_module(tf_harness.FIXTURES / "origin" / name).custom_activation


def _mnist_like_batch(seed=0, batch=32):
    """MNIST-shaped uint8 pixels as float32: mostly 0, strokes up to 255 (the question never rescaled them)."""
    rng = np.random.default_rng(seed)
    pixels = np.where(rng.random((batch, 784)) < 0.2, rng.integers(1, 256, (batch, 784)), 0)
    return tf.constant(pixels, tf.float32)


def _dense_kernel_gradient(activation, inputs):
    import keras

    dense = keras.layers.Dense(128, kernel_initializer=keras.initializers.GlorotUniform(seed=1))
    dense.build(inputs.shape)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(activation(dense(inputs)))
    return tape.gradient(loss, dense.kernel)


@pytest.mark.parametrize("name", ["custom_elu_keras.py", "custom_elu_tf.py"])
def test_question_elus_give_nan_gradients_on_raw_pixels(name):
    activation = _origin(name)
    pixels = tf.range(256, dtype=tf.float32)  # every raw pixel value
    with tf.GradientTape() as tape:
        tape.watch(pixels)
        total = tf.reduce_sum(activation(pixels))
    grad = tape.gradient(total, pixels).numpy()
    assert np.isfinite(grad[:89]).all()
    assert np.isnan(grad[89:]).all()  # exp(x) overflows float32 from x = 89 up
    # Through a first Dense layer as in the question: the kernel's gradient is NaN, so one SGD step ruins it.
    kernel_grad = _dense_kernel_gradient(activation, _mnist_like_batch())
    assert np.isnan(kernel_grad.numpy()).any()


def test_answer_fixes_the_question():
    fixed = _origin("answer_fixed.py")
    pixels = tf.range(256, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(pixels)
        total = tf.reduce_sum(fixed(pixels))
    assert np.isfinite(tape.gradient(total, pixels).numpy()).all()
    assert np.isfinite(_dense_kernel_gradient(fixed, _mnist_like_batch()).numpy()).all()
    # The answer's other fix, rescaling the pixels to [0, 1], also keeps the unfixed ELU finite.
    original = _origin("custom_elu_keras.py")
    assert np.isfinite(_dense_kernel_gradient(original, _mnist_like_batch() / 255.).numpy()).all()
