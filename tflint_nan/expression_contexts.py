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
from libcst.metadata import BatchableMetadataProvider, ExpressionContext, ExpressionContextProvider, MetadataWrapper

from .visiting import LAYOUT_FIELDS, NODE_TYPES, is_node_type

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
    node_types = NODE_TYPES  # ``isinstance(value, cst.CSTNode)``, answered per type (``visiting.is_node_type``)
    for name in _fields(type(node)):
        value = getattr(node, name)
        answer = node_types.get(type(value))
        if answer or (answer is None and is_node_type(type(value))):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                answer = node_types.get(type(item))
                if answer or (answer is None and is_node_type(type(item))):
                    yield item


def store_contexts(module: cst.CSTNode, opaque: tuple[type, ...] = ()) -> dict[cst.Name, ExpressionContext]:
    """``{name: STORE or DEL}`` for the ``Name`` nodes of ``module`` that ``ExpressionContextProvider`` marks so;
    nodes of the ``opaque`` types are not entered (LibCST's visitors do not enter them either)."""
    contexts: dict[cst.Name, ExpressionContext] = {}
    # (node, its context); reversed pushes keep LibCST's order, which only matters for readability when debugging.
    stack: list[tuple[cst.CSTNode, ExpressionContext]] = [(module, LOAD)]
    push = stack.append
    is_opaque: dict[type, bool] = {}  # ``isinstance(node, opaque)`` per type of node
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
        elif opaque and (is_opaque[kind] if kind in is_opaque else is_opaque.setdefault(
                kind, isinstance(node, opaque))):
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


class _AnswerPerType(type):
    """``isinstance(node, Class)`` answered once per type of node.  LibCST's node classes are abstract base classes,
    so each ``isinstance`` against one of them (that is not the node's own class) goes through
    ``ABCMeta.__instancecheck__``, a Python call; the scope analysis asks, for every node it leaves, whether it is
    one of 18 such classes.  The answer depends only on the node's type: computed once, it is the same answer."""

    def __instancecheck__(cls, instance) -> bool:
        kind = type(instance)
        answer = cls.answers.get(kind)
        if answer is None:
            answer = cls.answers[kind] = isinstance(instance, cls.classes)
        return answer


def _answered_per_type(classes: tuple[type, ...]) -> type:
    return _AnswerPerType("AnsweredPerType", (), {"classes": classes, "answers": {}})


def _check_assignments_per_type() -> None:
    """LibCST's scope analysis reads ``_ASSIGNMENT_LIKE_NODES`` (a tuple of node classes) in ``on_leave``: the same
    classes, asked about once per type (``tests/test_expression_contexts.py`` compares the scopes)."""
    from libcst.metadata import scope_provider

    classes = getattr(scope_provider, "_ASSIGNMENT_LIKE_NODES", None)
    if isinstance(classes, tuple) and all(isinstance(kind, type) for kind in classes):
        scope_provider._ASSIGNMENT_LIKE_NODES = _answered_per_type(classes)


_check_assignments_per_type()


def resolve(wrapper: MetadataWrapper, providers) -> None:
    """``wrapper.resolve_many(providers)``, without LibCST's batched traversal where it has nothing to do.

    ``ScopeProvider`` and ``QualifiedNameProvider`` do all their work in ``visit_Module``, each with a visitor of its
    own; LibCST still runs its batched visitor over every node of the module afterwards, calling nothing.  On the
    analysed statements that walk was a third of the metadata's cost.  Such a provider is run here by calling its
    ``visit_Module`` alone; any other provider, or a wrapper not laid out as expected, goes through LibCST."""
    metadata = getattr(wrapper, "_metadata", None)
    if not isinstance(metadata, dict):
        wrapper.resolve_many(providers)
        return
    for provider_class in _dependency_order(providers):
        if provider_class in metadata:
            continue
        if not _visits_the_module_only(provider_class):
            wrapper.resolve_many([provider_class])
            continue
        provider = provider_class()
        with provider.resolve(wrapper):
            provider.visit_Module(wrapper.module)
        computed = getattr(provider, "_computed", None)
        if not isinstance(computed, dict):  # a LibCST that keeps its results elsewhere
            wrapper.resolve_many([provider_class])
            continue
        metadata[provider_class] = MappingProxyType(dict(computed))


def _dependency_order(providers) -> list:
    ordered: list = []

    def add(provider_class) -> None:
        if provider_class not in ordered:
            for dependency in provider_class.METADATA_DEPENDENCIES:
                add(dependency)
            ordered.append(provider_class)

    for provider_class in providers:
        add(provider_class)
    return ordered


_MODULE_ONLY: dict[type, bool] = {}


def _visits_the_module_only(provider_class: type) -> bool:
    """A batchable provider whose only visitor method is ``visit_Module`` (what LibCST's batched traversal would
    call, read the way it reads them)."""
    known = _MODULE_ONLY.get(provider_class)
    if known is None:
        known = False
        if issubclass(provider_class, BatchableMetadataProvider):
            try:
                known = set(provider_class().get_visitors()) == {"visit_Module"}
            except Exception:  # noqa: BLE001 - a provider that cannot be built bare goes through LibCST
                known = False
        _MODULE_ONLY[provider_class] = known
    return known
