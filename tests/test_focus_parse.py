"""LibCST parses only the statements the plan keeps: what it is given, and that nothing else changes.

The left-out statements reach the analysis as ``focus._Outside`` nodes (their text, their names from CPython's
tree); every finding, fix and reason must be the exhaustive path's (``both_paths``), and the module LibCST sees must
write out as the file, byte for byte.
"""

from __future__ import annotations

import ast
import random
import textwrap

import libcst as cst
import pytest
from fuzz_generators import tf_program

from tflint_nan import focus, screen
from tflint_nan.lint import Settings, lint_source


def both_paths(source: str, settings: Settings = Settings(), path: str = "module.py"):
    focused = lint_source(source, path, settings)
    exhaustive = lint_source(source, path, settings, exhaustive=True)
    assert (focused.findings, focused.error) == (exhaustive.findings, exhaustive.error)
    return focused.findings


def program(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@pytest.fixture
def parsed(monkeypatch):
    """The texts LibCST is asked to parse, in order."""
    texts: list[str] = []
    original = cst.parse_module

    def spy(text, *args, **kwargs):
        texts.append(text)
        return original(text, *args, **kwargs)

    monkeypatch.setattr(focus.cst, "parse_module", spy)
    return texts


FILLER_METHODS = "".join(f"""
    def helper_{n}(self, a, b):
        '''Nothing risky.'''
        total_{n} = a * b + {n}
        return tf.reduce_sum(total_{n})
""" for n in range(30))

LARGE_CLASS = program('''
    import tensorflow as tf


    class Large(tf.keras.layers.Layer):
        """Many methods, one risky."""
        scale = 2.
''') + FILLER_METHODS + program('''
        def risky(self, x):
            return tf.where(x > 0., tf.math.log(x), x)


    def unrelated(a):
        return a * unrelated_marker
''')


def test_libcst_never_sees_the_left_out_methods_of_a_large_class_nor_left_out_functions(parsed):
    findings = both_paths(LARGE_CLASS)
    assert [finding.code for finding in findings] == ["TFN002"]
    focused = parsed[0]  # the exhaustive path parses the whole file after it
    assert "tf.math.log" in focused and "scale = 2." in focused
    assert "helper_" not in focused and "total_" not in focused and "unrelated_marker" not in focused
    assert focused.count("\n") == LARGE_CLASS.count("\n")  # the same lines: every position is the file's


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("final_newline", [True, False])
def test_the_focused_module_writes_out_as_the_file(newline, final_newline):
    source = (LARGE_CLASS + program('''
        @decorator  # comment
        # between
        @other(
            1,
        )
        async def last(x):
            """Doc."""
            return x  # the end''')).replace("\n", newline)
    if not final_newline:
        source = source.rstrip("\r\n")
    else:
        source += newline
    tree = ast.parse(source)
    plan = screen.plan(tree)
    assert plan is not None and len(plan.kept) < len(tree.body)
    built = focus.FocusedModule.build(source, tree, plan)
    if built is None:
        # LibCST does not write back a final lone ``\r`` it parsed: the whole module is analysed instead.
        assert newline == "\r" and final_newline
    else:
        assert built.module.code == source
        assert any(isinstance(statement, focus._Outside) for statement in built.module.body)
    both_paths(source)


def test_a_hoisted_condition_avoids_names_used_only_in_left_out_functions():
    source = program("""
        import tensorflow as tf

        def uses_the_name(mask):
            return mask

        def f(x):
            return tf.where(x > tf.random.uniform(tf.shape(x)), tf.math.log(x), x)
    """)
    findings = both_paths(source, Settings(strict=True))
    assert findings and findings[0].fix is not None
    assert "mask_1" in "".join(edit.text for edit in findings[0].fix.edits)


def test_an_alias_taken_only_in_a_left_out_function_blocks_an_import_as_on_the_whole_module():
    source = program("""
        from keras.ops import where, exp

        def unrelated(x):
            ops = x
            return ops

        def elu(x):
            return where(x > 0., x, exp(x) - 1.)
    """)
    both_paths(source)


def test_a_variable_read_in_a_left_out_method_after_the_select_blocks_its_rewrite():
    source = program("""
        import tensorflow as tf

        class Model:
            y = tf.math.log(v)
            z = tf.where(v > 0., y, 0.)

            def reads(self):
                return y
    """)
    both_paths(source, Settings(strict=True))


@pytest.mark.parametrize("seed", range(8))
def test_generated_programs_with_padding_between_them_agree(seed):
    rng = random.Random(seed)
    pieces = [tf_program(rng) for _ in range(3)]
    filler = "".join(f"\n\ndef filler_{n}(a):\n    return a + {n}\n" for n in range(rng.randrange(1, 6)))
    both_paths(filler.join(pieces), Settings(strict=seed % 2 == 1))


def test_a_left_out_statement_libcst_cannot_parse_is_not_a_parse_error_when_it_has_nothing_to_find():
    """LibCST rejects ``return(lambda: 0)`` (LibCST issue 1448); left out, it is never shown to LibCST."""
    source = program("""
        import tensorflow as tf

        def cannot(x):
            return(lambda: 0)

        def f(x):
            return tf.where(x > 0., tf.math.log(x), x)
    """)
    try:
        cst.parse_module(source)
    except Exception:  # noqa: BLE001 - this LibCST rejects it: the focused path must still analyse the file
        result = lint_source(source, "module.py")
        assert result.error is None and [finding.code for finding in result.findings] == ["TFN002"]
    else:
        both_paths(source)
