"""What values can an expression take on the elements a select discards?

Two small abstract interpretations over LibCST expressions:

* ``Region``: what a boolean condition says about expressions, as ``{expression key: IntervalSet}``.  A region
  is always an over-approximation of the elements where the condition has the given truth value, so an
  empty region means "no such element".
* ``value_range``: the set of values an expression can take inside a region, following local variables,
  clamps, bounded activations, constants and nested selects (the double where).

Expressions are identified by their source text without whitespace (``key``): the condition ``x > 0`` and the
input ``x`` of ``tf.exp(x)`` meet on the key ``x``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

import libcst as cst

from . import knowledge
from .intervals import EVERYTHING, NOTHING, IntervalSet, hyperparameter_range, power_range, tensor_power_range

Region = Mapping[str, IntervalSet]
EVERYWHERE: Region = {}  # no constraint
MAX_DEPTH = 40  # how far variables and nested expressions are followed
# How many region and value steps one select call may take.  Real conditions and operands need a few dozen; the
# budget bounds code whose variables refer to each other twice over (``a2 = a1 + a1``, ``c2 = c1 & c1``), where
# following every path takes time exponential in the chain's length.  An exhausted budget answers "unknown"
# (EVERYWHERE, EVERYTHING): the analysis stays sound and may only report more.
MAX_STEPS = 20_000

_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
_NEGATE = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}
_COMPARE_NODES = {
    cst.GreaterThan: ">",
    cst.GreaterThanEqual: ">=",
    cst.LessThan: "<",
    cst.LessThanEqual: "<=",
    cst.Equal: "==",
    cst.NotEqual: "!=",
}


@dataclass(frozen=True)
class Binding:
    """A local variable's value as of one assignment; ``value`` None means unknown (a parameter, a loop...)."""

    value: cst.BaseExpression | None
    seq: int  # the position in source order at which the value was bound
    parameter: str | None = None  # a function's parameter: its name
    default: float | None = None  # a parameter's default, when it is a number (a hyperparameter)
    # ``a, b = value``: the value an element was unpacked from (an element has a gradient only if the value has)
    unpacked_from: cst.BaseExpression | None = None


@dataclass(frozen=True)
class RiskyUse:
    """A risky op that a select's branch evaluates (found by ``analysis``, rewritten by ``rewrite``)."""

    op: knowledge.RiskyOp
    node: cst.CSTNode  # the op's call or operator expression: where the finding points
    operand: cst.BaseExpression  # the expression feeding the dangerous input
    as_of: int  # source position at which names in ``operand`` are resolved
    nesting: int  # how many nested selects lie between the select and the op
    no_gradient: bool  # inside tf.stop_gradient
    scale: float = 1.0  # the input enters the op multiplied by this (ln(base) for base ** x)


class Context(Protocol):
    def qualified_names(self, node: cst.CSTNode) -> frozenset[str]: ...

    def binding(self, name: str, as_of: int) -> Binding | None: ...

    def key(self, node: cst.CSTNode) -> str: ...

    def attribute_fact(self, node: cst.Attribute): ...

    def project_constant(self, name: str) -> float | None: ...

    def parameter_range(self, parameter: str) -> IntervalSet | None: ...


# -- regions -------------------------------------------------------------------------------------------------------
def conjoin(a: Region, b: Region) -> Region:
    out = dict(a)
    for key, values in b.items():
        out[key] = out[key].intersect(values) if key in out else values
    return out


def disjoin(a: Region, b: Region) -> Region:
    if is_empty(a):
        return b
    if is_empty(b):
        return a
    return {key: a[key].union(b[key]) for key in a.keys() & b.keys()}


def is_empty(region: Region) -> bool:
    return any(values.is_empty() for values in region.values())


def assigned_value(context: Context, node, as_of: int, hops: int) -> tuple[cst.BaseExpression | None, int]:
    """``node``, or the value a variable holds there (through at most ``hops`` assignments), with the position
    where that value was bound."""
    for _ in range(hops):
        if not isinstance(node, cst.Name):
            break
        binding = context.binding(node.value, as_of)
        if binding is None or binding.value is None:
            break
        node, as_of = binding.value, binding.seq
    return node, as_of


