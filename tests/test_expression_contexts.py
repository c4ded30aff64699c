"""``expression_contexts`` gives LibCST's scope analysis the same answers as ``ExpressionContextProvider``.

The scope analysis only distinguishes a stored name from any other, so the test compares the names each marks
``STORE`` or ``DEL``; then, end to end, the qualified names the scope analysis derives with the primed contexts.
"""

from __future__ import annotations

import ast
import random
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import (
    ExpressionContext,
    ExpressionContextProvider,
    MetadataWrapper,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from fuzz_generators import tf_program
from tflint_nan import expression_contexts, focus, screen
from tflint_nan.lint import run_with_deep_stack

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "tflint_nan").rglob("*.py"))

TRICKY = textwrap.dedent("""\
    import a.b as c, d
    from e import (f as g, h)
    x, (y, *z) = w = [v for v in range(3) if (u := v)]
    q: int = 1
    q += (r := 2)
    s.t, s[k], s[k:m] = 1, 2, 3
    del x, s.t, s[k]
    for i, (j, *l) in pairs:
        pass
    else:
        n = {o: p for o, p in items}
    with open(x) as (fa, fb), open(y) as fc:
        pass
    try:
        pass
    except ValueError as error:
        pass
    lam = lambda la, *lb, lc=1, **ld: la + lb
    gen = ((ga, gb) for ga in range(2) for gb in range(ga) if (gc := ga))

    @decorator(dx := 1)
    class C(Base, metaclass=M):
        attr = 1

        def method(self, pa: int = default, *, pb=2) -> ret:
            global gg
            nonlocal_free = [self for self in ()]
            async def inner():
                async for ai in agen():
                    pass
            return pa

    match command:
        case [mx, *my] if mx:
            pass
        case {"k": mz, **mrest}:
            pass
        case Point(x=px) as pt:
            pass
    """)


def provider_contexts(module: cst.Module) -> dict[cst.Name, ExpressionContext]:
    # LibCST's visitors recurse: generated programs nest deeply (the analysis runs them on a deep stack too).
    contexts = run_with_deep_stack(lambda: MetadataWrapper(module, unsafe_skip_copy=True).resolve(
        ExpressionContextProvider))
    return {node: context for node, context in contexts.items()
            if isinstance(node, cst.Name) and context is not ExpressionContext.LOAD}


def assert_same(module: cst.Module, opaque: tuple[type, ...] = ()) -> int:
    expected = provider_contexts(module)
    found = expression_contexts.store_contexts(module, opaque)
    assert {id(node): context for node, context in found.items()} == {
        id(node): context for node, context in expected.items()}
    return len(expected)


