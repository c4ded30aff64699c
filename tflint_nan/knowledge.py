"""Everything tflint-nan knows about TensorFlow and Keras, as data.

The analysis code never names a TensorFlow function; it asks these tables.  Each row is checked against the
installed TensorFlow by ``tests/test_knowledge_tf.py``: the names must resolve, the risky ops must produce the
NaN gradient claimed here inside a real ``tf.where`` (eagerly and under XLA), and the safe rewrite must remove it.

Qualified names are the ones LibCST's ``QualifiedNameProvider`` reports, e.g. ``tensorflow.math.log`` for
``tf.math.log`` after ``import tensorflow as tf``.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Mapping

from .intervals import EVERYTHING, IntervalSet

# -- module families ---------------------------------------------------------------------------------------------
# A family is the set of modules that spell the same API.  ``rows`` below say which names exist in which family.
TF_TOP = ("tensorflow", "tensorflow.compat.v1", "tensorflow.compat.v2")
# TensorFlow 1's top-level names (``tf.log``, ``tf.div``): ``tf.compat.v1.X`` in TensorFlow 2 code, ``tf.X`` in code
# written for TensorFlow 1, which tutorials, papers' code and older projects still are.
TF_V1_TOP = ("tensorflow.compat.v1", "tensorflow")
TF_MATH = ("tensorflow.math", "tensorflow.compat.v1.math", "tensorflow.compat.v2.math")
TF_NN = ("tensorflow.nn", "tensorflow.compat.v1.nn", "tensorflow.compat.v2.nn")
KERAS_BACKEND = (
    "tensorflow.keras.backend",
    "tensorflow.compat.v1.keras.backend",
    "tensorflow.compat.v2.keras.backend",
    "keras.backend",  # Keras 2 (standalone); Keras 3 keeps these names only under tf.keras.backend
    "tf_keras.backend",
)
KERAS_OPS = ("keras.ops", "tensorflow.keras.ops", "keras.src.ops")  # keras.src.ops: private, but imported
TNP = ("tensorflow.experimental.numpy",)
RAW = ("tensorflow.raw_ops",)

FAMILIES: Mapping[str, tuple[str, ...]] = {
    "tf": TF_TOP,
    "tf_v1": TF_V1_TOP,
    "tf_math": TF_MATH,
    "nn": TF_NN,
    "K": KERAS_BACKEND,
    "ops": KERAS_OPS,
    "tnp": TNP,
    "raw": RAW,
}

# Modules whose names are legacy spellings that the installed TensorFlow/Keras 3 no longer provides; the
# knowledge test skips resolving these (they are still matched, because old code still uses them).
# The roots of every module in FAMILIES: a name under one of them is spelled through TensorFlow or Keras itself.
FAMILY_ROOTS = frozenset(module.split(".")[0] for modules in FAMILIES.values() for module in modules)
LEGACY_MODULES = ("keras.backend", "tf_keras.backend")


def qualified(**family_names: str | tuple[str, ...]) -> frozenset[str]:
    """``qualified(tf_math="log", K="log")`` -> every qualified spelling of those names."""
    out = set()
    for family, names in family_names.items():
        for name in (names,) if isinstance(names, str) else names:
            out.update(f"{module}.{name}" for module in FAMILIES[family])
    return frozenset(out)


# Overflow thresholds of exp: ln(max finite) per dtype.  The messages and the dynamic probes use these.
EXP_OVERFLOW = {"float16": math.log(65504.0), "float32": math.log(3.4028234663852886e38), "float64": 709.78}
EXP_LIMIT = EXP_OVERFLOW["float32"]  # 88.72...
# Below this, float32 exp is a subnormal number, which eager kernels flush to exactly 0 (and XLA treats as 0).
EXP_UNDERFLOW = math.log(1.1754943508222875e-38)  # -87.3...
# cosh/sinh overflow a little later, at ln(2 * max).
COSH_LIMIT = EXP_LIMIT + math.log(2.0)


# -- select calls ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SelectApi:
    """A function that evaluates both branches and picks elements by a condition."""

    names: frozenset[str]
    params: tuple[str, str, str]  # keyword names of (condition, true branch, false branch)
    positional: bool = True  # raw ops take keywords only
    # Whether a Python float is a valid (true, false) branch: tf.compat.v1.where needs tensors of the condition's
    # shape; K.switch reads the true branch's ndim, so only its false branch may be a float.
    scalar_branches: tuple[bool, bool] = (True, True)
    # Whether a Python float in the true branch becomes a float32 tensor whatever the false branch's dtype: in a
    # graph (tf.function), SelectV2's inputs are converted in order, so ``tf.where(c, 1., x)`` raises for a float64
    # or float16 ``x`` (eagerly it takes x's dtype); ``tf.where(c, x, 1.)`` takes x's dtype in both.
    true_literal_is_float32: bool = False


SELECTS: tuple[SelectApi, ...] = (
    SelectApi(qualified(tf=("where",)) | {"tensorflow.where_v2", "tensorflow.compat.v1.where_v2"},
              ("condition", "x", "y"), true_literal_is_float32=True),
    # tf.compat.v1.where needs both branches of the condition's shape: no scalar branches.
    SelectApi(frozenset({"tensorflow.compat.v1.where"}), ("condition", "x", "y"), scalar_branches=(False, False)),
    SelectApi(frozenset({"tensorflow.raw_ops.Select"}), ("condition", "x", "y"), positional=False,
              scalar_branches=(False, False)),
    SelectApi(frozenset({"tensorflow.raw_ops.SelectV2"}), ("condition", "t", "e"), positional=False,
              true_literal_is_float32=True),
    SelectApi(qualified(tnp="where"), ("condition", "x", "y")),
    SelectApi(qualified(ops="where"), ("condition", "x1", "x2")),
    SelectApi(qualified(K="switch"), ("condition", "then_expression", "else_expression"),
              scalar_branches=(False, True)),
)
# The TF1-only where (``tensorflow.compat.v1.where``) was added by ``qualified(tf=...)`` too; the specific row
# above must win, so lookups go through ``select_api`` which prefers the most specific row.


def select_api(name: str) -> SelectApi | None:
    best = None
    for api in SELECTS:
        if name in api.names and (best is None or len(api.names) < len(best.names)):
            best = api
    return best


# -- risky ops -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Operand:
    """Which argument of the call feeds the dangerous input: its position and possible keyword names."""

    position: int
    keywords: tuple[str, ...]


UNARY = Operand(0, ("x",))
DIVISOR = Operand(1, ("y", "x2"))
BASE = Operand(0, ("x", "x1"))
EXPONENT = Operand(1, ("y", "x2", "a"))


@dataclass(frozen=True)
class RiskyOp:
    key: str
    code: str
    names: frozenset[str]
    operand: Operand
    safe_domain: IntervalSet  # inputs where the op's gradient is finite
    hazard: str  # what goes wrong on the discarded elements, in words
    safe_value: float  # what the double where feeds the op instead of a discarded input
    unsafe_inputs: tuple[float, ...]  # float32 inputs whose gradient is NaN inside a where (proven by the tests)
    nan_in_eager: bool = True  # False: eager TF's gradient kernel multiplies by the zero upstream gradient first
    clamp: str | None = None  # "upper": exactness-preserving clamp is minimum(input, bound)
    operators: tuple[str, ...] = ()  # Python operators that spell this op (``/`` and ``**``)
    note: str = ""
    # The op's values at its unsafe inputs where it has a value (inf for exp's overflow, -inf for log at 0, 0 for
    # sqrt at 0): what a clamp of the op's output or a saturating op after it sees there (proven by the tests).
    poles: tuple[float, ...] = ()
    # The safe domain is a conservative bound, not where the op breaks (exp's 88 below its 88.7 overflow,
    # divide_no_nan's 1e-15 far above its 5e-20): dynamic probes take the unsafe inputs, not the domain's ends.
    conservative_domain: bool = False
    # The most the code can say: "medium" where the op's unsafe inputs are values no guard aims at (divide_no_nan's
    # tiny nonzero divisors; its guards aim at 0, which it defuses).
    most_confident: str = "high"


def _nonzero(at: float = 0.0) -> IntervalSet:
    return IntervalSet.point(at).complement()


# A safe domain is where the op's value AND its gradient are finite.  Both matter: log(-1) has the finite
# gradient -1, but its NaN value poisons any product it enters (the gradient of x * log(x) with respect to x
# is upstream * log(x) = 0 * NaN = NaN).


RISKY_OPS: tuple[RiskyOp, ...] = (
    # TFN001: exponential family -- overflow to inf, and inf * 0 in the backward pass.
    RiskyOp("exp", "TFN001", qualified(tf="exp", tf_math="exp", K="exp", ops="exp", tnp="exp", raw="Exp"),
            UNARY, IntervalSet.compare("<=", 88.0), f"overflows to inf above {EXP_LIMIT:.1f}", 0.0, (89.0, 100.0),
            clamp="upper", poles=(math.inf,), conservative_domain=True),
    RiskyOp("expm1", "TFN001", qualified(tf_math="expm1", tf_v1="expm1", ops="expm1", tnp="expm1", raw="Expm1"),
            UNARY, IntervalSet.compare("<=", 88.0), f"overflows to inf above {EXP_LIMIT:.1f}", 0.0, (89.0, 100.0),
            clamp="upper", poles=(math.inf,), conservative_domain=True),
    RiskyOp("cosh", "TFN001", qualified(tf="cosh", tf_math="cosh", ops="cosh", tnp="cosh", raw="Cosh"),
            UNARY, IntervalSet.between(-88.0, 88.0), f"overflows to inf beyond ±{COSH_LIMIT:.1f}", 0.0,
            (90.0, -90.0), poles=(math.inf,), conservative_domain=True),
    RiskyOp("sinh", "TFN001", qualified(tf="sinh", tf_math="sinh", ops="sinh", tnp="sinh", raw="Sinh"),
            UNARY, IntervalSet.between(-88.0, 88.0), f"overflows to inf beyond ±{COSH_LIMIT:.1f}", 0.0,
            (90.0, -90.0), poles=(math.inf, -math.inf), conservative_domain=True),
    RiskyOp("power_exponent", "TFN001",
            qualified(tf="pow", tf_math="pow", K="pow", ops="power", tnp=("power", "float_power"), raw="Pow"),
            EXPONENT, IntervalSet.compare("<=", 88.0), "overflows to inf for a large exponent", 0.0, (200.0,),
            clamp="upper", operators=("**",),
            note="base ** x with a tensor exponent x; the safe domain assumes a base near e (scaled per base)",
            poles=(math.inf,), conservative_domain=True),
    # TFN002: log family -- pole at the domain edge.
    RiskyOp("log", "TFN002", qualified(tf_math="log", tf_v1="log", K="log", ops=("log", "log2", "log10"),
                                       tnp=("log", "log2", "log10"), raw="Log"),
            UNARY, IntervalSet.compare(">", 0.0), "has a pole at 0 (gradient 1/x = inf) and is NaN below it", 1.0,
            (0.0,), poles=(-math.inf,)),
    RiskyOp("log1p", "TFN002", qualified(tf_math="log1p", tf_v1="log1p", ops="log1p", tnp="log1p", raw="Log1p"),
            UNARY, IntervalSet.compare(">", -1.0), "has a pole at -1 (gradient 1/(1+x) = inf) and is NaN below it",
            0.0, (-1.0,), poles=(-math.inf,)),
    RiskyOp("lgamma", "TFN002", qualified(tf_math=("lgamma", "digamma"), tf_v1=("lgamma", "digamma"),
                                          raw=("Lgamma", "Digamma")),
            # No pole value: lgamma is inf at its poles, digamma NaN.
            UNARY, IntervalSet.compare(">", 0.0), "has poles at 0 and the negative integers", 1.0, (0.0, -1.0)),
    # TFN003: division by a value that can be 0.
    RiskyOp("divide", "TFN003",
            qualified(tf=("divide", "truediv", "realdiv"), tf_v1="div", tf_math=("divide", "truediv"),
                      ops=("divide", "true_divide"), tnp=("divide", "true_divide"), raw=("RealDiv", "Div")),
            DIVISOR, _nonzero(0.0), "divides by 0 (gradient -x/y² = inf)", 1.0, (0.0,), operators=("/",),
            poles=(math.inf, -math.inf)),
    # divide_no_nan is 0 where the divisor is exactly 0, and so is its gradient there; for a divisor near 0 but not
    # 0, its gradient -x/y² overflows (|y| below about 5e-20 for |x| = 1 in float32), and a zero upstream gradient
    # makes it 0 * inf = NaN, in every mode (tests/test_knowledge_tf.py).  Finite from 1e-15 on, for |x| up to 3e8.
    RiskyOp("divide_no_nan", "TFN003", qualified(tf_math="divide_no_nan", tf_v1="div_no_nan", ops="divide_no_nan"),
            DIVISOR, IntervalSet.between(-1e-15, 1e-15, False, False).complement().union(IntervalSet.point(0.0)),
            "has an infinite gradient -x/y² for a divisor near 0 but not 0 (it defuses y = 0 exactly)", 1.0,
            (1e-30, -1e-30), most_confident="medium", conservative_domain=True),
    RiskyOp("negative_power", "TFN003", frozenset(), BASE, _nonzero(0.0),
            "has a pole at 0 for a negative exponent", 1.0, (0.0,), operators=("**",),
            note="x ** -n with a negative constant exponent: a division in disguise", poles=(math.inf, -math.inf)),
    RiskyOp("reciprocal", "TFN003",
            qualified(tf_math="reciprocal", tf_v1="reciprocal", ops="reciprocal", tnp="reciprocal",
                      raw="Reciprocal"),
            UNARY, _nonzero(0.0), "has a pole at 0", 1.0, (0.0,), nan_in_eager=False,
            poles=(math.inf, -math.inf)),
    # TFN004: square roots and fractional powers.
    RiskyOp("sqrt", "TFN004", qualified(tf="sqrt", tf_math="sqrt", ops="sqrt", tnp="sqrt", raw="Sqrt"),
            UNARY, IntervalSet.compare(">", 0.0), "has an infinite gradient at 0 and is NaN below it", 1.0,
            (0.0, -1.0), nan_in_eager=False, poles=(0.0,)),
    # K.sqrt is tf.sqrt(tf.maximum(x, 0.)): below 0 the maximum routes the gradient to its constant, so only 0
    # itself is unsafe.
    RiskyOp("keras_backend_sqrt", "TFN004", qualified(K="sqrt"), UNARY, _nonzero(0.0),  # value 0 below 0
            "has an infinite gradient at 0", 1.0, (0.0,), nan_in_eager=False, poles=(0.0,)),
    RiskyOp("rsqrt", "TFN004", qualified(tf_math="rsqrt", tf_v1="rsqrt", ops="rsqrt", raw="Rsqrt"),
            UNARY, IntervalSet.compare(">", 0.0), "has a pole at 0 and is NaN below it", 1.0, (0.0, -1.0),
            nan_in_eager=False, poles=(math.inf, -math.inf)),  # rsqrt(-0.) = -inf
    RiskyOp("fractional_power", "TFN004", frozenset(), BASE, IntervalSet.compare(">", 0.0),
            "is NaN for negative bases and has an infinite gradient at 0", 1.0, (0.0, -1.0), operators=("**",),
            note="x ** p with a constant non-integer exponent p", poles=(0.0,)),
    # TFN005: inverse trigonometric and hyperbolic functions -- domain ends at ±1.
    RiskyOp("acos", "TFN005", qualified(tf=("acos", "asin"), tf_math=("acos", "asin"), ops=("arccos", "arcsin"),
                                        tnp=("arccos", "arcsin"), raw=("Acos", "Asin")),
            UNARY, IntervalSet.between(-1.0, 1.0, False, False), "has an infinite gradient at ±1 and is NaN beyond",
            0.0, (1.0, -1.0, 2.0)),
    RiskyOp("atanh", "TFN005", qualified(tf="atanh", tf_math="atanh", ops="arctanh", tnp="arctanh", raw="Atanh"),
            UNARY, IntervalSet.between(-1.0, 1.0, False, False), "has poles at ±1 and is NaN beyond", 0.0,
            (1.0, -1.0), poles=(math.inf, -math.inf)),
    RiskyOp("acosh", "TFN005", qualified(tf="acosh", tf_math="acosh", ops="arccosh", tnp="arccosh", raw="Acosh"),
            UNARY, IntervalSet.compare(">", 1.0), "has an infinite gradient at 1 and is NaN below it", 2.0,
            (1.0, 0.0), poles=(0.0,)),
)

# -- dtypes: where an op's value and gradient are finite depends on the float type it computes in -----------------
@dataclass(frozen=True)
class FloatType:
    """A floating-point type as TensorFlow's CPU kernels compute in it (``tests/test_knowledge_tf.py``)."""

    name: str
    largest: float
    smallest_normal: float
    # float32 kernels flush subnormal results and inputs to 0 (eagerly, in graphs and under XLA): a constant below
    # the smallest normal number is 0 there, so ``log(p + 1e-40)`` guards nothing.  float16 is computed through
    # float32, where its subnormals are normal numbers: they survive.
    flushes_subnormals: bool


