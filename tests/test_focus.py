"""The focused path (byte screen, syntax-tree screen, LibCST on the kept statements only) finds exactly what the
exhaustive path (LibCST on every statement of every file with a select word) finds.

Compared: every fixture, every rule example, generated TensorFlow-shaped programs, and programs written to break
each shortcut (aliases recorded in left-out functions, lazily imported globals, shadowed definitions, positions
after left-out statements with every kind of line ending and comment placement).  ``benchmarks/run.py`` makes the
same comparison on TensorFlow's and Keras's own sources.
"""

from __future__ import annotations

import ast
import random
import sys
import textwrap
from pathlib import Path

import pytest

from fuzz_generators import tf_program
from tflint_nan import screen
from tflint_nan.lint import Settings, lint_source
from tflint_nan.rules import RULES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SETTINGS = [Settings(), Settings(strict=True)]


def both_paths(source: str, settings: Settings = Settings(), path: str = "module.py"):
    focused = lint_source(source, path, settings)
    exhaustive = lint_source(source, path, settings, exhaustive=True)
    assert (focused.findings, focused.error) == (exhaustive.findings, exhaustive.error)
    return focused.findings


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("*.py")), ids=lambda p: p.relative_to(FIXTURES).as_posix())
@pytest.mark.parametrize("settings", SETTINGS, ids=["default", "strict"])
def test_fixtures_agree(path, settings):
    both_paths(path.read_text(encoding="utf-8"), settings, str(path))


@pytest.mark.parametrize("rule", [rule for rule in RULES if rule.bad], ids=lambda rule: rule.code)
def test_rule_examples_agree(rule):
    assert both_paths(rule.bad)
    assert not both_paths(rule.good)


@pytest.mark.parametrize("seed", range(12))
def test_generated_programs_agree(seed):
    both_paths(tf_program(random.Random(seed)), Settings(strict=seed % 2 == 1))


