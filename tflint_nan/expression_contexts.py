"""Which names a LibCST module assigns: LibCST's ``ExpressionContextProvider``, computed without its visitor.

LibCST's scope analysis (``ScopeProvider``, which qualified names come from) asks one question of each ``Name`` it
visits: is it stored to (an assignment, a loop target, a parameter, a definition's name, an ``as`` name)?  Its own
provider answers by visiting the whole module with LibCST's visitor, which rebuilds every node it passes; that is a
third of the metadata's cost.  ``store_contexts`` answers the same question with a plain walk of the nodes' fields,
following the provider's rules exactly (``tests/test_expression_contexts.py`` compares the two on every fixture and
on generated programs), and ``prime`` hands the answers to a ``MetadataWrapper`` so that LibCST does not compute
them again.

Only ``STORE`` and ``DEL`` are recorded: a ``Name`` the provider would mark ``LOAD`` is left out, which the scope
analysis treats the same way (an access).
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Iterator

import libcst as cst
from libcst.metadata import ExpressionContext, ExpressionContextProvider, MetadataWrapper

from .visiting import LAYOUT_FIELDS

LOAD, STORE, DEL = ExpressionContext.LOAD, ExpressionContext.STORE, ExpressionContext.DEL

_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(kind: type) -> tuple[str, ...]:
    fields = _FIELDS.get(kind)
    if fields is None:
        fields = _FIELDS[kind] = tuple(
            field.name for field in dataclasses.fields(kind)
            if field.name not in LAYOUT_FIELDS and not field.name.startswith("whitespace"))
    return fields


def _children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    for name in _fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, cst.CSTNode):
                    yield item


def store_contexts(module: cst.CSTNode, opaque: tuple[type, ...] = ()) -> dict[cst.Name, ExpressionContext]:
    """``{name: STORE or DEL}`` for the ``Name`` nodes of ``module`` that ``ExpressionContextProvider`` marks so;
    nodes of the ``opaque`` types are not entered (LibCST's visitors do not enter them either)."""
    contexts: dict[cst.Name, ExpressionContext] = {}
    # (node, its context); reversed pushes keep LibCST's order, which only matters for readability when debugging.
    stack: list[tuple[cst.CSTNode, ExpressionContext]] = [(module, LOAD)]
    push = stack.append
    while stack:
        node, context = stack.pop()
        kind = type(node)
        if kind is cst.Name:
            if context is not LOAD:
                contexts[node] = context
        elif kind is cst.Assign:
            push((node.value, context))
            for target in node.targets:
                push((target.target, STORE))
        elif kind is cst.AnnAssign or kind is cst.AugAssign or kind is cst.NamedExpr:
            if node.value is not None:
                push((node.value, context))
            if kind is cst.AnnAssign:
                push((node.annotation, context))
            push((node.target, STORE))
        elif kind is cst.AsName:
            push((node.name, STORE))
        elif kind is cst.CompFor:
            if node.inner_for_in is not None:
                push((node.inner_for_in, context))
            for condition in node.ifs:
                push((condition, context))
            push((node.iter, context))
            push((node.target, STORE))
        elif kind is cst.For:
            if node.orelse is not None:
                push((node.orelse, context))
            push((node.body, context))
            push((node.iter, context))
            push((node.target, STORE))
        elif kind is cst.Del:
            push((node.target, DEL))
        elif kind is cst.Attribute:
            push((node.value, LOAD))  # its ``attr`` gets no context
        elif kind is cst.Subscript:
            for element in node.slice:
                push((element, LOAD))
            push((node.value, LOAD))
        elif kind is cst.ClassDef:
            for child in (*node.decorators, *node.keywords, *node.bases, node.body):
                push((child, context))
            push((node.name, STORE))
        elif kind is cst.FunctionDef:
            if node.returns is not None:
                push((node.returns, context))
            for child in (*node.decorators, node.body, node.params):
                push((child, context))
            push((node.name, STORE))
        elif kind is cst.Param:
            if node.default is not None:
                push((node.default, context))
            if node.annotation is not None:
                push((node.annotation, context))
            push((node.name, STORE))
        elif opaque and isinstance(node, opaque):
            continue
        else:  # Tuple, List and StarredElement pass their context on; so does every other node
            for child in _children(node):
                push((child, context))
    return contexts


def prime(wrapper: MetadataWrapper, opaque: tuple[type, ...] = ()) -> None:
    """Give ``wrapper`` the expression contexts of its module, so that resolving ``ScopeProvider`` (or anything that
    needs it) does not visit the module for them.  Does nothing when the wrapper is not laid out as expected."""
    metadata = getattr(wrapper, "_metadata", None)
    if isinstance(metadata, dict) and ExpressionContextProvider not in metadata:
        metadata[ExpressionContextProvider] = MappingProxyType(store_contexts(wrapper.module, opaque))
