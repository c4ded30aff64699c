"""Cut the code a probe needs out of a module, without running the rest of it.

A finding lies in a *unit*: the top-level ``def`` (``@tf.function`` and other decorators included), the top-level
``name = lambda ...``, or the top-level class (a Keras ``Layer``, a ``Metric``, any class whose method holds the
finding) that contains it.  The unit needs some of the module's top-level statements: the imports and the
definitions of the module-level names it reads, and theirs in turn.  Only those run in the probe process; a
script that loads MNIST and trains at import time is never started, because nothing the unit reads is bound by
that code.

Names are resolved with the compiler's own scope analysis (``symtable``): a name a function binds locally is never
mistaken for the module-level name it shadows.  Import statements are cut down to the names the unit uses (one
step per name), so an import that fails for a name the unit does not need cannot stop the probe.

Pure Python: the parent process plans with it and the probe process executes its plans.
"""

from __future__ import annotations

import ast
import symtable
from dataclasses import dataclass, field, replace

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# The name of the input guard the probe process defines in a module where a finding's operands are guarded
# (``inputs.guard_edits``): no statement of the module binds it, so none is looked for (not even a star import).
GUARD_NAME = "__tflint_nan_guard__"
DIVISOR_GUARD_NAME = "__tflint_nan_safe_divisor__"
OP_GUARD_NAME = "__tflint_nan_guard_op__"
SELECT_MARK_NAME = "__tflint_nan_mark_select__"
_BLOCK_KEYWORDS = {ast.AsyncWith: "async with", ast.AsyncFor: "async for", ast.Try: "try"}
# The method a class is probed through when none is named: a Keras layer's call, a callable, a metric's update.
_ENTRY_METHODS = ("call", "__call__", "update_state")


@dataclass(frozen=True)
class Parameter:
    name: str
    keyword_only: bool = False


@dataclass(frozen=True)
class Step:
    """One top-level statement to execute; for an import, only the binding of ``name``."""

    statement: int  # index in the module body
    name: str | None = None  # for imports: the bound name to keep (one alias)


@dataclass(frozen=True)
class Unit:
    """A probed unit and the statements that define it."""

    name: str  # the top-level name: the function, the lambda's variable, or the class
    kind: str  # "function" | "class"
    method: str | None  # for classes: the method that holds the finding (or the one asked for)
    first_line: int  # 1-based, decorators included
    last_line: int
    parameters: tuple[Parameter, ...]  # the tensors to feed: required parameters, ``self`` excluded
    steps: tuple[Step, ...]  # in source order; the unit's own statement is last
    problem: str | None = None  # why it cannot be probed (then ``steps`` is empty)
    # A function the top-level function defines and returns (a loss factory's loss): the top-level function is
    # called with its defaults, and what it returns is probed.
    inner: str | None = None

    @property
    def label(self) -> str:
        """How reports name it: ``elu``, ``CustomELU.call``, ``focal_loss_fn().focal_loss``."""
        if self.inner:
            return f"{self.name}().{self.inner}"
        return f"{self.name}.{self.method}" if self.method else self.name

    def signature(self) -> str:
        return f"{self.label}({', '.join(p.name for p in self.parameters)})"

    def to_json(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "method": self.method, "first_line": self.first_line,
            "last_line": self.last_line, "problem": self.problem,
            "parameters": [[p.name, p.keyword_only] for p in self.parameters],
            "steps": [[s.statement, s.name] for s in self.steps], "inner": self.inner,
        }

    @staticmethod
    def from_json(data: dict) -> Unit:
        return Unit(data["name"], data["kind"], data["method"], data["first_line"], data["last_line"],
                    tuple(Parameter(name, keyword_only) for name, keyword_only in data["parameters"]),
                    tuple(Step(statement, name) for statement, name in data["steps"]), data["problem"],
                    data.get("inner"))


class ExtractError(Exception):
    """The module cannot be cut up (it does not parse)."""


@dataclass
class _Statement:
    node: ast.stmt
    first_line: int
    binds: set[str] = field(default_factory=set)
    star_import: bool = False


