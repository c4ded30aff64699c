"""Differential test of ``--fix``: a rewrite must never break code that runs, whatever the operand's dtype.

A small generator writes select calls (``tf.where``, ``K.switch``, ``keras.ops.where``) whose branches evaluate a
risky op (log, exp, sqrt, division, powers) on the elements the select discards: the op in the true or the false
branch, the condition on the op's input or on another input, divisors that are parameters, Python numbers, nested
arithmetic, an input cast to float first.  Each program is linted and fixed through the library (``fix_source``,
strict, so every finding is offered a rewrite), and the original and the fixed function are run eagerly under real
TensorFlow on float16, float32, float64 and int32 tensors, Python ints and Python floats, and under ``tf.function``
on the float tensors (a graph converts an op's inputs in order, so ``tf.where(c, 1., x)`` fails there for a float64
``x`` and runs eagerly).  The fixed version must

* raise only where the original raises, with the same exception type, except that TensorFlow reports an op
  that has no kernel for a dtype (``InvalidArgumentError``/``NotFoundError`` from ``tf.exp(int_tensor)``) where
  the guard's conversion reports a ``TypeError`` first (or ``K.switch`` an ``AttributeError`` for a Python number):
  all are the same rejected input.  Where the original
  raises, the fixed code may run instead (``tf.math.log(3)`` fails, but ``tf.where(x <= 0., 1., 3)`` makes the
  Python int a float32, and the guarded log runs): a fix never breaks running code, it may mend failing code;
* return the same dtype and shape and the same values (NaN == NaN) where the original returns: the rewrite only
  changes elements that the select discards.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tf_harness  # noqa: E402

tf_harness.quiet_tensorflow()
tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed")
import numpy as np  # noqa: E402

from tflint_nan.fix import fix_source  # noqa: E402
from tflint_nan.lint import Settings  # noqa: E402

HEADER = "import tensorflow as tf\nfrom tensorflow.keras import backend as K\nfrom keras import ops\n\n"

# (name, template of the risky op with its input {a} and a second input {b}, family)
OPS = (
    ("log", "tf.math.log({a})", "tf"),
    ("exp", "tf.exp({a})", "tf"),
    ("sqrt", "tf.sqrt({a})", "tf"),
    ("div", "{b} / {a}", "tf"),
    ("tf_divide", "tf.math.divide({b}, {a})", "tf"),
    ("rdiv_literal", "1. / {a}", "tf"),
    ("pow_exp", "2. ** {a}", "tf"),
    ("tf_pow_half", "tf.pow({a}, 0.5)", "tf"),
    ("K_log", "K.log({a})", "K"),
    ("K_exp", "K.exp({a})", "K"),
    ("ops_log", "ops.log({a})", "ops"),
    ("ops_exp", "ops.exp({a})", "ops"),
    ("ops_divide", "ops.divide({b}, {a})", "ops"),
)
SELECTS = {"tf": "tf.where({c}, {t}, {f})", "K": "K.switch({c}, {t}, {f})", "ops": "ops.where({c}, {t}, {f})"}
# The input the op reads, how the branch wraps the op, and what happens to the inputs first.
OPERANDS = ("x", "y", "(1. + y)")
WRAPS = ("{op}", "0.5 * {op} + 1.")
PREAMBLES = ("", "    y = tf.cast(y, tf.float32)\n")


def _condition(op: str, operand: str, on_operand: bool, keep_true: bool) -> str:
    """A condition that keeps the op's safe elements on the op's side (``keep_true``: the op in the true branch)."""
    subject = operand if on_operand else "x"
    exp_like = op in ("exp", "K_exp", "ops_exp", "pow_exp")
    comparison = (" < 1." if exp_like else " > 0.") if keep_true else (" >= 1." if exp_like else " <= 0.")
    return f"{subject}{comparison}"


def generated_programs():
    """(id, source) of every generated program: a deterministic enumeration, about two hundred in all."""
    for (name, template, family), operand, on_operand, op_in_true, wrap, preamble in itertools.product(
        OPS, OPERANDS, (True, False), (True, False), WRAPS, PREAMBLES
    ):
        if preamble and (operand == "x" or family == "K"):
            # The cast matters only where y is read.  K.switch needs the branches to have the condition's rank
            # (a documented limit of every fix in K.switch), which a Python number cast to a scalar tensor has not.
            continue
        if wrap != "{op}" and (on_operand or not op_in_true):
            continue  # nesting once per op and operand is enough
        op = template.format(a=operand, b="x")
        branch = wrap.format(op=op)
        condition = _condition(name, operand, on_operand, op_in_true)
        if family == "K" or family == "ops":
            other = "x"  # K.switch reads the true branch's rank: keep both branches tensors of the condition's shape
        else:
            other = "0."
        ident = f"{name}-{operand}-{'cond_operand' if on_operand else 'cond_x'}-{'true' if op_in_true else 'false'}"
        ident += ("-nested" if wrap != "{op}" else "") + ("-cast" if preamble else "")
        # tf.where beside a tensor too: with the op in the false branch, the guard's fill goes in the true branch,
        # where a Python float is float32 in a graph whatever x's dtype (a Python number beside it hides that).
        others = [(other, "")] + ([("x", "-beside_x")] if family == "tf" and not op_in_true else [])
        for other, suffix in others:
            true, false = (branch, other) if op_in_true else (other, branch)
            select = SELECTS[family].format(c=condition, t=true, f=false)
            yield ident + suffix, HEADER + f"def f(x, y):\n{preamble}    return {select}\n"
    yield "warmup", HEADER + textwrap.dedent("""\
        def f(x, y, warmup_steps=1000, base_lr=1e-3):
            step = tf.cast(x, tf.float32)
            return tf.where(step < warmup_steps, base_lr * step / warmup_steps, base_lr)
        """)
    yield "warmup-divisor-param", HEADER + textwrap.dedent("""\
        def f(x, y, base_lr=1e-3):
            step = tf.cast(x, tf.float32)
            return tf.where(step < y, base_lr * step / y, base_lr)
        """)


PROGRAMS = dict(generated_programs())

_VALUES = [-2.0, -0.5, 0.0, 0.5, 3.0]
INPUTS = {
    "float16": lambda: tf.constant(_VALUES, tf.float16),
    "float32": lambda: tf.constant(_VALUES, tf.float32),
    "float64": lambda: tf.constant(_VALUES, tf.float64),
    "int32": lambda: tf.constant([-2, -1, 0, 1, 3], tf.int32),
    "py_int": lambda: 3,
    "py_float": lambda: 0.5,
}
# Errors that all mean "this op does not take this dtype": conversion (TypeError) or kernel lookup.
# K.switch reads ``.dtype``/``.shape`` of its arguments and raises AttributeError on a Python number first.
_DTYPE_REJECTED = (TypeError, AttributeError, tf.errors.InvalidArgumentError, tf.errors.NotFoundError)


def _load(source: str, name: str, directory: Path):
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


def _run(function, x, y):
    try:
        return function(x, y), None
    except Exception as error:  # noqa: BLE001 - the exception is the result being compared
        return None, error


def _same_failure(a: BaseException, b: BaseException) -> bool:
    return type(a) is type(b) or (isinstance(a, _DTYPE_REJECTED) and isinstance(b, _DTYPE_REJECTED))


def _as_array(value):
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)


def _dtype(value) -> str:
    return value.dtype.name if hasattr(value, "dtype") else type(value).__name__


def differences(original, fixed, inputs: dict | None = None) -> list[str]:
    """Where the fixed function behaves differently from the original on the input grid."""
    out = []
    inputs = INPUTS if inputs is None else inputs
    for (x_name, make_x), (y_name, make_y) in itertools.product(inputs.items(), inputs.items()):
        expected, expected_error = _run(original, make_x(), make_y())
        got, error = _run(fixed, make_x(), make_y())
        where = f"x={x_name}, y={y_name}"
        if expected_error is not None:
            if error is not None and not _same_failure(expected_error, error):
                out.append(f"{where}: original {expected_error!r:.120}, fixed {error!r:.120}")
            continue  # code that failed may run after the fix: tf.where(c, 1., 3) makes the int 3 a float
        if error is not None:
            out.append(f"{where}: the original runs, the fixed code raises {error!r:.160}")
            continue
        if _dtype(expected) != _dtype(got):
            out.append(f"{where}: dtype {_dtype(expected)} became {_dtype(got)}")
            continue
        a, b = _as_array(expected), _as_array(got)
        if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
            out.append(f"{where}: {a.tolist()} became {b.tolist()}")
    return out


_SETTINGS = Settings(strict=True)
_OUTCOMES: dict[str, str] = {}


@pytest.mark.parametrize("ident", list(PROGRAMS))
def test_fix_keeps_every_dtype_running(ident, tmp_path):
    source = PROGRAMS[ident]
    result = fix_source(source, f"{ident}.py", _SETTINGS)
    for item in result.remaining:
        assert item.reason, "a finding left unfixed must say why"
    if not result.changed:
        _OUTCOMES[ident] = "unchanged"
        return
    _OUTCOMES[ident] = "fixed"
    safe = ident.replace("-", "_").replace("(", "").replace(")", "")
    original = _load(source, f"diff_original_{safe}", tmp_path)
    fixed = _load(result.new_source, f"diff_fixed_{safe}", tmp_path)
    problems = differences(original, fixed)
    assert not problems, f"the fix changed behaviour:\n{result.new_source}\n" + "\n".join(problems[:8])


# In a graph, TensorFlow converts an op's inputs in order, so a Python float before a tensor becomes float32
# whatever the tensor's dtype (``tf.where(c, 1., x)`` raises for a float64 x, eagerly it does not): the float tensors
# are run again under tf.function.
FLOAT_TENSORS = {name: make for name, make in INPUTS.items() if name.startswith("float")}


@pytest.mark.parametrize("ident", list(PROGRAMS))
def test_fix_keeps_every_float_dtype_running_in_a_graph(ident, tmp_path):
    source = PROGRAMS[ident]
    result = fix_source(source, f"{ident}.py", _SETTINGS)
    if not result.changed:
        return
    safe = ident.replace("-", "_").replace("(", "").replace(")", "")
    original = tf.function(_load(source, f"graph_original_{safe}", tmp_path))
    fixed = tf.function(_load(result.new_source, f"graph_fixed_{safe}", tmp_path))
    problems = differences(original, fixed, FLOAT_TENSORS)
    assert not problems, f"the fix changed behaviour in a graph:\n{result.new_source}\n" + "\n".join(problems[:8])


def test_the_generator_exercises_the_fixer():
    """Most generated programs have a finding the fixer rewrites (the rest are refused, with a reason)."""
    fixed = 0
    for ident, source in PROGRAMS.items():
        if _OUTCOMES.get(ident, None) == "fixed" or fix_source(source, f"{ident}.py", _SETTINGS).changed:
            fixed += 1
    assert len(PROGRAMS) >= 150 and fixed >= len(PROGRAMS) // 3, (fixed, len(PROGRAMS))


def test_float_literal_fill_is_kept_where_the_op_takes_only_floats():
    result = fix_source(HEADER + "def f(x):\n    return tf.where(x > 0., tf.math.log(x), 0.)\n", "f.py", _SETTINGS)
    assert "tf.math.log(tf.where(x > 0., x, 1.))" in result.new_source
