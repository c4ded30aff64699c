"""Lint one file or one source string: read, pre-filter, parse once, analyse, apply ``# noqa``."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper

from .analysis import ModuleAnalyzer
from .finding import FileResult, Finding, Position
from .knowledge import PARSE_ERROR_CODE

# A file can only hold a select call if one of these words appears in it; most files are skipped unparsed.
_SELECT_WORDS = (b"where", b"switch", b"Select")
_NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z][0-9]+(?:[,\s]+[A-Z][0-9]+)*))?", re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    select: frozenset[str] | None = None  # None: every rule
    ignore: frozenset[str] = frozenset()
    strict: bool = False

    def enabled(self, code: str) -> bool:
        if code == PARSE_ERROR_CODE:
            return True
        if any(code.startswith(prefix) for prefix in self.ignore):
            return False
        return self.select is None or any(code.startswith(prefix) for prefix in self.select)


class SourceError(Exception):
    """The file cannot be linted; the message is the one-line reason."""

    def __init__(self, message: str, line: int = 1, column: int = 0):
        super().__init__(message)
        self.line = line
        self.column = column


def decode(data: bytes) -> str:
    """Source text as Python reads it: BOM, coding cookie, UTF-8 by default."""
    if b"\0" in data:
        raise SourceError("file contains a NUL byte; not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise SourceError(f"cannot decode: {error}") from None
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise SourceError(f"cannot decode as {encoding}: {error.reason if hasattr(error, 'reason') else error}") from None


def analyse(source: str, path: str, settings: Settings = Settings()) -> list[Finding]:
    """Findings for one module's source, filtered by settings and ``# noqa``; raises SourceError."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        raise SourceError(f"syntax error: {error.message}", error.raw_line, error.raw_column) from None
    except RecursionError:
        raise SourceError("too deeply nested for the parser") from None
    try:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        analyzer = ModuleAnalyzer(wrapper, path, strict=settings.strict)
        wrapper.visit(analyzer)
    except RecursionError:
        raise SourceError("too deeply nested to analyse") from None
    lines = source.splitlines()
    return [
        finding
        for finding in analyzer.findings()
        if settings.enabled(finding.code) and not _suppressed(finding, lines)
    ]


def might_have_findings(data: bytes) -> bool:
    return any(word in data for word in _SELECT_WORDS)


def check_syntax(source: str, path: str) -> None:
    """Report syntax errors in files the pre-filter lets skip analysis.

    CPython's own parser is an order of magnitude faster than LibCST's; only when it rejects the file (which
    may just mean newer syntax than this interpreter knows) does LibCST get the final word.
    """
    try:
        ast.parse(source, path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        try:
            cst.parse_module(source)
        except cst.ParserSyntaxError as error:
            raise SourceError(f"syntax error: {error.message}", error.raw_line, error.raw_column) from None
        except RecursionError:
            raise SourceError("too deeply nested for the parser") from None


def lint_source(source: str, path: str = "<stdin>", settings: Settings = Settings()) -> FileResult:
    result = FileResult(path)
    try:
        if might_have_findings(source.encode("utf-8", "surrogatepass")):
            result.findings = analyse(source, path, settings)
        else:
            check_syntax(source, path)
    except SourceError as error:
        result.error = _error(path, error)
    return result


def lint_bytes(data: bytes, path: str, settings: Settings = Settings()) -> FileResult:
    result = FileResult(path)
    try:
        source = decode(data)
        if might_have_findings(data):
            result.findings = analyse(source, path, settings)
        else:
            check_syntax(source, path)
    except SourceError as error:
        result.error = _error(path, error)
    return result


def lint_path(path: str, settings: Settings = Settings()) -> FileResult:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        return FileResult(path, error=_error(path, SourceError(f"cannot read: {error.strerror or error}")))
    return lint_bytes(data, path, settings)


def _error(path: str, error: SourceError) -> Finding:
    position = Position(max(error.line, 1), max(error.column, 0))
    return Finding(path, position, position, PARSE_ERROR_CODE, str(error))


def _suppressed(finding: Finding, lines: list[str]) -> bool:
    if not 0 < finding.line <= len(lines):
        return False
    match = _NOQA.search(lines[finding.line - 1])
    if match is None:
        return False
    codes = match.group("codes")
    if not codes:
        return True
    return any(finding.code.startswith(code.upper()) for code in re.split(r"[,\s]+", codes) if code)
