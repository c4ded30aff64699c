"""Run the LibCST analysis on the statements ``screen.plan`` keeps, and give LibCST nothing else to parse.

LibCST's parse and metadata cost tens of microseconds per byte, CPython's parse a fraction of that, so a large
module whose findings sit in a few functions must not be parsed whole by LibCST.  LibCST parses a copy of the
source in which each left-out statement (a top-level function or class, or a method of a kept class) is replaced by
padding that spans the same lines (``pass``, or a string over its lines), so every kept statement keeps its line and
column.  Then each padding statement is replaced by an ``_Outside`` node standing for the statement it replaced:

* its code is that statement's original text, so the module's code is the original source byte for byte (checked)
  and every position is the original one; the rewriter plans its edits on that text;
* its children are the names the statement reads, assigns and mentions, taken from CPython's tree: what the
  rewriter's module index needs to see of it (every identifier, whether a variable is read elsewhere, and where);
  they are built only when the rewriter asks;
* the metadata visitors (scopes, qualified names, positions) do not enter it: like the padding, it binds nothing,
  which ``screen.plan`` has made sure changes nothing the analysis sees of the kept statements.

Anything unexpected (a layout the padding cannot reproduce, a copy LibCST will not parse, code that does not come
out identical) returns None, and the caller analyses the whole module instead.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Sequence

import libcst as cst
from libcst.metadata import (
    CodePosition,
    CodeRange,
    MetadataWrapper,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

try:  # LibCST's internals, to compute one statement's positions; without them the whole module's are used
    from libcst.metadata.position_provider import PositionProvidingCodegenState
except ImportError:  # pragma: no cover - a LibCST that moved it
    PositionProvidingCodegenState = None

from . import expression_contexts, stages, visiting
from .analysis import ModuleAnalyzer
from .finding import Finding
from .gradients import ModuleFacts
from .project import ProjectModules
from .screen import Plan
from .syntax import child_nodes

_MISSING = object()
_LINE_BREAK = re.compile(r"\r\n?|\n")
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def line_starts(text: str) -> list[int]:
    """Offsets where each line starts; lines end at ``\\n``, ``\\r\\n`` or ``\\r``, as for Python and LibCST."""
    return [0, *(match.end() for match in _LINE_BREAK.finditer(text))]


def analyse_plan(source: str, tree: ast.Module, plan: Plan, path: str, strict: bool,
                 facts: ModuleFacts | None = None, project: ProjectModules | None = None) -> list[Finding] | None:
    """The analysis's findings for ``source``, with LibCST on the statements ``plan`` keeps only; None when the
    focused copy cannot be built (the caller analyses the whole module)."""
    focused = FocusedModule.build(source, tree, plan)
    if focused is None:
        return None
    wrapper = MetadataWrapper(focused.module, unsafe_skip_copy=True)
    analyzer = _FocusedAnalyzer(wrapper, path, strict, focused, facts, project)
    with stages.stage("metadata"):
        expression_contexts.prime(wrapper, opaque=(_Outside,))
        expression_contexts.resolve(wrapper, analyzer.get_inherited_dependencies())
    with stages.stage("analysis"), analyzer.resolve(wrapper):
        visiting.visit(wrapper.module, analyzer)
        return analyzer.findings()


@dataclass
class _Region:
    """A left-out statement: its lines (first decorator to last line), the indentation of its first line, and the
    CPython node; ``outer`` is the index of its top-level statement, ``member`` its index in a kept class's body."""

    first: int
    last: int
    indent: str
    node: ast.stmt
    outer: int
    member: int | None = None


