"""Run the LibCST analysis on the statements ``screen.plan`` keeps, with the whole module still in view.

LibCST parses the whole file: the analyzer's rewrites look at the whole module (the identifiers it uses, where its
imports end, every read of a variable).  Scopes, qualified names and positions, which cost most, are computed on a
copy of the module in which each left-out statement is replaced by a statement that binds nothing and spans the
same number of lines, so every kept node keeps its line and column.  The kept statements' positions are checked against CPython's
line numbers before they are used; metadata for a node outside the copy comes from the whole module.
"""

from __future__ import annotations

import ast
from typing import Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

from .analysis import ModuleAnalyzer
from .finding import Finding
from .gradients import ModuleFacts
from .project import ProjectModules
from .screen import Plan

_MISSING = object()


def analyse_plan(module: cst.Module, tree: ast.Module, plan: Plan, path: str, strict: bool,
                 facts: ModuleFacts | None = None, project: ProjectModules | None = None) -> list[Finding]:
    """The analysis's findings for ``module``, visiting only the statements ``plan`` keeps."""
    copy = _ReducedModule.build(module, tree, plan)
    if copy is None:  # the two parsers disagree about the statements: analyse everything
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        analyzer = ModuleAnalyzer(wrapper, path, strict=strict, facts=facts, project=project)
    else:
        wrapper = MetadataWrapper(copy.module, unsafe_skip_copy=True)
        analyzer = _FocusedAnalyzer(wrapper, path, strict, copy, facts, project)
    wrapper.visit(analyzer)
    return analyzer.findings()


class _ReducedModule:
    """The module with left-out statements replaced by padding of the same height, and metadata lookups for both."""

    def __init__(self, whole: cst.Module, module: cst.Module, expected_lines: list[tuple[cst.CSTNode, int]],
                 outside: dict[int, tuple[cst.BaseStatement, int]]):
        self.whole = whole
        self.module = module
        self._expected_lines = expected_lines  # kept statement -> the line CPython puts its first token on
        # id(a top-level statement the copy leaves out or changes, or its first decorator) -> (it, its code start)
        self._outside = outside
        self._positions: dict | None = None
        self._whole_wrapper: MetadataWrapper | None = None

    @classmethod
    def build(cls, whole: cst.Module, tree: ast.Module, plan: Plan) -> _ReducedModule | None:
        pairs = _pair(whole.body, tree.body)
        if pairs is None:
            return None
        starts = [_code_start(statement, tree.body[index]) for statement, index in pairs]
        body: list[cst.BaseStatement] = []
        expected: list[tuple[cst.CSTNode, int]] = []
        outside: dict[int, tuple[cst.BaseStatement, int]] = {}
        for position, (statement, index) in enumerate(pairs):
            following = starts[position + 1] if position + 1 < len(pairs) else None
            if index not in plan.kept:
                if not isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                    return None
                body.append(_padding(following - starts[position] if following is not None else 1))
                outside[id(statement)] = outside[id(statement.decorators[0] if statement.decorators else statement)] = (
                    statement, starts[position])
                continue
            node = tree.body[index]
            if index in plan.kept_methods and isinstance(statement, cst.ClassDef) and isinstance(
                    statement.body, cst.IndentedBlock):
                members = cls._reduced_members(statement.body, node, plan.kept_methods[index], following, expected)
                if members is None:
                    return None
                outside[id(statement)] = (statement, starts[position])
                statement = statement.with_changes(body=statement.body.with_changes(body=members))
            expected.append((statement, node.lineno))
            body.append(statement)
        return cls(whole, whole.with_changes(body=body), expected, outside)

    @staticmethod
    def _reduced_members(block: cst.IndentedBlock, node: ast.ClassDef, kept: set[int], following: int | None,
                         expected: list[tuple[cst.CSTNode, int]]) -> list[cst.BaseStatement] | None:
        pairs = _pair(block.body, node.body)
        if pairs is None:
            return None
        starts = [_code_start(member, node.body[index]) for member, index in pairs]
        end = following - len(block.footer) if following is not None else None
        members: list[cst.BaseStatement] = []
        for position, (member, index) in enumerate(pairs):
            if index in kept:
                expected.append((member, node.body[index].lineno))
                members.append(member)
                continue
            if not isinstance(member, cst.FunctionDef):
                return None
            after = starts[position + 1] if position + 1 < len(pairs) else end
            members.append(_padding(after - starts[position] if after is not None else 1))
        return members

    # -- metadata ------------------------------------------------------------------------------------------------
    def position(self, node: cst.CSTNode):
        if self._positions is None:
            self._positions = self._checked_positions()
        span = self._positions.get(node)
        if span is not None:
            return span
        outside = self._outside.get(id(node))
        if outside is not None:  # e.g. where the rewriter inserts an import: before the first statement
            statement, start = outside
            self._positions.update(_statement_positions(self.whole, statement, start))
            return self._positions[node]
        return self._whole().resolve(PositionProvider)[node]

    def _checked_positions(self) -> dict:
        positions = dict(MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider))
        if all(positions[node].start.line == line for node, line in self._expected_lines):
            return positions
        return dict(self._whole().resolve(PositionProvider))

    def qualified_names(self, node: cst.CSTNode, default):
        return self._whole().resolve(QualifiedNameProvider).get(node, default)

    def _whole(self) -> MetadataWrapper:
        if self._whole_wrapper is None:
            self._whole_wrapper = MetadataWrapper(self.whole, unsafe_skip_copy=True)
        return self._whole_wrapper


