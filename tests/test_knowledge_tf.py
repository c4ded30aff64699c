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
import inspect  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402

import numpy as np  # noqa: E402

from tf_harness import resolve  # noqa: E402
from tflint_nan import knowledge as kb  # noqa: E402
from tflint_nan.dynamic.confirm import float_width_mismatch  # noqa: E402
from tflint_nan.intervals import IntervalSet  # noqa: E402

F32 = tf.float32
SPEC = (tf.TensorSpec([None], F32), tf.TensorSpec([None], tf.bool))
SPEC2 = (tf.TensorSpec([None], F32), tf.TensorSpec([None], F32), tf.TensorSpec([None], tf.bool))
# Names that old code still uses but TF 2.x does not define; the row still has to match them: TensorFlow 1's
# top-level spellings (``tf.log``), which TF 2.x keeps as ``tf.compat.v1.log``.  Derived from TensorFlow, not listed.
def _tf1_only_names() -> frozenset[str]:
    out = set()
    for name in table_names_raw():
        if name.startswith("tensorflow.") and not name.startswith("tensorflow.compat."):
            rest = name.removeprefix("tensorflow.")
            if resolve(name) is None and resolve("tensorflow.compat.v1." + rest) is not None:
                out.add(name)
    return frozenset(out)


def table_names_raw() -> set[str]:
    names = set(kb.COMPARISONS) | set(kb.LOGICAL) | kb.STOP_GRADIENT | kb.CUSTOM_GRADIENT | kb.SAFE_BUILTINS
    for api in kb.SELECTS:
        names |= api.names
    for row in kb.RISKY_OPS:
        names |= row.names
    for fn in kb.VALUE_FUNCTIONS:
        names |= fn.names
    for sink in kb.CLAMP_SINKS:
        names |= sink.names
    for op in kb.SATURATING_OPS:
        names |= op.names
    names |= set(kb.BOOLEAN_MASKS) | kb.MULTIPLY | set(kb.INFINITY_CARRIERS) | kb.MAX_REDUCTIONS | kb.MIN_REDUCTIONS
    names |= kb.SUM_REDUCTIONS | kb.EXPS
    names |= set(kb.ZERO_FLAT_OPS) | kb.ZERO_CARRIERS | kb.NORMS | set(kb.INDEX_SELECTIONS)
    names |= set(kb.VALUE_PICKS) | set(kb.DROPPING_SEGMENT_REDUCTIONS) | set(kb.POSITION_OVERWRITES)
    names |= kb.FILLS
    return names | kb.NO_GRADIENT_RESULTS | kb.CASTS | kb.RANDOM_SAMPLES


TF1_ONLY = _tf1_only_names()


# -- resolving qualified names (``tf_harness.resolve``) -----------------------------------------------------------
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
    for sink in kb.CLAMP_SINKS:
        add("CLAMP_SINKS", sink.names)
    add("BOOLEAN_MASKS", kb.BOOLEAN_MASKS)
    add("MULTIPLY", kb.MULTIPLY)
    for op in kb.SATURATING_OPS:
        add(f"SATURATING_OPS[{op.key}]", op.names)
    add("INFINITY_CARRIERS", kb.INFINITY_CARRIERS)
    add("MAX_REDUCTIONS", kb.MAX_REDUCTIONS | kb.MIN_REDUCTIONS)
    add("SUM_REDUCTIONS", kb.SUM_REDUCTIONS)
    add("EXPS", kb.EXPS)
    add("ZERO_FLAT_OPS", kb.ZERO_FLAT_OPS)
    add("ZERO_CARRIERS", kb.ZERO_CARRIERS)
    add("NORMS", kb.NORMS)
    for op in kb.PROBABILITY_OPS:
        add(f"PROBABILITY_OPS[{op.key}]", op.names)
    add("ENTRY_SELECTIONS", kb.ENTRY_SELECTIONS)
    add("REARRANGEMENTS", kb.REARRANGEMENTS)
    add("ONE_HOT", kb.ONE_HOT)
    add("INDEX_SELECTIONS", kb.INDEX_SELECTIONS)
    add("VALUE_PICKS", kb.VALUE_PICKS)
    add("DROPPING_SEGMENT_REDUCTIONS", kb.DROPPING_SEGMENT_REDUCTIONS)
    add("POSITION_OVERWRITES", kb.POSITION_OVERWRITES)
    add("FILLS", kb.FILLS)
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
def test_internal_spellings_are_generated_from_tensorflow():
    """Every internal-module spelling of a name the tables use is listed, and is that name: the same function
    once unwrapped (``inspect.unwrap``), so ``array_ops.where`` is TensorFlow 1's where and ``where_v2`` TF2's."""
    import importlib
    import inspect

    from tflint_nan.project import ProjectModules

    public = {}
    for name in sorted(table_names_raw()):
        if name.startswith("tensorflow.") and not name.startswith("tensorflow.raw_ops"):
            obj = resolve(name)
            if obj is not None and callable(obj):
                public.setdefault(id(inspect.unwrap(obj)), []).append(name)
    generated = {}
    for module_name in kb.INTERNAL_MODULES:
        module = importlib.import_module(module_name)
        for attribute in dir(module):
            obj = getattr(module, attribute)
            if attribute[:1].islower() and callable(obj) and id(inspect.unwrap(obj)) in public:
                names = public[id(inspect.unwrap(obj))]
                generated[f"{module_name}.{attribute}"] = sorted(
                    names, key=lambda n: (n.startswith("tensorflow.compat"), len(n), n))[0]
    assert dict(kb.INTERNAL_SPELLINGS) == generated
    modules = ProjectModules("model.py", internal_modules=True)
    assert modules.resolve("tensorflow.python.ops.array_ops.where") == "tensorflow.compat.v1.where"
    assert modules.resolve("tensorflow.python.ops.array_ops.where_v2") == "tensorflow.where"
    assert ProjectModules("model.py").resolve("tensorflow.python.ops.array_ops.where_v2") is None


