"""Exact findings on the labelled fixture set.

A bad fixture marks each expected finding on its line with ``# expect: TFN001:34`` (code and 1-based column).
Every marker must be found and nothing else may be: precision and recall are both 1.0 by construction of the
assertion.  ``test_fixture_labels_tf.py`` proves with real TensorFlow that the labels are facts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tflint_nan.files import lint_path
from tflint_nan.knowledge import RULE_CODES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MARKER = re.compile(r"#\s*expect:\s*(?P<items>(?:TFN\d{3}:\d+\s*)+)")

# The question's code is kept exactly as its author wrote it, so its expectations live here, not in comments.
ORIGIN_EXPECTATIONS = {
    "origin/custom_elu_keras.py": [("TFN001", 6, 30)],
    "origin/custom_elu_tf.py": [("TFN001", 8, 33)],
    "origin/question_full_script.py": [("TFN001", 15, 30)],
    "origin/answer_fixed.py": [],
}


def expected_findings(path: Path) -> list[tuple[str, int, int]]:
    relative = path.relative_to(FIXTURES).as_posix()
    if relative in ORIGIN_EXPECTATIONS:
        return ORIGIN_EXPECTATIONS[relative]
    expected = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = MARKER.search(line)
        if match:
            for item in match.group("items").split():
                code, column = item.split(":")
                expected.append((code, number, int(column)))
    return sorted(expected, key=lambda e: (e[1], e[2], e[0]))


FIXTURE_FILES = sorted(FIXTURES.rglob("*.py"))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_exact_findings(path):
    result = lint_path(str(path))
    assert result.error is None
    found = [(f.code, f.line, f.col) for f in result.findings]
    assert found == expected_findings(path)


def test_fixture_set_covers_every_rule_and_both_labels():
    expected = [e for path in FIXTURE_FILES for e in expected_findings(path)]
    assert {code for code, _, _ in expected} == set(RULE_CODES)
    good_files = [p for p in FIXTURE_FILES if p.parent.name == "good"]
    assert good_files and all(not expected_findings(p) for p in good_files)


def test_markers_point_at_the_risky_op():
    """A marker's column must start an op expression, so labels cannot drift from the code."""
    op_start = re.compile(r"[A-Za-z_(0-9.-]")
    for path in FIXTURE_FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for code, line, column in expected_findings(path):
            assert op_start.match(lines[line - 1][column - 1]), (path, line, column)
