"""The inputs dynamic mode feeds a function, chosen from the knowledge base.

For each rule code the values sit on both sides of every pole, domain end and overflow threshold that
``knowledge.RISKY_OPS`` names for that family, rounded to the probe dtype: exp's overflow threshold for the dtype
(``knowledge.EXP_OVERFLOW``) and beyond it, 0 and -0, ±tiny, ±1 and the neighbours of ±1, large negatives and
positives.  A function of several tensors gets the combinations of those values.

Pure Python: the parent process plans with it and the probe process builds the same points from it.
"""

from __future__ import annotations

import itertools
import math
import random
import struct
from typing import Iterable, Sequence

from .. import knowledge

DTYPES = ("float16", "float32", "float64")
DEFAULT_DTYPE = "float32"
_STRUCT_FORMAT = {"float16": "<e", "float32": "<f", "float64": "<d"}
_INT_FORMAT = {"float16": "<h", "float32": "<i", "float64": "<q"}
_SMALLEST_NORMAL = {"float16": 6.103515625e-05, "float32": 1.1754943508222875e-38, "float64": 2.2250738585072014e-308}

# At most this many probe points per function (each point is one element of the rank-1 probe tensors).
MAX_POINTS = 100_000
# Values every probe includes, whatever the rule: both zeros, moderate and large magnitudes.
_GENERAL = (0.0, -0.0, 1e-30, -1e-30, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 10.0, -10.0, 100.0, -100.0, 1e3, -1e3,
            1e4, -1e4)


def in_dtype(value: float, dtype: str) -> float | None:
    """``value`` rounded to ``dtype``, or None when the dtype cannot hold it as a finite number."""
    try:
        rounded = struct.unpack(_STRUCT_FORMAT[dtype], struct.pack(_STRUCT_FORMAT[dtype], value))[0]
    except (OverflowError, struct.error):
        return None
    return rounded if math.isfinite(rounded) else None


def next_after(value: float, toward: float, dtype: str) -> float | None:
    """The ``dtype`` number next to ``value`` in the direction of ``toward``."""
    value = in_dtype(value, dtype)
    if value is None or value == toward:
        return value
    bits = struct.unpack(_INT_FORMAT[dtype], struct.pack(_STRUCT_FORMAT[dtype], value))[0]
    if value == 0.0:
        smallest = struct.unpack(_STRUCT_FORMAT[dtype], struct.pack(_INT_FORMAT[dtype], 1))[0]
        return smallest if toward > 0 else -smallest
    # For IEEE floats, stepping the integer bits away from (toward) zero moves the magnitude up (down).
    bits += 1 if (toward > value) == (value > 0) else -1
    return in_dtype(struct.unpack(_STRUCT_FORMAT[dtype], struct.pack(_INT_FORMAT[dtype], bits))[0], dtype)


def _family_values(code: str, dtype: str) -> list[float]:
    if code not in knowledge.SELECT_RULE_CODES:
        # The other sinks' rules (a clamp, a mask, a saturating op) meet any risky op: probe every op's edges.
        return [value for select_code in knowledge.SELECT_RULE_CODES for value in _family_values(select_code, dtype)]
    values: list[float] = []
    for op in knowledge.RISKY_OPS:
        if op.code != code:
            continue
        values += op.unsafe_inputs
        if op.conservative_domain:
            continue  # the exp rows' thresholds are added below
        for part in op.safe_domain.parts:
            for end in (part.lo, part.hi):
                if math.isfinite(end):
                    values += [end, next_after(end, math.inf, dtype), next_after(end, -math.inf, dtype)]
    if code == "TFN001":
        # The threshold itself (rounded down: still finite) and beyond it, on both sides for exp(-x).
        for limit in (knowledge.EXP_OVERFLOW[dtype], knowledge.EXP_OVERFLOW[dtype] + math.log(2.0)):
            below, beyond = math.floor(limit * 100) / 100, float(math.ceil(limit))
            values += [below, -below, beyond, -beyond, beyond + 1.0, -(beyond + 1.0)]
    if code == "TFN002":
        values += [-2.0, -3.0]  # lgamma/digamma's poles at the negative integers
    if code == "TFN005":
        values += [next_after(1.0, 0.0, dtype), next_after(-1.0, 0.0, dtype)]  # just inside ±1
    return [value for value in values if value is not None]


