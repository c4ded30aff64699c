"""Small helpers shared by the static tests."""

from __future__ import annotations

import textwrap

from tflint_nan.lint import Settings, lint_source


def lint(code: str, **settings) -> list:
    result = lint_source(textwrap.dedent(code), "snippet.py", Settings(**settings))
    assert result.error is None, result.error
    return result.findings


def codes(code: str, **settings) -> list[tuple[str, int, int]]:
    """(code, line, 1-based column) of each finding."""
    return [(f.code, f.line, f.col) for f in lint(code, **settings)]