FLOAT_TYPES: Mapping[str, FloatType] = {
    "float16": FloatType("float16", 65504.0, 2.0 ** -14, False),
    "float32": FloatType("float32", 3.4028234663852886e38, 2.0 ** -126, True),
}
DEFAULT_FLOAT = "float32"
# What TensorFlow says, eagerly, when float32 and float64 tensors meet in one op: a kernel's input check, the dtype
# check of Python-level division, tensor conversion.  Dynamic mode probes in float32 (or in the float type the
# analysis or a recording gives); code that computes in float64 throughout (zfit, GPflow) fails with one of these
# where the probe tensors meet its own float64 constants, and is probed again in float64.
FLOAT_WIDTH_MISMATCH_ERRORS: tuple[str, ...] = (
    r"was expected to be a (?:float|double) tensor but is a (?:float|double) tensor",
    r"must have the same dtype, got tf\.float(?:32|64) != tf\.float(?:32|64)",
    r"Tensor conversion requested dtype float(?:32|64) for Tensor with dtype float(?:32|64)",
)


def in_float_type(value: float, dtype: str = DEFAULT_FLOAT) -> float:
    """A Python float constant as a tensor of ``dtype`` holds it: rounded, flushed to 0 below the smallest normal
    number where the kernels flush, inf beyond the largest finite number."""
    kind = FLOAT_TYPES[dtype]
    if kind.flushes_subnormals and abs(value) < kind.smallest_normal:
        return 0.0 * value if value else value  # keeps the sign of 0 (``-0.0``)
    try:
        return struct.unpack("<e" if dtype == "float16" else "<f", struct.pack("<e" if dtype == "float16" else "<f",
                                                                               value))[0]
    except (OverflowError, struct.error):
        return math.copysign(math.inf, value)


# Where an op's value and gradient are finite in float16, for the ops whose float32 domain is wider (the others'
# domains hold in float16 too): exp overflows above ln(65504); 1/x, log's derivative, overflows below 1/65504;
# x/y's derivative -x/y² overflows for |y| below 1/sqrt(65504) (with |x| about 1); rsqrt's -rsqrt(x)^3/2 below
# 65504^(-2/3), where XLA's cube of the result overflows before the halving.  Each with the hazard in words, for the
# messages.
_F16_MAX = FLOAT_TYPES["float16"].largest
FLOAT16_DOMAINS: Mapping[str, tuple[IntervalSet, str]] = {
    "exp": (IntervalSet.compare("<=", 11.0), f"overflows to inf above {math.log(_F16_MAX):.1f} in float16"),
    "expm1": (IntervalSet.compare("<=", 11.0), f"overflows to inf above {math.log(_F16_MAX):.1f} in float16"),
    "power_exponent": (IntervalSet.compare("<=", 11.0), "overflows to inf for a large exponent in float16"),
    "log": (IntervalSet.compare(">", 1.0 / _F16_MAX),
            f"has a pole at 0, and in float16 its gradient 1/x overflows to inf below {1.0 / _F16_MAX:.2g}"),
    "divide": (IntervalSet.between(-1.0 / math.sqrt(_F16_MAX), 1.0 / math.sqrt(_F16_MAX)).complement(),
               f"divides by 0, and in float16 its gradient -x/y² overflows to inf for |y| below "
               f"{1.0 / math.sqrt(_F16_MAX):.2g}"),
    "reciprocal": (IntervalSet.between(-1.0 / math.sqrt(_F16_MAX), 1.0 / math.sqrt(_F16_MAX)).complement(),
                   f"has a pole at 0, and in float16 its gradient -1/x² overflows to inf for |x| below "
                   f"{1.0 / math.sqrt(_F16_MAX):.2g}"),
    "rsqrt": (IntervalSet.compare(">", _F16_MAX ** (-2.0 / 3.0)),
              f"has a pole at 0, and in float16 its gradient overflows to inf below {_F16_MAX ** (-2 / 3):.2g}"),
}
# The dtypes that mean float16 where a cast or a dtype argument names them, and the Keras policy that computes
# layers in it.
FLOAT16_NAMES = frozenset({"float16", "half", "tensorflow.float16", "tensorflow.half", "numpy.float16",
                           "tensorflow.dtypes.float16", "keras.float16"})
FLOAT16_POLICY = "mixed_float16"


def safe_domain(op: RiskyOp, dtype: str = DEFAULT_FLOAT) -> IntervalSet:
    """Where ``op``'s value and gradient are finite when it computes in ``dtype``."""
    if dtype == "float16" and op.key in FLOAT16_DOMAINS:
        return FLOAT16_DOMAINS[op.key][0]
    return op.safe_domain


def hazard(op: RiskyOp, dtype: str = DEFAULT_FLOAT) -> str:
    if dtype == "float16" and op.key in FLOAT16_DOMAINS:
        return FLOAT16_DOMAINS[op.key][1]
    return op.hazard


# The select rules (one code per family of risky op) and the rules of the other zero-gradient sinks below.
SELECT_RULE_CODES = ("TFN001", "TFN002", "TFN003", "TFN004", "TFN005")
CLAMP_CODE = "TFN006"
MASK_CODE = "TFN007"
SATURATION_CODE = "TFN008"
ROOT_AT_ZERO_CODE = "TFN009"
LOG_OF_PROBABILITY_CODE = "TFN010"
INDEX_CODE = "TFN011"
RULE_CODES = (*SELECT_RULE_CODES, CLAMP_CODE, MASK_CODE, SATURATION_CODE, ROOT_AT_ZERO_CODE, LOG_OF_PROBABILITY_CODE,
              INDEX_CODE)
PARSE_ERROR_CODE = "TFN999"


# -- zero-gradient sinks besides the select -------------------------------------------------------------------------
# A sink sends a zero gradient back to some elements of one of its inputs.  Where a risky op computed that input
# and its own derivative is infinite there, the chain rule computes 0 * inf = NaN, exactly as for a select's
# discarded branch.  Each table says which elements get the zero; ``tests/test_knowledge_tf.py`` proves every row
# against TensorFlow (eagerly, in a graph and under XLA).


@dataclass(frozen=True)
class ClampSink:
    """A function whose result is an argument limited to a range (``tf.minimum(v, M)``, ``tf.nn.relu(v)``).

    Where it limits the value, the gradient to that argument is exactly 0, so a pole of the op that computed it
    (exp's inf, log's -inf, sqrt's 0) is a NaN gradient whenever the clamp cuts the pole's value off.
    """

    names: frozenset[str]
    operands: tuple[Operand, ...]  # the arguments that may be the clamped value
    lower: Operand | float | None = None  # the lower bound: an argument, a constant, or none
    upper: Operand | float | None = None
    # minimum(a, b) / maximum(a, b): each argument is clamped by the other.
    symmetric: bool = False
    max_arguments: int = 99  # K.relu(x, alpha) with a slope is leaky: its gradient is not 0 below the threshold


_FIRST_TWO = (Operand(0, ("x", "x1")), Operand(1, ("y", "x2")))
CLAMP_SINKS: tuple[ClampSink, ...] = (
    ClampSink(qualified(tf="minimum", tf_math="minimum", K="minimum", ops="minimum", tnp="minimum"),
              _FIRST_TWO, upper=Operand(1, ("y", "x2")), symmetric=True),
    ClampSink(qualified(tf="maximum", tf_math="maximum", K="maximum", ops="maximum", tnp="maximum"),
              _FIRST_TWO, lower=Operand(1, ("y", "x2")), symmetric=True),
    ClampSink(qualified(tf="clip_by_value"), (Operand(0, ("t",)),),
              Operand(1, ("clip_value_min",)), Operand(2, ("clip_value_max",))),
    ClampSink(qualified(K="clip"), (Operand(0, ("x",)),), Operand(1, ("min_value",)), Operand(2, ("max_value",))),
    ClampSink(qualified(ops="clip"), (Operand(0, ("x",)),), Operand(1, ("x_min",)), Operand(2, ("x_max",))),
    ClampSink(qualified(tnp="clip"), (Operand(0, ("a",)),), Operand(1, ("a_min",)), Operand(2, ("a_max",))),
    ClampSink(qualified(nn="relu", ops="relu"), (Operand(0, ("features", "x")),), lower=0.0, max_arguments=1),
    ClampSink(qualified(K="relu"), (Operand(0, ("x",)),), lower=0.0, max_arguments=1),
    ClampSink(qualified(nn="relu6", ops="relu6"), (Operand(0, ("features", "x")),), lower=0.0, upper=6.0,
              max_arguments=1),
)
_CLAMP_BY_NAME = {name: sink for sink in CLAMP_SINKS for name in sink.names}


