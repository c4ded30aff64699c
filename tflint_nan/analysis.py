"""The static analysis: one traversal of a LibCST module that finds select calls and the risky ops their
branches evaluate on elements they discard.

For each select call (any spelling in ``knowledge.SELECTS``) and each of its two branches:

1. walk the branch expression, following local variables to the assignment that reaches the call, and collect
   the risky ops (``knowledge.RISKY_OPS``) it evaluates, with the expression that feeds each op's dangerous input;
2. compute the region of elements the select discards from that branch (``ranges.Analysis.region``);
3. compute the values the op's input can take there (``ranges.Analysis.value_range``: clamps, bounded
   activations, constants, the condition itself and nested selects -- the double where);
4. report the op when those values leave the op's safe domain, with a rewrite that is exact on the elements
   the select keeps (``rewrite.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

from . import knowledge
from .finding import Finding, Position
from .intervals import IntervalSet
from .ranges import Analysis, Binding, argument, constant_value, is_empty, select_arguments
from .rewrite import Rewriter

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
MAX_WALK_DEPTH = 60


@dataclass
class _Scope:
    kind: str  # "module", "class", "function", "lambda", "comprehension"
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    no_gradient: bool = False  # a custom_gradient body, a Metric or optimizer method
    base_kind: str | None = None  # for class scopes: "Metric" or "Optimizer" when the class derives from one

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)


@dataclass(frozen=True)
class RiskyUse:
    """A risky op that a select's branch evaluates."""

    op: knowledge.RiskyOp
    node: cst.CSTNode  # the op's call or operator expression: where the finding points
    operand: cst.BaseExpression  # the expression feeding the dangerous input
    as_of: int  # source position at which names in ``operand`` are resolved
    nesting: int  # how many nested selects lie between the select and the op
    no_gradient: bool  # inside tf.stop_gradient
    scale: float = 1.0  # the input enters the op multiplied by this (ln(base) for base ** x)


@dataclass
class _Candidate:
    use: RiskyUse
    finding: Finding


