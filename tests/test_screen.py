"""The screen's cheaper tests: the same verdicts as the analysis, on the constructs each one narrows.

Each plan-level case is also run through both paths (``test_focus.both_paths``): where the screen now skips a
statement, the exhaustive path finds nothing there either; where it keeps one, the finding is still reported.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from pathlib import Path

import pytest

from test_focus import both_paths
from test_gradients import PRELUDE, SILENT_BY_DEMAND
from tflint_nan import screen
from tflint_nan.gradients import ModuleFacts
from tflint_nan.lint import Settings, analyse


def program(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def planned(source: str) -> bool:
    return screen.plan(ast.parse(source)) is not None


# -- the byte screen's patterns ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("words", [
    ["exp", "expm1", "log", "log1p", "log10", "log2", "where", "where_v2"],
    sorted({name.rsplit(".", 1)[1] for name in screen.SINK_NAMES}),
    ["a", "ab", "abc", "b"],
])
def test_the_prefix_tree_alternation_matches_exactly_its_words(words):
    pattern = re.compile(rb"(?:" + screen._alternatives(words) + rb")\Z")
    for word in words:
        assert pattern.match(word.encode()), word
    for other in ("", "ex", "expm", "log1", "wher", "where_v", "abcd", "c", "logs", "Where"):
        if other not in words:
            assert not pattern.match(other.encode()), other


@pytest.mark.parametrize("text, bound", [
    ("keras = LazyLoader('keras')\n", True),
    ("for tensorflow in modules:\n", True),
    ("def f(keras):\n", True),
    ("tf_keras, x = a\n", True),
    ("x = 1\nkeras\n", True),
    ("# a keras model\n", False),
    ("use tf.keras here\n", False),
    ("self.keras = 1\n", False),
    ("my_keras = 1\n", False),
    ("'keras'\n", False),
])
def test_a_library_name_counts_as_bound_only_where_a_binding_can_stand(text, bound):
    assert screen._may_bind_a_library_name(text.encode()) is bound


# -- the plan: sinks that cannot meet what their arguments hold ------------------------------------------------------
@pytest.mark.parametrize("source", [
    # x ** 2 and x ** 1.5 are no roots (their derivative is finite at 0); x ** y may be one (y below 1)
    "import tensorflow as tf\ndef f(a, b):\n    return (a * a) ** 2\n",
    "import tensorflow as tf\ndef f(a, b):\n    return tf.square(a) ** 1.5\n",
    "import tensorflow as tf\ndef f(a):\n    return tf.pow(tf.square(a), 2)\n",
    "import tensorflow as tf\ndef f(a):\n    return tf.pow(tf.abs(a), -0.5)\n",
    # a product with no cast in it masks nothing
    "import tensorflow as tf\ndef f(a, b):\n    return tf.multiply(a, tf.math.log(b))\n",
    # a root of a product of two different values: not 0 where its derivative is
    "import tensorflow as tf\ndef f(a, b):\n    return tf.sqrt(a * b)\n",
    # an index of a reduction or of a matrix product of a risky op: the index may leave none of its elements out
    "import tensorflow as tf\ndef f(p, i):\n    return tf.gather(tf.reduce_sum(tf.math.log(p), -1), i)\n",
    "import tensorflow as tf\ndef f(p):\n    s = tf.linalg.matmul(tf.exp(p), p)\n    return s[:, 0]\n",
])
def test_sinks_that_cannot_meet_their_op_are_not_planned(source):
    assert not planned(source)
    assert not both_paths(source, Settings(strict=True))


@pytest.mark.parametrize("source", [
    "import tensorflow as tf\ndef loss(a, b):\n    return tf.reduce_sum(tf.square(a - b), -1) ** 0.5\n",
    "import tensorflow as tf\ndef loss(a, b):\n    return tf.sqrt(tf.reduce_sum((a - b) * (a - b), -1))\n",
    "import tensorflow as tf\ndef loss(a, b):\n    d = a - b\n    return tf.pow(tf.reduce_sum(d * d, -1), 0.5)\n",
    "import tensorflow as tf\ndef loss(a, b):\n    s = (a - b) ** 2\n    return tf.sqrt(s + tf.square(a))\n",
    "import tensorflow as tf\ndef loss(x):\n    return tf.multiply(tf.cast(x > 0, tf.float32), tf.math.log(x))\n",
    "import tensorflow as tf\ndef loss(x):\n    m = 1. - tf.cast(x <= 0, tf.float32)\n    return tf.multiply(tf.math.log(x), m)\n",
    # an index of a risky op's value, directly, through a variable and through element-wise steps
    "import tensorflow as tf\ndef loss(p, labels):\n    return tf.gather(tf.math.log(p), labels, batch_dims=1)\n",
    "import tensorflow as tf\ndef loss(x):\n    return tf.sqrt(x)[:, 0]\n",
    "import tensorflow as tf\ndef loss(p):\n    log_p = -tf.math.log(p)\n    return tf.abs(log_p)[..., 1:]\n",
])
def test_roots_and_masks_that_can_meet_their_op_are_planned(source):
    assert planned(source)
    assert both_paths(source, Settings(strict=True))


def test_a_power_with_a_tensor_exponent_of_a_flat_zero_is_planned():
    """``tf.square(a) ** y`` is a root for y below 1 (and 0 * inf at y = 0): analysis._check_root decides."""
    source = "import tensorflow as tf\ndef f(a, y):\n    return tf.square(a) ** y\n"
    assert planned(source)
    assert [f.code for f in both_paths(source, Settings(strict=True))] == ["TFN009"]


def test_an_unpacked_product_or_power_is_planned():
    assert planned("import tensorflow as tf\ndef f(pair):\n    return tf.multiply(*pair, tf.math.log(pair))\n")
    assert planned("import tensorflow as tf\ndef f(args):\n    return tf.pow(tf.square(args), *args)\n")


# -- sinks that are operators: no name shows them ---------------------------------------------------------------------
ROOT_OF_A_SQUARE = program("""
    import tensorflow as tf


    def rms_loss(y_true, y_pred):
        d = y_true - y_pred
        return tf.reduce_mean((d * d) ** 0.5)