def clamp_sink(name: str) -> ClampSink | None:
    return _CLAMP_BY_NAME.get(name)


# ``tf.boolean_mask(values, mask)`` keeps the elements where the mask is true; the others get a zero gradient.
# (A multiplication by a condition cast to a number, ``tf.cast(x > 0, tf.float32) * v``, is the other mask: the
# analysis recognises it through ``CASTS`` and the comparison tables.)
BOOLEAN_MASKS: Mapping[str, tuple[Operand, Operand]] = {
    name: (Operand(0, ("tensor",)), Operand(1, ("mask",)))
    for name in qualified(tf="boolean_mask") | {"tensorflow.compat.v1.boolean_mask"}
}
MULTIPLY = qualified(tf="multiply", tf_math="multiply", ops="multiply", tnp="multiply")
# ``tf.math.multiply_no_nan(x, y)`` is 0 where its mask ``y`` is 0 even where ``x`` is inf or NaN, so the forward
# value is clean; its gradient to ``x`` there is 0 all the same, and where ``x`` is a risky op at its pole the chain
# rule makes 0 * inf = NaN, in every mode (proven in ``tests/test_sinks_tf.py``).  A mask, with the value first.
NO_NAN_PRODUCTS = qualified(tf_math="multiply_no_nan")
# ``tf.gather(values, indices)`` and its kin keep the elements the indices name: the others get a zero gradient, as
# do the elements a slice (``values[1:]``, ``values[:, 0]``) leaves out.  Which elements, the data decides.  (The
# operand is the indexed values; ``tests/test_sinks_tf.py`` proves the zero.)
INDEX_SELECTIONS: Mapping[str, Operand] = {
    **{name: Operand(0, ("params",)) for name in qualified(tf=("gather", "gather_nd"), nn="embedding_lookup")
       | {"tensorflow.compat.v1.batch_gather"}},
    **{name: Operand(0, ("reference",)) for name in qualified(K="gather")},
    **{name: Operand(0, ("x",)) for name in qualified(ops=("take", "take_along_axis"))},
    **{name: Operand(0, ("a",)) for name in qualified(tnp="take")},
    **{name: Operand(0, ("arr",)) for name in qualified(tnp="take_along_axis")},
}


@dataclass(frozen=True)
class SaturatingOp:
    """An op that turns an infinite input into a finite value with a zero derivative: ``1 / (1 + exp(-x))`` turns
    exp's inf into 0, and the exp's own gradient there is 0 * inf = NaN while the value looks fine.  (log is not
    one: its derivative is 0 at inf too, but ``log(1 + exp(x))`` is inf there, which the loss shows.)  ``builtin``
    names the library function that computes the usual composition without the overflow."""

    key: str
    names: frozenset[str]
    operand: Operand
    at: tuple[float, ...]  # the infinite inputs where the derivative is exactly 0
    builtin: str
    operators: tuple[str, ...] = ()


SATURATING_OPS: tuple[SaturatingOp, ...] = (
    SaturatingOp("divide", qualified(
        tf=("divide", "truediv", "realdiv"), tf_v1="div", tf_math=("divide", "truediv"), ops=("divide", "true_divide"),
        tnp=("divide", "true_divide")), DIVISOR, (math.inf, -math.inf),
        "tf.sigmoid / tf.nn.softmax (or subtract the maximum before exp)", operators=("/",)),
    SaturatingOp("reciprocal", qualified(tf_math="reciprocal", tf_v1="reciprocal", ops="reciprocal",
                                         tnp="reciprocal"), UNARY, (math.inf, -math.inf), "tf.sigmoid"),
    SaturatingOp("sigmoid", qualified(tf="sigmoid", tf_math="sigmoid", nn="sigmoid", K="sigmoid", ops="sigmoid"),
                 UNARY, (math.inf, -math.inf), "a clamp of the exp's input, or tf.math.log_sigmoid"),
    SaturatingOp("tanh", qualified(tf="tanh", tf_math="tanh", nn="tanh", K="tanh", ops="tanh", tnp="tanh"),
                 UNARY, (math.inf, -math.inf), "a clamp of the exp's input"),
    SaturatingOp("rsqrt", qualified(tf_math="rsqrt", tf_v1="rsqrt", ops="rsqrt"), UNARY, (math.inf,),
                 "a clamp of the exp's input"),
    SaturatingOp("exp", qualified(tf="exp", tf_math="exp", K="exp", ops="exp", tnp="exp"), UNARY, (-math.inf,),
                 "tf.pow, or a clamp of the log's input"),
)
_SATURATING_BY_NAME = {name: op for op in SATURATING_OPS for name in op.names}
SATURATING_DIVISION = SATURATING_OPS[0]


def saturating_op(name: str) -> SaturatingOp | None:
    return _SATURATING_BY_NAME.get(name)


# Reductions and casts an infinite element passes through unchanged in sign: the sum, mean or cumulative sum of
# values with an inf is inf (unless -inf is there too); the maximum keeps +inf, the minimum keeps -inf.
INFINITY_CARRIERS: Mapping[str, tuple[float, ...]] = {
    **{name: (math.inf, -math.inf) for name in qualified(
        tf=("reduce_sum", "reduce_mean", "cumsum", "identity", "cast"),
        tf_math=("reduce_sum", "reduce_mean", "cumsum"), K=("sum", "mean", "cumsum", "cast"),
        ops=("sum", "mean", "cumsum", "cast"), tnp=("sum", "mean", "cumsum"))},
    **{name: (math.inf,) for name in qualified(tf="reduce_max", tf_math="reduce_max", K="max",
                                              ops=("max", "amax"), tnp=("max", "amax"))},
    **{name: (-math.inf,) for name in qualified(tf="reduce_min", tf_math="reduce_min", K="min",
                                               ops=("min", "amin"), tnp=("min", "amin"))},
}
# -- roots of a value that reaches 0 where its own derivative is 0 ---------------------------------------------------
# sqrt(square(x) + square(y)) at x = y = 0: sqrt's derivative is inf at 0, the squares' derivative is 0 there, and
# the chain rule computes inf * 0 = NaN with an upstream gradient of 1, in every mode.  The same for a norm of the
# zero vector, sqrt(abs(x)) at 0 and sqrt(exp(x)) where the exp underflows to 0 (sqrt(softplus(x)) and
# sqrt(sigmoid(x)) too: they follow exp down) (tests/test_sinks_tf.py).
ZERO_FLAT_OPS: Mapping[str, str] = {
    **{name: "square" for name in qualified(tf="square", tf_math="square", K="square", ops="square", tnp="square")},
    # (a - b)², 0 where a == b: its first argument stands for the difference.
    **{name: "square" for name in qualified(tf_math="squared_difference", tf_v1="squared_difference")},
    **{name: "abs" for name in qualified(tf="abs", tf_math="abs", K="abs", ops=("abs", "absolute"),
                                         tnp=("abs", "absolute"))},
    **{name: "underflow" for name in qualified(tf="exp", tf_math="exp", K="exp", ops="exp", tnp="exp")},
    # softplus and sigmoid follow exp down: both are about exp(x) far below 0, and so is their derivative.
    **{name: "underflow" for name in qualified(tf_math="softplus", nn="softplus", K="softplus", ops="softplus")},
    **{name: "underflow" for name in qualified(tf="sigmoid", tf_math="sigmoid", nn="sigmoid", K="sigmoid",
                                               ops="sigmoid")},
}
# Sums keep an exact 0 exactly where every term is 0 (and each term's derivative is then 0).
ZERO_CARRIERS = qualified(tf=("reduce_sum", "reduce_mean", "add_n"), tf_math=("reduce_sum", "reduce_mean", "add_n"),
                          K=("sum", "mean"), ops=("sum", "mean"), tnp=("sum", "mean"))
# The roots: an infinite derivative at 0 where the value is a finite 0 (risky-op keys; a fractional power only for
# an exponent between 0 and 1).
ROOT_OPS = frozenset({"sqrt", "keras_backend_sqrt", "fractional_power"})
# Norms compute the root of a sum of squares themselves: their gradient at the zero vector is NaN.
NORMS = qualified(tf="norm", ops="norm") | frozenset({"tensorflow.linalg.norm", "tensorflow.compat.v1.linalg.norm"})
NORM_OP = RiskyOp("norm", ROOT_AT_ZERO_CODE, NORMS, UNARY, _nonzero(0.0),
                  "has an infinite derivative at the zero vector (it is the root of a sum of squares)", 1.0, (0.0,),
                  poles=(0.0,))


# -- the log of a probability computed by hand ----------------------------------------------------------------------
# softmax and sigmoid round to exactly 0 where the exp inside them underflows (float32: an entry more than 87.3 below
# its row's maximum, an input below -87.3), 1 - sigmoid(x) rounds to exactly 0 above 16.6 (where sigmoid(x) rounds to
# 1), and exp(x) underflows below -87.3: there their own derivative is 0 too.  The log of such a value is -inf, and
# its gradient is 1/0 * 0 = NaN in every mode (softmax's gradient spreads it over the whole row), even where what
# follows keeps only the finite entries (a gather of the label's entry).  XLA simplifies log(exp(x)) to x
# (tests/test_sinks_tf.py).
SIGMOID_ROUNDS_TO_ONE = math.log(2.0 ** 24)  # 16.6: float32 sigmoid(x) is 1 - 2**-24 or more above it, rounded to 1


@dataclass(frozen=True)
class ProbabilityOp:
    """A function whose value rounds to exactly 0 where its derivative is 0, and the built-in that computes its log
    without the rounding."""

    key: str
    names: frozenset[str]
    zero_where: str  # where the value is exactly 0, in words
    builtin: str
    # The input range beyond which the value is 0 (None: anywhere, a softmax entry far below its row's maximum).
    zero_below: float | None = None
    zero_above: float | None = None
    complement: bool = False  # the op is ``1 - f(x)``
    xla_simplifies: bool = False  # XLA rewrites log(f(x)) into the stable form itself


_SIGMOID_NAMES = qualified(tf="sigmoid", tf_math="sigmoid", nn="sigmoid", K="sigmoid", ops="sigmoid") | {
    "keras.activations.sigmoid", "tensorflow.keras.activations.sigmoid"}
_SOFTMAX_NAMES = qualified(nn="softmax", tf_math="softmax", K="softmax", ops="softmax") | {
    "keras.activations.softmax", "tensorflow.keras.activations.softmax"}
PROBABILITY_OPS: tuple[ProbabilityOp, ...] = (
    ProbabilityOp("softmax", _SOFTMAX_NAMES,
        f"on entries more than {-EXP_UNDERFLOW:.1f} below their row's maximum",
        "tf.nn.log_softmax (keras.ops.log_softmax)"),
    ProbabilityOp("sigmoid", _SIGMOID_NAMES, f"where its input is below {EXP_UNDERFLOW:.1f}",
                  "tf.math.log_sigmoid (keras.ops.log_sigmoid)", zero_below=EXP_UNDERFLOW),
    ProbabilityOp("one_minus_sigmoid", _SIGMOID_NAMES,
                  f"where the sigmoid's input is above {SIGMOID_ROUNDS_TO_ONE:.1f}",
                  "tf.math.log_sigmoid(-x) (keras.ops.log_sigmoid(-x))", zero_above=SIGMOID_ROUNDS_TO_ONE,
                  complement=True),
    ProbabilityOp("one_minus_softmax", _SOFTMAX_NAMES,
                  f"on entries more than {SIGMOID_ROUNDS_TO_ONE:.1f} above every other entry of their row",
                  "the log-sum-exp of the other logits minus that of all of them (tf.reduce_logsumexp)",
                  complement=True),
    ProbabilityOp("exp", qualified(tf="exp", tf_math="exp", K="exp", ops="exp", tnp="exp"),
                  f"where its input is below {EXP_UNDERFLOW:.1f}", "the exp's input itself",
                  zero_below=EXP_UNDERFLOW, xla_simplifies=True),
)
# The keyword through which a call takes logits and turns them into probabilities along a row: a categorical
# distribution (``tfp.distributions.Categorical(logits=z)``), a softmax cross-entropy, ``tf.nn.softmax(logits=z)``.
# A probe of such a function needs rows whose logits differ (``dynamic.inputs``): a row of equal logits never rounds a
# probability to 0 or 1.
LOGITS_KEYWORDS = frozenset({"logits"})
# The built-in that computes the log of a probability op without rounding it to 0: TFN010's fix, by the qualified
# name the probability op is written with (``tf.math.log(tf.nn.softmax(z, -1))`` is ``tf.nn.log_softmax(z, -1)``;
# ``log(1 - sigmoid(x))`` is ``log_sigmoid(-x)``).  An unsafe fix: the built-in agrees with the hand-written form
# only up to rounding (``tests/test_fix_tf.py`` proves the agreement and the finite gradient).  Keras 2's backend
# has no such functions.
STABLE_LOGS: Mapping[tuple[str, str], str] = {
    **{("softmax", name): name.rpartition(".")[0] + ".log_softmax"
       for name in qualified(nn="softmax", tf_math="softmax", ops="softmax")},
    **{(key, name): (module if module in KERAS_OPS else module.removesuffix(".nn").removesuffix(".math"))
       + (".log_sigmoid" if module in KERAS_OPS else ".math.log_sigmoid")
       for key in ("sigmoid", "one_minus_sigmoid")
       for name in qualified(tf="sigmoid", tf_math="sigmoid", nn="sigmoid", ops="sigmoid")
       for module in [name.rpartition(".")[0]]},
}


