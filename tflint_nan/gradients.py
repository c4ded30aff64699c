"""The gradient-flow model: which code is differentiated, and which values can carry a gradient.

A NaN in the backward pass only matters when it reaches something trainable.  Two questions decide that, and
this module answers both without running anything:

* **Demand** (``ModuleFacts``, over CPython's syntax tree of the whole module): is a function ever
  differentiated?  Metric updates, optimizer steps, learning-rate schedules, constraints, initializers,
  callbacks, the forward body of a custom gradient, callbacks of ``tf.data`` and ``tf.py_function``, and private
  helpers that only such code calls are not.
* **Differentiability** (``GradientFlow``, over the LibCST expressions the analysis looks at): can a value carry a
  gradient back to a trainable variable?  Numbers, NumPy values, shapes, integer casts, comparisons, random
  samples, fills, labels, step counters and hyperparameters cannot; on the elements where a select picks a
  constant, the select's result cannot either (that is why the double where works whatever constant it fills in).

Unknown means differentiable: a finding is only ever silenced on positive evidence, and the evidence is data in
``knowledge.py``.
"""

from __future__ import annotations

import ast
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Iterable, Protocol

import libcst as cst

from . import knowledge
from .intervals import EVERYTHING, IntervalSet, hyperparameter_range, power_range
from .project import ProjectModules, forget_with_project, parsed
from .ranges import EVERYWHERE, Analysis, Binding, Region, conjoin, is_empty, library_call_range, select_arguments
from .screen import literal_number
from .summaries import returns_trained_output
from .syntax import child_nodes, walk

MAX_DEPTH = 40
UNKNOWN_NAME = "*"  # in ``GradientFlow.names``: a chain of assignments too long to follow


# -- demand: which functions are differentiated ----------------------------------------------------------------
@dataclass(frozen=True)
class AttributeFact:
    """What the assignments ``self.<name> = ...`` in a class say about the attribute."""

    differentiable: bool
    values: IntervalSet
    fed: bool = False  # every assignment is a graph input (``tf.compat.v1.placeholder``): as unknown as a parameter
    built_here: bool = False  # every assignment calls a class or function this module defines: its own code


@dataclass
class _Function:
    qualname: str
    node: ast.AST
    parent: str | None  # the enclosing function's qualname
    class_qualname: str | None  # for methods: the class
    reason: str | None = None
    callers: set[str] = field(default_factory=set)  # qualnames of functions (or "<module>") that refer to it


# A question about demand crosses at most this many module boundaries (callers of callers in other modules).
MAX_MODULE_HOPS = 3


def _untrainable(call: cst.Call) -> bool:
    """``trainable=False`` among a call's keywords."""
    return any(arg.keyword is not None and arg.keyword.value == "trainable" and isinstance(arg.value, cst.Name)
               and arg.value.value == "False" for arg in call.args)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _last(name: str | None) -> str:
    return name.rsplit(".", 1)[-1] if name else ""


class ModuleFacts:
    """Facts about one module's functions and classes, from one walk of CPython's syntax tree."""

    def __init__(self, tree: ast.Module | None = None, project: ProjectModules | None = None,
                 hops: int = MAX_MODULE_HOPS):
        self.project = project  # for callers in the project's other modules
        self.hops = hops  # how many module boundaries its questions about demand may still cross
        self.functions: dict[str, _Function] = {}
        self.class_kinds: dict[str, str] = {}  # class qualname -> kind in knowledge.NO_GRADIENT_CLASSES
        self._class_bases: dict[str, list[str]] = {}
        self._class_by_name: dict[str, str] = {}
        self._attribute_values: dict[tuple[str, str], list[tuple[ast.expr, ast.AST | None]]] = {}
        self._attributes: dict[tuple[str, str], AttributeFact] = {}
        self._handed_over: dict[str, str] = {}  # function name -> why it is run without a gradient
        self._references: dict[str, set[str]] = {}  # a name -> the functions (or "<module>") that read it
        self._callees: dict[str, list[str]] = {}  # function qualname -> the dotted names it calls (as written)
        self._imports: dict[str, str] = {}  # a name an import binds -> the module or name it stands for
        self._trained_outputs: dict[str, bool] = {}
        self._tree = tree
        self._demand: _Demand | None = None
        if tree is not None:
            self._walk(tree.body, [], None, None)
            self._classify_classes()
            self._decide()

    # -- the walk ---------------------------------------------------------------------------------------------
    def _walk(self, body: Iterable[ast.AST], prefix: list[str], function: str | None, klass: str | None) -> None:
        stack = [(node, prefix, function, klass) for node in reversed(list(body))]
        while stack:
            node, prefix, function, klass = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qualname = ".".join([*prefix, node.name])
                self.functions[qualname] = _Function(qualname, node, function, klass)
                for decorator in node.decorator_list:
                    self._visit_expression(decorator, function)
                for default in (*node.args.defaults, *node.args.kw_defaults):
                    if default is not None:
                        self._visit_expression(default, function)
                inner = [*prefix, node.name, "<locals>"]
                stack.extend((child, inner, qualname, None) for child in reversed(node.body))
                continue
            if isinstance(node, ast.ClassDef):
                qualname = ".".join([*prefix, node.name])
                self._class_bases[qualname] = [name for name in (_dotted(base) for base in node.bases) if name]
                self._class_by_name.setdefault(node.name, qualname)
                for base in node.bases:
                    self._visit_expression(base, function)
                stack.extend((child, [*prefix, node.name], function, qualname) for child in reversed(node.body))
                continue
            if isinstance(node, ast.Assign) and function is None and klass is not None:
                for target in node.targets:  # a class attribute, read as ``self.<name>`` unless an instance's hides it
                    if isinstance(target, ast.Name):
                        self._attribute_values.setdefault((klass, target.id), []).append((node.value, None))
            if isinstance(node, ast.Assign) and function is not None:
                owner = self.functions[function]
                for target in node.targets:
                    if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                            and target.value.id == "self" and owner.class_qualname is not None):
                        key = (owner.class_qualname, target.attr)
                        self._attribute_values.setdefault(key, []).append((node.value, owner.node))
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._imports.update(import_bindings(node))
            if isinstance(node, ast.expr):
                self._visit_expression(node, function)
                continue
            stack.extend((child, prefix, function, klass) for child in reversed(child_nodes(node)))

    def _visit_expression(self, expression: ast.expr, function: str | None) -> None:
        caller = function or "<module>"
        for node in walk(expression):
            kind = type(node)
            if kind is ast.Name:
                if type(node.ctx) is ast.Load:
                    self._reference(node.id, caller)
            elif kind is ast.Attribute:
                if type(node.value) is ast.Name and node.value.id in ("self", "cls"):
                    self._reference(node.attr, caller)
            elif kind is ast.Call:
                self._hand_over(node)
                dotted = _dotted(node.func)
                if dotted is not None and function is not None:
                    self._callees.setdefault(function, []).append(dotted)

    def _reference(self, name: str, caller: str) -> None:
        self._references.setdefault(name, set()).add(caller)

    def _hand_over(self, call: ast.Call) -> None:
        """Functions handed to a custom-gradient wrapper or run as a data-pipeline or NumPy callback."""
        callee = _last(_dotted(call.func))
        if callee in knowledge.CUSTOM_GRADIENT_WORDS:
            for argument in call.args[:1]:
                self._mark(argument, "the forward pass of a custom gradient")
        if callee in knowledge.NO_GRADIENT_RUNNERS and isinstance(call.func, ast.Attribute) or callee in (
                "py_function", "numpy_function", "py_func"):
            for argument in [*call.args[:1], *(k.value for k in call.keywords if k.arg in ("func", "map_func"))]:
                self._mark(argument, f"run by {callee}(), outside the differentiated graph")
        for keyword in call.keywords:
            if keyword.arg in knowledge.CUSTOM_GRADIENT_KEYWORDS:
                self._mark(keyword.value, "a pass of a custom gradient")

    def _mark(self, argument: ast.expr, reason: str) -> None:
        name = argument.attr if isinstance(argument, ast.Attribute) else getattr(argument, "id", None)
        if name:
            self._handed_over.setdefault(name, reason)

    # -- decisions --------------------------------------------------------------------------------------------
    def _classify_classes(self) -> None:
        changed = True
        while changed:
            changed = False
            for qualname, bases in self._class_bases.items():
                if qualname in self.class_kinds:
                    continue
                for base in bases:
                    kind = self._base_kind(base)
                    if kind is not None:
                        self.class_kinds[qualname] = kind
                        changed = True
                        break

    def _base_kind(self, base: str) -> str | None:
        last = _last(base)
        local = self._class_by_name.get(last)
        if local is not None and local in self.class_kinds:
            return self.class_kinds[local]
        for kind, (names, _) in knowledge.NO_GRADIENT_CLASSES.items():
            if last in names or last.endswith(kind):
                return kind
        return None

    def _decide(self) -> None:
        for function in self.functions.values():  # in source order: parents before the functions they hold
            function.reason = self._own_reason(function)
            if function.reason is None and function.parent is not None:
                parent = self.functions[function.parent].reason
                if parent is not None:
                    function.reason = parent
        by_name: dict[str, list[_Function]] = {}
        for qualname, function in self.functions.items():
            by_name.setdefault(_last(qualname), []).append(function)
        for name, callers in self._references.items():
            for function in by_name.get(name, ()):
                function.callers |= callers
        changed = True
        while changed:  # private helpers that only undifferentiated code calls
            changed = False
            for function in self.functions.values():
                if function.reason is not None or not _is_private(function.qualname) or not function.callers:
                    continue
                reasons = [self._caller_reason(caller, function) for caller in function.callers]
                if all(reason is not None for reason in reasons):
                    function.reason = f"only called from code that is never differentiated ({reasons[0]})"
                    changed = True

    def _caller_reason(self, caller: str, callee: _Function) -> str | None:
        if caller == callee.qualname:
            return None  # recursion proves nothing
        function = self.functions.get(caller)
        return function.reason if function is not None else None

    def _own_reason(self, function: _Function) -> str | None:
        node = function.node
        for decorator in node.decorator_list:
            if _last(_dotted(decorator)) in knowledge.CUSTOM_GRADIENT_WORDS:
                return "the forward pass of a custom gradient"
        name = node.name
        handed = self._handed_over.get(name)
        if handed is not None:
            return handed
        for dotted in self._callees.get(function.qualname, ()):
            callee = _qualify(dotted, self._imports)
            if callee in knowledge.TRANSFORM_ANALYSIS_CALLS or callee.startswith(
                    knowledge.TRANSFORM_ANALYZERS_MODULE + "."):
                return (f"it calls {_last(dotted)}(), a tf.Transform analyzer: it runs in a preprocessing_fn, "
                        "which is never differentiated")
        if function.class_qualname is not None:
            kind = self.class_kinds.get(function.class_qualname)
            if kind is not None:
                methods = knowledge.NO_GRADIENT_CLASSES[kind][1]
                if "*" in methods or name in methods:
                    return f"{kind}.{name}, which is never differentiated"
            if name in knowledge.OPTIMIZER_METHODS:
                return f"{name}, an optimizer update step"
        return None

    # -- queries -------------------------------------------------------------------------------------------------
    def function_reason(self, qualname: str) -> str | None:
        """Why the function is never differentiated, or None when it may be."""
        function = self.functions.get(qualname)
        return function.reason if function is not None else None

    def _demand_walk(self) -> _Demand:
        if self._demand is None:
            self._demand = _Demand(self, self._tree)
        return self._demand

    def parameter_carries(self, function: str, parameter: str) -> bool:
        """Whether any call of ``function`` in the project can pass ``parameter`` a value with a gradient (True
        when the function may be called from elsewhere)."""
        if self._tree is None or not function:
            return True
        return self._demand_walk().parameter_carries(function, parameter, 0)

    def parameter_range(self, function: str, parameter: str) -> IntervalSet | None:
        """The values every call of ``function`` in the project passes ``parameter``; None when some call may not be
        known (a public method, a function passed as a value, one no module of the project calls) or a value cannot
        be bounded."""
        if self._tree is None or not function:
            return None
        values = self._demand_walk().parameter_range(function, parameter, 0)
        return None if values.is_everything() else values

    def unused_result(self, line: int, column: int) -> str | None:
        """Why the value of the call at (line, column) never reaches anything differentiated, or None."""
        if self._tree is None:
            return None
        return self._demand_walk().at(line, column)

    def call_returns_trained_output(self, dotted: str, depth: int = 0) -> bool:
        """Whether the function ``dotted`` names (as this module writes it: ``dense``, ``tfops.conv2d``) is a
        top-level function of this module or of another module of the project whose every return is a trained
        linear map's output (``summaries.returns_trained_output``)."""
        if dotted in self._trained_outputs:
            return self._trained_outputs[dotted]
        self._trained_outputs[dotted] = False  # recursion: not shown
        answer = False
        function = self.functions.get(dotted)
        if function is not None:
            if function.parent is None and function.class_qualname is None:
                answer = returns_trained_output(function.node, lambda name: _qualify(name, self._imports),
                                                self.call_returns_trained_output, depth)
        elif self.project is not None and self.hops > 0 and "." in _qualify(dotted, self._imports):
            found = self.project.function_definition(_qualify(dotted, self._imports))
            other = _facts_of(found[1], self.hops - 1) if found is not None else None
            answer = other is not None and other.call_returns_trained_output(found[0].name, depth)
        self._trained_outputs[dotted] = answer
        return answer

    def attribute(self, class_qualname: str, name: str) -> AttributeFact | None:
        key = (class_qualname, name)
        if key in self._attributes:
            return self._attributes[key]
        assignments = self._attribute_values.get(key)
        fact = None
        if assignments:
            differentiable, values = False, None
            for value, method in assignments:
                carries, value_range = _ast_value(value, method)
                differentiable = differentiable or carries
                values = value_range if values is None else values.union(value_range)
            declared = [value for value, _ in assignments if not _is_none(value)]  # ``self.x_ph = None`` first
            fed = bool(declared) and all(isinstance(value, ast.Call) and _qualify(
                _dotted(value.func) or "", self._imports) in knowledge.PLACEHOLDERS for value in declared)
            built_here = bool(declared) and all(
                isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and (
                    value.func.id in self._class_by_name or value.func.id in self.functions) for value in declared)
            fact = AttributeFact(differentiable, values if values is not None else EVERYTHING, fed, built_here)
        self._attributes[key] = fact
        return fact


