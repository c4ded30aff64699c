"""One test for each crash, hang and wrong answer the fuzz and torture suites found, on the smallest input that
showed it.  Each failed (raised, hung or reported wrongly) before its fix."""

from __future__ import annotations

import io
import math
import os
import textwrap
import threading

import pytest

from command import BUGGY, tflint_nan, write
from fuzz_generators import no_hang
from tflint_nan import fix as fix_module
from tflint_nan.analysis import ModuleAnalyzer
from tflint_nan.fix import fix_file, fix_source
from tflint_nan.intervals import MAX_PARTS, IntervalSet
from tflint_nan.files import lint_bytes
from tflint_nan.lint import MAX_NESTING_DEPTH, Settings, SourceError, check_syntax, lint_source

HEADER = "import tensorflow as tf\n"
HANG_SECONDS = 60  # each of these now takes well under a second; before the fixes, most never finished


def lint(code: str):
    with no_hang(HANG_SECONDS):
        return lint_source(HEADER + textwrap.dedent(code), "regression.py")


def error(code: str) -> str:
    result = lint(code)
    assert result.error is not None, result.findings
    return result.error.message


# -- LibCST rejects valid code ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("statement", ["return(lambda: 0)", "return((a if b else c))", "assert(lambda: 0)"])
def test_valid_code_libcst_cannot_build_is_one_tfn999_not_a_crash(statement):
    """LibCST 1.9 raises TypeError or CSTValidationError on these (LibCST issue 1448); the run used to abort.
    (In a function that cannot hold a finding, LibCST never sees them: ``test_focus_parse.py``.)"""
    message = error(f"def f(x):\n    y = tf.where(x > 0, x, tf.exp(x))\n    {statement}\n")
    assert message.startswith("LibCST ") and "cannot parse this file" in message and "internal" not in message


def test_a_file_libcst_cannot_parse_does_not_stop_the_run(tmp_path):
    write(tmp_path, "a_lambda.py", HEADER + "def f(x):\n    y = tf.where(x > 0, x, tf.exp(x))\n    return(lambda: 0)\n")
    write(tmp_path, "b_buggy.py", BUGGY)
    result = tflint_nan(".", cwd=tmp_path)
    assert result.returncode == 1 and "internal error" not in result.stderr
    assert [line.split(": ")[1][:6] for line in result.stdout.splitlines()] == ["TFN999", "TFN001", "TFN002"]


def test_thousands_of_concatenated_strings_are_a_libcst_limit_not_a_syntax_error():
    message = error("s = " + " ".join(["'a'"] * 5000) + "\ny = tf.where(x > 0, x, tf.exp(x))\n")
    assert "which Python accepts" in message and not message.startswith("syntax error")


# -- analysis crashes -------------------------------------------------------------------------------------------------
def test_an_empty_tuple_operand_has_a_key():
    """``key`` stripped the parentheses of ``()``, which LibCST refuses (CSTValidationError)."""
    result = lint_source(HEADER + "y = tf.where(() > 0, x, tf.exp(()))\n", "regression.py", Settings(strict=True))
    assert result.error is None and [f.code for f in result.findings] == ["TFN001"]


def test_an_infinite_exponent_is_a_fractional_power():
    """``x ** 1e400``: int(inf) raised OverflowError."""
    result = lint("y = tf.where(x > 0, x ** 1e400, 0.)\n")
    assert result.error is None and [f.code for f in result.findings] == ["TFN004"]


def test_a_negative_power_of_a_positive_range_open_at_zero():
    """``(step + 1) ** -0.5`` with ``step`` a counter (at least 0): ``0.0 ** -0.5`` raised ZeroDivisionError."""
    assert IntervalSet.compare(">", 0.0).map_monotone(lambda v: v ** -0.5, increasing=False) == \
        IntervalSet.compare(">", 0.0)
    result = lint("""\
    def noam(step, d_model=512):
        step = tf.cast(step, tf.float32)
        return tf.where(step > 0, d_model ** -0.5 * tf.minimum(step ** -0.5, step * 4000 ** -1.5), 0.)
    """)
    assert result.error is None