class FocusedModule:
    """The module as LibCST sees it: kept statements parsed, left-out ones as ``_Outside`` nodes."""

    def __init__(self, source: str, module: cst.Module, starts: list[int], tree: ast.Module | None = None):
        self.source = source
        self.module = module
        self.starts = starts
        self.tree = tree
        self.positions: dict[cst.CSTNode, CodeRange] = {}  # the ``_Outside`` nodes' and their names'

    @classmethod
    def build(cls, source: str, tree: ast.Module, plan: Plan) -> FocusedModule | None:
        with stages.stage("LibCST parse"):
            starts = line_starts(source)
            regions = _regions(source, starts, tree, plan)
            if regions is None:
                return None
            padded = _padded(source, starts, regions)
            try:
                module = cst.parse_module(padded)
            except Exception:  # noqa: BLE001 - the whole module is parsed next, and its error reported
                return None
            focused = cls(source, module, starts, tree)
            module = focused._with_outside(module, tree, regions)
            if module is None:
                return None
            focused.module = module
            if module.code != source:  # the copy must be the file, byte for byte, or positions could be off
                return None
            return focused

    def _with_outside(self, module: cst.Module, tree: ast.Module, regions: list[_Region]) -> cst.Module | None:
        top = {region.outer: region for region in regions if region.member is None}
        members: dict[int, dict[int, _Region]] = {}
        for region in regions:
            if region.member is not None:
                members.setdefault(region.outer, {})[region.member] = region
        pairs = _pair(module.body, tree.body)
        if pairs is None:
            return None
        body: list[cst.BaseStatement] = []
        for statement, index in pairs:
            if index in top:
                outside = self._outside(statement, top[index])
                if outside is None:
                    return None
                body.append(outside)
            elif index in members:
                if not isinstance(statement, cst.ClassDef) or not isinstance(statement.body, cst.IndentedBlock):
                    return None
                inner = _pair(statement.body.body, tree.body[index].body)
                if inner is None:
                    return None
                replaced: list[cst.BaseStatement] = []
                for member, position in inner:
                    region = members[index].get(position)
                    if region is None:
                        replaced.append(member)
                        continue
                    outside = self._outside(member, region)
                    if outside is None:
                        return None
                    replaced.append(outside)
                body.append(statement.with_changes(body=statement.body.with_changes(body=replaced)))
            else:
                body.append(statement)
        return module.with_changes(body=body)

    def _outside(self, padding: cst.BaseStatement, region: _Region) -> _Outside | None:
        if not (isinstance(padding, cst.SimpleStatementLine) and len(padding.body) == 1 and isinstance(
                padding.body[0], (cst.Pass, cst.Expr))):
            return None
        start = self.starts[region.first - 1] + len(region.indent)
        end = self.starts[region.last] if region.last < len(self.starts) else len(self.source)
        text = self.source[start:end]
        if text.endswith("\r\n"):
            text, newline = text[:-2], "\r\n"
        elif text.endswith(("\n", "\r")):
            text, newline = text[:-1], text[-1]
        else:  # the file's last line, without a line break: the module drops this one when it writes its code
            newline = self.module.default_newline
        outside = _Outside(leading_lines=padding.leading_lines, text=text, newline=newline, node=region.node,
                           owner=self)
        end_position = self.name_position(region.node.end_lineno, region.node.end_col_offset, 0).end
        self.positions[outside] = CodeRange(CodePosition(region.first, len(region.indent)), end_position)
        return outside

    def name_position(self, line: int, column: int, length: int) -> CodeRange:
        """A name's position from CPython's (line, UTF-8 byte column), in characters as LibCST counts them."""
        text = self.source[self.starts[line - 1]:self.starts[line] if line < len(self.starts) else len(self.source)]
        if not text.isascii():
            column = len(text.encode("utf-8", "surrogatepass")[:column].decode("utf-8", "replace"))
        return CodeRange(CodePosition(line, column), CodePosition(line, column + length))


@dataclass(frozen=True, eq=False)
class _Outside(cst.BaseStatement):
    """A left-out statement: its original text for the code, its names for the module index, nothing to visit."""

    leading_lines: Sequence[cst.EmptyLine] = ()
    text: str = ""  # from the end of its first line's indentation to the end of its last line, without the break
    newline: str = "\n"
    node: ast.stmt | None = None
    owner: FocusedModule | None = None
    _children: list = field(default_factory=list)

    def _visit_and_replace_children(self, visitor):
        return self  # neither the metadata visitors nor the analysis look inside

    def _codegen_impl(self, state) -> None:
        for line in self.leading_lines:
            line._codegen(state)
        state.add_indent_tokens()
        state.add_token(self.text)
        state.add_token(self.newline)  # its own token: a module without a final line break drops it

    @property
    def children(self) -> Sequence[cst.CSTNode]:
        if not self._children and self.node is not None:
            self._children.extend(_names(self.node, self.owner, self.owner.positions[self]))
        return self._children