class _FocusedAnalyzer(ModuleAnalyzer):
    """The analyzer over the reduced copy, with the whole module for code, rewrites and positions."""

    @classmethod
    def get_inherited_dependencies(cls):
        # Positions are computed when a finding needs them, not before every visit.
        return frozenset(ModuleAnalyzer.get_inherited_dependencies()) - {PositionProvider}

    def __init__(self, wrapper: MetadataWrapper, path: str, strict: bool, reduced: _ReducedModule,
                 facts: ModuleFacts | None = None, project: ProjectModules | None = None):
        super().__init__(wrapper, path, strict=strict, facts=facts, project=project)
        self.module = reduced.whole
        self._reduced = reduced

    def get_metadata(self, key, node, default=_MISSING):
        if key is PositionProvider:
            return self._reduced.position(node)
        if key is QualifiedNameProvider and node not in self.metadata[key]:
            value = self._reduced.qualified_names(node, set() if default is _MISSING else default)
            return value() if callable(value) else value
        if default is _MISSING:
            return super().get_metadata(key, node)
        return super().get_metadata(key, node, default)


def _pair(statements: Sequence[cst.BaseStatement], nodes: Sequence[ast.stmt]) -> list[tuple] | None:
    """(LibCST statement, index of its first CPython statement): a line ``a; b`` is one LibCST statement."""
    pairs, index = [], 0
    for statement in statements:
        pairs.append((statement, index))
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    return pairs if index == len(nodes) else None


def _code_start(statement: cst.BaseStatement, node: ast.stmt) -> int:
    """The line where LibCST's code for ``statement`` starts: its first token, less the lines it owns before it."""
    decorators = getattr(node, "decorator_list", None)
    first = decorators[0].lineno if decorators else node.lineno
    return first - len(statement.leading_lines)


def _padding(lines: int) -> cst.SimpleStatementLine:
    """A statement that binds nothing and spans ``lines`` lines: ``pass``, or a string of empty lines (one node,
    where empty lines would be one node each, and each costs every metadata visitor)."""
    if lines <= 1:
        return cst.SimpleStatementLine(body=(cst.Pass(),))
    return cst.SimpleStatementLine(body=(cst.Expr(cst.SimpleString('"""' + "\n" * (lines - 1) + '"""')),))


def _statement_positions(whole: cst.Module, statement: cst.BaseStatement, start: int) -> dict:
    """Positions of a top-level statement's nodes, computed on a module holding only it at its own lines."""
    body = [_padding(start - 1), statement] if start > 1 else [statement]
    alone = whole.with_changes(header=(), body=body, footer=())
    return dict(MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider))
