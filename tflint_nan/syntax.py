"""CPython's syntax tree, walked faster than ``ast.walk`` and ``ast.iter_child_nodes``.

Those two test every field of every node for its type; most fields hold no node (names, flags) or only a childless
one (an expression's ``Load``/``Store`` context, an operator), which no check here looks at.  The fields that may
hold nodes are read once per node class, and a walk visits the same nodes in the same order as ``ast.walk``, less
the contexts and operators.
"""

from __future__ import annotations

import ast
from typing import Iterator

# Fields that hold no node (names, flags), and those that hold only childless ones.
SCALAR_FIELDS = frozenset({"id", "attr", "arg", "name", "module", "level", "simple", "is_async", "conversion", "kind",
                           "type_comment", "asname", "rest", "kwd_attrs", "tag"})
LEAF_FIELDS = frozenset({"ctx", "op", "ops"})
NODE_FIELDS: dict[type, tuple[tuple[str, ...], bool]] = {}  # node class -> ``node_fields``, filled as classes are met


def node_fields(kind: type) -> tuple[tuple[str, ...], bool]:
    """The fields of ``kind`` that may hold nodes with children, and whether it also has a childless one (a context
    or an operator, which counts for the nesting depth)."""
    known = NODE_FIELDS.get(kind)
    if known is None:
        fields = tuple(name for name in kind._fields if name not in SCALAR_FIELDS and name not in LEAF_FIELDS
                       and not (name == "value" and kind in (ast.Constant, ast.MatchSingleton))
                       and not (name == "names" and kind in (ast.Global, ast.Nonlocal)))  # strings there
        has_leaves = any(name in LEAF_FIELDS for name in kind._fields)
        known = NODE_FIELDS[kind] = (fields, has_leaves)
    return known


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes(node)`` without contexts and operators, as a list."""
    children: list[ast.AST] = []
    for name in (NODE_FIELDS.get(type(node)) or node_fields(type(node)))[0]:
        value = getattr(node, name, None)
        if type(value) is list:
            children.extend(item for item in value if item is not None)
        elif value is not None:
            children.append(value)
    return children


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk(node)`` (breadth first, the same order) without contexts and operators."""
    todo = [node]
    index = 0
    while index < len(todo):
        node = todo[index]
        index += 1
        todo.extend(child_nodes(node))
        yield node