def _names(node: ast.stmt, owner: FocusedModule, span: CodeRange) -> list[cst.CSTNode]:
    """Nodes whose names the rewriter's module index reads as LibCST's tree of ``node`` would give them: one read
    per variable (where it is first read), one assignment per variable, every other identifier once.

    (``rewrite._ModuleIndex`` sorts a ``Name`` under an ``AsName`` as assigned, under a ``Global`` as neither.)"""
    loads: dict[str, tuple[int, int]] = {}
    stores: set[str] = set()
    mentioned: set[str] = set()

    def load(name: str, where: ast.AST) -> None:
        position = (where.lineno, where.col_offset)
        if name not in loads or position < loads[name]:
            loads[name] = position

    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is ast.Name:
            if type(current.ctx) is ast.Store:
                stores.add(current.id)
            else:
                load(current.id, current)
            continue
        if kind is ast.AugAssign and type(current.target) is ast.Name:  # LibCST: ``x += 1`` reads ``x``
            load(current.target.id, current.target)
            stack.append(current.value)
            continue
        if kind is ast.Constant:
            if current.value is None or type(current.value) is bool:  # LibCST spells them as names
                load(repr(current.value), current)
            continue
        if kind is ast.Attribute:
            mentioned.add(current.attr)
        elif kind is ast.keyword:
            if current.arg is not None:
                mentioned.add(current.arg)
        elif kind is ast.arg:
            stores.add(current.arg)
        elif kind in _DEFINITIONS:
            stores.add(current.name)
        elif kind is ast.alias:
            if current.name != "*":  # ``import *`` is no name to LibCST
                mentioned.update(current.name.split("."))
            if current.asname is not None:
                stores.add(current.asname)
        elif kind is ast.ImportFrom:
            if current.module:
                mentioned.update(current.module.split("."))
        elif kind is ast.Global or kind is ast.Nonlocal:
            mentioned.update(current.names)
        elif kind is ast.ExceptHandler:
            if current.name:
                stores.add(current.name)
        elif kind is ast.MatchAs or kind is ast.MatchStar:
            if current.name:
                load(current.name, current)
        elif kind is ast.MatchMapping:
            if current.rest:
                load(current.rest, current)
        elif kind is ast.MatchClass:
            for attribute in current.kwd_attrs:
                load(attribute, current)
        stack.extend(child_nodes(current))
    children: list[cst.CSTNode] = []
    for name, (line, column) in loads.items():
        child = cst.Name(name)
        owner.positions[child] = owner.name_position(line, column, len(name))
        children.append(child)
    for name in sorted(stores):
        child = cst.Name(name)
        owner.positions[child] = span
        children.append(cst.AsName(name=child))
    mentioned -= loads.keys() | stores
    if mentioned:
        children.append(cst.Global(names=[cst.NameItem(cst.Name(name)) for name in sorted(mentioned)]))
    return children


def _regions(source: str, starts: list[int], tree: ast.Module, plan: Plan) -> list[_Region] | None:
    """The left-out statements' lines, in order; None when one does not start its own line as expected."""
    regions = []
    for index, node in enumerate(tree.body):
        if index not in plan.kept:
            if not isinstance(node, _DEFINITIONS):
                return None
            regions.append(_region(source, starts, node, index))
        elif index in plan.kept_methods and isinstance(node, ast.ClassDef):
            kept = plan.kept_methods[index]
            for position, member in enumerate(node.body):
                if position in kept:
                    continue
                if not isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    return None
                regions.append(_region(source, starts, member, index, position))
    if any(region is None for region in regions):
        return None
    return regions


def _region(source: str, starts: list[int], node: ast.stmt, outer: int, member: int | None = None) -> _Region | None:
    first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    line = source[starts[first - 1]:starts[first] if first < len(starts) else len(source)]
    code = line.lstrip(" \t\f")
    indent = line[:len(line) - len(code)]
    if not code.startswith("@" if node.decorator_list else ("def", "async", "class")):
        return None
    return _Region(first, node.end_lineno, indent, node, outer, member)