class ModuleSlicer:
    """The units of one module's source and the steps each one needs."""

    def __init__(self, source: str, path: str = "<string>"):
        try:
            self.tree = ast.parse(source, path)
            self.table = symtable.symtable(source, path, "exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
            raise ExtractError(f"cannot parse: {error}") from None
        self.statements = [_Statement(node, _first_line(node)) for node in self.tree.body]
        self.binders: dict[str, list[int]] = {}
        for index, statement in enumerate(self.statements):
            statement.binds, statement.star_import = _bound_names(statement.node)
            for name in statement.binds:
                self.binders.setdefault(name, []).append(index)
        self._future = [i for i, s in enumerate(self.statements)
                        if isinstance(s.node, ast.ImportFrom) and s.node.module == "__future__"]
        self._postponed_annotations = any(alias.name == "annotations" for i in self._future
                                          for alias in self.statements[i].node.names)

    # -- finding units ------------------------------------------------------------------------------------------
    def unit_at(self, line: int, column: int = 0) -> Unit:
        """The unit holding the source position (1-based line, 0-based column)."""
        for index, statement in enumerate(self.statements):
            node = statement.node
            if not statement.first_line <= line <= (node.end_lineno or node.lineno):
                continue
            if isinstance(node, ast.FunctionDef):
                inner = _returned_function_at(node, line)
                if inner is not None and not _required_parameters(node.args, drop_first=False):
                    unit = self._unit(index, node.name, "function", None, inner.args, bound=False)
                    return replace(unit, inner=inner.name)
                return self._unit(index, node.name, "function", None, node.args, bound=False)
            if isinstance(node, ast.AsyncFunctionDef):
                return _problem(node.name, statement, "an async function; only plain functions are probed")
            if _is_lambda_binding(node):
                return self._unit(index, node.targets[0].id, "function", None, node.value.args, bound=False)
            if isinstance(node, ast.ClassDef):
                for member in node.body:
                    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                            _first_line(member) <= line <= (member.end_lineno or member.lineno)):
                        return self._class_unit(index, node, member)
                return _problem(node.name, statement, "in a class body, outside its methods")
            if any(isinstance(inner, _DEFINITIONS) for inner in ast.walk(node)):
                keyword = _BLOCK_KEYWORDS.get(type(node), type(node).__name__.lower())
                return _problem(None, statement, f"defined inside a top-level {keyword} block; only top-level "
                                                 "functions, lambdas and classes are probed")
            return _problem(None, statement, "module-level code, outside any function or class")
        return _problem(None, None, f"line {line} is outside the module's statements")

    def unit_named(self, name: str) -> Unit:
        """``function``, ``lambda_variable``, ``Class`` (its ``call``, ``__call__`` or a metric's ``update_state``),
        ``Class.method`` or ``factory().inner``."""
        top, _, method = name.partition(".")
        if top.endswith("()"):  # ``factory().inner``: the function a factory returns (``Unit.label``)
            return self._returned_unit(top[:-2], method)
        for index in reversed(self.binders.get(top, [])):  # the last definition is the one a caller sees
            node = self.statements[index].node
            if isinstance(node, ast.FunctionDef) and node.name == top and not method:
                return self._unit(index, top, "function", None, node.args, bound=False)
            if _is_lambda_binding(node) and node.targets[0].id == top and not method:
                return self._unit(index, top, "function", None, node.value.args, bound=False)
            if isinstance(node, ast.ClassDef) and node.name == top:
                members = {m.name: m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
                wanted = method or next((m for m in _ENTRY_METHODS if m in members), "")
                if wanted not in members:
                    return _problem(top, self.statements[index],
                                    f"class {top} has no method {wanted!r}" if wanted else
                                    f"class {top} defines none of {', '.join(_ENTRY_METHODS)}; name a method: "
                                    f"{top}.METHOD")
                return self._class_unit(index, node, members[wanted])
        raise KeyError(f"no top-level function, lambda or class named {top!r}")

    def _returned_unit(self, factory: str, inner: str) -> Unit:
        for index in reversed(self.binders.get(factory, [])):
            node = self.statements[index].node
            if isinstance(node, ast.FunctionDef) and node.name == factory:
                for statement in node.body:
                    if isinstance(statement, ast.FunctionDef) and statement.name == inner:
                        found = _returned_function_at(node, _first_line(statement))
                        if found is not None and not _required_parameters(node.args, drop_first=False):
                            unit = self._unit(index, factory, "function", None, found.args, bound=False)
                            return replace(unit, inner=inner)
        raise KeyError(f"no top-level function {factory!r} that returns a function {inner!r}")

    def units(self) -> list[Unit]:
        """Every top-level function, lambda binding and class with an entry method (for listings)."""
        found = []
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef) or _is_lambda_binding(node):
                found.append(node.name if isinstance(node, ast.FunctionDef) else node.targets[0].id)
            elif isinstance(node, ast.ClassDef) and any(
                    isinstance(m, ast.FunctionDef) and m.name in _ENTRY_METHODS for m in node.body):
                found.append(node.name)
        return [self.unit_named(name) for name in dict.fromkeys(found)]

    def _class_unit(self, index: int, node: ast.ClassDef, member: ast.stmt) -> Unit:
        if isinstance(member, ast.AsyncFunctionDef):
            return _problem(node.name, self.statements[index], f"{node.name}.{member.name} is an async method")
        static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in member.decorator_list)
        return self._unit(index, node.name, "class", member.name, member.args, bound=not static)

    def _unit(self, index: int, name: str, kind: str, method: str | None, args: ast.arguments,
              bound: bool) -> Unit:
        statement = self.statements[index]
        parameters = _required_parameters(args, drop_first=bound)
        last = statement.node.end_lineno or statement.node.lineno
        return Unit(name, kind, method, statement.first_line, last, parameters, self.steps_for(index))

    # -- dependencies -------------------------------------------------------------------------------------------
    def steps_for(self, index: int) -> tuple[Step, ...]:
        """The steps that define statement ``index`` and everything it reads at module level, in source order."""
        chosen: dict[int, set[str | None]] = {i: {None} for i in self._future}
        chosen[index] = {None}
        pending = list(self._reads(index) - {GUARD_NAME, DIVISOR_GUARD_NAME})
        resolved: set[str] = set()
        while pending:
            name = pending.pop()
            if name in resolved:
                continue
            resolved.add(name)
            binders = self.binders.get(name)
            if not binders:
                binders = [i for i, s in enumerate(self.statements) if s.star_import]
            for binder in binders:
                node = self.statements[binder].node
                if isinstance(node, (ast.Import, ast.ImportFrom)) and not self.statements[binder].star_import:
                    chosen.setdefault(binder, set()).add(name)
                elif binder not in chosen or chosen[binder] != {None}:
                    chosen[binder] = {None}
                    pending.extend(self._reads(binder))
        steps = []
        for statement in sorted(chosen):
            names = chosen[statement]
            if None in names:
                steps.append(Step(statement))
            else:
                steps.extend(Step(statement, name) for name in sorted(names))
        return tuple(steps)

    def _reads(self, index: int) -> set[str]:
        """Module-level names a top-level statement reads: in its module-scope parts (decorators, defaults, bases,
        annotations, plain expressions) and, through ``symtable``, the globals its functions and classes use."""
        statement = self.statements[index]
        node = statement.node
        names = _module_scope_loads(node, self._postponed_annotations)
        last = node.end_lineno or node.lineno
        for table in self.table.get_children():
            if statement.first_line <= table.get_lineno() <= last:
                names |= _global_references(table)
        return names


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", ())
    return min([node.lineno] + [d.lineno for d in decorators])