""")
SLICE_OF_A_DIVISION = program("""
    import tensorflow as tf


    def first_share(a, b):
        r = a / b
        return r[:, 0]
""")


def codes(findings) -> list[tuple[str, bool]]:
    return [(finding.code, finding.strict_only) for finding in findings]


def test_a_root_of_a_square_that_no_name_shows_is_screened_in():
    """``(d * d) ** 0.5`` is 0 where its base's derivative is 0 (TFN009, shown by default), and the file names no
    sink: the byte screen must let it through on the operators alone, and the exhaustive path's shortcut too."""
    assert codes(analyse(ROOT_OF_A_SQUARE, "module.py", exhaustive=True)) == [("TFN009", False)]
    assert screen.might_have_findings(ROOT_OF_A_SQUARE.encode())
    assert codes(both_paths(ROOT_OF_A_SQUARE)) == [("TFN009", False)]


def test_a_root_of_one_minus_a_softmax_is_screened_in():
    """``(1 - softmax(z)) ** 0.5`` is 0 where the probability rounds to 1 (TFN009, high): ``softmax`` is no sink
    word of the byte screen, so the root's base must count by its name."""
    source = program("""
        import tensorflow as tf


        def focal_term(y_true, logits):
            p = tf.nn.softmax(logits)
            return tf.reduce_sum(y_true * (1.0 - p) ** 0.5)
    """)
    assert codes(analyse(source, "module.py", exhaustive=True)) == [("TFN009", False)]
    assert codes(both_paths(source)) == [("TFN009", False)]


def test_a_slice_of_a_division_is_screened_in_only_with_strict():
    """A slice of a division (TFN011) has medium confidence at most: only ``--strict`` shows it, and only then does
    the byte screen need to let a division through."""
    assert codes(analyse(SLICE_OF_A_DIVISION, "module.py", Settings(strict=True), exhaustive=True)) == [
        ("TFN011", True)]
    assert not analyse(SLICE_OF_A_DIVISION, "module.py", exhaustive=True)
    assert not screen.might_have_findings(SLICE_OF_A_DIVISION.encode())
    assert screen.might_have_findings(SLICE_OF_A_DIVISION.encode(), strict=True)
    assert codes(both_paths(SLICE_OF_A_DIVISION, Settings(strict=True))) == [("TFN011", True)]
    assert not both_paths(SLICE_OF_A_DIVISION)