def _padded(source: str, starts: list[int], regions: list[_Region]) -> str:
    """``source`` with each region's lines replaced by one statement that binds nothing, over the same lines."""
    parts, done = [], 0
    for region in regions:
        start = starts[region.first - 1]
        parts.append(source[done:start])
        lines = []
        for number in range(region.first, region.last + 1):
            end = starts[number] if number < len(starts) else len(source)
            text = source[starts[number - 1]:end]
            broken = _LINE_BREAK.search(text)
            lines.append(("", broken.group() if broken is not None else ""))
        if len(lines) == 1:
            lines[0] = (region.indent + "pass", lines[0][1])
        else:
            lines[0] = (region.indent + '"""', lines[0][1])
            lines[-1] = ('"""', lines[-1][1])
        parts.append("".join(text + newline for text, newline in lines))
        done = starts[region.last] if region.last < len(starts) else len(source)
    parts.append(source[done:])
    return "".join(parts)


class _FocusedAnalyzer(ModuleAnalyzer):
    """The analyzer over the focused module: positions of what stands for left-out statements come from CPython's
    tree; positions are computed when a finding needs them, not before every visit, and qualified names for the
    nodes the analysis asks about, from their scopes (what ``QualifiedNameProvider`` does for every node of the
    module, in a walk of its own)."""

    @classmethod
    def get_inherited_dependencies(cls):
        inherited = frozenset(ModuleAnalyzer.get_inherited_dependencies())
        return inherited - {PositionProvider, QualifiedNameProvider} | {ScopeProvider}

    def __init__(self, wrapper: MetadataWrapper, path: str, strict: bool, focused: FocusedModule,
                 facts: ModuleFacts | None = None, project: ProjectModules | None = None):
        super().__init__(wrapper, path, strict=strict, facts=facts, project=project)
        self._focused = focused
        self._wrapper = wrapper
        self._positions = None
        # The statements being visited, and the line CPython gives each (a definition's ``def`` line): a position
        # is computed from the code of the innermost statement that holds the node (a line of a function's body, a
        # method, a top-level statement), not from the whole module's; failing that, from its top-level statement.
        self._open: list[cst.CSTNode] = []  # the statements being visited that have a first line, outermost first
        self._top_statement: cst.CSTNode | None = None
        self._first_lines: dict[int, int] = {}
        self._indents: dict[int, str] = {}  # a statement below the top level -> its indentation
        if focused.tree is not None:
            self._first_lines, self._indents = _first_lines(focused.module, focused.tree)
        self._statement_spans: dict[int, tuple[dict, int] | None] = {}
        # The rewriter reads the module's code and its line starts once per file: the focused module's code is the
        # source (``FocusedModule.build`` checks it), so both are handed over instead of generated and scanned again.
        rewriter = self.rewriter
        if getattr(rewriter, "_module_code", False) is None and getattr(rewriter, "_line_starts", False) is None:
            rewriter._module_code = focused.source
            rewriter._line_starts = focused.starts
        if stages.enabled():
            self.rewriter = stages.Timed(self.rewriter, "rewrite planning")

    def on_visit(self, node: cst.CSTNode) -> bool:
        if id(node) in self._first_lines:
            if id(node) not in self._indents:
                self._top_statement = node
                self._open.clear()
            self._open.append(node)
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        super().on_leave(original_node)
        if self._open and self._open[-1] is original_node:
            self._open.pop()

    def get_metadata(self, key, node, default=_MISSING):
        if key is PositionProvider:
            span = self._focused.positions.get(node) or self._span_in_statement(node)
            if span is not None:
                return span
            if self._positions is None:
                with stages.stage("metadata"):
                    self._positions = self._wrapper.resolve(PositionProvider)
            return self._positions[node]
        if key is QualifiedNameProvider:
            scope = self.metadata[ScopeProvider].get(node, _MISSING)
            if scope is _MISSING:
                return set() if default is _MISSING else default
            return scope.get_qualified_names_for(node) if scope is not None else set()
        if default is _MISSING:
            return super().get_metadata(key, node)
        return super().get_metadata(key, node, default)


    def _span_in_statement(self, node: cst.CSTNode) -> CodeRange | None:
        """``node``'s position from the code of the statement being visited, or of the top-level statement that holds
        it (None when it is in neither, or when their lines cannot be matched with CPython's)."""
        innermost = self._open[-1] if self._open else None
        span = self._span_in(innermost, node)
        if span is None and self._top_statement is not innermost:
            span = self._span_in(self._top_statement, node)
        return span

    def _span_in(self, statement: cst.CSTNode | None, node: cst.CSTNode) -> CodeRange | None:
        if statement is None:
            return None
        spans = self._statement_spans.get(id(statement), _MISSING)
        if spans is _MISSING:
            with stages.stage("metadata"):
                spans = self._statement_spans[id(statement)] = _statement_positions(
                    statement, self._first_lines[id(statement)], self._focused.module, self._indents.get(id(statement)))
        if spans is None:
            return None
        computed, offset = spans
        span = computed.get(node)
        if span is None or not offset:
            return span
        return CodeRange(CodePosition(span.start.line + offset, span.start.column),
                         CodePosition(span.end.line + offset, span.end.column))


