"""Fuzzing: whatever the input, linting returns findings or one TFN999 line, and ``--fix`` never breaks a file.

Inputs: programs from Python's grammar (hypothesmith), TensorFlow/Keras-shaped programs from
``fuzz_generators.tf_program`` (so the analysis and the rewrites run, not only the parser), and damaged copies of the
fixture files (``fuzz_generators.mutate``).

Properties:

* lint never raises and never hangs; its findings are well formed (known codes, one-line messages, positions and
  fix edits inside the file);
* a file Python accepts is never reported as unreadable, except for the documented limits (nesting depth, LibCST
  parser limitations), and never with an internal error;
* ``--fix`` output parses, is stable (fixing it again changes nothing), lints clean of everything a fix could
  remove, and differs from the input only inside the rewritten expressions and the edits their fixes plan;
* ``--fix`` on a file without findings, or one it cannot read or parse, leaves its bytes as they were.

A short, deterministic run is part of every ``pytest``.  For a long run set ``TFLINT_NAN_FUZZ_EXAMPLES`` (examples per
test) and give each process its own seed, e.g.::

    TFLINT_NAN_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz.py --hypothesis-seed=1 \\
        --hypothesis-show-statistics
"""

from __future__ import annotations

import ast
import io
import json
import os
import random
import re
import tokenize
import warnings

import libcst
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="the fuzz suite needs hypothesis (the test extra)")
hypothesmith = pytest.importorskip("hypothesmith", reason="the fuzz suite needs hypothesmith (the test extra)")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fuzz_generators import mutate, no_hang, tf_program  # noqa: E402
from tflint_nan.fix import fix_file, fix_source  # noqa: E402
from tflint_nan.knowledge import PARSE_ERROR_CODE, RULE_CODES  # noqa: E402
from tflint_nan.files import lint_bytes  # noqa: E402
from tflint_nan.lint import Settings, SourceError, analyse, decode, run_with_deep_stack  # noqa: E402
from tflint_nan.rewrite import line_starts  # noqa: E402

# Compiling generated code (hypothesmith does, and so does this module's oracle) warns about that code, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning", "ignore:invalid escape sequence:DeprecationWarning")

