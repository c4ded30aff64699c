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
from functools import cached_property
from typing import Callable, Iterator

import libcst as cst
import libcst.helpers
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
    sink_rank: int = 0


@dataclass
class _Sink:
    """The node that sends the zero gradient, and what kind of sink it is (``knowledge``'s tables)."""

    node: cst.CSTNode
    # "select", "mask", "clamp", "saturation", "zero" (a root of a value 0 where its derivative is 0), "probability"
    # (the log of a probability that rounds to 0 where its derivative is 0), "index" (a gather or a slice)
    kind: str
    api: knowledge.SelectApi | None = None
    clamp: knowledge.ClampSink | None = None
    lower: object = None
    upper: object = None
    saturating: knowledge.SaturatingOp | None = None
    probability: knowledge.ProbabilityOp | None = None
    label: bool = False  # a mask that is a label, not a cast condition: XLA keeps it a product
    no_nan: bool = False  # ``multiply_no_nan``: the value is 0 where the mask is, the gradient NaN in every mode
    name: str = ""  # how messages name it, where that is not the called function: the mask factor, the division
    # An index sink's way of leaving elements out: "" (a gather or a slice), "pick" (a maximum or a minimum: ``picks``
    # is the pole value it picks, +inf or -inf), "segment" (a negative segment id), "overwrite" (replaced elements).
    leaves_out: str = ""
    picks: float = 0.0

    @property
    def rank(self) -> int:
        """Which sink an op is reported against when several meet it: the select's double where fixes it."""
        return {"select": 0, "mask": 1, "index": 2, "clamp": 3, "saturation": 4, "zero": 5, "probability": 6}[
            self.kind]


class QualifiedNames(frozenset):
    """The qualified names a node may have, iterated in sorted order.  Several may apply (``tf = tf.compat.v1``
    under an ``if``), and the analysis takes the first that matches a table; a plain set of strings would iterate in
    an order that changes with the process's hash seed, and with it the finding's wording and fix."""

    __slots__ = ()

    def __iter__(self):
        return iter(sorted(super().__iter__()))


_NO_NAMES = QualifiedNames()
_NOT_LOOKED_UP = object()


