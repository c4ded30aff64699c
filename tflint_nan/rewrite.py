"""The rewrite each finding suggests, and the words that describe a condition.

A rewrite changes only the risky op's dangerous input, so it is exact on the elements the select keeps:

* the clamp, for the exp family under a simple comparison of the op's input with a constant:
  ``K.exp(x)`` kept where ``x <= 0``  ->  ``K.exp(K.minimum(x, 0.))``;
* otherwise the double where, with the op's safe value on the discarded side:
  ``tf.math.log(x)`` kept where ``x > 0``  ->  ``tf.math.log(tf.where(x > 0, x, 1.))``.

Both are spelled in the file's own dialect: the module alias its code already uses for the op or the select
(``K.``, ``tf.math.``, ``ops.``, ``tnp.``, bare names), the same select function for the inner where, float
literals that take the tensor's dtype, and ``ones_like``/``zeros_like`` where a select needs tensor branches.
An import is added (as an edit of the fix) only when no usable name exists.

A rewrite is offered only when it is known to be exact; otherwise the finding says why (``NoRewrite``):

* the op's result must reach the select through element-wise steps: a reduction or reshape in between mixes
  discarded elements into kept ones, and the rewritten input would change kept values;
* the names the rewrite repeats at the op (the condition, the select) must mean there what they mean at the
  select: not reassigned in between;
* a variable that carries the op to the select must have no other use, which the rewrite would change too;
* a condition that calls something with possible side effects or cost (``tf.random.uniform(...) > p``) is not
  repeated: it is hoisted into a variable before the statement, or, where that would change when it runs, the
  finding is left unfixed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import libcst as cst

from . import knowledge
from .finding import Edit, Fix, Position
from .intervals import IntervalSet
from .ranges import _COMPARE_NODES, _NEGATE, RiskyUse, argument, assigned_value, constant_value, select_arguments
from .visiting import child_nodes

if TYPE_CHECKING:  # pragma: no cover
    from .project import ProjectModules
    from .ranges import Analysis, Binding


class AnalyzedModule(Protocol):
    """What a rewrite reads of the analysis of its module (``analysis.ModuleAnalyzer`` provides it)."""

    module: cst.Module
    analysis: Analysis
    project: ProjectModules

    def qualified_names(self, node: cst.CSTNode) -> frozenset[str]: ...

    def written_names(self, node: cst.CSTNode) -> frozenset[str]: ...

    def binding(self, name: str, as_of: int) -> Binding | None: ...

    def key(self, node: cst.CSTNode) -> str: ...

    def position(self, node: cst.CSTNode) -> tuple[Position, Position]: ...

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)
_LOOPS = (cst.For, cst.While)
# Nodes a risky op's result may pass through on its way to the select without mixing elements (calls are checked
# against knowledge.ELEMENTWISE separately).
_TRANSPARENT = (cst.UnaryOperation, cst.Comparison, cst.ComparisonTarget, cst.Arg, cst.Element, cst.IfExp,
                cst.List, cst.Tuple)
_MAX_PATH_DEPTH = 60
_MAX_DESCRIPTION = 200  # characters of a condition put into words; longer ones are quoted as written
HOISTED_CONDITION_NAME = "mask"

# What an operand is known to be (``Rewriter._kind``), for the dtype a rewrite must keep.
_FLOAT, _TENSOR, _PY_FLOAT, _UNKNOWN = "floating tensor", "tensor", "Python float", "unknown"
# Risky ops that accept only floating input: TensorFlow's kernels reject integers (keras.ops and tnp promote them).
_FLOAT_ONLY_OPS = frozenset({"exp", "expm1", "cosh", "sinh", "log", "log1p", "lgamma", "sqrt", "keras_backend_sqrt",
                             "rsqrt", "acos", "atanh", "acosh"})
_PROMOTING = knowledge.KERAS_OPS + knowledge.TNP  # their functions and select promote integer input to floats
_TENSOR_MODULES = frozenset(
    (*knowledge.TF_TOP, *knowledge.TF_MATH, *knowledge.TF_NN, *knowledge.RAW, *knowledge.KERAS_OPS, *knowledge.TNP,
     *knowledge.KERAS_BACKEND, "tensorflow.dtypes", "tensorflow.random", "tensorflow.linalg"))
_KERAS_CONFIG = frozenset((*knowledge.KERAS_BACKEND, "keras.config", "tensorflow.keras.config"))
# Functions of those modules that return something other than a tensor (or a tensor of a shape, not a value).
_NOT_TENSORS = frozenset({
    "executing_eagerly", "is_tensor", "get_static_value", "floatx", "int_shape", "ndim", "dtype", "get_value",
    "eval", "image_data_format", "learning_phase", "backend", "is_keras_tensor", "count_params", "shape", "size",
    "rank", "epsilon", "function", "name_scope", "device", "print", "as_dtype", "is_sparse", "standardize_dtype",
})
# Functions whose result is floating whatever their (valid) input.
_FLOAT_RESULTS = frozenset({
    "exp", "expm1", "log", "log1p", "log2", "log10", "lgamma", "digamma", "sqrt", "rsqrt", "cosh", "sinh", "acos",
    "asin", "atanh", "acosh", "arccos", "arcsin", "arctanh", "arccosh", "sigmoid", "tanh", "sin", "cos", "tan",
    "softplus", "softmax", "log_softmax", "log_sigmoid", "erf", "erfc", "elu", "selu", "gelu", "silu", "swish",
    "softsign", "Exp", "Log", "Sqrt", "Rsqrt", "Log1p", "Expm1",
})
# Element-wise functions whose result has their tensor arguments' dtype (a Python float argument becomes float32).
_KIND_OF_ARGUMENTS = frozenset({
    "abs", "negative", "square", "minimum", "maximum", "clip_by_value", "clip", "identity", "stop_gradient", "round",
    "floor", "ceil", "sign", "add", "subtract", "multiply", "pow", "power", "relu", "relu6", "convert_to_tensor",
    "constant", "ones_like", "zeros_like", "divide", "truediv", "true_divide",
})
_DIVIDES = frozenset({"divide", "truediv", "true_divide"})  # true division: floating even for integer tensors
_FLOAT_DTYPES = frozenset({"float16", "float32", "float64", "bfloat16", "half", "double", "float"})


def _meet(a: str, b: str) -> str:
    """What is known of a value that is either ``a`` or ``b``."""
    if a == b:
        return a
    return _TENSOR if {a, b} == {_FLOAT, _TENSOR} else _UNKNOWN


_SMALLEST_NORMAL = 1.1754943508222875e-38  # float32: a smaller positive bound would be flushed or lose precision
_LOG_SMALLEST_NORMAL = math.log(_SMALLEST_NORMAL)


def _float_bound(bound) -> float | None:
    if isinstance(bound, float):
        return bound
    return constant_value(bound) if bound is not None else None


def _round_up(value: float) -> float:
    """Four significant digits, rounded away from the outer clamp's bound (the margin is 1, in log space)."""
    return float(f"{value:.4g}") if float(f"{value:.4g}") >= value - 0.5 else value


def _round_down(value: float) -> float:
    rounded = float(f"{value:.3g}")
    return rounded if rounded <= value * 1.5 else value


class NoRewrite(Exception):
    """No rewrite is known to be exact at this finding; the message says why."""


def float_literal(value: float) -> str:
    """``0.``, ``1.``, ``-1.``, ``0.5``, ``1e-07``: literals that keep a float dtype."""
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value)}."
    return repr(value)


def shorten(code: str, limit: int = 40) -> str:
    code = " ".join(code.split())
    return code if len(code) <= limit else code[: limit - 3] + "..."


_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class _Text:
    """A piece of rewritten code: ``source`` goes into the file (verbatim user text, comments and line breaks
    included); ``display`` is the same code on one line, for messages."""

    source: str
    display: str
    edits: tuple[Edit, ...] = ()  # edits elsewhere that this piece needs: an import, a hoisted condition
    note: str = ""  # what those edits do, for the fix's description


