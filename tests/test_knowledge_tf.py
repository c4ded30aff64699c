"""Prove ``tflint_nan.knowledge`` against the installed TensorFlow / Keras.

Every table row is turned into real TensorFlow computations: names must resolve, risky ops must give the NaN
gradient the table claims inside a ``tf.where`` (eagerly and under XLA), the safe rewrites must remove it, the
safe domains must really be safe, and the select/value/builtin facts must hold.  Each test is parametrised so
a failure names the row and the qualified name it was checking.
"""

from __future__ import annotations

import pytest

tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed; install tflint-nan[dynamic] to run the knowledge-base tests")

import functools  # noqa: E402
import importlib  # noqa: E402
import inspect  # noqa: E402
import math  # noqa: E402

import numpy as np  # noqa: E402

from tflint_nan import knowledge as kb  # noqa: E402
from tflint_nan.intervals import IntervalSet  # noqa: E402

F32 = tf.float32
SPEC = (tf.TensorSpec([None], F32), tf.TensorSpec([None], tf.bool))
SPEC2 = (tf.TensorSpec([None], F32), tf.TensorSpec([None], F32), tf.TensorSpec([None], tf.bool))
# Names that old code still uses but TF 2.x does not define; the row still has to match them.
TF1_ONLY = frozenset({"tensorflow.where_v2"})

# Facts of the table that the installed TensorFlow contradicts.  The tests that check them are marked
# xfail(strict=True): once the table (or this list) is fixed they pass and the strict xfail flags the stale
# entry.  Keys are the pytest ids of the failing parameter sets.
KNOWN_TABLE_ISSUES: dict[str, str] = {
    # tf.keras.backend.switch(cond, 0., t) -> AttributeError: 'float' object has no attribute 'shape'
    # (Keras 3 legacy switch calls ndim(then_expression)); only the else branch may be a Python float.
    "switch-scalar-then": "K.switch cannot take a Python float as then_expression (ndim(float) raises)",
}