@pytest.mark.parametrize("code, default, strict", [
    ("y = (d * d) ** 0.5", True, True),
    ("y = (a - b) * (a - b)\nz = y ** 0.5", True, True),  # a bracket before the product: any operand may repeat
    ("s = self.a * self.a\nz = s ** .5", True, True),
    ("s = x ** 2\nz = s ** gamma", True, True),  # a square, and an exponent that is no number
    ("s = x ** 2\nz = (s\n     ** (1 / 2))", True, True),  # a power continued on the next line, a computed exponent
    ("s = x * x\nz = s ** 1e-3", True, True),
    ("z = x ** 0.5", False, True),  # a root, but of nothing squared: only a division or power for --strict
    ("s = x * y\nz = s ** 0.5", False, True),
    ("s = x * x\nz = s ** 2", False, False),  # no root
    ("s = x * x\nz = s ** 2 ** y", True, True),  # the exponent is ``2 ** y``
    ("s = x * x\nz = s ** (2)", False, False),
    ("s = x * x\nz = s ** -1", False, True),  # no root; no natural number
    ("z = 2. ** x", False, True),  # an exp in disguise: a number's power (``2.`` ends an operand)
    ("s = x * x\nz = s ** 1e400", False, True),  # an infinite exponent: no natural number
    ("s = x * x\nf(**kwargs)\ndef g(**kw): pass", False, False),  # unpackings
    ("s = self.a * self.b\nz = s ** 0.5", False, True),
    ("s = f(a) * f(b)\nz = s ** 0.5", False, True),
    ("s = f(x)[0] * f(x)[0]\nz = s ** 0.5", True, True),
    ("s = -a * -a\nz = s ** 0.5", True, True),
    ("s = (x\n     * x)\nz = s ** 0.5", True, True),
    ("s = 2 * 2.0\nz = s ** 0.5", True, True),  # (numbers are not compared)
    ("s = café * café\nz = s ** 0.5", True, True),  # names beyond ASCII
    ("s = x * x\nz = café ** 0.5", True, True),
    ("r = a // b", False, False),  # a floor division has no pole
    ("r = a / b", False, True),
])
def test_operator_sinks_in_code(code, default, strict):
    data = code.encode("utf-8")
    assert screen._holds_operator_sink(data, False) is default
    assert screen._holds_operator_sink(data, True) is strict
    source = ("import tensorflow as tf\n" + code + "\n").encode("utf-8")
    assert screen.might_have_findings(source) is default
    assert screen.might_have_findings(source, strict=True) is strict


@pytest.mark.parametrize("text, exponent", [
    (b" 2", 2.0), (b"2", 2.0), (b" 0.5", 0.5), (b" .5", 0.5), (b" -1", -1.0), (b" (2)", 2.0), (b" ( -0.5 )", -0.5),
    (b" 1e-3", 0.001), (b" 1_000", 1000.0), (b" 2 + 1", 2.0),
    (b" (1 / 2)", None), (b" 2 ** y", None), (b" gamma", None), (b" 2j", None), (b" 2.real", None), (b" (2", None),
    (b" x[0]", None), (b" 2[0]", None),
])
def test_a_literal_exponent_is_read_only_when_it_is_the_whole_exponent(text, exponent):
    assert screen._literal_exponent(text, 0) == exponent


# -- what every candidate needs: a risky op, a division or a power -----------------------------------------------
NO_RISKY_OP = program("""
    import tensorflow as tf


    def masked_mean(x, mask):
        x = tf.where(mask, x, tf.zeros_like(x))
        return tf.reduce_sum(x * tf.cast(mask, x.dtype))
""")


def test_a_file_whose_sinks_can_reach_no_risky_op_is_screened_out():
    """A select, a cast and a product are sinks, but with no risky op, division or power in the file none can meet
    anything: the plan says so after parsing, and now the bytes say it first."""
    assert screen.plan(ast.parse(NO_RISKY_OP)) is None
    assert not screen.might_have_findings(NO_RISKY_OP.encode())
    assert not screen.might_have_findings(NO_RISKY_OP.encode(), strict=True)