def _first_lines(module: cst.Module, tree: ast.Module) -> tuple[dict[int, int], dict[int, str]]:
    """The line CPython gives each statement (a definition's ``def`` line), by the LibCST node's id: the top-level
    statements, the members of top-level classes and the statements in the blocks of both, as far as LibCST's
    statements and CPython's pair up; and, for all but the top-level ones, their indentation."""
    first_lines: dict[int, int] = {}
    indents: dict[int, str] = {}
    for statement, index in _pair(module.body, tree.body) or ():
        node = tree.body[index]
        first_lines[id(statement)] = node.lineno
        _nested_first_lines(module, statement, node, "", first_lines, indents)
    return first_lines, indents


def _nested_first_lines(module: cst.Module, statement: cst.CSTNode, node: ast.stmt, indent: str,
                        first_lines: dict[int, int], indents: dict[int, str]) -> None:
    cases = ""  # a ``match`` statement's cases are indented, and their blocks again
    if type(statement) is cst.Match:
        cases = statement.indent if statement.indent is not None else module.default_indent
    for block, body in _blocks(statement, node):
        if not isinstance(block, cst.IndentedBlock):
            continue  # ``if x: a; b`` on one line: its statements are the line's
        inner = indent + cases + (block.indent if block.indent is not None else module.default_indent)
        for member, position in _pair(block.body, body) or ():
            first_lines[id(member)] = body[position].lineno
            indents[id(member)] = inner
            _nested_first_lines(module, member, body[position], inner, first_lines, indents)


def _blocks(statement: cst.CSTNode, node: ast.stmt):
    """(LibCST block, CPython statements) for each block of a compound statement, where the two agree on what
    the statement is (an ``elif``'s own line is not a statement of its own here: its code alone reads ``if``)."""
    kind = type(statement)
    if kind is cst.FunctionDef and type(node) in (ast.FunctionDef, ast.AsyncFunctionDef) or (
            kind is cst.ClassDef and type(node) is ast.ClassDef) or (
            kind is cst.With and type(node) in (ast.With, ast.AsyncWith)):
        yield statement.body, node.body
    elif kind is cst.If and type(node) is ast.If:
        while True:
            yield statement.body, node.body
            orelse = statement.orelse
            if type(orelse) is cst.If and len(node.orelse) == 1 and type(node.orelse[0]) is ast.If:
                statement, node = orelse, node.orelse[0]  # ``elif``
                continue
            if type(orelse) is cst.Else:
                yield orelse.body, node.orelse
            return
    elif kind is cst.For and type(node) in (ast.For, ast.AsyncFor) or kind is cst.While and type(node) is ast.While:
        yield statement.body, node.body
        if type(statement.orelse) is cst.Else:
            yield statement.orelse.body, node.orelse
    elif kind is cst.Try and type(node) is ast.Try or (
            kind is cst.TryStar and type(node) is getattr(ast, "TryStar", None)):
        yield statement.body, node.body
        if len(statement.handlers) == len(node.handlers):
            for handler, handled in zip(statement.handlers, node.handlers):
                yield handler.body, handled.body
        if type(statement.orelse) is cst.Else:
            yield statement.orelse.body, node.orelse
        if type(statement.finalbody) is cst.Finally:
            yield statement.finalbody.body, node.finalbody
    elif kind is cst.Match and type(node) is getattr(ast, "Match", None) and len(statement.cases) == len(node.cases):
        for case, matched in zip(statement.cases, node.cases):
            yield case.body, matched.body