class Rewriter:
    def __init__(self, analyzer: AnalyzedModule):
        self.analyzer = analyzer
        self._index: _ModuleIndex | None = None
        self._imports: _Imports | None = None
        self._line_starts: list[int] | None = None
        self._module_code: str | None = None
        self._kinds: dict[tuple[int, int, int], str] = {}

    # -- the fix ---------------------------------------------------------------------------------------------------
    def fix(self, call, api, cond, is_true_branch: bool, use: RiskyUse, as_of: int) -> tuple[Fix | None, str | None]:
        """The exact rewrite of ``use``'s input, or None and the reason there is none."""
        try:
            return self._fix(call, api, cond, is_true_branch, use, as_of), None
        except NoRewrite as reason:
            return None, str(reason)

    def _fix(self, call, api, cond, is_true_branch: bool, use: RiskyUse, as_of: int) -> Fix:
        branch = select_arguments(call, api)[1 if is_true_branch else 2]
        self._check_path(branch, use, as_of)
        self._require_same_meaning(call.func, as_of, use, call, "the select")
        operand = _Text(self._source(use.operand), self._code(use.operand))
        clamp = self._clamp(call, cond, is_true_branch, use, as_of)
        if clamp is not None:
            minimum, bound = clamp
            prefix = _Text(f"{minimum.source}(", f"{minimum.display}(")
            suffix = _Text(f", {bound})", f", {bound})")
            description, extra_edits = "Clamp the input" + minimum.note, minimum.edits
        else:
            condition = self._condition_at_op(call, cond, use, as_of)
            safe = self._safe_value(call, api, is_true_branch, use, operand)
            keeps_when_true = is_true_branch
            if not is_true_branch and api.true_literal_is_float32 and self._is_literal(safe, use):
                # tf.where(c, 1., x) raises in a graph for a float64 x: the fill goes in the false branch instead.
                condition, keeps_when_true = self._negated(condition, call), True
            prefix, suffix = self._guard(call, api, keeps_when_true, condition, safe)
            description = "Guard the input with a double where" + condition.note + safe.note
            extra_edits = condition.edits + safe.edits
        return self._input_edit(use, operand, prefix, suffix, description, extra_edits)

    def fix_masked(self, sink, cond, kept_where: bool, values, use: RiskyUse, as_of: int
                   ) -> tuple[Fix | None, str | None]:
        """A mask (``tf.cast(c, tf.float32) * op``, ``tf.boolean_mask(op, c)``): guard the op's input with a where
        on the mask's condition, so the discarded elements compute the op at its safe value."""
        try:
            self._check_path(values, use, as_of)
            operand = _Text(self._source(use.operand), self._code(use.operand))
            where, where_module = self._where_spelling(use)
            condition = self._condition_at_op(sink, cond, use, as_of)
            safe = self._safe_value(sink, knowledge.SELECTS[0], kept_where, use, operand,
                                    select_promotes=where_module in _PROMOTING, near=use.node,
                                    literal_is_float32=where_module not in _PROMOTING)
            if not kept_where and where_module not in _PROMOTING and self._is_literal(safe, use):
                # tf.where(c, 1., x) raises in a graph for a float64 x: the fill goes in the false branch instead.
                condition, kept_where = self._negated(condition, use.node), True
            if kept_where:
                prefix = _Text(f"{where.source}({condition.source}, ", f"{where.display}({condition.display}, ")
                suffix = _Text(f", {safe.source})", f", {safe.display})")
            else:
                prefix = _Text(f"{where.source}({condition.source}, {safe.source}, ",
                               f"{where.display}({condition.display}, {safe.display}, ")
                suffix = _Text(")", ")")
            description = "Guard the input with a where on the mask's condition" + where.note + condition.note + (
                safe.note)
            return self._input_edit(use, operand, prefix, suffix, description,
                                    where.edits + condition.edits + safe.edits), None
        except NoRewrite as reason:
            return None, str(reason)

    def fix_indexed(self, sink, values, use: RiskyUse, title: str | None = None) -> tuple[Fix | None, str | None]:
        """An index of the op's value (``tf.gather(tf.math.log(p), i)``, ``tf.sqrt(x)[:, 0]``): index the op's input
        instead, ``tf.math.log(tf.gather(p, i))``.  Exact for an element-wise op whose other arguments are constants
        (they broadcast alike): every element taken is the same, and the ones left out are never computed."""
        try:
            if values is not use.node:
                raise NoRewrite("the op's value reaches the index through other operations or a variable: index the "
                                "op's input instead (tf.math.log(tf.gather(p, i)) for tf.gather(tf.math.log(p), i))")
            others = ([use.node.left, use.node.right] if isinstance(use.node, cst.BinaryOperation)
                      else [arg.value for arg in use.node.args])
            if any(other is not use.operand and constant_value(other) is None for other in others):
                raise NoRewrite("the op has other tensor inputs, which the index would have to take too: index each "
                                "of them instead of the op's value")
            whole = self.code_text()
            start, end = self._span(sink)
            values_start, values_end = self._span(values)
            operand_start, operand_end = self._span(use.operand)
            text = (whole[values_start:operand_start] + whole[start:values_start] + whole[operand_start:operand_end]
                    + whole[values_end:end] + whole[operand_end:values_end])
            replacement = self._code(use.node.deep_replace(use.operand, sink.deep_replace(values, use.operand)))
            return Fix(title or "Index the op's input instead of its value", replacement,
                       (Edit(self._position(start), self._position(end), text),)), None
        except NoRewrite as reason:
            return None, str(reason)

    def _where_spelling(self, use: RiskyUse) -> tuple[_Text, str]:
        """``where`` next to the op (``tf.where`` for ``tf.math.log``, ``ops.where`` for ``ops.sqrt``) through an
        import the file has, or a new one; with the module it is from."""
        imports = self._module_imports()
        preferred = [module for module in ("keras.ops", "tensorflow.experimental.numpy")
                     if self._in_family((use.node,), (module,))] + ["tensorflow", "keras.ops"]
        for module in preferred:
            spelled = imports.spelling(module, "where")
            if spelled is not None:
                return _Text(spelled, spelled), module
        return self._spelling("where", knowledge.WHERE_MODULES, use.node), preferred[0]

    def fix_clamped(self, sink, lower, upper, clamped, use: RiskyUse, as_of: int) -> tuple[Fix | None, str | None]:
        """A clamp of the op's value (``tf.minimum(tf.exp(x), M)``): clamp the op's input too, at a bound whose
        value the outer clamp still cuts off, so every value stays what it was and the op never reaches its pole."""
        try:
            path = self._path(clamped, use.node, as_of, set(), 0)
            if path is None or any(not isinstance(node, cst.Name) for node, _ in path[:-1]):
                raise NoRewrite("the op's value reaches the clamp through other operations, so no clamp of its "
                                "input is known to keep the clamped values")
            for node, binding in path[:-1]:
                self._require_single_use(node, binding)
            function, bound = self._input_clamp(use, lower, upper)
            if not self._literal_keeps_dtype(use, select_promotes=self._op_promotes(use)):
                raise NoRewrite(self._dtype_reason(use, _Text(self._source(use.operand), self._code(use.operand)),
                                                   sink))
            spelled = self._spelling(function, knowledge.CLAMP_MODULES, use.node, sink)
            operand = _Text(self._source(use.operand), self._code(use.operand))
            prefix = _Text(f"{spelled.source}(", f"{spelled.display}(")
            suffix = _Text(f", {bound})", f", {bound})")
            return self._input_edit(use, operand, prefix, suffix, "Clamp the op's input as well" + spelled.note,
                                    spelled.edits), None
        except NoRewrite as reason:
            return None, str(reason)

    def fix_log_of_probability(self, use: RiskyUse, producer: cst.Call, producer_input, key: str,
                               builtin: str) -> tuple[Fix | None, str | None]:
        """The log of a probability op written by hand, ``tf.math.log(tf.nn.softmax(z, -1))``: the built-in that
        never rounds the probability to 0, ``tf.nn.log_softmax(z, -1)`` (``log(1 - sigmoid(x))``:
        ``log_sigmoid(-x)``), spelled through the alias the probability op is written with.  An unsafe fix: the
        built-in agrees with the hand-written form only up to rounding."""
        unsafe = (None, f"use {builtin} instead, which never rounds the probability to 0 (it agrees with the "
                        "hand-written form only up to rounding, so it is not applied automatically)")
        complement = key.startswith("one_minus_")
        if use.operand is not producer:
            return unsafe  # through a variable or a selection: the log's operand is not the call itself
        if complement:  # the producer is ``1 - sigmoid(x)``
            producer = producer.right if isinstance(producer, cst.BinaryOperation) else None
            if not isinstance(producer, cst.Call):
                return unsafe
        callee = self._code(producer.func)
        if not _DOTTED.fullmatch(callee):
            return unsafe
        for name in sorted(self.analyzer.qualified_names(producer.func)):
            target = knowledge.STABLE_LOGS.get((key, name))
            if target is None:
                continue
            head, _, _ = callee.partition(".")
            module = ".".join(name.split(".")[:name.count(".") + 1 - callee.count(".")])  # what ``head`` stands for
            if not target.startswith(module + "."):
                continue
            spelled = head + target[len(module):]
            if complement:
                if len(producer.args) != 1 or producer.args[0].keyword is not None:
                    return unsafe
                argument = self._source(producer_input)
                negated = f"-{argument}" if isinstance(producer_input, (cst.Name, cst.Attribute, cst.Call,
                                                                         cst.Subscript)) else f"-({argument})"
                text = f"{spelled}({negated})"
            else:  # the built-in takes the probability op's arguments as written: ``(z, axis=-1)``
                _, callee_end = self._span(producer.func)
                text = spelled + self.code_text()[callee_end:self._offset(self.analyzer.position(producer)[1])]
            start, end = self._span(use.node)
            display = " ".join(text.split())
            edit = Edit(self._position(start), self._position(end), text)
            return Fix("Use the built-in", display, (edit,), applicability="unsafe"), None
        return unsafe

    def fix_root(self, use: RiskyUse, underflow: bool, exp: bool = False) -> tuple[Fix | None, str | None]:
        """A root of a value that is 0 where its derivative is 0: the double where on that value, so the root sees
        1 instead of 0 and its result there is the exact 0 it was: ``tf.where(s > 0., tf.sqrt(tf.where(s > 0., s,
        1.)), 0.)``."""
        try:
            if use.op is knowledge.NORM_OP:
                raise NoRewrite("a norm computes its sum of squares inside: compute `s = tf.reduce_sum(tf.square(v), "
                                "axis)` and take `tf.where(s > 0., tf.sqrt(tf.where(s > 0., s, 1.)), 0.)`, or use "
                                "tf.math.l2_normalize for v / norm(v)")
            operand = use.operand
            if underflow and exp:
                raise NoRewrite("the root of an exp is an exp of half the exponent: tf.exp(0.5 * x) has no 0 to meet")
            if underflow:
                raise NoRewrite("the root's input underflows to exactly 0, with a zero derivative, far below 0: put "
                                "an epsilon large enough for the dtype inside the root (it changes values near 0), "
                                "or clamp the input from below")
            if not isinstance(operand, cst.Name):
                raise NoRewrite("the double where repeats the root's input three times: assign it to a variable "
                                "first (`s = ...`), then take `tf.where(s > 0., tf.sqrt(tf.where(s > 0., s, 1.)), 0.)`")
            where, _ = self._where_spelling(use)
            value = self._code(operand)
            source_value = self._source(operand)
            test = source_test = f"{value} > 0."
            start, end = self._span(use.node)
            operand_start, operand_end = self._span(operand)
            whole = self.code_text()
            inner = (whole[start:operand_start] + f"{where.source}({source_test}, {source_value}, 1.)"
                     + whole[operand_end:end])
            text = f"{where.source}({source_test}, {inner}, 0.)"
            guarded = cst.parse_expression(f"{where.display}({test}, {value}, 1.)")
            display_inner = use.node.deep_replace(operand, guarded)
            display = f"{where.display}({test}, {self.analyzer.module.code_for_node(display_inner)}, 0.)"
            return Fix("Take the root only where its input is positive (a double where)" + where.note,
                       " ".join(display.split()),
                       (Edit(self._position(start), self._position(end), text), *_unique(where.edits))), None
        except NoRewrite as reason:
            return None, str(reason)

    def _input_clamp(self, use: RiskyUse, lower, upper) -> tuple[str, str]:
        """(``minimum``/``maximum``, bound) for the input: the op's value at the bound is beyond the outer clamp's
        own bound by a margin, so the outer clamp still replaces it, and the bound is a normal float32 number."""
        key = use.op.key
        outer = upper if key in ("exp", "expm1") else lower
        value = _float_bound(outer)
        if value is None:
            raise NoRewrite("the clamp's bound is not a constant, so the matching clamp of the op's input cannot be "
                            "computed: clamp the input to where the op is finite")
        if key == "exp" and 0 < value < math.exp(87.0):
            return "minimum", float_literal(_round_up(math.log(value) + 1.0))
        if key == "expm1" and -1 < value < math.exp(87.0):
            return "minimum", float_literal(_round_up(math.log1p(value) + 1.0))
        if key == "log" and value - 1.0 > _LOG_SMALLEST_NORMAL:
            return "maximum", float_literal(_round_down(math.exp(value - 1.0)))
        if key in ("sqrt", "keras_backend_sqrt") and value > 0 and (value / 2) ** 2 >= _SMALLEST_NORMAL:
            return "maximum", float_literal(_round_down((value / 2) ** 2))
        raise NoRewrite("clamp the op's input to where it is finite (no clamp of the input at a bound this far out "
                        "keeps every clamped value exactly, so none is applied automatically)")

    def _input_edit(self, use: RiskyUse, operand: _Text, prefix: _Text, suffix: _Text, description: str,
                    extra_edits) -> Fix:
        display = prefix.display + operand.display + suffix.display
        try:
            replacement_node = use.node.deep_replace(use.operand, cst.parse_expression(display))
        except cst.ParserSyntaxError:
            raise NoRewrite("the rewritten expression does not parse") from None
        replacement = " ".join(self.analyzer.module.code_for_node(replacement_node).split())
        start, end = self._span(use.operand)
        edit = Edit(self._position(start), self._position(end), prefix.source + operand.source + suffix.source,
                    keeps=len(prefix.source))
        return Fix(description, replacement, (edit, *_unique(extra_edits)))

    def _clamp(self, call, cond, is_true_branch: bool, use: RiskyUse, as_of: int) -> tuple[_Text, str] | None:
        """(minimum function, bound) when the kept elements are exactly ``input <= bound`` (or ``<``)."""
        if use.op.clamp != "upper":
            return None
        kept = {key: values for key, values in self.analyzer.analysis.region(cond, is_true_branch, as_of).items()
                if not key.startswith("?")}  # the condition's own value says nothing about the input
        key = self.analyzer.key(use.operand)
        if set(kept) != {key}:
            return None
        values = kept[key]
        bound = values.upper_bound()
        if bound is None or values.lower_bound() is not None or len(values.parts) != 1:
            return None
        clamped = IntervalSet.compare("<=", bound[0]).multiply(IntervalSet.point(use.scale))
        if not clamped.within(knowledge.safe_domain(use.op)):
            return None  # a clamp at that bound would still overflow
        if bound[1] and self._in_family((use.node, call), knowledge.KERAS_OPS):
            # Where x == bound is kept, minimum's gradient must go to x.  TensorFlow's does; JAX (a Keras 3
            # backend) splits it half and half between the two arguments, so keras.ops code gets the double where.
            return None
        if not self._same_meaning(use.operand, use.as_of, self._condition_as_of(cond, as_of)):
            return None
        if not self._literal_keeps_dtype(use, select_promotes=self._op_promotes(use)):
            return None  # the double where, with a fill of the operand's own dtype (or the reason there is none)
        try:
            minimum = self._spelling(knowledge.CLAMP_FUNCTION, knowledge.CLAMP_MODULES, use.node, call)
        except NoRewrite:
            return None
        return minimum, float_literal(bound[0])

    @staticmethod
    def _is_literal(safe: _Text, use: RiskyUse) -> bool:
        return safe.source == float_literal(use.op.safe_value)

    def _negated(self, condition: _Text, near) -> _Text:
        """``logical_not(condition)``: exact for every element, NaN comparisons included (``x > 0`` turned into
        ``x <= 0`` would differ where x is NaN)."""
        function = self._spelling("logical_not", knowledge.LOGICAL_NOT_MODULES, near)
        return _Text(f"{function.source}({condition.source})", f"{function.display}({condition.display})",
                     condition.edits + function.edits, condition.note + function.note)

    def _guard(self, call, api, is_true_branch: bool, condition: _Text, safe: _Text) -> tuple[_Text, _Text]:
        """The inner select around the input, as the text before and after it."""
        select = self._code(call.func)

        def pieces(cond: str, safe_value: str) -> tuple[str, str]:
            if api.positional:
                if is_true_branch:
                    return f"{select}({cond}, ", f", {safe_value})"
                return f"{select}({cond}, {safe_value}, ", ")"
            names = api.params
            if is_true_branch:
                return f"{select}({names[0]}={cond}, {names[1]}=", f", {names[2]}={safe_value})"
            return f"{select}({names[0]}={cond}, {names[1]}={safe_value}, {names[2]}=", ")"

        source = pieces(condition.source, safe.source)
        display = pieces(condition.display, safe.display)
        return _Text(source[0], display[0]), _Text(source[1], display[1])

    def _safe_value(self, call, api, is_true_branch: bool, use: RiskyUse, operand: _Text,
                    select_promotes: bool | None = None, near=None, literal_is_float32: bool | None = None) -> _Text:
        """What the inner select feeds the op instead of a discarded input: a float literal where that keeps the
        program's dtypes (the operand is a floating tensor, or the op converts it as the select would), otherwise a
        tensor of the operand's own dtype and shape (``ones_like``), or no rewrite (see ``_dtype_policy``).  Where
        a literal in the select's true branch would be float32 whatever the operand's dtype (``tf.where`` in a
        graph), a variable gets ``ones_like`` there, and any other operand the literal, which the caller moves to
        the false branch by negating the condition (no expression is written twice)."""
        literal = float_literal(use.op.safe_value)
        scalar_allowed = api.scalar_branches[0 if not is_true_branch else 1]
        if literal_is_float32 is None:
            literal_is_float32 = api.true_literal_is_float32
        if not all(api.scalar_branches) and self._kind(use.operand, use.as_of, use.node) not in (_FLOAT, _TENSOR):
            # K.switch reads its branches' rank: a Python number (or a fill shaped like one) would not do.
            raise NoRewrite(f"{self._guard_site(call)} needs tensor branches of the condition's rank, and "
                            f"`{shorten(operand.display)}` is not known to be a tensor (it may be a Python number): "
                            "make it a tensor first (`tf.convert_to_tensor`, `tf.cast`)")
        if select_promotes is None:
            select_promotes = self._in_family((call,), _PROMOTING)
        if scalar_allowed and self._literal_keeps_dtype(use, select_promotes=select_promotes):
            if is_true_branch or not literal_is_float32 or not isinstance(use.operand, cst.Name):
                return _Text(literal, literal)
            try:  # ones_like(x) in the true branch: exact in every dtype, and reads as the idiom
                return self._fill(use, operand, near if near is not None else call)
            except NoRewrite:
                return _Text(literal, literal)  # no name for ones_like: the caller moves the literal instead
        if not self._fill_keeps_dtype(use):
            raise NoRewrite(self._dtype_reason(use, operand, call))
        if not self._is_cheap(use.operand):
            if scalar_allowed:
                raise NoRewrite(f"`{shorten(operand.display)}` is not known to be a floating tensor, so the guard "
                                "needs a fill of its own dtype, and `ones_like` of it would evaluate it twice")
            raise NoRewrite(f"{self._guard_site(call)} needs a tensor on the discarded side, and shaping it like "
                            f"`{shorten(operand.display)}` would evaluate that twice")
        return self._fill(use, operand, near if near is not None else call)

    def _fill(self, use: RiskyUse, operand: _Text, near) -> _Text:
        """The op's safe value as a tensor of the operand's dtype and shape: ``ones_like(x)``, ``zeros_like(x)``."""
        literal = float_literal(use.op.safe_value)
        like = {0.0: "zeros_like", 1.0: "ones_like"}.get(use.op.safe_value, "ones_like")
        function = self._spelling(like, knowledge.FILL_MODULES, near)
        source, display = f"{function.source}({operand.source})", f"{function.display}({operand.display})"
        if use.op.safe_value not in (0.0, 1.0):
            source, display = f"{literal} * {source}", f"{literal} * {display}"
        return _Text(source, display, function.edits, function.note)

    # -- dtypes: a rewrite must run wherever the original runs -----------------------------------------------------
    # The guard and the clamp put the operand through a select or ``minimum`` together with a fill.  That turns a
    # Python number into a tensor and makes TensorFlow check the two dtypes against each other, so:
    #
    # * a float literal (``1.``, ``0.``) is used where the operand is known to be a floating tensor (it takes the
    #   tensor's dtype), or where the op itself accepts only floating input and converts the operand as the select
    #   would: TensorFlow's exp, log, sqrt... reject integers (the original fails too) and make a Python float a
    #   float32 tensor, as ``tf.where(c, 0.5, 1.)`` does; ``keras.ops``/``tnp`` ops promote integers to floats,
    #   and so does their own select, so ``ops.log(ops.where(c, n, 1.))`` has the dtype ``ops.log(n)`` had;
    # * otherwise ``ones_like(operand)`` (``zeros_like``), which has the operand's own dtype: exact for a tensor of
    #   any dtype (an integer divisor stays integer: ``int / int`` is still truediv to float64), and for the
    #   float-only ops also for a Python number (``ones_like(0.5)`` is the float32 the op would make of it);
    # * otherwise no rewrite: an operand that may be a Python number (a parameter, ``1. - p``) of a division or a
    #   power cannot be guarded without changing its dtype (``tf.where(c, 5, 1.)`` raises; ``ones_like(5)`` is an
    #   int32 tensor, which a float tensor cannot divide; ``tf.where(c, 0.5, 1.)`` is float32, which a float64
    #   tensor cannot divide), and the finding says how to make it a tensor first.
    def _literal_keeps_dtype(self, use: RiskyUse, select_promotes: bool) -> bool:
        kind = self._kind(use.operand, use.as_of, use.node)
        if kind == _FLOAT:
            return True
        if not self._float_only(use):
            return False
        if not self._op_promotes(use):
            return True  # TensorFlow's kernel rejects integers; a Python float becomes float32 either way
        return select_promotes or kind == _PY_FLOAT

    def _float_only(self, use: RiskyUse) -> bool:
        """Whether the op fails on integer input and makes a Python float a float32 tensor, as the guard does:
        exp, log, sqrt..., and ``tf.pow(x, 0.5)`` (its float literal cannot become an integer tensor; the
        operator ``x ** 0.5`` is not: Python computes it for a Python number)."""
        if use.op.key in _FLOAT_ONLY_OPS:
            return True
        if use.op.key in ("fractional_power", "negative_power") and isinstance(use.node, cst.Call):
            exponent = argument(use.node, 1, ("y", "x2", "a"))
            while isinstance(exponent, cst.UnaryOperation) and isinstance(exponent.operator, (cst.Minus, cst.Plus)):
                exponent = exponent.expression
            return isinstance(exponent, cst.Float) and argument(use.node, 0, ("x", "x1")) is use.operand
        return False

    def _fill_keeps_dtype(self, use: RiskyUse) -> bool:
        return self._float_only(use) or self._kind(use.operand, use.as_of, use.node) in (_FLOAT, _TENSOR)

    def _op_promotes(self, use: RiskyUse) -> bool:
        """Whether the op is a keras.ops/tnp function, which computes integer input in a floating dtype."""
        return self._in_family((use.node,), _PROMOTING)

    def _guard_site(self, sink) -> str:
        """How a reason names where the guard goes: the select's function, or the mask's where."""
        return self._code(sink.func) if isinstance(sink, cst.Call) and not isinstance(sink.func, cst.Call) and (
            any(knowledge.select_api(name) for name in self.analyzer.qualified_names(sink.func))) else "a where"

    def _dtype_reason(self, use: RiskyUse, operand: _Text, call) -> str:
        role = {"divide": "divisor", "power_exponent": "exponent"}.get(use.op.key, "input")
        name = shorten(operand.display)
        return (f"the {role} `{name}` is not known to be a tensor: it may be a Python number (or an integer tensor), "
                f"whose dtype a guard in {self._guard_site(call)} would change (`{shorten(self._code(use.node))}` "
                "takes a Python int, but selecting it against a float fill raises, and `ones_like` of it is an "
                f"int32 tensor): make it a tensor of the dtype it is used "
                f"with first, e.g. `{name} = tf.cast({name}, tf.float32)`" if isinstance(use.operand, cst.Name) else
                f"the {role} `{name}` is not known to be a tensor: it may be a Python number (or an integer "
                f"tensor), whose dtype a guard in {self._guard_site(call)} would change: make it a tensor of the "
                "dtype it is used with first (`tf.cast(..., tf.float32)`)")

    def _kind(self, node, as_of: int, site, depth: int = 0) -> str:
        """What ``node`` (evaluated at ``site``, names resolved as of ``as_of``) is known to be whenever it evaluates
        without error: a floating tensor, a tensor of some dtype, a Python float, or unknown (a parameter...)."""
        key = (id(node), as_of, id(site))
        kind = self._kinds.get(key)
        if kind is None:
            self._kinds[key] = _UNKNOWN  # a cycle or the depth limit
            kind = self._kinds[key] = _UNKNOWN if depth > 30 else self._kind_of(node, as_of, site, depth)
        return kind

    def _kind_of(self, node, as_of: int, site, depth: int) -> str:
        if isinstance(node, cst.Float):
            return _PY_FLOAT
        if isinstance(node, cst.Name):
            return self._name_kind(node.value, as_of, site, depth)
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
            return self._kind(node.expression, as_of, site, depth + 1)
        if isinstance(node, cst.BinaryOperation):
            return self._binary_kind(node, as_of, site, depth)
        if isinstance(node, cst.IfExp):
            return _meet(self._kind(node.body, as_of, site, depth + 1), self._kind(node.orelse, as_of, site, depth + 1))
        if isinstance(node, cst.Subscript):
            kind = self._kind(node.value, as_of, site, depth + 1)
            return kind if kind in (_FLOAT, _TENSOR) else _UNKNOWN
        if isinstance(node, cst.Call):
            return self._call_kind(node, as_of, site, depth)
        return _UNKNOWN

    def _binary_kind(self, node: cst.BinaryOperation, as_of: int, site, depth: int) -> str:
        operator = node.operator
        if not isinstance(operator, (cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo,
                                     cst.Power, cst.MatrixMultiply)):
            return _UNKNOWN
        left, right = self._kind(node.left, as_of, site, depth + 1), self._kind(node.right, as_of, site, depth + 1)
        kinds = {left, right}
        if _FLOAT in kinds:
            return _FLOAT  # a tensor's dtype wins over a Python number; two tensors must agree
        if _TENSOR in kinds:
            return _FLOAT if isinstance(operator, cst.Divide) else _TENSOR  # int / int is truediv to a float
        if kinds <= {_PY_FLOAT} or (_PY_FLOAT in kinds and isinstance(
                node.left if left != _PY_FLOAT else node.right, (cst.Integer, cst.Float))):
            return _PY_FLOAT
        return _UNKNOWN

    def _call_kind(self, node: cst.Call, as_of: int, site, depth: int) -> str:
        names = self.analyzer.qualified_names(node.func)
        args = [arg for arg in node.args if arg.keyword is None and arg.star == ""]
        keywords = {arg.keyword.value: arg.value for arg in node.args if arg.keyword is not None}

        def arg_kind(position: int, *words: str) -> str:
            value = args[position].value if position < len(args) else next(
                (keywords[word] for word in words if word in keywords), None)
            return _UNKNOWN if value is None else self._kind(value, as_of, site, depth + 1)

        for name in names:
            module, _, function = name.rpartition(".")
            api = knowledge.select_api(name)
            if api is not None:
                branches = [branch for branch in select_arguments(node, api)[1:] if branch is not None]
                kinds = {self._kind(branch, as_of, site, depth + 1) for branch in branches}
                return _FLOAT if _FLOAT in kinds else _TENSOR
            if function in ("epsilon",) and module in _KERAS_CONFIG:
                return _PY_FLOAT
            if module not in _TENSOR_MODULES:
                continue
            if function in _NOT_TENSORS:
                return _UNKNOWN
            dtype = args[1].value if function == "cast" and len(args) > 1 else keywords.get("dtype")
            if dtype is not None:
                return _FLOAT if self._is_float_dtype(dtype) else _TENSOR
            if function in _FLOAT_RESULTS:
                return _FLOAT
            if function in _KIND_OF_ARGUMENTS:
                kinds = {arg_kind(0, "x", "x1", "input", "a", "value", "tensor", "t"), arg_kind(1, "y", "x2", "b")}
                return _FLOAT if kinds & {_FLOAT, _PY_FLOAT} or function in _DIVIDES else _TENSOR
            return _TENSOR
        return _UNKNOWN

    def _is_float_dtype(self, node) -> bool:
        if isinstance(node, cst.SimpleString):
            return node.evaluated_value in _FLOAT_DTYPES
        if isinstance(node, cst.Call):
            return any(name.rpartition(".")[2] == "floatx" for name in self.analyzer.qualified_names(node.func))
        return any(name.rpartition(".")[2] in _FLOAT_DTYPES and name.startswith(("tensorflow.", "keras.", "numpy."))
                   or name == "builtins.float" for name in self.analyzer.qualified_names(node))

    def _name_kind(self, name: str, as_of: int, site, depth: int) -> str:
        """The kind of the value a variable holds at ``as_of``: its reaching assignment's, met with the one before
        when that assignment may not run (inside an ``if``, a loop, a ``try`` the use is not in), and with the later
        assignments of a loop that also holds the use (a previous iteration's value)."""
        binding = self.analyzer.binding(name, as_of)
        if binding is None or binding.value is None:
            return _UNKNOWN
        kind = self._kind(binding.value, binding.seq, binding.value, depth + 1)
        index = self._module_index()
        statement = index.enclosing(binding.value, (cst.BaseSmallStatement, cst.NamedExpr))
        use = site
        if statement is None or isinstance(statement, cst.NamedExpr) or use is None:
            return _UNKNOWN
        scope = index.enclosing(statement, _SCOPES)
        block = index.enclosing(statement, cst.IndentedBlock, stop=scope)
        while block is not None:
            if not index.is_inside(use, block):
                return _meet(kind, self._name_kind(name, binding.seq, site, depth + 1))
            block = index.enclosing(block, cst.IndentedBlock, stop=scope)
        loop = index.enclosing(use, _LOOPS, stop=scope)
        if loop is not None:
            for target in index.stores.get(name, ()):
                if target is not None and index.is_inside(target, loop) and self._span(target)[0] > self._span(use)[0]:
                    return _UNKNOWN
        return kind

    # -- the condition, written at the op --------------------------------------------------------------------------
    def _condition_at_op(self, call, cond, use: RiskyUse, as_of: int) -> _Text:
        """The select's condition as the double where at the op can write it: the same variable, the same
        expression repeated when it is cheap and pure, or a new variable that evaluates it once."""
        op_line = self._line(use.node)
        if isinstance(cond, cst.Name):
            at_select = self.analyzer.binding(cond.value, as_of)
            if at_select is self.analyzer.binding(cond.value, use.as_of):
                return _Text(cond.value, cond.value)
            # The variable the select reads is assigned after the op is computed (or reassigned in between).
            if at_select is None or at_select.value is None:
                raise NoRewrite(f"the condition `{cond.value}` has no value yet where the op is computed "
                                f"(line {op_line})")
            value = at_select.value
            costly = self._costly_call(value)
            if costly is not None:
                raise NoRewrite(f"the condition `{cond.value}` is assigned on line {self._line(value)}, after the op "
                                f"on line {op_line}, and calls `{costly}` (side effects or cost, so it is not "
                                f"repeated): assign it before line {op_line}")
            self._require_same_meaning(value, at_select.seq, use, value, f"the condition `{cond.value}`")
            return _Text(self._source(value), self._code(value))
        self._require_same_meaning(cond, as_of, use, call, "the select")
        if self._costly_call(cond) is None:
            return _Text(self._source(cond), self._code(cond))
        return self._hoist(call, cond, use)

    def _condition_as_of(self, cond, as_of: int) -> int:
        """Where the expression a condition compares is evaluated: at the select, or where its variable is set."""
        return assigned_value(self.analyzer, cond, as_of, hops=10)[1]

    def _hoist(self, call, cond, use: RiskyUse) -> _Text:
        """Evaluate a costly condition once: ``mask = <condition>`` before the statement, ``mask`` in both selects."""
        costly = self._costly_call(cond)
        op_line = self._line(use.node)
        call_start, call_end = self._span(call)
        if not call_start <= self._span(use.node)[0] < call_end:
            raise NoRewrite(f"the condition calls `{costly}` (side effects or cost, so it is not repeated) and the op "
                            f"is computed on an earlier line ({op_line}): assign the condition to a variable before "
                            f"line {op_line}")
        index = self._module_index()
        statement = self._hoisting_statement(call, costly)
        line = index.parent(statement)
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1 or not isinstance(
            index.parent(line), (cst.IndentedBlock, cst.Module)
        ):
            raise NoRewrite(f"the condition calls `{costly}` (side effects or cost, so it is not repeated) and its "
                            "statement shares a line with others, so it cannot be assigned to a variable first")
        cond_start, cond_end = self._span(cond)
        for node in _walk(statement):
            if isinstance(node, cst.Call) and self._span(node)[1] <= cond_start and not self._is_pure_call(node):
                raise NoRewrite(f"the condition calls `{costly}` (side effects or cost, so it is not repeated), and "
                                f"`{shorten(self._code(node.func))}` runs before it in the same statement: moving "
                                "the condition first would change their order")
        statement_start = self._span(statement)[0]
        line_start = self._line_start_offset(statement_start)
        indent = self.code_text()[line_start:statement_start]
        if indent.strip():
            raise NoRewrite("the select's statement does not start its line")
        name = HOISTED_CONDITION_NAME
        suffix = 1
        while name in index.identifiers:
            name, suffix = f"{HOISTED_CONDITION_NAME}_{suffix}", suffix + 1
        source = self._source(cond)
        if "\n" in source or "\r" in source:
            source = f"({source})"
        newline = self.analyzer.module.default_newline
        at_statement = self._position(statement_start)
        edits = (
            Edit(at_statement, at_statement, f"{name} = {source}{newline}{indent}"),
            Edit(self._position(cond_start), self._position(cond_end), name),
        )
        return _Text(name, name, edits, f", evaluating the condition once in `{name}`")

    def _hoisting_statement(self, call, costly: str) -> cst.CSTNode:
        """The simple statement the select belongs to, if the select runs exactly once whenever it runs."""
        index = self._module_index()
        node = call
        while True:
            parent = index.parent(node)
            if parent is None or isinstance(parent, (cst.BaseCompoundStatement, cst.Lambda, *_COMPREHENSIONS)):
                where = "the header of a compound statement" if parent is None or isinstance(
                    parent, cst.BaseCompoundStatement) else "a lambda or comprehension"
                raise NoRewrite(f"the condition calls `{costly}` (side effects or cost, so it is not repeated) and the "
                                f"select sits in {where}, out of which it cannot be moved")
            if (isinstance(parent, cst.IfExp) and node is not parent.test) or (
                isinstance(parent, cst.BooleanOperation) and node is parent.right
            ):
                raise NoRewrite(f"the condition calls `{costly}` (side effects or cost, so it is not repeated) and the "
                                "select runs only on one side of a conditional, so it cannot be moved out of it")
            if isinstance(parent, cst.BaseSmallStatement):
                return parent
            node = parent

    # -- what must hold for the rewrite to be exact ----------------------------------------------------------------
    def _check_path(self, branch, use: RiskyUse, as_of: int) -> None:
        """The op's result must reach the branch element-wise, through variables used nowhere else."""
        path = self._path(branch, use.node, as_of, set(), 0)
        if path is None:
            raise NoRewrite("the way the op's result reaches the select could not be traced")
        for node, binding in path[:-1]:
            if isinstance(node, cst.Name):
                self._require_single_use(node, binding)
            elif isinstance(node, cst.BinaryOperation):
                if isinstance(node.operator, cst.MatrixMultiply):
                    raise NoRewrite(self._mixing(node))
            elif isinstance(node, cst.Call):
                names = self.analyzer.qualified_names(node.func)
                if not any(knowledge.select_api(name) for name in names) and not names & knowledge.ELEMENTWISE:
                    raise NoRewrite(self._mixing(node))
            elif not isinstance(node, _TRANSPARENT):
                raise NoRewrite(self._mixing(node))

    def reaches_elementwise(self, node, use: RiskyUse, as_of: int) -> bool:
        """Whether the op's value reaches ``node`` element by element (``_check_path`` without the single-use
        requirement): each element of ``node`` is the op's value at the same element."""
        try:
            path = self._path(node, use.node, as_of, set(), 0)
            if path is None:
                return False
            for step, _ in path[:-1]:
                if isinstance(step, cst.BinaryOperation) and isinstance(step.operator, cst.MatrixMultiply):
                    return False
                if isinstance(step, cst.Call):
                    names = self.analyzer.qualified_names(step.func)
                    if not any(knowledge.select_api(name) for name in names) and not names & knowledge.ELEMENTWISE:
                        return False
                elif not isinstance(step, (cst.Name, cst.BinaryOperation, *_TRANSPARENT)):
                    return False
            return True
        except NoRewrite:  # pragma: no cover - ``_path`` raises none today
            return False

    def _mixing(self, node) -> str:
        return (f"the op's result reaches the select through `{shorten(self._code(node))}`, which is not known to "
                "be element-wise, so rewriting the discarded inputs could change kept values")

    def _path(self, node, target, as_of: int, seen: set, depth: int) -> list[tuple[cst.CSTNode, Binding | None]] | None:
        """The nodes from a branch down to the op, following variables as the analysis does."""
        if node is target:
            return [(node, None)]
        if depth > _MAX_PATH_DEPTH:
            return None
        if isinstance(node, cst.Name):
            binding = self.analyzer.binding(node.value, as_of)
            if binding is None or binding.value is None or id(binding) in seen:
                return None
            seen.add(id(binding))
            rest = self._path(binding.value, target, binding.seq, seen, depth + 1)
            return None if rest is None else [(node, binding), *rest]
        if isinstance(node, (cst.Lambda, *_COMPREHENSIONS, cst.BaseString, cst.Integer, cst.Float, cst.Imaginary,
                             cst.Attribute)):
            return None
        if isinstance(node, cst.Call):
            children = [arg.value for arg in node.args]
            for name in self.analyzer.qualified_names(node.func):
                api = knowledge.select_api(name)
                if api is not None:
                    children = [branch for branch in select_arguments(node, api)[1:] if branch is not None]
                    break
        elif isinstance(node, cst.BinaryOperation):
            children = [node.left, node.right]
        else:
            children = [child for child in node.children
                        if isinstance(child, (cst.BaseExpression, cst.Arg, cst.Element, cst.SubscriptElement,
                                              cst.Index, cst.Slice, cst.ComparisonTarget))]
        for child in children:
            rest = self._path(child, target, as_of, seen, depth + 1)
            if rest is not None:
                return [(node, None), *rest]
        return None

    def _require_single_use(self, name: cst.Name, binding: Binding) -> None:
        """Rewriting the op changes the variable that carries it; nothing but the select may read it."""
        index = self._module_index()
        assignment = index.parent(binding.value)
        while assignment is not None and not isinstance(assignment, (cst.BaseSmallStatement, cst.NamedExpr)):
            assignment = index.parent(assignment)
        if assignment is None:
            raise NoRewrite(f"the assignment of `{name.value}` could not be found")
        if isinstance(assignment, cst.Assign) and len(assignment.targets) > 1:
            raise NoRewrite(f"the value of `{name.value}` (line {self._line(assignment)}) is assigned to other names "
                            "too, which a rewrite of the op would change as well")
        scope = index.enclosing(assignment, _SCOPES)
        loop = index.enclosing(assignment, _LOOPS, stop=scope)
        _, live_from = self._span(assignment)
        live_to = self._next_assignment_end(name.value, assignment, live_from) if loop is None else None
        for other in index.loads.get(name.value, ()):
            if other is name or not index.is_inside(other, scope):
                continue
            start = self._span(other)[0]
            if (loop is not None and index.is_inside(other, loop)) or (
                start >= live_from and (live_to is None or start < live_to)
            ):
                raise NoRewrite(f"`{name.value}` (assigned on line {self._line(assignment)}) is also used on line "
                                f"{self._line(other)}, which a rewrite of the op would change too: give the select "
                                "its own variable")

    def _next_assignment_end(self, variable: str, assignment, after: int) -> int | None:
        """Where the next plain reassignment of ``variable`` in the same block ends (its value still reads the old
        one), or None."""
        index = self._module_index()
        line = index.parent(assignment)
        block = index.parent(line)
        for target in index.stores.get(variable, ()):
            statement = index.parent(target)
            while statement is not None and not isinstance(statement, cst.BaseSmallStatement):
                statement = index.parent(statement)
            if (isinstance(statement, cst.Assign) and index.parent(index.parent(statement)) is block
                    and self._span(statement)[0] >= after):
                return self._span(statement)[1]
        return None

    def _same_meaning(self, node, at: int, elsewhere: int) -> bool:
        return self._changed_name(node, at, elsewhere) is None

    def _changed_name(self, node, at: int, elsewhere: int) -> str | None:
        for name in _read_names(node):
            if self.analyzer.binding(name, at) is not self.analyzer.binding(name, elsewhere):
                return name
        return None

    def _require_same_meaning(self, node, at: int, use: RiskyUse, origin, what: str) -> None:
        """Names the rewrite repeats at the op must be bound there as they are where ``node`` is evaluated."""
        changed = self._changed_name(node, at, use.as_of)
        if changed is not None:
            raise NoRewrite(f"`{changed}` in {what} (line {self._line(origin)}) is not the same variable at the op "
                            f"(line {self._line(use.node)}): it is assigned in between")

    def _costly_call(self, node) -> str | None:
        """The first call in ``node`` that may have side effects or a real cost (not a known element-wise op)."""
        for child in _walk(node):
            if isinstance(child, cst.Call) and not self._is_pure_call(child):
                return shorten(self._code(child.func))
            if isinstance(child, (cst.Lambda, cst.NamedExpr, cst.Await, cst.Yield, *_COMPREHENSIONS)):
                return shorten(self._code(child))
        return None

    def _is_cheap(self, node) -> bool:
        return self._costly_call(node) is None

    def _is_pure_call(self, call: cst.Call) -> bool:
        names = self.analyzer.qualified_names(call.func)
        return bool(names & knowledge.PURE_CONDITION_CALLS) or any(knowledge.select_api(name) for name in names)

    def _in_family(self, nodes, modules) -> bool:
        for node in nodes:
            if isinstance(node, cst.Call):
                if any(name.rpartition(".")[0] in modules for name in self.analyzer.qualified_names(node.func)):
                    return True
        return False

    # -- spelling in the file's dialect ----------------------------------------------------------------------------
    def _spelling(self, function: str, modules: frozenset[str], *near: cst.CSTNode) -> _Text:
        """``function`` as this file can write it next to ``near`` (the op, the select): through the alias the op
        or select uses (``K.minimum`` next to ``K.exp``), an existing import, or, failing both, a new import."""
        wanted: list[str] = []
        for node in near:
            callee = node.func if isinstance(node, cst.Call) else None
            if callee is None:
                continue
            for name in sorted(self.analyzer.qualified_names(callee)):
                module = name.rpartition(".")[0]
                if isinstance(callee, cst.Attribute):
                    if module in modules and self._prefix_has(callee, function):
                        spelled = f"{self._code(callee.value)}.{function}"
                        return _Text(spelled, spelled)
                    if module == "tensorflow.raw_ops" and isinstance(callee.value, cst.Attribute):
                        spelled = f"{self._code(callee.value.value)}.{function}"  # tf.raw_ops.Exp -> tf.minimum
                        return _Text(spelled, spelled)
                if module == "tensorflow.raw_ops":
                    module = "tensorflow"
                if module in modules and module not in wanted:
                    wanted.append(module)
        imports = self._module_imports()
        for module in wanted:
            spelled = imports.spelling(module, function)
            if spelled is not None:
                return _Text(spelled, spelled)
        # No usable name: import one, in the style the file already uses for the op or select.
        index = self._module_index()
        for node in near:
            callee = node.func if isinstance(node, cst.Call) else None
            if not isinstance(callee, cst.Name):
                continue
            for module in wanted:
                statement = imports.from_imports.get(module)
                bound = imports.names.get(callee.value)
                if statement is not None and bound == f"{module}.{callee.value}" and function not in index.identifiers:
                    end = self._span(statement.names[-1])[1]
                    edit = Edit(self._position(end), self._position(end), f", {function}")
                    return _Text(function, function, (edit,), f" (importing `{function}` from {module})")
        family = wanted[0] if wanted else "tensorflow"
        for root, (module, alias) in knowledge.IMPORT_FOR_FAMILY.items():
            if family == root or family.startswith(root + "."):
                if alias in index.identifiers:
                    raise NoRewrite(f"no name for `{function}` is in scope, and `{alias}` is already taken")
                spelled = f"{alias}.{function}"
                edit = self._import_edit(module, alias)
                return _Text(spelled, spelled, (edit,), f" (adding `{edit.text.strip()}`)")
        raise NoRewrite(f"no name for `{function}` from {family} is in scope")

    def _prefix_has(self, callee: cst.Attribute, function: str) -> bool:
        """Whether the module the callee is written through has ``function`` too: ``tf.exp`` -> ``tf.minimum``
        does, but a project module that re-exports only ``exp`` (``helpers.exp``) does not."""
        for written in self.analyzer.written_names(callee):
            module = written.rpartition(".")[0]
            if module.split(".")[0] in knowledge.FAMILY_ROOTS and not module.startswith("tensorflow.python."):
                return True  # a family module of TensorFlow or Keras: the tables list what it has
            if self.analyzer.project.resolve(f"{module}.{function}") is not None:
                return True  # a re-export or an internal module that has it
        return False

    def _import_edit(self, module: str, alias: str) -> Edit:
        parent, _, child = module.rpartition(".")
        statement = f"from {parent} import {child}" if parent and child == alias else f"import {module} as {alias}"
        at = self._position(self._module_imports().insert_at)
        return Edit(at, at, statement + self.analyzer.module.default_newline)

    def _module_imports(self) -> _Imports:
        if self._imports is None:
            self._imports = _Imports(self)
        return self._imports

    # -- source text and positions ---------------------------------------------------------------------------------
    def _code(self, node: cst.CSTNode) -> str:
        """``node`` on one line, for messages (comments dropped: on one line they would swallow the rest)."""
        code = self.analyzer.module.code_for_node(node)
        if "#" in code:
            code = self.analyzer.module.code_for_node(node.visit(_WithoutComments()))
        return " ".join(code.split())

    def _source(self, node: cst.CSTNode) -> str:
        start, end = self._span(node)
        return self.code_text()[start:end]

    def code_text(self) -> str:
        """The module's source (``Module.code`` generates it afresh on every access)."""
        if self._module_code is None:
            self._module_code = self.analyzer.module.code
        return self._module_code

    def _span(self, node: cst.CSTNode) -> tuple[int, int]:
        """Offsets of ``node`` in the source, its parentheses included."""
        start, end = self.analyzer.position(node)
        start_offset, end_offset = self._offset(start), self._offset(end)
        if isinstance(node, cst.BaseExpression):  # statements' lpar/rpar are not expression parentheses
            code_for_node = self.analyzer.module.code_for_node
            start_offset -= sum(len(code_for_node(paren)) for paren in node.lpar)
            end_offset += sum(len(code_for_node(paren)) for paren in node.rpar)
        return start_offset, end_offset

    def _line_starts_list(self) -> list[int]:
        if self._line_starts is None:
            self._line_starts = line_starts(self.code_text())
        return self._line_starts

    def _offset(self, position) -> int:
        return self._line_starts_list()[position.line - 1] + position.column

    def _position(self, offset: int) -> Position:
        return position_of(self._line_starts_list(), offset)

    def _line_start_offset(self, offset: int) -> int:
        return self._line_starts_list()[self._position(offset).line - 1]

    def _line(self, node: cst.CSTNode) -> int:
        return self.analyzer.position(node)[0].line

    def _module_index(self) -> _ModuleIndex:
        if self._index is None:
            self._index = _ModuleIndex(self.analyzer.module)
        return self._index

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
        # Stop at the first side that cannot be described or makes the words too long: conditions built from
        # variables that repeat each other (c2 = c1 & c1) would otherwise double the work at every step.
        a = self._expression(left, positive, as_of, depth + 1)
        if a is None or len(a) > _MAX_DESCRIPTION:
            return None
        b = self._expression(right, positive, as_of, depth + 1)
        if b is None or len(a) + len(b) > _MAX_DESCRIPTION:
            return None
        word = "and" if is_and == positive else "or"
        return f"{a} {word} {b}"