@pytest.mark.parametrize("addition, candidate", [
    ("def share(a, b):\n    return tf.where(b > 0, a / b, 0.)\n", True),
    ("def root(a):\n    return tf.where(a > 0, a ** 0.5, 0.)\n", True),
    ("def grow(a):\n    return tf.where(a < 80, tf.exp(a), 0.)\n", True),
    ("from tensorflow.math import log as ln\n\ndef logs(a):\n    return tf.where(a > 0, ln(a), 0.)\n", True),
    ("def size(a):\n    return tf.norm(a)\n", True),
    # a library alias: to the plan, any call through it may be any op
    ("K = tf.keras.backend\n\ndef pick(c, a):\n    return K.switch(c, K.anything(a), a)\n", True),
    ("K = (\n    tf.keras\n    .backend\n)\n\ndef pick(c, a):\n    return K.switch(c, K.anything(a), a)\n", True),
    # a module of the project may re-export a risky op under a name of its own (the plan asks the project)
    ("from .ops import grow\n\ndef pick(c, a):\n    return tf.where(c, grow(a), a)\n", None),
    ("import myproject.ops as mops\n\ndef pick(c, a):\n    return tf.where(c, mops.grow(a), a)\n", None),
])
def test_what_may_reach_a_risky_op_keeps_a_file(addition, candidate):
    source = NO_RISKY_OP + "\n\n" + addition
    if candidate:
        assert screen.plan(ast.parse(source)) is not None
    assert screen.might_have_findings(source.encode())


def test_operators_in_strings_and_comments_are_not_sinks():
    source = 'import tensorflow as tf\n# rms = (d * d) ** 0.5\nDOC = "(d * d) ** 0.5 and a / b"\n'
    assert not screen.might_have_findings(source.encode(), strict=True)


def test_an_operator_sink_needs_a_library():
    assert not screen.might_have_findings(b"import numpy as np\ny = (d * d) ** 0.5\nr = a / b\n", strict=True)


# -- sinks in functions that are never differentiated ---------------------------------------------------------------
NEVER_DIFFERENTIATED = [
    # a metric's update
    program("""
        import tensorflow as tf
        class Precision(tf.keras.metrics.Metric):
            def update_state(self, y_true, y_pred):
                self.total.assign_add(tf.reduce_sum(tf.where(y_pred > 0., tf.math.log(y_pred), 0.)))
    """),
    # an optimizer's step, and a function nested in it
    program("""
        import tensorflow as tf
        class Clipped(tf.keras.optimizers.Optimizer):
            def update_step(self, gradient, variable, learning_rate):
                def scale(g):
                    return tf.where(g > 0., tf.sqrt(g), 0.)
                variable.assign_sub(learning_rate * scale(gradient))
    """),
    # a learning-rate schedule, and a class defined inside its method
    program("""
        import tensorflow as tf
        class Warmup(tf.keras.optimizers.schedules.LearningRateSchedule):
            def __call__(self, step):
                class Ramp:
                    def value(self, s):
                        return tf.where(s > 100., tf.math.log(s), 0.)
                return Ramp().value(step)
    """),
    # a private helper that only a constraint calls
    program("""
        import tensorflow as tf
        def _norm(w):
            return tf.where(w > 0., tf.sqrt(w), 0.)
        class MaxNorm(tf.keras.constraints.Constraint):
            def __call__(self, w):
                return w / _norm(w)
    """),
]


@pytest.mark.parametrize("source", NEVER_DIFFERENTIATED)
def test_a_sink_no_gradient_comes_back_through_is_planned_only_for_strict(source):
    """Without --strict the analysis checks no sink in a function that is never differentiated
    (``_open_sink``): the plan leaves such sinks out, and a file with nothing else needs no LibCST at all."""
    tree = ast.parse(source)
    assert screen.plan(tree) is not None
    assert screen.plan(tree, function_reason=ModuleFacts(tree).function_reason) is None
    assert both_paths(source) == []
    assert [finding.strict_only for finding in both_paths(source, Settings(strict=True))] == [True]