def _problem(name: str | None, statement: _Statement | None, reason: str) -> Unit:
    first = statement.first_line if statement else 0
    last = (statement.node.end_lineno or first) if statement else 0
    return Unit(name or "<module>", "function", None, first, last, (), (), reason)


def _is_lambda_binding(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Lambda))


def _returned_function_at(factory: ast.FunctionDef, line: int) -> ast.FunctionDef | None:
    """The function ``factory`` defines in its own body, holds ``line`` and returns by name (``def loss(...): ...;
    return loss``), or None."""
    returned = {node.value.id for node in ast.walk(factory)
                if isinstance(node, ast.Return) and isinstance(node.value, ast.Name)}
    for statement in factory.body:
        if isinstance(statement, ast.FunctionDef) and statement.name in returned and (
                _first_line(statement) <= line <= (statement.end_lineno or statement.lineno)):
            return statement
    return None


def _required_parameters(args: ast.arguments, drop_first: bool) -> tuple[Parameter, ...]:
    positional = [*args.posonlyargs, *args.args]
    if drop_first and positional:
        positional = positional[1:]
    required = positional[: len(positional) - len(args.defaults)] if args.defaults else positional
    if drop_first and len(args.defaults) > len(positional):
        required = []
    parameters = [Parameter(arg.arg) for arg in required]
    parameters += [Parameter(arg.arg, keyword_only=True)
                   for arg, default in zip(args.kwonlyargs, args.kw_defaults) if default is None]
    if not parameters and args.vararg is not None:
        parameters = [Parameter(args.vararg.arg)]  # f(*tensors): probe it with one tensor
    return tuple(parameters)


