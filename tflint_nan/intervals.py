"""Sets of real numbers as unions of intervals: the value domain of the range analysis.

The analysis only ever needs over-approximations: an ``IntervalSet`` says "every element of this tensor lies
in here", so an op is proven safe when that set lies inside the op's safe domain.  ``EVERYTHING`` is the
honest answer whenever nothing is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

INF = math.inf
# More disjoint parts than this are replaced by their hull (an over-approximation, so still sound): sums and
# products of sets of points multiply their part counts, and a chain of them would grow without bound.
MAX_PARTS = 32


@dataclass(frozen=True)
class Interval:
    lo: float
    hi: float
    lo_closed: bool = True
    hi_closed: bool = True

    def is_empty(self) -> bool:
        if self.lo > self.hi:
            return True
        if self.lo == self.hi:
            return not (self.lo_closed and self.hi_closed) or math.isinf(self.lo)
        return False

    def contains(self, other: Interval) -> bool:
        """Whether ``other`` (non-empty) lies inside this interval."""
        if other.lo < self.lo or (other.lo == self.lo and other.lo_closed and not self.lo_closed):
            return False
        if other.hi > self.hi or (other.hi == self.hi and other.hi_closed and not self.hi_closed):
            return False
        return True

    def intersect(self, other: Interval) -> Interval:
        if self.lo > other.lo or (self.lo == other.lo and not self.lo_closed):
            lo, lo_closed = self.lo, self.lo_closed
        else:
            lo, lo_closed = other.lo, other.lo_closed
        if self.hi < other.hi or (self.hi == other.hi and not self.hi_closed):
            hi, hi_closed = self.hi, self.hi_closed
        else:
            hi, hi_closed = other.hi, other.hi_closed
        return Interval(lo, hi, lo_closed, hi_closed)

    def __str__(self) -> str:
        left = "[" if self.lo_closed and not math.isinf(self.lo) else "("
        right = "]" if self.hi_closed and not math.isinf(self.hi) else ")"
        return f"{left}{self.lo:g}, {self.hi:g}{right}"


class IntervalSet:
    """A finite union of disjoint, sorted, non-empty intervals."""

    __slots__ = ("parts",)

    def __init__(self, parts: Iterable[Interval] = ()):
        self.parts: tuple[Interval, ...] = _normalise(parts)

    # -- constructors -------------------------------------------------------------------------------
    @staticmethod
    def point(value: float) -> IntervalSet:
        if math.isnan(value):
            return EVERYTHING
        return IntervalSet([Interval(value, value)])

    @staticmethod
    def between(lo: float, hi: float, lo_closed: bool = True, hi_closed: bool = True) -> IntervalSet:
        return IntervalSet([Interval(lo, hi, lo_closed, hi_closed)])

    @staticmethod
    def compare(op: str, bound: float) -> IntervalSet:
        """The set of ``v`` with ``v <op> bound``, for op in > >= < <= == !=."""
        if op == ">":
            return IntervalSet.between(bound, INF, False, False)
        if op == ">=":
            return IntervalSet.between(bound, INF, True, False)
        if op == "<":
            return IntervalSet.between(-INF, bound, False, False)
        if op == "<=":
            return IntervalSet.between(-INF, bound, False, True)
        if op == "==":
            return IntervalSet.point(bound)
        if op == "!=":
            return IntervalSet.point(bound).complement()
        raise ValueError(op)

    # -- queries ------------------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return not self.parts

    def is_everything(self) -> bool:
        return len(self.parts) == 1 and self.parts[0].lo == -INF and self.parts[0].hi == INF

    def within(self, other: IntervalSet) -> bool:
        """Whether every value of this set lies in ``other``."""
        return all(any(big.contains(small) for big in other.parts) for small in self.parts)

    @property
    def lo(self) -> float:
        return self.parts[0].lo if self.parts else INF

    @property
    def hi(self) -> float:
        return self.parts[-1].hi if self.parts else -INF

    def upper_bound(self) -> tuple[float, bool] | None:
        """(bound, closed) when the set is bounded above, else None."""
        if not self.parts or self.parts[-1].hi == INF:
            return None
        return self.parts[-1].hi, self.parts[-1].hi_closed

    def lower_bound(self) -> tuple[float, bool] | None:
        if not self.parts or self.parts[0].lo == -INF:
            return None
        return self.parts[0].lo, self.parts[0].lo_closed

    # -- set algebra --------------------------------------------------------------------------------
    def union(self, other: IntervalSet) -> IntervalSet:
        return IntervalSet(self.parts + other.parts)

    def intersect(self, other: IntervalSet) -> IntervalSet:
        return IntervalSet(a.intersect(b) for a in self.parts for b in other.parts)

    def complement(self) -> IntervalSet:
        parts = []
        lo, lo_closed = -INF, False
        for part in self.parts:
            parts.append(Interval(lo, part.lo, lo_closed, not part.lo_closed))
            lo, lo_closed = part.hi, not part.hi_closed
        parts.append(Interval(lo, INF, lo_closed, False))
        return IntervalSet(parts)

    def hull(self) -> IntervalSet:
        if not self.parts:
            return self
        first, last = self.parts[0], self.parts[-1]
        return IntervalSet([Interval(first.lo, last.hi, first.lo_closed, last.hi_closed)])

    # -- arithmetic (on the hull; precise enough for sign and bound reasoning) ----------------------------
    def map_monotone(self, fn, increasing: bool = True) -> IntervalSet:
        """Image under a continuous monotone function defined on the whole set."""
        out = []
        for part in self.parts:
            a, b = _safe_call(fn, part.lo), _safe_call(fn, part.hi)
            if increasing:
                out.append(Interval(a, b, part.lo_closed, part.hi_closed))
            else:
                out.append(Interval(b, a, part.hi_closed, part.lo_closed))
        return IntervalSet(out)

    def negate(self) -> IntervalSet:
        return self.map_monotone(lambda v: -v, increasing=False)

    def add(self, other: IntervalSet) -> IntervalSet:
        if self.is_empty() or other.is_empty():
            return IntervalSet()
        return IntervalSet(
            Interval(_add(a.lo, b.lo), _add(a.hi, b.hi), a.lo_closed and b.lo_closed, a.hi_closed and b.hi_closed)
            for a in self.parts
            for b in other.parts
        )

    def multiply(self, other: IntervalSet) -> IntervalSet:
        if self.is_empty() or other.is_empty():
            return IntervalSet()
        out = []
        for a in self.parts:
            for b in other.parts:
                point, other_part = (a, b) if a.lo == a.hi else (b, a)
                if point.lo == point.hi and math.isfinite(point.lo):  # scaled, or exactly 0 (``0. * x``)
                    out.append(_scaled(other_part, point.lo))
                    continue
                corners = [
                    (_mul(x, y), xc and yc)
                    for x, xc in ((a.lo, a.lo_closed), (a.hi, a.hi_closed))
                    for y, yc in ((b.lo, b.lo_closed), (b.hi, b.hi_closed))
                ]
                lo = min(corners, key=lambda c: (c[0], not c[1]))
                hi = max(corners, key=lambda c: (c[0], c[1]))
                out.append(Interval(lo[0], hi[0], lo[1], hi[1]))
        return IntervalSet(out)

    def reciprocal(self) -> IntervalSet:
        out = []
        for part in self.parts:
            if part.lo < 0 < part.hi:
                return EVERYTHING
            # 1/v is decreasing on each side of 0; an end at 0 maps to an infinite end (open to open, closed to
            # closed: 1/0 is inf).  The sign of a zero is not tracked: a zero ending a one-signed range is taken
            # to have that range's sign (abs, square, sqrt, relu and counts give +0).
            lo = _inverse(part.hi, positive_side=part.lo >= 0)
            hi = _inverse(part.lo, positive_side=part.lo >= 0)
            out.append(Interval(lo, hi, part.hi_closed, part.lo_closed))
        return IntervalSet(out)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IntervalSet) and self.parts == other.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def __repr__(self) -> str:
        return "IntervalSet(" + " ∪ ".join(map(str, self.parts)) + ")" if self.parts else "IntervalSet(∅)"


def _add(a: float, b: float) -> float:
    if math.isinf(a) and math.isinf(b) and a != b:
        return math.nan
    return a + b


def _mul(a: float, b: float) -> float:
    if (a == 0 and math.isinf(b)) or (b == 0 and math.isinf(a)):
        return 0.0
    return a * b


def _inverse(value: float, positive_side: bool) -> float:
    if value == 0:
        return INF if positive_side else -INF
    return 1.0 / value  # 1/inf == 0.0


def _safe_call(fn, value: float) -> float:
    try:
        return fn(value)
    except OverflowError:
        return INF if value > 0 else -INF
    except ZeroDivisionError:  # 0 ** -a at an open end: the limit from the positive side
        return INF
    except ValueError:  # log(0): the limit
        return -INF if value == 0 else math.nan


def _normalise(parts: Iterable[Interval]) -> tuple[Interval, ...]:
    items = []
    for part in parts:
        if math.isnan(part.lo) or math.isnan(part.hi):
            return (Interval(-INF, INF, False, False),)
        # Infinite ends are always open: the analysis never means "includes inf".
        part = Interval(part.lo, part.hi, part.lo_closed and part.lo != -INF, part.hi_closed and part.hi != INF)
        if not part.is_empty():
            items.append(part)
    items.sort(key=lambda p: (p.lo, not p.lo_closed))
    merged: list[Interval] = []
    for part in items:
        if merged:
            last = merged[-1]
            touches = part.lo < last.hi or (part.lo == last.hi and (part.lo_closed or last.hi_closed))
            if touches:
                if part.hi > last.hi or (part.hi == last.hi and part.hi_closed):
                    merged[-1] = Interval(last.lo, part.hi, last.lo_closed, part.hi_closed)
                continue
        merged.append(part)
    if len(merged) > MAX_PARTS:
        first, last = merged[0], merged[-1]
        return (Interval(first.lo, last.hi, first.lo_closed, last.hi_closed),)
    return tuple(merged)


EVERYTHING = IntervalSet([Interval(-INF, INF, False, False)])
NOTHING = IntervalSet()


def power_range(base: IntervalSet, exponent: float) -> IntervalSet:
    """The real values of ``base ** exponent`` for a constant exponent (negative bases of a fractional power give
    NaN, which is not a value)."""
    if exponent == 0:
        return IntervalSet.point(1.0)
    non_negative = base.intersect(IntervalSet.compare(">=", 0.0))
    if not float(exponent).is_integer() or base.within(IntervalSet.compare(">=", 0.0)):
        if exponent > 0:
            return non_negative.map_monotone(lambda v: v ** exponent)
        positive = base.intersect(IntervalSet.compare(">", 0.0))
        return positive.map_monotone(lambda v: v ** exponent, increasing=False)
    return EVERYTHING


def hyperparameter_range(default: float) -> IntervalSet:
    """A parameter whose default is a number takes values of that number's sign: ``eps=1e-6`` is positive
    whatever a caller passes instead (a negative epsilon is a different program, not an input)."""
    if default > 0:
        return IntervalSet.compare(">", 0.0)
    if default < 0:
        return IntervalSet.compare("<", 0.0)
    return EVERYTHING


# ln of the smallest and largest positive finite float64 (subnormals included): every positive float of any
# dtype has its logarithm in here, so a positive base to a bounded power stays away from 0 and inf.
LOG_POSITIVE_FLOATS = IntervalSet.between(-745.2, 709.8)


def tensor_power_range(base: IntervalSet, exponent: IntervalSet) -> IntervalSet:
    """Values of ``base ** exponent`` when both are tensors: for a positive base, ``exp(exponent * ln(base))``."""
    if exponent == IntervalSet.point(0.0) and not base.is_empty():
        return IntervalSet.point(1.0)  # pow(x, 0) is 1 for every x, NaN and inf included (IEEE 754)
    if base.is_empty() or exponent.is_empty() or not base.within(IntervalSet.compare(">", 0.0)):
        return EVERYTHING
    logs = base.map_monotone(_log).intersect(LOG_POSITIVE_FLOATS)
    return logs.multiply(exponent).map_monotone(_exp)


def _log(value: float) -> float:
    return math.log(value) if value > 0 else -INF


def _exp(value: float) -> float:
    try:
        return math.exp(value)
    except OverflowError:
        return INF


def _scaled(part: Interval, factor: float) -> Interval:
    """The interval ``part * factor`` for a finite factor: 0 maps every finite value to exactly 0."""
    if factor == 0.0:
        return Interval(0.0, 0.0, True, True)
    lo, hi = part.lo * factor, part.hi * factor
    if factor > 0:
        return Interval(lo, hi, part.lo_closed, part.hi_closed)
    return Interval(hi, lo, part.hi_closed, part.lo_closed)