def test_only_the_functions_no_gradient_comes_back_through_are_left_out():
    source = program("""
        import tensorflow as tf
        class Layer(tf.keras.layers.Layer):
            def call(self, x):
                return tf.where(x > 0., x, tf.exp(x) - 1.)
        class Accuracy(tf.keras.metrics.Metric):
            def update_state(self, x):
                self.total.assign_add(tf.reduce_sum(tf.where(x > 0., tf.math.log(x), 0.)))
    """)
    tree = ast.parse(source)
    found = screen.plan(tree, function_reason=ModuleFacts(tree).function_reason)
    assert found is not None and found.kept == {0, 1}
    assert [finding.line for finding in both_paths(source)] == [4]


@pytest.mark.parametrize("name", sorted(SILENT_BY_DEMAND))
def test_code_never_differentiated_has_the_same_findings_on_both_paths(name):
    source = PRELUDE + textwrap.dedent(SILENT_BY_DEMAND[name])
    assert both_paths(source) == []
    assert both_paths(source, Settings(strict=True))


def test_the_plan_names_functions_as_the_analysis_does():
    """The plan asks ``ModuleFacts.function_reason`` by the qualified names the analysis uses: every function the
    plan's walk enters is one ModuleFacts knows, under the same name."""
    source = program("""
        def f():
            g()
            def g():
                h()
                class C:
                    def m(self):
                        k()
                        return lambda: n()
            async def a():
                g()
        class D:
            def m(self):
                g()
            class E:
                async def n(self):
                    g()
            x = [lambda: g() for _ in range(2)]
        def f():
            g()
    """)
    tree = ast.parse(source)
    named = {qualname for unit in screen._Facts(tree).units for owner in (unit, *unit.methods)
             for _, scope in owner.calls for qualname in scope.enclosing_functions()}
    assert named == set(ModuleFacts(tree).functions) == {
        "f", "f.<locals>.g", "f.<locals>.g.<locals>.C.m", "f.<locals>.a", "D.m", "D.E.n"}


# -- the plan's walk: its depth is the nesting guard's ----------------------------------------------------------------
def _reference_depth(tree: ast.Module) -> int:
    """Every node below the module, names' and constants' children aside (what the plan's walk visits)."""
    deepest, stack = 0, [(statement, 1) for statement in tree.body]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if not isinstance(node, (ast.Name, ast.Constant)):
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


@pytest.mark.parametrize("source", [
    "import tensorflow as tf\nx = tf.where(c, tf.exp(a), 0.)\n",
    "import tensorflow as tf\nx = tf.where(c, tf.exp(-(-(-a))), b[0].y)\n",
    "import tensorflow as tf\nx = tf.where(c, tf.exp(a), 0.) if a < b < c and not d else [*e]\n",
    program("""
        import tensorflow as tf
        from keras import ops
        class C:
            def f(self, a, *args, k=1, **kwargs):
                global g
                with tf.name_scope("x") as s:
                    for i, j in z:
                        y += tf.where(a > 0, tf.math.log(a), {1: 2, **d}[i])
                match a:
                    case {"k": 1, **rest}:
                        pass
                    case None:
                        pass
                return lambda q: [tf.exp(v) for v in q if v]
    """),
])
def test_the_plan_measures_the_nesting_depth_of_every_node(source):
    tree = ast.parse(source)
    found = screen.plan(tree)
    assert found is not None
    assert found.depth == _reference_depth(tree)


# -- the byte screen reads code, not comments and strings -------------------------------------------------------------
def _code_tokens(source: bytes) -> list[tuple[int, str]]:
    """Python's own tokens of ``source`` that are code: comments dropped, every string but an f-string read as
    an empty one (what ``code_without_strings_and_comments`` leaves of them)."""
    kept = []
    for token in tokenize.tokenize(io.BytesIO(source).readline):
        if token.type == tokenize.STRING:
            prefix = re.match(r"[rRbBuUfF]*", token.string).group(0)
            kept.append((token.type, token.string if "f" in prefix.lower() else '""'))
        elif token.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER):
            kept.append((token.type, token.string))
    return kept


def _sources_to_read() -> list[tuple[str, bytes]]:
    root = Path(__file__).resolve().parent.parent
    paths = sorted((root / "tflint_nan").glob("*.py")) + sorted((root / "fixtures").rglob("*.py")) + sorted(
        (root / "tests").glob("*.py"))
    return [(path.relative_to(root).as_posix(), path.read_bytes()) for path in paths]