# Selections that pass entries through unchanged: the log of a gathered softmax entry is still the log of a softmax.
ENTRY_SELECTIONS = qualified(tf=("gather", "gather_nd", "squeeze", "reshape", "expand_dims", "identity"),
                             K=("gather", "squeeze", "reshape", "expand_dims"),
                             ops=("take", "take_along_axis", "squeeze", "reshape", "expand_dims"),
                             tnp=("take", "take_along_axis", "squeeze", "reshape")) | {
    "tensorflow.experimental.numpy.expand_dims"}


# -- labels as masks ------------------------------------------------------------------------------------------------
# A one-hot or binary label is 0 on most elements: ``y_true * tf.math.log(y_pred)`` sends the log a zero gradient
# there, and where the probability is exactly 0 the forward value is 0 * -inf = NaN and so is the gradient, in every
# mode (XLA does not rewrite a product with a label into a select).  Labels are the parameters that the conventions of
# the TensorFlow and Keras APIs name so, one-hot encodings, and casts and complements (``1. - y``) of them.
LABEL_PARAMETERS = frozenset({"y_true", "labels", "label", "targets", "target", "onehot_labels", "one_hot_labels"})
ONE_HOT = qualified(tf="one_hot", K="one_hot", ops="one_hot")
# Padding and attention masks are 0 on the elements they drop, by construction (``tf.sequence_mask``) or by the name
# the Keras API gives them (a layer's ``call(inputs, mask=None)``, ``padding_mask``): a product with one is a mask
# like a label's, but nothing drives the other factor to its pole where the mask is 0 (medium confidence).
SEQUENCE_MASKS = qualified(tf="sequence_mask")


def is_mask_name(name: str) -> bool:
    return name in ("mask", "masks") or name.endswith(("_mask", "_masks"))


# Sums over axes (not running sums, not segment sums).
SUM_REDUCTIONS = qualified(tf="reduce_sum", tf_math="reduce_sum", K="sum", ops="sum", tnp="sum")
# A sum over the class axis of a product with a one-hot encoding picks one entry per row: the other products are
# +0, so the sum is the label's entry itself, exactly, and rounds to 0 or 1 where that entry does
# (``reduce_sum(softmax(z) * one_hot(y), -1)``: tests/test_sinks_tf.py).  The log of the pick and a focal term
# of its complement inherit the softmax's NaN gradients.
ONE_HOT_PICKS = SUM_REDUCTIONS

# Methods that give a distribution's log-density at a point (TensorFlow Probability's ``log_prob``, OpenAI
# Baselines' ``logp``/``neglogp``): unbounded, as a density can be arbitrarily peaked, so a difference of two of
# them (a log importance ratio) is as unknown as an input.
LOG_DENSITY_METHODS = frozenset({"log_prob", "logp", "neglogp", "log_pdf", "log_likelihood"})
# TensorFlow 1's graph inputs: fed at run time, as unknown as a function's parameter.
PLACEHOLDERS = qualified(tf_v1="placeholder") | {"tensorflow.keras.Input", "keras.Input", "keras.layers.Input",
                                                 "tensorflow.keras.layers.Input"}
# Trained linear maps: ``tf.matmul(x, W) + b``, a convolution, a dense or convolution layer applied to an input.
# Their values are whatever training makes them (logits), as unknown as a function's own input: a softmax or a
# sigmoid of them rounds to 0 or 1 wherever training pushes them far enough (``analysis._is_trained_output``).
LINEAR_MAPS = qualified(tf=("matmul", "tensordot", "einsum"), K=("dot", "batch_dot", "bias_add"),
                        nn=("conv1d", "conv2d", "conv3d", "convolution", "bias_add", "atrous_conv2d",
                            "depthwise_conv2d"),
                        ops=("matmul", "dot", "tensordot", "einsum", "conv"),
                        tnp=("matmul", "dot", "tensordot", "einsum")) | {"tensorflow.linalg.matmul"}
LINEAR_LAYERS = frozenset(f"{module}.{name}"
                          for module in ("keras.layers", "tensorflow.keras.layers", "tf_keras.layers")
                          for name in ("Dense", "Conv1D", "Conv2D", "Conv3D", "EinsumDense"))

# Functions that only rearrange their inputs' elements: what they compute from an input is as unknown as the input.
REARRANGEMENTS = ENTRY_SELECTIONS | qualified(tf=("concat", "stack", "transpose"), K=("concatenate", "stack"),
                                              ops=("concatenate", "stack", "transpose"),
                                              tnp=("concatenate", "stack", "transpose"))


def probability_op(name: str, complement: bool) -> ProbabilityOp | None:
    return next((op for op in PROBABILITY_OPS if name in op.names and op.complement == complement), None)


# The producers whose infinite value a saturating op can meet: the overflowing exponentials and the logs at 0.
SATURATION_PRODUCERS = frozenset({"exp", "expm1", "cosh", "sinh", "power_exponent", "log", "log1p"})


def risky_op_by_name(name: str) -> RiskyOp | None:
    return _RISKY_BY_NAME.get(name)


def risky_op(key: str) -> RiskyOp:
    return _RISKY_BY_KEY[key]


_RISKY_BY_NAME = {name: op for op in RISKY_OPS for name in op.names}
_RISKY_BY_KEY = {op.key: op for op in RISKY_OPS}


# -- what values expressions can take (the range analysis) --------------------------------------------------------
@dataclass(frozen=True)
class ValueFunction:
    """How a call transforms the range of its argument(s).

    ``kind`` is one of:
      ``range``    the result lies in ``result`` whatever the input (sigmoid, tanh, relu, softplus...)
      ``identity`` the result has the range of argument 0 (cast, stop_gradient, identity)
      ``monotone`` the result is ``fn(argument 0)`` for an increasing ``fn`` (exp, log, sqrt)
      ``abs``/``square``  |x| and x²
      ``minimum``/``maximum``  element-wise min/max of argument 0 and 1
      ``clip``     argument 0 clipped to [argument 1, argument 2]
      ``constant`` ``result`` (ones_like, zeros_like, epsilon)
      ``literal``  the value of argument 0 (tf.constant)
    """

    names: frozenset[str]
    kind: str
    result: IntervalSet = EVERYTHING
    fn: object = None


VALUE_FUNCTIONS: tuple[ValueFunction, ...] = (
    ValueFunction(qualified(tf="sigmoid", tf_math="sigmoid", nn="sigmoid", K="sigmoid", ops="sigmoid"),
                  "range", IntervalSet.between(0.0, 1.0)),
    ValueFunction(qualified(tf="tanh", tf_math="tanh", nn="tanh", K="tanh", ops="tanh", tnp="tanh"),
                  "range", IntervalSet.between(-1.0, 1.0)),
    ValueFunction(qualified(tf_math=("sin", "cos"), tf=("sin", "cos"), ops=("sin", "cos"), tnp=("sin", "cos")),
                  "range", IntervalSet.between(-1.0, 1.0)),
    ValueFunction(qualified(tf_math="softplus", nn="softplus", K="softplus", ops="softplus"),
                  "range", IntervalSet.compare(">=", 0.0)),
    ValueFunction(qualified(nn="relu", K="relu", ops="relu"), "relu", IntervalSet.compare(">=", 0.0)),
    ValueFunction(qualified(nn="relu6", ops="relu6"), "relu", IntervalSet.between(0.0, 6.0)),
    ValueFunction(qualified(nn="softmax", tf_math="softmax", K="softmax", ops="softmax"),
                  "range", IntervalSet.between(0.0, 1.0)),
    ValueFunction(qualified(tf=("cast", "identity", "stop_gradient"), tf_v1=("to_float", "to_double"),
                            K=("cast", "stop_gradient"),
                            ops=("cast", "stop_gradient")), "identity"),
    ValueFunction(qualified(tf="exp", tf_math="exp", K="exp", ops="exp", tnp="exp"), "monotone", fn=math.exp),
    ValueFunction(qualified(tf_math="log", K="log", ops="log", tnp="log"), "monotone", fn=math.log),
    ValueFunction(qualified(tf="sqrt", tf_math="sqrt", K="sqrt", ops="sqrt", tnp="sqrt"), "monotone",
                  fn=math.sqrt),
    ValueFunction(qualified(tf="abs", tf_math="abs", K="abs", ops="abs", tnp="abs"), "abs"),
    ValueFunction(qualified(tf="square", tf_math="square", K="square", ops="square", tnp="square"), "square"),
    ValueFunction(qualified(tf="minimum", tf_math="minimum", K="minimum", ops="minimum", tnp="minimum"),
                  "minimum"),
    ValueFunction(qualified(tf="maximum", tf_math="maximum", K="maximum", ops="maximum", tnp="maximum"),
                  "maximum"),
    ValueFunction(qualified(tf="clip_by_value", K="clip", ops="clip", tnp="clip"), "clip"),
    ValueFunction(qualified(tf="ones_like", K="ones_like", ops="ones_like", tnp="ones_like"), "constant",
                  IntervalSet.point(1.0)),
    ValueFunction(qualified(tf="zeros_like", K="zeros_like", ops="zeros_like", tnp="zeros_like"), "constant",
                  IntervalSet.point(0.0)),
    ValueFunction(qualified(K="epsilon") | {"keras.config.epsilon"}, "constant", IntervalSet.point(1e-7)),
    ValueFunction(qualified(tf_math="erf", tf_v1="erf", ops="erf"), "range", IntervalSet.between(-1.0, 1.0)),
    ValueFunction(qualified(tf_math="erfc", tf_v1="erfc"), "range", IntervalSet.between(0.0, 2.0)),
    ValueFunction(qualified(tf_math="expm1", tf_v1="expm1", ops="expm1", tnp="expm1"), "range",
                  IntervalSet.compare(">=", -1.0)),
    ValueFunction(qualified(tf=("reduce_sum", "cumsum"), tf_math=("reduce_sum", "cumsum", "segment_sum",
                                                                 "unsorted_segment_sum"),
                            K=("sum", "cumsum"), ops=("sum", "cumsum"), tnp=("sum", "cumsum")), "sum"),
    ValueFunction(qualified(tf=("reduce_mean", "reduce_max", "reduce_min"),
                            tf_math=("reduce_mean", "reduce_max", "reduce_min", "segment_mean", "unsorted_segment_mean",
                                     "unsorted_segment_max", "unsorted_segment_min"),
                            K=("mean", "max", "min"), ops=("mean", "max", "min", "amax", "amin"),
                            tnp=("mean", "max", "min", "amax", "amin")), "hull"),
    ValueFunction(qualified(tf="constant", K="constant") | {"tensorflow.convert_to_tensor"}, "literal"),
)