def argument(call: cst.Call, position: int, keywords: tuple[str, ...]) -> cst.BaseExpression | None:
    """The argument at ``position`` or with one of ``keywords``; None when absent or hidden behind *args."""
    positional = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            if positional == position:
                return arg.value
            positional += 1
        elif arg.keyword.value in keywords:
            return arg.value
    return None


def constant_value(node: cst.BaseExpression) -> float | None:
    """The number a literal expression spells (``2``, ``-1.``, ``1e-7``, ``(0.5)``), else None."""
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return float(node.evaluated_value)
        except (ValueError, OverflowError):
            return None
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        inner = constant_value(node.expression)
        if inner is None:
            return None
        return -inner if isinstance(node.operator, cst.Minus) else inner
    return None


_UNSET = object()  # an argument not given (None is an answer)


class Analysis:
    """Condition regions and value ranges, over one module's expressions."""

    def __init__(self, context: Context):
        self.ctx = context
        self.steps_left = MAX_STEPS
        # The float type constants are held in (``knowledge.in_float_type``): the risky op's, while its input's
        # values are computed (``analysis.ModuleAnalyzer._input_values``).
        self.float_type = knowledge.DEFAULT_FLOAT

    def reset_budget(self) -> None:
        """Start a new query (one select call) with a full step budget."""
        self.steps_left = MAX_STEPS

    def spend(self) -> bool:
        """Take one step of the query's budget; False once it is used up (answer "unknown")."""
        self.steps_left -= 1
        return self.steps_left >= 0

    # -- conditions ----------------------------------------------------------------------------------------------
    def region(self, cond: cst.BaseExpression, positive: bool, as_of: int, depth: int = 0) -> Region:
        """Over-approximation of the elements where ``cond`` is ``positive``.

        Whatever its structure says, a condition also agrees with itself: the region records ``cond``'s own value,
        so the double where ``where(c, op(where(c, x, safe)), ...)`` is recognised even where ``c`` is too complex
        for the structure to pin down the input (``(y > 0.) & (z > 0.)`` around ``log(x)``).
        """
        itself = {"?" + self.ctx.key(cond): IntervalSet.point(1.0 if positive else 0.0)}
        return conjoin(self._structured_region(cond, positive, as_of, depth), itself)

    def _structured_region(self, cond: cst.BaseExpression, positive: bool, as_of: int, depth: int) -> Region:
        if depth > MAX_DEPTH or not self.spend():
            return EVERYWHERE
        if isinstance(cond, cst.Comparison):
            return self._comparison_region(cond, positive, as_of, depth)
        if isinstance(cond, cst.UnaryOperation) and isinstance(cond.operator, (cst.BitInvert, cst.Not)):
            return self.region(cond.expression, not positive, as_of, depth + 1)
        if isinstance(cond, cst.BooleanOperation) or (
            isinstance(cond, cst.BinaryOperation) and isinstance(cond.operator, (cst.BitAnd, cst.BitOr))
        ):
            is_and = isinstance(cond.operator, (cst.And, cst.BitAnd))
            return self._logical(is_and, [cond.left, cond.right], positive, as_of, depth)
        if isinstance(cond, cst.Name):
            binding = self.ctx.binding(cond.value, as_of)
            if binding is not None and binding.value is not None:
                return self.region(binding.value, positive, binding.seq, depth + 1)
        if isinstance(cond, cst.Call):
            names = self.ctx.qualified_names(cond.func)
            for name in names:
                function = knowledge.value_function(name)
                if function is not None and function.kind == "identity" and cond.args:
                    # ops.cast(mask, "float32") selects like the mask itself
                    return self.region(cond.args[0].value, positive, as_of, depth + 1)
                if name in knowledge.IS_NAN and positive and cond.args:
                    # is_nan(e) holds only where e has no real value: no element with a real e is selected there,
                    # so nothing finite that e computes is hidden (is_finite / is_inf are not like this: inf is).
                    return {self.ctx.key(cond.args[0].value): NOTHING}
                symbol = knowledge.COMPARISONS.get(name)
                if symbol is not None:
                    left, right = argument(cond, 0, ("x", "x1")), argument(cond, 1, ("y", "x2"))
                    if left is not None and right is not None:
                        return self._compare(left, symbol, right, positive, as_of, depth)
                logic = knowledge.LOGICAL.get(name)
                if logic == "not":
                    operand = argument(cond, 0, ("x",))
                    if operand is not None:
                        return self.region(operand, not positive, as_of, depth + 1)
                elif logic in ("and", "or"):
                    left, right = argument(cond, 0, ("x", "x1")), argument(cond, 1, ("y", "x2"))
                    if left is not None and right is not None:
                        return self._logical(logic == "and", [left, right], positive, as_of, depth)
        return EVERYWHERE  # an opaque boolean: only ``region`` knows it matches itself

    def _logical(self, is_and: bool, operands, positive: bool, as_of: int, depth: int) -> Region:
        parts = [self.region(operand, positive, as_of, depth + 1) for operand in operands]
        # De Morgan: "a and b" is false where a is false or b is false.
        combine = conjoin if is_and == positive else disjoin
        result = parts[0]
        for part in parts[1:]:
            result = combine(result, part)
        return result

    def _comparison_region(self, cond: cst.Comparison, positive: bool, as_of: int, depth: int) -> Region:
        regions = []
        left = cond.left
        for target in cond.comparisons:
            symbol = _COMPARE_NODES.get(type(target.operator))
            if symbol is None:  # `in`, `is`: not elementwise tensor comparisons
                return EVERYWHERE
            regions.append(self._compare(left, symbol, target.comparator, positive, as_of, depth))
            left = target.comparator
        combine = conjoin if positive else disjoin
        result = regions[0]
        for region in regions[1:]:
            result = combine(result, region)
        return result

    def _compare(self, left, symbol: str, right, positive: bool, as_of: int, depth: int) -> Region:
        if not positive:
            symbol = _NEGATE[symbol]
        right_value = self._as_constant(right, as_of)
        left_value = self._as_constant(left, as_of)
        if right_value is None and left_value is not None:
            left, right, symbol, right_value = right, left, _FLIP[symbol], left_value
        if right_value is None:
            # a > b constrains the difference a - b, and b - a ...
            difference = IntervalSet.compare(symbol, 0.0)
            region = {f"{self.ctx.key(left)}-{self.ctx.key(right)}": difference,
                      f"{self.ctx.key(right)}-{self.ctx.key(left)}": difference.negate()}
            # ... and each side by the other's range: ``t <= -abs(a)`` says ``t <= 0``.
            self._bound_by(left, symbol, right, region, as_of, depth)
            self._bound_by(right, _FLIP[symbol], left, region, as_of, depth)
            return region
        region: dict[str, IntervalSet] = {}
        self._constrain(left, IntervalSet.compare(symbol, right_value), region, as_of, depth)
        return region

    def _bound_by(self, node, symbol: str, other, region: dict, as_of: int, depth: int) -> None:
        """Record what ``node <symbol> other`` says about ``node`` alone, from the range ``other`` can take."""
        if symbol not in ("<", "<=", ">", ">=", "=="):
            return
        others = self.value_range(other, EVERYWHERE, as_of, depth + 1)
        if others.is_empty():
            return
        below = symbol in ("<", "<=", "==")
        above = symbol in (">", ">=", "==")
        bound = IntervalSet.compare("<=", others.hi) if below and not math.isinf(others.hi) else EVERYTHING
        if above and not math.isinf(others.lo):
            bound = bound.intersect(IntervalSet.compare(">=", others.lo))
        if not bound.is_everything():
            self._constrain(node, bound, region, as_of, depth + 1)

    def _constrain(self, node, values: IntervalSet, region: dict, as_of: int, depth: int) -> None:
        """Record that ``node`` lies in ``values``, and what that says about the expressions it is built from:
        ``|y| < c`` bounds ``y``, ``n - 1 < c`` bounds ``n``, ``2 * x > c`` bounds ``x``, and a local variable's
        bound is its value's bound."""
        key = self.ctx.key(node)
        region[key] = region[key].intersect(values) if key in region else values
        if depth > MAX_DEPTH or not self.spend():
            return
        again = lambda inner, inner_values: self._constrain(inner, inner_values, region, as_of, depth + 1)  # noqa
        inner = self._abs_argument(node)
        if inner is not None:
            # |y| in S  <=>  y in (S ∩ [0, inf)) ∪ -(S ∩ [0, inf))
            non_negative = values.intersect(IntervalSet.compare(">=", 0.0))
            again(inner, non_negative.union(non_negative.negate()))
        elif isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            again(node.expression, values.negate())
        elif self._square_argument(node) is not None:
            # y² in S  <=>  |y| in sqrt(S ∩ [0, inf))
            root = values.intersect(IntervalSet.compare(">=", 0.0)).map_monotone(math.sqrt)
            again(self._square_argument(node), root.union(root.negate()))
        elif isinstance(node, cst.BinaryOperation):
            left, right = constant_value(node.left), constant_value(node.right)
            op = node.operator
            if right is not None and isinstance(op, (cst.Add, cst.Subtract)):
                again(node.left, values.add(IntervalSet.point(-right if isinstance(op, cst.Add) else right)))
            elif left is not None and isinstance(op, cst.Add):
                again(node.right, values.add(IntervalSet.point(-left)))
            elif left is not None and isinstance(op, cst.Subtract):
                again(node.right, values.negate().add(IntervalSet.point(left)))
            elif right is not None and right != 0 and isinstance(op, cst.Multiply):
                again(node.left, values.multiply(IntervalSet.point(1.0 / right)))
            elif left is not None and left != 0 and isinstance(op, cst.Multiply):
                again(node.right, values.multiply(IntervalSet.point(1.0 / left)))
            elif right is not None and right != 0 and isinstance(op, cst.Divide):
                again(node.left, values.multiply(IntervalSet.point(right)))
        elif isinstance(node, cst.Name):
            binding = self.ctx.binding(node.value, as_of)
            if binding is not None and binding.value is not None:
                self._constrain(binding.value, values, region, binding.seq, depth + 1)

    def _square_argument(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        """``y`` for ``y * y``, ``y ** 2`` and ``square(y)``."""
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Multiply) and self.ctx.key(node.left) == self.ctx.key(node.right):
                return node.left
            if isinstance(node.operator, cst.Power) and constant_value(node.right) == 2:
                return node.left
        if isinstance(node, cst.Call) and node.args and any(
                getattr(knowledge.value_function(name), "kind", None) == "square"
                for name in self.ctx.qualified_names(node.func)):
            return node.args[0].value
        return None

    def _abs_argument(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        if not isinstance(node, cst.Call) or not node.args:
            return None
        if isinstance(node.func, cst.Name) and node.func.value == "abs" and not self.ctx.qualified_names(node.func) - {"builtins.abs", "abs"}:
            return node.args[0].value
        if any(getattr(knowledge.value_function(n), "kind", None) == "abs" for n in self.ctx.qualified_names(node.func)):
            return node.args[0].value
        return None

    def _as_constant(self, node: cst.BaseExpression, as_of: int) -> float | None:
        values = self.value_range(node, EVERYWHERE, as_of)
        if len(values.parts) == 1 and values.lo == values.hi:
            return values.lo
        return None

    # -- values --------------------------------------------------------------------------------------------------
    def value_range(self, node: cst.BaseExpression, region: Region, as_of: int, depth: int = 0) -> IntervalSet:
        """Every value ``node`` can take on the elements of ``region``."""
        if depth > MAX_DEPTH or not self.spend():
            return EVERYTHING
        known = region.get(self.ctx.key(node)) if region else None
        values = self._structural_range(node, region, as_of, depth)
        return values.intersect(known) if known is not None else values

    def _structural_range(self, node, region: Region, as_of: int, depth: int) -> IntervalSet:
        constant = constant_value(node)
        if constant is not None:
            return IntervalSet.point(knowledge.in_float_type(constant, self.float_type))
        recurse: Callable[..., IntervalSet] = lambda n, r=region, a=as_of: self.value_range(n, r, a, depth + 1)
        if isinstance(node, cst.Name):
            binding = self.ctx.binding(node.value, as_of)
            if binding is not None and binding.value is not None:
                return recurse(binding.value, region, binding.seq)
            if binding is not None and binding.parameter is not None:
                passed = self.ctx.parameter_range(binding.parameter)
                if passed is not None:  # what every call of the function in the project passes it
                    return passed
            if binding is not None and binding.default is not None:
                return hyperparameter_range(binding.default)
            if binding is None:
                return self._named_constant(node)
            return EVERYTHING
        if isinstance(node, cst.Attribute):
            return self._attribute_range(node, recurse)
        if isinstance(node, (cst.Comparison, cst.BooleanOperation)):
            if region:  # decided on the elements asked about (``cast(x >= 0)`` where ``x >= 0``): 1 or 0
                if is_empty(conjoin(region, self.region(node, True, as_of, depth + 1))):
                    return IntervalSet.point(0.0)
                if is_empty(conjoin(region, self.region(node, False, as_of, depth + 1))):
                    return IntervalSet.point(1.0)
            return IntervalSet.between(0.0, 1.0)  # a boolean: cast to a number, 0 or 1
        if isinstance(node, cst.UnaryOperation):
            inner = recurse(node.expression)
            if isinstance(node.operator, cst.Minus):
                return inner.negate()
            if isinstance(node.operator, cst.Plus):
                return inner
            return EVERYTHING
        if isinstance(node, cst.BinaryOperation):
            return self._binary_range(node, recurse, region, as_of)
        if isinstance(node, cst.IfExp):
            return recurse(node.body).union(recurse(node.orelse))
        if isinstance(node, cst.Call):
            return self._call_range(node, region, as_of, depth, recurse)
        return EVERYTHING

    def _binary_range(self, node: cst.BinaryOperation, recurse, region: Region, as_of: int) -> IntervalSet:
        op = node.operator
        if isinstance(op, cst.Power):
            exponent = constant_value(node.right)
            if exponent is not None and exponent == 2:
                return _square(recurse(node.left))
            if exponent is not None:
                return power_range(recurse(node.left), exponent)
            return tensor_power_range(recurse(node.left), recurse(node.right))
        left, right = recurse(node.left), recurse(node.right)
        if isinstance(op, cst.Add):
            return left.add(right)
        if isinstance(op, cst.Subtract):
            extreme = self._reduced_extreme(node.right, node.left, as_of)
            if extreme == "max":
                return IntervalSet.compare("<=", 0.0)  # x - max(x): the max-subtracted softmax's exponent
            if extreme == "min":
                return IntervalSet.compare(">=", 0.0)
            return left.add(right.negate())
        if isinstance(op, cst.Multiply):
            if self.ctx.key(node.left) == self.ctx.key(node.right):
                return _square(left)
            return left.multiply(right)
        if isinstance(op, cst.Divide):
            if self._key_without_zero_terms(node.left, recurse) == self._key_without_zero_terms(node.right, recurse):
                # ``a / (a + b)`` where ``b`` is 0: 1 (or NaN where ``a`` is 0, which the division reports itself)
                return IntervalSet.point(1.0)
            return left.multiply(right.reciprocal())
        return EVERYTHING

    def _key_without_zero_terms(self, node, recurse) -> str:
        """``node``'s key with the added terms that are exactly 0 (on the region) left out: ``a + b`` with ``b``
        pinned to 0 is ``a``."""
        while isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract)):
            if recurse(node.right) == _ZERO:
                node = node.left
            elif isinstance(node.operator, cst.Add) and recurse(node.left) == _ZERO:
                node = node.right
            else:
                break
        return self.ctx.key(node)

    def _reduced_extreme(self, node, of, as_of: int | None = None, depth: int = 0) -> str | None:
        """"max" or "min" when ``node`` is the maximum or minimum of ``of`` over some axes (through stop_gradient
        and other identities, and, given ``as_of``, a variable that holds it): every element of ``of`` is then at
        most (at least) it."""
        reduction = self._extreme_reduction(node, of, as_of, depth)
        return reduction[0] if reduction is not None else None

    def _extreme_reduction(self, node, of, as_of: int | None, depth: int = 0,
                           of_binding=_UNSET) -> tuple[str, cst.Call] | None:
        """``_reduced_extreme``'s answer with the reduction's call."""
        if depth > 5:
            return None
        if isinstance(node, cst.Name) and as_of is not None:
            # ``m = tf.reduce_max(z, -1, keepdims=True); z - m``: the ``z`` that ``m`` reduced must be the ``z``
            # read here, not an earlier value of it.
            binding = self.ctx.binding(node.value, as_of)
            if binding is None or binding.value is None:
                return None
            if isinstance(of, cst.Name):
                if of_binding is _UNSET:
                    of_binding = self.ctx.binding(of.value, as_of)
                if self.ctx.binding(of.value, binding.seq) is not of_binding:
                    return None
            return self._extreme_reduction(binding.value, of, binding.seq, depth + 1, of_binding)
        if not isinstance(node, cst.Call) or not node.args:
            return None
        names = self.ctx.qualified_names(node.func)
        first = node.args[0].value
        if names & knowledge.MAX_REDUCTIONS and self.ctx.key(first) == self.ctx.key(of):
            return "max", node
        if names & knowledge.MIN_REDUCTIONS and self.ctx.key(first) == self.ctx.key(of):
            return "min", node
        if any((function := knowledge.value_function(name)) is not None and function.kind == "identity"
               for name in names):
            return self._extreme_reduction(first, of, as_of, depth + 1, of_binding)
        return None

    def _sums_max_shifted_exp(self, node: cst.Call, as_of: int) -> bool:
        """``reduce_sum(exp(z - reduce_max(z, a, keepdims=True)), a)``, directly or through variables: every group
        the sum adds holds the element where ``z`` is the group's maximum, whose exp is exactly 1, and no term is
        negative, so the sum is at least 1.  The sum's axes must cover the maximum's: with the maximum of all of
        ``z`` and a sum per row, a row far below that maximum sums to 0 (and without ``keepdims`` the maximum
        broadcasts against the wrong axis)."""
        summed, summed_at = self._value_of(argument(node, 0, FIRST_ARGUMENT), as_of)
        if not (isinstance(summed, cst.Call) and self.ctx.qualified_names(summed.func) & knowledge.EXPS):
            return False
        exponent, exponent_at = self._value_of(argument(summed, 0, FIRST_ARGUMENT), summed_at)
        if not (isinstance(exponent, cst.BinaryOperation) and isinstance(exponent.operator, cst.Subtract)):
            return False
        reduction = self._extreme_reduction(exponent.right, exponent.left, exponent_at)
        if reduction is None or reduction[0] != "max":
            return False
        maximum = reduction[1]
        max_axis = argument(maximum, 1, ("axis", "reduction_indices"))
        sum_axis = argument(node, 1, ("axis", "reduction_indices"))
        if max_axis is None:
            return sum_axis is None  # the maximum of every element: only a sum of every element holds it
        keepdims = argument(maximum, 2, ("keepdims", "keep_dims"))
        if not (isinstance(keepdims, cst.Name) and keepdims.value == "True"):
            return False
        return sum_axis is None or self.ctx.key(max_axis) == self.ctx.key(sum_axis)

    def _value_of(self, node, as_of: int) -> tuple[cst.BaseExpression | None, int]:
        return assigned_value(self.ctx, node, as_of, hops=4)

    def _call_range(self, node: cst.Call, region: Region, as_of: int, depth: int, recurse) -> IntervalSet:
        if self.ctx.qualified_names(node.func) & knowledge.SUM_REDUCTIONS and self._sums_max_shifted_exp(node, as_of):
            return IntervalSet.compare(">=", 1.0)
        select = lambda api: self.select_range(node, api, region, as_of, depth)  # noqa: E731
        values = library_call_range(self.ctx.qualified_names(node.func), lambda position, keywords: argument(
            node, position, keywords), recurse, constant_value, select)
        if values is not None:
            return values
        first = argument(node, 0, FIRST_ARGUMENT)
        if isinstance(node.func, cst.Name) and node.func.value in ("abs", "float") and first is not None:
            inner = recurse(first)
            return _abs(inner) if node.func.value == "abs" else inner
        return EVERYTHING

    def select_range(self, node: cst.Call, api, region: Region, as_of: int, depth: int) -> IntervalSet:
        """Values of a select: each branch counts only where its side of the condition can hold."""
        cond, when_true, when_false = select_arguments(node, api)
        if cond is None or when_true is None or when_false is None:
            return EVERYTHING
        out = NOTHING
        for branch, positive in ((when_true, True), (when_false, False)):
            sub_region = conjoin(region, self.region(cond, positive, as_of, depth + 1))
            if not is_empty(sub_region):
                out = out.union(self.value_range(branch, sub_region, as_of, depth + 1))
        return out


    def _named_constant(self, node: cst.BaseExpression) -> IntervalSet:
        for name in self.ctx.qualified_names(node):
            value = knowledge.NAMED_CONSTANTS.get(name)
            if value is None:
                value = self.ctx.project_constant(name)  # ``from .config import EPS``
            if value is not None:
                return IntervalSet.point(value)
        return EVERYTHING

    def _attribute_range(self, node: cst.Attribute, recurse) -> IntervalSet:
        named = self._named_constant(node)
        if not named.is_everything():
            return named
        if node.attr.value in knowledge.FINFO_POSITIVE_ATTRIBUTES and isinstance(node.value, cst.Call) and (
                self.ctx.qualified_names(node.value.func) & knowledge.FINFO):
            return IntervalSet.compare(">", 0.0)  # np.finfo(dtype).eps, .tiny: positive
        fact = self.ctx.attribute_fact(node)
        if fact is not None:
            return fact.values
        return EVERYTHING


