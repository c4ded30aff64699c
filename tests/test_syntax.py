"""``syntax.walk`` and ``syntax.child_nodes`` meet the nodes ``ast.walk`` and ``ast.iter_child_nodes`` meet, in the
same order, less expression contexts and operators."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest

from fuzz_generators import tf_program
from tflint_nan import syntax

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "tflint_nan").rglob("*.py")) + sorted(
    (ROOT / "tests").glob("test_*.py"))
CHILDLESS = (ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)

EVERY_FIELD = """
import a.b as c
from .d import (e as f)
@dec(k=1)
async def g(p, /, q: int = 1, *r, s, t=2, **u) -> None:
    global z
    async with h() as (i, j), m:
        async for v in w:
            x = [y async for y in v if not y] or {a: b for a, b in v} and {*v} | {v: 1, **v}
            x += -v ** 2 // 3 @ v
            del x[1:2:3], x.y
    try:
        yield f"{v!r:>{w}}"
    except* ValueError as error:
        raise error from None
    finally:
        assert v, (lambda: (yield))
    match v:
        case [1, *rest] | {"k": 2, **others} if rest:
            pass
        case Point(x=0, y=_) as point:
            nonlocal_name = point
        case None | True:
            pass
class C(B, metaclass=M):
    a: int
    b = c if d else e
while x < y <= z is not None:
    break
else:
    pass
"""


def plain_walk(tree: ast.AST) -> list[ast.AST]:
    return [node for node in ast.walk(tree) if not isinstance(node, CHILDLESS)]


def assert_same_walks(tree: ast.AST) -> None:
    assert list(syntax.walk(tree)) == plain_walk(tree)
    for node in ast.walk(tree):
        assert syntax.child_nodes(node) == [child for child in ast.iter_child_nodes(node)
                                            if not isinstance(child, CHILDLESS)]


def test_every_kind_of_node():
    tree = ast.parse(EVERY_FIELD)
    assert_same_walks(tree)
    kinds = {type(node) for node in syntax.walk(tree)}
    assert {ast.MatchClass, ast.MatchMapping, ast.TryStar, ast.JoinedStr, ast.FormattedValue, ast.Slice,
            ast.AsyncFor, ast.alias, ast.keyword, ast.arguments} <= kinds
    assert not any(issubclass(kind, CHILDLESS) for kind in kinds)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_the_fixtures_and_this_package(path):
    assert_same_walks(ast.parse(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("seed", range(20))
def test_generated_programs(seed):
    assert_same_walks(ast.parse(tf_program(random.Random(seed))))