_VALUE_BY_NAME = {name: fn for fn in VALUE_FUNCTIONS for name in fn.names}
# Tensors written out element by element (``tf.constant([0, -1])``), and fills of one value (``tf.fill(dims, -1)``,
# value second): where a segment id's negative value comes from.
LITERALS = frozenset(name for fn in VALUE_FUNCTIONS if fn.kind == "literal" for name in fn.names)
FILLS = qualified(tf="fill", ops="full", tnp="full")
# Reductions to the maximum and minimum: ``x - reduce_max(x, axis, keepdims=True)`` is at most 0 everywhere.
MAX_REDUCTIONS = qualified(tf="reduce_max", tf_math="reduce_max", K="max", ops=("max", "amax"), tnp=("max", "amax"))
MIN_REDUCTIONS = qualified(tf="reduce_min", tf_math="reduce_min", K="min", ops=("min", "amin"), tnp=("min", "amin"))
# -- sinks that leave elements out by value or by position (TFN011, with the indexes above) --------------------------
# A maximum or a minimum picks elements by value: ``tf.reduce_max(v)``, a segment maximum, max pooling and ``top_k``
# send the gradient to the elements they pick and exactly 0 to the others.  An op's pole value that is picked (exp's
# +inf under a maximum) is in the forward value, where the loss shows it; one that is left out (log's -inf under a
# maximum, sqrt's finite 0 under either) meets the zero: 0 * inf = NaN with a finite value (tests/test_sinks_tf.py).
# The value maps each name to its values operand and the pole value it picks (+inf: a maximum; -inf: a minimum).
_PICKED_VALUES = Operand(0, ("input_tensor", "x", "a", "input", "value"))
_SEGMENT_DATA, _SEGMENT_IDS = Operand(0, ("data",)), Operand(1, ("segment_ids",))
VALUE_PICKS: Mapping[str, tuple[Operand, float]] = {
    **{name: (_PICKED_VALUES, math.inf) for name in MAX_REDUCTIONS | qualified(
        tf_math="top_k", nn=("top_k", "max_pool", "max_pool1d", "max_pool2d", "max_pool3d"))},
    **{name: (_PICKED_VALUES, -math.inf) for name in MIN_REDUCTIONS},
    **{name: (_SEGMENT_DATA, math.inf) for name in qualified(tf_math=("segment_max", "unsorted_segment_max"),
                                                             tf_v1=("segment_max", "unsorted_segment_max"))},
    **{name: (_SEGMENT_DATA, -math.inf) for name in qualified(tf_math=("segment_min", "unsorted_segment_min"),
                                                              tf_v1=("segment_min", "unsorted_segment_min"))},
}
# A maximum or a minimum of an increasing op is the op of the input's maximum or minimum (``reduce_max(log(p)) ==
# log(reduce_max(p))``): what the index rule's fix writes for these picks (which give one value per group and fill
# no empty group), for these ops.  (Not max pooling: where the op is NaN, below log's domain, eager pooling and the
# reductions pick different elements, so the rewrite would move gradients: tests/test_fix_tf.py.)
ORDER_KEEPING_PICKS = MAX_REDUCTIONS | MIN_REDUCTIONS
INCREASING_OPS = frozenset({"log", "log1p", "sqrt", "keras_backend_sqrt", "exp", "expm1"})
# Ops whose value at their pole is their least value (a root's 0): a minimum picks it.
LEAST_AT_POLE = frozenset({"sqrt", "keras_backend_sqrt", "fractional_power", "acosh", "norm"})
# ``tf.math.unsorted_segment_sum(data, ids, n)`` drops the elements whose id is negative (``ids - 1`` for ids that
# count from 1, ``tf.where(valid, ids, -1)``): they get a zero gradient.  Only code that can make an id negative
# makes these sinks; the analysis looks for that evidence (``analysis.Linter._may_be_negative``).
DROPPING_SEGMENT_REDUCTIONS: Mapping[str, tuple[Operand, Operand]] = {
    name: (_SEGMENT_DATA, _SEGMENT_IDS) for name in qualified(
        tf_math=("unsorted_segment_sum", "unsorted_segment_mean", "unsorted_segment_prod", "unsorted_segment_sqrt_n"),
        tf_v1=("unsorted_segment_sum", "unsorted_segment_mean", "unsorted_segment_prod", "unsorted_segment_sqrt_n"))
}
# Overwrites by position: a band of a matrix (``tf.linalg.band_part``), a new diagonal (``tf.linalg.set_diag``) or
# scattered updates (``tf.tensor_scatter_nd_update``) replace elements of their first argument, which get a zero
# gradient there.
POSITION_OVERWRITES: Mapping[str, Operand] = {
    **{name: Operand(0, ("input",)) for name in frozenset({
        "tensorflow.linalg.band_part", "tensorflow.compat.v1.linalg.band_part", "tensorflow.compat.v2.linalg.band_part",
        "tensorflow.compat.v1.matrix_band_part", "tensorflow.matrix_band_part",
        "tensorflow.linalg.set_diag", "tensorflow.compat.v1.linalg.set_diag", "tensorflow.compat.v2.linalg.set_diag",
        "tensorflow.compat.v1.matrix_set_diag", "tensorflow.matrix_set_diag"})},
    **{name: Operand(0, ("tensor",)) for name in qualified(tf="tensor_scatter_nd_update")},
}

# ``reduce_sum(exp(z - reduce_max(z, a, keepdims=True)), a)`` adds, in every group it reduces, the element where
# ``z`` is the group's maximum, whose exp is exactly 1, and nothing negative: a max-subtracted softmax's denominator
# is at least 1 (``ranges.Analysis._sums_max_shifted_exp``; tests/test_knowledge_tf.py).
EXPS = risky_op("exp").names


def value_function(name: str) -> ValueFunction | None:
    return _VALUE_BY_NAME.get(name)


# -- conditions ---------------------------------------------------------------------------------------------------
COMPARISONS: Mapping[str, str] = {
    f"{module}.{name}": symbol
    for name, symbol in (("greater", ">"), ("greater_equal", ">="), ("less", "<"), ("less_equal", "<="),
                         ("equal", "=="), ("not_equal", "!="))
    for family in ("tf", "tf_math", "K", "ops", "tnp")
    for module in FAMILIES[family]
}
LOGICAL: Mapping[str, str] = {
    f"{module}.{name}": name.removeprefix("logical_")
    for name in ("logical_and", "logical_or", "logical_not")
    for family in ("tf", "tf_math", "ops", "tnp")
    for module in FAMILIES[family]
}

# The functions that write the clamp and the guard in the user's own module (K.minimum next to K.exp).
CLAMP_FUNCTION = "minimum"
CLAMP_MODULES = frozenset(module for family in ("tf", "tf_math", "K", "ops", "tnp") for module in FAMILIES[family])
# The selects a guard of a mask's condition is written with (``tf.compat.v1.where`` needs tensor branches).
WHERE_MODULES = frozenset(("tensorflow", "tensorflow.compat.v2", *KERAS_OPS, *TNP))
# logical_not negates a guard's condition, so that a float fill goes in the false branch (``true_literal_is_float32``).
LOGICAL_NOT_MODULES = frozenset(module for family in ("tf", "tf_math", "ops", "tnp") for module in FAMILIES[family])
# ones_like / zeros_like fill a branch that cannot be a Python float; tf.math has neither.
FILL_MODULES = frozenset(module for family in ("tf", "K", "ops", "tnp") for module in FAMILIES[family])
# The module a file that has no usable alias gets imported, per family of the op's own module: the import a reader
# expects (``import tensorflow as tf``; Keras 3 code stays backend-agnostic with ``from keras import ops``).
IMPORT_FOR_FAMILY: Mapping[str, tuple[str, str]] = {
    "tensorflow": ("tensorflow", "tf"),
    "keras.ops": ("keras.ops", "ops"),
}

# Element-wise functions: every output element depends only on the input elements at the same (broadcast) index.
# The clamp and the double where rewrite a risky op's input for the elements the select discards; that is exact
# only when the op's result reaches the select through element-wise steps.  A reduction, reshape, gather or
# softmax in between mixes discarded elements into kept ones, and the rewrite would change kept values.
_ELEMENTWISE_TF = (  # tf.X in TensorFlow 2 (and tf.compat.v1/v2.X)
    "abs", "acos", "acosh", "add", "add_n", "asin", "asinh", "atan", "atanh", "cast", "clip_by_value", "cos", "cosh",
    "divide", "exp", "floor", "identity", "maximum", "minimum", "multiply", "negative", "pow", "realdiv", "round",
    "scalar_mul", "sigmoid", "sign", "sin", "sinh", "sqrt", "square", "stop_gradient", "subtract", "tan", "tanh",
    "truediv",
)
_ELEMENTWISE_TF_V1 = ("ceil", "digamma", "erf", "erfc", "expm1", "lgamma", "log", "log1p", "reciprocal", "rsqrt",
                      "squared_difference")  # top-level only in TensorFlow 1 (tf.compat.v1.X)
_ELEMENTWISE_TF_MATH = (
    "abs", "acos", "acosh", "add", "add_n", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh", "digamma",
    "divide", "divide_no_nan", "erf", "erfc", "exp", "expm1", "floor", "lgamma", "log", "log1p", "log_sigmoid",
    "maximum", "minimum", "multiply", "multiply_no_nan", "negative", "pow", "reciprocal", "round", "rsqrt",
    "scalar_mul", "sigmoid", "sign", "sin", "sinh", "softplus", "sqrt", "square", "squared_difference", "subtract",
    "tan", "tanh", "truediv", "xdivy", "xlogy",
)
_ELEMENTWISE_NUMPY = (
    "abs", "absolute", "add", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "ceil", "clip", "cos",
    "cosh", "divide", "exp", "expm1", "floor", "log", "log10", "log1p", "log2", "maximum", "minimum", "multiply",
    "negative", "power", "reciprocal", "round", "sign", "sin", "sinh", "sqrt", "square", "subtract", "tan", "tanh",
    "true_divide",
)
ELEMENTWISE = (
    qualified(tf=_ELEMENTWISE_TF, tf_v1=_ELEMENTWISE_TF_V1, tf_math=_ELEMENTWISE_TF_MATH,
              tnp=_ELEMENTWISE_NUMPY + ("float_power",))
    | qualified(ops=_ELEMENTWISE_NUMPY + ("cast", "elu", "gelu", "leaky_relu", "log_sigmoid", "relu", "relu6",
                                           "rsqrt", "selu", "sigmoid", "silu", "softplus", "softsign",
                                           "stop_gradient"))
    | qualified(nn=("elu", "leaky_relu", "relu", "relu6", "selu", "sigmoid", "silu", "softplus", "softsign",
                    "swish", "tanh"))
    | qualified(K=("abs", "cast", "clip", "cos", "elu", "exp", "hard_sigmoid", "log", "maximum", "minimum", "pow",
                   "relu", "round", "sigmoid", "sign", "sin", "softplus", "softsign", "sqrt", "square",
                   "stop_gradient", "tanh"))
    | frozenset(name for op in RISKY_OPS for name in op.names)
)
# Conditions built only from these (plus operators, names and literals) are cheap and free of side effects, so a
# double where may repeat them; any other call (tf.random.uniform, a model) is evaluated once, in a variable.
PURE_CONDITION_CALLS = (
    ELEMENTWISE | frozenset(COMPARISONS) | frozenset(LOGICAL)
    | qualified(tf=("constant", "ones_like", "zeros_like", "convert_to_tensor"), tf_v1=("is_finite", "is_nan", "is_inf"),
                tf_math=("is_finite", "is_nan", "is_inf"), K=("constant", "epsilon"))
    | {"keras.config.epsilon", "builtins.abs"}
)

# -- places without a gradient path -------------------------------------------------------------------------------
STOP_GRADIENT = qualified(tf="stop_gradient", K="stop_gradient", ops="stop_gradient")
CUSTOM_GRADIENT = frozenset({"tensorflow.custom_gradient", "tensorflow.compat.v1.custom_gradient",
                             "tensorflow.compat.v2.custom_gradient"})
# Safe built-ins (tf.nn.elu, softplus, log_sigmoid, xlogy, xdivy, multiply_no_nan, reduce_logsumexp...) need no
# entry: they are not risky ops, so nothing is reported for them.  The test suite checks their gradients against real
# TensorFlow.  (multiply_no_nan's own gradient is finite; as a mask of a risky op's value it is a sink:
# ``NO_NAN_PRODUCTS``.  divide_no_nan is not safe for a divisor near 0 but not 0: a risky op above.)
SAFE_BUILTINS = frozenset(
    qualified(nn=("elu", "selu", "softplus"), tf_math=("log_sigmoid", "xlogy", "xdivy",
                                                       "multiply_no_nan", "reduce_logsumexp", "softplus"))
    | qualified(tf="reduce_logsumexp")
)


# -- gradient flow: what is never differentiated ----------------------------------------------------------------
# The gradient-flow model (``gradients.py``) treats every value as able to carry a gradient back to something
# trainable unless one of these tables gives positive evidence that it cannot.  Tests check the TensorFlow rows
# against the installed TensorFlow (``tests/test_gradients_tf.py``).

