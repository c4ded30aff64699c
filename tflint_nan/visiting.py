"""Run a LibCST visitor over a module without LibCST's traversal, which rebuilds every node it passes.

``CSTNode.visit`` serves transformers and visitors alike: each node it passes is reconstructed from its visited
children, and a visitor's result is thrown away.  ``visit`` here calls the same ``on_visit`` and ``on_leave`` on
the same nodes in the same order, reading each node's children in the order its own ``_visit_and_replace_children``
visits them (read once per node type from LibCST's source), and skips the fields that hold only whitespace,
comments and punctuation, which no visitor of this package looks at.  A node type whose order cannot be read is
visited by LibCST itself.  ``tests/test_visiting.py`` compares the events with LibCST's on every fixture, this
package and generated programs.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

import libcst as cst

# Fields that only ever hold whitespace, comments and punctuation: never a name (``expression_contexts`` too).
LAYOUT_FIELDS = frozenset({"lpar", "rpar", "comma", "leading_lines", "lines_after_decorators", "header", "footer",
                            "semicolon", "newline", "trailing_whitespace", "equal", "operator", "colon", "dot",
                            "first_line", "empty_lines", "lbracket", "rbracket", "lbrace", "rbrace", "star",
                            "asynchronous", "default_comma", "whitespace"})
_ORDERS: dict[type, tuple[str, ...] | None] = {}
_VISIT_FUNCTIONS = frozenset({"visit_required", "visit_optional", "visit_sequence", "visit_sentinel",
                              "visit_body_sequence"})


def _order(kind: type) -> tuple[str, ...] | None:
    """The fields ``kind._visit_and_replace_children`` visits, in its order, layout left out; None when its source
    is not the plain ``return Kind(field=visit_...(self, "field", ...), ...)``."""
    if kind in _ORDERS:
        return _ORDERS[kind]
    order = None
    try:
        function = ast.parse(textwrap.dedent(inspect.getsource(kind._visit_and_replace_children))).body[0]
        statements = [statement for statement in function.body
                      if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))]
        returned = statements[0].value if len(statements) == 1 and isinstance(statements[0], ast.Return) else None
        if isinstance(returned, ast.Call):
            fields = []
            for keyword in returned.keywords:
                value = keyword.value
                visited = isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and (
                    value.func.id in _VISIT_FUNCTIONS)
                if visited:
                    if not (len(value.args) > 1 and isinstance(value.args[1], ast.Constant)
                            and value.args[1].value == keyword.arg):
                        raise ValueError(keyword.arg)
                    if keyword.arg not in LAYOUT_FIELDS and not keyword.arg.startswith("whitespace"):
                        fields.append(keyword.arg)
                elif not (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)
                          and value.value.id == "self"):
                    raise ValueError(keyword.arg)  # computed: not a plain field
            order = tuple(fields)
    except (OSError, TypeError, SyntaxError, ValueError, IndexError, AttributeError):
        order = None
    _ORDERS[kind] = order
    return order


def visit(module: cst.CSTNode, visitor: cst.CSTVisitor, opaque: tuple[type, ...] = ()) -> None:
    """``module.visit(visitor)`` for a visitor (not a transformer) that defines no attribute hooks
    (``visit_Call_func``) and no methods for whitespace or punctuation; nodes of the ``opaque`` types are visited
    but not entered."""
    stack: list[tuple[cst.CSTNode, bool]] = [(module, False)]
    is_opaque: dict[type, bool] = {}
    while stack:
        node, leaving = stack.pop()
        if leaving:
            visitor.on_leave(node)
            continue
        kind = type(node)
        order = _order(kind)
        if order is None:
            node.visit(visitor)  # LibCST's own traversal, for this subtree
            continue
        descend = visitor.on_visit(node)
        stack.append((node, True))
        if not descend:
            continue
        if opaque:
            answer = is_opaque.get(kind)
            if answer is None:
                answer = is_opaque[kind] = isinstance(node, opaque)
            if answer:
                continue
        stack.extend((child, False) for child in reversed(_ordered_children(node, order)))


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """``node.children`` without whitespace, comments, punctuation and operators, in the same order.  (``children``
    itself runs a visitor that rebuilds the node; for a node type whose order cannot be read, all of it is given.)"""
    order = _order(type(node))
    return list(node.children) if order is None else _ordered_children(node, order)


# ``isinstance(value, cst.CSTNode)`` per type of value.  LibCST's node classes are abstract base classes: each
# ``isinstance`` against one (other than the value's own class) is a Python call to ``ABCMeta.__instancecheck__``,
# and the walks here ask it of every field of every node.  The answer depends only on the type.
NODE_TYPES: dict[type, bool] = {}


def is_node_type(kind: type) -> bool:
    answer = NODE_TYPES.get(kind)
    if answer is None:
        answer = NODE_TYPES[kind] = issubclass(kind, cst.CSTNode)
    return answer


def _ordered_children(node: cst.CSTNode, order: tuple[str, ...]) -> list[cst.CSTNode]:
    children: list[cst.CSTNode] = []
    node_types = NODE_TYPES
    for name in order:
        value = getattr(node, name)
        answer = node_types.get(type(value))
        if answer is None:
            answer = is_node_type(type(value))
        if answer:
            children.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                answer = node_types.get(type(item))
                if answer or (answer is None and is_node_type(type(item))):
                    children.append(item)
    return children
