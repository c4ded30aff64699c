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
from .finding import DEFAULT_CONFIDENCE, Finding, Position
from .gradients import UNKNOWN_NAME, AttributeFact, GradientFlow, ModuleFacts
from .intervals import IntervalSet
from .project import ProjectModules
from .ranges import EVERYWHERE, Analysis, Binding, RiskyUse, argument, constant_value, is_empty, select_arguments
from .rewrite import Rewriter

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
MAX_WALK_DEPTH = 60


@dataclass
class _Scope:
    kind: str  # "module", "class", "function", "lambda", "comprehension"
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    no_gradient: str | None = None  # why code here is never differentiated (a custom_gradient body, a metric...)
    qualname: str = ""  # the function's or class's qualified name, as CPython spells ``__qualname__``

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)


@dataclass
class _Candidate:
    use: RiskyUse
    finding: Finding


class ModuleAnalyzer(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

    def __init__(self, wrapper: MetadataWrapper, path: str, strict: bool = False, facts: ModuleFacts | None = None,
                 project: ProjectModules | None = None):
        super().__init__()
        self.facts = facts if facts is not None else ModuleFacts()
        self.project = project if project is not None else ProjectModules(path)
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
        self.flow = GradientFlow(self, self.analysis)
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
            name = self._through_aliases(qualified.name) if self.aliases else qualified.name
            names.add(self.project.resolve(name) or name)
        result = frozenset(names)
        self._qualified[id(node)] = result
        return result

    def written_names(self, node: cst.CSTNode) -> frozenset[str]:
        """Qualified names as the file spells them (aliases expanded, project re-exports and TensorFlow's internal
        modules not resolved): ``proj.helpers.exp`` where ``qualified_names`` says ``tensorflow.exp``."""
        return frozenset(self._through_aliases(qualified.name) if self.aliases else qualified.name
                         for qualified in self.get_metadata(QualifiedNameProvider, node, set()))

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

    def project_constant(self, name: str) -> float | None:
        """The number a module of the project binds to ``name`` (``project.ProjectModules.constant``)."""
        return self.project.constant(name)

    def parameter_carries(self, parameter: str) -> bool:
        """Whether a parameter of the innermost function may receive a value with a gradient."""
        scope = next((scope for scope in reversed(self.scopes) if scope.kind in ("function", "lambda")), None)
        if scope is None or scope.kind == "lambda":
            return True
        return self.facts.parameter_carries(scope.qualname, parameter)

    def attribute_fact(self, node: cst.Attribute) -> AttributeFact | None:
        """What the class's assignments say about ``self.<name>`` in a method."""
        if not (isinstance(node.value, cst.Name) and node.value.value == "self"):
            return None
        for index in range(len(self.scopes) - 1, 0, -1):
            if self.scopes[index].kind == "function":
                enclosing = self.scopes[index - 1]
                return self.facts.attribute(enclosing.qualname, node.attr.value) if enclosing.kind == "class" else None
        return None

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def position(self, node: cst.CSTNode) -> tuple[Position, Position]:
        span = self.get_metadata(PositionProvider, node)
        return Position(span.start.line, span.start.column), Position(span.end.line, span.end.column)

    # -- scopes and bindings ---------------------------------------------------------------------------------------
    def _tick(self) -> int:
        self.seq += 1
        return self.seq

    def _bind_target(self, target: cst.BaseExpression, value: cst.BaseExpression | None,
                     unpacked_from: cst.BaseExpression | None = None) -> None:
        if isinstance(target, cst.Name):
            self.scopes[-1].bind(target.value, Binding(value, self._tick(), unpacked_from=unpacked_from))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value, None, value if value is not None else unpacked_from)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, None, unpacked_from)

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

    def _qualname(self, name: str) -> str:
        parent = self.scopes[-1]
        if parent.kind == "module":
            return name
        return f"{parent.qualname}.<locals>.{name}" if parent.kind in ("function", "lambda") else (
            f"{parent.qualname}.{name}")

    def _push_function(self, kind: str, params: cst.Parameters, no_gradient: str | None, name: str) -> None:
        scope = _Scope(kind, no_gradient=no_gradient or self.scopes[-1].no_gradient, qualname=self._qualname(name))
        seq = self._tick()
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            default = constant_value(param.default) if param.default is not None else None
            scope.bind(param.name.value, Binding(None, seq, param.name.value, default))
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.bind(star.name.value, Binding(None, seq))
        self.scopes.append(scope)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bind_target(node.name, None)
        self._push_function("function", node.params, self._no_gradient_reason(node), node.name.value)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._push_function("lambda", node.params, None, "<lambda>")

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bind_target(node.name, None)
        scope = _Scope("class", no_gradient=self.scopes[-1].no_gradient, qualname=self._qualname(node.name.value))
        self.scopes.append(scope)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind_target(node.target, None)

    def _no_gradient_reason(self, node: cst.FunctionDef) -> str | None:
        """Why the function's body is never differentiated (``gradients.ModuleFacts``), or None."""
        for decorator in node.decorators:
            expression = decorator.decorator
            if isinstance(expression, cst.Call):
                expression = expression.func
            if self.qualified_names(expression) & knowledge.CUSTOM_GRADIENT:
                return "the forward pass of a custom gradient"
        return self.facts.function_reason(self._qualname(node.name.value))

    # -- select calls ---------------------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        names = self.qualified_names(node.func)
        if self._blocks_gradient(node, names):
            self.stop_gradient_depth += 1
        for name in names:
            api = knowledge.select_api(name)
            if api is not None:
                self._check_select(node, api)
                break

    def leave_Call(self, original_node: cst.Call) -> None:
        if self._blocks_gradient(original_node, self.qualified_names(original_node.func)):
            self.stop_gradient_depth -= 1

    def _blocks_gradient(self, call: cst.Call, names: frozenset[str]) -> bool:
        """Whether no gradient flows from the call's result back into its arguments."""
        if names & knowledge.NO_GRADIENT_RESULTS:
            return True
        return bool(names & knowledge.CASTS) and not self.flow.carries(call, EVERYWHERE, self.seq)

    # A comparison's result is boolean: no gradient flows back into its operands.
    def visit_Comparison(self, node: cst.Comparison) -> None:
        self.stop_gradient_depth += 1

    def leave_Comparison(self, original_node: cst.Comparison) -> None:
        self.stop_gradient_depth -= 1

    def _check_select(self, call: cst.Call, api: knowledge.SelectApi) -> None:
        cond, when_true, when_false = select_arguments(call, api)
        if cond is None or when_true is None or when_false is None:
            return  # the one-argument form is an index query, not a select
        context = self.scopes[-1].no_gradient
        if context is None and self.stop_gradient_depth > 0:
            context = "the select's result only feeds operations without a gradient"
        if context is None:
            start, _ = self.position(call)
            context = self.facts.unused_result(start.line, start.column)
        if context is not None and not self.strict:
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
                values = self._input_values(use, discarded)
                if values.within(use.op.safe_domain):
                    continue
                reason = context or (
                    "the op's result only feeds operations without a gradient" if use.no_gradient else None
                ) or self._no_gradient_reaches(use, branch, discarded, as_of)
                kept = self.analysis.region(cond, is_true_branch, as_of)
                confidence = self._confidence(use, cond, discarded, kept, values, as_of)
                shown = reason is None and confidence in DEFAULT_CONFIDENCE
                if shown or self.strict:
                    self._report(call, api, cond, is_true_branch, use, reason, confidence, not shown, as_of)

    def _input_values(self, use: RiskyUse, region) -> IntervalSet:
        values = self.analysis.value_range(use.operand, region, use.as_of)
        return values.multiply(IntervalSet.point(use.scale)) if use.scale != 1.0 else values

    def _no_gradient_reaches(self, use: RiskyUse, branch, discarded, as_of: int) -> str | None:
        """Why the 0*inf computed at the op cannot reach anything trainable, or None when it can.

        The NaN appears in the gradient of the op's inputs (and, where the op's value is infinite, of whatever
        multiplies it in the branch); it matters only if one of those carries a gradient on the discarded elements.
        """
        if any(self.flow.carries(operand, discarded, use.as_of) for operand in _op_inputs(use.node)):
            return None
        if self.flow.carries(branch, discarded, as_of):
            return None
        return "no input of the op carries a gradient on the discarded elements"

    def _confidence(self, use: RiskyUse, cond, discarded, kept, values: IntervalSet, as_of: int) -> str:
        """How strongly the code says the discarded elements reach the op's bad domain (see knowledge.CONFIDENCE)."""
        if values != self._input_values(use, EVERYWHERE) and not values.within(
                self._input_values(use, kept).union(use.op.safe_domain)):
            return "high"  # the condition sends unsafe inputs to the discarded elements that the kept never get
        read = self.flow.names(use.operand, use.as_of)
        if any((_pinned(discarded[name]) and self._pin_reaches_bad_domain(use, discarded, name))
               or discarded[name].is_everything() for name in read & discarded.keys()):
            # The condition singles out degenerate values of a variable the input is computed from (and at those
            # values the input is unsafe), or discards every value it can take.
            return "high"
        condition_reads = self.flow.names(cond, as_of)
        if UNKNOWN_NAME in read or UNKNOWN_NAME in condition_reads:
            return "high"  # too long to follow: nothing shows the condition is unrelated
        if read & condition_reads:
            return "medium"
        return "low"

    def _pin_reaches_bad_domain(self, use: RiskyUse, discarded, name: str) -> bool:
        """Whether, with ``name`` at the value the condition pins it to, the input can still be unsafe: the pin
        (``n`` within 1e-5 of 1) is the cause only if the input is unsafe there (``1 - n``), not if what makes it
        unsafe is another, unconstrained variable (``pow(b, n - 1)`` is about 1)."""
        pinned = discarded[name]
        centre = dict(discarded)
        centre[name] = IntervalSet.point((pinned.lo + pinned.hi) / 2)
        return not self._input_values(use, centre).within(use.op.safe_domain)

    def _report(self, call, api, cond, is_true_branch, use: RiskyUse, reason: str | None, confidence: str,
                strict_only: bool, as_of: int) -> None:
        previous = self._candidates.get(id(use.node))
        if previous is not None and previous.use.nesting <= use.nesting:
            return  # report each op once, against its innermost select
        start, end = self.position(use.node)
        select_start, select_end = self.position(call)
        if reason is None:
            fix, no_fix_reason = self.rewriter.fix(call, api, cond, is_true_branch, use, as_of)
        else:
            fix, no_fix_reason = None, "no gradient reaches this op, so there is nothing to fix"
        select_name = _shorten(self.code(call.func))
        finding = Finding(
            self.path, start, end, use.op.code, "", fix, strict_only, no_fix_reason=no_fix_reason,
            op=_shorten(self.code(use.node)), sink=select_name, sink_start=select_start, sink_end=select_end,
            branch="true" if is_true_branch else "false", region=self.rewriter.describe(cond, not is_true_branch, as_of),
            hazard=use.op.hazard, xla_only=not use.op.nan_in_eager, confidence=confidence, no_gradient=reason,
        )
        self._candidates[id(use.node)] = _Candidate(use, finding.rendered())

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
            if self._blocks_gradient(node, names):
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


# A condition that confines a variable to an interval this narrow singles out a degenerate case (``count == 0``,
# ``abs(n - 1) < 1e-5``): the case a formula breaks on, and the reason the author wrote the select.
PINNED_WIDTH = 1e-3


def _pinned(values: IntervalSet) -> bool:
    return not values.is_empty() and values.hi - values.lo <= PINNED_WIDTH


def _op_inputs(node: cst.CSTNode) -> list[cst.BaseExpression]:
    """The expressions an op reads: a call's arguments, an operator's operands."""
    if isinstance(node, cst.BinaryOperation):
        return [node.left, node.right]
    if isinstance(node, cst.Call):
        return [arg.value for arg in node.args]
    return []


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