# Calls whose result carries no gradient whatever their arguments: integer or boolean results, shapes, random
# samples, constants and fills (a fill carries a shape, never a value's gradient).
NO_GRADIENT_RESULTS = (
    STOP_GRADIENT | frozenset(COMPARISONS) | frozenset(LOGICAL)
    | qualified(tf=("shape", "size", "rank", "range", "argmax", "argmin", "one_hot", "zeros", "ones", "zeros_like",
                    "ones_like", "floor", "round", "sign", "is_nan", "is_finite", "is_inf",
                    "equal", "not_equal", "histogram_fixed_width", "searchsorted", "timestamp", "eye",
                    "sequence_mask"),
                tf_v1=("ceil", "to_int32", "to_int64", "floordiv", "is_nan", "is_finite", "is_inf",
                       "count_nonzero", "shape_n"),
                tf_math=("floor", "ceil", "round", "sign", "argmax", "argmin", "is_nan", "is_finite", "is_inf",
                         "floordiv", "count_nonzero", "bincount", "in_top_k"),
                K=("shape", "int_shape", "ndim", "argmax", "argmin", "round", "sign", "zeros", "ones", "zeros_like",
                   "ones_like", "arange", "one_hot", "eye", "epsilon"),
                ops=("shape", "size", "argmax", "argmin", "floor", "ceil", "round", "sign", "zeros", "ones",
                     "zeros_like", "ones_like", "arange", "one_hot", "eye", "isnan", "isfinite", "isinf",
                     "convert_to_numpy"),
                tnp=("floor", "ceil", "sign", "argmax", "argmin", "zeros", "ones", "zeros_like", "ones_like",
                     "arange", "isnan", "isfinite", "isinf", "eye"))
    # TF1's global step: an int64 variable that the optimizer increments
    | {f"{module}.train.{name}" for module in ("tensorflow", "tensorflow.compat.v1")
       for name in ("get_or_create_global_step", "get_global_step", "create_global_step")}
    | {       "keras.config.epsilon", "keras.backend.epsilon",
       "builtins.int", "builtins.len", "builtins.float", "builtins.bool", "builtins.round", "builtins.range",
       "builtins.isinstance", "builtins.str"}
)
# TensorFlow 1's streaming metrics: ``value, update_op = tf.compat.v1.metrics.precision(labels, predictions)``.
# Both read local (non-trainable) variables that ``update_op`` accumulates, so neither carries a gradient back to
# the predictions (``tests/test_gradients_tf.py`` checks every name, in a graph).  Under the TF1 spelling
# ``tf.metrics``, which TensorFlow 2 gives to Keras's metrics, the names that were also Keras 2 losses with a
# gradient (``tf.metrics.mean_squared_error``) are left out.
TF1_STREAMING_METRICS = (
    "accuracy", "auc", "average_precision_at_k", "false_negatives", "false_negatives_at_thresholds",
    "false_positives", "false_positives_at_thresholds", "mean", "mean_absolute_error", "mean_cosine_distance",
    "mean_iou", "mean_per_class_accuracy", "mean_relative_error", "mean_squared_error", "mean_tensor",
    "percentage_below", "precision", "precision_at_k", "precision_at_thresholds", "precision_at_top_k", "recall",
    "recall_at_k", "recall_at_thresholds", "recall_at_top_k", "root_mean_squared_error",
    "sensitivity_at_specificity", "sparse_average_precision_at_k", "sparse_precision_at_k",
    "specificity_at_sensitivity", "true_negatives", "true_negatives_at_thresholds", "true_positives",
    "true_positives_at_thresholds",
)
KERAS2_METRIC_LOSSES = frozenset({"mean_absolute_error", "mean_squared_error"})
NO_GRADIENT_RESULTS = NO_GRADIENT_RESULTS | frozenset(
    [f"tensorflow.compat.v1.metrics.{name}" for name in TF1_STREAMING_METRICS]
    + [f"tensorflow.metrics.{name}" for name in TF1_STREAMING_METRICS if name not in KERAS2_METRIC_LOSSES])

# Functions outside TensorFlow whose results carry a gradient only from their arguments (they regroup tensors):
# TF-Slim's ``aggregate_metric_map({name: (value, update_op)})`` -> ``({name: value}, {name: update_op})``.
GRADIENT_FROM_ARGUMENTS = frozenset({"tf_slim.metrics.aggregate_metric_map", "tf_slim.metrics.aggregate_metrics"})

# Random samples drawn for a shape (their first parameter): the sample carries no gradient, but the parameters
# after the shape (minval/maxval, mean/stddev, alpha/beta) do, through the reparameterisation TensorFlow writes in
# Python (``rnd * (maxval - minval) + minval``).  Not here: ``keras.random.dropout`` and ``keras.random.shuffle``,
# which take the values first and pass their gradient (tested).
RANDOM_SAMPLES = (
    frozenset(f"tensorflow.random.{name}" for name in ("uniform", "normal", "truncated_normal", "stateless_uniform",
                                                          "stateless_normal", "poisson", "gamma"))
    | qualified(tf_v1=("random_uniform", "random_normal", "truncated_normal", "random_gamma"),
                K=("random_uniform", "random_normal", "random_bernoulli"))
    | frozenset(f"keras.random.{name}" for name in ("uniform", "normal", "truncated_normal", "gamma"))
    | {"tensorflow.compat.v1.random.uniform", "tensorflow.compat.v1.random.normal"}
)
# Random draws whose result carries no gradient at all: class indices, and a shuffle (TensorFlow registers no
# gradient for it).
NO_GRADIENT_RESULTS = NO_GRADIENT_RESULTS | {
    "tensorflow.random.categorical", "tensorflow.compat.v1.random.categorical", "tensorflow.compat.v1.multinomial",
    "tensorflow.random.stateless_categorical", "keras.random.categorical", "tensorflow.random.shuffle",
    "tensorflow.compat.v1.random.shuffle", "tensorflow.compat.v1.random_shuffle",
}
RANDOM_NON_PARAMETERS = frozenset({"shape", "seed", "dtype", "name", "size", "num_samples", "axis", "rate"})
# Roots of qualified names that are never TensorFlow values with a gradient: NumPy arrays and Python's math are
# constants to TensorFlow.
NO_GRADIENT_MODULES = ("numpy", "math", "scipy", "builtins.float", "builtins.int", "builtins.len")
# Casts: the result carries a gradient only when the target dtype is floating (or complex).
CASTS = qualified(tf="cast", K="cast", ops="cast", tnp="asarray", tf_v1=("to_float", "to_double", "to_bfloat16")) | {
    "tensorflow.dtypes.cast"}
INTEGER_DTYPE_WORDS = ("int", "bool", "uint", "string")
# Keywords that set a call's result dtype: an integer dtype there means an integer result, without a gradient.
DTYPE_KEYWORDS = frozenset({"dtype", "out_type", "output_type"})
# Calls that make a value trainable (or read one that is): never assumed constant.
TRAINABLE_SOURCES = qualified(tf=("Variable",), tf_v1=("get_variable",), K=("variable",)) | {
    "keras.Variable", "tensorflow.keras.Variable", "keras.layers", "tensorflow.keras.layers",
}
# Variables created with ``trainable=False`` (a layer's moving statistics, an EMA codebook): a GradientTape watches
# trainable variables only, and optimizers update trainable weights only, so reading one carries no gradient
# (tests/test_gradients_tf.py).  These are the calls that create them, besides ``TRAINABLE_SOURCES``.
WEIGHT_METHODS = frozenset({"add_weight", "add_variable"})
# The last names of every call that creates a variable (what a class attribute's assignment is read by, without
# resolving imports): ``tf.Variable``, ``tf.compat.v1.get_variable``, ``K.variable``, ``self.add_weight``.
VARIABLE_CREATORS = frozenset({"Variable", "get_variable", "variable"}) | WEIGHT_METHODS
# Attribute names that hold Python values or integers, never a gradient: ``x.shape[0]``, ``x.dtype``.
NO_GRADIENT_ATTRIBUTES = frozenset({"shape", "dtype", "ndim", "rank", "name", "size", "device", "base_dtype",
                                    "is_floating", "is_integer", "max", "min", "eps", "tiny", "resolution",
                                    "__name__", "trainable", "built", "iterations"})
# Parameters that by the conventions of the TensorFlow and Keras APIs hold no gradient: labels and sample weights
# of losses and metrics, and the integer step counters of schedules.  (A parameter with a number as its default is a
# hyperparameter, too: ``gradients.py`` treats it as such.)
NO_GRADIENT_PARAMETERS = frozenset({
    "y_true", "labels", "label", "sample_weight", "sample_weights", "targets_mask",
    "step", "global_step", "steps", "iteration", "iterations", "epoch", "current_step", "step_num", "num_updates",
})

# Classes whose methods (the ones listed) run outside the backward pass: metrics, optimizer updates, schedules,
# constraints (applied after the update), initializers and callbacks.  A class counts when a base's last name
# component is one of these names, or ends with the kind's name (``MyOptimizer``), or is a class of the same
# module that counts.  ``"*"``: every method.
NO_GRADIENT_CLASSES: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    # kind: (base class names, methods)
    "Metric": (frozenset({"Metric", "Mean", "Sum", "MeanMetricWrapper", "Reduce", "MeanTensor", "AUC"}),
               frozenset({"update_state", "result", "reset_state", "reset_states", "merge_state"})),
    "Optimizer": (frozenset({"Optimizer", "OptimizerV2", "Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta",
                             "Adamax", "Nadam", "Ftrl", "Lion", "Adafactor", "LossScaleOptimizer",
                             "GradientDescentOptimizer", "AdamOptimizer", "MomentumOptimizer",
                             "DecoupledWeightDecayExtension"}),
                  frozenset({"update_step", "apply_gradients", "apply", "_resource_apply_dense",
                             "_resource_apply_sparse", "_apply_dense", "_apply_sparse", "build", "get_updates",
                             "_update_step", "_update_step_xla", "_distributed_apply", "_prepare_local",
                             "_create_slots", "minimize", "_resource_apply_sparse_duplicate_indices"})),
    "LearningRateSchedule": (frozenset({"LearningRateSchedule"}), frozenset({"__call__"})),
    "Constraint": (frozenset({"Constraint"}), frozenset({"__call__"})),
    "Initializer": (frozenset({"Initializer"}), frozenset({"__call__"})),
    "Callback": (frozenset({"Callback"}), frozenset({"*"})),
}
# Method names that only optimizer (and schedule) APIs use: a method with one of these names is an update step
# whatever its class derives from (third-party optimizer bases, legacy aliases).
OPTIMIZER_METHODS = frozenset({"_resource_apply_dense", "_resource_apply_sparse", "_apply_dense", "_apply_sparse",
                               "get_updates", "update_step", "_update_step", "_update_step_xla",
                               "_resource_apply_sparse_duplicate_indices"})
# Methods that Keras and TensorFlow call themselves (a layer's ``call`` through ``__call__``, a model's steps): the
# calls a project writes of them are not all their calls.
FRAMEWORK_METHODS = frozenset({"call", "build", "get_config", "from_config", "compute_output_shape", "train_step",
                               "test_step", "predict_step", "compute_loss", "compute_metrics", "update_state",
                               "result", "reset_state", "reset_states", "get_updates", "apply_gradients",
                               "minimize", "get_gradients", "compute_gradients", "on_epoch_end", "on_batch_end",
                               "on_train_batch_end", "step", "fit", "predict", "evaluate"})
# Decorators and wrappers that replace a function's gradient: its body is never differentiated (the last name
# component is matched, so TensorFlow Probability's and other libraries' custom_gradient wrappers count too).
CUSTOM_GRADIENT_WORDS = frozenset({"custom_gradient", "custom_vjp", "custom_jvp", "RegisterGradient"})
# Keyword arguments that hand a function to such a wrapper as the forward or backward pass.
CUSTOM_GRADIENT_KEYWORDS = frozenset({"vjp_fwd", "vjp_bwd", "fwd", "bwd", "grad_fn", "jvp_fn"})
# Calls that run a Python function outside the differentiated graph: data pipelines and NumPy callbacks.
NO_GRADIENT_RUNNERS = frozenset({"map", "filter", "flat_map", "interleave", "py_function", "numpy_function",
                                 "py_func", "from_generator"})