def _statement_positions(statement: cst.CSTNode, first_line: int, module: cst.Module,
                         indent: str | None = None) -> tuple[dict, int] | None:
    """What ``PositionProvider`` gives the nodes of one statement (``indent``: its indentation, for one below the
    top level), from the statement's code alone (its columns are the module's), and the lines to add to them; None
    when the statement's own first line does not come out as ``first_line`` (then the whole module is used)."""
    if PositionProvidingCodegenState is None:
        return None
    provider = PositionProvider()
    try:
        state = PositionProvidingCodegenState(default_indent=module.default_indent,
                                              default_newline=module.default_newline, provider=provider)
        if indent is not None:
            state.increase_indent(indent)
        statement._codegen(state)
        computed = provider._computed
    except Exception:  # noqa: BLE001 - a LibCST without these internals: the whole module's positions are used
        return None
    anchor = statement.name if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) else (
        statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and statement.body else statement)
    span = computed.get(anchor)
    if span is None:
        return None
    return computed, first_line - span.start.line


def _pair(statements: Sequence[cst.BaseStatement], nodes: Sequence[ast.stmt]) -> list[tuple] | None:
    """(LibCST statement, index of its first CPython statement): a line ``a; b`` is one LibCST statement."""
    pairs, index = [], 0
    for statement in statements:
        pairs.append((statement, index))
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    return pairs if index == len(nodes) else None


def libcst_error(source: str, tree: ast.Module, lines: Sequence[int]) -> str | None:
    """Why LibCST cannot parse the top-level statements (in a class: the methods) that hold ``lines``, or None.

    ``--fix`` asks after each round of edits: CPython has parsed all of ``source``, and what the edits did not
    touch LibCST has parsed before, so the rest is padded out as in the analysis."""
    starts = line_starts(source)
    touched = set(lines)

    def holds(node: ast.stmt) -> bool:
        first = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno
        return any(line in touched for line in range(first, node.end_lineno + 1))

    regions: list[_Region] = []
    body = tree.body
    for index, node in enumerate(body):
        if holds(node):
            if isinstance(node, ast.ClassDef):
                regions.extend(_own_lines(source, starts, node.body, index, member=True, skip=holds))
            continue
    regions.extend(_own_lines(source, starts, body, None, member=False, skip=holds))
    regions.sort(key=lambda region: region.first)
    try:
        cst.parse_module(_padded(source, starts, regions))
    except cst.ParserSyntaxError as error:
        return error.message
    except (RecursionError, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - LibCST failing inside: the rewritten code is not analysable
        return f"LibCST cannot parse it ({type(error).__name__}: {error})"
    return None


def _own_lines(source: str, starts: list[int], statements: Sequence[ast.stmt], outer: int | None, member: bool,
               skip) -> list[_Region]:
    """Regions for the statements that have their lines to themselves (none shares a line with a neighbour) and
    start their first line, except those ``skip`` keeps."""
    regions = []
    for position, node in enumerate(statements):
        if skip(node) or (member and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))):
            continue
        decorators = getattr(node, "decorator_list", None)
        first = decorators[0].lineno if decorators else node.lineno
        if position > 0 and statements[position - 1].end_lineno >= first:
            continue
        if position + 1 < len(statements):
            following = statements[position + 1]
            after = getattr(following, "decorator_list", None)
            if (after[0].lineno if after else following.lineno) <= node.end_lineno:
                continue
        if isinstance(node, _DEFINITIONS):
            region = _region(source, starts, node, outer if outer is not None else position,
                             position if member else None)
        else:
            line = source[starts[first - 1]:starts[first] if first < len(starts) else len(source)]
            indent = line[:len(line) - len(line.lstrip(" \t\f"))]
            region = _Region(first, node.end_lineno, indent, node, position) if len(indent) == node.col_offset else None
        if region is not None:
            regions.append(region)
    return regions