def probe_values(codes: Iterable[str] = knowledge.RULE_CODES, dtype: str = DEFAULT_DTYPE) -> tuple[float, ...]:
    """The values each parameter takes, ordered by magnitude (positive before negative)."""
    candidates: list[float] = list(_GENERAL)
    candidates += [_SMALLEST_NORMAL[dtype], -_SMALLEST_NORMAL[dtype]]
    candidates += [next_after(1.0, 2.0, dtype), next_after(-1.0, -2.0, dtype)]  # just past ±1
    for code in sorted(set(codes)):
        candidates += _family_values(code, dtype)
    seen: dict[tuple[float, bool], float] = {}
    for value in candidates:
        rounded = in_dtype(value, dtype) if value is not None else None
        if rounded is None or (rounded == 0.0 and value != 0.0):
            continue  # overflows the dtype, or a tiny value that the dtype flushes to zero
        seen.setdefault((rounded, math.copysign(1.0, rounded) < 0), rounded)
    return tuple(sorted(seen.values(), key=magnitude_key))


def magnitude_key(value: float) -> tuple[float, bool]:
    return abs(value), math.copysign(1.0, value) < 0


def probe_points(values: Sequence[float], parameters: int, limit: int = MAX_POINTS) -> list[tuple[float, ...]]:
    """The probe points for a function of ``parameters`` tensors: every combination of ``values`` when there are
    at most ``limit``; otherwise every parameter swept alone (the others at 1), the diagonal, and a fixed sample
    of the combinations."""
    if parameters <= 0:
        return []
    if len(values) ** parameters <= limit:
        return list(itertools.product(values, repeat=parameters))
    points = [tuple(value for _ in range(parameters)) for value in values]
    for index in range(parameters):
        points += [tuple(value if i == index else 1.0 for i in range(parameters)) for value in values]
    sampler = random.Random(0)  # a fixed seed: the same points on every run
    while len(points) < limit:
        points.append(tuple(sampler.choice(values) for _ in range(parameters)))
    return list(dict.fromkeys(points))


# Values of a differentiable input that is not the finding's operand: ordinary magnitudes on both sides of the
# boundaries conditions usually test (0 and ±1), never the extremes that only the operand gets.
MODERATE = (0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0)


def grid_points(columns: Sequence[Sequence[float]], limit: int = MAX_POINTS) -> list[tuple[float, ...]]:
    """Probe points when each parameter has its own values: every combination when there are at most ``limit``;
    otherwise each parameter swept alone (the others at their first value), plus a fixed sample."""
    if not columns:
        return []
    total = 1
    for column in columns:
        total *= max(len(column), 1)
    if total <= limit:
        return list(itertools.product(*columns))
    base = tuple(column[0] for column in columns)
    points = [base]
    for index, column in enumerate(columns):
        points += [base[:index] + (value,) + base[index + 1:] for value in column]
    sampler = random.Random(0)  # a fixed seed: the same points on every run
    while len(points) < limit:
        points.append(tuple(sampler.choice(column) for column in columns))
    return list(dict.fromkeys(points))


def format_value(value: float, dtype: str = DEFAULT_DTYPE) -> str:
    """The shortest decimal that reads back as ``value`` in ``dtype``: 89.0, 88.72, -0.0, 1e-30."""
    if not math.isfinite(value):
        return str(value)
    target = in_dtype(value, dtype)
    text = repr(value)
    for digits in range(1, 18):
        candidate = f"{value:.{digits}g}"
        if in_dtype(float(candidate), dtype) == target:
            text = candidate
            break
    return repr(float(text))