# TensorFlow Transform's analyzers, and its mappers built on them: they run only in tf.Transform's analysis phase
# (Apache Beam computes them over the whole dataset, before any model exists), so a function that calls one is a
# ``preprocessing_fn`` or part of one: traced into a graph of raw features and constants, never differentiated.
TRANSFORM_ANALYZERS_MODULE = "tensorflow_transform.analyzers"
TRANSFORM_ANALYSIS_CALLS = frozenset(f"tensorflow_transform.{name}" for name in (
    # analyzers (``tft.analyzers.__all__``)
    "count_per_key", "covariance", "histogram", "max", "mean", "min", "pca", "quantiles", "size", "sum",
    "tukey_location", "tukey_scale", "tukey_h_params", "var", "vocabulary",
    # mappers that call an analyzer
    "scale_to_z_score", "scale_to_z_score_per_key", "scale_by_min_max", "scale_by_min_max_per_key", "scale_to_0_1",
    "scale_to_0_1_per_key", "scale_to_gaussian", "compute_and_apply_vocabulary", "bucketize", "bucketize_per_key",
    "tfidf", "estimated_probability_density", "get_num_buckets_for_transformed_feature"))
# Calls that run a function they are handed and return what it returns (a loop's body, a branch, a mapped
# function): that function's return value goes wherever the call's value goes.  Each entry: the function's
# argument positions and keywords whose return becomes the call's value, and those whose return only steers the
# call (a loop's condition).
@dataclass(frozen=True)
class CallbackRunner:
    result: tuple[tuple[int, str], ...]  # (position, keyword) of the callables whose return is the call's value
    steering: tuple[tuple[int, str], ...] = ()  # (position, keyword) of callables whose return is only tested


CALLBACK_RUNNERS: Mapping[str, CallbackRunner] = {
    **{name: CallbackRunner(((1, "body"),), ((0, "cond"),)) for name in qualified(tf="while_loop")},
    **{name: CallbackRunner(((1, "true_fn"), (2, "false_fn"))) for name in qualified(tf="cond")},
    **{name: CallbackRunner(((0, "fn"),)) for name in qualified(tf=("map_fn", "scan", "foldl", "foldr",
                                                                     "vectorized_map"))},
    **{name: CallbackRunner(((1, "true_fn"), (2, "false_fn"))) for name in qualified(ops="cond")},
    **{name: CallbackRunner(((0, "f"),)) for name in qualified(ops="scan")},
}

# Named constants: numbers that modules spell as names.
NAMED_CONSTANTS: Mapping[str, float] = {
    **{f"{module}.{name}": value for module in ("math", "numpy")
       for name, value in (("pi", math.pi), ("e", math.e))},
    "math.tau": math.tau, "numpy.euler_gamma": 0.5772156649015329, "numpy.inf": math.inf, "math.inf": math.inf,
}
# NumPy and math functions of constants: monotone, computed from their argument's range.
NUMPY_MONOTONE = {
    **{f"{module}.{name}": fn for module in ("numpy", "math")
       for name, fn in (("sqrt", math.sqrt), ("exp", math.exp), ("log", math.log), ("log1p", math.log1p),
                        ("log10", math.log10), ("log2", math.log2))},
}
# ``np.finfo(dtype).eps`` and the like: tiny positive numbers.
FINFO = frozenset({"numpy.finfo", "numpy.core.getlimits.finfo", "tensorflow.experimental.numpy.finfo",
                   "jax.numpy.finfo"})
FINFO_POSITIVE_ATTRIBUTES = frozenset({"eps", "tiny", "smallest_normal", "resolution", "max", "epsneg"})
# Uniform samples: within [minval, maxval] (default [0, 1)).
UNIFORM_SAMPLES = frozenset({"tensorflow.random.uniform", "tensorflow.compat.v1.random.uniform",
                             "tensorflow.compat.v1.random_uniform", "keras.random.uniform",
                             "tensorflow.random.stateless_uniform", "tensorflow.keras.backend.random_uniform"})
# ``is_nan``: true only where its argument is NaN.
IS_NAN = qualified(tf_math="is_nan", tf_v1="is_nan", ops="isnan", tnp="isnan")

# -- demand: where a value ends without being differentiated ------------------------------------------------------
# Methods that take a value out of the differentiated graph: NumPy conversion, variable and metric state updates.
NO_DEMAND_METHODS = frozenset({"numpy", "item", "tolist", "assign", "assign_add", "assign_sub", "update_state",
                               "scatter_update", "scatter_nd_update", "print", "Print", "Assert",
                               # TensorFlow Probability's hidden Markov model: the most likely states, integers
                               "posterior_mode"})
# TensorFlow 1's ``Session.run(fetches, feed_dict)``: what it fetches comes back as NumPy values, which carry no
# gradient.  A session is known by what ``.run`` is called on: an object of one of these names (``self.sess``), or
# one of these calls (``tf.compat.v1.get_default_session()``).
SESSION_NAMES = frozenset({"sess", "session", "_sess", "_session", "tf_session", "default_session"})
SESSION_FACTORIES = qualified(tf_v1=("Session", "InteractiveSession", "get_default_session")) | {
    f"{top}.train.{name}" for top in TF_V1_TOP
    for name in ("MonitoredSession", "MonitoredTrainingSession", "SingularMonitoredSession")}
# The parameter of ``Session.run`` that names what it fetches.
SESSION_FETCHES = "fetches"
# Annotations that declare a NumPy array: a parameter annotated so takes NumPy values, which carry no gradient.
NUMPY_ARRAY_TYPES = frozenset({"numpy.ndarray", "numpy.typing.NDArray"})
# Methods of a NumPy array that return a NumPy array.
NUMPY_ARRAY_METHODS = frozenset({"astype", "copy", "reshape", "view", "ravel", "flatten", "squeeze", "transpose"})
# Methods that add elements to a Python list or set: they neither read nor hand on the elements already in it.
CONTAINER_GROWTH = frozenset({"append", "extend", "insert", "add"})
# Words in a callee's last name that mark logging: ``tf.summary.scalar``, ``add_moving_summary``, ``log_scalar``.
NO_DEMAND_WORDS = ("summary", "summaries", "histogram", "log_scalar", "print")
# Modules whose functions only log or check their arguments.
NO_DEMAND_PREFIXES = ("tensorflow.summary.", "tensorflow.compat.v1.summary.", "tensorflow.compat.v2.summary.",
                      "tensorflow.debugging.", "tensorflow.print", "logging.", "absl.logging.", "builtins.print",
                      "tensorflow.compat.v1.metrics.", "tensorflow.metrics.", "tensorflow.compat.v1.Print")
# Powers with a tensor exponent: their range is computed from both arguments' (ranges.py).
POWERS = qualified(tf="pow", tf_math="pow", K="pow", ops="power", tnp=("power", "float_power"))
# -- TensorFlow's internal modules --------------------------------------------------------------------------------
# Libraries and Keras 2 call ``math_ops.log`` and ``array_ops.where`` from ``tensorflow.python.ops``: the same
# functions as the public names (``array_ops.where`` is TensorFlow 1's where, ``array_ops.where_v2`` TensorFlow 2's).
# Followed only with the ``internal-modules`` setting (``project.ProjectModules``): on real code the users of these
# modules are mostly copies of TensorFlow's own implementations, and TensorFlow's sources use them everywhere.
INTERNAL_MODULES = tuple(f"tensorflow.python.ops.{name}" for name in (
    "math_ops", "gen_math_ops", "array_ops", "gen_array_ops", "nn_ops", "nn_impl", "clip_ops", "special_math_ops",
    "random_ops"))
