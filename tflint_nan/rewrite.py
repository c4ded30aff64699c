"""The rewrite each finding suggests, and the words that describe a condition.

A rewrite changes only the risky op's dangerous input, so it is exact on the elements the select keeps:

* the clamp, for the exp family under a simple comparison of the op's input with a constant:
  ``K.exp(x)`` kept where ``x <= 0``  ->  ``K.exp(K.minimum(x, 0.))``;
* otherwise the double where, with the op's safe value on the discarded side:
  ``tf.math.log(x)`` kept where ``x > 0``  ->  ``tf.math.log(tf.where(x > 0, x, 1.))``.

Both are spelled with the module alias the user's code already uses for the op or the select.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from . import knowledge
from .finding import Edit, Fix
from .intervals import IntervalSet
from .ranges import _COMPARE_NODES, _NEGATE, argument

if TYPE_CHECKING:  # pragma: no cover
    from .analysis import ModuleAnalyzer, RiskyUse

_SYMBOLS = {symbol: symbol for symbol in _NEGATE}
_FALLBACK_MODULE = "tf"  # what the fix spells when the file has no usable alias (the fixer adds the import)


def float_literal(value: float) -> str:
    """``0.``, ``1.``, ``-1.``, ``0.5``, ``1e-07``: literals that keep a float dtype."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value)}."
    return repr(value)