def test_every_construct_that_binds_a_name():
    stored = assert_same(cst.parse_module(TRICKY))
    assert stored > 40


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_the_fixtures_and_this_package(path):
    assert_same(cst.parse_module(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("seed", range(40))
def test_generated_programs(seed):
    assert_same(run_with_deep_stack(lambda: cst.parse_module(tf_program(random.Random(seed)))))


def _planned(path: Path) -> bool:
    return screen.plan(ast.parse(path.read_text(encoding="utf-8"))) is not None


# The fixtures with a statement that reaches LibCST (the others, such as NumPy-only code, have no focused module).
PLANNED = [path for path in sorted((ROOT / "fixtures").rglob("*.py")) if _planned(path)]


def test_most_fixtures_reach_libcst():
    assert len(PLANNED) >= 25


@pytest.mark.parametrize("path", PLANNED, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_focused_modules_and_their_qualified_names(path):
    """On the module the focused analysis builds (left-out statements stand in as opaque nodes), the contexts and
    the qualified names they lead to are the provider's."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    focused = focus.FocusedModule.build(source, tree, screen.plan(tree))
    assert focused is not None
    assert_same(focused.module, (focus._Outside,))
    plain = MetadataWrapper(focused.module, unsafe_skip_copy=True)
    primed = MetadataWrapper(focused.module, unsafe_skip_copy=True)
    expression_contexts.prime(primed, (focus._Outside,))
    assert ExpressionContextProvider in primed._metadata
    names = qualified_names(plain)
    assert names and names == qualified_names(primed)


def qualified_names(wrapper: MetadataWrapper) -> dict[cst.CSTNode, frozenset[str]]:
    found = {}
    for node, qualified in wrapper.resolve(QualifiedNameProvider).items():
        qualified = qualified() if callable(qualified) else qualified  # LibCST computes some lazily
        found[node] = frozenset(name.name for name in qualified)
    return found


def qualified_names_resolved_directly(module: cst.Module) -> dict[cst.CSTNode, frozenset[str]]:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    expression_contexts.resolve(wrapper, [QualifiedNameProvider, ScopeProvider])
    assert {QualifiedNameProvider, ScopeProvider} <= set(wrapper._metadata)
    return qualified_names(wrapper)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_scopes_resolved_without_the_batched_walk_give_the_same_names(path):
    """``resolve`` runs the scope and qualified-name providers' ``visit_Module`` alone: every node gets the
    qualified names LibCST's own resolution gives it."""
    module = cst.parse_module(path.read_text(encoding="utf-8"))
    expected = run_with_deep_stack(lambda: qualified_names(MetadataWrapper(module, unsafe_skip_copy=True)))
    assert run_with_deep_stack(lambda: qualified_names_resolved_directly(module)) == expected


@pytest.mark.parametrize("seed", range(20))
def test_scopes_resolved_directly_on_generated_programs(seed):
    module = run_with_deep_stack(lambda: cst.parse_module(tf_program(random.Random(seed))))
    expected = run_with_deep_stack(lambda: qualified_names(MetadataWrapper(module, unsafe_skip_copy=True)))
    assert expected
    assert run_with_deep_stack(lambda: qualified_names_resolved_directly(module)) == expected


def test_a_provider_with_visitors_of_its_own_goes_through_libcst():
    module = cst.parse_module("import tensorflow as tf\ny = tf.exp(x)\n")
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    expression_contexts.resolve(wrapper, [PositionProvider, QualifiedNameProvider])
    positions = wrapper._metadata[PositionProvider]
    assert positions[module.body[1]].start.line == 2
    assert not expression_contexts._visits_the_module_only(PositionProvider)
    assert expression_contexts._visits_the_module_only(ScopeProvider)


# -- the scope analysis asks which nodes assign once per type of node -------------------------------------------------
def scope_facts(module: cst.Module) -> list[tuple]:
    """For each scope the analysis builds, in order: its kind, how many assignments it counted, and each name's
    assignments and accesses (the nodes, by position in the module's walk)."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    scopes = wrapper.resolve(ScopeProvider)
    order = {id(node): index for index, node in enumerate(_all_nodes(wrapper.module))}
    facts, seen = [], set()
    for node in _all_nodes(wrapper.module):
        scope = scopes.get(node)
        if scope is None or id(scope) in seen:
            continue
        seen.add(id(scope))
        names = sorted({assignment.name for assignment in scope.assignments} | {
            access.node.value for access in scope.accesses if isinstance(access.node, cst.Name)})
        facts.append((type(scope).__name__, scope._assignment_count, [
            (name, sorted(order.get(id(assignment.node), -1) for assignment in scope.assignments[name]),
             sorted(order.get(id(access.node), -1) for access in scope.accesses[name])) for name in names]))
    return facts


def _all_nodes(module: cst.CSTNode) -> list[cst.CSTNode]:
    nodes, stack = [], [module]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(reversed(node.children))
    return nodes


def _scope_facts_both_ways(module: cst.Module, monkeypatch) -> tuple[list, list]:
    from libcst.metadata import scope_provider

    answered = scope_provider._ASSIGNMENT_LIKE_NODES
    assert type(answered) is expression_contexts._AnswerPerType  # the check this package installs
    fast = run_with_deep_stack(lambda: scope_facts(module))
    with monkeypatch.context() as patched:
        patched.setattr(scope_provider, "_ASSIGNMENT_LIKE_NODES", answered.classes)  # LibCST's own tuple
        plain = run_with_deep_stack(lambda: scope_facts(module))
    return fast, plain


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_assignments_counted_per_type_give_the_same_scopes(path, monkeypatch):
    fast, plain = _scope_facts_both_ways(cst.parse_module(path.read_text(encoding="utf-8")), monkeypatch)
    assert fast == plain and plain


@pytest.mark.parametrize("seed", range(10))
def test_assignments_counted_per_type_on_generated_programs(seed, monkeypatch):
    module = run_with_deep_stack(lambda: cst.parse_module(tf_program(random.Random(seed))))
    fast, plain = _scope_facts_both_ways(module, monkeypatch)
    assert fast == plain and plain


def test_an_answer_per_type_is_isinstance():
    import abc

    class Base(abc.ABC):
        pass

    class Child(Base):
        pass

    class Registered:
        pass

    Base.register(Registered)
    check = expression_contexts._answered_per_type((Base, int))
    for value in (Base.__new__(Child), Registered(), 3, True, "s", None, Child(), Registered()):
        assert isinstance(value, check) == isinstance(value, (Base, int))
    assert set(check.answers) == {Child, Registered, int, bool, str, type(None)}