def test_tf1_top_level_spellings_are_recognised():
    """TF1 code's ``tf.log``, ``tf.div``, ``tf.rsqrt``, ``tf.reciprocal``, ``tf.log1p`` and ``tf.to_float`` are in
    the tables (as ``tensorflow.X``), and each is TensorFlow 1's: compat.v1 has it, TensorFlow 2's top level does
    not."""
    for name in ("tensorflow.log", "tensorflow.div", "tensorflow.rsqrt", "tensorflow.reciprocal",
                 "tensorflow.log1p", "tensorflow.to_float"):
        assert name in TF1_ONLY, name
    assert kb.risky_op_by_name("tensorflow.log").key == "log"
    assert kb.risky_op_by_name("tensorflow.div").key == "divide"
    assert "tensorflow.to_float" in kb.CASTS


def _op_types(fn, arity: int) -> set[str]:
    spec = [tf.TensorSpec([None], tf.float32)] * arity
    graph = tf.function(fn).get_concrete_function(*spec).graph
    return {op.type for op in graph.get_operations()} - {"Placeholder", "Identity", "NoOp"}


_TF1_ROWS = [(row, name) for row in kb.RISKY_OPS for name in sorted(row.names) if name in TF1_ONLY]


@pytest.mark.parametrize("row,name", _TF1_ROWS, ids=[f"{r.key}-{n}" for r, n in _TF1_ROWS])
def test_tf1_spelling_computes_the_same_op_as_its_row(row, name):
    """Traced into a graph, ``tf.compat.v1.X`` gives the same op types as a TensorFlow 2 name of the same row (some
    are wrappers, not the same Python object, so the graph is compared, not the function)."""
    tf1 = resolve("tensorflow.compat.v1." + name.removeprefix("tensorflow."))
    arity = 2 if row.operand in (kb.DIVISOR, kb.EXPONENT) else 1
    tf1_types = _op_types(tf1, arity)
    modern = [n for n in sorted(row.names) if n.startswith("tensorflow.math.") and resolve(n) is not None]
    candidates = [_op_types(resolve(n), arity) for n in modern]
    assert tf1_types in candidates, f"{name}: {tf1_types}, TF2 names of the row: {dict(zip(modern, candidates))}"


@pytest.mark.parametrize("name", list(ALL_NAMES), ids=[f"{n}@{t}" for n, t in ALL_NAMES.items()])
def test_name_resolves(name):
    legacy = legacy_module(name)
    short = name.rsplit(".", 1)[1]
    if name in TF1_ONLY:
        # TF 1.x spelled these at the top level (tf.log, tf.where_v2); TF 2.x keeps them under compat.v1.
        assert resolve(name) is None, f"{name} resolves in TensorFlow {tf.__version__}: it is not TF1-only"
        assert callable(getattr(tf.compat.v1, short, None)), f"tf.compat.v1.{short} is gone too"
    elif legacy is not None:
        # keras.backend / tf_keras.backend: Keras 2 spellings; Keras 3 keeps the functions under tf.keras.backend.
        assert legacy in ("keras.backend", "tf_keras.backend"), f"{name}: unexpected legacy module {legacy}"
        assert callable(getattr(tf.keras.backend, short, None)), (
            f"{name}: legacy Keras backend name, but tf.keras.backend.{short} does not exist either")
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


def spelling(row, sid):
    """The function of the risky input that ``sid`` (a qualified name or an operator label) spells for ``row``."""
    for s, _, fn in spellings(row):
        if s == sid:
            return fn
    raise KeyError(f"{row.key}: no spelling {sid!r}")


def fn_key(sid: str):
    """A cache key for the computation ``sid`` spells: aliases of one function (tf.exp, tf.math.exp,
    tf.compat.v1.exp...) share it, so XLA compiles each distinct function once."""
    obj = resolve(sid) if sid in ALL_NAMES else None
    return sid if obj is None else ("callable", id(obj))