# -- resolving qualified names -------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def resolve(name: str):
    """Import the longest importable module prefix of ``name`` and getattr the rest; None if that fails."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def legacy_module(name: str) -> str | None:
    return next((m for m in kb.LEGACY_MODULES if name.startswith(m + ".")), None)


def is_live(name: str) -> bool:
    """Whether the installed TensorFlow/Keras must provide ``name`` (not a legacy / TF1-only spelling)."""
    return legacy_module(name) is None and name not in TF1_ONLY


def module_of(name: str) -> str:
    return name.rsplit(".", 1)[0]


def family_of(name: str) -> str:
    module = module_of(name)
    for family, modules in kb.FAMILIES.items():
        if module in modules:
            return "tf" if family == "tf_v1" else family
    return module


def table_names() -> dict[str, str]:
    """Every qualified name in the tables -> the table(s) it is listed in."""
    out: dict[str, set[str]] = {}

    def add(table, names):
        for name in names:
            out.setdefault(name, set()).add(table)

    for api in kb.SELECTS:
        add("SELECTS", api.names)
    for row in kb.RISKY_OPS:
        add(f"RISKY_OPS[{row.key}]", row.names)
    for fn in kb.VALUE_FUNCTIONS:
        add(f"VALUE_FUNCTIONS[{fn.kind}]", fn.names)
    add("COMPARISONS", kb.COMPARISONS)
    add("LOGICAL", kb.LOGICAL)
    add("STOP_GRADIENT", kb.STOP_GRADIENT)
    add("CUSTOM_GRADIENT", kb.CUSTOM_GRADIENT)
    add("SAFE_BUILTINS", kb.SAFE_BUILTINS)
    return {name: ",".join(sorted(tables)) for name, tables in sorted(out.items())}


ALL_NAMES = table_names()


def positional_params(fn) -> list[str]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def required_params(fn) -> list[str]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]


# -- 1. every name resolves ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(ALL_NAMES), ids=[f"{n}@{t}" for n, t in ALL_NAMES.items()])
def test_name_resolves(name):
    legacy = legacy_module(name)
    short = name.rsplit(".", 1)[1]
    if name in TF1_ONLY:
        # TF 1.x spelled where_v2 at the top level; TF 2.x keeps it only under compat.v1.
        assert resolve(name) is None or callable(resolve(name))
        assert callable(getattr(tf.compat.v1, short, None)), f"tf.compat.v1.{short} is gone too"
    elif legacy in ("keras.backend", "tf_keras.backend"):
        assert callable(getattr(tf.keras.backend, short, None)), (
            f"{name}: legacy Keras backend name, but tf.keras.backend.{short} does not exist either")
    elif legacy is not None:
        # keras.src.ops: the private home of keras.ops; the public spelling must exist.
        keras = pytest.importorskip("keras")
        assert callable(getattr(keras.ops, short, None)), f"{name}: keras.ops.{short} does not exist"
    else:
        obj = resolve(name)
        assert obj is not None, f"{name} ({ALL_NAMES[name]}) does not resolve in TensorFlow {tf.__version__}"
        assert callable(obj), f"{name} resolves to a non-callable {obj!r}"


RISKY_LIVE = [(row, name) for row in kb.RISKY_OPS for name in sorted(row.names) if is_live(name)]


@pytest.mark.parametrize("row,name", RISKY_LIVE, ids=[f"{r.key}-{n}" for r, n in RISKY_LIVE])
def test_risky_operand_keyword(row, name):
    """``Operand`` names the parameter that really is at ``position`` in the installed signature."""
    params = positional_params(resolve(name))
    assert len(params) > row.operand.position, f"{name}{params}: no argument {row.operand.position}"
    assert params[row.operand.position] in row.operand.keywords, (
        f"{name}: argument {row.operand.position} is {params[row.operand.position]!r}, "
        f"table says one of {row.operand.keywords}")


SELECT_LIVE = sorted({name for api in kb.SELECTS for name in api.names if is_live(name)})


@pytest.mark.parametrize("name", SELECT_LIVE)
def test_select_params_match_signature(name):
    api = kb.select_api(name)
    assert positional_params(resolve(name))[:3] == list(api.params)


# -- computing gradients inside a where ----------------------------------------------------------------------------
OTHER_OPERAND = {kb.DIVISOR: 1.0, kb.EXPONENT: 2.0}  # the constant argument next to the risky one
# ``**`` / ``/`` spellings of the rows that list operators, as functions of the risky input.
OPERATOR_SPELLINGS = {
    ("power_exponent", "**"): ("2. ** x", lambda x: 2.0 ** x),
    ("negative_power", "**"): ("x ** -1.", lambda x: x ** -1.0),
    ("fractional_power", "**"): ("x ** 0.5", lambda x: x ** 0.5),
    ("divide", "/"): ("1. / x", lambda x: 1.0 / x),
}


def benign(row) -> float:
    return 0.5 if IntervalSet.point(0.5).within(row.safe_domain) else row.safe_value


def name_caller(row, name, other=None):
    """A function of the risky input that calls ``name`` in its own spelling (keywords for raw ops)."""
    fn = resolve(name)
    if row.operand.position == 0:
        n_args = 1
    else:
        n_args = row.operand.position + 1
    if other is None:
        other = OTHER_OPERAND.get(row.operand, 2.0)
    raw = name.startswith("tensorflow.raw_ops.")
    params = positional_params(fn)

    def call(x):
        args = [tf.constant(other, F32)] * n_args
        args[row.operand.position] = x
        if raw:
            return fn(**dict(zip(params, args)))
        return fn(*args)

    return call


@functools.lru_cache(maxsize=None)
def spellings(row) -> tuple[tuple[str, str, object], ...]:
    """(id, family, caller) for every resolvable name and operator spelling of ``row``."""
    out = []
    for name in sorted(row.names):
        if is_live(name):
            out.append((name, family_of(name), name_caller(row, name)))
    for op in row.operators:
        label, fn = OPERATOR_SPELLINGS[(row.key, op)]
        out.append((label, "operator", fn))
    return tuple(out)


def representatives(row):
    """One spelling per module family (tf, tf.math, K, keras.ops, tnp, raw) plus the operators."""
    seen = {}
    for sid, family, fn in spellings(row):
        seen.setdefault(family, (sid, family, fn))
    return list(seen.values())