def program(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_an_alias_assigned_in_a_left_out_function_stays_in_that_function():
    # ``K = tf.math`` in ``unrelated`` binds a local K: the module's K in ``elu`` is still tf.keras.backend.
    source = program("""
        import tensorflow as tf
        K = tf.keras.backend

        def unrelated():
            K = tf.math
            return K

        def elu(x):
            return K.switch(x > 0., x, K.exp(x) - 1.)
    """)
    assert [finding.code for finding in both_paths(source)] == ["TFN001"]


def test_an_alias_assigned_in_a_function_applies_there():
    source = program("""
        import tensorflow as tf

        def elu(x):
            K = tf.keras.backend
            return K.switch(x > 0., x, K.exp(x) - 1.)

        def unrelated(x):
            K = None
            return K.switch(x > 0., x, K.exp(x) - 1.)
    """)
    assert [(finding.code, finding.start.line) for finding in both_paths(source)] == [("TFN001", 5)]


def test_assigning_another_value_ends_an_alias():
    source = program("""
        import tensorflow as tf
        import numpy as np
        K = tf.keras.backend
        K = np

        def elu(x):
            return K.switch(x > 0., x, K.exp(x) - 1.)
    """)
    assert both_paths(source) == []


def test_a_library_imported_into_a_global_by_another_function_is_followed():
    source = program("""
        def load():
            global keras
            import keras

        def elu(x):
            return keras.ops.where(x > 0., x, keras.ops.exp(x) - 1.)
    """)
    assert [finding.code for finding in both_paths(source)] == ["TFN001"]


def test_a_definition_shadowing_an_earlier_binding_is_kept():
    source = program("""
        import tensorflow as tf
        g = tf.exp(y)

        def g():
            return 0

        def f(x):
            return tf.where(x > 0., x, g)
    """)
    assert both_paths(source) == []


def test_findings_after_left_out_statements_keep_their_positions():
    filler = "\n".join(f"def unrelated_{n}(a, b):\n    '''doc\n    string'''\n    return a / b  # c\n"
                       for n in range(5))
    source = program('''
        """Module docstring."""
        import tensorflow as tf; import numpy as np
        from keras import ops


        @decorator  # comment
        # between decorators
        @other(
            1,
        )
        async def first(x):
            return x
            # a comment indented deeper, owned by the block


        # a comment before a class
        class Layer:
            """Doc."""

            scale = 2.

            @property
            def unused(self):
                return np.where(self.x, 1, 2) / 3

            def call(self, x):
                return ops.where(x > 0., x, ops.exp(x) / (x - 1.))

            def after(self):
                pass
                # trailing
            # class footer
        x = 1; y = 2
    ''') + filler + program("""
        def last(x):
            return tf.where(x > 0., tf.math.log(x), x)
    """)
    lines = source.splitlines()
    select_line = next(n for n, line in enumerate(lines, 1) if "ops.where(x > 0." in line)
    log_line = next(n for n, line in enumerate(lines, 1) if "tf.math.log" in line)
    for newline in ("\n", "\r\n", "\r"):
        findings = both_paths(source.replace("\n", newline))
        assert [(finding.code, finding.line) for finding in findings] == [
            ("TFN001", select_line), ("TFN003", select_line), ("TFN002", log_line)]


def test_a_fix_that_adds_an_import_before_a_left_out_function():
    source = program("""
        import numpy as np
        from keras import ops

        def unrelated(a):
            return np.where(a, 1, 2)

        def elu(x):
            return ops.where(x > 0., x, ops.exp(x) - 1.)
    """)
    findings = both_paths(source)
    assert findings and findings[0].fix is not None


def test_a_module_level_variable_read_in_left_out_functions():
    source = program("""
        import tensorflow as tf
        x = tf.constant([1.])
        ratio = 1. / x

        def reads_it():
            return ratio * 2

        y = tf.where(x > 0., ratio, 0.)
    """)
    # x is a constant, so no gradient reaches the division: --strict shows it
    assert [finding.code for finding in both_paths(source, Settings(strict=True))] == ["TFN003"]


@pytest.mark.parametrize("source", [
    "import tensorflow as tf\nK = tf.keras.backend\ndef f(x):\n    return K.switch(x > 0, x, K.exp(x))\n",
    "from tensorflow import where as w\nimport tensorflow as tf\ny = w(x > 0, x, tf.exp(x))\n",
    "from keras import (\n    ops,  # where, in a comment\n)\ny = ops . \\\n    where(c, a, b)\n",
    "import os, tensorflow as tf\ny = tf.where(c, a, b)\n",
    "import tensorflow\ny = tensorflow.compat.v1.where(c, a, b)\n",
    "keras = LazyLoader('keras')\ny = keras.ops.where(c, a, b)\n",
    "from tensorflow.keras.backend import switch\ny = switch(c, a, b)\n",
    "import tensorflow as tf\ny = (tf  # the module\n     .where)(c, a, b)\n",
    "# -*- coding: latin-1 -*-\nimport tensorflow as tf\ny = tf.where(c, a, b)  # caf\xe9\n",
    "\ufefffrom keras import backend as K\ny = K.switch(c, a, b)\n",
    '{"cells": [{"source": "import numpy as np\\nfrom keras import backend as K\\ny = K.switch(c, a, b)"}]}',
    "import tensorflow.experimental.numpy as tnp\nnp = tnp\ny = np.where(c, a, b)\n",
    "import tensorflow as tf\ny = make()[0].where(c, a, b)\n",
    "import tensorflow as tf\ny = caf\xe9.where(c, a, b)\n",
    "from tensorflow import compat as c\ny = c.v1.where(a, b, d)\n",
    "import foo as bar\nimport tensorflow as tf\nfoo = tf.compat\ny = bar.v1.where(a, b, c)\n",
    "import keras\nC = keras\nclass C:\n    for ops in [1]:\n        pass\n    y = ops.where(a, b, c)\n",
])
def test_the_byte_screen_lets_through_every_spelling(source):
    if not source.startswith("{"):
        # Something for the select to meet: without a risky op, a division or a power, no select can hold a finding
        # and the screen rightly rejects the file (``screen._may_reach_a_risky_op``).  A division is no sink itself
        # (without --strict): only the select's spelling can let the file through.
        source += "z = a / b\n"
    data = source.encode("latin-1" if "latin-1" in source else "utf-8")
    assert screen.might_have_findings(data)


@pytest.mark.parametrize("source", [
    "import numpy as np\ny = np.where(c, a, b)\n",
    "import tensorflow as tf\ny = tf.matmul(x, w)  # a where, a switch, an exp\n",
    "def where(c, a, b):\n    return a\n",
    "import jax.numpy as jnp\nimport tensorflow as tf\ny = jnp.where(c, a, b)\nz = tf.matmul(x, w)\n",
    "from keras.src.ops.numpy import where\nimport keras\n",
    "import keras\nimport numpy as np\nclass Layer:\n    y = np.where(c, a, b)\n",
    # TensorFlow's internal modules are not followed: libraries' copies of TensorFlow's own code
    "from tensorflow.python.ops import array_ops\ny = array_ops.where(c, a, b)\n",
])
def test_the_byte_screen_rejects_files_without_a_possible_select(source):
    assert not screen.might_have_findings(source.encode())


def test_the_byte_screen_lets_through_selects_of_project_modules():
    """``from .backend import ops``: a module of the project may re-export Keras (``project.py`` decides); the
    standard library and NumPy never do."""
    assert screen.might_have_findings(b"from .backend import ops\nimport keras\ny = ops.where(c, a, b)\n")
    assert screen.might_have_findings(b"import tensorflow as tf\nimport proj.znp as znp\ny = znp.where(c, a, b)\n")
    assert not screen.might_have_findings(b"import keras\nimport numpy.ma as nm\ny = nm.where(c, a, b)\n")
    assert not screen.might_have_findings(b"import keras\nfrom os import path\ny = path.where(c, a, b)\n")



@pytest.mark.parametrize("source", [
    "import numpy as np\nimport tensorflow as tf\ny = np.where(c, tf.exp(a), b)\n",
    "import tensorflow as tf\ny = tf.where(c, a, b)\nz = tf.exp(q)\n",
    "import tensorflow as tf\ny = tf.where(c)\n",
    "import tensorflow as tf\ndef f(a):\n    return tf.where(c, a ** 2, b)\n",
])
def test_the_syntax_tree_screen_skips_selects_without_a_risky_op(source):
    assert screen.plan(ast.parse(source)) is None
    assert both_paths(source) == []


def test_the_syntax_tree_screen_keeps_only_what_the_findings_need():
    source = program("""
        import tensorflow as tf

        def one(x):
            return tf.where(x > 0., x, tf.exp(x))

        def two(x):
            return tf.where(x > 0., x, 1.)

        class Layer:
            def call(self, x):
                return tf.where(x > 0., x, 0.)

            def other(self, x):
                y = x / 2.
                return tf.where(x > 0., y, 0.)
    """)
    plan = screen.plan(ast.parse(source))
    assert plan.kept == {0, 1, 3}
    assert plan.kept_methods == {3: {1}}


POSITION_SOURCES = sorted(FIXTURES.rglob("*.py")) + sorted((FIXTURES.parent / "tflint_nan").glob("*.py"))


def _statement_positions_agree(source: str) -> int:
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from tflint_nan import focus
    from tflint_nan.lint import run_with_deep_stack

    def compare() -> int:
        module = cst.parse_module(source)
        tree = ast.parse(source)
        whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        compared = 0
        first_lines, indents = focus._first_lines(module, tree)
        # Every statement (top-level, a top-level class's member, one in a block of either), from its own code.
        statements = [node for node in _cst_nodes(module) if id(node) in first_lines]
        assert len(statements) == len(first_lines)
        # ... and that is every statement of the module or of an indented block (not an ``elif``: see ``_blocks``).
        in_blocks = {id(child) for node in _cst_nodes(module) if isinstance(node, (cst.Module, cst.IndentedBlock))
                     for child in node.body}
        assert {id(node) for node in statements} == in_blocks
        for statement in statements:
            computed, offset = focus._statement_positions(statement, first_lines[id(statement)], module,
                                                          indents.get(id(statement)))
            for node, span in computed.items():
                expected = whole[node]
                assert (span.start.line + offset, span.start.column, span.end.line + offset, span.end.column) == (
                    expected.start.line, expected.start.column, expected.end.line, expected.end.column), node
                compared += 1
        return compared

    return run_with_deep_stack(compare)


def _cst_nodes(module):
    """Every node of a LibCST module."""
    stack = [module]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


@pytest.mark.parametrize("path", POSITION_SOURCES, ids=lambda path: path.relative_to(FIXTURES.parent).as_posix())
def test_a_statements_own_code_gives_the_module_positions(path):
    """Positions of a finding's nodes come from the code of the statement that holds them, a top-level statement or
    a method of a top-level class (decorated, after comments and blank lines, several statements on a line): the
    same as from the whole module's code."""
    assert _statement_positions_agree(path.read_text(encoding="utf-8")) > 0


CLASS_MEMBERS = (
    "class A(Base):\n"
    "\tx = 1; y = 2\n"
    "\n"
    "\t# a comment\n"
    "\t@decorator(\n"
    "\t    1)\n"
    "\tdef method(self, a,\n"
    "  b):\n"
    "\t\treturn tf.where(a > 0, tf.exp(a), \"\"\"\n"
    "text\"\"\")\n"
    "\tclass Inner:\n"
    "\t\tdef inner(self): return 1\n"
    "if True:\n"
    "    class NotTopLevel:\n"
    "        def m(self): pass\n"
)


def test_a_class_members_own_code_gives_the_module_positions():
    """A class body indented by a tab, a member over several lines with a continuation line and a string at column 0,
    several members on one line, a nested class; a class that is not at the top level is not split."""
    assert _statement_positions_agree(CLASS_MEMBERS) > 20


NESTED_BLOCKS = (
    "async def outer(x, y):\n"
    "    if x:\n"
    "      a = tf.exp(x)\n"
    "    elif y:  # a comment\n"
    "    \tb = 1; c = 2\n"
    "    elif x: d = 3\n"
    "    else:\n"
    "        for i in range(3):\n"
    "            while i:\n"
    "                i -= 1\n"
    "            else:\n"
    "                pass\n"
    "        else:\n"
    "            try:\n"
    "                e = tf.where(x > 0, x, tf.exp(x))\n"
    "            except ValueError as error:\n"
    "                raise\n"
    "            except* TypeError:\n"
    "                pass\n"
    "            else:\n"
    "              async with ctx() as f, other():\n"
    "                  async for g in f:\n"
    "                      @decorator(\n"
    "  1)\n"
    "                      def inner(h,\n"
    "k):\n"
    "                          return \"\"\"\n"
    "text\"\"\"\n"
    "            finally:\n"
    "                match x:\n"
    "                  case [1, *rest]:\n"
    "                        j = rest\n"
    "                  case _: pass\n"
    "    return tf.math.log(\n"
    "        y)\n"
)


def test_statements_in_nested_blocks_give_the_module_positions():
    """Blocks inside blocks (``elif`` and ``else``, loops' ``else``, handlers, ``finally``, ``match`` cases), mixed
    indentation, one-line suites, decorators and strings at column 0: each statement from its own code."""
    assert _statement_positions_agree(NESTED_BLOCKS.replace("except*", "except")) > 100
    if sys.version_info >= (3, 11):  # ``try`` with ``except*`` handlers
        assert _statement_positions_agree(NESTED_BLOCKS.replace("except ValueError", "except* ValueError")) > 100


@pytest.mark.parametrize("seed", range(30))
def test_a_statements_own_code_gives_the_module_positions_on_generated_programs(seed):
    source = tf_program(random.Random(seed)) + "\n\n# a comment\n\n@decorator(\n    1)\ndef last(): return 1; x = 2\n"
    assert _statement_positions_agree(source) > 0


def test_without_libcsts_codegen_internals_the_module_positions_are_used(monkeypatch):
    from tflint_nan import focus

    source = (FIXTURES / "bad" / "sinks.py").read_text(encoding="utf-8")
    expected = [(f.code, f.start, f.end) for f in lint_source(source, "sinks.py").findings]
    monkeypatch.setattr(focus, "PositionProvidingCodegenState", None)
    assert [(f.code, f.start, f.end) for f in lint_source(source, "sinks.py").findings] == expected and expected