class ModuleAnalyzer(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

    def __init__(self, wrapper: MetadataWrapper, path: str, strict: bool = False):
        super().__init__()
        self.wrapper = wrapper
        self.module = wrapper.module
        self.path = path
        self.strict = strict
        self.scopes: list[_Scope] = [_Scope("module")]
        self.aliases: dict[str, str] = {}  # K = tf.keras.backend  ->  {"K": "tensorflow.keras.backend"}
        self.seq = 0
        self.stop_gradient_depth = 0
        self._keys: dict[int, str] = {}
        self._qualified: dict[int, frozenset[str]] = {}
        self._candidates: dict[int, _Candidate] = {}
        self.analysis = Analysis(self)
        self.rewriter = Rewriter(self)

    # -- results --------------------------------------------------------------------------------------------------
    def findings(self) -> list[Finding]:
        return sorted((c.finding for c in self._candidates.values()), key=Finding.sort_key)

    # -- Context protocol for ranges.Analysis ---------------------------------------------------------------------
    def qualified_names(self, node: cst.CSTNode) -> frozenset[str]:
        cached = self._qualified.get(id(node))
        if cached is not None:
            return cached
        names = set()
        for qualified in self.get_metadata(QualifiedNameProvider, node, set()):
            names.add(self._through_aliases(qualified.name) if self.aliases else qualified.name)
        result = frozenset(names)
        self._qualified[id(node)] = result
        return result

    def binding(self, name: str, as_of: int) -> Binding | None:
        for scope in reversed(self.scopes):
            if scope.kind == "class" and scope is not self.scopes[-1]:
                continue  # class bodies are not visible from their methods
            for candidate in reversed(scope.bindings.get(name, ())):
                if candidate.seq < as_of:
                    return candidate
            if name in scope.bindings:
                return None  # bound here, but only later: unknown at this point
        return None

    def key(self, node: cst.CSTNode) -> str:
        cached = self._keys.get(id(node))
        if cached is None:
            if isinstance(node, cst.Name):
                cached = node.value
            else:
                cached = "".join(self.module.code_for_node(_without_parentheses(node)).split())
            self._keys[id(node)] = cached
        return cached

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def position(self, node: cst.CSTNode) -> tuple[Position, Position]:
        span = self.get_metadata(PositionProvider, node)
        return Position(span.start.line, span.start.column), Position(span.end.line, span.end.column)

    # -- scopes and bindings ---------------------------------------------------------------------------------------
    def _tick(self) -> int:
        self.seq += 1
        return self.seq

    def _bind_target(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            self.scopes[-1].bind(target.value, Binding(value, self._tick()))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value, None)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, None)

    def leave_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind_target(target.target, node.value)
            if isinstance(target.target, cst.Name):
                self._record_alias(target.target, node.value)

    def leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind_target(node.target, node.value)

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind_target(node.target, None)

    def leave_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind_target(node.target, node.value)

    def visit_For(self, node: cst.For) -> None:
        self._bind_target(node.target, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_target(node.asname.name, None)

    def _record_alias(self, target: cst.Name, value: cst.BaseExpression) -> None:
        """``K = tf.keras.backend``: qualified-name metadata does not follow assignments, so remember them.

        Keyed by the target's own qualified name (``K`` in the module, ``f.<locals>.K`` in a function), so an alias
        assigned in a function applies in that function only.  Any other value assigned to the name ends the alias.
        """
        keys = {qualified.name for qualified in self.get_metadata(QualifiedNameProvider, target, set())}
        meaning = None
        if isinstance(value, (cst.Name, cst.Attribute)):
            meaning = next((qualified for qualified in sorted(self.qualified_names(value))
                            if not qualified.startswith("builtins.")
                            and ("." in qualified or qualified in ("tensorflow", "keras"))), None)
        for key in keys:
            if meaning is not None:
                self.aliases[key] = meaning
            elif self.aliases.pop(key, None) is None:
                continue
            self._qualified.clear()

    def _through_aliases(self, name: str) -> str:
        """``name`` with its longest dotted prefix that is an alias replaced by what the alias stands for."""
        end = len(name)
        while end > 0:
            meaning = self.aliases.get(name[:end])
            if meaning is not None:
                return meaning + name[end:]
            end = name.rfind(".", 0, end)
        return name

    def _push_function(self, kind: str, params: cst.Parameters, no_gradient: bool) -> None:
        scope = _Scope(kind, no_gradient=no_gradient or self.scopes[-1].no_gradient)
        seq = self._tick()
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            scope.bind(param.name.value, Binding(None, seq))
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.bind(star.name.value, Binding(None, seq))
        self.scopes.append(scope)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bind_target(node.name, None)
        self._push_function("function", node.params, self._is_no_gradient_function(node))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._push_function("lambda", node.params, False)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bind_target(node.name, None)
        scope = _Scope("class", no_gradient=self.scopes[-1].no_gradient)
        scope.base_kind = self._no_gradient_base(node)
        self.scopes.append(scope)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind_target(node.target, None)

    def _is_no_gradient_function(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            expression = decorator.decorator
            if isinstance(expression, cst.Call):
                expression = expression.func
            if self.qualified_names(expression) & knowledge.CUSTOM_GRADIENT:
                return True
        enclosing = self.scopes[-1]
        base_kind = enclosing.base_kind
        return enclosing.kind == "class" and base_kind is not None and (
            node.name.value in knowledge.NO_GRADIENT_METHODS[base_kind]
        )

    def _no_gradient_base(self, node: cst.ClassDef) -> str | None:
        for base in node.bases:
            names = self.qualified_names(base.value) | {self.key(base.value)}
            for kind in knowledge.NO_GRADIENT_METHODS:
                if any(name == kind or name.endswith("." + kind) for name in names):
                    return kind
        return None

    # -- select calls ---------------------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        names = self.qualified_names(node.func)
        if names & knowledge.NO_GRADIENT_CALLS:
            self.stop_gradient_depth += 1
        for name in names:
            api = knowledge.select_api(name)
            if api is not None:
                self._check_select(node, api)
                break

    def leave_Call(self, original_node: cst.Call) -> None:
        if self.qualified_names(original_node.func) & knowledge.NO_GRADIENT_CALLS:
            self.stop_gradient_depth -= 1

    # A comparison's result is boolean: no gradient flows back into its operands.
    def visit_Comparison(self, node: cst.Comparison) -> None:
        self.stop_gradient_depth += 1

    def leave_Comparison(self, original_node: cst.Comparison) -> None:
        self.stop_gradient_depth -= 1

    def _check_select(self, call: cst.Call, api: knowledge.SelectApi) -> None:
        cond, when_true, when_false = select_arguments(call, api)
        if cond is None or when_true is None or when_false is None:
            return  # the one-argument form is an index query, not a select
        no_gradient = self.scopes[-1].no_gradient or self.stop_gradient_depth > 0
        if no_gradient and not self.strict:
            return
        as_of = self._tick()
        self.analysis.reset_budget()
        for branch, is_true_branch in ((when_true, True), (when_false, False)):
            discarded = self.analysis.region(cond, not is_true_branch, as_of)
            if is_empty(discarded):
                continue  # the select never discards this branch
            for use in self._risky_uses(branch, as_of, 0, False, set(), 0):
                if use.no_gradient and not self.strict:
                    continue
                values = self.analysis.value_range(use.operand, discarded, use.as_of)
                if use.scale != 1.0:
                    values = values.multiply(IntervalSet.point(use.scale))
                if values.within(use.op.safe_domain):
                    continue
                self._report(call, api, cond, is_true_branch, use, no_gradient or use.no_gradient, as_of)

    def _report(self, call, api, cond, is_true_branch, use: RiskyUse, strict_only: bool, as_of: int) -> None:
        previous = self._candidates.get(id(use.node))
        if previous is not None and previous.use.nesting <= use.nesting:
            return  # report each op once, against its innermost select
        start, end = self.position(use.node)
        select_start, _ = self.position(call)
        fix, no_fix_reason = self.rewriter.fix(call, api, cond, is_true_branch, use, as_of)
        select_name = _shorten(self.code(call.func))
        where = f" (line {select_start.line})" if select_start.line != start.line else ""
        branch = "true" if is_true_branch else "false"
        discarded = self.rewriter.describe(cond, not is_true_branch, as_of)
        message = (
            f"{_shorten(self.code(use.node))} in the {branch} branch of {select_name}{where} is evaluated where "
            f"{discarded} and {use.op.hazard}; its gradient there is 0*inf = NaN"
        )
        if not use.op.nan_in_eager:
            message += " under XLA (jit_compile=True, the Keras 3 fit default); eager TensorFlow happens to hide it"
        message += "."
        if fix is not None:
            message += f" {fix.description}: {fix.replacement}"
        elif no_fix_reason is not None:
            message += f" No exact rewrite is known here: {no_fix_reason}."
        if strict_only:
            message += " (no gradient flows here; reported because of --strict)"
        finding = Finding(self.path, start, end, use.op.code, message, fix, strict_only,
                          no_fix_reason=no_fix_reason)
        self._candidates[id(use.node)] = _Candidate(use, finding)

    # -- risky ops inside a branch -------------------------------------------------------------------------------
    def _risky_uses(self, node, as_of: int, nesting: int, no_gradient: bool, seen: set, depth: int) -> Iterator[RiskyUse]:
        if depth > MAX_WALK_DEPTH:
            return
        walk = lambda child, a=as_of, n=nesting, g=no_gradient: self._risky_uses(child, a, n, g, seen, depth + 1)
        if isinstance(node, cst.Name):
            binding = self.binding(node.value, as_of)
            if binding is not None and binding.value is not None and id(binding) not in seen:
                seen.add(id(binding))
                yield from walk(binding.value, binding.seq)
            return
        if isinstance(node, (cst.Lambda, *_COMPREHENSIONS, cst.BaseString, cst.Integer, cst.Float, cst.Imaginary)):
            return  # lambdas run lazily (tf.cond); the rest carries no gradient
        if isinstance(node, cst.Call):
            names = self.qualified_names(node.func)
            if names & knowledge.NO_GRADIENT_CALLS:
                no_gradient = True
            for name in names:
                if knowledge.select_api(name) is not None:
                    api = knowledge.select_api(name)
                    _, when_true, when_false = select_arguments(node, api)
                    for branch in (when_true, when_false):
                        if branch is not None:
                            yield from walk(branch, as_of, nesting + 1, no_gradient)
                    return
                op = knowledge.risky_op_by_name(name)
                if op is not None:
                    yield from self._call_use(node, op, as_of, nesting, no_gradient)
                    break
            for arg in node.args:
                yield from walk(arg.value, as_of, nesting, no_gradient)
            return
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Divide):
                yield RiskyUse(knowledge.risky_op("divide"), node, node.right, as_of, nesting, no_gradient)
            elif isinstance(node.operator, cst.Power):
                use = self._power_use(node, node.left, node.right, as_of, nesting, no_gradient)
                if use is not None:
                    yield use
            yield from walk(node.left)
            yield from walk(node.right)
            return
        if isinstance(node, cst.Attribute):
            return  # x.shape, self.alpha: no tensor op on the gradient path
        # A comparison's result is boolean: its operands get no gradient.
        no_gradient = no_gradient or isinstance(node, cst.Comparison)
        for child in node.children:
            if isinstance(child, (cst.BaseExpression, cst.Arg, cst.Element, cst.SubscriptElement, cst.Index,
                                  cst.Slice, cst.ComparisonTarget)):
                yield from walk(child, as_of, nesting, no_gradient)

    def _call_use(self, node: cst.Call, op: knowledge.RiskyOp, as_of, nesting, no_gradient) -> Iterator[RiskyUse]:
        if op.key == "power_exponent":  # tf.pow(base, exponent): classify like the ** operator
            base = argument(node, 0, ("x", "x1"))
            exponent = argument(node, 1, ("y", "x2", "a"))
            if base is not None and exponent is not None:
                use = self._power_use(node, base, exponent, as_of, nesting, no_gradient)
                if use is not None:
                    yield use
            return
        operand = argument(node, op.operand.position, op.operand.keywords)
        if operand is not None:
            yield RiskyUse(op, node, operand, as_of, nesting, no_gradient)

    def _power_use(self, node, base, exponent, as_of, nesting, no_gradient) -> RiskyUse | None:
        exponent_value = constant_value(exponent)
        if exponent_value is not None:
            if exponent_value.is_integer():  # False for inf and nan (x ** 1e400)
                if exponent_value >= 0:
                    return None  # x ** 2: a polynomial, finite gradient everywhere
                return RiskyUse(knowledge.risky_op("negative_power"), node, base, as_of, nesting, no_gradient)
            return RiskyUse(knowledge.risky_op("fractional_power"), node, base, as_of, nesting, no_gradient)
        base_value = constant_value(base)
        if base_value is not None:
            if base_value == 1.0:
                return None
            if base_value > 0:
                # base ** x == exp(x * ln(base)): the exp row's domain applies to x * ln(base).
                return RiskyUse(knowledge.risky_op("power_exponent"), node, exponent, as_of, nesting, no_gradient,
                                scale=math.log(base_value))
            return RiskyUse(knowledge.risky_op("power_exponent"), node, exponent, as_of, nesting, no_gradient)
        # Both tensors: the base decides (0 ** y and negative ** fractional y).
        return RiskyUse(knowledge.risky_op("fractional_power"), node, base, as_of, nesting, no_gradient)


def _without_parentheses(node: cst.CSTNode) -> cst.CSTNode:
    """``node`` without its own parentheses, so ``(x)`` and ``x`` share a key; as it is when it needs them (``()``)."""
    if not getattr(node, "lpar", None):
        return node
    try:
        return node.with_changes(lpar=[], rpar=[])
    except cst.CSTValidationError:
        return node


def _shorten(code: str, limit: int = 60) -> str:
    code = " ".join(code.split())
    return code if len(code) <= limit else code[: limit - 3] + "..."
