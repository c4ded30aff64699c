"""``--fix`` analyses again only what its edits changed, and the result is what analysing everything gives.

The reference is the engine with ``fix._analyse_again`` replaced by a plain analysis of the whole new text, as the
engine worked before; every field of the ``FixResult`` must agree.
"""

from __future__ import annotations

import random
import textwrap
from pathlib import Path

import pytest
from fuzz_generators import tf_program

from tflint_nan import fix
from tflint_nan.focus import libcst_error, line_starts
from tflint_nan.lint import Settings, analyse, parse_python

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def program(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def fixed_both_ways(source: str, monkeypatch, settings: Settings = Settings()) -> fix.FixResult:
    incremental = fix.fix_source(source, "module.py", settings)
    with monkeypatch.context() as patch:
        patch.setattr(fix, "_analyse_again",
                      lambda text, findings, new_text, spans, tree, path, settings: analyse(new_text, path, settings))
        whole = fix.fix_source(source, "module.py", settings)
    assert incremental == whole
    return incremental


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("*.py")), ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fixtures_are_fixed_as_with_a_whole_analysis_per_round(path, monkeypatch):
    fixed_both_ways(path.read_text(encoding="utf-8"), monkeypatch, Settings(strict=True))


@pytest.mark.parametrize("seed", range(10))
def test_generated_programs_are_fixed_as_with_a_whole_analysis_per_round(seed, monkeypatch):
    rng = random.Random(seed)
    fixed_both_ways("\n\n".join(tf_program(rng) for _ in range(3)), monkeypatch, Settings(strict=True))


def test_nested_ops_across_statements_and_an_op_assigned_at_module_level(monkeypatch):
    source = program("""
        import tensorflow as tf
        from keras import ops

        ratio = tf.math.log(v)

        def uses_ratio(x):
            return tf.where(v > 0., ratio, 0.)

        def nested(x):
            return tf.where(x > 1., tf.math.log(tf.math.log(x)), x)

        def untouched(x):
            return tf.where(x > 0., tf.math.log(x), x)  # noqa: TFN002

        def imports(x):
            return ops.where(x > 0., x, ops.exp(x) - 1.)

        def hoists(x):
            return tf.where(x > tf.random.uniform(tf.shape(x)), tf.math.log(x), x)
    """)
    result = fixed_both_ways(source, monkeypatch, Settings(strict=True))
    assert result.fixed and result.changed


def test_a_round_analyses_only_the_statements_its_edits_changed(monkeypatch):
    functions = "".join(f"\ndef f{n}(x):\n    return tf.where(x > 0., tf.math.log(x), x)\n" for n in range(6))
    source = "import tensorflow as tf\n" + functions + (
        "\ndef kept_as_is(x):\n    return tf.where(x > 0., tf.math.log(x), x)  # noqa: TFN002\n")
    looked_at: list[set[str]] = []
    original = fix.analyse

    def spy(text, path, settings, *args, only=None, tree=None, **kwargs):
        if only is not None:
            looked_at.append({node.name for node in tree.body if hasattr(node, "name") and only(node)})
        return original(text, path, settings, *args, only=only, tree=tree, **kwargs)

    monkeypatch.setattr(fix, "analyse", spy)
    result = fix.fix_source(source, "module.py")
    assert len(result.fixed) == 6 and not result.remaining
    assert looked_at == [{f"f{n}" for n in range(6)}]  # not ``kept_as_is``, whose line is protected


def test_offsets_move_as_the_edits_move_them():
    rng = random.Random(3)
    for _ in range(200):
        spans, cursor = [], 0
        for _ in range(rng.randrange(0, 6)):
            start = cursor + rng.randrange(0, 5)
            end = start + rng.choice([0, 0, 1, 3])
            text = rng.choice(["", "ab", "(x)", "tf.where(c, x, 1.)"])
            keeps = rng.randrange(0, len(text) - (end - start) + 1) if end > start and len(text) >= end - start and \
                rng.random() < 0.5 else None
            spans.append(fix._Span(start, end, text, keeps))
            cursor = end + 1
        mapped = fix._offset_map(spans)
        for offset in range(cursor + 3):
            assert mapped(offset) == fix._map_offset(offset, sorted(spans, key=lambda s: (s.start, s.end)))


def test_libcst_is_asked_only_about_the_edited_statements():
    source = program("""
        import tensorflow as tf

        def cannot(x):
            return(lambda: 0)

        def edited(x):
            return x
    """)
    tree = parse_python(source)
    edited_line = source.splitlines().index("    return x") + 1
    assert libcst_error(source, tree, [edited_line]) is None
    broken = source.replace("    return x", "    return(lambda: 0)")
    message = libcst_error(broken, parse_python(broken), [edited_line])
    rejects = libcst_error(broken, parse_python(broken), list(range(1, len(line_starts(broken)) + 1)))
    assert (message is None) == (rejects is None)  # whatever this LibCST thinks of it, asked the same way