def where_grad(fn):
    """``f(x, cond) -> (fn(x, cond), d/dx sum(where(cond, fn(x, cond), 0)))``.

    The gradient at an element the condition discards is what the where passes back to it: 0 times the op's
    local derivative, which is NaN when that derivative is inf (or the value is NaN).
    """

    def f(x, cond):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x, cond)
            total = tf.reduce_sum(tf.where(cond, y, tf.zeros_like(y)))
        return y, tape.gradient(total, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    return f


_COMPILED: dict[object, object] = {}


def run_both(key, f, *args, spec=SPEC):
    """Run ``f`` eagerly and as an XLA ``tf.function``; ``{"eager"|"xla": (value, gradient)}`` as NumPy arrays.

    ``key`` names the computation ``f`` performs: the compiled function is cached under it (with ``spec``), so
    calls with the same key must pass equivalent functions.
    """
    tensors = [tf.constant(np.asarray(a, s.dtype.as_numpy_dtype)) for a, s in zip(args, spec, strict=True)]
    cache_key = (key, spec)
    compiled = _COMPILED.get(cache_key)
    if compiled is None:
        compiled = _COMPILED[cache_key] = tf.function(f, input_signature=spec, jit_compile=True)
    out = {}
    for mode, runner in (("eager", f), ("xla", compiled)):
        value, grad = runner(*tensors)
        out[mode] = (np.asarray(value), np.asarray(grad))
    return out


def plain(fn):
    return where_grad(lambda x, cond: fn(x))


# -- 2. the risky ops give NaN gradients inside a where --------------------------------------------------------------
def _risky_cases():
    cases = []
    for row in kb.RISKY_OPS:
        for sid, family, _ in spellings(row):
            for u in row.unsafe_inputs:
                cases.append(pytest.param(row, sid, u, id=f"{row.key}-{sid}-{u:g}"))
    return cases


@pytest.mark.parametrize("row,sid,unsafe", _risky_cases())
def test_risky_op_nan_gradient(row, sid, unsafe):
    fn = spelling(row, sid)
    b = benign(row)
    res = run_both(("plain", row.key, fn_key(sid)), plain(fn), [unsafe, b], [False, True])
    xla_grad, eager_grad = res["xla"][1], res["eager"][1]
    assert np.isnan(xla_grad[0]), f"{sid}({unsafe}) discarded by the where: XLA gradient {xla_grad[0]}, not NaN"
    assert bool(np.isnan(eager_grad[0])) == row.nan_in_eager, (
        f"{sid}({unsafe}) discarded by the where: eager gradient {eager_grad[0]}, "
        f"table says nan_in_eager={row.nan_in_eager}")
    for mode in ("eager", "xla"):
        value, grad = res[mode]
        assert np.isfinite(value[1]) and np.isfinite(grad[1]), f"{mode}: benign {b} -> {value[1]}, grad {grad[1]}"


# -- 3. the safe rewrites remove the NaN and keep the benign element exact -----------------------------------------
def _rewrite_cases():
    cases = []
    for row in kb.RISKY_OPS:
        for sid, _, _ in representatives(row):
            cases.append((row, sid, "double_where", None))
            if row.clamp == "upper":
                bound = row.safe_domain.upper_bound()
                # the exactness-preserving clamp at the safe domain's bound, and the blunt clamp at 0
                cases.append((row, sid, "clamp", bound[0] if bound else math.nan))
                cases.append((row, sid, "clamp", 0.0))
    return cases


REWRITE_CASES = _rewrite_cases()


@pytest.mark.parametrize("row,sid,rewrite,bound", REWRITE_CASES,
                         ids=[f"{r.key}-{s}-{w}" + ("" if b is None else f"{b:g}") for r, s, w, b in REWRITE_CASES])
def test_safe_rewrite_removes_nan(row, sid, rewrite, bound):
    fn = spelling(row, sid)
    b = benign(row)
    if rewrite == "double_where":
        assert IntervalSet.point(row.safe_value).within(row.safe_domain), (
            f"safe_value {row.safe_value} is outside the safe domain {row.safe_domain}")
        rewritten = where_grad(lambda x, cond: fn(tf.where(cond, x, row.safe_value)))
    else:
        assert not math.isnan(bound), f"{row.key}: clamp='upper' but the safe domain has no upper bound"
        rewritten = where_grad(lambda x, cond: fn(tf.minimum(x, bound)))
    for unsafe in row.unsafe_inputs:
        x, cond = [unsafe, b], [False, True]
        before = run_both(("plain", row.key, fn_key(sid)), plain(fn), x, cond)
        after = run_both((rewrite, bound, row.key, fn_key(sid)), rewritten, x, cond)
        for mode in ("eager", "xla"):
            value, grad = after[mode]
            assert not np.isnan(grad[0]), f"{mode}: {rewrite} of {sid}({unsafe}) still has gradient {grad[0]}"
            assert np.all(np.isfinite(grad)), f"{mode}: {rewrite} of {sid} at {x} -> gradient {grad}"
            if rewrite == "double_where" or bound >= b:
                np.testing.assert_allclose(value[1], before[mode][0][1], rtol=1e-6,
                                           err_msg=f"{mode}: {rewrite} changed the value at {b}")
                np.testing.assert_allclose(grad[1], before[mode][1][1], rtol=1e-6,
                                           err_msg=f"{mode}: {rewrite} changed the gradient at {b}")


# -- 4. safe_domain is safe, unsafe_inputs are outside it ----------------------------------------------------------
GRID = sorted(set(np.linspace(-200.0, 200.0, 81).tolist())
              | {1.0, -1.0, 0.5, -0.5, 0.0, 1e-3, -1e-3, 0.99, -0.99, 1.001, 1.5, 88.0, -88.0})


def _domain_cases():
    cases = []
    for row in kb.RISKY_OPS:
        for sid, _, _ in representatives(row):
            cases.append((row, sid))
        if row.operand == kb.EXPONENT:
            cases.append((row, "e ** x"))  # the safe domain assumes a base near e
    return cases


DOMAIN_CASES = _domain_cases()


@pytest.mark.parametrize("row,sid", DOMAIN_CASES, ids=[f"{r.key}-{s}" for r, s in DOMAIN_CASES])
def test_safe_domain_gives_finite_values_and_gradients(row, sid):
    """Inside the safe domain both the value and the gradient are finite: a NaN value would poison products
    (the gradient of x * log(x) with respect to x is upstream * log(x)) even where the op's own gradient is not."""
    if sid == "e ** x":
        fn = lambda x: tf.pow(tf.constant(math.e, F32), x)  # noqa: E731
    else:
        fn = spelling(row, sid)
    points = [p for p in GRID if IntervalSet.point(p).within(row.safe_domain)]
    assert points, f"{row.key}: no grid point lies in {row.safe_domain}"
    for selected in (False, True):
        res = run_both(("plain", row.key, fn_key(sid)), plain(fn), points, [selected] * len(points))
        for mode in ("eager", "xla"):
            value, grad = res[mode]
            bad = [(p, v, g) for p, v, g in zip(points, value, grad) if not (np.isfinite(v) and np.isfinite(g))]
            assert not bad, (f"{mode}, {'selected' if selected else 'discarded'}: {sid} has non-finite values or gradients "
                             f"inside its safe domain {row.safe_domain}: {bad}")


def test_a_nan_value_in_a_discarded_branch_poisons_a_product():
    """Why safe domains exclude inputs where only the value is NaN: log(-1) has a finite gradient, but
    x * log(x) differentiates to upstream * log(x) + ..., and 0 * NaN = NaN."""
    x = tf.constant([-1.0, 2.0])
    cond = tf.constant([False, True])
    with tf.GradientTape() as tape:
        tape.watch(x)
        bare = tf.reduce_sum(tf.where(cond, tf.math.log(x), 0.0))
    assert np.isfinite(tape.gradient(bare, x).numpy()[0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        product = tf.reduce_sum(tf.where(cond, x * tf.math.log(x), 0.0))
    assert np.isnan(tape.gradient(product, x).numpy()[0])


UNSAFE_CASES = [(row, u) for row in kb.RISKY_OPS for u in row.unsafe_inputs]


@pytest.mark.parametrize("row,unsafe", UNSAFE_CASES, ids=[f"{r.key}-{u:g}" for r, u in UNSAFE_CASES])
def test_unsafe_inputs_outside_safe_domain(row, unsafe):
    assert not IntervalSet.point(unsafe).within(row.safe_domain)
    assert IntervalSet.point(benign(row)).within(row.safe_domain)


# -- 5. every select evaluates both branches -----------------------------------------------------------------------
def select_call(name, cond, a, b, keywords=False):
    api = kb.select_api(name)
    fn = resolve(name)
    if keywords or not api.positional:
        return fn(**dict(zip(api.params, (cond, a, b))))
    return fn(cond, a, b)


SELECT_CASES = [(name, branch) for name in SELECT_LIVE for branch in ("then", "else")]


@pytest.mark.parametrize("name,branch", SELECT_CASES, ids=[f"{n}-{b}" for n, b in SELECT_CASES])
def test_select_evaluates_both_branches(name, branch):
    """log(x) at x=0 in the branch the condition discards still poisons the gradient."""

    def f(x, cond):
        with tf.GradientTape() as tape:
            tape.watch(x)
            poisoned, zeros = tf.math.log(x), tf.zeros_like(x)
            if branch == "then":
                out = select_call(name, cond, poisoned, zeros)
            else:
                out = select_call(name, tf.logical_not(cond), zeros, poisoned)
            total = tf.reduce_sum(out)
        return out, tape.gradient(total, x)

    res = run_both(("select", name, branch), f, [0.0, 0.5], [False, True])
    for mode in ("eager", "xla"):
        value, grad = res[mode]
        np.testing.assert_allclose(value, [0.0, math.log(0.5)], rtol=1e-6, err_msg=f"{mode}: wrong selection")
        assert np.isnan(grad[0]), f"{mode}: {name} discarded log(0) in the {branch} branch: gradient {grad[0]}"
        np.testing.assert_allclose(grad[1], 2.0, rtol=1e-6)


def _scalar_cases():
    cases = []
    for name in SELECT_LIVE:
        for side in ("then", "else"):
            cases.append(pytest.param(name, side, id=f"{name}-scalar-{side}"))
    return cases


@pytest.mark.parametrize("name,side", _scalar_cases())
def test_select_scalar_branch(name, side):
    api = kb.select_api(name)
    x = tf.constant([0.0, 0.5])
    cond = tf.constant([False, True])

    def call():
        with tf.GradientTape() as tape:
            tape.watch(x)
            if side == "else":
                out = select_call(name, cond, tf.math.log(x), 0.0)
            else:
                out = select_call(name, tf.logical_not(cond), 0.0, tf.math.log(x))
            total = tf.reduce_sum(out)
        return out, tape.gradient(total, x)

    if api.scalar_branches[0 if side == "then" else 1]:
        out, grad = call()
        np.testing.assert_allclose(out.numpy(), [0.0, math.log(0.5)], rtol=1e-6)
        assert np.isnan(grad.numpy()[0])
    else:
        # K.switch reads then_expression.shape, so a float there raises AttributeError.
        with pytest.raises((tf.errors.InvalidArgumentError, ValueError, TypeError, AttributeError)):
            call()


@pytest.mark.parametrize("name", [n for n in SELECT_LIVE if kb.select_api(n).scalar_branches[0]])
def test_a_python_float_in_the_true_branch_takes_the_other_branch_dtype_only_where_the_table_says(name):
    """``true_literal_is_float32``: in a graph, a Python float in the true branch becomes float32 before the false
    branch is read (tf.where: SelectV2 converts its inputs in order), so beside a float64 tensor it raises; eagerly,
    and for the selects that promote (keras.ops, tnp), it takes the tensor's dtype."""
    x = tf.constant([0.5, 2.0], tf.float64)
    cond = tf.constant([True, False])
    eager = select_call(name, cond, 1.0, x)
    assert eager.dtype == tf.float64
    graph = tf.function(lambda x: select_call(name, cond, 1.0, x))
    if kb.select_api(name).true_literal_is_float32:
        with pytest.raises(TypeError, match="float64 that does not match type float32"):
            graph(x)
    else:
        assert graph(x).dtype == tf.float64
    # In the false branch a Python float takes the true branch's dtype in both.
    assert tf.function(lambda x: select_call(name, cond, x, 1.0))(x).dtype == tf.float64


@pytest.mark.parametrize("name", [n for n in SELECT_LIVE if not kb.select_api(n).positional])
def test_select_keyword_only(name):
    x = tf.constant([1.0, 2.0])
    with pytest.raises(TypeError):
        resolve(name)(tf.constant([True, False]), x, x)
    np.testing.assert_array_equal(select_call(name, tf.constant([True, False]), x, -x).numpy(), [1.0, -2.0])


def test_select_api_prefers_specific_row():
    assert kb.select_api("tensorflow.compat.v1.where").scalar_branches == (False, False)
    assert kb.select_api("tensorflow.where").scalar_branches == (True, True)


# -- 6. what the value functions return ----------------------------------------------------------------------------
EXTREMES = [-1e4, -100.0, -1.0, -0.5, 0.0, 0.5, 1.0, 100.0, 1e4]
VALUE_CASES = [(row, name) for row in kb.VALUE_FUNCTIONS for name in sorted(row.names) if is_live(name)]


@pytest.mark.parametrize("row,name", VALUE_CASES, ids=[f"{r.kind}-{n}" for r, n in VALUE_CASES])
def test_value_function(row, name):
    fn = resolve(name)
    xs = np.asarray(EXTREMES, np.float32)
    x = tf.constant(xs)
    if row.kind == "range":
        out = np.asarray(fn(tf.reshape(x, [1, -1])), np.float64).ravel()  # 2-D: K.softmax rejects 1-D input
        bad = [float(v) for v in out if not IntervalSet.point(float(v)).within(row.result)]
        assert not bad, f"{name}({EXTREMES}) gave {bad}, outside {row.result}"
    elif row.kind == "constant":
        out = np.asarray(fn() if not required_params(fn) else fn(x), np.float64).ravel()
        assert all(IntervalSet.point(float(v)) == row.result for v in out), f"{name} gave {out}, not {row.result}"
    elif row.kind == "monotone":
        pts = np.asarray([0.01, 0.5, 1.0, 2.0, 10.0, 50.0], np.float32)
        out = np.asarray(fn(tf.constant(pts)), np.float64)
        np.testing.assert_allclose(out, [row.fn(float(p)) for p in pts], rtol=1e-5)
        assert np.all(np.diff(out) > 0)
    elif row.kind == "identity":
        out = fn(x, "float32") if len(required_params(fn)) > 1 else fn(x)
        np.testing.assert_array_equal(np.asarray(out), xs)
    elif row.kind == "abs":
        np.testing.assert_array_equal(np.asarray(fn(x)), np.abs(xs))
    elif row.kind == "square":
        np.testing.assert_allclose(np.asarray(fn(x)), np.square(xs), rtol=1e-6)
    elif row.kind in ("minimum", "maximum"):
        ys = xs[::-1].copy()
        np.testing.assert_array_equal(np.asarray(fn(x, tf.constant(ys))), getattr(np, row.kind)(xs, ys))
    elif row.kind == "clip":
        np.testing.assert_array_equal(np.asarray(fn(x, -1.0, 1.0)), np.clip(xs, -1.0, 1.0))
    elif row.kind == "relu":
        out = np.asarray(fn(x), np.float64)
        np.testing.assert_array_equal(out, np.clip(xs, row.result.lo, row.result.hi))
    elif row.kind in ("sum", "hull"):
        params = required_params(fn)
        extra = [tf.zeros([len(xs)], tf.int32), 1][:len(params) - 1]  # segment ids, number of segments
        for data in (np.abs(xs), -np.abs(xs), xs):
            out = np.asarray(fn(tf.constant(data), *extra), np.float64).ravel()
            if row.kind == "hull":
                assert out.min() >= data.min() and out.max() <= data.max(), f"{name}({data}) = {out}"
            elif data.min() >= 0:
                assert out.min() >= 0, f"{name} of non-negative values gave {out}"
            elif data.max() <= 0:
                assert out.max() <= 0, f"{name} of non-positive values gave {out}"
    elif row.kind == "literal":
        np.testing.assert_array_equal(np.asarray(fn(EXTREMES)), xs)
    else:
        pytest.fail(f"unknown ValueFunction kind {row.kind!r}")


# Trained linear maps (``analysis._is_trained_output``): each name is the installed library's linear map, whose
# output grows with its input without bound (logits training can push anywhere).
LINEAR_CASES = sorted(n for n in kb.LINEAR_MAPS | kb.LINEAR_LAYERS if is_live(n) and not n.startswith("tf_keras."))


@pytest.mark.parametrize("name", LINEAR_CASES)
def test_a_linear_map_output_grows_without_bound(name):
    fn = resolve(name)
    assert fn is not None, f"{name} does not resolve"
    last = name.rsplit(".", 1)[1]
    x = tf.ones([1, 2, 2, 2, 2]) if last in ("conv3d", "Conv3D") else tf.ones([1, 2, 2, 2]) if last in (
        "conv2d", "Conv2D", "convolution", "conv", "atrous_conv2d", "depthwise_conv2d") else tf.ones(
        [1, 2, 2]) if last in ("conv1d", "Conv1D") else tf.ones(
        [2, 2])
    if name in kb.LINEAR_LAYERS:
        layer = fn(2, 1, kernel_initializer="ones") if last.startswith("Conv") else (
            fn("ab,bc->ac", output_shape=2, kernel_initializer="ones") if last == "EinsumDense" else fn(
                2, kernel_initializer="ones"))
        small, large = layer(x), layer(1e3 * x)
    elif last in ("conv1d", "conv2d", "conv3d", "convolution", "conv"):
        kernel = tf.ones([1] * (len(x.shape) - 2) + [2, 2])

        def fn_of(inputs):
            if last == "conv":  # Keras: padding and strides have defaults
                return fn(inputs, kernel)
            if last == "convolution":  # TensorFlow 1's needs a padding
                return fn(inputs, kernel, padding="VALID")
            return fn(inputs, kernel, [1] * len(x.shape) if last == "conv3d" else 1, "VALID")

        small, large = fn_of(x), fn_of(1e3 * x)
    elif last == "atrous_conv2d":
        kernel = tf.ones([1, 1, 2, 2])
        small, large = fn(x, kernel, 2, "VALID"), fn(1e3 * x, kernel, 2, "VALID")
    elif last == "depthwise_conv2d":
        kernel = tf.ones([1, 1, 2, 1])
        small, large = fn(x, kernel, [1, 1, 1, 1], "VALID"), fn(1e3 * x, kernel, [1, 1, 1, 1], "VALID")
    elif last == "bias_add":
        small, large = fn(x, tf.ones([2])), fn(1e3 * x, tf.ones([2]))
    elif last == "einsum":
        small, large = fn("ab,bc->ac", x, tf.ones([2, 2])), fn("ab,bc->ac", 1e3 * x, tf.ones([2, 2]))
    elif last == "tensordot":
        small, large = fn(x, tf.ones([2, 2]), 1), fn(1e3 * x, tf.ones([2, 2]), 1)
    else:  # matmul, dot, batch_dot
        small, large = fn(x, tf.ones([2, 2])), fn(1e3 * x, tf.ones([2, 2]))
    assert float(tf.reduce_max(large)) > 100 * float(tf.reduce_max(small)) > 0


# A max-subtracted exp's sum (``ranges.Analysis._sums_max_shifted_exp``): at least 1 over the maximum's axes, so a
# log of it or a division by it has a finite gradient even where a where discards it; over fewer axes it can be 0.
SHIFTED_SUM_CASES = [(total, maximum) for total in sorted(n for n in kb.SUM_REDUCTIONS if is_live(n))
                     for maximum in sorted(n for n in kb.MAX_REDUCTIONS if is_live(n))
                     if total.rsplit(".", 1)[0] == maximum.rsplit(".", 1)[0]]
SHIFTED_ROWS = np.array([[-1e4, -1e4, -1e4], [1e4, -1e4, 0.0], [88.0, 89.5, 100.0], [-100.0, -0.5, -1e-30]],
                        np.float32)


@pytest.mark.parametrize("total,maximum", SHIFTED_SUM_CASES)
@pytest.mark.parametrize("mode", ["eager", "xla"])
def test_the_sum_of_a_max_shifted_exp_is_at_least_one(total, maximum, mode):
    reduce_sum, reduce_max, exp = resolve(total), resolve(maximum), tf.exp

    def per_row(z):
        with tf.GradientTape() as tape:
            tape.watch(z)
            s = reduce_sum(exp(z - reduce_max(z, axis=-1, keepdims=True)), axis=-1)
            discarded = tf.reduce_sum(tf.where(s < 0.5, tf.math.log(s), tf.zeros_like(s)))  # never selected
        return s, tape.gradient(discarded, z)

    def global_maximum(z):  # the maximum over every row, a sum per row: the fact does not hold
        return reduce_sum(exp(z - reduce_max(z)), axis=-1)

    run = per_row if mode == "eager" else tf.function(per_row, jit_compile=True)
    s, grad = run(tf.constant(SHIFTED_ROWS))
    assert np.all(np.asarray(s) >= 1.0), f"{total}(exp(z - {maximum}(z))) = {np.asarray(s)}"
    assert np.all(np.isfinite(np.asarray(grad)))
    assert np.min(np.asarray(global_maximum(tf.constant(SHIFTED_ROWS)))) == 0.0


# -- 7. the safe built-ins have no NaN gradient inside a where ------------------------------------------------------
BUILTIN_VALUES = [0.0, 1.0, -1.0, 100.0, -100.0, 1000.0, -1000.0]
BUILTIN_CASES = sorted(n for n in kb.SAFE_BUILTINS if is_live(n))


def _builtin_program(name):
    """(f, args, spec, forward) for a where around the built-in at every combination of the extreme inputs."""
    fn = resolve(name)
    if name.rsplit(".", 1)[1].startswith("reduce_"):
        pairs = np.array([(a, b) for a in BUILTIN_VALUES for b in BUILTIN_VALUES], np.float32)

        def body(x):
            return fn(tf.reshape(x, [-1, 2]), axis=1)

        forward = np.repeat(np.asarray(body(tf.constant(pairs.ravel()))), 2)
        return where_grad(lambda x, cond: body(x)), (pairs.ravel(),), len(pairs), SPEC, forward
    if len(required_params(fn)) == 2:
        a, b = (np.array(v, np.float32) for v in zip(*[(p, q) for p in BUILTIN_VALUES for q in BUILTIN_VALUES]))

        def f(a_, b_, cond):
            with tf.GradientTape() as tape:
                tape.watch([a_, b_])
                y = fn(a_, b_)
                total = tf.reduce_sum(tf.where(cond, y, tf.zeros_like(y)))
            ga, gb = tape.gradient(total, [a_, b_])
            return y, tf.concat([ga, gb], 0)

        forward = np.tile(np.asarray(fn(tf.constant(a), tf.constant(b))), 2)
        return f, (a, b), len(a), SPEC2, forward
    xs = np.array(BUILTIN_VALUES, np.float32)
    return plain(fn), (xs,), len(xs), SPEC, np.asarray(fn(tf.constant(xs)))


@pytest.mark.parametrize("name", BUILTIN_CASES)
def test_safe_builtin_gradient(name):
    f, args, n, spec, forward = _builtin_program(name)
    for selected in (False, True):
        res = run_both(("builtin", name), f, *args, [selected] * n, spec=spec)
        for mode in ("eager", "xla"):
            grad = res[mode][1]
            bad = [(i, forward[i], grad[i]) for i in range(len(grad)) if np.isfinite(forward[i]) and np.isnan(grad[i])]
            assert not bad, f"{mode}, {'selected' if selected else 'discarded'}: {name} NaN gradients {bad}"


# -- float types: constants as a tensor holds them, and where each op is finite in float16 ---------------------------
MODES = ("eager", "graph", "xla")


def _in_mode(function, mode: str):
    return function if mode == "eager" else tf.function(function, jit_compile=mode == "xla")


def _value_and_gradient(function, x, dtype, mode: str):
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = function(x)
        return y, tape.gradient(y, x)

    value, gradient = _in_mode(step, mode)(tf.constant(x, dtype))
    return float(value), float(gradient)


@pytest.mark.parametrize("value", [1e-7, 1e-5, 0.1, 1.0 / 3.0, 65504.0, 7e4, 2.0 ** -24, 1e-8, -3.3])
def test_a_float16_constant_is_what_tensorflow_holds(value):
    assert kb.in_float_type(value, "float16") == float(tf.constant(value, tf.float16).numpy())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("epsilon", [1e-45, 1e-40, 1.1e-38])
def test_a_float32_epsilon_below_the_smallest_normal_number_guards_nothing(epsilon, mode):
    """The kernels flush it to 0: ``log(p + epsilon)`` at p = 0 is -inf, in every mode."""
    assert kb.in_float_type(epsilon) == 0.0
    value, _ = _value_and_gradient(lambda p: tf.math.log(p + epsilon), 0.0, tf.float32, mode)
    assert value == -math.inf
    value, _ = _value_and_gradient(lambda p: tf.math.log(p + 1.2e-38), 0.0, tf.float32, mode)
    assert math.isfinite(value) and kb.in_float_type(1.2e-38) != 0.0


def _float16_case(key):
    """(the op on one float16 input, an input just inside its float16 domain, one just outside it)."""
    domain, _ = kb.FLOAT16_DOMAINS[key]
    lo, hi = domain.lo, domain.hi
    if key in ("exp", "expm1", "power_exponent"):
        function = {"exp": tf.exp, "expm1": tf.math.expm1,
                    "power_exponent": lambda x: tf.pow(tf.constant(math.e, x.dtype), x)}[key]
        return function, hi, hi + 0.2
    if key == "log":
        return tf.math.log, lo * 1.05, lo * 0.95
    if key == "rsqrt":
        return tf.math.rsqrt, lo * 1.05, lo * 0.95
    bound = domain.complement().hi  # |y| below this is outside
    if key == "divide":
        return (lambda y: 1.0 / y), bound * 1.05, bound * 0.95
    return tf.math.reciprocal, bound * 1.05, bound * 0.95


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key", sorted(kb.FLOAT16_DOMAINS))
def test_inside_its_float16_domain_an_op_is_finite_in_every_mode(key, mode):
    function, inside, outside = _float16_case(key)
    assert IntervalSet.point(inside).within(kb.safe_domain(kb.risky_op(key), "float16"))
    assert not IntervalSet.point(outside).within(kb.safe_domain(kb.risky_op(key), "float16"))
    assert IntervalSet.point(outside).within(kb.safe_domain(kb.risky_op(key)))  # float32 computes it finitely
    value, gradient = _value_and_gradient(function, inside, tf.float16, mode)
    assert math.isfinite(value) and math.isfinite(gradient)
    value, gradient = _value_and_gradient(function, outside, tf.float32, mode)
    assert math.isfinite(value) and math.isfinite(gradient)


@pytest.mark.parametrize("key", sorted(kb.FLOAT16_DOMAINS))
def test_just_outside_its_float16_domain_an_op_overflows(key):
    """In one mode at least: XLA cubes rsqrt's result before halving it, so its gradient overflows first there."""
    function, _, outside = _float16_case(key)
    results = [_value_and_gradient(function, outside, tf.float16, mode) for mode in MODES]
    assert any(not (math.isfinite(value) and math.isfinite(gradient)) for value, gradient in results), results


@pytest.mark.parametrize("mode", MODES)
def test_an_epsilon_that_guards_a_float32_log_leaves_a_float16_one_nan_in_a_where(mode):
    def guarded(s):
        return tf.where(s > 0, tf.math.log(s + 1e-7), tf.zeros_like(s))

    _, gradient = _value_and_gradient(guarded, 0.0, tf.float32, mode)
    assert gradient == 0.0
    _, gradient = _value_and_gradient(guarded, 0.0, tf.float16, mode)
    assert math.isnan(gradient)


@pytest.mark.parametrize("key, written", sorted(kb.STABLE_LOGS), ids=[f"{k}:{n}" for k, n in sorted(kb.STABLE_LOGS)])
def test_the_built_in_of_a_log_of_a_probability_exists_and_computes_that_log(key, written):
    """Each row of TFN010's unsafe fixes names a function that exists and computes the log of the probability op
    it replaces (``log_sigmoid(-x)`` for ``1 - sigmoid(x)``): the hand-written form computed in float64, where it
    has no cancellation at these inputs, is the reference (in float32, ``1 - sigmoid(12)`` has lost three digits)."""
    built_in, probability = resolve(kb.STABLE_LOGS[(key, written)]), resolve(written)
    assert callable(built_in) and callable(probability), (key, written)
    x = tf.constant([[-30.0, -2.0, 0.0, 1.5, 12.0]])
    wide = tf.cast(x, tf.float64)
    expected = tf.math.log(1.0 - probability(wide)) if key == "one_minus_sigmoid" else tf.math.log(probability(wide))
    got = built_in(-x) if key == "one_minus_sigmoid" else built_in(x)
    np.testing.assert_allclose(np.asarray(got), expected.numpy(), rtol=1e-5, atol=1e-6)


def _unsafe_exp(v):
    """exp evaluated where a where discards it: at v = 100 its gradient is 0 * inf = NaN."""
    return tf.where(v > 50.0, v, tf.exp(v))


def _run_callback(name, fn, x):
    """The value of the runner ``name`` (``knowledge.CALLBACK_RUNNERS``) with ``fn`` at its result slots."""
    runner, last = resolve(name), name.rsplit(".", 1)[1]
    if last == "while_loop":
        # XLA differentiates a loop only with a known trip count
        return runner(lambda i, w: i < 1, lambda i, w: (i + 1, fn(w)), (tf.constant(0), x), maximum_iterations=1)[1]
    if last == "cond":
        return runner(tf.constant(True), lambda: fn(x), lambda: x)
    if last == "scan" and ".ops." in name:  # Keras: f(carry, x) -> (carry, y)
        return runner(lambda carry, v: (carry + fn(v), fn(v)), tf.constant(0.0), x, unroll=2)[1]
    if last == "scan":
        return runner(lambda carry, v: fn(v), x, initializer=tf.constant(0.0))
    if last in ("foldl", "foldr"):
        return runner(lambda carry, v: carry + fn(v), x, initializer=tf.constant(0.0))
    return runner(fn, x)  # map_fn, vectorized_map


CALLBACK_NAMES = sorted(name for name in kb.CALLBACK_RUNNERS if is_live(name))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", CALLBACK_NAMES)
def test_a_callable_handed_to_a_runner_returns_the_runner_value(name, mode):
    """The demand model follows a function handed to ``tf.while_loop``, ``tf.cond``, ``tf.map_fn``... into the
    call's value: the runner's value is what the function returns, and its gradient flows back into the function,
    NaN included.  A loop's condition only steers: its NaN never reaches the gradient.  Under XLA, Keras's scan
    (a TensorArray without a size on TensorFlow) cannot be differentiated at all: the user gets an error, never a
    silent NaN, and that is what this checks for it."""
    def value_and_gradient(fn):
        def run(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                total = tf.reduce_sum(_run_callback(name, fn, x))
            return total, tape.gradient(total, x)
        runner = run if mode == "eager" else tf.function(run, jit_compile=mode == "xla")
        value, gradient = runner(tf.constant([1.0, 100.0]))
        return float(value), np.asarray(gradient)

    if mode == "xla" and name.endswith(".scan") and ".ops." in name:
        with pytest.raises(tf.errors.InvalidArgumentError, match="tensor list size|TensorArray"):
            value_and_gradient(_unsafe_exp)
        return
    value, gradient = value_and_gradient(lambda v: 2.0 * v)
    assert value == pytest.approx(202.0) and np.allclose(gradient, 2.0), (value, gradient)
    value, gradient = value_and_gradient(_unsafe_exp)
    assert math.isfinite(value) and np.isnan(gradient[1]), (value, gradient)
    if name.endswith(".while_loop"):
        runner = resolve(name)

        def steered(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                _, w = runner(lambda i, w: tf.logical_and(i < 1, tf.reduce_all(_unsafe_exp(w) > -1.0)),
                              lambda i, w: (i + 1, 2.0 * w), (tf.constant(0), x), maximum_iterations=1)
                total = tf.reduce_sum(w)
            return tape.gradient(total, x)
        runner_mode = steered if mode == "eager" else tf.function(steered, jit_compile=mode == "xla")
        assert np.allclose(np.asarray(runner_mode(tf.constant([1.0, 100.0]))), 2.0)


@pytest.mark.parametrize("keyword", sorted(kb.LOGITS_KEYWORDS))
def test_logits_given_by_keyword_share_a_row_out_and_round_a_share_to_zero_only_where_they_differ(keyword):
    """``knowledge.LOGITS_KEYWORDS``: what TensorFlow takes as ``logits=`` it turns into probabilities along the
    row, so a row of equal logits shares them out evenly and only logits far apart round a share to exactly 0 --
    why the dynamic probe gives such a function rows of two.  Eagerly and under XLA."""

    def shares(logits):
        return tf.nn.softmax(**{keyword: logits})

    def loss(logits):
        return tf.nn.softmax_cross_entropy_with_logits(labels=tf.constant([[0.0, 1.0]]), **{keyword: logits})

    for run_shares, run_loss in ((shares, loss), (tf.function(shares, jit_compile=True),
                                                  tf.function(loss, jit_compile=True))):
        assert run_shares(tf.constant([[3.0, 3.0]])).numpy().tolist() == [[0.5, 0.5]]
        assert run_shares(tf.constant([[1000.0, 0.0]])).numpy().tolist() == [[1.0, 0.0]]
        assert float(run_loss(tf.constant([[1000.0, 0.0]]))[0]) == 1000.0  # the other class's share is e^-1000


# -- what TensorFlow says when float widths clash (dynamic mode probes such code again in float64) ---------------------
_WIDTH_CLASHES = {
    "a + b": lambda a, b: a + b,
    "tf.multiply": lambda a, b: tf.multiply(a, b),
    "tf.where": lambda a, b: tf.where(a > 0, a, b),
    "tf.maximum": lambda a, b: tf.maximum(a, b),
    "tf.concat": lambda a, b: tf.concat([a, b], 0),
    "a / b": lambda a, b: a / b,
    "tf.math.divide": lambda a, b: tf.math.divide(a, b),
    "tf.convert_to_tensor": lambda a, b: tf.convert_to_tensor(b, a.dtype),
}


def _clash_message(operation, first, second) -> str:
    with pytest.raises(Exception) as raised:  # noqa: PT011 - TensorFlow raises TypeError, ValueError or its own
        operation(tf.constant([1.0], first), tf.constant([1.0], second))
    return str(raised.value)


@pytest.mark.parametrize("name", sorted(_WIDTH_CLASHES))
@pytest.mark.parametrize("first,second", [(tf.float32, tf.float64), (tf.float64, tf.float32)])
def test_float32_meeting_float64_is_recognised_from_tensorflow_s_own_message(name, first, second):
    message = _clash_message(_WIDTH_CLASHES[name], first, second)
    assert float_width_mismatch(message), message


@pytest.mark.parametrize("name", sorted(_WIDTH_CLASHES))
def test_float16_meeting_float32_is_not_taken_for_a_float64_library(name):
    assert not float_width_mismatch(_clash_message(_WIDTH_CLASHES[name], tf.float32, tf.float16))


def test_every_float_width_message_pattern_matches_something_tensorflow_says():
    messages = [_clash_message(operation, tf.float32, tf.float64) for operation in _WIDTH_CLASHES.values()]
    for pattern in kb.FLOAT_WIDTH_MISMATCH_ERRORS:
        assert any(re.search(pattern, message) for message in messages), pattern


SESSION_FACTORY_NAMES = sorted(name for name in kb.SESSION_FACTORIES if is_live(name))


@pytest.mark.parametrize("name", SESSION_FACTORY_NAMES)
def test_a_session_factory_exists_and_its_run_takes_fetches(name):
    factory = resolve(name)
    run = getattr(factory, "run", None) or tf.compat.v1.Session.run  # get_default_session() returns a Session
    assert kb.SESSION_FETCHES in inspect.signature(run).parameters


def test_what_a_session_fetches_comes_back_as_numpy_values_without_a_gradient():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [2])
        norm = tf.sqrt(tf.reduce_sum(tf.square(x)))
        with tf.compat.v1.Session(graph=graph) as session:
            fetched = session.run({"norm": norm}, feed_dict={x: [3.0, 4.0]})
    assert isinstance(fetched["norm"], np.floating) and fetched["norm"] == 5.0
    assert not tf.is_tensor(fetched["norm"])  # a NumPy value: no tape, no graph, no gradient reaches it