class _WithoutComments(cst.CSTTransformer):
    def leave_Comment(self, original_node, updated_node):
        return cst.RemovalSentinel.REMOVE


# -- positions -------------------------------------------------------------------------------------------------------
def line_starts(text: str) -> list[int]:
    """Offsets where each line starts; lines end at \\n, \\r\\n or \\r, as for Python and LibCST."""
    starts = [0]
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char == "\n":
            starts.append(index + 1)
        elif char == "\r":
            if index + 1 < length and text[index + 1] == "\n":
                index += 1
            starts.append(index + 1)
        index += 1
    return starts


def position_of(starts: list[int], offset: int) -> Position:
    low, high = 0, len(starts) - 1
    while low < high:  # the last line starting at or before offset
        middle = (low + high + 1) // 2
        if starts[middle] <= offset:
            low = middle
        else:
            high = middle - 1
    return Position(low + 1, offset - starts[low])


def _unique(edits) -> tuple[Edit, ...]:
    out: list[Edit] = []
    for edit in edits:
        if edit not in out:
            out.append(edit)
    return tuple(out)


def _walk(node: cst.CSTNode):
    """``node`` and everything below it, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _read_names(node: cst.CSTNode) -> list[str]:
    """Variable names an expression reads (not attribute or keyword names, not names local to a lambda)."""
    names: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            if current.value not in names:
                names.append(current.value)
            continue
        if isinstance(current, (cst.Lambda, *_COMPREHENSIONS)):
            continue
        if isinstance(current, cst.Attribute):
            stack.append(current.value)
            continue
        if isinstance(current, cst.Arg):
            stack.append(current.value)
            continue
        stack.extend(current.children)
    return names


# -- facts about the whole module, computed only when a rewrite needs them ------------------------------------------
class _ModuleIndex:
    """Parents, the variables each name reads and assigns, and every identifier the module uses."""

    def __init__(self, module: cst.Module):
        self._parents: dict[int, cst.CSTNode | None] = {id(module): None}
        self.loads: dict[str, list[cst.Name]] = {}
        self.stores: dict[str, list[cst.Name]] = {}
        self.identifiers: set[str] = set()
        stack: list[tuple[cst.CSTNode, str]] = [(module, "load")]
        while stack:
            node, context = stack.pop()
            if isinstance(node, cst.Name):
                self.identifiers.add(node.value)
                if context in ("load", "store"):
                    (self.loads if context == "load" else self.stores).setdefault(node.value, []).append(node)
                continue
            for child in child_nodes(node):
                self._parents[id(child)] = node
                stack.append((child, _context(node, child, context)))
        for names in (*self.loads.values(), *self.stores.values()):
            names.reverse()  # the stack walked the tree backwards: source order is nicer to report

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._parents.get(id(node))

    def enclosing(self, node, kinds, stop=None):
        current = self.parent(node)
        while current is not None and current is not stop:
            if isinstance(current, kinds):
                return current
            current = self.parent(current)
        return None

    def is_inside(self, node, ancestor) -> bool:
        current = node
        while current is not None:
            if current is ancestor:
                return True
            current = self.parent(current)
        return False


# What a parent node makes of a name under it, by the classes it may be an instance of (``_context``).
_ROLE_CLASSES = (
    ("import", (cst.Import, cst.ImportFrom, cst.Global, cst.Nonlocal)),
    ("attribute", (cst.Attribute,)),
    ("keyword", (cst.Arg,)),
    ("name", (cst.Param, cst.FunctionDef, cst.ClassDef)),
    ("target", (cst.AssignTarget, cst.AnnAssign, cst.For, cst.CompFor, cst.NamedExpr)),
    ("alias", (cst.AsName,)),
    ("element", (cst.Tuple, cst.List, cst.Element, cst.StarredElement)),
)
# A node type's roles, asked once per type: LibCST's classes are abstract base classes, whose ``isinstance`` is a
# Python call each time, and this is asked of every node the rewriter indexes.
_ROLES: dict[type, tuple[str, ...]] = {}


def _context(parent: cst.CSTNode, child: cst.CSTNode, context: str) -> str:
    """Whether ``child`` (under ``parent``) is read, assigned or neither (attribute and keyword names, imports)."""
    roles = _ROLES.get(type(parent))
    if roles is None:
        roles = _ROLES[type(parent)] = tuple(role for role, classes in _ROLE_CLASSES if isinstance(parent, classes))
    for role in roles:
        if role == "import":
            return "ignore"
        if role == "attribute":
            return "ignore" if child is parent.attr else "load"
        if role == "keyword" and child is parent.keyword:
            return "ignore"
        if role in ("name", "alias") and child is parent.name:
            return "store"
        if role == "target" and child is getattr(parent, "target", None):
            return "store"
        if role == "element" and context == "store":
            return "store"
    return "load" if context != "ignore" else "ignore"


class _Imports:
    """The module's top-level imports: what each imported name stands for, and where a new import goes."""

    def __init__(self, rewriter: Rewriter):
        module = rewriter.analyzer.module
        self.names: dict[str, str] = {}  # local name -> "tensorflow", "keras.ops", "tensorflow.minimum"
        self.from_imports: dict[str, cst.ImportFrom] = {}  # module -> its first top-level ``from module import``
        self.insert_at = 0
        leading = True
        for position, statement in enumerate(module.body):
            is_import_line = isinstance(statement, cst.SimpleStatementLine) and all(
                isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
            )
            if is_import_line:
                for small in statement.body:
                    self._record(module, small)
                if leading:
                    self.insert_at = _after_line(rewriter, statement)
                continue
            if position == 0 and _is_docstring(statement):
                self.insert_at = _after_line(rewriter, statement)
                continue
            if leading and self.insert_at == 0:
                self.insert_at = rewriter._span(_first_token_node(statement))[0]
            leading = False
        for name, qualified in rewriter.analyzer.aliases.items():
            if "." not in name:  # a module-level alias; ``f.<locals>.K`` and ``C.K`` are not names in scope here
                self.names.setdefault(name, qualified)

    def _record(self, module: cst.Module, small) -> None:
        if isinstance(small, cst.Import):
            for alias in small.names:
                dotted = module.code_for_node(alias.name)
                if alias.asname is not None:
                    self.names[module.code_for_node(alias.asname.name)] = dotted
                else:
                    head = dotted.split(".")[0]
                    self.names[head] = head
        elif small.relative == () and small.module is not None and not isinstance(small.names, cst.ImportStar):
            source = module.code_for_node(small.module)
            for alias in small.names:
                name = module.code_for_node(alias.name)
                local = module.code_for_node(alias.asname.name) if alias.asname is not None else name
                self.names[local] = f"{source}.{name}"
            self.from_imports.setdefault(source, small)

    def spelling(self, module: str, function: str) -> str | None:
        """``function`` of ``module`` through a name this file already imports, or None."""
        for local, target in self.names.items():
            if target == f"{module}.{function}":
                return local
        best = None
        for local, target in self.names.items():
            if module == target or module.startswith(target + "."):
                spelled = local + module[len(target):] + "." + function
                if best is None or len(spelled) < len(best):
                    best = spelled
        return best


def _first_token_node(statement) -> cst.CSTNode:
    """The node whose position is where ``statement`` starts (decorators come before ``def``)."""
    if isinstance(statement, cst.SimpleStatementLine):
        return statement.body[0]
    decorators = getattr(statement, "decorators", ())
    return decorators[0] if decorators else statement


def _is_docstring(statement) -> bool:
    return (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.BaseString))


def _after_line(rewriter: Rewriter, statement: cst.SimpleStatementLine) -> int:
    """The offset just after the line break that ends ``statement`` (after any trailing comment)."""
    code = rewriter.code_text()
    end = rewriter._span(statement.body[-1])[1]
    starts = rewriter._line_starts_list()
    line = rewriter._position(end).line
    return starts[line] if line < len(starts) else len(code)