# Keywords of the first argument of the functions ``library_call_range`` knows.
FIRST_ARGUMENT = ("x", "x1", "value", "t", "input", "input_tensor")


def library_call_range(names, argument_of, recurse, constant_of, select=None) -> IntervalSet | None:
    """The values a call of a library function (``names``: its qualified names) can return, from its arguments'
    ranges; None when no name is one the tables say anything about.

    Shared by both syntax trees: ``argument_of(position, keywords)`` gives an argument node (None when absent),
    ``recurse(node)`` its values, ``constant_of(node)`` the number a literal spells; ``select(api)``, when given,
    decides a select's values (the analysis's regions need LibCST's tree)."""
    first = argument_of(0, FIRST_ARGUMENT)
    for name in names:
        numpy_function = knowledge.NUMPY_MONOTONE.get(name)
        if numpy_function is not None and first is not None:
            inner = recurse(first).intersect(_NUMPY_DOMAINS.get(numpy_function, EVERYTHING))
            return inner.map_monotone(lambda v, f=numpy_function: _safe_apply(f, v))
        if name in knowledge.UNIFORM_SAMPLES:  # within [minval, maxval]
            low = argument_of(99, ("minval", "low"))
            high = argument_of(99, ("maxval", "high"))
            low_values = recurse(low) if low is not None else IntervalSet.point(0.0)
            high_values = recurse(high) if high is not None else IntervalSet.point(1.0)
            return low_values.union(high_values).hull()
        if name in knowledge.POWERS and first is not None:
            exponent = argument_of(1, ("y", "x2", "a"))
            if exponent is not None:
                constant = constant_of(exponent)
                base = recurse(first)
                return power_range(base, constant) if constant is not None else tensor_power_range(
                    base, recurse(exponent))
        api = knowledge.select_api(name)
        if api:
            return select(api) if select is not None else EVERYTHING
        function = knowledge.value_function(name)
        if function is None:
            continue
        kind = function.kind
        if kind in ("range", "constant"):
            return function.result
        if kind == "relu" and first is not None:
            low, high = function.result.lo, function.result.hi
            values = _min(recurse(first).negate(), IntervalSet.point(-low)).negate()
            return _min(values, IntervalSet.point(high)) if high != math.inf else values
        if first is None:
            return EVERYTHING
        if kind in ("identity", "literal"):
            return recurse(first)
        if kind == "monotone":
            inner = recurse(first)
            return inner.intersect(_DOMAINS.get(function.fn, EVERYTHING)).map_monotone(function.fn)
        if kind == "abs":
            return _abs(recurse(first))
        if kind == "sum":  # a reduction that adds: keeps the sign of its input
            inner = recurse(first)
            for sign in (IntervalSet.compare(">=", 0.0), IntervalSet.compare("<=", 0.0)):
                if inner.within(sign):
                    return sign
            return EVERYTHING
        if kind == "hull":  # mean, max, min: within the input's hull
            return recurse(first).hull()
        if kind == "square":
            return _square(recurse(first))
        second = argument_of(1, ("y", "x2", "clip_value_min", "min_value"))
        if kind in ("minimum", "maximum") and second is not None:
            a, b = recurse(first), recurse(second)
            return _min(a, b) if kind == "minimum" else _min(a.negate(), b.negate()).negate()
        if kind == "clip":
            low = argument_of(1, ("clip_value_min", "min_value", "x_min"))
            high = argument_of(2, ("clip_value_max", "max_value", "x_max"))
            values = recurse(first)
            if low is not None:
                values = _min(values.negate(), recurse(low).negate()).negate()
            if high is not None:
                values = _min(values, recurse(high))
            return values
    return None


