"""Lint many files: the one place that decides how files are scheduled."""

from __future__ import annotations

import sys
from typing import Iterable

from .finding import FileResult
from .lint import Settings, lint_bytes, lint_path


def lint_files(files: Iterable[tuple[str, bool]], settings: Settings) -> list[FileResult]:
    """Results for (path, named explicitly) pairs, in the given order; ``-`` reads standard input."""
    return [_lint_one(path, explicit, settings) for path, explicit in files]


def _lint_one(path: str, explicit: bool, settings: Settings) -> FileResult:
    if path == "-":
        return lint_bytes(sys.stdin.buffer.read(), "-", settings)
    return lint_path(path, settings, always_check_syntax=explicit)
