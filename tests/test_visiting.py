"""``visiting.visit`` calls a visitor's ``on_visit`` and ``on_leave`` on the nodes LibCST's own traversal passes,
in the same order, except whitespace, comments and punctuation (which no visitor of this package looks at)."""

from __future__ import annotations

import random
from pathlib import Path

import libcst as cst
import pytest

from fuzz_generators import tf_program
from tflint_nan import visiting
from tflint_nan.lint import run_with_deep_stack

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "tflint_nan").rglob("*.py"))
LAYOUT = (cst.BaseParenthesizableWhitespace, cst.Newline, cst.EmptyLine, cst.TrailingWhitespace, cst.Comment,
          cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket, cst.LeftCurlyBrace,
          cst.RightCurlyBrace, cst.Comma, cst.Semicolon, cst.Colon, cst.Dot, cst.AssignEqual, cst.Asynchronous,
          cst.BaseBinaryOp, cst.BaseBooleanOp, cst.BaseCompOp, cst.BaseUnaryOp, cst.BaseAugOp, cst.ImportStar,
          cst.ParamSlash)


class Recorder(cst.CSTVisitor):
    def __init__(self, skip: type | None = None):
        super().__init__()
        self.events: list[tuple[str, int]] = []
        self.skip = skip

    def on_visit(self, node: cst.CSTNode) -> bool:
        if not isinstance(node, LAYOUT):
            self.events.append(("visit", id(node)))
        # A visitor may decline a node's children: both traversals must then skip them.
        return not (self.skip is not None and isinstance(node, self.skip))

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if not isinstance(original_node, LAYOUT):
            self.events.append(("leave", id(original_node)))


def assert_same_events(source: str, skip: type | None = None) -> int:
    def compare() -> int:
        module = cst.parse_module(source)
        theirs, ours = Recorder(skip), Recorder(skip)
        module.visit(theirs)
        visiting.visit(module, ours)
        assert ours.events == theirs.events
        return len(ours.events)

    return run_with_deep_stack(compare)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_the_fixtures_and_this_package(path):
    assert assert_same_events(path.read_text(encoding="utf-8")) > 0


@pytest.mark.parametrize("seed", range(40))
def test_generated_programs(seed):
    assert assert_same_events(tf_program(random.Random(seed))) > 0


def test_a_visitor_that_declines_children():
    source = (ROOT / "fixtures" / "bad" / "sinks.py").read_text(encoding="utf-8")
    assert assert_same_events(source, skip=cst.Call) < assert_same_events(source)


def test_orders_are_read_from_libcst_and_unknown_layouts_fall_back():
    assert visiting._order(cst.Call) == ("func", "args")
    assert visiting._order(cst.IfExp) == ("body", "test", "orelse")  # source order, not the fields' order
    assert visiting._order(cst.ClassDef)[:2] == ("decorators", "name")
    assert visiting._order(cst.ImportFrom) is None  # computed in its method: LibCST visits it itself


@pytest.mark.parametrize("path", SOURCES[:12], ids=lambda path: path.name)
def test_child_nodes_are_libcsts_children_without_layout(path):
    """``child_nodes`` gives the nodes ``children`` gives, in the same order, leaving out only whitespace,
    punctuation and operators (what no visitor here looks at)."""
    module = cst.parse_module(path.read_text(encoding="utf-8"))
    stack, compared = [module], 0
    while stack:
        node = stack.pop()
        found = visiting.child_nodes(node)
        every = list(node.children)
        positions = [next(index for index, child in enumerate(every) if child is kept) for kept in found]
        assert positions == sorted(positions), type(node).__name__
        left_out = [child for child in every if not any(child is kept for kept in found)]
        assert all(_is_layout(child) for child in left_out), (type(node).__name__, left_out)
        compared += 1
        stack.extend(child for child in found if not _is_layout(child))
    assert compared > 50


_LAYOUT = (cst.BaseParenthesizableWhitespace, cst.EmptyLine, cst.TrailingWhitespace, cst.Newline, cst.Comment,
           cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket, cst.LeftCurlyBrace,
           cst.RightCurlyBrace, cst.Comma, cst.Dot, cst.Colon, cst.Semicolon, cst.AssignEqual, cst.BaseBinaryOp,
           cst.BaseBooleanOp, cst.BaseUnaryOp, cst.BaseCompOp, cst.BaseAugOp, cst.Asynchronous)


def _is_layout(node: cst.CSTNode) -> bool:
    return isinstance(node, _LAYOUT)