class Rewriter:
    def __init__(self, analyzer: ModuleAnalyzer):
        self.analyzer = analyzer

    # -- the fix ---------------------------------------------------------------------------------------------------
    def fix(self, call, api, cond, is_true_branch: bool, use: RiskyUse, as_of: int) -> Fix | None:
        operand_code = self._code(use.operand)
        clamp = self._clamp(call, cond, is_true_branch, use, as_of)
        if clamp is not None:
            description, new_operand = "Clamp the input", f"{clamp[0]}({operand_code}, {clamp[1]})"
        else:
            guard = self._guard(call, api, cond, is_true_branch, use, operand_code)
            if guard is None:
                return None
            description, new_operand = "Guard the input with a double where", guard
        try:
            replacement_node = use.node.deep_replace(use.operand, cst.parse_expression(new_operand))
        except cst.ParserSyntaxError:
            return None
        replacement = self.analyzer.module.code_for_node(replacement_node)
        start, end = self.analyzer.position(use.operand)
        return Fix(description, " ".join(replacement.split()), (Edit(start, end, new_operand),))

    def _clamp(self, call, cond, is_true_branch: bool, use: RiskyUse, as_of: int) -> tuple[str, str] | None:
        """(minimum function, bound) when the kept elements are exactly ``input <= bound`` (or ``<``)."""
        if use.op.clamp != "upper":
            return None
        kept = self.analyzer.analysis.region(cond, is_true_branch, as_of)
        key = self.analyzer.key(use.operand)
        if set(kept) != {key}:
            return None
        values = kept[key]
        bound = values.upper_bound()
        if bound is None or values.lower_bound() is not None or len(values.parts) != 1:
            return None
        clamped = IntervalSet.compare("<=", bound[0]).multiply(IntervalSet.point(use.scale))
        if not clamped.within(use.op.safe_domain):
            return None  # a clamp at that bound would still overflow
        minimum = self._spelling(knowledge.CLAMP_FUNCTION, use.node, call)
        return minimum, float_literal(bound[0])

    def _guard(self, call, api, cond, is_true_branch: bool, use: RiskyUse, operand_code: str) -> str | None:
        # The safe value sits in the branch the outer select discards.
        safe = float_literal(use.op.safe_value)
        if not api.scalar_branches[0 if not is_true_branch else 1]:
            like = {0.0: "zeros_like", 1.0: "ones_like"}.get(use.op.safe_value, "ones_like")
            filled = f"{self._spelling(like, call)}({operand_code})"
            safe = filled if use.op.safe_value in (0.0, 1.0) else f"{safe} * {filled}"
        cond_code = self._condition_code(cond, use.as_of)
        kept, other = (operand_code, safe) if is_true_branch else (safe, operand_code)
        select = self._code(call.func)
        if api.positional:
            return f"{select}({cond_code}, {kept}, {other})"
        names = api.params
        return f"{select}({names[0]}={cond_code}, {names[1]}={kept}, {names[2]}={other})"

    def _condition_code(self, cond, as_of: int) -> str:
        """The condition as it can be written at the op: a condition variable bound only later is inlined."""
        if isinstance(cond, cst.Name):
            binding = self.analyzer.binding(cond.value, as_of + 1)
            latest = self.analyzer.binding(cond.value, 10**12)
            if binding is None and latest is not None and latest.value is not None:
                return f"({self._code(latest.value)})"
        return self._code(cond)

    def _spelling(self, function: str, *near: cst.CSTNode) -> str:
        """``function`` in the module alias used by the first of ``near`` whose module has it (K.minimum)."""
        for node in near:
            callee = node.func if isinstance(node, cst.Call) else None
            if isinstance(callee, cst.Attribute):
                for name in self.analyzer.qualified_names(callee):
                    module = name.rpartition(".")[0]
                    if module in knowledge.CLAMP_MODULES:
                        return f"{self._code(callee.value)}.{function}"
                    if module == "tensorflow.raw_ops" and isinstance(callee.value, cst.Attribute):
                        return f"{self._code(callee.value.value)}.{function}"  # tf.raw_ops.X -> tf.minimum
        return f"{_FALLBACK_MODULE}.{function}"

    def _code(self, node: cst.CSTNode) -> str:
        return " ".join(self.analyzer.module.code_for_node(node).split())

    # -- words -------------------------------------------------------------------------------------------------------
    def describe(self, cond, positive: bool, as_of: int, depth: int = 0) -> str:
        """The elements where ``cond`` is ``positive``, in words: ```x > 0```, ```mask`` is false`."""
        text = self._expression(cond, positive, as_of, depth)
        if text is not None:
            return f"`{text}`"
        return f"`{self._code(cond)}` is {'true' if positive else 'false'}"

    def _expression(self, cond, positive: bool, as_of: int, depth: int) -> str | None:
        if depth > 20:
            return None
        analyzer = self.analyzer
        if isinstance(cond, cst.Name):
            binding = analyzer.binding(cond.value, as_of)
            if binding is not None and binding.value is not None:
                return self._expression(binding.value, positive, binding.seq, depth + 1)
            return None
        if isinstance(cond, cst.Comparison) and len(cond.comparisons) == 1:
            symbol = _COMPARE_NODES.get(type(cond.comparisons[0].operator))
            if symbol is None:
                return None
            return self._comparison(cond.left, symbol, cond.comparisons[0].comparator, positive)
        if isinstance(cond, cst.UnaryOperation) and isinstance(cond.operator, (cst.BitInvert, cst.Not)):
            return self._expression(cond.expression, not positive, as_of, depth + 1)
        if isinstance(cond, (cst.BooleanOperation, cst.BinaryOperation)) and isinstance(
            cond.operator, (cst.And, cst.Or, cst.BitAnd, cst.BitOr)
        ):
            is_and = isinstance(cond.operator, (cst.And, cst.BitAnd))
            return self._junction(is_and, cond.left, cond.right, positive, as_of, depth)
        if isinstance(cond, cst.Call):
            for name in analyzer.qualified_names(cond.func):
                symbol = knowledge.COMPARISONS.get(name)
                left, right = argument(cond, 0, ("x", "x1")), argument(cond, 1, ("y", "x2"))
                if symbol is not None and left is not None and right is not None:
                    return self._comparison(left, symbol, right, positive)
                logic = knowledge.LOGICAL.get(name)
                if logic == "not" and left is not None:
                    return self._expression(left, not positive, as_of, depth + 1)
                if logic in ("and", "or") and left is not None and right is not None:
                    return self._junction(logic == "and", left, right, positive, as_of, depth)
        return None

    def _comparison(self, left, symbol: str, right, positive: bool) -> str:
        if not positive:
            symbol = _NEGATE[symbol]
        return f"{self._code(left)} {symbol} {self._code(right)}"

    def _junction(self, is_and: bool, left, right, positive: bool, as_of: int, depth: int) -> str | None:
        a = self._expression(left, positive, as_of, depth + 1)
        b = self._expression(right, positive, as_of, depth + 1)
        if a is None or b is None:
            return None
        word = "and" if is_and == positive else "or"
        return f"{a} {word} {b}"