class ModuleAnalyzer(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

    def __init__(self, wrapper: MetadataWrapper, path: str, strict: bool = False, facts: ModuleFacts | None = None,
                 project: ProjectModules | None = None):
        super().__init__()
        self._visit_methods: dict[type, Callable | None] = {}  # node type -> this analyzer's visit_ method
        self._leave_methods: dict[type, Callable | None] = {}
        self.facts = facts if facts is not None else ModuleFacts()
        self.project = project if project is not None else ProjectModules(path)
        self.wrapper = wrapper
        self.module = wrapper.module
        self.path = path
        self.strict = strict
        self.scopes: list[_Scope] = [_Scope("module")]
        self.aliases: dict[str, str] = {}  # K = tf.keras.backend  ->  {"K": "tensorflow.keras.backend"}
        self.seq = 0
        self._assigned_subscripts: set[int] = set()  # ids of subscripts that are assignment targets
        self._float_types: dict[int, str] = {}  # id of a risky op's input -> the float type it computes in
        self.stop_gradient_depth = 0
        self._keys: dict[int, str] = {}
        self._qualified: dict[int, frozenset[str]] = {}
        self._candidates: dict[int, _Candidate] = {}
        self.analysis = Analysis(self)
        self.flow = GradientFlow(self, self.analysis)
        self.rewriter = Rewriter(self)

    # -- dispatch -------------------------------------------------------------------------------------------------
    # LibCST's ``on_visit`` and ``on_leave`` look ``visit_<Type>`` up by a formatted name at every node, and most
    # node types have no such method (a failed lookup raises inside ``getattr``): here it is looked up once per
    # file and node type.
    def on_visit(self, node: cst.CSTNode) -> bool:
        method = self._visit_methods.get(type(node), _NOT_LOOKED_UP)
        if method is _NOT_LOOKED_UP:
            method = self._visit_methods[type(node)] = getattr(self, f"visit_{type(node).__name__}", None)
        return method is None or method(node) is not False

    def on_leave(self, original_node: cst.CSTNode) -> None:
        method = self._leave_methods.get(type(original_node), _NOT_LOOKED_UP)
        if method is _NOT_LOOKED_UP:
            method = self._leave_methods[type(original_node)] = getattr(
                self, f"leave_{type(original_node).__name__}", None)
        if method is not None:
            method(original_node)

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
        result = QualifiedNames(names) if names else _NO_NAMES
        self._qualified[id(node)] = result
        return result

    def written_names(self, node: cst.CSTNode) -> frozenset[str]:
        """Qualified names as the file spells them (aliases expanded, project re-exports and TensorFlow's internal
        modules not resolved): ``proj.helpers.exp`` where ``qualified_names`` says ``tensorflow.exp``."""
        return QualifiedNames(self._through_aliases(qualified.name) if self.aliases else qualified.name
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

    def parameter_range(self, parameter: str) -> IntervalSet | None:
        """What every call of the innermost function in the project passes ``parameter`` (None: not known)."""
        scope = next((scope for scope in reversed(self.scopes) if scope.kind in ("function", "lambda")), None)
        if scope is None or scope.kind == "lambda":
            return None
        return self.facts.parameter_range(scope.qualname, parameter)

    def attribute_fact(self, node: cst.Attribute) -> AttributeFact | None:
        """What the class's assignments say about ``self.<name>`` in a method."""
        if not (isinstance(node.value, cst.Name) and node.value.value == "self"):
            return None
        for index in range(len(self.scopes) - 1, 0, -1):  # a function nested in a method sees the method's self
            if self.scopes[index].kind == "function" and self.scopes[index - 1].kind == "class":
                return self.facts.attribute(self.scopes[index - 1].qualname, node.attr.value)
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
            clamp = knowledge.clamp_sink(name)
            if clamp is not None:
                self._check_clamp(node, clamp)
                break
            mask = knowledge.BOOLEAN_MASKS.get(name)
            if mask is not None:
                self._check_boolean_mask(node, *mask)
                break
            indexed = knowledge.INDEX_SELECTIONS.get(name)
            if indexed is not None:
                values = argument(node, indexed.position, indexed.keywords)
                if values is not None:
                    self._check_index(_Sink(node, "index"), values)
                break
            picked = knowledge.VALUE_PICKS.get(name)
            if picked is not None:
                values = argument(node, picked[0].position, picked[0].keywords)
                if values is not None:
                    self._check_index(_Sink(node, "index", leaves_out="pick", picks=picked[1]), values)
                break
            dropping = knowledge.DROPPING_SEGMENT_REDUCTIONS.get(name)
            if dropping is not None:
                values, ids = (argument(node, operand.position, operand.keywords) for operand in dropping)
                if values is not None and ids is not None and self._may_be_negative(ids, self.seq + 1, 0):
                    self._check_index(_Sink(node, "index", leaves_out="segment"), values)
                break
            overwritten = knowledge.POSITION_OVERWRITES.get(name)
            if overwritten is not None:
                values = argument(node, overwritten.position, overwritten.keywords)
                if values is not None:
                    self._check_index(_Sink(node, "index", leaves_out="overwrite"), values)
                break
            if name in knowledge.MULTIPLY:
                left, right = argument(node, 0, ("x", "x1")), argument(node, 1, ("y", "x2"))
                if left is not None and right is not None:
                    self._check_mask_product(node, left, right)
                break
            if name in knowledge.NO_NAN_PRODUCTS:
                values, mask = argument(node, 0, ("x",)), argument(node, 1, ("y",))
                if values is not None and mask is not None:
                    self._check_mask_product(node, values, mask, no_nan=True)
                break
            if name in knowledge.NORMS:
                operand = argument(node, 0, ("tensor", "x"))
                order, axis = argument(node, 1, ("ord",)), argument(node, 2, ("axis",))
                matrix = isinstance(axis, (cst.Tuple, cst.List))  # ord=2 over two axes is the spectral norm (SVD)
                if operand is not None and (order is None or _is_euclidean(order, matrix)):
                    self._check_norm(node, operand)
                break
            op = knowledge.risky_op_by_name(name)
            if op is not None and op.key == "log":
                for use in self._call_use(node, op, self.seq + 1, 0, False):
                    self._check_log_of_probability(use)
                break
            if op is not None and (op.key in knowledge.ROOT_OPS or op.key == "power_exponent"):
                for use in self._call_use(node, op, self.seq + 1, 0, False):
                    self._check_root(use)
                break
            saturating = knowledge.saturating_op(name)
            if saturating is not None:
                operand = argument(node, saturating.operand.position, saturating.operand.keywords)
                if operand is not None:
                    self._check_saturation(node, saturating, operand)
                break

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Multiply):
            self._check_mask_product(node, node.left, node.right)
        elif isinstance(node.operator, cst.Divide):
            self._check_saturation(node, knowledge.SATURATING_DIVISION, node.right)
        elif isinstance(node.operator, cst.Power):
            use = self._power_use(node, node.left, node.right, self.seq + 1, 0, False)
            if use is not None:
                self._check_root(use)

    # -- a root of a value that is 0 where its derivative is 0 (knowledge.ZERO_FLAT_OPS) ---------------------------
    def _check_root(self, use: RiskyUse) -> None:
        """``tf.sqrt(tf.square(x) + tf.square(y))``: at 0 the root's derivative is inf and the squares' is 0."""
        if use.op.key not in knowledge.ROOT_OPS:
            return
        tensor_exponent = False
        if use.op.key == "fractional_power":
            exponent = _exponent(use.node)
            if exponent is None:
                # ``tf.pow(1. - p, gamma)``: a focal term whose exponent may lie in [0, 1), where the power's
                # derivative at 0 is inf (and 0 * inf = NaN at gamma = 0 itself, even with an upstream of 1).
                node = _exponent_node(use.node)
                if node is None or self.analysis.value_range(node, EVERYWHERE, use.as_of).intersect(
                        _ROOT_EXPONENTS).is_empty():
                    return
                tensor_exponent = True
            elif not 0 < exponent < 1:
                return  # x ** 1.5 has the derivative 0 at 0
        flat = self._zero_flat(use.operand, use.as_of, 0, set())
        if flat is None:
            return
        self._report_root(use, *flat, reduced=self._reduces(use.operand, flat[0], use.as_of, 0),
                          tensor_exponent=tensor_exponent)

    def _check_norm(self, call: cst.Call, operand) -> None:
        """``tf.norm(v)``: the root of a sum of squares, NaN in its gradient at the zero vector."""
        use = RiskyUse(knowledge.NORM_OP, call, operand, self.seq + 1, 0, False)
        self._report_root(use, call, operand, reduced=True)

    def _reduces(self, node, producer, as_of: int, depth: int) -> bool:
        """Whether a sum (``ZERO_CARRIERS``) or an addition lies between ``node`` and ``producer``."""
        if node is producer or depth > 20:
            return False
        if isinstance(node, cst.Name):
            return self._through_variable(node, as_of, lambda value, at: self._reduces(value, producer, at, depth + 1))
        if isinstance(node, cst.Call):
            if self.qualified_names(node.func) & knowledge.ZERO_CARRIERS:
                return True
            return bool(node.args) and self._reduces(node.args[0].value, producer, as_of, depth + 1)
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Add):
                return True
            return self._reduces(node.left, producer, as_of, depth + 1) or self._reduces(node.right, producer,
                                                                                          as_of, depth + 1)
        return False

    def _report_root(self, use: RiskyUse, producer, producer_input, reduced: bool,
                     tensor_exponent: bool = False) -> None:
        opened = self._open_sink(use.node)
        if opened is None:
            return
        context, as_of = opened
        values = self.analysis.value_range(use.operand, EVERYWHERE, use.as_of)
        underflow = knowledge.ZERO_FLAT_OPS.get(next(iter(self.qualified_names(producer.func)), "")) == "underflow" \
            if isinstance(producer, cst.Call) else False
        # One minus a probability rounds to exactly 0 although its exact range is positive (1 - sigmoid(x) > 0).
        rounds = isinstance(producer, cst.BinaryOperation) and isinstance(producer.operator, cst.Subtract)
        if use.op is not knowledge.NORM_OP and not underflow and not rounds and values.within(self._safe_domain(use)):
            return  # an epsilon inside the root (exp's range is positive in exact arithmetic only)
        # High: the zero is at one value of the function's own input, element by element (sqrt(abs(m)) at m = 0,
        # sqrt(exp(v)) below -87.3), or it is the difference of two inputs (a distance between identical points).
        # A norm or a sum of squares of a single vector is 0 only where every element is, which inputs and computed
        # vectors rarely are: medium.
        # A tensor exponent (a focal term's gamma) is below 1 only for some settings: medium.
        # One minus a probability of unbounded logits (``1 - softmax(z)[label]``) is 0 wherever training makes the
        # model confident: high, as for the log of that probability (TFN010).  A focal term's tensor exponent
        # counts when its own default lies in [0, 1) (``gamma=0.``: the author's setting).
        elementwise = not reduced and use.op is not knowledge.NORM_OP
        exponent_certain = not tensor_exponent or self._defaults_to_root_exponent(use.node, use.as_of)
        confidence = "high" if exponent_certain and (
            self._is_difference_of_parameters(producer_input, use.as_of, 0) or (
                elementwise and self._is_free_parameter(producer_input, use.as_of, offsets=True)) or (
                rounds and self._is_confident_probability(producer.right, use.as_of))) else "medium"
        name = "its sum of squares" if use.op is knowledge.NORM_OP else _shorten(self.code(producer))
        sink = _Sink(producer, "zero", name=name)
        reason = context or self._no_gradient_reaches(use, use.operand, EVERYWHERE, as_of)
        shown = reason is None and confidence in DEFAULT_CONFIDENCE
        if shown or self.strict:
            exp = underflow and bool(self.qualified_names(producer.func) & knowledge.risky_op("exp").names)
            fix = self.rewriter.fix_root(use, underflow, exp) if reason is None else (None, None)
            if tensor_exponent and reason is None:
                fix = (None, "clamp the base away from 0 (tf.maximum(base, 1e-7)) or clip the probability: at an "
                             "exponent of 0 the power is 1 at 0, which no double where that puts 0 there keeps")
            region = (f"where its input is below {knowledge.EXP_UNDERFLOW:.1f}, it underflows" if underflow else
                      "at the zero vector" if use.op is knowledge.NORM_OP else "where its input is 0")
            self._report(sink, use, reason, confidence, not shown, region, fix)

    def _defaults_to_root_exponent(self, power, as_of: int) -> bool:
        """``tf.pow(base, gamma)`` with ``gamma`` a parameter whose default is in [0, 1)."""
        exponent = _exponent_node(power)
        if not isinstance(exponent, cst.Name):
            return False
        binding = self.binding(exponent.value, as_of)
        return (binding is not None and binding.parameter is not None and binding.default is not None
                and IntervalSet.point(binding.default).within(_ROOT_EXPONENTS))

    def _is_confident_probability(self, node, as_of: int) -> bool:
        """A softmax or sigmoid (or the label's entry of one) of logits nothing bounds."""
        found = self._probability(node, as_of, 0, set())
        return found is not None and self._is_unbounded_logit(found[2], as_of)

    # -- the log of a probability computed by hand (knowledge.PROBABILITY_OPS) -------------------------------------
    def _check_log_of_probability(self, use: RiskyUse) -> None:
        """``tf.math.log(tf.nn.softmax(z))``: where the softmax rounds to exactly 0 its derivative is 0 too, the log
        is -inf and its gradient 1/0 * 0 = NaN."""
        found = self._probability(use.operand, use.as_of, 0, set())
        if found is None:
            return
        producer, probability, producer_input = found
        values = self.analysis.value_range(producer_input, EVERYWHERE, use.as_of)
        if probability.zero_below is not None and values.within(IntervalSet.compare(">=", probability.zero_below)):
            return  # the input never goes low enough: the probability is never 0
        if probability.zero_above is not None and values.within(IntervalSet.compare("<=", probability.zero_above)):
            return
        opened = self._open_sink(use.node)
        if opened is None:
            return
        context, as_of = opened
        # High: the probability is computed from the function's own input (or a handed callable's result) or from
        # a trained linear map's logits, which nothing bounds; other computed logits (a temperature-scaled score, a
        # module function's result) may be bounded beyond what the range analysis sees.
        confidence = "high" if self._is_unbounded_logit(producer_input, use.as_of) else "medium"
        reason = context or self._no_gradient_reaches(use, use.operand, EVERYWHERE, as_of)
        shown = reason is None and confidence in DEFAULT_CONFIDENCE
        if shown or self.strict:
            fix = self.rewriter.fix_log_of_probability(use, producer, producer_input, probability.key,
                                                       probability.builtin)
            sink = _Sink(producer, "probability", probability=probability, name=_shorten(self.code(producer)))
            self._report(sink, use, reason, confidence, not shown, probability.zero_where, fix)

    def _through_variable(self, name: cst.Name, as_of: int, check) -> bool:
        """``check(value, position)`` of the value a local variable holds as of ``as_of``; False for a parameter or an
        unknown name."""
        binding = self.binding(name.value, as_of)
        return binding is not None and binding.value is not None and check(binding.value, binding.seq)

    def _held_value(self, name: cst.Name, as_of: int, seen: set) -> tuple[cst.BaseExpression, int] | None:
        """(the value a local variable holds as of ``as_of``, the position it was bound at), once per walk (``seen``
        holds the bindings followed); None for a parameter, an unknown name or a binding already followed."""
        binding = self.binding(name.value, as_of)
        if binding is None or binding.value is None or id(binding) in seen:
            return None
        seen.add(id(binding))
        return binding.value, binding.seq

    def _probability(self, node, as_of: int, depth: int, seen: set, complemented: bool = False):
        """(the producer, its ``ProbabilityOp``, its input) when ``node`` is a probability that rounds to 0 where its
        derivative is 0: a softmax, a sigmoid, one minus a sigmoid, an exp, through variables and selections of
        entries (``ENTRY_SELECTIONS``, subscripts, one-hot picks) and selects of them; None otherwise (an epsilon
        added, a clamp: not a probability).  ``complemented``: ``node`` is what a select's ``1 - ...`` applies to
        (``1 - tf.where(c, p, q)``), and is itself the producer shown."""
        if depth > MAX_WALK_DEPTH:
            return None
        complement = None  # ``1 - sigmoid(x)``: the subtraction
        if complemented:
            complement = node
        else:
            if isinstance(node, cst.Name):
                held = self._held_value(node, as_of, seen)
                return None if held is None else self._probability(*held, depth + 1, seen)
            if isinstance(node, cst.Subscript):
                return self._probability(node.value, as_of, depth + 1, seen)
            if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract) \
                    and constant_value(node.left) == 1.0:
                complement, node = node, node.right
        if complement is not None:
            while depth < MAX_WALK_DEPTH:
                if isinstance(node, cst.Name):
                    binding = self.binding(node.value, as_of)
                    if binding is None or binding.value is None:
                        return None
                    node, as_of = binding.value, binding.seq
                else:
                    picked = self._one_hot_pick(node, as_of)
                    if picked is None:
                        break
                    node, as_of = picked
                depth += 1
        if not isinstance(node, cst.Call):
            return None
        if complement is None:
            picked = self._one_hot_pick(node, as_of)
            if picked is not None:
                return self._probability(*picked, depth + 1, seen)
        branches = self._select_branches(node)
        if branches is not None:
            # ``p_t = tf.where(y == 1, p, 1. - p)`` is each branch on the elements the condition gives it, so it is 0
            # (or, under ``1 - p_t``, 1) wherever a branch can be: the first branch that is such a probability.
            for branch in branches:
                if complement is None:
                    found = self._probability(branch, as_of, depth + 1, seen)
                elif isinstance(branch, cst.BinaryOperation) and isinstance(branch.operator, cst.Subtract) \
                        and constant_value(branch.left) == 1.0:
                    found = self._probability(branch.right, as_of, depth + 1, seen)  # 1 - (1 - q) is q
                else:
                    found = self._probability(branch, as_of, depth + 1, seen, complemented=True)
                if found is not None:
                    return found
            return None
        first = argument(node, 0, ("x", "logits", "features", "input", "params", "tensor", "a"))
        if first is None:
            return None
        for name in self.qualified_names(node.func):
            probability = knowledge.probability_op(name, complement is not None)
            if probability is not None:
                return complement or node, probability, first
            if complement is None and name in knowledge.ENTRY_SELECTIONS:
                return self._probability(first, as_of, depth + 1, seen)
        return None

    def _select_branches(self, call: cst.Call) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
        """The (true, false) branches of a select call (``knowledge.SELECTS``); None for any other call."""
        for name in self.qualified_names(call.func):
            api = knowledge.select_api(name)
            if api is not None:
                positions = (1, 2) if api.positional else (None, None)
                branches = tuple(argument(call, position, (keyword,)) if position is not None else
                                 argument(call, 99, (keyword,)) for position, keyword in zip(positions, api.params[1:]))
                return branches if all(branch is not None for branch in branches) else None
        return None

    def _one_hot_pick(self, node, as_of: int) -> tuple[cst.BaseExpression, int] | None:
        """(the values, as of when) when ``node`` sums over an axis a product of them with a one-hot encoding
        (``knowledge.ONE_HOT_PICKS``: ``tf.reduce_sum(probs * tf.one_hot(y, n), axis=1)``), which is the label's
        entry of each row, exactly; None otherwise (a label that may be soft, a sum over every axis)."""
        if not isinstance(node, cst.Call) or not self.qualified_names(node.func) & knowledge.ONE_HOT_PICKS:
            return None
        if argument(node, 1, ("axis",)) is None:
            return None  # the sum of every row's pick: not one entry
        product = argument(node, 0, ("input_tensor", "x", "a"))
        if isinstance(product, cst.Name):
            binding = self.binding(product.value, as_of)
            if binding is None or binding.value is None:
                return None
            product, as_of = binding.value, binding.seq
        if not (isinstance(product, cst.BinaryOperation) and isinstance(product.operator, cst.Multiply)):
            return None
        for values, encoding in ((product.left, product.right), (product.right, product.left)):
            if self._is_one_hot(encoding, as_of, 0):
                return values, as_of
        return None

    def _is_one_hot(self, node, as_of: int, depth: int) -> bool:
        """Whether ``node`` is a one-hot encoding (``knowledge.ONE_HOT``), through variables and casts."""
        if depth > 10:
            return False
        if isinstance(node, cst.Name):
            binding = self.binding(node.value, as_of)
            return binding is not None and binding.value is not None and self._is_one_hot(
                binding.value, binding.seq, depth + 1)
        if isinstance(node, cst.Call):
            names = self.qualified_names(node.func)
            if names & knowledge.ONE_HOT:
                return True
            return bool(names & knowledge.CASTS) and bool(node.args) and self._is_one_hot(
                node.args[0].value, as_of, depth + 1)
        return False

    def _zero_flat(self, node, as_of: int, depth: int, seen: set) -> tuple[cst.CSTNode, object] | None:
        """(the op, its input) when ``node`` is 0 exactly where the op's derivative is 0: a square or a product of a
        value with itself, an abs, an exp that underflows, and sums of these."""
        if depth > MAX_WALK_DEPTH:
            return None
        if isinstance(node, cst.Name):
            held = self._held_value(node, as_of, seen)
            return None if held is None else self._zero_flat(*held, depth + 1, seen)
        if isinstance(node, cst.Call):
            names = self.qualified_names(node.func)
            first = argument(node, 0, ("x", "input_tensor", "features"))
            if first is None:
                return None
            for name in names:
                kind = knowledge.ZERO_FLAT_OPS.get(name)
                if kind == "underflow":
                    reaches = not self.analysis.value_range(first, EVERYWHERE, as_of).within(
                        IntervalSet.compare(">=", knowledge.EXP_UNDERFLOW))
                    return (node, first) if reaches else None
                if kind is not None:
                    return node, first
                if name in knowledge.ZERO_CARRIERS:
                    return self._zero_flat(first, as_of, depth + 1, seen)
                if name in knowledge.POWERS:
                    exponent = constant_value(argument(node, 1, ("y", "x2", "a")))
                    return (node, first) if exponent is not None and exponent > 1 else None
            return None
        if isinstance(node, cst.BinaryOperation):
            operator = node.operator
            if isinstance(operator, cst.Multiply) and self.key(node.left) == self.key(node.right):
                return node, node.left
            if isinstance(operator, cst.Power):
                exponent = constant_value(node.right)
                return (node, node.left) if exponent is not None and exponent > 1 else None
            if isinstance(operator, cst.Subtract) and constant_value(node.left) == 1.0:
                # One minus a probability that rounds to exactly 1 (a sigmoid above 16.6, a softmax entry 16.6 above
                # the rest of its row), where its derivative is 0 too.
                found = self._probability(node, as_of, depth + 1, set())
                if found is None:
                    return None
                # The producer shown: the probability call that rounds, or this subtraction where that call is a
                # select's branch seen through its ``1 - ...`` (``1. - p_t`` with ``p_t = tf.where(y, p, 1. - p)``).
                return (found[0] if isinstance(found[0], (cst.Call, cst.BinaryOperation)) else node), found[2]
            if isinstance(operator, cst.Add):
                left = self._zero_flat(node.left, as_of, depth + 1, seen)
                right = self._zero_flat(node.right, as_of, depth + 1, seen)
                return left if left is not None and right is not None else None
            if isinstance(operator, (cst.Multiply, cst.Divide)):
                for side, factor in ((node.left, node.right), (node.right, node.left)):
                    scale = constant_value(factor)
                    if scale is not None and scale != 0 and (isinstance(operator, cst.Multiply) or side is node.left):
                        return self._zero_flat(side, as_of, depth + 1, seen)
        return None

    def _is_difference_of_parameters(self, node, as_of: int, depth: int) -> bool:
        """``a - b`` of two free parameters (``_is_free_parameter``), directly or through a variable."""
        if isinstance(node, cst.Name) and depth < 5:
            binding = self.binding(node.value, as_of)
            if binding is not None and binding.value is not None:
                return self._is_difference_of_parameters(binding.value, binding.seq, depth + 1)
        return (isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract)
                and self._is_free_parameter(node.left, as_of) and self._is_free_parameter(node.right, as_of))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._assigned_subscripts.add(id(node.target))  # ``t[..., -1] = v`` stores into t: no index of a value

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._assigned_subscripts.add(id(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._assigned_subscripts.add(id(node.target))

    def visit_Subscript(self, node: cst.Subscript) -> None:
        """``tf.math.log(p)[:, 0]``: a slice of a computed tensor that leaves elements out (not ``[..., None]``)."""
        if id(node) in self._assigned_subscripts:
            return
        if _leaves_elements_out(node) and self._computes_tensor(node.value, self.seq + 1, 0):
            index = self.module.code_for_node(cst.Subscript(cst.Name("_"), node.slice))[1:]
            self._check_index(_Sink(node, "index", name=_shorten(index)), node.value)

    def _computes_tensor(self, node, as_of: int, depth: int) -> bool:
        """Whether ``node`` is a tensor computed by an operator or by TensorFlow or Keras that can carry a gradient
        (``gradients.GradientFlow``), directly or as a local variable's value: what a subscript indexes element by
        element (a tuple, a list or a function's result may be a container whose items it picks; NumPy arithmetic
        has no gradient)."""
        if isinstance(node, cst.Name) and depth < 5:
            return self._through_variable(node, as_of, lambda value, at: self._computes_tensor(value, at, depth + 1))
        if isinstance(node, cst.Call) and not any(
                name.split(".")[0] in knowledge.FAMILY_ROOTS for name in self.qualified_names(node.func)):
            return False
        return isinstance(node, (cst.Call, cst.BinaryOperation)) and self.flow.carries(node, EVERYWHERE, as_of)

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

    def _sink_context(self, sink: cst.CSTNode) -> str | None:
        """Why no gradient comes back through the sink at all (a custom gradient's forward, a metric...), or None."""
        context = self.scopes[-1].no_gradient
        if context is None and self.stop_gradient_depth > 0:
            context = "the sink's result only feeds operations without a gradient"
        if context is None:
            start, _ = self.position(sink)
            context = self.facts.unused_result(start.line, start.column)
        return context

    def _open_sink(self, sink: cst.CSTNode) -> tuple[str | None, int] | None:
        """(why no gradient comes back through it, or None; the position its checks resolve names as of), or None
        when the sink needs no check (no gradient comes back and --strict is off).  Starts the range budget."""
        context = self._sink_context(sink)
        if context is not None and not self.strict:
            return None
        self.analysis.reset_budget()
        return context, self._tick()

    def _check_select(self, call: cst.Call, api: knowledge.SelectApi) -> None:
        cond, when_true, when_false = select_arguments(call, api)
        if cond is None or when_true is None or when_false is None:
            return  # the one-argument form is an index query, not a select
        opened = self._open_sink(call)
        if opened is None:
            return
        context, as_of = opened
        for branch, is_true_branch in ((when_true, True), (when_false, False)):
            self._check_discarded(_Sink(call, "select", api), cond, is_true_branch, branch, context, as_of)

    def _check_discarded(self, sink: _Sink, cond, kept_where: bool, branch, context: str | None, as_of: int) -> None:
        """Report the risky ops of ``branch`` whose inputs leave their domain where ``cond`` is not ``kept_where``
        (the elements the sink discards, to which it sends a zero gradient)."""
        discarded = self.analysis.region(cond, not kept_where, as_of)
        if is_empty(discarded):
            return  # the sink never discards these elements
        for use in self._risky_uses(branch, as_of, 0, False, set(), 0):
            if use.no_gradient and not self.strict:
                continue
            if not use.op.nan_in_eager and self._is_boolean_mask(sink.node):
                continue  # the eager kernel multiplies by the zero first, and XLA cannot compile a boolean mask
            values = self._input_values(use, discarded)
            if values.within(self._safe_domain(use)):
                continue
            reason = context or (
                "the op's result only feeds operations without a gradient" if use.no_gradient else None
            ) or self._no_gradient_reaches(use, branch, discarded, as_of)
            kept = self.analysis.region(cond, kept_where, as_of)
            confidence = self._confidence(use, cond, discarded, kept, values, as_of)
            if sink.kind != "select":
                confidence = self._in_compiled_mode(use, confidence)
            shown = reason is None and confidence in DEFAULT_CONFIDENCE
            if shown or self.strict:
                region = self.rewriter.describe(cond, not kept_where, as_of)
                if sink.kind == "select":
                    fix = self.rewriter.fix(sink.node, sink.api, cond, kept_where, use, as_of)
                else:
                    fix = self.rewriter.fix_masked(sink.node, cond, kept_where, branch, use, as_of)
                self._report(sink, use, reason, confidence, not shown, region, fix,
                             branch="true" if kept_where else "false")

    # -- the other zero-gradient sinks (knowledge.CLAMP_SINKS, BOOLEAN_MASKS, SATURATING_OPS) ----------------------
    def _check_boolean_mask(self, call: cst.Call, values: knowledge.Operand, mask: knowledge.Operand) -> None:
        tensor = argument(call, values.position, values.keywords)
        cond = argument(call, mask.position, mask.keywords)
        opened = self._open_sink(call) if tensor is not None and cond is not None else None
        if opened is not None:
            self._check_discarded(_Sink(call, "mask"), cond, True, tensor, *opened)

    def _check_mask_product(self, node: cst.CSTNode, left, right, no_nan: bool = False) -> None:
        """``tf.cast(x > 0, tf.float32) * tf.math.log(x)``: a product with a condition cast to 0/1 is a select with
        the fill 0, and its gradient to the other factor is 0 where the condition is false.  ``no_nan``:
        ``multiply_no_nan(left, right)``, whose mask is its second argument and whose value stays clean."""
        opened = None
        for mask, values in ((right, left),) if no_nan else ((left, right), (right, left)):
            condition = self._mask_condition(mask, self.seq + 1, 0)
            label = None if condition is not None else self._label(mask, self.seq + 1, 0)
            if condition is None and label is None:
                continue
            opened = opened or self._open_sink(node)
            if opened is None:
                return
            if label is not None:
                sink = _Sink(node, "mask", name=self.code(mask), label=True, no_nan=no_nan)
                self._check_label_mask(sink, values, *opened, is_label=label[1])
                continue
            cond, kept_where = condition
            sink = _Sink(node, "mask", name=self.code(mask), no_nan=no_nan)
            self._check_discarded(sink, cond, kept_where, values, *opened)

    def _mask_condition(self, node, as_of: int, depth: int) -> tuple[cst.BaseExpression, bool] | None:
        """(condition, where it keeps) when ``node`` is a condition cast to a number: ``tf.cast(c, tf.float32)``
        keeps where ``c`` holds, ``1. - tf.cast(c, ...)`` where it does not."""
        if depth > 10:
            return None
        if isinstance(node, cst.Name):
            binding = self.binding(node.value, as_of)
            if binding is None or binding.value is None:
                return None
            return self._mask_condition(binding.value, binding.seq, depth + 1)
        if isinstance(node, cst.Call) and self.qualified_names(node.func) & knowledge.CASTS:
            inner = argument(node, 0, ("x", "value"))
            if inner is not None and self._is_condition(inner, as_of, 0):
                return inner, True
            return None
        if (isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract)
                and constant_value(node.left) == 1.0):
            inner = self._mask_condition(node.right, as_of, depth + 1)
            if inner is not None:
                return inner[0], not inner[1]
        return None

    def _label(self, node, as_of: int, depth: int) -> tuple[cst.BaseExpression, bool] | None:
        """(the factor, whether it is a label) when ``node`` is a label (``knowledge.LABEL_PARAMETERS``, a one-hot
        encoding) or a padding mask (``tf.sequence_mask``, a parameter named as masks are), a cast of one or its
        complement ``1. - y``: a factor that is 0 on some elements, wherever the data says."""
        if depth > 10:
            return None
        if isinstance(node, cst.Name):
            binding = self.binding(node.value, as_of)
            if binding is None:
                return None
            if binding.value is None:
                if binding.parameter is None:
                    return None
                if node.value in knowledge.LABEL_PARAMETERS:
                    return node, True
                return (node, False) if knowledge.is_mask_name(node.value) else None
            return self._label(binding.value, binding.seq, depth + 1)
        if isinstance(node, cst.Call):
            names = self.qualified_names(node.func)
            if names & knowledge.ONE_HOT:
                return node, True
            if names & knowledge.SEQUENCE_MASKS:
                return node, False
            if names & knowledge.CASTS and node.args:
                return self._label(node.args[0].value, as_of, depth + 1)
            return None
        if (isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract)
                and constant_value(node.left) == 1.0):
            return self._label(node.right, as_of, depth + 1)
        return None

    def _check_label_mask(self, sink: _Sink, values, context: str | None, as_of: int, is_label: bool = True) -> None:
        """``y_true * tf.math.log(y_pred)``: where the label is 0 the product sends the op a zero gradient, and
        where the op is infinite there (a probability of exactly 0) the value and the gradient are 0 * inf = NaN.
        Which elements the label zeroes, the data decides: the op's input is what the code can say about.  A
        padding mask (``is_label`` False) zeroes elements as a label does, but nothing drives the op's input to its
        pole there."""
        for use in self._risky_uses(values, as_of, 0, False, set(), 0):
            if use.no_gradient and not self.strict:
                continue
            if self._input_values(use, EVERYWHERE).within(self._safe_domain(use)):
                continue  # clamped or shifted by an epsilon: never infinite
            reason = context or (
                "the op's result only feeds operations without a gradient" if use.no_gradient else None
            ) or self._no_gradient_reaches(use, values, EVERYWHERE, as_of)
            # High: a cross-entropy, the log of the function's own input (a loss's ``y_pred``): training drives the
            # probability of a class to 0 exactly where its label is 0.  Other ops, and computed inputs, meet their
            # pole where the label is 0 no more than where it is 1, as far as the code says.
            confidence = _at_most("high" if (is_label and use.op.key == "log"
                                             and self._is_opaque_input(use.operand, use.as_of)) else "medium",
                                  use.op.most_confident)
            shown = reason is None and confidence in DEFAULT_CONFIDENCE
            if shown or self.strict:
                fix = (None, f"compute the product with tf.math.xlogy({_shorten(sink.name)}, ...) for a log, or "
                             "keep the op's input in its domain where the label is 0 (a clamp, or a where on the "
                             "label)")
                self._report(sink, use, reason, confidence, not shown, f"`{_shorten(sink.name)}` is 0", fix)

    def _check_index(self, sink: _Sink, values) -> None:
        """``tf.gather(tf.math.log(p), labels)``, ``tf.sqrt(x)[:, 0]``: the elements the index leaves out are still
        computed and get a zero gradient; where the op is infinite there or has an infinite derivative, 0*inf = NaN.
        Which elements it leaves out, the data decides (as for a label): the op's input is what the code can say
        about."""
        # Only ops whose elements are the indexed elements: an op that reaches the index through a reduction, a
        # matrix product or a function's arguments (a shape, an initializer) may have no element left out.
        as_of = self.seq + 1
        uses = [use for use in self._risky_uses(values, as_of, 0, False, set(), 0)
                if (self.strict or not use.no_gradient) and self.rewriter.reaches_elementwise(values, use, as_of)]
        if not uses:
            return
        opened = self._open_sink(sink.node)
        if opened is None:
            return
        context, as_of = opened
        for use in uses:
            if self._input_values(use, EVERYWHERE).within(self._safe_domain(use)):
                continue  # clamped or shifted by an epsilon: never infinite
            direct = self._holds(values, use.node, as_of)
            if sink.leaves_out == "pick" and direct and use.op.poles and all(
                    self._is_picked(use.op, pole, sink.picks) for pole in use.op.poles):
                continue  # the maximum takes exp's inf: the value is infinite, the loss shows it
            reason = context or (
                "the op's result only feeds operations without a gradient" if use.no_gradient else None
            ) or self._no_gradient_reaches(use, values, EVERYWHERE, as_of)
            # High: a log of the function's own input taken at some entries by a gather (a cross-entropy by index,
            # ``tf.gather(tf.math.log(p), labels, batch_dims=1)``): training drives the entries it leaves out to 0.
            # A slice may leave nothing out (``[:, 0]`` of a single column), a maximum, a segment id or an overwrite
            # leaves out what the data says, and other ops, or computed inputs, meet their pole on the elements left
            # out no more than on those taken, as far as the code says.
            # A maximum leaves out exactly the smallest elements, where log and sqrt meet their pole, and a minimum
            # the largest, where exp overflows: of the function's own input, wherever the op reaches its pole on
            # some element but not on all, the pick leaves it out and the gradient is NaN.
            left_out_first = (sink.leaves_out == "pick" and use.op.poles
                              and not any(self._is_picked(use.op, pole, sink.picks) for pole in use.op.poles))
            confidence = "high" if direct and self._is_opaque_input(use.operand, use.as_of) and (
                left_out_first or use.op.key == "log" and isinstance(sink.node, cst.Call) and not sink.leaves_out
            ) else "medium"
            confidence = self._in_compiled_mode(use, confidence)
            shown = reason is None and confidence in DEFAULT_CONFIDENCE
            if shown or self.strict:
                fix = (None, None) if reason is not None else self._index_fix(sink, values, use)
                self._report(sink, use, reason, confidence, not shown, _LEFT_OUT[sink.leaves_out, sink.picks], fix)

    def _index_fix(self, sink: _Sink, values, use: RiskyUse) -> tuple:
        """Index the op's input instead (``tf.math.log(tf.gather(p, i))``); for a maximum or a minimum of an
        increasing op, take it of the input (``tf.math.log(tf.reduce_max(p))``: the same value, as the op keeps the
        order).  No exact rewrite for a segment or an overwrite: the elements they leave out are computed either
        way."""
        if not sink.leaves_out or (sink.leaves_out == "pick" and use.op.key in knowledge.INCREASING_OPS
                                   and self.qualified_names(sink.node.func) & knowledge.ORDER_KEEPING_PICKS):
            title = ("Take the maximum of the op's input instead of its value" if sink.picks > 0 else
                     "Take the minimum of the op's input instead of its value") if sink.leaves_out else None
            return self.rewriter.fix_indexed(sink.node, values, use, title)
        return None, ("the elements left out are computed whatever the order of the two: keep the op's input in its "
                      "domain there (a clamp or a where on the input), or leave them out before the op")

    @staticmethod
    def _is_picked(op: knowledge.RiskyOp, pole: float, picks: float) -> bool:
        """Whether a maximum (``picks`` +inf) or a minimum (-inf) takes the op's value at this pole: an infinity of
        its direction, or, for a minimum, a root's 0 (the least value a root has)."""
        return pole == picks or (picks < 0 and pole == 0.0 and op.key in knowledge.LEAST_AT_POLE)

    def _may_be_negative(self, node, as_of: int, depth: int) -> bool:
        """Whether code gives a segment id a negative value: a negative constant among the values it may take (a
        where's branch, a fill), a negation or a subtraction whose range the analysis cannot show to be >= 0
        (``ids - 1``; not ``ids - tf.reduce_min(ids)``).  An id that is a parameter or a computed index decides
        nothing: valid ids are the rule."""
        if depth > 10:
            return False
        value = constant_value(node)
        if value is not None:
            return value < 0
        if isinstance(node, cst.Name):
            return self._through_variable(node, as_of, lambda value, at: self._may_be_negative(value, at, depth + 1))
        if isinstance(node, (cst.List, cst.Tuple)):
            return any(self._may_be_negative(element.value, as_of, depth + 1) for element in node.elements)
        if isinstance(node, (cst.UnaryOperation, cst.BinaryOperation)):
            if self.analysis.value_range(node, EVERYWHERE, as_of).within(IntervalSet.compare(">=", 0.0)):
                return False
            if isinstance(node, cst.UnaryOperation):
                return isinstance(node.operator, cst.Minus)
            if isinstance(node.operator, cst.Subtract):
                return True
            return isinstance(node.operator, (cst.Add, cst.Multiply)) and (
                self._may_be_negative(node.left, as_of, depth + 1) or self._may_be_negative(node.right, as_of,
                                                                                           depth + 1))
        if isinstance(node, cst.Call):
            names = self.qualified_names(node.func)
            for name in names:
                api = knowledge.select_api(name)
                if api is not None:
                    branches = select_arguments(node, api)[1:]
                    return any(branch is not None and self._may_be_negative(branch, as_of, depth + 1)
                               for branch in branches)
            if names & knowledge.FILLS:
                fill = argument(node, 1, ("value", "fill_value"))
                return fill is not None and self._may_be_negative(fill, as_of, depth + 1)
            if names & knowledge.CASTS or names & knowledge.LITERALS:
                first = argument(node, 0, ("x", "value"))
                return first is not None and self._may_be_negative(first, as_of, depth + 1)
        return False

    def _holds(self, node, target, as_of: int, depth: int = 0) -> bool:
        """Whether ``node`` is ``target``, directly or as a local variable's value."""
        if node is target:
            return True
        if isinstance(node, cst.Name) and depth < 5:
            return self._through_variable(node, as_of, lambda value, at: self._holds(value, target, at, depth + 1))
        return False

    def _is_condition(self, node, as_of: int, depth: int) -> bool:
        """Whether ``node`` is a boolean tensor built from comparisons and logical operations."""
        if depth > 10:
            return False
        if isinstance(node, cst.Name):
            return self._through_variable(node, as_of, lambda value, at: self._is_condition(value, at, depth + 1))
        if isinstance(node, cst.Comparison):
            return True
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.BitInvert, cst.Not)):
            return self._is_condition(node.expression, as_of, depth + 1)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.BitAnd, cst.BitOr)):
            return self._is_condition(node.left, as_of, depth + 1) or self._is_condition(node.right, as_of,
                                                                                         depth + 1)
        if isinstance(node, cst.Call):
            names = self.qualified_names(node.func)
            return any(name in knowledge.COMPARISONS or name in knowledge.LOGICAL for name in names)
        return False

    def _check_clamp(self, call: cst.Call, sink: knowledge.ClampSink) -> None:
        """``tf.minimum(tf.exp(x), M)``: the clamp cuts off the op's pole value and sends it a zero gradient."""
        opened = self._open_sink(call) if len(call.args) <= sink.max_arguments else None
        if opened is None:
            return
        context, as_of = opened
        for index, spec in enumerate(sink.operands):
            operand = argument(call, spec.position, spec.keywords)
            if operand is None:
                continue
            if sink.symmetric:
                other_spec = sink.operands[1 - index]
                other = argument(call, other_spec.position, other_spec.keywords)
                if other is None:
                    continue
                lower = other if sink.lower is not None else None
                upper = other if sink.upper is not None else None
            else:
                lower, upper = self._bound(call, sink.lower), self._bound(call, sink.upper)
            for use, poles, direct in self._poles_reaching(operand, as_of, 0, set()):
                cut = [pole for pole in poles if self._clamp_cuts(pole, lower, upper, sink, as_of)]
                if not cut:
                    continue
                if self._input_values(use, EVERYWHERE).within(self._safe_domain(use)):
                    continue
                # High: the clamp limits the op's own value on the side of its (first) pole, and the op computes on
                # the function's own input or a graph input, shifted by anything (``exp(logp - old_logp_ph)``),
                # which nothing bounds.  A division can cross the bound through its numerator; arithmetic in
                # between (1 - exp(a)) and computed inputs (a ratio of two computed log-probabilities, a variance)
                # may be bounded for reasons the range analysis does not see.
                high = (direct and use.op.operand is knowledge.UNARY and use.op.poles[0] in cut
                        and self._is_shifted_input(use.operand, use.as_of))
                self._report_pole(_Sink(call, "clamp", clamp=sink, lower=lower, upper=upper), use, operand, context,
                                  _pole_words(cut[0]), as_of, "high" if high else "medium")

    def _bound(self, call: cst.Call, spec) -> cst.BaseExpression | float | None:
        if spec is None or isinstance(spec, float):
            return spec
        return argument(call, spec.position, spec.keywords)

    def _clamp_cuts(self, pole: float, lower, upper, sink: knowledge.ClampSink, as_of: int) -> bool:
        """Whether the clamp replaces the value ``pole`` by its bound (and so sends it a zero gradient)."""
        if pole == math.inf:
            return upper is not None
        if pole == -math.inf:
            return lower is not None
        closed = not sink.symmetric and sink.max_arguments == 1  # relu's gradient is 0 at the threshold itself
        for bound, above in ((lower, True), (upper, False)):
            if bound is None:
                continue
            values = IntervalSet.point(bound) if isinstance(bound, float) else self.analysis.value_range(
                bound, EVERYWHERE, as_of)
            if values.is_empty():
                continue
            if above and (values.lo > pole or (closed and values.lo >= pole)):
                return True
            if not above and (values.hi < pole or (closed and values.hi <= pole)):
                return True
        return False

    def _check_saturation(self, node: cst.CSTNode, op: knowledge.SaturatingOp, operand) -> None:
        """``1 / (1 + tf.exp(-x))``: an op whose derivative is 0 at an infinite input meets an exp's overflow."""
        found = [(use, poles) for use, poles, _ in self._poles_reaching(operand, self.seq + 1, 0, set())
                 if use.op.key in knowledge.SATURATION_PRODUCERS and set(poles) & set(op.at)]
        opened = self._open_sink(node) if found else None
        if opened is None:
            return
        context, as_of = opened
        for use, poles in found:
            if self._input_values(use, EVERYWHERE).within(self._safe_domain(use)):
                continue
            pole = next(pole for pole in poles if pole in op.at)
            name = "" if isinstance(node, cst.Call) else f"the division by {self.code(operand)}"
            # High: the op computes on the function's own input (``1 / (1 + exp(-x))``), on what a callable it was
            # handed returns for it (``log(self._acquisition(x))``) or on a trained linear map's logits, which
            # nothing bounds.  Computed inputs (a determinant's logs, a schedule's step ratio) may be bounded beyond
            # what the range analysis sees.
            confidence = "high" if self._is_unbounded_logit(use.operand, use.as_of) else "medium"
            self._report_pole(_Sink(node, "saturation", saturating=op, name=name), use, operand, context,
                              _pole_words(pole), as_of, confidence)

    def _is_opaque_input(self, node, as_of: int) -> bool:
        """A free parameter (``_is_free_parameter``), its elements rearranged (``tf.concat([a, b], -1)``), or what a
        callable the function was handed (a parameter, an attribute of ``self``, a cast of one) returns for it
        (``self._acquisition(x)``, ``fn(x)``), directly or through a variable: its range is as unknown as the
        parameter's.  (A function the code imports or defines is computed code, not a handed callable.)"""
        if self._is_free_parameter(node, as_of):
            return True
        if isinstance(node, cst.Name):
            binding = self.binding(node.value, as_of)
            return (binding is not None and binding.value is not None and binding.value is not node
                    and isinstance(binding.value, cst.Call) and self._is_opaque_input(binding.value, binding.seq))
        if self._rearranges_inputs(node, as_of):
            return True
        return (isinstance(node, cst.Call) and bool(node.args) and node.args[0].keyword is None
                and self._is_free_parameter(node.args[0].value, as_of) and self._is_handed_callable(node.func, as_of))

    def _is_unbounded_logit(self, node, as_of: int) -> bool:
        """The input of a softmax, a sigmoid or an exp that nothing bounds: the function's own input
        (``_is_opaque_input``) or a trained linear map's output (``_is_trained_output``)."""
        return self._is_opaque_input(node, as_of) or self._is_trained_output(node, as_of)

    def _is_trained_output(self, node, as_of: int, depth: int = 0) -> bool:
        """``tf.matmul(x, W) + b``, ``h @ w``, ``Dense(10)(h)``, ``tf.nn.conv2d(...)``, directly or through
        variables, slices, rearrangements and constant shifts and scales (``h[..., 1::2] + 2.``): logits, whose
        values training decides (``knowledge.LINEAR_MAPS``)."""
        if depth > 6:
            return False
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
            return self._is_trained_output(node.expression, as_of, depth + 1)
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.MatrixMultiply):  # ``h @ w``
                return True
            if isinstance(node.operator, cst.Add):  # a bias added to either side
                return (self._is_trained_output(node.left, as_of, depth + 1)
                        or self._is_trained_output(node.right, as_of, depth + 1))
            if isinstance(node.operator, (cst.Subtract, cst.Multiply, cst.Divide)):
                if constant_value(node.right) is not None:
                    return self._is_trained_output(node.left, as_of, depth + 1)
                return (isinstance(node.operator, cst.Multiply) and constant_value(node.left) is not None
                        and self._is_trained_output(node.right, as_of, depth + 1))
            return False
        if isinstance(node, cst.Subscript):
            return self._is_trained_output(node.value, as_of, depth + 1)
        if isinstance(node, (cst.List, cst.Tuple)):  # ``tf.concat([logits, other], -1)``: the logits' entries
            return any(self._is_trained_output(element.value, as_of, depth + 1) for element in node.elements)
        if isinstance(node, cst.Name):
            binding = self.binding(node.value, as_of)
            return (binding is not None and binding.value is not None and binding.value is not node
                    and self._is_trained_output(binding.value, binding.seq, depth + 1))
        if not isinstance(node, cst.Call):
            return False
        names = self.qualified_names(node.func)
        if names & knowledge.LINEAR_MAPS:
            return True
        if isinstance(node.func, cst.Call) and self.qualified_names(node.func.func) & knowledge.LINEAR_LAYERS:
            return True  # ``Dense(10)(h)``
        if names & knowledge.REARRANGEMENTS:
            return bool(node.args) and self._is_trained_output(node.args[0].value, as_of, depth + 1)
        written = cst.helpers.get_full_name_for_node(node.func)  # a helper of the project (``dense(h, 10)``)
        return written is not None and self.facts.call_returns_trained_output(written)

    def _is_handed_callable(self, func, as_of: int) -> bool:
        """A parameter of the enclosing function, an attribute of ``self`` (unless every assignment of it builds an
        object of a class this module defines: its own code), or a call's result (``cast(T, f)``: its argument's)."""
        if isinstance(func, cst.Name):
            binding = self.binding(func.value, as_of)
            return binding is not None and binding.parameter is not None and binding.value is None
        if isinstance(func, cst.Attribute):
            if not (isinstance(func.value, cst.Name) and func.value.value == "self"):
                return False
            fact = self.attribute_fact(func)
            return not (fact is not None and fact.built_here)
        if isinstance(func, cst.Call) and self.qualified_names(func.func) & {"typing.cast", "cast"} and len(
                func.args) == 2:
            return self._is_handed_callable(func.args[1].value, as_of)
        return isinstance(func, cst.Call)

    def _rearranges_inputs(self, node, as_of: int) -> bool:
        """``tf.concat([a, b], -1)``, ``tf.reshape(x, shape)``: only the function's own inputs' elements, moved."""
        if not isinstance(node, cst.Call) or not node.args or not (
                self.qualified_names(node.func) & knowledge.REARRANGEMENTS):
            return False
        first = node.args[0].value
        parts = [element.value for element in first.elements] if isinstance(first, (cst.List, cst.Tuple)) else [first]
        return all(self._is_free_parameter(part, as_of) for part in parts)

    def _is_free_parameter(self, node, as_of: int, offsets: bool = False) -> bool:
        """Whether ``node`` is a parameter of the enclosing function (negated or scaled by a constant; with
        ``offsets``, shifted by one too), without a default and able to carry a gradient: the function's own input,
        whose range its callers decide."""
        while True:
            if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
                node = node.expression
            elif offsets and isinstance(node, cst.BinaryOperation) and isinstance(
                    node.operator, (cst.Add, cst.Subtract)) and constant_value(node.right) is not None:
                node = node.left
            elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Multiply, cst.Divide)) \
                    and constant_value(node.right if constant_value(node.right) is not None else node.left) is not None:
                node = node.left if constant_value(node.right) is not None else node.right
            else:
                break
        if not isinstance(node, cst.Name):
            return False
        binding = self.binding(node.value, as_of)
        return (binding is not None and binding.value is None and binding.parameter is not None
                and binding.default is None and self.parameter_carries(node.value))

    def _is_shifted_input(self, node, as_of: int) -> bool:
        """The function's own input, a graph input (a placeholder) or a log-density (``dist.log_prob(a)``), plus or
        minus anything: where one side of a sum is unbounded, so is the sum (``tf.exp(self.old_logp_ph - logp)``,
        a PPO ratio)."""
        sides = [node]
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract)):
            sides += [node.left, node.right]
        return any(self._is_unbounded_input(side, as_of) for side in sides)

    def _is_unbounded_input(self, node, as_of: int) -> bool:
        if self._is_free_parameter(node, as_of):
            return True
        if isinstance(node, cst.Attribute):  # ``self.x_ph``, every assignment a placeholder
            fact = self.attribute_fact(node)
            return fact is not None and fact.fed
        call = self._call_behind(node, as_of)
        return call is not None and (
            bool(self.qualified_names(call.func) & knowledge.PLACEHOLDERS)  # ``x = tf.compat.v1.placeholder(...)``
            or isinstance(call.func, cst.Attribute) and call.func.attr.value in knowledge.LOG_DENSITY_METHODS)

    def _call_behind(self, node, as_of: int, depth: int = 0) -> cst.Call | None:
        """The call ``node`` is, or that the variable ``node`` was last assigned."""
        if isinstance(node, cst.Name) and depth < 5:
            binding = self.binding(node.value, as_of)
            if binding is not None and binding.value is not None and binding.value is not node:
                return self._call_behind(binding.value, binding.seq, depth + 1)
        return node if isinstance(node, cst.Call) else None

    def _in_compiled_mode(self, use: RiskyUse, confidence: str) -> str:
        """An XLA-only hazard of a mask or a clamp (sqrt at 0) is high only where the module compiles with XLA or
        uses Keras, whose ``fit`` compiles with XLA by default (Keras 3): eagerly and in graphs it shows nothing."""
        if confidence != "high" or use.op.nan_in_eager or self._module_may_use_xla:
            return _at_most(confidence, use.op.most_confident)
        return "medium"

    @cached_property
    def _module_may_use_xla(self) -> bool:
        code = self.rewriter.code_text()
        return "jit_compile" in code or "keras" in code

    def _report_pole(self, sink: _Sink, use: RiskyUse, operand, context: str | None, region: str, as_of: int,
                     confidence: str) -> None:
        if sink.kind == "clamp":
            confidence = self._in_compiled_mode(use, confidence)
        reason = context or (
            "the op's result only feeds operations without a gradient" if use.no_gradient else None
        ) or self._no_gradient_reaches(use, operand, EVERYWHERE, as_of)
        shown = reason is None and confidence in DEFAULT_CONFIDENCE
        if not (shown or self.strict):
            return
        if reason is not None:
            fix = (None, "no gradient reaches this op, so there is nothing to fix")
        elif sink.kind == "clamp":
            fix = self.rewriter.fix_clamped(sink.node, sink.lower, sink.upper, operand, use, as_of)
        else:
            fix = (None, f"use {sink.saturating.builtin} instead, which avoids the overflow (it agrees with the "
                         "hand-written form only up to rounding, so it is not applied automatically)")
        self._report(sink, use, reason, confidence, not shown, region, fix)

    def _poles_reaching(self, node, as_of: int, depth: int, seen: set) -> Iterator[tuple[RiskyUse, tuple, bool]]:
        """The risky ops whose pole values reach ``node`` unchanged or only scaled (``1 + exp(-x)`` is inf where
        the exp is), with the values ``node`` takes there, and whether ``node`` is the op's value itself (reached
        through variables only)."""
        if depth > MAX_WALK_DEPTH:
            return
        if isinstance(node, cst.Name):
            held = self._held_value(node, as_of, seen)
            if held is not None:
                yield from self._poles_reaching(*held, depth + 1, seen)
            return
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            for use, poles, _ in self._poles_reaching(node.expression, as_of, depth + 1, seen):
                yield use, tuple(-pole for pole in poles), False
            return
        if isinstance(node, cst.Call):
            names = self.qualified_names(node.func)
            if self._blocks_gradient(node, names):
                return
            for name in names:
                op = knowledge.risky_op_by_name(name)
                if op is not None:
                    for use in self._call_use(node, op, as_of, 0, False):
                        if use.op.poles:
                            yield use, use.op.poles, True
                    return
                carried = knowledge.INFINITY_CARRIERS.get(name)
                if carried is not None and node.args:
                    for use, poles, _ in self._poles_reaching(node.args[0].value, as_of, depth + 1, seen):
                        kept = tuple(pole for pole in poles if pole in carried)
                        if kept:
                            yield use, kept, False
                    return
            return
        if not isinstance(node, cst.BinaryOperation):
            return
        operator = node.operator
        if isinstance(operator, cst.Divide):
            use = RiskyUse(knowledge.risky_op("divide"), node, node.right, as_of, 0, False)
            yield use, use.op.poles, True
        elif isinstance(operator, cst.Power):
            use = self._power_use(node, node.left, node.right, as_of, 0, False)
            if use is not None and use.op.poles:
                yield use, use.op.poles, True
            return
        if isinstance(operator, (cst.Add, cst.Subtract)):
            for side, sign in ((node.left, 1.0), (node.right, -1.0 if isinstance(operator, cst.Subtract) else 1.0)):
                for use, poles, _ in self._poles_reaching(side, as_of, depth + 1, seen):
                    infinite = tuple(sign * pole for pole in poles if math.isinf(pole))
                    if infinite:  # inf plus a finite value is inf; a finite pole is moved by the other side
                        yield use, infinite, False
        elif isinstance(operator, (cst.Multiply, cst.Divide)):
            sides = ((node.left, node.right),) if isinstance(operator, cst.Divide) else (
                (node.left, node.right), (node.right, node.left))
            for side, factor in sides:
                scale = constant_value(factor)
                if scale is None or scale == 0 or math.isinf(scale) or math.isnan(scale):
                    continue
                for use, poles, _ in self._poles_reaching(side, as_of, depth + 1, seen):
                    yield use, tuple(pole * math.copysign(1.0, scale) if math.isinf(pole) else pole
                                     for pole in poles), False

    def _input_values(self, use: RiskyUse, region) -> IntervalSet:
        """The values the op's input takes on ``region``, its constants as the op's float type holds them."""
        self.analysis.float_type = self._float_type(use)
        try:
            values = self.analysis.value_range(use.operand, region, use.as_of)
        finally:
            self.analysis.float_type = knowledge.DEFAULT_FLOAT
        return values.multiply(IntervalSet.point(use.scale)) if use.scale != 1.0 else values

    def _safe_domain(self, use: RiskyUse) -> IntervalSet:
        return knowledge.safe_domain(use.op, self._float_type(use))

    def _float_type(self, use: RiskyUse) -> str:
        """float16 where the module sets Keras's ``mixed_float16`` policy (its layers compute in float16) or the op's
        input is cast to float16, directly or through local variables; else float32."""
        if self._module_computes_in_float16:
            return "float16"
        key = id(use.operand)
        known = self._float_types.get(key)
        if known is None:
            known = self._float_types[key] = "float16" if self._is_float16(use.operand, use.as_of, 0) else (
                knowledge.DEFAULT_FLOAT)
        return known

    @cached_property
    def _module_computes_in_float16(self) -> bool:
        return knowledge.FLOAT16_POLICY in self.rewriter.code_text()

    def _is_float16(self, node, as_of: int, depth: int) -> bool:
        if depth > 8:
            return False
        if isinstance(node, cst.Name):
            return self._through_variable(node, as_of, lambda value, at: self._is_float16(value, at, depth + 1))
        if isinstance(node, cst.Call):
            dtypes = [arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value == "dtype"]
            is_cast = bool(self.qualified_names(node.func) & knowledge.CASTS)
            if is_cast and len(node.args) > 1 and node.args[1].keyword is None:
                dtypes.append(node.args[1].value)
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "astype" and node.args:
                dtypes.append(node.args[0].value)
            if dtypes:
                return any(self._names_float16(dtype) for dtype in dtypes)
            return any(self._is_float16(arg.value, as_of, depth + 1) for arg in node.args[:1])
        if isinstance(node, cst.BinaryOperation):
            return self._is_float16(node.left, as_of, depth + 1) or self._is_float16(node.right, as_of, depth + 1)
        if isinstance(node, cst.UnaryOperation):
            return self._is_float16(node.expression, as_of, depth + 1)
        return False

    def _names_float16(self, dtype) -> bool:
        if isinstance(dtype, cst.SimpleString):
            return dtype.evaluated_value in knowledge.FLOAT16_NAMES
        return bool(self.qualified_names(dtype) & knowledge.FLOAT16_NAMES) or self.code(dtype).rsplit(".", 1)[-1] in (
            "float16", "half")

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
        """How strongly the code says the discarded elements reach the op's bad domain (see knowledge.CONFIDENCE),
        at most what the op allows (``RiskyOp.most_confident``)."""
        confidence = self._select_confidence(use, cond, discarded, kept, values, as_of)
        return _at_most(confidence, use.op.most_confident)

    def _select_confidence(self, use: RiskyUse, cond, discarded, kept, values: IntervalSet, as_of: int) -> str:
        read = self.flow.names(use.operand, use.as_of)
        # A condition that keeps a single value of a variable the input reads (``n`` near 1) is about that value,
        # not about the op's domain: that ``log(n)`` is safe near 1 says nothing about where the select puts it.
        keeps_one_value = any(_pinned(kept[name]) for name in read & kept.keys())
        if not keeps_one_value:
            domain = self._safe_domain(use)
            if values != self._input_values(use, EVERYWHERE) and not values.within(
                    self._input_values(use, kept).union(domain)):
                return "high"  # the condition sends unsafe inputs to the discarded elements that the kept never get
            if self._input_values(use, kept).within(domain) and not self._is_select(use.operand, use.as_of):
                # The condition keeps the input in its domain on the kept elements, and only there.  (An input that
                # is itself a select is a guard: its fill, not the condition, decides the discarded elements.)
                return "high"
        if any((_pinned(discarded[name]) and self._pin_reaches_bad_domain(use, discarded, kept, name))
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

    def _is_select(self, node, as_of: int, depth: int = 0) -> bool:
        """Whether ``node`` is a select call, directly or as a local variable's value."""
        if isinstance(node, cst.Name) and depth < 5:
            binding = self.binding(node.value, as_of)
            if binding is not None and binding.value is not None:
                return self._is_select(binding.value, binding.seq, depth + 1)
        return isinstance(node, cst.Call) and any(
            knowledge.select_api(name) is not None for name in self.qualified_names(node.func))

    def _pin_reaches_bad_domain(self, use: RiskyUse, discarded, kept, name: str) -> bool:
        """Whether the value the condition pins ``name`` to is what sends the input out of its domain: with ``name``
        at the pin the input is certainly unsafe, or takes an unsafe value that it never takes on the kept elements.
        The pin (``n`` within 1e-5 of 1) is the cause for ``1 - n`` and for ``log(p)`` pinned at ``p == 0``, not
        where what makes the input unsafe is another, unconstrained variable (``pow(b, n - 1)`` is about 1;
        ``a / (a + b)`` pinned at ``b == 0`` is as unsafe for every other ``b``)."""
        pinned = discarded[name]
        centre = dict(discarded)
        centre[name] = IntervalSet.point((pinned.lo + pinned.hi) / 2)
        at_pin = self._input_values(use, centre)
        if at_pin.is_empty():
            return False
        if at_pin.intersect(self._safe_domain(use)).is_empty():
            return True  # at the pin the input is certainly unsafe (``1 - n`` is 0)
        return not at_pin.within(self._input_values(use, kept).union(self._safe_domain(use)))

    def _report(self, sink: _Sink, use: RiskyUse, reason: str | None, confidence: str, strict_only: bool,
                region: str, fix: tuple, branch: str = "") -> None:
        previous = self._candidates.get(id(use.node))
        if previous is not None and (previous.finding.strict_only, previous.sink_rank, previous.use.nesting) <= (
                strict_only, sink.rank, use.nesting):
            # Report each op once: against a sink whose finding is shown by default before one only --strict shows,
            # then against its innermost select, before any other sink.
            return
        start, end = self.position(use.node)
        sink_start, sink_end = self.position(sink.node)
        if reason is not None:
            fix = (None, "no gradient reaches this op, so there is nothing to fix")
        code = {"select": use.op.code, "clamp": knowledge.CLAMP_CODE, "mask": knowledge.MASK_CODE,
                "saturation": knowledge.SATURATION_CODE, "zero": knowledge.ROOT_AT_ZERO_CODE,
                "probability": knowledge.LOG_OF_PROBABILITY_CODE, "index": knowledge.INDEX_CODE}[sink.kind]
        finding = Finding(
            self.path, start, end, code, "", fix[0], strict_only, no_fix_reason=fix[1],
            op=_shorten(self.code(use.node)), sink=_shorten(sink.name or self._sink_name(sink.node)),
            sink_start=sink_start,
            sink_end=sink_end, sink_kind=sink.kind, branch=branch, region=region,
            hazard=_ROOT_HAZARD if sink.kind == "zero" and use.op is not knowledge.NORM_OP else knowledge.hazard(
                use.op, self._float_type(use)),
            xla_only=not use.op.nan_in_eager and sink.kind not in ("saturation", "zero", "probability"),
            not_under_xla=(sink.kind == "mask" and use.op.nan_in_eager and not self._is_boolean_mask(sink.node)
                           and not sink.label and not sink.no_nan) or (
                sink.probability is not None and sink.probability.xla_simplifies),
            value_shows=sink.kind == "probability" or (sink.kind == "mask" and not sink.no_nan
                                                         and not self._is_boolean_mask(sink.node)),
            confidence=confidence,
            no_gradient=reason,
            float_type=self._float_type(use),
        )
        self._candidates[id(use.node)] = _Candidate(use, finding.rendered(), sink.rank)

    def _is_boolean_mask(self, node: cst.CSTNode) -> bool:
        return isinstance(node, cst.Call) and any(name in knowledge.BOOLEAN_MASKS
                                                  for name in self.qualified_names(node.func))

    def _sink_name(self, node: cst.CSTNode) -> str:
        if isinstance(node, cst.Call):
            return self.code(node.func)
        return self.code(node)

    # -- risky ops inside a branch -------------------------------------------------------------------------------
    def _risky_uses(self, node, as_of: int, nesting: int, no_gradient: bool, seen: set, depth: int) -> Iterator[RiskyUse]:
        if depth > MAX_WALK_DEPTH:
            return
        walk = lambda child, a=as_of, n=nesting, g=no_gradient: self._risky_uses(child, a, n, g, seen, depth + 1)
        if isinstance(node, cst.Name):
            held = self._held_value(node, as_of, seen)
            if held is not None:
                yield from walk(*held)
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


_ROOT_HAZARD = "has an infinite derivative at 0"
# Where an index sink sends its zero gradient, by its way of leaving elements out (``_Sink.leaves_out``, ``picks``).
_LEFT_OUT = {
    ("", 0.0): "the elements it leaves out",
    ("pick", math.inf): "the elements that are not the maximum",
    ("pick", -math.inf): "the elements that are not the minimum",
    ("segment", 0.0): "the elements whose segment id is negative",
    ("overwrite", 0.0): "the elements it overwrites",
}


def _leaves_elements_out(node: cst.Subscript) -> bool:
    """Whether a subscript may take only some elements: anything but ``:``, ``::-1``, ``...``, ``None`` and
    ``tf.newaxis`` in every position."""
    for element in node.slice:
        index = element.slice
        if isinstance(index, cst.Slice):
            lower = None if index.lower is None else constant_value(index.lower)
            if (index.lower is not None and lower != 0.0) or index.upper is not None or (
                    index.step is not None and constant_value(index.step) not in (1.0, -1.0)):
                return True
        elif not (isinstance(index.value, cst.Ellipsis) or (isinstance(index.value, cst.Name)
                                                             and index.value.value == "None")
                  or (isinstance(index.value, cst.Attribute) and index.value.attr.value == "newaxis")):
            return True
    return False


def _is_euclidean(order, matrix: bool) -> bool:
    """``ord`` of a norm that is the root of a sum of squares: "euclidean", "fro", and 2 for a vector (1, inf and a
    matrix's 2, the spectral norm, have no such root)."""
    if isinstance(order, cst.SimpleString):
        return order.evaluated_value in ("euclidean", "fro")
    return constant_value(order) == 2.0 and not matrix


def _exponent(node) -> float | None:
    if isinstance(node, cst.BinaryOperation):
        return constant_value(node.right)
    if isinstance(node, cst.Call):
        exponent = argument(node, 1, ("y", "x2", "a"))
        return constant_value(exponent) if exponent is not None else None
    return None


def _exponent_node(node) -> cst.BaseExpression | None:
    if isinstance(node, cst.BinaryOperation):
        return node.right
    if isinstance(node, cst.Call):
        return argument(node, 1, ("y", "x2", "a"))
    return None


# Exponents p for which x ** p has an infinite derivative at x = 0 (or 0 * inf, at p = 0).
_ROOT_EXPONENTS = IntervalSet.between(0.0, 1.0, True, False)


def _pole_words(pole: float) -> str:
    return {math.inf: "its value is inf", -math.inf: "its value is -inf"}.get(pole, f"its value is {pole:g}")


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


_CONFIDENCE_ORDER = ("low", "medium", "high")


def _at_most(confidence: str, most: str) -> str:
    return min(confidence, most, key=_CONFIDENCE_ORDER.index)


def _shorten(code: str, limit: int = 60) -> str:
    code = " ".join(code.split())
    return code if len(code) <= limit else code[: limit - 3] + "..."