# Statements with a block of statements of their own (``_Demand._note_unreachable`` looks into those).
_BLOCK_STATEMENTS = frozenset(kind for kind in vars(ast).values() if isinstance(kind, type) and issubclass(
    kind, ast.stmt) and any(name in ("body", "orelse", "finalbody") for name in kind._fields))


class _Demand:
    """Backward from a value: can it reach something that is differentiated?

    Followed within the module: through operators and TensorFlow functions, into variables and their uses, out
    through ``return`` to every call of the function (element by element for tuples).  A value ends without demand
    where it is only compared, cast to an integer, logged (summaries, print), turned into NumPy, assigned to a
    variable's state, or discarded; anything else -- another module, an unknown function, a function passed as a
    value -- is assumed to differentiate it.
    """

    MAX_DEPTH = 80
    # A value followed forward through a network written as straight-line code (a FlowNet's forty layers, each a
    # variable and a call) takes a few steps per layer; questions met again are memoised, so depth costs little.
    # Deep questions need the analysis thread's recursion limit (``lint.run_with_deep_stack``).
    MAX_DEMAND_DEPTH = 400

    def __init__(self, facts: ModuleFacts, tree: ast.Module):
        self.facts = facts
        self.parents: dict[ast.AST, ast.AST] = {}
        self.enclosing: dict[ast.AST, str] = {}  # call or name node -> its function's qualname
        self.calls_at: dict[tuple[int, int], ast.Call] = {}
        self.products_at: dict[tuple[int, int], ast.BinOp] = {}  # products and divisions: sinks too (masks...)
        self.call_sites: dict[str, list[ast.Call]] = {}
        self.loads: dict[str, list[ast.Name]] = {}  # "qualname:variable" -> its reads
        self.escapes: set[str] = set()  # functions referred to other than by calling them (or handing them to a
        # ``knowledge.CALLBACK_RUNNERS`` call)
        self.callback_sites: dict[str, list[tuple[ast.Call, bool]]] = {}  # function name -> (runner call, whether
        # its return is the call's value; else it only steers the call)
        self._referred: dict[str, list[ast.AST]] = {}  # a name -> its reads other than as a call's function
        self.attribute_reads: dict[str, list[ast.Attribute]] = {}  # ``<anything>.name`` read -> those reads
        self.strings: set[str] = set()  # the module's string constants (``getattr(self, "name")`` reads ``name``)
        self.imports: dict[str, str] = {}
        self.relative_imports: dict[str, str] = {}  # ``from ..compat import tfv1 as tf``: tf -> ..compat.tfv1
        self._module_assigned: set[str] = {target.id for statement in tree.body if isinstance(statement, ast.Assign)
                                           for target in statement.targets if isinstance(target, ast.Name)}
        self.unreachable: list[tuple[int, int, str]] = []  # (first line, last line, the statement ending the block)
        self._memo: dict[tuple, str | None] = {}
        self._in_progress: set[tuple] = set()  # demand questions being answered further up the stack
        # The calls the value being followed entered through a parameter, innermost last, each with the function
        # it called: a ``return`` of that function hands the value back to that call, not to every caller.
        self._entered: tuple[tuple[str, ast.Call], ...] = ()
        self._locals: dict[str, frozenset[str]] = {}  # function -> the variables it binds (``_bound_locally``)
        self._assumed = 0  # how often an answer assumed that a question in progress finds no demand
        self._ranges: dict[tuple[str, str], IntervalSet] = {}
        self._globals: set[str] | None = None  # names some function declares global
        self._closure_reads: dict[str, set[str]] | None = None  # function -> names functions nested in it read
        self._walk(tree)
        self._find_callbacks()

    def _walk(self, tree: ast.Module) -> None:
        stack: list[tuple[ast.AST, list[str], str]] = [(tree, [], "")]
        while stack:
            node, prefix, function = stack.pop()
            for child in child_nodes(node):
                self.parents[child] = node
                child_kind = type(child)
                if child_kind is ast.FunctionDef or child_kind is ast.AsyncFunctionDef:
                    qualname = ".".join([*prefix, child.name])
                    stack.append((child, [*prefix, child.name, "<locals>"], qualname))
                elif child_kind is ast.ClassDef:
                    stack.append((child, [*prefix, child.name], function))
                else:
                    stack.append((child, prefix, function))
            kind = type(node)
            if kind in _BLOCK_STATEMENTS:
                self._note_unreachable(node)
            elif kind is ast.BinOp and type(node.op) in (ast.Mult, ast.Div):
                # A product or division can be a sink too (a mask, a saturating denominator): its result's demand.
                self.products_at.setdefault((node.lineno, node.col_offset), node)
                self.enclosing.setdefault(node, function)
            if kind is ast.Call:
                self.calls_at[(node.lineno, node.col_offset)] = node
                self.enclosing[node] = function
                callee = node.func
                name = callee.id if isinstance(callee, ast.Name) else callee.attr if (
                    isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name)
                    and callee.value.id in ("self", "cls")) else None
                if name is not None:
                    self.call_sites.setdefault(name, []).append(node)
            elif kind is ast.Name and type(node.ctx) is ast.Load:
                self.enclosing[node] = function
                if self._bound_by_expression(node):
                    continue  # a lambda's parameter, a comprehension's variable: neither the function's nor the module's
                self.loads.setdefault(f"{function}:{node.id}", []).append(node)
                parent = self.parents.get(node)
                if not (isinstance(parent, ast.Call) and parent.func is node):
                    self._referred.setdefault(node.id, []).append(node)
            elif kind is ast.Attribute:
                if type(node.ctx) is ast.Load:
                    self.attribute_reads.setdefault(node.attr, []).append(node)
                if type(node.value) is ast.Name and node.value.id in ("self", "cls"):
                    parent = self.parents.get(node)
                    if not (isinstance(parent, ast.Call) and parent.func is node):
                        self._referred.setdefault(node.attr, []).append(node)
            elif kind is ast.Constant and type(node.value) is str:
                self.strings.add(node.value)
            elif kind is ast.Import or kind is ast.ImportFrom:
                self.imports.update(import_bindings(node))
                if kind is ast.ImportFrom and node.level:
                    prefix = "." * node.level + (f"{node.module}." if node.module else "")
                    self.relative_imports.update({alias.asname or alias.name: prefix + alias.name
                                                  for alias in node.names if alias.name != "*"})

    def _bound_by_expression(self, name: ast.Name) -> bool:
        """Whether ``name`` is read inside a lambda that binds it as a parameter, or a comprehension that binds it
        as a variable (outside its first iterable, which the enclosing scope evaluates)."""
        child: ast.AST = name
        node = self.parents.get(name)
        while node is not None and not isinstance(node, ast.stmt):
            if isinstance(node, ast.Lambda):
                arguments = node.args
                if name.id in {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                                               *(v for v in (arguments.vararg, arguments.kwarg) if v is not None))}:
                    return True
            elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                first = node.generators[0]
                outer = child is first and self._evaluated_in(name, first) is first.iter  # the enclosing scope's
                if not outer and any(isinstance(target, ast.Name) and target.id == name.id
                                     for generator in node.generators for target in walk(generator.target)):
                    return True
            child, node = node, self.parents.get(node)
        return False

    def _evaluated_in(self, name: ast.Name, generator: ast.comprehension) -> ast.AST | None:
        """The field of ``generator`` (its target, iterable or a condition) that holds ``name``."""
        node = name
        while node is not None and self.parents.get(node) is not generator:
            node = self.parents.get(node)
        return node

    def _find_callbacks(self) -> None:
        """Functions handed to ``tf.while_loop``, ``tf.cond``, ``tf.map_fn``...: the call is where they are called,
        and their return value goes where the call's goes (``knowledge.CALLBACK_RUNNERS``).  Any other read of a
        function's name (stored, passed elsewhere) makes its callers unknown."""
        handed: dict[ast.AST, tuple[ast.Call, bool]] = {}
        for call in self.calls_at.values():
            runner = knowledge.CALLBACK_RUNNERS.get(self._qualified(call.func))
            if runner is None:
                continue
            for slots, gives_value in ((runner.result, True), (runner.steering, False)):
                for position, keyword in slots:
                    argument = call.args[position] if position < len(call.args) else next(
                        (k.value for k in call.keywords if k.arg == keyword), None)
                    if argument is not None and not any(isinstance(a, ast.Starred) for a in call.args[:position]):
                        handed[argument] = (call, gives_value)
        # Only the names of the module's functions and classes are ever asked about (``_last(function)``, and a class
        # built and called at once); the other names read, most of them, need no look at where they are bound.
        asked = {_last(function) for function in self.facts.functions} | self.facts._class_by_name.keys()
        for name, reads in self._referred.items():
            if name not in asked:
                continue
            # A read inside a function that binds the name itself (a parameter ``pad`` beside a module function
            # ``pad``) is of its own variable, not of the function.
            reads = [read for read in reads if not (
                isinstance(read, ast.Name) and self._bound_locally(read.id, self.enclosing.get(read, "")))]
            if not reads:
                continue
            if all(read in handed for read in reads):
                for read in reads:
                    self.callback_sites.setdefault(name, []).append(handed[read])
            else:
                self.escapes.add(name)
        self._handed_callables = handed

    def _bound_locally(self, name: str, function: str) -> bool:
        """Whether ``name`` read in ``function`` is a variable of that function or of one enclosing it."""
        while function:
            definition = self.facts.functions.get(function)
            if definition is None:
                return False
            bound = self._locals.get(function)
            if bound is None:
                bound = self._locals[function] = _local_bindings(definition.node)
            if name in bound:
                return True
            function = definition.parent or ""
        return False

    _ENDS_BLOCK = {ast.Return: "return", ast.Raise: "raise", ast.Continue: "continue", ast.Break: "break"}

    def _note_unreachable(self, statement: ast.stmt) -> None:
        """Statements after a ``return``, ``raise``, ``continue`` or ``break`` in the same block never run."""
        for field_name in ("body", "orelse", "finalbody"):
            block = getattr(statement, field_name, None)
            if not isinstance(block, list):
                continue
            for index, inner in enumerate(block[:-1]):
                keyword = self._ENDS_BLOCK.get(type(inner))
                if keyword is not None:
                    self.unreachable.append((block[index + 1].lineno, block[-1].end_lineno or block[-1].lineno,
                                             keyword))
                    break

    # -- forward: what the module's own calls pass a function ------------------------------------------------------
    def parameter_carries(self, function: str, parameter: str, depth: int) -> bool:
        key = ("parameter", function, parameter)
        if key in self._memo:
            return self._memo[key] is None
        self._memo[key] = None  # while deciding (recursion): may carry
        carries = self._parameter_carries(function, parameter, depth)
        self._memo[key] = None if carries else "no"
        return carries

    def _parameter_carries(self, function: str, parameter: str, depth: int) -> bool:
        definition = self.facts.functions.get(function)
        name = _last(function)
        sites = self.call_sites.get(name, [])
        if definition is None or name in self.escapes or name in self.callback_sites:
            return True  # unknown callers, or arguments a loop or a map passes
        arguments = definition.node.args
        positional = [argument.arg for argument in (*arguments.posonlyargs, *arguments.args)]
        if definition.class_qualname is not None and positional[:1] in (["self"], ["cls"]):
            positional = positional[1:]
        defaults = dict(zip(reversed(positional), reversed(arguments.defaults)))

        def passes_gradient(demand: _Demand, call: ast.Call) -> bool:
            value = demand._argument(call, positional, parameter, defaults)
            return value is None or demand.value_carries(value, demand.enclosing.get(call, ""), depth + 1)

        if any(passes_gradient(self, call) for call in sites):
            return True  # decided in this module: the project's other modules need not be searched
        external = self._external_sites(function)
        if external is None or not (sites or external):
            return True  # unknown callers
        return any(passes_gradient(demand, call) for demand, call in external)

    def parameter_range(self, function: str, parameter: str, depth: int) -> IntervalSet:
        """The union of what the calls of ``function`` pass ``parameter`` (EVERYTHING when not all are known)."""
        key = (function, parameter)
        known = self._ranges.get(key)
        if known is not None:
            return known
        self._ranges[key] = EVERYTHING  # while deciding (recursion): anything
        values = self._parameter_range(function, parameter, depth)
        self._ranges[key] = values
        return values

    def _parameter_range(self, function: str, parameter: str, depth: int) -> IntervalSet:
        definition = self.facts.functions.get(function)
        name = _last(function)
        if definition is None or name in self.escapes or name in self.callback_sites or depth > self.MAX_DEPTH:
            return EVERYTHING
        if definition.class_qualname is not None and not _is_private(name):
            return EVERYTHING  # a public method: ``obj.method(...)`` anywhere may call it
        arguments = definition.node.args
        positional = [argument.arg for argument in (*arguments.posonlyargs, *arguments.args)]
        if parameter not in positional and parameter not in {argument.arg for argument in arguments.kwonlyargs}:
            return EVERYTHING  # ``*args``, ``**kwargs``
        if definition.class_qualname is not None and positional[:1] in (["self"], ["cls"]):
            positional = positional[1:]
        defaults = dict(zip(reversed(positional), reversed(arguments.defaults)))
        defaults.update((argument.arg, default) for argument, default in zip(arguments.kwonlyargs,
                                                                              arguments.kw_defaults)
                        if default is not None)
        sites = [(self, call) for call in self.call_sites.get(name, [])]
        external = self._external_sites(function)
        if external is None or not (sites or external):
            return EVERYTHING  # unknown callers
        values = None
        for demand, call in (*sites, *external):
            if any(isinstance(arg, ast.Starred) for arg in call.args) or any(k.arg is None for k in call.keywords):
                return EVERYTHING  # which argument is which cannot be read
            value = demand._argument(call, positional, parameter, {})
            if value is not None:
                passed = demand.value_range(value, demand.enclosing.get(call, ""), depth + 1)
            elif parameter in defaults:  # not passed: the default itself
                passed = _literal_range(defaults[parameter])
            else:
                passed = EVERYTHING
            values = passed if values is None else values.union(passed)
            if values.is_everything():
                break
        return values if values is not None else EVERYTHING

    def value_range(self, node: ast.expr, function: str, depth: int) -> IntervalSet:
        """The values an expression of this module can take, on the same tables as ``ranges.Analysis``: numbers,
        named and module constants, arithmetic, the library's clamps and bounded functions, variables (every value
        assigned to them in the function) and parameters (what the function's calls pass)."""
        if depth > self.MAX_DEPTH:
            return EVERYTHING
        recurse = lambda child: self.value_range(child, function, depth + 1)  # noqa: E731
        literal = _literal_range(node)
        if not literal.is_everything():
            return literal
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = recurse(node.operand)
            return inner.negate() if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            return _binary(node.op, recurse(node.left), recurse(node.right), node.right)
        if isinstance(node, ast.IfExp):
            return recurse(node.body).union(recurse(node.orelse))
        if isinstance(node, ast.Name):
            return self._name_range(node.id, function, depth, node)
        if isinstance(node, ast.Attribute):
            constant = knowledge.NAMED_CONSTANTS.get(self._qualified(node))
            return IntervalSet.point(constant) if constant is not None else EVERYTHING
        if isinstance(node, ast.Call):
            values = library_call_range((self._qualified(node.func),), lambda position, keywords: _ast_argument(
                node, position, keywords), recurse, literal_number)
            return values if values is not None else EVERYTHING
        return EVERYTHING

    def _name_range(self, name: str, function: str, depth: int, at: ast.AST | None = None) -> IntervalSet:
        """The values of the variable ``name`` read at ``at`` (in ``function``; at any time, without ``at``)."""
        definition = self.facts.functions.get(function) if function else None
        while definition is not None:
            scope = definition.node
            arguments = scope.args
            parameters = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
            values = _assigned_values(scope, name)
            if values is None or (arguments.vararg and arguments.vararg.arg == name) or (
                    arguments.kwarg and arguments.kwarg.arg == name):
                return EVERYTHING  # bound some other way: a loop, an unpacking, an augmented assignment...
            if values or name in parameters:
                killed = False
                if at is not None and values:
                    values, killed = self._reaching(scope, name, at, values)
                result = self.parameter_range(definition.qualname, name, depth + 1) if (
                    name in parameters and not killed) else None
                if not values and result is None:
                    return EVERYTHING  # read before any assignment: bound in an enclosing scope, or not at all
                for value in values:
                    passed = self.value_range(value, definition.qualname, depth + 1)
                    result = passed if result is None else result.union(passed)
                    if result.is_everything():
                        break
                return result
            definition = self.facts.functions.get(definition.parent) if definition.parent else None
        if self._globals is None:
            self._globals = {name for node in walk(self.facts._tree) if isinstance(node, ast.Global)
                             for name in node.names}
        if name in self._globals:
            return EVERYTHING
        values = _assigned_values(self.facts._tree, name, module=True)
        if not values:  # imported, a builtin, or bound some other way
            return EVERYTHING
        result = None
        for value in values:
            passed = self.value_range(value, "", depth + 1)
            result = passed if result is None else result.union(passed)
        return result

    def _reaching(self, scope: ast.AST, name: str, at: ast.AST,
                  values: list[ast.expr]) -> tuple[list[ast.expr], bool]:
        """The assigned values (of ``values``, the function's plain assignments to ``name``) that may reach the read
        ``at``, and whether one of them certainly runs first (the parameter's own value then cannot reach it): the
        last assignment before the read in a block that holds it, and every assignment between the two.  A loop
        around the read, inside that block, may bring any of its assignments back: then every value counts."""
        assigned = {id(value) for value in values}
        position = (at.lineno, at.col_offset)
        child, parent = at, self.parents.get(at)
        while parent is not None:
            if isinstance(parent, ast.While) or (
                    isinstance(parent, (ast.For, ast.AsyncFor)) and child is not parent.iter):
                return values, False  # a loop between the read and any assignment that kills the others
            if isinstance(parent, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.GeneratorExp)) and (
                    parent is not scope):
                return values, False  # read whenever it is called (a generator: whenever it is consumed)
            for block_name in ("body", "orelse", "finalbody"):
                block = getattr(parent, block_name, None)
                if isinstance(block, list) and child in block:
                    for statement in reversed(block[:block.index(child)]):
                        if isinstance(statement, ast.Assign) and id(statement.value) in assigned and any(
                                isinstance(target, ast.Name) and target.id == name for target in statement.targets):
                            first = (statement.lineno, statement.col_offset)
                            return [value for value in values
                                    if first <= (value.lineno, value.col_offset) < position], True
            if parent is scope:
                break
            child, parent = parent, self.parents.get(parent)
        return [value for value in values if (value.lineno, value.col_offset) < position], False

    def _external_sites(self, function: str) -> list[tuple[_Demand, ast.Call]] | None:
        """The calls of a top-level function from the project's other modules, each with its module's demand;
        None when they cannot all be known."""
        project = self.facts.project
        if "." in function:
            definition = self.facts.functions.get(function)
            name = _last(function)
            if (definition is None or definition.class_qualname is None or "<locals>" in function
                    or _is_private(function) or name.startswith("__") or name in knowledge.FRAMEWORK_METHODS
                    or project is None or self.facts.hops <= 0):
                return []  # called through this module (its ``self.x()`` calls), or by the framework
            sites = project.method_callers(name)
            if sites is None:
                return []  # its callers elsewhere cannot all be known: this module's decide, as for any method
        else:
            if project is None or self.facts.hops <= 0:
                return None
            sites = project.callers(function)
            if sites is None:
                return None
        found = []
        for site in sites:
            other = _facts_of(site.path, self.facts.hops - 1)
            if other is None:
                return None
            found.append((other._demand_walk(), site.call))
        return found

    @staticmethod
    def _argument(call: ast.Call, positional: list[str], parameter: str, defaults: dict) -> ast.expr | None:
        if any(isinstance(arg, ast.Starred) for arg in call.args) or any(k.arg is None for k in call.keywords):
            return None
        for keyword in call.keywords:
            if keyword.arg == parameter:
                return keyword.value
        if parameter in positional and positional.index(parameter) < len(call.args):
            return call.args[positional.index(parameter)]
        return defaults.get(parameter)

    def value_carries(self, node: ast.expr, function: str, depth: int) -> bool:
        """The module-level counterpart of ``GradientFlow.carries`` for a call's argument, on the same tables."""
        if depth > self.MAX_DEPTH:
            return True
        again = lambda child: self.value_carries(child, function, depth + 1)  # noqa: E731
        if isinstance(node, (ast.Constant, ast.Compare, ast.BoolOp, ast.JoinedStr)):
            return False
        if isinstance(node, (ast.BinOp,)):
            return again(node.left) or again(node.right)
        if isinstance(node, ast.UnaryOp):
            return not isinstance(node.op, ast.Not) and again(node.operand)
        if isinstance(node, (ast.Subscript, ast.Starred)):
            return again(node.value)
        if isinstance(node, ast.IfExp):
            return again(node.body) or again(node.orelse)
        if isinstance(node, (ast.Tuple, ast.List)):
            return any(again(element) for element in node.elts)
        if isinstance(node, ast.Dict):
            return any(again(value) for value in node.values)
        if isinstance(node, ast.Attribute):
            name = self._qualified(node)
            return not (node.attr in knowledge.NO_GRADIENT_ATTRIBUTES or _constant_module(name))
        if isinstance(node, ast.Name):
            return self._name_carries(node.id, function, depth)
        if isinstance(node, ast.Call):
            name = self._qualified(node.func)
            if name in knowledge.NO_GRADIENT_RESULTS or _constant_module(name):
                return False
            if any(k.arg in knowledge.DTYPE_KEYWORDS and _is_integer_dtype(_dotted(k.value) or "")
                   for k in node.keywords):
                return False
            if name in knowledge.CASTS and node.args[1:2] and _is_integer_dtype(
                    _dotted(node.args[1]) or getattr(node.args[1], "value", "") or ""):
                return False
            if name.split(".")[0] in ("tensorflow", "keras", "tf_keras") or name in knowledge.GRADIENT_FROM_ARGUMENTS:
                return any(again(arg) for arg in [*node.args, *(k.value for k in node.keywords)])
            return True
        return True

    def _name_carries(self, name: str, function: str, depth: int) -> bool:
        if name in ("True", "False", "None"):
            return False
        definition = self.facts.functions.get(function) if function else None
        scope = definition.node if definition is not None else None
        if scope is not None:
            arguments = scope.args
            parameters = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
            if name in parameters:
                if name in knowledge.NO_GRADIENT_PARAMETERS:
                    return False
                return self.parameter_carries(function, name, depth + 1)
            values = [statement.value for statement in walk(scope)
                      if isinstance(statement, ast.Assign) and any(_assigns(target, name)
                                                                    for target in statement.targets)]
            if any(isinstance(statement, (ast.AugAssign, ast.For, ast.With, ast.NamedExpr)) for statement in walk(scope)
                   if _binds(statement, name)):
                return True
            if values:
                return any(self.value_carries(value, function, depth + 1) for value in values)
        qualified = self.imports.get(name)
        if qualified is not None:
            return not _constant_module(qualified)
        return True

    def at(self, line: int, column: int) -> str | None:
        for first, last, keyword in self.unreachable:
            if first <= line <= last:
                return f"it never runs: it follows a `{keyword}` in the same block"
        node = self.calls_at.get((line, column)) or self.products_at.get((line, column))
        return self.demand(node, 0) if node is not None else None

    def _qualified(self, node: ast.expr) -> str:
        return _qualify(_dotted(node) or "", self.imports)

    def _library_name(self, node: ast.expr) -> str | None:
        """The TensorFlow or Keras name ``node`` stands for through the project's modules (``tf.summary.scalar``
        after ``from ..compat import tfv1 as tf``, where ``tfv1`` is ``tf.compat.v1``): the one resolver's answer,
        or None."""
        project = self.facts.project
        dotted = _dotted(node)
        if project is None or dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.relative_imports:
            name = self.relative_imports[head] + (f".{rest}" if rest else "")
        elif head in self.imports and self.imports[head].split(".")[0] not in knowledge.FAMILY_ROOTS:
            name = _qualify(dotted, self.imports)
        else:
            return None
        try:
            return project.resolve(name)
        except Exception:  # the project's modules are advice: unreadable, they resolve nothing
            return None

    def demand(self, node: ast.AST, depth: int) -> str | None:
        """None when ``node``'s value may be differentiated; else why it never is."""
        if depth > self.MAX_DEMAND_DEPTH:
            return None
        parent = self.parents.get(node)
        if parent is None:
            return None
        again = lambda: self.demand(parent, depth + 1)  # noqa: E731
        if isinstance(parent, ast.keyword):
            call = self.parents.get(parent)
            return self._consumed_by(call, node, depth) if isinstance(call, ast.Call) else None
        if isinstance(parent, ast.Call):
            return None if parent.func is node else self._consumed_by(parent, node, depth)
        if isinstance(parent, (ast.Compare, ast.BoolOp)) or (
                isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not)):
            return "its value is only compared"
        if isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Starred)) or (
                isinstance(parent, ast.Subscript) and parent.value is node):
            return again()
        if isinstance(parent, (ast.Tuple, ast.List)) and isinstance(self.parents.get(parent), ast.Return):
            return self._returned(self.enclosing.get(self._first_call_or_name(node)), parent.elts.index(node),
                                  depth)
        if isinstance(parent, (ast.Tuple, ast.List)):
            return again()
        if (isinstance(parent, (ast.ListComp, ast.SetComp, ast.GeneratorExp)) and parent.elt is node) or (
                isinstance(parent, ast.DictComp) and parent.value is node):
            return again()  # an element of the comprehension's value goes where that value goes
        if isinstance(parent, ast.Return):
            return self._returned(self.enclosing.get(self._first_call_or_name(node)), None, depth)
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is node:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if all(isinstance(target, ast.Name) for target in targets):
                return self._variable(targets, node, depth)
            names = _unpacked_names(targets)
            if names:  # ``count, w = tf.while_loop(...)``: the value reaches every name it is unpacked into
                return self._variable(names, node, depth)
            if all(isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                   and target.value.id == "self" for target in targets):
                return self._stored_on_self(targets, node, depth)
            function = self.enclosing.get(self._first_call_or_name(node), "")
            if all(isinstance(target, ast.Subscript) and self._is_numpy_array(target, function, 0)
                   for target in targets):
                return "it is stored into a NumPy array, which carries no gradient"
            return None
        if isinstance(parent, ast.AugAssign) and parent.value is node and isinstance(parent.target, ast.Name):
            return self._variable([parent.target], node, depth)  # ``frames /= std``: the new value's uses
        if isinstance(parent, ast.Expr):
            return "its value is discarded"
        if isinstance(parent, ast.Lambda) and parent.body is node:
            return self._handed_value(parent, depth)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            # ``value.numpy()``, ``value.shape``: the value leaves TensorFlow or only its metadata is read.
            call = self.parents.get(parent)
            called = isinstance(call, ast.Call) and call.func is parent
            if parent.attr in knowledge.NO_GRADIENT_ATTRIBUTES and not called:
                return f"only its .{parent.attr} is read"
            if called and parent.attr in knowledge.NO_DEMAND_METHODS:
                return f"its value only reaches .{parent.attr}(), which is not differentiated"
            if called and parent.attr in knowledge.CONTAINER_GROWTH and isinstance(node, ast.Name):
                return "only other elements are added to it"  # the list's uses decide
        return None

    def _handed_value(self, function: ast.AST, depth: int) -> str | None:
        """What becomes of the value a lambda handed to a ``knowledge.CALLBACK_RUNNERS`` call returns."""
        call, gives_value = self._handed_callables.get(function, (None, True))
        if call is None:
            return None  # called who knows where
        if not gives_value:
            return f"its value only steers {_last(_dotted(call.func))}()"
        return self.demand(call, depth + 1)

    def _first_call_or_name(self, node: ast.AST) -> ast.AST:
        for inner in walk(node):
            if inner in self.enclosing:
                return inner
        return node

    def _consumed_by(self, call: ast.Call, argument: ast.AST, depth: int) -> str | None:
        if self._fetched_by_session(call, argument):
            return "its value is only fetched by Session.run(), which returns NumPy values"
        name = self._library_name(call.func) or self._qualified(call.func)
        if (isinstance(call.func, ast.Name) and name == call.func.id and name not in self.facts.functions
                and name not in self._module_assigned):
            name = f"builtins.{name}"  # ``len(values)``, ``float(x)``: Python's own, unless the module rebinds it
        last = _last(name)
        if (name in knowledge.NO_GRADIENT_RESULTS or _constant_module(name) or last in knowledge.NO_DEMAND_METHODS
                or any(word in last.lower() for word in knowledge.NO_DEMAND_WORDS)
                or any(name.startswith(prefix) for prefix in knowledge.NO_DEMAND_PREFIXES)):
            return f"its value only reaches {last}(), which is not differentiated"
        if name in knowledge.CASTS:
            dtype = [*call.args[1:2], *(k.value for k in call.keywords if k.arg == "dtype")]
            if dtype and _is_integer_dtype(_dotted(dtype[0]) or getattr(dtype[0], "value", "") or ""):
                return "its value is cast to an integer"
        if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
            return self.demand(call, depth + 1)
        callee = self._callee(call)
        if callee is not None:
            return self._passed_to(callee, call, argument, depth)
        declared = self._declared_numpy_elsewhere(name, call, argument)
        if declared is not None:
            return declared
        if any(keyword.arg == "training" for keyword in call.keywords):
            # ``self.core_model(frames, training=False)``: Keras's layer and model call, which hands the gradient of
            # its value back to its inputs and differentiates nothing itself.
            return self.demand(call, depth + 1)
        if (isinstance(call.func, ast.Attribute) and call.func.attr in knowledge.CONTAINER_GROWTH
                and isinstance(call.func.value, ast.Name)):
            return self._added_to(call.func.value, call, depth)
        return None

    def _fetched_by_session(self, call: ast.Call, argument: ast.AST) -> bool:
        """``sess.run(fetches, feed_dict)`` with ``argument`` as the fetches: TensorFlow 1's session evaluates them
        and hands back NumPy values.  The session is known by the name it is called on (``knowledge.SESSION_NAMES``)
        or the call that makes it (``tf.compat.v1.get_default_session().run(x)``)."""
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr == "run"):
            return False
        keyword = self.parents.get(argument)
        if not ((call.args and call.args[0] is argument) or (
                isinstance(keyword, ast.keyword) and keyword.arg == knowledge.SESSION_FETCHES)):
            return False
        receiver = func.value
        if isinstance(receiver, ast.Call):
            return _qualify(_dotted(receiver.func) or "", self.imports) in knowledge.SESSION_FACTORIES
        return isinstance(receiver, (ast.Name, ast.Attribute)) and _last(_dotted(receiver)) in knowledge.SESSION_NAMES

    def _stored_on_self(self, targets: list[ast.Attribute], value: ast.AST, depth: int) -> str | None:
        """``self.fetches = [train_op, norm]`` in a method: the value goes where the attribute's reads take it."""
        klass = self._method_class(self.enclosing.get(self._first_call_or_name(value), ""))
        if klass is None:
            return None
        reasons = []
        for target in targets:
            name = target.attr
            with self._calls_entered(()):  # read in other methods, whatever call stored it
                reason = self._answer(("attribute", klass, name), partial(self._attribute_demand, klass, name, depth))
            if reason is None:
                return None
            reasons.append(reason)
        return reasons[0]

    def _attribute_demand(self, klass: str, name: str, depth: int) -> str | None:
        """Whether some read of ``self.<name>`` may differentiate what a method of ``klass`` stores there.  Known
        only where every read is one: ``self.<name>`` in a method of the class or of a subclass in this module, no
        other object's ``.<name>`` read here, the name not spelled as a string (``getattr``), and no other module of
        the project reading an attribute of that name (a base class elsewhere, a caller of the object).  A value
        stored and never read is assumed differentiated, as a function nobody here calls is."""
        reads = self.attribute_reads.get(name, ())
        if not reads or name in self.strings:
            return None
        project = self.facts.project
        if project is not None and project.attribute_read_elsewhere(name) is not False:
            return None
        classes = self._class_and_subclasses(klass)
        reasons = []
        for read in reads:
            if not (isinstance(read.value, ast.Name) and read.value.id == "self"):
                return None
            if self._method_class(self.enclosing.get(read.value, "")) not in classes:
                return None
            reason = self.demand(read, depth + 1)
            if reason is None:
                return None
            reasons.append(reason)
        return f"it is stored as self.{name}, and every read of that ends so: {reasons[0]}"

    def _method_class(self, function: str) -> str | None:
        """The class whose method ``function`` is, or holds it (a closure in a method sees its ``self``)."""
        while function:
            definition = self.facts.functions.get(function)
            if definition is None:
                return None
            if definition.class_qualname is not None:
                return definition.class_qualname
            function = definition.parent or ""
        return None

    def _class_and_subclasses(self, klass: str) -> set[str]:
        bases = self.facts._class_bases
        found = {klass}
        grown = True
        while grown:
            names = {_last(qualname) for qualname in found}
            more = {qualname for qualname, written in bases.items()
                    if qualname not in found and any(_last(base) in names for base in written)}
            found |= more
            grown = bool(more)
        return found

    def _declared_numpy_elsewhere(self, name: str, call: ast.Call, argument: ast.AST) -> str | None:
        """A function of another module of the project that declares the parameter ``argument`` binds a NumPy
        array (``def score(x_adv: np.ndarray)``): it takes NumPy values, which carry no gradient."""
        project = self.facts.project
        if project is None or "." not in name or name.split(".")[0] in knowledge.FAMILY_ROOTS:
            return None
        found = project.function_definition(name)
        if found is None:
            return None
        definition, path = found
        parameter = _parameter_bound(definition, call, argument, self.parents.get(argument))
        if parameter is None:
            return None
        if _is_numpy_annotation(_annotation(definition, parameter), _module_imports(path)):
            return f"{_last(name)}() declares its {parameter} a NumPy array, which carries no gradient"
        return None

    def _is_numpy_array(self, node: ast.expr, function: str, depth: int) -> bool:
        """Whether ``node`` is a NumPy array (``np.zeros(...)``, ``x.astype(...)`` of one, a parameter annotated
        ``np.ndarray``, an element or slice of one): a tensor stored into it becomes NumPy values."""
        if depth > 6:
            return False
        if isinstance(node, ast.Subscript):
            return self._is_numpy_array(node.value, function, depth + 1)
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in knowledge.NUMPY_ARRAY_METHODS:
                return self._is_numpy_array(node.func.value, function, depth + 1)
            qualified = self._qualified(node.func)
            return qualified.split(".")[0] == "numpy"
        if isinstance(node, ast.Name) and function:
            definition = self.facts.functions.get(function)
            if definition is None:
                return False
            values = _rebinding_values(definition.node, node.id)
            annotation = _annotation(definition.node, node.id)
            if annotation is not None:
                return values == [] and _is_numpy_annotation(annotation, self.imports)
            return bool(values) and all(self._is_numpy_array(value, function, depth + 1) for value in values)
        return False

    def _added_to(self, container: ast.Name, call: ast.Call, depth: int) -> str | None:
        """``summaries.append(value)``: the value goes where the list's later reads take it."""
        function = self.enclosing.get(call, "")
        if not function or self._read_by_nested_function(function, container.id):
            return None
        after = (call.end_lineno or call.lineno, call.end_col_offset or 0)
        reasons = []
        for use in self.loads.get(f"{function}:{container.id}", ()):
            if (use.lineno, use.col_offset) >= after:
                reasons.append(self.demand(use, depth + 1))
                if reasons[-1] is None:
                    return None
        return reasons[0] if reasons else "the list it is added to is never read"

    def _callee(self, call: ast.Call) -> str | None:
        """The qualname of the function of this module that ``call`` calls, or None: a function nested in the
        caller (``inner(x)``), one at module level (``helper(x)``) or a method of the caller's class
        (``self.helper(x)``)."""
        caller = self.enclosing.get(call, "")
        func = call.func
        if isinstance(func, ast.Name):
            nested = f"{caller}.<locals>.{func.id}" if caller else None
            if nested in self.facts.functions:
                return nested
            if func.id in self.facts.functions and not self._rebound(func.id):
                return func.id
            return None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
            owner = self.facts.functions.get(caller)
            klass = owner.class_qualname if owner is not None else None
            method = f"{klass}.{func.attr}" if klass else None
            return method if method in self.facts.functions else None
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name)
                and not self._rebound(func.value.func.id)):
            # ``FlowNet2S().graph_structure(x)``: a method of a class of this module, on an object built here.
            return self._method_of(self.facts._class_by_name.get(func.value.func.id), func.attr)
        return None

    def _method_of(self, klass: str | None, name: str, depth: int = 0) -> str | None:
        """The method ``name`` of ``klass`` (a class of this module), its own or inherited from a class of this
        module; None where a base outside the module may define it."""
        if klass is None or depth > 10:
            return None
        if f"{klass}.{name}" in self.facts.functions:
            return f"{klass}.{name}"
        for base in self.facts._class_bases.get(klass, ()):
            found = self._method_of(self.facts._class_by_name.get(base), name, depth + 1)
            if found is not None:
                return found
        return None

    def _rebound(self, name: str) -> bool:
        return name in self.escapes and name in self._module_assigned

    def _passed_to(self, callee: str, call: ast.Call, argument: ast.AST, depth: int) -> str | None:
        """Whether the function's body can differentiate what ``call`` passes it as ``argument``: followed through
        every read of the parameter it binds (into the function's return, and from there to its callers)."""
        definition = self.facts.functions[callee]
        arguments = definition.node.args
        positional = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
        if definition.class_qualname is not None and isinstance(call.func, ast.Attribute) and positional[:1] in (
                ["self"], ["cls"]):
            positional = positional[1:]
        parameter = None
        if any(isinstance(arg, ast.Starred) for arg in call.args):
            return None
        if argument in call.args:
            index = call.args.index(argument)
            parameter = positional[index] if index < len(positional) else None
        else:
            keyword = self.parents.get(argument)
            if isinstance(keyword, ast.keyword) and keyword.arg is not None:
                names = {*positional, *(a.arg for a in arguments.kwonlyargs)}
                parameter = keyword.arg if keyword.arg in names else None
        if parameter is None:
            return None  # *args, **kwargs: not followed
        if _is_numpy_annotation(_annotation(definition.node, parameter), self.imports):
            return f"{_last(callee)}() declares its {parameter} a NumPy array, which carries no gradient"
        if any(entered == callee for entered, _ in self._entered):
            # A function that calls itself: its returns go to every caller, as they did before it was entered.
            return self._answer(("passed", callee, parameter),
                                lambda: self._parameter_demand(callee, parameter, depth))
        with self._calls_entered((*self._entered, (callee, call))):
            return self._answer(("passed", callee, parameter),
                                lambda: self._parameter_demand(callee, parameter, depth))

    @contextmanager
    def _calls_entered(self, entered: tuple[tuple[str, ast.Call], ...]):
        saved, self._entered = self._entered, entered
        try:
            yield
        finally:
            self._entered = saved

    def _parameter_demand(self, callee: str, parameter: str, depth: int) -> str | None:
        reason = self.facts.function_reason(callee)
        if reason is None:
            uses = self.loads.get(f"{callee}:{parameter}", ())
            reasons = []
            for use in uses:
                reasons.append(self.demand(use, depth + 1))
                if reasons[-1] is None:
                    break
            if self._read_by_nested_function(callee, parameter):
                reasons.append(None)
            reason = (None if None in reasons else
                      f"{_last(callee)}() does not differentiate it: {reasons[0]}" if reasons else
                      f"{_last(callee)}() never reads it")
        return reason

    _CYCLE = "its value only flows back into the computation it comes from"

    def _answer(self, key: tuple, compute) -> str | None:
        """A memoised demand question.  Demand is the least fixed point: a value that only flows around a cycle
        (a loop-carried variable, a function's result passed back into it) reaches nothing differentiated by that
        path, so a question met again while it is being answered assumes no demand.  When the answer turns out to
        be "differentiated", the answers cached under that assumption are dropped."""
        key = (key, tuple(id(call) for _, call in self._entered))  # an answer holds for the calls it was asked in
        if key in self._in_progress:
            self._assumed += 1
            return self._CYCLE
        if key in self._memo:
            return self._memo[key]
        self._in_progress.add(key)
        assumed, known = self._assumed, len(self._memo)
        try:
            reason = compute()
        finally:
            self._in_progress.discard(key)
        if reason is None and self._assumed != assumed:
            for stale in list(self._memo)[known:]:
                del self._memo[stale]
        self._memo[key] = reason
        return reason

    def _variable(self, targets: list[ast.Name], value: ast.AST, depth: int) -> str | None:
        """Where the value assigned to ``targets`` goes: every later read (memoised: a value read twice per layer,
        as a residual network reads it, would otherwise be followed along every path through the layers)."""
        key = ("variable", id(self.parents.get(value, value)), tuple(target.id for target in targets))
        return self._answer(key, lambda: self._variable_uses(targets, value, depth))

    def _variable_uses(self, targets: list[ast.Name], value: ast.AST, depth: int) -> str | None:
        function = self.enclosing.get(self._first_call_or_name(value), "")
        if not function:
            return None  # a module-level name: other modules may import it
        reasons = []
        statement = self.parents.get(value, value)
        after = (statement.end_lineno or statement.lineno, statement.end_col_offset or 0)  # the right side reads
        for target in targets:                                                             # the previous value
            until = self._rebound_after(statement, target.id)
            uses = [use for use in self.loads.get(f"{function}:{target.id}", ())
                    if after <= (use.lineno, use.col_offset) and (until is None
                                                                   or (use.lineno, use.col_offset) < until)]
            if self._read_by_nested_function(function, target.id):
                return None  # a closure reads it: not followed
            for use in uses:
                reason = self.demand(use, depth + 1)
                if reason is None:
                    return None
                reasons.append(reason)
        return reasons[0] if reasons else "its value is never used"

    def _rebound_after(self, statement: ast.AST, name: str) -> tuple[int, int] | None:
        """Where a later statement of the same block assigns ``name`` anew (``f0 = tf.stop_gradient(f0)``): the
        reads after it see that value, not this one.  None when no statement of the block does."""
        block = self.parents.get(statement)
        for field_name in ("body", "orelse", "finalbody"):
            statements = getattr(block, field_name, None)
            if isinstance(statements, list) and statement in statements:
                for later in statements[statements.index(statement) + 1:]:
                    if isinstance(later, (ast.Assign, ast.AnnAssign)) and later.value is not None and any(
                            isinstance(target, ast.Name) and target.id == name
                            for target in (later.targets if isinstance(later, ast.Assign) else [later.target])):
                        return (later.end_lineno or later.lineno, later.end_col_offset or 0)
                return None
        return None

    def _read_by_nested_function(self, function: str, name: str) -> bool:
        """Whether a function nested in ``function`` reads its ``name`` (a closure), not a local of its own."""
        if self._closure_reads is None:
            self._closure_reads = {}
            locals_of: dict[str, frozenset[str]] = {}
            for key in self.loads:
                qualname, _, read = key.rpartition(":")
                if ".<locals>." not in qualname:
                    continue  # not nested in a function: its reads are no closure's
                nested = self.facts.functions.get(qualname)
                if nested is not None:
                    if qualname not in locals_of:
                        locals_of[qualname] = _locals(nested.node)
                    if read in locals_of[qualname]:
                        continue
                parts = qualname.split(".<locals>.")
                for end in range(1, len(parts)):  # every function it is nested in
                    self._closure_reads.setdefault(".<locals>.".join(parts[:end]), set()).add(read)
        return name in self._closure_reads.get(function, ())

    def _returned(self, function: str | None, index: int | None, depth: int) -> str | None:
        """Where a value returned by ``function`` goes: to the call it entered ``function`` through, when it
        came in as an argument (``pad(x)`` hands ``x`` back to that call only); else to every caller."""
        if not function:
            return None
        if self._entered and self._entered[-1][0] == function:
            call = self._entered[-1][1]
            with self._calls_entered(self._entered[:-1]):
                return self.demand(call, depth + 1) if index is None else self._element(call, index, depth)
        with self._calls_entered(()):  # every caller: no longer inside the calls the value came in through
            return self._answer((function, index), lambda: self.facts.function_reason(
                function) or self._callers_discard(function, index, depth))

    def _callers_discard(self, function: str, index: int | None, depth: int) -> str | None:
        name = _last(function)
        sites = self.call_sites.get(name, [])
        if name in self.escapes:
            return None  # handed around as a value: assume it is differentiated
        handed = self.callback_sites.get(name, [])
        sites = [*sites, *(call for call, gives_value in handed if gives_value)]
        if handed and not sites:
            return f"its value only steers {_last(_dotted(handed[0][0].func))}()"

        def differentiated(demand: _Demand, calls) -> bool:
            for call in calls:
                caller = demand.enclosing.get(call, "")
                if caller and demand.facts.function_reason(caller):
                    continue
                reason = demand.demand(call, depth + 1) if index is None else demand._element(call, index, depth)
                if reason is None:
                    return True
            return False

        if differentiated(self, sites):
            return None  # decided in this module: the project's other modules need not be searched
        external = self._external_sites(function)
        callers = [call for call in sites if self.enclosing.get(call) != function]  # its own calls prove nothing
        if external is None or not (callers or external):
            return None  # called from elsewhere, or not at all here: assume it is differentiated
        if any(differentiated(demand, [call]) for demand, call in external):
            return None
        where = "this project" if external else "this module"
        return f"every use of {name}() in {where} discards it"

    def _element(self, call: ast.Call, index: int, depth: int) -> str | None:
        parent = self.parents.get(call)
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(
                parent.targets[0], (ast.Tuple, ast.List)):
            elements = parent.targets[0].elts
            if index < len(elements) and isinstance(elements[index], ast.Name) and not any(
                    isinstance(element, ast.Starred) for element in elements):
                return self._variable([elements[index]], call, depth)
            return None
        if isinstance(parent, ast.Subscript) and isinstance(parent.slice, ast.Constant):
            return self.demand(parent, depth + 1) if parent.slice.value == index else "that element is not used"
        return self.demand(call, depth + 1)