def test_a_select_written_over_two_lines_is_named_on_one_line():
    """The message quoted the callee's source, line break included, and broke the one-line output format."""
    result = lint("y = (tf\n     .where)(x > 0, x, tf.exp(x))\n")
    assert ["\n" not in f.message and "(tf .where)" in f.message for f in result.findings] == [True]


def test_an_internal_error_is_one_tfn999_and_the_other_files_are_still_checked(tmp_path, monkeypatch):
    def broken(self, node):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ModuleAnalyzer, "visit_Call", broken)
    result = lint_bytes(BUGGY.encode(), "buggy.py")
    assert result.error.code == "TFN999"
    assert result.error.message == ("internal error while analysing (RuntimeError: a bug); not analysed, "
                                    "please report it with this file")
    monkeypatch.undo()
    path = write(tmp_path, "buggy.py", BUGGY)
    monkeypatch.setattr(fix_module, "_plan", lambda *args: 1 / 0)
    outcome = fix_file(str(path))
    assert "internal error while fixing (ZeroDivisionError" in outcome.error.message
    assert path.read_text(encoding="utf-8") == BUGGY


def test_an_internal_error_while_fixing_standard_input_passes_it_through(monkeypatch):
    """An editor or hook piping a buffer through ``--fix -`` gets it back unchanged, not an empty output."""
    monkeypatch.setattr(fix_module, "_plan", lambda *args: 1 / 0)
    out, err = io.StringIO(), io.StringIO()
    assert fix_module.fix_stdin(BUGGY.encode(), "buffer.py", Settings(), diff=False, out=out, err=err) == 1
    assert out.getvalue() == BUGGY
    assert "TFN999 internal error while fixing (ZeroDivisionError: division by zero)" in err.getvalue()


# -- exponential work -------------------------------------------------------------------------------------------------
CHAINS = {
    # each variable used twice by the next: following every path took 2**60 steps
    "values": ["a0 = x"] + [f"a{i} = a{i - 1} + a{i - 1}" for i in range(1, 61)]
    + ["return tf.where(x > 0, x, tf.math.log(a60))"],
    "conditions": ["c0 = x > 0"] + [f"c{i} = c{i - 1} & c{i - 1}" for i in range(1, 61)]
    + ["return tf.where(c60, x, tf.exp(x))"],
    "described conditions": ["c0 = x > 0"] + [f"c{i} = tf.logical_and(c{i - 1}, c{i - 1})" for i in range(1, 61)]
    + ["return tf.where(c60, x, tf.exp(x))"],
    "sets of points": ["p0 = tf.where(x == 1., 1., 2.)"] + [f"p{i} = p{i - 1} * 3. + p{i - 1}" for i in range(1, 61)]
    + ["return tf.where(x > 0, x, tf.math.log(p60))"],
}


@pytest.mark.parametrize("lines", CHAINS.values(), ids=CHAINS.keys())
def test_variables_that_repeat_each_other_are_analysed_in_bounded_time(lines):
    result = lint("def f(x):\n" + "".join(f"    {line}\n" for line in lines))
    assert result.error is None and len(result.findings) == 1  # unknown values: reported, the sound answer


def test_a_fix_of_a_chain_is_bounded_too():
    source = HEADER + "def f(x):\n" + "".join(f"    {line}\n" for line in CHAINS["conditions"])
    with no_hang(HANG_SECONDS):
        result = fix_source(source, "chain.py")
    assert not result.changed and [item.finding.code for item in result.remaining] == ["TFN001"]


def test_interval_sets_stay_small():
    points = IntervalSet()
    for value in range(0, 200, 2):
        points = points.union(IntervalSet.point(float(value)))
    assert len(points.parts) <= MAX_PARTS  # hulls replace the surplus parts: still every value, and more
    assert all(IntervalSet.point(float(value)).within(points) for value in range(0, 200, 2))
    assert len(points.add(points).parts) <= MAX_PARTS