_ZERO = IntervalSet.point(0.0)


def _safe_apply(function, value: float) -> float:
    try:
        return function(value)
    except (ValueError, OverflowError):
        return math.inf if value > 0 else -math.inf


_NUMPY_DOMAINS = {math.log: IntervalSet.compare(">", 0.0), math.log10: IntervalSet.compare(">", 0.0),
                  math.log2: IntervalSet.compare(">", 0.0), math.sqrt: IntervalSet.compare(">=", 0.0),
                  math.log1p: IntervalSet.compare(">", -1.0)}


def select_arguments(node: cst.Call, api: knowledge.SelectApi):
    """(condition, true branch, false branch) of a select call; any may be None."""
    return tuple(
        argument(node, position if api.positional else 99, (keyword,))
        for position, keyword in enumerate(api.params)
    )


_DOMAINS = {math.log: IntervalSet.compare(">", 0.0), math.sqrt: IntervalSet.compare(">=", 0.0)}


def _abs(values: IntervalSet) -> IntervalSet:
    non_negative = values.intersect(IntervalSet.compare(">=", 0.0))
    negative = values.intersect(IntervalSet.compare("<", 0.0)).negate()
    return non_negative.union(negative)


def _square(values: IntervalSet) -> IntervalSet:
    magnitude = _abs(values)
    return magnitude.multiply(magnitude).intersect(IntervalSet.compare(">=", 0.0))


def _min(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    """Range of element-wise minimum: bounded above by both uppers, below by the lower lows."""
    if a.is_empty() or b.is_empty():
        return NOTHING
    a, b = a.hull(), b.hull()
    pa, pb = a.parts[0], b.parts[0]
    lo = min((pa.lo, not pa.lo_closed), (pb.lo, not pb.lo_closed))
    hi = min((pa.hi, pa.hi_closed), (pb.hi, pb.hi_closed))
    return IntervalSet.between(lo[0], hi[0], not lo[1], hi[1])