def _bound_names(node: ast.stmt) -> tuple[set[str], bool]:
    """The module-level names a top-level statement binds, and whether it is a ``from m import *``."""
    if isinstance(node, ast.Import):
        return {alias.asname or alias.name.partition(".")[0] for alias in node.names}, False
    if isinstance(node, ast.ImportFrom):
        star = any(alias.name == "*" for alias in node.names)
        return {alias.asname or alias.name for alias in node.names if alias.name != "*"}, star
    names: set[str] = set()
    star = False
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(current.name)
            continue  # its body binds names in its own scope
        if isinstance(current, ast.Lambda):
            continue
        if isinstance(current, ast.Name) and isinstance(current.ctx, (ast.Store, ast.Del)):
            names.add(current.id)
        elif isinstance(current, (ast.Import, ast.ImportFrom)) and current is not node:
            inner, inner_star = _bound_names(current)
            names |= inner
            star = star or inner_star
        elif isinstance(current, ast.ExceptHandler) and current.name:
            names.add(current.name)
        elif isinstance(current, (ast.MatchAs, ast.MatchStar)) and current.name:
            names.add(current.name)
        stack.extend(ast.iter_child_nodes(current))
    return names, star


def _module_scope_loads(node: ast.AST, postponed_annotations: bool) -> set[str]:
    """Names read by the parts of a statement that run in module scope; function, lambda and class bodies are
    left to ``symtable``."""
    names: set[str] = set()
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stack += current.decorator_list
            stack += current.args.defaults + [d for d in current.args.kw_defaults if d is not None]
            if not postponed_annotations:
                arguments = [*current.args.posonlyargs, *current.args.args, *current.args.kwonlyargs,
                             current.args.vararg, current.args.kwarg]
                stack += [a.annotation for a in arguments if a is not None and a.annotation is not None]
                if current.returns is not None:
                    stack.append(current.returns)
            continue
        if isinstance(current, ast.Lambda):
            stack += current.args.defaults + [d for d in current.args.kw_defaults if d is not None]
            continue
        if isinstance(current, ast.ClassDef):
            stack += current.decorator_list + current.bases + [k.value for k in current.keywords]
            continue
        if isinstance(current, ast.Name) and isinstance(current.ctx, ast.Load):
            names.add(current.id)
        stack.extend(ast.iter_child_nodes(current))
    return names


def _global_references(table: symtable.SymbolTable) -> set[str]:
    names = {symbol.get_name() for symbol in table.get_symbols()
             if symbol.is_global() and symbol.is_referenced() and not symbol.is_local()}
    for child in table.get_children():
        names |= _global_references(child)
    return names