FIXTURES = sorted((os.path.join(root, name) for root, _, names in os.walk(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")) for name in names
    if name.endswith(".py")))
FIXTURE_BYTES = [open(path, "rb").read() for path in FIXTURES]

LONG_RUN = "TFLINT_NAN_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("TFLINT_NAN_FUZZ_EXAMPLES", "40"))
HANG_SECONDS = 120  # per input; the slowest generated input lints in a few seconds

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG_RUN,  # the short run in CI always tries the same inputs
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
# The properties that fix whole programs cost several times more per input: fewer of them in the short run.
HEAVY = settings(FUZZ, max_examples=EXAMPLES if LONG_RUN else EXAMPLES // 2)
SEEDS = st.integers(min_value=0, max_value=2**64 - 1)
SETTINGS = st.sampled_from([Settings(), Settings(strict=True), Settings(select=frozenset({"TFN00"})),
                            Settings(ignore=frozenset({"TFN001", "TFN004"}))])

# The only reasons a file Python accepts may still be reported as TFN999: documented limits.
ACCEPTED_LIMITS = re.compile(r"nesting depth \d+ exceeds|too deeply nested|^LibCST \S+ cannot parse this file")


# -- the oracle ------------------------------------------------------------------------------------------------------
def python_accepts(data: bytes) -> bool:
    """Whether the bytes are a module this Python compiles, decoded as the language reference says."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        with warnings.catch_warnings():  # the fuzzed code's invalid escapes are not this test's warnings
            warnings.simplefilter("ignore")
            ast.parse(data.decode(encoding))
    except (SyntaxError, ValueError, LookupError, UnicodeDecodeError, RecursionError, MemoryError, SystemError):
        return False  # (CPython 3.11 reports some deep expressions as SystemError)
    return True


def lint_checked(data: bytes, path: str = "fuzzed.py", lint_settings: Settings = Settings()):
    """Lint ``data`` and check every property that holds for any input."""
    with no_hang(HANG_SECONDS):
        result = lint_bytes(data, path, lint_settings)
    reported = result.findings + ([result.error] if result.error is not None else [])
    for finding in reported:
        assert finding.code in RULE_CODES or finding.code == PARSE_ERROR_CODE, finding
        assert len(finding.message.splitlines()) == 1, finding.message  # one output line per finding
        assert finding.start.line >= 1 and finding.start.column >= 0, finding
        assert finding.start <= finding.end, finding
    if result.error is not None:
        assert not result.findings
        assert "internal error" not in result.error.message, result.error.message
    if result.findings:
        source = decode(data)
        starts = line_starts(source)
        for finding in result.findings:
            assert lint_settings.enabled(finding.code)
            assert finding.end.line <= len(starts), finding
            for edit in finding.fix.edits if finding.fix else ():
                assert edit.start <= edit.end and edit.end.line <= len(starts), edit
                assert offset(starts, edit.end) <= len(source), edit
    return result


def assert_no_false_parse_error(data: bytes, result) -> None:
    if result.error is not None and python_accepts(data):
        assert ACCEPTED_LIMITS.search(result.error.message), (
            f"Python accepts this file, yet: {result.error.message}")


def statement_first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", ())
    return min([node.lineno, *(decorator.lineno for decorator in decorators)])


def offset(starts: list[int], position) -> int:
    return starts[position.line - 1] + position.column


# -- the fix properties ----------------------------------------------------------------------------------------------
def fix_checked(source: str, path: str = "fuzzed.py", fix_settings: Settings = Settings()) -> None:
    try:
        with no_hang(HANG_SECONDS, "fixing one input"):
            original = analyse(source, path, fix_settings)
            result = fix_source(source, path, fix_settings)
    except SourceError as error:
        assert "internal error" not in str(error), str(error)
        return  # cannot be analysed: reported as TFN999, nothing to fix
    new = result.new_source
    if not original:
        assert new == source, "a file without findings must stay byte-identical"
    if python_accepts(source.encode("utf-8", "surrogatepass")):
        ast.parse(new)  # the fixed file parses
    else:  # syntax newer than this Python, which only LibCST knows: the fixed file must still be that
        run_with_deep_stack(lambda: libcst.parse_module(new))
    with no_hang(HANG_SECONDS, "fixing the fixed input"):
        again = fix_source(new, path, fix_settings)
    assert again.new_source == new and again.fixed == [], "fixing twice changes the file again"
    assert analyse(new, path, fix_settings) == [item.finding for item in result.remaining]
    assert_changes_only_inside(source, new, original)


def assert_changes_only_inside(source: str, new: str, findings) -> None:
    """``new`` is ``source`` with text changed only in the statements that hold a fixable finding (the op's input
    is wrapped, the select's condition may be hoisted into a variable just before the statement) and at the
    places the fixes' own edits name (an added import).

    (All the findings, not only those counted as fixed: an op used by two selects is reported against the inner
    one, and once that is fixed, against the outer one, which keeps it "remaining" although it was rewritten.)
    """
    if source == new:
        return
    starts = line_starts(source)
    statements = [(statement_first_line(node), node.end_lineno) for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.stmt)]
    regions = []
    for finding in findings:
        if finding.fix is None:
            continue
        regions += [(offset(starts, edit.start), offset(starts, edit.end)) for edit in finding.fix.edits]
        first, last = min((span for span in statements if span[0] <= finding.start.line <= span[1]),
                          key=lambda span: span[1] - span[0], default=(finding.start.line, finding.end.line))
        regions.append((starts[first - 1], starts[last] if last < len(starts) else len(source)))
    regions.sort()
    merged: list[list[int]] = []
    for start, end in regions:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    kept, cursor = [], 0
    for start, end in merged:
        kept.append(source[cursor:start])
        cursor = end
    kept.append(source[cursor:])
    # The kept pieces must appear in ``new`` in order, the first at the start and the last at the end; taking
    # each piece's leftmost occurrence finds such a placement whenever one exists.
    assert new.startswith(kept[0]) and new.endswith(kept[-1]), "text outside the rewritten expressions changed"
    position = len(kept[0])
    for piece in kept[1:-1]:
        found = new.find(piece, position)
        assert found >= 0, f"text outside the rewritten expressions changed: {piece[:80]!r}"
        position = found + len(piece)
    assert position <= len(new) - len(kept[-1]), "text outside the rewritten expressions changed"


# -- generated programs ----------------------------------------------------------------------------------------------
@FUZZ
@given(seed=SEEDS, lint_settings=SETTINGS)
def test_tf_shaped_programs_lint_cleanly(seed, lint_settings):
    data = tf_program(random.Random(seed)).encode("utf-8")
    result = lint_checked(data, "generated.py", lint_settings)
    assert_no_false_parse_error(data, result)


@HEAVY
@given(seed=SEEDS)
def test_tf_shaped_programs_fix_cleanly(seed):
    fix_checked(tf_program(random.Random(seed)))


@FUZZ
@given(source=hypothesmith.from_grammar())
def test_programs_from_the_grammar_lint_cleanly(source):
    data = source.encode("utf-8", "surrogatepass")
    assert_no_false_parse_error(data, lint_checked(data))
    # The same program in a module that holds a select call, so LibCST and the analysis see it too.
    data = b"import tensorflow as tf\n" + data + b"\ny = tf.where(x > 0, x, tf.exp(x))\n"
    assert_no_false_parse_error(data, lint_checked(data))


@HEAVY
@given(source=hypothesmith.from_node())
def test_programs_from_libcst_nodes_lint_and_fix_cleanly(source):
    data = (source + "\nimport tensorflow as tf\ny = tf.where(x > 0, x, tf.math.log(x))\n").encode("utf-8",
                                                                                                "surrogatepass")
    assert_no_false_parse_error(data, lint_checked(data))
    fix_checked(data.decode("utf-8", "surrogatepass"))


# -- damaged files ---------------------------------------------------------------------------------------------------
def damaged(seed: int) -> bytes:
    rng = random.Random(seed)
    base = rng.choice(FIXTURE_BYTES) if rng.random() < 0.75 else tf_program(rng).encode("utf-8")
    return mutate(base, rng)


@FUZZ
@given(seed=SEEDS, lint_settings=SETTINGS)
def test_damaged_files_lint_cleanly(seed, lint_settings):
    data = damaged(seed)
    assert_no_false_parse_error(data, lint_checked(data, "damaged.py", lint_settings))


@FUZZ
@given(seed=SEEDS)
def test_damaged_files_fix_cleanly(seed):
    data = damaged(seed)
    try:
        source = decode(data)
    except SourceError:
        return
    fix_checked(source)


@FUZZ
@given(seed=SEEDS)
def test_fix_file_writes_only_what_it_reports(seed, tmp_path_factory):
    """On disk: a file that is not fixed keeps its bytes; a fixed one is the reported text, in its encoding."""
    data = damaged(seed)
    path = tmp_path_factory.mktemp("fix") / "damaged.py"
    path.write_bytes(data)
    with no_hang(HANG_SECONDS, "fixing one file"):
        outcome = fix_file(str(path))
    assert outcome.error is None or "internal error" not in outcome.error.message, outcome.error.message
    after = path.read_bytes()
    if not outcome.written:
        assert after == data
        return
    assert outcome.error is None and outcome.result.changed
    assert decode(after) == outcome.result.new_source
    assert after.startswith(b"\xef\xbb\xbf") == data.startswith(b"\xef\xbb\xbf")
    if python_accepts(data):
        ast.parse(decode(after))


@HEAVY
@given(seed=SEEDS)
def test_damaged_notebooks_lint_and_fix_cleanly(seed, tmp_path_factory):
    rng = random.Random(seed)
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": tf_program(rng).splitlines(keepends=True)} for _ in range(rng.randrange(1, 4))]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
                "nbformat": 4, "nbformat_minor": 5}
    data = json.dumps(notebook, indent=1).encode("utf-8")
    if rng.random() < 0.8:
        data = mutate(data, rng)
    lint_checked(data, "damaged.ipynb")
    path = tmp_path_factory.mktemp("notebook") / "damaged.ipynb"
    path.write_bytes(data)
    with no_hang(HANG_SECONDS, "fixing one notebook"):
        outcome = fix_file(str(path))
    assert outcome.error is None or "internal error" not in outcome.error.message, outcome.error.message
    if outcome.written:
        json.loads(path.read_bytes())  # still a notebook
    else:
        assert path.read_bytes() == data