@pytest.mark.parametrize("name,source", _sources_to_read(), ids=lambda value: value if isinstance(value, str) else "")
def test_without_strings_and_comments_the_code_tokens_are_the_same(name, source):
    code = screen.code_without_strings_and_comments(source)
    assert code is not None
    assert _code_tokens(code) == _code_tokens(source)


@pytest.mark.parametrize("source", [
    's = """it\'s"""\ny = 1\n',
    "s = 'a # b'  # it's\ny = 1\n",
    's = "a\\\nb"; y = 1\n',
    "s = rb'\\\\'; y = 1\n",
    "if'a': y = 1\n",
    "s = f\"{x!r:>{width}} {{literal}}\"\ny = 1\n",
    "s = ''\nt = \"\"\ny = '''a\n'' '\n'''\n",
    "s = u'\\''\ny = \"\\\"\"\n",
    's = """a ""b" c"""\ny = 1\n',  # quotes inside a triple-quoted string
    "s = '''it's ''x'' '''\ny = 1\n",
])
def test_strings_and_comments_that_look_like_each_other(source):
    code = screen.code_without_strings_and_comments(source.encode())
    assert code is not None
    assert _code_tokens(code) == _code_tokens(source.encode())


def test_an_f_string_whose_braces_do_not_balance_is_not_read():
    # Python 3.12 allows the f-string's own quotes inside its replacement fields: where strings end is not plain.
    assert screen.code_without_strings_and_comments(b's = f"{d["k"]}"\ny = tf.where(c, a, b)\n') is None


@pytest.mark.parametrize("source", [
    '"""Use it like this:\n\n>>> import tensorflow as tf\n>>> tf.where(x > 0, x, tf.exp(x))\n"""\n'
    '\nimport numpy as np\n',
    "import tensorflow as tf\n\n\ndef f(x):\n    '''Unlike tf.where(c, a, b), this keeps a.'''\n"
    "    return tf.matmul(x, x)\n",
    "import tensorflow as tf\ny = tf.matmul(a, b)  # not tf.where(c, tf.exp(a), b)\n",
    "import numpy as np\nEXAMPLE = 'import tensorflow as tf; tf.where(c, a, b)'\ny = np.maximum(a, b)\n",
])
def test_the_byte_screen_does_not_count_mentions_in_strings_and_comments(source):
    data = source.encode()
    assert not screen.might_have_findings(data)
    assert both_paths(source) == []


@pytest.mark.parametrize("source", [
    'import tensorflow as tf\nprint(f"{tf.where(x > 0., tf.math.log(x), 0.)}")\n',
    'import tensorflow as tf\nif"a": y = tf.where(x > 0., tf.math.log(x), 0.)\n',
    'import tensorflow as tf\ns = "#"; y = tf.where(x > 0., tf.math.log(x), 0.)\n',
    "import tensorflow as tf  # it's\ny = tf.where(x > 0., tf.math.log(x), 0.)\n",
    'import tensorflow as tf\ns = """\n"""; y = tf.where(x > 0., tf.math.log(x), 0.)\n',
])
def test_code_around_strings_and_comments_still_passes_the_byte_screen(source):
    assert screen.might_have_findings(source.encode())
    assert both_paths(source)


@pytest.mark.parametrize("name,source", _sources_to_read(), ids=lambda value: value if isinstance(value, str) else "")
def test_a_callee_ruled_out_by_its_last_attribute_is_no_sink_by_its_spelling_either(name, source):
    """``sink_kinds`` answers most callees from their last attribute; the answer from the whole spelling agrees."""
    tree = ast.parse(source)
    facts = screen._Facts(tree, resolve=lambda qualified: None, renames=lambda module: module.startswith("."))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            root, rest = facts._spelling(node.func)
            expected = ((facts.locals_may_alias,) * len(screen._SINK_KINDS) if root is None or facts.locals_may_alias
                        else tuple(facts._may_resolve(root, rest, names) for names in screen._SINK_KINDS))
            assert facts.sink_kinds(node.func) == expected, ast.unparse(node.func)