# Each internal spelling of a name the tables use -> the public name it is (the same function once unwrapped).
# Generated from the installed TensorFlow; ``tests/test_knowledge_tf.py`` regenerates it and requires equality.
INTERNAL_SPELLINGS: Mapping[str, str] = {
    "tensorflow.python.ops.array_ops.batch_gather": "tensorflow.compat.v1.batch_gather",
    "tensorflow.python.ops.array_ops.boolean_mask": "tensorflow.compat.v1.boolean_mask",
    "tensorflow.python.ops.array_ops.boolean_mask_v2": "tensorflow.boolean_mask",
    "tensorflow.python.ops.array_ops.constant": "tensorflow.constant",
    "tensorflow.python.ops.array_ops.fill": "tensorflow.fill",
    "tensorflow.python.ops.array_ops.gather": "tensorflow.compat.v1.gather",
    "tensorflow.python.ops.array_ops.gather_nd": "tensorflow.compat.v1.gather_nd",
    "tensorflow.python.ops.array_ops.gather_nd_v2": "tensorflow.gather_nd",
    "tensorflow.python.ops.array_ops.gather_v2": "tensorflow.gather",
    "tensorflow.python.ops.array_ops.identity": "tensorflow.identity",
    "tensorflow.python.ops.array_ops.matrix_band_part": "tensorflow.linalg.band_part",
    "tensorflow.python.ops.array_ops.matrix_set_diag": "tensorflow.linalg.set_diag",
    "tensorflow.python.ops.array_ops.one_hot": "tensorflow.one_hot",
    "tensorflow.python.ops.array_ops.ones": "tensorflow.ones",
    "tensorflow.python.ops.array_ops.ones_like": "tensorflow.compat.v1.ones_like",
    "tensorflow.python.ops.array_ops.ones_like_v2": "tensorflow.ones_like",
    "tensorflow.python.ops.array_ops.rank": "tensorflow.rank",
    "tensorflow.python.ops.array_ops.searchsorted": "tensorflow.searchsorted",
    "tensorflow.python.ops.array_ops.sequence_mask": "tensorflow.sequence_mask",
    "tensorflow.python.ops.array_ops.shape": "tensorflow.compat.v1.shape",
    "tensorflow.python.ops.array_ops.shape_n": "tensorflow.shape_n",
    "tensorflow.python.ops.array_ops.shape_v2": "tensorflow.shape",
    "tensorflow.python.ops.array_ops.size": "tensorflow.compat.v1.size",
    "tensorflow.python.ops.array_ops.size_v2": "tensorflow.size",
    "tensorflow.python.ops.array_ops.stop_gradient": "tensorflow.stop_gradient",
    "tensorflow.python.ops.array_ops.tensor_scatter_nd_update": "tensorflow.tensor_scatter_nd_update",
    "tensorflow.python.ops.array_ops.where": "tensorflow.compat.v1.where",
    "tensorflow.python.ops.array_ops.where_v2": "tensorflow.where",
    "tensorflow.python.ops.array_ops.zeros": "tensorflow.zeros",
    "tensorflow.python.ops.array_ops.zeros_like": "tensorflow.compat.v1.zeros_like",
    "tensorflow.python.ops.array_ops.zeros_like_v2": "tensorflow.zeros_like",
    "tensorflow.python.ops.clip_ops.clip_by_value": "tensorflow.clip_by_value",
    "tensorflow.python.ops.gen_array_ops.matrix_band_part": "tensorflow.linalg.band_part",
    "tensorflow.python.ops.gen_math_ops.acosh": "tensorflow.acosh",
    "tensorflow.python.ops.gen_math_ops.asin": "tensorflow.asin",
    "tensorflow.python.ops.gen_math_ops.atanh": "tensorflow.atanh",
    "tensorflow.python.ops.gen_math_ops.cos": "tensorflow.cos",
    "tensorflow.python.ops.gen_math_ops.cosh": "tensorflow.cosh",
    "tensorflow.python.ops.gen_math_ops.digamma": "tensorflow.math.digamma",
    "tensorflow.python.ops.gen_math_ops.erf": "tensorflow.math.erf",
    "tensorflow.python.ops.gen_math_ops.erfc": "tensorflow.math.erfc",
    "tensorflow.python.ops.gen_math_ops.expm1": "tensorflow.math.expm1",
    "tensorflow.python.ops.gen_math_ops.greater": "tensorflow.greater",
    "tensorflow.python.ops.gen_math_ops.greater_equal": "tensorflow.greater_equal",
    "tensorflow.python.ops.gen_math_ops.is_finite": "tensorflow.math.is_finite",
    "tensorflow.python.ops.gen_math_ops.is_inf": "tensorflow.math.is_inf",
    "tensorflow.python.ops.gen_math_ops.is_nan": "tensorflow.math.is_nan",
    "tensorflow.python.ops.gen_math_ops.less": "tensorflow.less",
    "tensorflow.python.ops.gen_math_ops.less_equal": "tensorflow.less_equal",
    "tensorflow.python.ops.gen_math_ops.lgamma": "tensorflow.math.lgamma",
    "tensorflow.python.ops.gen_math_ops.log": "tensorflow.math.log",
    "tensorflow.python.ops.gen_math_ops.log1p": "tensorflow.math.log1p",
    "tensorflow.python.ops.gen_math_ops.logical_and": "tensorflow.logical_and",
    "tensorflow.python.ops.gen_math_ops.logical_not": "tensorflow.logical_not",
    "tensorflow.python.ops.gen_math_ops.logical_or": "tensorflow.logical_or",
    "tensorflow.python.ops.gen_math_ops.maximum": "tensorflow.maximum",
    "tensorflow.python.ops.gen_math_ops.minimum": "tensorflow.minimum",
    "tensorflow.python.ops.gen_math_ops.real_div": "tensorflow.realdiv",
    "tensorflow.python.ops.gen_math_ops.reciprocal": "tensorflow.math.reciprocal",
    "tensorflow.python.ops.gen_math_ops.segment_max": "tensorflow.math.segment_max",
    "tensorflow.python.ops.gen_math_ops.segment_mean": "tensorflow.math.segment_mean",
    "tensorflow.python.ops.gen_math_ops.segment_min": "tensorflow.math.segment_min",
    "tensorflow.python.ops.gen_math_ops.segment_sum": "tensorflow.math.segment_sum",
    "tensorflow.python.ops.gen_math_ops.sin": "tensorflow.sin",
    "tensorflow.python.ops.gen_math_ops.sinh": "tensorflow.sinh",
    "tensorflow.python.ops.gen_math_ops.square": "tensorflow.square",
    "tensorflow.python.ops.gen_math_ops.squared_difference": "tensorflow.math.squared_difference",
    "tensorflow.python.ops.gen_math_ops.tanh": "tensorflow.tanh",
    "tensorflow.python.ops.gen_math_ops.unsorted_segment_max": "tensorflow.math.unsorted_segment_max",
    "tensorflow.python.ops.gen_math_ops.unsorted_segment_min": "tensorflow.math.unsorted_segment_min",
    "tensorflow.python.ops.gen_math_ops.unsorted_segment_prod": "tensorflow.math.unsorted_segment_prod",
    "tensorflow.python.ops.gen_math_ops.unsorted_segment_sum": "tensorflow.math.unsorted_segment_sum",
    "tensorflow.python.ops.gen_math_ops.xlogy": "tensorflow.math.xlogy",
    "tensorflow.python.ops.math_ops.abs": "tensorflow.abs",
    "tensorflow.python.ops.math_ops.acos": "tensorflow.acos",
    "tensorflow.python.ops.math_ops.acosh": "tensorflow.acosh",
    "tensorflow.python.ops.math_ops.add_n": "tensorflow.add_n",
    "tensorflow.python.ops.math_ops.argmax": "tensorflow.compat.v1.argmax",
    "tensorflow.python.ops.math_ops.argmax_v2": "tensorflow.argmax",
    "tensorflow.python.ops.math_ops.argmin": "tensorflow.compat.v1.argmin",
    "tensorflow.python.ops.math_ops.argmin_v2": "tensorflow.argmin",
    "tensorflow.python.ops.math_ops.asin": "tensorflow.asin",
    "tensorflow.python.ops.math_ops.atanh": "tensorflow.atanh",
    "tensorflow.python.ops.math_ops.cast": "tensorflow.cast",
    "tensorflow.python.ops.math_ops.ceil": "tensorflow.math.ceil",
    "tensorflow.python.ops.math_ops.cos": "tensorflow.cos",
    "tensorflow.python.ops.math_ops.cosh": "tensorflow.cosh",
    "tensorflow.python.ops.math_ops.count_nonzero": "tensorflow.compat.v1.count_nonzero",
    "tensorflow.python.ops.math_ops.count_nonzero_v2": "tensorflow.math.count_nonzero",
    "tensorflow.python.ops.math_ops.cumsum": "tensorflow.cumsum",
    "tensorflow.python.ops.math_ops.digamma": "tensorflow.math.digamma",
    "tensorflow.python.ops.math_ops.div": "tensorflow.compat.v1.div",
    "tensorflow.python.ops.math_ops.div_no_nan": "tensorflow.math.divide_no_nan",
    "tensorflow.python.ops.math_ops.divide": "tensorflow.divide",
    "tensorflow.python.ops.math_ops.equal": "tensorflow.equal",
    "tensorflow.python.ops.math_ops.erf": "tensorflow.math.erf",
    "tensorflow.python.ops.math_ops.erfc": "tensorflow.math.erfc",
    "tensorflow.python.ops.math_ops.exp": "tensorflow.exp",
    "tensorflow.python.ops.math_ops.expm1": "tensorflow.math.expm1",
    "tensorflow.python.ops.math_ops.floor": "tensorflow.floor",
    "tensorflow.python.ops.math_ops.floordiv": "tensorflow.math.floordiv",
    "tensorflow.python.ops.math_ops.greater": "tensorflow.greater",
    "tensorflow.python.ops.math_ops.greater_equal": "tensorflow.greater_equal",
    "tensorflow.python.ops.math_ops.is_finite": "tensorflow.math.is_finite",
    "tensorflow.python.ops.math_ops.is_inf": "tensorflow.math.is_inf",
    "tensorflow.python.ops.math_ops.is_nan": "tensorflow.math.is_nan",
    "tensorflow.python.ops.math_ops.less": "tensorflow.less",
    "tensorflow.python.ops.math_ops.less_equal": "tensorflow.less_equal",
    "tensorflow.python.ops.math_ops.lgamma": "tensorflow.math.lgamma",
    "tensorflow.python.ops.math_ops.log": "tensorflow.math.log",
    "tensorflow.python.ops.math_ops.log1p": "tensorflow.math.log1p",
    "tensorflow.python.ops.math_ops.log_sigmoid": "tensorflow.math.log_sigmoid",
    "tensorflow.python.ops.math_ops.logical_and": "tensorflow.logical_and",
    "tensorflow.python.ops.math_ops.logical_not": "tensorflow.logical_not",
    "tensorflow.python.ops.math_ops.logical_or": "tensorflow.logical_or",
    "tensorflow.python.ops.math_ops.maximum": "tensorflow.maximum",
    "tensorflow.python.ops.math_ops.minimum": "tensorflow.minimum",
    "tensorflow.python.ops.math_ops.multiply": "tensorflow.multiply",
    "tensorflow.python.ops.math_ops.multiply_no_nan": "tensorflow.math.multiply_no_nan",
    "tensorflow.python.ops.math_ops.not_equal": "tensorflow.not_equal",
    "tensorflow.python.ops.math_ops.pow": "tensorflow.pow",
    "tensorflow.python.ops.math_ops.range": "tensorflow.range",
    "tensorflow.python.ops.math_ops.real_div": "tensorflow.realdiv",
    "tensorflow.python.ops.math_ops.realdiv": "tensorflow.realdiv",
    "tensorflow.python.ops.math_ops.reciprocal": "tensorflow.math.reciprocal",
    "tensorflow.python.ops.math_ops.reduce_logsumexp": "tensorflow.reduce_logsumexp",
    "tensorflow.python.ops.math_ops.reduce_logsumexp_v1": "tensorflow.compat.v1.reduce_logsumexp",
    "tensorflow.python.ops.math_ops.reduce_max": "tensorflow.reduce_max",
    "tensorflow.python.ops.math_ops.reduce_max_v1": "tensorflow.compat.v1.reduce_max",
    "tensorflow.python.ops.math_ops.reduce_mean": "tensorflow.reduce_mean",
    "tensorflow.python.ops.math_ops.reduce_mean_v1": "tensorflow.compat.v1.reduce_mean",
    "tensorflow.python.ops.math_ops.reduce_min": "tensorflow.reduce_min",
    "tensorflow.python.ops.math_ops.reduce_min_v1": "tensorflow.compat.v1.reduce_min",
    "tensorflow.python.ops.math_ops.reduce_sum": "tensorflow.reduce_sum",
    "tensorflow.python.ops.math_ops.reduce_sum_v1": "tensorflow.compat.v1.reduce_sum",
    "tensorflow.python.ops.math_ops.round": "tensorflow.round",
    "tensorflow.python.ops.math_ops.rsqrt": "tensorflow.math.rsqrt",
    "tensorflow.python.ops.math_ops.segment_max": "tensorflow.math.segment_max",
    "tensorflow.python.ops.math_ops.segment_mean": "tensorflow.math.segment_mean",
    "tensorflow.python.ops.math_ops.segment_min": "tensorflow.math.segment_min",
    "tensorflow.python.ops.math_ops.segment_sum": "tensorflow.math.segment_sum",
    "tensorflow.python.ops.math_ops.sigmoid": "tensorflow.sigmoid",
    "tensorflow.python.ops.math_ops.sign": "tensorflow.sign",
    "tensorflow.python.ops.math_ops.sin": "tensorflow.sin",
    "tensorflow.python.ops.math_ops.sinh": "tensorflow.sinh",
    "tensorflow.python.ops.math_ops.softplus": "tensorflow.nn.softplus",
    "tensorflow.python.ops.math_ops.sqrt": "tensorflow.sqrt",
    "tensorflow.python.ops.math_ops.square": "tensorflow.square",
    "tensorflow.python.ops.math_ops.squared_difference": "tensorflow.math.squared_difference",
    "tensorflow.python.ops.math_ops.tanh": "tensorflow.tanh",
    "tensorflow.python.ops.math_ops.to_bfloat16": "tensorflow.compat.v1.to_bfloat16",
    "tensorflow.python.ops.math_ops.to_double": "tensorflow.compat.v1.to_double",
    "tensorflow.python.ops.math_ops.to_float": "tensorflow.compat.v1.to_float",
    "tensorflow.python.ops.math_ops.to_int32": "tensorflow.compat.v1.to_int32",
    "tensorflow.python.ops.math_ops.to_int64": "tensorflow.compat.v1.to_int64",
    "tensorflow.python.ops.math_ops.truediv": "tensorflow.truediv",
    "tensorflow.python.ops.math_ops.unsorted_segment_max": "tensorflow.math.unsorted_segment_max",
    "tensorflow.python.ops.math_ops.unsorted_segment_mean": "tensorflow.math.unsorted_segment_mean",
    "tensorflow.python.ops.math_ops.unsorted_segment_min": "tensorflow.math.unsorted_segment_min",
    "tensorflow.python.ops.math_ops.unsorted_segment_prod": "tensorflow.math.unsorted_segment_prod",
    "tensorflow.python.ops.math_ops.unsorted_segment_sqrt_n": "tensorflow.math.unsorted_segment_sqrt_n",
    "tensorflow.python.ops.math_ops.unsorted_segment_sum": "tensorflow.math.unsorted_segment_sum",
    "tensorflow.python.ops.math_ops.xdivy": "tensorflow.math.xdivy",
    "tensorflow.python.ops.math_ops.xlogy": "tensorflow.math.xlogy",
    "tensorflow.python.ops.nn_ops.elu": "tensorflow.nn.elu",
    "tensorflow.python.ops.nn_ops.in_top_k": "tensorflow.compat.v1.math.in_top_k",
    "tensorflow.python.ops.nn_ops.in_top_k_v2": "tensorflow.math.in_top_k",
    "tensorflow.python.ops.nn_ops.max_pool": "tensorflow.compat.v1.nn.max_pool",
    "tensorflow.python.ops.nn_ops.max_pool1d": "tensorflow.nn.max_pool1d",
    "tensorflow.python.ops.nn_ops.max_pool2d": "tensorflow.nn.max_pool2d",
    "tensorflow.python.ops.nn_ops.max_pool3d": "tensorflow.nn.max_pool3d",
    "tensorflow.python.ops.nn_ops.max_pool_v2": "tensorflow.nn.max_pool",
    "tensorflow.python.ops.nn_ops.relu": "tensorflow.nn.relu",
    "tensorflow.python.ops.nn_ops.relu6": "tensorflow.nn.relu6",
    "tensorflow.python.ops.nn_ops.selu": "tensorflow.nn.selu",
    "tensorflow.python.ops.nn_ops.softmax": "tensorflow.compat.v1.nn.softmax",
    "tensorflow.python.ops.nn_ops.softmax_v2": "tensorflow.nn.softmax",
    "tensorflow.python.ops.nn_ops.top_k": "tensorflow.nn.top_k",
    "tensorflow.python.ops.random_ops.categorical": "tensorflow.random.categorical",
    "tensorflow.python.ops.random_ops.multinomial": "tensorflow.compat.v1.multinomial",
    "tensorflow.python.ops.random_ops.random_gamma": "tensorflow.random.gamma",
    "tensorflow.python.ops.random_ops.random_normal": "tensorflow.random.normal",
    "tensorflow.python.ops.random_ops.random_poisson_v2": "tensorflow.random.poisson",
    "tensorflow.python.ops.random_ops.random_shuffle": "tensorflow.random.shuffle",
    "tensorflow.python.ops.random_ops.random_uniform": "tensorflow.random.uniform",
    "tensorflow.python.ops.random_ops.truncated_normal": "tensorflow.random.truncated_normal",
}