# -- parsing: limits, fallbacks and positions -------------------------------------------------------------------------
def test_a_long_sum_deep_in_the_callers_stack_is_not_a_system_error():
    """CPython 3.11 reports running out of recursion while building a syntax tree as SystemError; check_syntax
    let it escape when the caller was already deep (pytest is) and the expression long."""
    def deep(frames: int):
        if frames:
            return deep(frames - 1)
        return lint_source(HEADER + "z = " + " + ".join(["tf.exp(x)"] * 900) + "\ny = tf.where(x > 0, x, tf.exp(x))\n",
                           "sum.py")

    result = deep(300)
    assert result.error is None and result.findings


def test_a_sum_too_deep_to_analyse_is_reported_with_its_depth():
    message = error("y = tf.where(x > 0, x, " + " + ".join(["tf.exp(x)"] * 3000) + ")\n")
    assert f"exceeds {MAX_NESTING_DEPTH}; not analysed" in message


def test_too_many_indentation_levels_is_python_s_limit_not_newer_syntax():
    """CPython refuses 100+ indentation levels; the file went to LibCST, which accepted and analysed it."""
    blocks = "".join("    " * level + "if x:\n" for level in range(150))
    assert error(blocks + "    " * 150 + "y = tf.where(x > 0, x, tf.exp(x))\n") == (
        "syntax error: too many levels of indentation")


def test_a_file_python_rejects_is_not_handed_to_libcst_when_that_would_take_minutes():
    """The LibCST fallback (for syntax newer than this Python) took minutes on a long chain of subscripts."""
    assert error("y = tf.where(x > 0, x, tf.exp(x" + "[0]" * 4000 + "))\nz = )\n") == "syntax error: unmatched ')'"


def test_a_second_byte_order_mark_is_an_error_not_newer_syntax():
    result = lint_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + BUGGY.encode(), "bom.py")
    assert result.error.message == "syntax error: invalid non-printable character U+FEFF"


def test_syntax_error_columns_come_from_the_text_not_a_file_of_the_same_name(tmp_path):
    """Given a file name, CPython takes the error's line from that file on disk (a notebook's JSON, say)."""
    notebook = write(tmp_path, "nb.ipynb", '{"cells": []}\n')
    with pytest.raises(SourceError) as raised:
        check_syntax("def broken(:\n    pass\n", str(notebook))
    assert (raised.value.line, raised.value.column) == (1, 11)


# -- reading ----------------------------------------------------------------------------------------------------------
def test_the_full_output_format_does_not_reopen_a_fifo(tmp_path):
    """``--output-format full`` reads each reported file again for its source lines: a FIFO would block."""
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)

    def feed() -> None:  # writes the module once, as a shell's process substitution would
        with open(fifo, "w", encoding="utf-8") as pipe:
            pipe.write(BUGGY)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    result = tflint_nan("--output-format", "full", "pipe.py", cwd=tmp_path)
    feeder.join(timeout=10)
    assert result.returncode == 1
    assert [line.split(": ")[1][:6] for line in result.stdout.splitlines() if line.startswith("pipe.py:")] == [
        "TFN001", "TFN002"]


def test_a_number_times_a_range_is_scaled_and_zero_times_anything_is_zero():
    """``0. * x`` is exactly 0 for every finite x (it was the empty set: no value at all, which any domain holds)."""
    everything = IntervalSet.compare(">", -math.inf)
    assert IntervalSet.point(0.0).multiply(everything) == IntervalSet.point(0.0)
    assert everything.multiply(IntervalSet.point(0.0)) == IntervalSet.point(0.0)
    assert IntervalSet.point(-2.0).multiply(IntervalSet.between(1.0, 3.0, True, False)) == IntervalSet.between(
        -6.0, -2.0, False, True)
    assert IntervalSet.point(2.0).multiply(IntervalSet.compare(">", 0.0)) == IntervalSet.compare(">", 0.0)