def import_bindings(node: ast.Import | ast.ImportFrom) -> dict[str, str]:
    """The names an absolute import binds, each with the module or name it stands for."""
    bound = {}
    if isinstance(node, ast.Import):
        for alias in node.names:
            bound[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
    elif node.level == 0 and node.module:
        for alias in node.names:
            if alias.name != "*":
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


@lru_cache(maxsize=256)
def _module_imports(path: str) -> dict[str, str]:
    """The names another module of the project binds by importing, for reading its annotations."""
    imports: dict[str, str] = {}
    tree = parsed(path)
    for node in walk(tree) if tree is not None else ():
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.update(import_bindings(node))
    return imports


forget_with_project(_module_imports.cache_clear)


def _annotation(function: ast.AST, parameter: str) -> ast.expr | None:
    arguments = function.args
    for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
        if argument.arg == parameter:
            return argument.annotation
    return None


def _is_numpy_annotation(annotation: ast.expr | None, imports: dict[str, str], depth: int = 0) -> bool:
    """``np.ndarray``, ``"np.ndarray"``, ``NDArray[np.float32]``, ``Optional[np.ndarray]``, ``np.ndarray | None``:
    a NumPy array (or nothing), never a tensor."""
    if annotation is None or depth > 4:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return False
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = (annotation.left, annotation.right)
        return any(not _is_none(side) for side in sides) and all(
            _is_none(side) or _is_numpy_annotation(side, imports, depth + 1) for side in sides)
    if isinstance(annotation, ast.Subscript):
        outer = _last(_qualify(_dotted(annotation.value) or "", imports))
        inner = annotation.slice
        if outer in ("Optional", "Union"):
            parts = inner.elts if isinstance(inner, ast.Tuple) else [inner]
            return any(not _is_none(part) for part in parts) and all(
                _is_none(part) or _is_numpy_annotation(part, imports, depth + 1) for part in parts)
        annotation = annotation.value  # ``NDArray[np.float32]``
    name = _dotted(annotation)
    return name is not None and _qualify(name, imports) in knowledge.NUMPY_ARRAY_TYPES


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None or _dotted(node) == "None"


def _parameter_bound(definition: ast.AST, call: ast.Call, argument: ast.AST, parent: ast.AST | None) -> str | None:
    """The parameter of a top-level function that ``argument`` of ``call`` binds, or None (``*args``...)."""
    arguments = definition.args
    positional = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
    if argument in call.args:
        index = call.args.index(argument)
        if any(isinstance(arg, ast.Starred) for arg in call.args[:index + 1]):
            return None
        return positional[index] if index < len(positional) else None
    if isinstance(parent, ast.keyword) and parent.arg is not None:
        return parent.arg if parent.arg in {*positional, *(a.arg for a in arguments.kwonlyargs)} else None
    return None


def _local_bindings(function: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """The variables a function binds in its own scope: its parameters, and what its body assigns, imports or
    catches, less those it declares ``global`` or ``nonlocal``.  Functions and classes it defines are left out (their
    names are read as functions), and so are comprehensions and lambdas, scopes of their own."""
    arguments = function.args
    names = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    names.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
    declared: set[str] = set()
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue  # another scope; the name it binds is a function's, which the reads of functions are about
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        stack.extend(ast.iter_child_nodes(node))
    return frozenset(names - declared)


def _unpacked_names(targets: list[ast.expr]) -> list[ast.Name]:
    """The names of tuple and list targets (``a, (b, *c) = ...``), or [] when one is not a plain name."""
    names: list[ast.Name] = []
    stack = list(targets)
    while stack:
        target = stack.pop()
        if isinstance(target, ast.Starred):
            target = target.value
        if isinstance(target, ast.Name):
            names.append(target)
        elif isinstance(target, (ast.Tuple, ast.List)):
            stack.extend(target.elts)
        else:
            return []
    return names


def _qualify(dotted: str, imports: dict[str, str]) -> str:
    head, _, rest = dotted.partition(".")
    resolved = imports.get(head)
    return (resolved + ("." + rest if rest else "")) if resolved else dotted


def _locals(function: ast.AST) -> frozenset[str]:
    """The names a function binds itself: parameters and assignment targets (not those of functions in it)."""
    arguments = function.args
    names = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    names |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    stack = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            names.difference_update(node.names)
        stack.extend(child_nodes(node))
    return frozenset(names)


@lru_cache(maxsize=128)
def _facts_of(path: str, hops: int) -> ModuleFacts | None:
    """Another module's facts, for questions about its calls of the linted module's functions."""
    tree = parsed(path)
    if tree is None:
        return None
    return ModuleFacts(tree, ProjectModules(path) if hops > 0 else None, hops)


forget_with_project(_facts_of.cache_clear)


def _assigns(target: ast.expr, name: str) -> bool:
    """Whether assigning to ``target`` binds ``name`` (``name = ...`` or ``name, other = ...``; an unpacked element
    carries a gradient only if the whole value does)."""
    if isinstance(target, ast.Name):
        return target.id == name
    if isinstance(target, (ast.Tuple, ast.List)):
        return any(_assigns(element, name) for element in target.elts)
    if isinstance(target, ast.Starred):
        return _assigns(target.value, name)
    return False


def _binds(statement: ast.AST, name: str) -> bool:
    targets = []
    if isinstance(statement, ast.AugAssign):
        targets = [statement.target]
    elif isinstance(statement, ast.For):
        targets = [statement.target]
    elif isinstance(statement, ast.With):
        targets = [item.optional_vars for item in statement.items if item.optional_vars is not None]
    elif isinstance(statement, ast.NamedExpr):
        targets = [statement.target]
    return any(isinstance(node, ast.Name) and node.id == name for target in targets for node in walk(target))


def _is_private(qualname: str) -> bool:
    return "<locals>" in qualname or _last(qualname).startswith("_") and not _last(qualname).startswith("__")


def _ast_value(node: ast.expr, method: ast.AST | None, depth: int = 0) -> tuple[bool, IntervalSet]:
    """(may carry a gradient, values) of an attribute's assigned value: numbers, hyperparameters and arithmetic on
    them are Python values; anything else may be a tensor or a variable."""
    if depth > 20:
        return True, EVERYTHING
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return False, IntervalSet.point(float(node.value))
    if isinstance(node, ast.Constant):
        return False, EVERYTHING
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        carries, values = _ast_value(node.operand, method, depth + 1)
        return carries, values.negate() if isinstance(node.op, ast.USub) else values
    if isinstance(node, ast.BinOp):
        left_carries, left = _ast_value(node.left, method, depth + 1)
        right_carries, right = _ast_value(node.right, method, depth + 1)
        return left_carries or right_carries, _binary(node.op, left, right, node.right)
    if isinstance(node, ast.Name):
        default = _parameter_default(method, node.id)
        if default is not None:
            return False, hyperparameter_range(default)
        if node.id in knowledge.NO_GRADIENT_PARAMETERS:
            return False, EVERYTHING
        return True, EVERYTHING
    if isinstance(node, ast.Call) and _creates_untrainable_variable(node):
        return False, EVERYTHING
    dotted = _dotted(node) if isinstance(node, ast.Attribute) else None
    if dotted is not None:
        for module in ("math", "np", "numpy"):
            if dotted.startswith(module + "."):
                constant = knowledge.NAMED_CONSTANTS.get("numpy." + dotted.split(".", 1)[1] if module == "np"
                                                         else dotted)
                return False, IntervalSet.point(constant) if constant is not None else EVERYTHING
    return True, EVERYTHING


def _creates_untrainable_variable(call: ast.Call) -> bool:
    """``tf.Variable(..., trainable=False)``, ``self.add_weight(..., trainable=False)``: a variable no tape watches."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return name in knowledge.VARIABLE_CREATORS and any(
        keyword.arg == "trainable" and isinstance(keyword.value, ast.Constant) and keyword.value.value is False
        for keyword in call.keywords)


def _literal_range(node: ast.expr) -> IntervalSet:
    number = literal_number(node)
    return IntervalSet.point(number) if number is not None else EVERYTHING


def _ast_argument(call: ast.Call, position: int, keywords: tuple[str, ...]) -> ast.expr | None:
    """``ranges.argument`` for CPython's tree: None when absent or hidden behind ``*args`` / ``**kwargs``."""
    if any(isinstance(arg, ast.Starred) for arg in call.args[:position + 1]):
        return None
    for keyword in call.keywords:
        if keyword.arg in keywords:
            return keyword.value
    if position < len(call.args):
        return call.args[position]
    return None


def _assigned_values(scope: ast.AST, name: str, module: bool = False) -> list[ast.expr] | None:
    """The values of the plain assignments ``name = value`` in a function (in functions nested in it too: more
    values only widen a union) or, with ``module``, in a module's own scope; None when ``name`` is bound some other
    way there (a loop, an unpacking, an augmented or annotated assignment, an import, a ``global``...)."""
    values = []
    for node in (_module_scope(scope) if module else walk(scope)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    if target.id == name:
                        values.append(node.value)
                elif _names_in(target, name):
                    return None
        elif _binds_otherwise(node, name):
            return None
    return values


def _rebinding_values(scope: ast.AST, name: str) -> list[ast.expr] | None:
    """The values ``name = value`` binds in a function, for the kind of object ``name`` is (its elements' stores,
    ``name[i] = v``, keep it the same object); None when it is bound some other way."""
    values = []
    for node in walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    if target.id == name:
                        values.append(node.value)
                elif not isinstance(target, (ast.Subscript, ast.Attribute)) and _names_in(target, name):
                    return None
        elif _binds_otherwise(node, name):
            return None
    return values


def _module_scope(tree: ast.Module) -> Iterable[ast.AST]:
    """Every node evaluated in the module's own scope (function and class definitions, not their bodies)."""
    stack: list[ast.AST] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(reversed(child_nodes(node)))


def _names_in(target: ast.AST, name: str) -> bool:
    return any((isinstance(inner, ast.Name) and inner.id == name) or (
        isinstance(inner, (ast.MatchAs, ast.MatchStar)) and inner.name == name) or (
        isinstance(inner, ast.MatchMapping) and inner.rest == name) for inner in walk(target))


def _binds_otherwise(node: ast.AST, name: str) -> bool:
    """Whether ``node``, no plain assignment, may bind ``name``."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name == name
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return any((alias.asname or alias.name.split(".")[0]) == name or alias.name == "*" for alias in node.names)
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return name in node.names
    if isinstance(node, ast.ExceptHandler):
        return node.name == name
    if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.NamedExpr, ast.comprehension)):
        return _names_in(node.target, name)
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return any(item.optional_vars is not None and _names_in(item.optional_vars, name) for item in node.items)
    if isinstance(node, ast.Delete):
        return any(_names_in(target, name) for target in node.targets)
    if isinstance(node, ast.match_case):
        return _names_in(node.pattern, name)
    return False


def _binary(op: ast.operator, left: IntervalSet, right: IntervalSet, right_node: ast.expr) -> IntervalSet:
    if isinstance(op, ast.Add):
        return left.add(right)
    if isinstance(op, ast.Sub):
        return left.add(right.negate())
    if isinstance(op, ast.Mult):
        return left.multiply(right)
    if isinstance(op, ast.Div):
        return left.multiply(right.reciprocal())
    if isinstance(op, ast.Pow) and isinstance(right_node, ast.Constant) and isinstance(right_node.value, (int, float)):
        return power_range(left, float(right_node.value))
    return EVERYTHING


def _parameter_default(method: ast.AST | None, name: str) -> float | None:
    if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    arguments = method.args
    positional = [*arguments.posonlyargs, *arguments.args]
    pairs = list(zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults))
    pairs += [(a, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None]
    for argument, default in pairs:
        if argument.arg == name:
            value = default.operand if isinstance(default, ast.UnaryOp) and isinstance(
                default.op, ast.USub) else default
            if isinstance(value, ast.Constant) and isinstance(value.value, (int, float)) and not isinstance(
                    value.value, bool):
                number = float(value.value)
                return -number if value is not default else number
    return None


# -- differentiability: which values carry a gradient ------------------------------------------------------------
class FlowContext(Protocol):
    def qualified_names(self, node: cst.CSTNode) -> frozenset[str]: ...

    def binding(self, name: str, as_of: int) -> Binding | None: ...

    def key(self, node: cst.CSTNode) -> str: ...

    def attribute_fact(self, node: cst.Attribute) -> AttributeFact | None: ...

    def parameter_carries(self, parameter: str) -> bool: ...

    def project_constant(self, name: str) -> float | None: ...


class GradientFlow:
    """Whether an expression can carry a gradient, on the elements of a region (``ranges.Region``)."""

    def __init__(self, context: FlowContext, analysis: Analysis):
        self.ctx = context
        self.analysis = analysis

    def carries(self, node: cst.BaseExpression, region: Region, as_of: int, depth: int = 0) -> bool:
        """False only with positive evidence that no gradient reaches ``node``'s value on ``region``."""
        if depth > MAX_DEPTH or not self.analysis.spend():
            return True  # out of depth or budget: unknown, so it may carry one
        again = lambda child, r=region, a=as_of: self.carries(child, r, a, depth + 1)  # noqa: E731
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.BaseString, cst.Comparison,
                             cst.BooleanOperation, cst.Ellipsis)):
            return False
        if isinstance(node, cst.Name):
            return self._name_carries(node, region, as_of, depth)
        if isinstance(node, cst.Attribute):
            return self._attribute_carries(node)
        if isinstance(node, cst.UnaryOperation):
            return not isinstance(node.operator, cst.Not) and again(node.expression)
        if isinstance(node, cst.BinaryOperation):
            return again(node.left) or again(node.right)
        if isinstance(node, cst.Subscript):
            return again(node.value)
        if isinstance(node, cst.IfExp):
            return again(node.body) or again(node.orelse)
        if isinstance(node, (cst.Tuple, cst.List)):
            return any(again(element.value) for element in node.elements)
        if isinstance(node, cst.Dict):
            return any(not isinstance(element, cst.DictElement) or again(element.value)
                       for element in node.elements)
        if isinstance(node, cst.Call):
            return self._call_carries(node, region, as_of, depth)
        return True

    def _name_carries(self, node: cst.Name, region: Region, as_of: int, depth: int) -> bool:
        if node.value in ("True", "False", "None"):
            return False
        binding = self.ctx.binding(node.value, as_of)
        if binding is None:
            names = self.ctx.qualified_names(node)
            if any(self.ctx.project_constant(name) is not None for name in names):
                return False  # a number bound in a module of the project
            return not any(_constant_module(name) for name in names) or not names
        if binding.value is not None:
            return self.carries(binding.value, region, binding.seq, depth + 1)
        if binding.unpacked_from is not None:
            return self.carries(binding.unpacked_from, EVERYWHERE, binding.seq, depth + 1)
        if binding.parameter is not None:
            if binding.parameter in knowledge.NO_GRADIENT_PARAMETERS or binding.default is not None:
                return False
            return self.ctx.parameter_carries(binding.parameter)
        return True

    def _attribute_carries(self, node: cst.Attribute) -> bool:
        if node.attr.value in knowledge.NO_GRADIENT_ATTRIBUTES:
            return False
        names = self.ctx.qualified_names(node)
        if any(_constant_module(name) or self.ctx.project_constant(name) is not None for name in names):
            return False
        fact = self.ctx.attribute_fact(node)
        if fact is not None:
            return fact.differentiable
        return True

    def _call_carries(self, node: cst.Call, region: Region, as_of: int, depth: int) -> bool:
        names = self.ctx.qualified_names(node.func)
        again = lambda child, r=region: self.carries(child, r, as_of, depth + 1)  # noqa: E731
        for name in names:
            api = knowledge.select_api(name)
            if api is not None:
                return self._select_carries(node, api, region, as_of, depth)
        if names & knowledge.NO_GRADIENT_RESULTS or any(_constant_module(name) for name in names):
            return False
        if names & knowledge.RANDOM_SAMPLES:  # a gradient flows only from the distribution's parameters
            parameters = [arg.value for arg in node.args[1:] if arg.keyword is None] + [
                arg.value for arg in node.args
                if arg.keyword is not None and arg.keyword.value not in knowledge.RANDOM_NON_PARAMETERS]
            return any(again(parameter) for parameter in parameters)
        if any(arg.keyword is not None and arg.keyword.value in knowledge.DTYPE_KEYWORDS
               and _is_integer_dtype(self.ctx.key(arg.value)) for arg in node.args):
            return False  # ``count_nonzero(m, dtype=tf.int32)``, ``tf.size(x, out_type=tf.int64)``: integers
        if names & knowledge.CASTS:
            dtype = next((arg.value for arg in node.args[1:2]), None) or next(
                (arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value == "dtype"), None)
            if dtype is not None and _is_integer_dtype(self.ctx.key(dtype)):
                return False
            return any(again(arg.value) for arg in node.args[:1])
        creates_variable = any(name.startswith(prefix) for name in names for prefix in knowledge.TRAINABLE_SOURCES)
        if (creates_variable or isinstance(node.func, cst.Attribute)
                and node.func.attr.value in knowledge.WEIGHT_METHODS) and _untrainable(node):
            return False  # ``tf.Variable(..., trainable=False)``: no tape watches it, no optimizer updates it
        if creates_variable:
            return True
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("numpy", "astype", "item", "tolist"):
            return False
        if isinstance(node.func, cst.Attribute) and self._is_numpy_value(node.func.value, as_of, 0):
            return False  # a method of a NumPy value (``np.exp(z).sum()``): NumPy computes no gradient
        if any(name.split(".")[0] in ("tensorflow", "keras", "tf_keras") for name in names) or (
                names & knowledge.GRADIENT_FROM_ARGUMENTS):
            # A TensorFlow or Keras function of its arguments: a gradient flows only from them.
            return any(again(arg.value) for arg in node.args)
        if _is_dtype_call(node, self.ctx):
            return False  # ``dtype(1.)``, ``x.dtype.as_numpy_dtype(0.)``: a NumPy scalar
        return True  # a user function, a layer, a model: may read trainable weights

    def _is_numpy_value(self, node, as_of: int, depth: int) -> bool:
        """Whether ``node`` is computed by a module without gradients (NumPy, ``math``), directly, as a local
        variable's value, an element of one, or a method's result on one."""
        if depth > 5:
            return False
        if isinstance(node, cst.Name):
            binding = self.ctx.binding(node.value, as_of)
            return binding is not None and binding.value is not None and self._is_numpy_value(
                binding.value, binding.seq, depth + 1)
        if isinstance(node, cst.Subscript):
            return self._is_numpy_value(node.value, as_of, depth + 1)
        if isinstance(node, cst.Call):
            if any(_constant_module(name) for name in self.ctx.qualified_names(node.func)):
                return True
            return isinstance(node.func, cst.Attribute) and self._is_numpy_value(node.func.value, as_of, depth + 1)
        return False

    def _select_carries(self, node: cst.Call, api, region: Region, as_of: int, depth: int) -> bool:
        cond, when_true, when_false = select_arguments(node, api)
        if cond is None or when_true is None or when_false is None:
            return False  # the index form: integer coordinates
        for branch, positive in ((when_true, True), (when_false, False)):
            sub_region = conjoin(region, self.analysis.region(cond, positive, as_of, depth + 1))
            if not is_empty(sub_region) and self.carries(branch, sub_region, as_of, depth + 1):
                return True
        return False

    # -- names an expression depends on, for the relevance of a condition -------------------------------------
    def names(self, node: cst.CSTNode, as_of: int, seen: set | None = None, depth: int = 0) -> set[str]:
        """The variables and attribute chains an expression reads, following local assignments; ``UNKNOWN_NAME``
        among them when the chain was too long to follow to its end."""
        seen = set() if seen is None else seen
        out: set[str] = set()
        if depth > MAX_DEPTH:
            return {UNKNOWN_NAME}
        if isinstance(node, cst.Name):
            binding = self.ctx.binding(node.value, as_of)
            if binding is None and self.ctx.qualified_names(node) - {node.value}:
                return out  # an imported module or function (``tf``, ``np``): read by everything, relates nothing
            out.add(node.value)
            if binding is not None and binding.value is not None and id(binding) not in seen:
                seen.add(id(binding))
                out |= self.names(binding.value, binding.seq, seen, depth + 1)
            return out
        if isinstance(node, cst.Attribute):
            inner = self.names(node.value, as_of, seen, depth + 1)
            if inner:  # an attribute of a local value (``self.scale``, ``x.shape``), not of a module
                out.add(self.ctx.key(node))
                if node.attr.value not in knowledge.NO_GRADIENT_ATTRIBUTES:
                    out |= inner
            return out
        if isinstance(node, cst.Call):
            for arg in node.args:
                out |= self.names(arg.value, as_of, seen, depth + 1)
            if isinstance(node.func, cst.Attribute) and not self.ctx.qualified_names(node.func):
                out |= self.names(node.func.value, as_of, seen, depth + 1)  # x.mean(): reads x
            return out
        for child in node.children:
            if isinstance(child, cst.BaseExpression) or isinstance(child, (cst.Arg, cst.Element, cst.SubscriptElement,
                                                                          cst.Index, cst.ComparisonTarget)):
                out |= self.names(child, as_of, seen, depth + 1)
        return out


def _constant_module(name: str) -> bool:
    return any(name == module or name.startswith(module + ".") for module in knowledge.NO_GRADIENT_MODULES)


def _is_integer_dtype(text: str) -> bool:
    last = text.rsplit(".", 1)[-1].strip("\"'")
    return any(last.startswith(word) for word in knowledge.INTEGER_DTYPE_WORDS)


def _is_dtype_call(node: cst.Call, context: FlowContext) -> bool:
    """``dtype(1.)``, ``dtype_util.as_numpy_dtype(dtype)(1.)``, ``x.dtype.as_numpy_dtype(0.)``: a callee that
    names a dtype, called with numbers only."""
    text = context.key(node.func).lower()
    if "dtype" not in text:
        return False
    return all(isinstance(arg.value, (cst.Integer, cst.Float, cst.UnaryOperation)) for arg in node.args)
