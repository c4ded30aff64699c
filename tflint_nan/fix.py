"""Apply the findings' rewrites to source text: ``tflint-nan --fix`` and ``--diff``.

Each finding's ``Fix`` is a set of text edits (``rewrite.py`` plans them: the wrapped op input, a hoisted
condition, an import).  The engine lints, applies every fix whose edits do not collide, and lints the result
again, until no applicable fix is left (at most ``MAX_ROUNDS`` rounds):

* Innermost first.  Where one fix's input contains another's (a log of a quotient), the inner one is applied and
  the outer op is planned again on the new text: guarding the inner input often makes the outer op provably safe,
  and otherwise its next rewrite wraps the already-guarded expression.  Every risky op ends up safe or reported.
* Everything outside the edits is kept byte for byte: the edits replace character ranges of the text the analysis
  parsed (columns are LibCST's, in characters), so comments, formatting and line endings stay as they were.
* Each round's result must parse (with CPython's and LibCST's parsers) before it is kept; a fix whose result does
  not parse is dropped and its finding reported with the reason.
* Edits that would change a line whose ``# noqa`` covers the finding's code are not applied.
* A rewrite must help: an op the analysis flags again with the same rewrite, or still flags after
  ``MAX_FIXES_PER_OP`` rewrites, is left as written (from the first round on), so the result never holds a
  half-built nest of guards and fixing it again changes nothing.

``fix_source`` is the engine on a string; ``fix_file`` adds reading, encodings (BOM, coding cookies) and the atomic
write; ``fix_command`` is the command-line front end.  An optional ``verify(original, fixed, path)`` callback sees the
whole fixed source before anything is written or returned: it returns None to accept it, or the reason to keep the
original (``--fix --dynamic`` checks the rewrite under TensorFlow this way).
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import difflib
import io
import os
import stat
import sys
import tokenize
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, NamedTuple, TextIO

import libcst as cst

from .atomic import write_atomic
from .finding import Finding, Position
from .focus import libcst_error, line_starts
from .knowledge import PARSE_ERROR_CODE
from .lint import (
    Settings,
    Skipped,
    SourceError,
    _suppressed,
    analyse,
    check_syntax,
    decode,
    is_notebook,
    might_have_findings,
    paused_gc,
    read_file,
    run_with_deep_stack,
)
from .notebooks import (
    CellMap,
    NotebookError,
    cell_sources,
    checked_cells,
    fixed_sources,
    join_cells,
    language,
    load,
    rewrite_cells,
)

MAX_ROUNDS = 10
# An op is rewritten again when a select around it discards it too (nested selects); more rewrites of the same op
# than this mean the analysis does not see them help.
MAX_FIXES_PER_OP = 4
Verify = Callable[[str, str, str], "str | None"]  # (original, fixed, path): None, or why the fix is refused

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class Remaining(NamedTuple):
    """A finding the fix left in place, and why."""

    finding: Finding
    reason: str


@dataclass
class FixResult:
    """What fixing one source did.

    ``fixed`` are findings of ``source`` (positions in ``source``) that the rewrite removed.  ``remaining`` are the
    findings of ``new_source`` (positions in ``new_source``) with the reason each is left; ``remaining_in_source``
    are the same findings located in ``source`` (what ``--diff`` reports, since nothing was written).
    """

    source: str
    new_source: str
    fixed: list[Finding] = field(default_factory=list)
    remaining: list[Remaining] = field(default_factory=list)
    remaining_in_source: list[Remaining] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new_source != self.source


@dataclass
class _Span:
    """An edit as character offsets of the text it applies to."""

    start: int
    end: int
    text: str
    keeps: int | None = None  # where the replaced text reappears verbatim inside ``text``

    @property
    def key(self) -> tuple[int, int, str]:
        return self.start, self.end, self.text

    def collides(self, other: _Span) -> bool:
        if self.key == other.key:
            return False  # the same edit, needed by two fixes (an import, a hoisted condition)
        if self.start == self.end and other.start == other.end:
            return self.start == other.start  # two insertions at one point: their order would be arbitrary
        if self.start == self.end:
            return other.start < self.start < other.end
        if other.start == other.end:
            return self.start < other.start < self.end
        return self.start < other.end and other.start < self.end


def fix_source(source: str, path: str = "<string>", settings: Settings = Settings(),
               verify: Verify | None = None) -> FixResult:
    """Rewrite every fixable finding in ``source``; raises ``SourceError`` when ``source`` cannot be analysed, or
    cannot be fixed because of a bug (every caller then reports it and keeps the source as it was)."""
    try:
        return _fix_source(source, path, settings, verify)
    except SourceError:
        raise
    except RecursionError:
        raise SourceError("too deeply nested to fix; not fixed") from None
    except Exception as error:
        raise SourceError(f"internal error while fixing ({type(error).__name__}: {error}); not fixed, please "
                          "report it with this file") from error


def _fix_source(source: str, path: str, settings: Settings, verify: Verify | None) -> FixResult:
    settings = settings.for_path(path)
    original = analyse(source, path, settings)
    held_back: dict[int, str] = {}  # offsets in ``source`` of ops left as written, and why
    for _ in range(len(original) + 1):
        rounds = _Rounds(source, original, path, settings, held_back)
        if not rounds.unsettled:
            break
        held_back.update(rounds.unsettled)  # start again, leaving those ops alone from the first round on
    text, starts = rounds.text, rounds.starts
    if verify is not None and text != source:
        rejection = verify(source, text, path)
        if rejection is not None:
            reason = f"the fixed code failed verification: {rejection}"
            unchanged = [Remaining(finding, reason) for finding in original]
            return FixResult(source, source, [], unchanged, unchanged)
    remaining = [Remaining(finding, _reason(finding, starts, rounds.failed)) for finding in rounds.findings]
    at_offset = {(_offset(starts, item.finding.start), item.finding.code): item for item in remaining}
    fixed, remaining_in_source = [], []
    for finding in original:
        item = at_offset.get((rounds.tracked[id(finding)], finding.code))
        if item is None:
            fixed.append(finding)
        else:
            remaining_in_source.append(Remaining(finding, item.reason))
    return FixResult(source, text, fixed, remaining, remaining_in_source)


class _Rounds:
    """Lint, apply the fixes that fit together, repeat: the text, its findings and what happened to each op.

    ``unsettled`` names the original ops (offsets in ``source``) whose rewrites did not settle -- rewritten
    ``MAX_FIXES_PER_OP`` times, or still planned after ``MAX_ROUNDS`` -- so that the caller starts again without
    them rather than keep their half-finished nest of guards.
    """

    def __init__(self, source: str, original: list[Finding], path: str, settings: Settings,
                 held_back: dict[int, str]):
        self.text, self.findings = source, original
        self.starts = self.source_starts = line_starts(source)
        self.tracked = {id(finding): _offset(self.starts, finding.start) for finding in original}  # where now
        self.failed: dict[int, str] = dict(held_back)  # offset of an op whose rewrite is dropped -> why
        self.unsettled: dict[int, str] = {}
        self.original = original
        rewrites: dict[int, int] = {}  # offset of an op -> how many of its rewrites were applied
        for _ in range(MAX_ROUNDS):
            text, starts = self.text, self.starts
            for finding in self.findings:
                if rewrites.get(_offset(starts, finding.start), 0) >= MAX_FIXES_PER_OP:
                    self._unsettled(finding, f"it was rewritten {MAX_FIXES_PER_OP} times and is still not "
                                             "provably safe to the analysis")
            if self.unsettled:
                return
            planned = _plan(text, starts, self.findings, self.failed, settings.unsafe_fixes)
            if not planned:
                return
            new_text, spans, applied, tree = _apply_round(text, starts, planned, path, settings, self.failed)
            if not spans:
                continue  # every planned fix was dropped; plan again without them
            try:
                new_findings = _analyse_again(text, self.findings, new_text, spans, tree, path, settings)
            except SourceError as error:
                if not str(error).startswith("expression nesting depth"):
                    raise
                # The rewrites nest an expression past the analysis's limit: as if they did not parse.
                for finding, _ in applied:
                    self.failed[_offset(starts, finding.start)] = f"the rewritten code cannot be analysed ({error})"
                continue
            ineffective = _ineffective(applied, spans, starts, new_findings, line_starts(new_text))
            if ineffective:
                for finding in ineffective:
                    self.failed[_offset(starts, finding.start)] = (
                        "even rewritten, the op is not provably safe to the analysis (its condition is beyond what "
                        "it can reason about), so it is left as written")
                continue  # the same round again, without them
            for finding, _ in applied:
                op = _offset(starts, finding.start)
                rewrites[op] = rewrites.get(op, 0) + 1
            mapped = _offset_map(spans)
            self.tracked = {key: mapped(offset) for key, offset in self.tracked.items()}
            self.failed = _moved(self.failed, spans)
            rewrites = _moved(rewrites, spans)
            self.text, self.starts, self.findings = new_text, line_starts(new_text), new_findings
        for finding in _plan(self.text, self.starts, self.findings, self.failed, settings.unsafe_fixes):
            self._unsettled(finding, f"its rewrites did not settle within {MAX_ROUNDS} rounds")

    def _unsettled(self, finding: Finding, reason: str) -> None:
        now = _offset(self.starts, finding.start)
        for candidate in self.original:
            if self.tracked[id(candidate)] == now and candidate.code == finding.code:
                self.unsettled[_offset(self.source_starts, candidate.start)] = reason
                return
        self.failed[now] = reason  # not an op of the original source: leave it where it is


def _plan(text: str, starts: list[int], findings: list[Finding], failed: dict[int, str],
          unsafe_fixes: bool = False) -> list[Finding]:
    lines = text.splitlines()
    planned = []
    for finding in findings:
        if finding.fix is None or _offset(starts, finding.start) in failed:
            continue
        if finding.fix.applicability != "safe" and not unsafe_fixes:
            continue
        protected = _protected_line(finding, lines)
        if protected is not None:
            failed[_offset(starts, finding.start)] = (f"the rewrite would change line {protected}, whose `# noqa` "
                                                      f"covers {finding.code}")
            continue
        planned.append(finding)
    return planned


def _protected_line(finding: Finding, lines: list[str]) -> int | None:
    """A line the fix would change whose ``# noqa`` comment suppresses the finding's code."""
    for edit in finding.fix.edits:
        if edit.start == edit.end:
            continue  # an insertion leaves the existing lines as they are
        for line in range(edit.start.line, edit.end.line + 1):
            if _suppressed(dataclasses.replace(finding, start=Position(line, 0)), lines):
                return line
    return None


def _apply_round(text: str, starts: list[int], planned: list[Finding], path: str, settings: Settings,
                 failed: dict[int, str]
                 ) -> tuple[str, list[_Span], list[tuple[Finding, list[_Span]]], ast.Module | None]:
    """Apply the innermost non-colliding fixes: the new text, the edits applied (none if all were dropped), the
    fixes they came from and CPython's syntax tree of the new text."""
    chosen = _choose(starts, planned)
    while chosen:
        spans = _merge(chosen)
        new_text = _apply(text, spans)
        error, tree = _parse_error(new_text, path, settings, _edited_lines(new_text, spans))
        if error is None:
            return new_text, spans, chosen, tree
        if len(chosen) == 1:
            failed[_offset(starts, chosen[0][0].start)] = f"the rewritten code does not parse ({error})"
            return text, [], [], None
        # Find the culprits one by one; the others go ahead together (or, if only the combination fails, the
        # first alone: the rest are planned again on its result).
        culprits = set()
        for finding, finding_spans in chosen:
            alone = _apply(text, finding_spans)
            error, _ = _parse_error(alone, path, settings, _edited_lines(alone, finding_spans))
            if error is not None:
                failed[_offset(starts, finding.start)] = f"the rewritten code does not parse ({error})"
                culprits.add(id(finding))
        chosen = [item for item in chosen if id(item[0]) not in culprits] if culprits else chosen[:1]
    return text, [], [], None


def _ineffective(applied: list[tuple[Finding, list[_Span]]], spans: list[_Span], starts: list[int],
                 new_findings: list[Finding], new_starts: list[int]) -> list[Finding]:
    """Applied fixes whose op is flagged again, by the same sink, around its rewritten input: the analysis cannot
    see that the guard helps, so applying it again and again would only nest it deeper.  (The same op flagged by
    another sink, an outer select, is a finding of its own: the rewrite did what it was for.)"""
    again = {(_offset(new_starts, finding.start), finding.code, _sink_offset(new_starts, finding))
             for finding in new_findings}
    ineffective = []
    mapped = _offset_map(spans)
    for finding, finding_spans in applied:
        if finding_spans[0].keeps is None:
            continue  # not a guard around the input: a replacement, which the next round judges afresh
        sink = _sink_offset(starts, finding)
        key = (mapped(_offset(starts, finding.start)), finding.code, None if sink is None else mapped(sink))
        if key in again:
            ineffective.append(finding)
    return ineffective


def _sink_offset(starts: list[int], finding: Finding) -> int | None:
    return None if finding.sink_start is None else _offset(starts, finding.sink_start)


def _choose(starts: list[int], planned: list[Finding]) -> list[tuple[Finding, list[_Span]]]:
    """The fixes to apply together: innermost (smallest rewritten input) first, skipping any that collide."""
    candidates = []
    for finding in planned:
        spans = [_Span(_offset(starts, edit.start), _offset(starts, edit.end), edit.text, edit.keeps)
                 for edit in finding.fix.edits]
        main = spans[0]
        candidates.append((main.end - main.start, main.start, finding, spans))
    candidates.sort(key=lambda item: (item[0], item[1]))
    chosen: list[tuple[Finding, list[_Span]]] = []
    taken: list[_Span] = []
    for _, _, finding, spans in candidates:
        if any(span.collides(other) for span in spans for other in taken):
            continue  # planned again next round, on the text this round produces
        chosen.append((finding, spans))
        taken.extend(spans)
    return chosen


def _merge(chosen: list[tuple[Finding, list[_Span]]]) -> list[_Span]:
    spans: dict[tuple[int, int, str], _Span] = {}
    for _, finding_spans in chosen:
        for span in finding_spans:
            spans.setdefault(span.key, span)
    # In text order; at one offset an insertion comes before the replacement that starts there.
    return sorted(spans.values(), key=lambda span: (span.start, span.end))


def _apply(text: str, spans: list[_Span]) -> str:
    pieces, cursor = [], 0
    for span in sorted(spans, key=lambda span: (span.start, span.end)):
        pieces.append(text[cursor:span.start])
        pieces.append(span.text)
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _moved(by_offset: dict, spans: list[_Span]) -> dict:
    """``by_offset`` with its keys where they are after ``spans`` (text the edits replaced drops out)."""
    mapped = _offset_map(spans)
    moved = ((mapped(offset), value) for offset, value in by_offset.items())
    return {offset: value for offset, value in moved if offset is not None}


def _offset_map(spans: list[_Span]):
    """``_map_offset`` for many offsets: a search among the spans (in text order) instead of a walk over them."""
    ordered = sorted(spans, key=lambda span: (span.start, span.end))
    begins = [span.start for span in ordered]
    shifts = [0]
    for span in ordered:
        shifts.append(shifts[-1] + len(span.text) - (span.end - span.start))

    def mapped(offset: int | None) -> int | None:
        if offset is None:
            return None
        count = bisect.bisect_right(begins, offset)
        if count:
            span = ordered[count - 1]
            if span.start <= offset < span.end:  # inside a replacement
                if span.keeps is None:
                    return None
                return span.start + shifts[count - 1] + span.keeps + (offset - span.start)
        return offset + shifts[count]

    return mapped


def _map_offset(offset: int | None, spans: list[_Span]) -> int | None:
    """Where text at ``offset`` is after ``spans`` were applied; None if the edits replaced it."""
    if offset is None:
        return None
    delta = 0
    for span in spans:
        if span.start == span.end:
            if span.start <= offset:
                delta += len(span.text)
            continue
        if span.end <= offset:
            delta += len(span.text) - (span.end - span.start)
        elif span.start <= offset:
            if span.keeps is None:
                return None
            return span.start + delta + span.keeps + (offset - span.start)
        else:
            break
    return offset + delta


def _parse_error(text: str, path: str, settings: Settings, edited: list[int]) -> tuple[str | None, ast.Module | None]:
    """Why the fixed ``text`` does not parse, or None; and CPython's syntax tree of it.  CPython parses it all;
    LibCST, which the next analysis needs, only the statements on the ``edited`` lines (the rest it parsed before)."""
    try:
        tree = check_syntax(text, path, nesting=False)
        if tree is None:  # only LibCST accepts the text: it has the final word on all of it
            run_with_deep_stack(lambda: cst.parse_module(text))
            return None, None
        with paused_gc():
            error = run_with_deep_stack(lambda: libcst_error(text, tree, edited))
    except SourceError as error:
        return str(error), None
    except cst.ParserSyntaxError as error:
        return f"syntax error: {error.message}", None
    return (f"syntax error: {error}" if error is not None else None), tree


def _edited_lines(text: str, spans: list[_Span]) -> list[int]:
    """The lines of ``text`` (after ``spans`` were applied) that the spans' new text covers, in order."""
    starts = line_starts(text)
    lines, shift = [], 0
    for span in sorted(spans, key=lambda span: (span.start, span.end)):
        start = span.start + shift
        end = start + len(span.text)
        lines.extend(range(bisect.bisect_right(starts, start), bisect.bisect_right(starts, end) + 1))
        shift += len(span.text) - (span.end - span.start)
    return sorted(set(lines))


def _keeps_lines(text: str, spans: list[_Span]) -> bool:
    """Whether no edit adds or removes a line break: every line outside the edited ones keeps its number."""
    return all(_line_breaks(text[span.start:span.end]) == _line_breaks(span.text) for span in spans)


def _line_breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _analyse_again(text: str, findings: list[Finding], new_text: str, spans: list[_Span], tree: ast.Module | None,
                   path: str, settings: Settings) -> list[Finding]:
    """The findings of ``new_text``, which is ``text`` (whose ``findings`` these are) with ``spans`` applied.

    Only the top-level statements and methods the edits changed are analysed again, with those their findings
    join (a finding's op and its sink can be in different ones), to a fixpoint; the others' findings are the same
    as before, when no edit adds or removes a line (an added line moves the positions in every message after it:
    then the whole module is analysed again)."""
    if tree is None or not _keeps_lines(text, spans):
        return analyse(new_text, path, settings, tree=tree)
    units = _Units(tree, _line_count(new_text))
    again = {units.of(line) for line in _edited_lines(new_text, spans)} - {None}
    joined = [{units.of(line) for line in _finding_lines(finding)} - {None} for finding in findings]
    grown = True
    while grown:
        grown = False
        for keys in joined:
            if keys & again and not keys <= again:
                again |= keys
                grown = True
    found = analyse(new_text, path, settings, tree=tree, only=lambda node: units.analysed(node, again))
    kept = [finding for finding in found if units.of(_sink_line(finding)) in again]
    carried = [finding for finding in findings if units.of(_sink_line(finding)) not in again]
    return sorted(kept + carried, key=Finding.sort_key)


def _sink_line(finding: Finding) -> int:
    return (finding.sink_start or finding.start).line


def _finding_lines(finding: Finding) -> list[int]:
    lines = [finding.start.line, _sink_line(finding)]
    if finding.fix is not None:
        for edit in finding.fix.edits:
            lines.extend((edit.start.line, edit.end.line))
    return lines


def _line_count(text: str) -> int:
    return len(line_starts(text))


class _Units:
    """What ``screen.plan`` can leave out, by line: each line's top-level statement (the first one on it), or, in
    a top-level class, its method."""

    def __init__(self, tree: ast.Module, lines: int):
        self.owner: list[tuple[int, int | None] | None] = [None] * (lines + 2)
        for index, node in enumerate(tree.body):
            self._own(node, (index, None))
            if isinstance(node, ast.ClassDef):
                for position, member in enumerate(node.body):
                    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self._own(member, (index, position), inside=True)

    def _own(self, node: ast.stmt, key: tuple[int, int | None], inside: bool = False) -> None:
        decorators = getattr(node, "decorator_list", None)
        first = decorators[0].lineno if decorators else node.lineno
        for line in range(first, min(node.end_lineno, len(self.owner) - 1) + 1):
            if inside or self.owner[line] is None:
                self.owner[line] = key

    def of(self, line: int) -> tuple[int, int | None] | None:
        return self.owner[line] if 0 < line < len(self.owner) else None

    def analysed(self, node: ast.stmt, keys: set) -> bool:
        """Whether ``plan`` should look at ``node``'s calls: its own lines' unit, or its top-level class, is in
        ``keys`` (a method nested in a class body's ``if`` belongs to the class)."""
        key = self.of(node.lineno)
        return key in keys or (key is not None and (key[0], None) in keys)


def _reason(finding: Finding, starts: list[int], failed: dict[int, str]) -> str:
    if finding.no_fix_reason is not None:
        return finding.no_fix_reason
    if finding.fix is not None and finding.fix.applicability != "safe" and _offset(starts, finding.start) not in failed:
        return UNSAFE_NOT_APPLIED
    reason = failed.get(_offset(starts, finding.start))
    if reason is not None:
        return reason
    return "no exact rewrite is known for it"


UNSAFE_NOT_APPLIED = ("its fix is unsafe (the built-in agrees with the code only up to rounding): --unsafe-fixes "
                      "applies it")


def _offset(starts: list[int], position: Position) -> int:
    return starts[position.line - 1] + position.column


# -- files --------------------------------------------------------------------------------------------------------
@dataclass
class FileFix:
    """The outcome for one file: its ``FixResult``, or an ``error`` (a TFN999 finding) when it could not be read,
    analysed or written."""

    path: str
    result: FixResult | None = None
    error: Finding | None = None
    written: bool = False
    skipped: str | None = None  # a notice: the file was deliberately not checked (too large, not a regular file)


def fix_file(path: str, settings: Settings = Settings(), write: bool = True, verify: Verify | None = None,
             explicit: bool = True) -> FileFix:
    """Fix one file; with ``write`` the file is replaced atomically when anything changed."""
    try:
        data = read_file(path, settings.max_file_size, explicit)
    except SourceError as error:
        return FileFix(path, error=_error(path, str(error)))
    except Skipped as notice:
        return FileFix(path, skipped=str(notice))
    try:
        source = decode(data)
        if is_notebook(path):
            # Only the fixed cells' source changes; outputs, metadata and the JSON layout are kept.
            try:
                result = fix_notebook(source, path, settings, verify, always_check_syntax=explicit)
            except NotebookError as error:
                return FileFix(path, error=_error(path, str(error)))
        elif not might_have_findings(data, settings.internal_modules, settings.strict):
            if explicit:
                check_syntax(source, path)
            return FileFix(path, FixResult(source, source))
        else:
            result = fix_source(source, path, settings, verify)
    except SourceError as error:
        return FileFix(path, error=_error(path, str(error), error.line, error.column))
    except RecursionError:
        return FileFix(path, error=_error(path, "too deeply nested to fix; not written"))
    except Exception as error:  # a bug: this file is reported and left as it was, the others are still fixed
        return FileFix(path, error=_error(path, f"internal error while fixing ({type(error).__name__}: {error}); "
                                                "not written, please report it with this file"))
    outcome = FileFix(path, result)
    if result.changed:
        encoding = _encoding(data)
        if source.encode(encoding) != data:
            unchanged = [Remaining(f, f"the file does not survive decoding and encoding as {encoding}; not written")
                         for f in result.fixed]
            outcome.result = FixResult(source, source, [], unchanged + result.remaining_in_source,
                                       unchanged + result.remaining_in_source)
            return outcome
        if write:
            if _read_only(path):
                return FileFix(path, error=_error(path, "read-only (no write permission bit set); not written"))
            try:
                with open(path, "rb") as handle:
                    if handle.read() != data:
                        return FileFix(path, error=_error(path, "changed on disk while being fixed; not written"))
                write_atomic(path, result.new_source.encode(encoding))
            except OSError as error:
                return FileFix(path, error=_error(path, f"cannot write: {error.strerror or error}"))
            outcome.written = True
    return outcome


def _read_only(path: str) -> bool:
    """No write permission bit: the owner marked it read-only (root could replace it; the fix does not)."""
    try:
        return not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    except OSError:
        return False  # vanished: the write reports it


def _encoding(data: bytes) -> str:
    """The codec that reproduces the file's bytes: the one Python reads it with (BOM, coding cookie, UTF-8)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return encoding


def _error(path: str, message: str, line: int = 1, column: int = 0) -> Finding:
    position = Position(max(line, 1), max(column, 0))
    return Finding(path, position, position, PARSE_ERROR_CODE, message)


def unified_diff(path: str, old: str, new: str) -> str:
    """A unified diff of one file, ``--- path`` / ``+++ path``, that ``patch -p0`` applies."""
    old_lines, new_lines = _split_lines(old), _split_lines(new)
    out = []
    for line in difflib.unified_diff(old_lines, new_lines, fromfile=path, tofile=path):
        if line.endswith(("\n", "\r")):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _split_lines(text: str) -> list[str]:
    starts = line_starts(text)
    return [text[start:end] for start, end in zip(starts, [*starts[1:], len(text)]) if start < end]


# -- the command ----------------------------------------------------------------------------------------------------
def fix_command(files: Iterable[tuple[str, bool]], settings: Settings, *, diff: bool, output_format: str = "concise",
                quiet: bool = False, exit_zero: bool = False, verify: Verify | None = None,
                out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``--fix`` (write the files) or ``--diff`` (print what would change, write nothing)."""
    from .report import render

    out, err = out or sys.stdout, err or sys.stderr
    outcomes = [fix_file(path, settings, write=not diff, verify=verify, explicit=explicit) for path, explicit in files]
    reported: list[Finding] = []
    fixed = files_fixed = remaining = 0
    for outcome in outcomes:
        if outcome.skipped is not None:
            print(f"{outcome.path}: skipped: {outcome.skipped}", file=err)
            continue
        if outcome.error is not None:
            reported.append(outcome.error)
            continue
        result = outcome.result
        if result.fixed:
            fixed += len(result.fixed)
            files_fixed += 1
        left = result.remaining_in_source if diff else result.remaining
        remaining += len(left)
        reported += [_with_reason(item) for item in left]
        if diff and result.changed:
            out.write(unified_diff(outcome.path, result.source, result.new_source))
    reported.sort(key=Finding.sort_key)
    if diff:
        err.write(render(reported, "concise"))  # stdout carries the patch alone
    else:
        out.write(render(reported, output_format, _new_lines(outcomes)))
    out.flush()
    errors = sum(1 for outcome in outcomes if outcome.error is not None)
    if not quiet:
        checked = sum(1 for outcome in outcomes if outcome.skipped is None)
        print(fix_summary(fixed, files_fixed, remaining, errors, checked, diff), file=err)
    if exit_zero:
        return EXIT_CLEAN
    if diff:
        changed = any(outcome.result is not None and outcome.result.changed for outcome in outcomes)
        return EXIT_FINDINGS if changed or errors else EXIT_CLEAN
    return EXIT_FINDINGS if remaining or errors else EXIT_CLEAN


def _with_reason(item: Remaining) -> Finding:
    """The finding, its message saying why it was not fixed (unless the message already says so)."""
    finding = item.finding
    if finding.no_fix_reason is not None:
        return finding
    return dataclasses.replace(finding, not_fixed=item.reason).rendered()


def _new_lines(outcomes: list[FileFix]):
    sources = {outcome.path: outcome.result.new_source for outcome in outcomes if outcome.result is not None}

    def lines(finding: Finding) -> list[str] | None:
        source = sources.get(finding.path)
        if source and finding.cell is not None:  # a notebook: the lines of the finding's cell
            source = cell_sources(source).get(finding.cell)
        return _split_lines(source) if source else None

    return lines


def fix_summary(fixed: int, files_fixed: int, remaining: int, errors: int, checked: int, diff: bool) -> str:
    def count(n: int, noun: str) -> str:
        return f"{n} {noun}{'s' if n != 1 else ''}"

    files = count(checked, "file")
    if not fixed and not remaining and not errors:
        return f"No problems found ({files} checked)."
    verb = "Would fix" if diff else "Fixed"
    text = f"{verb} {count(fixed, 'problem')}" + (f" in {count(files_fixed, 'file')}" if fixed else "")
    if remaining:
        would = "would " if diff else ""
        text += (f"; {count(remaining, 'problem')} {would}remain{'s' if remaining == 1 and not diff else ''}, "
                 "with no safe rewrite known (reasons above)")
    if errors:
        text += f"; {count(errors, 'file')} could not be {'checked' if diff else 'fixed'}"
    return f"{text} ({files} checked)."


def fix_stdin(data: bytes, name: str, settings: Settings, *, diff: bool, quiet: bool = False,
              exit_zero: bool = False, verify: Verify | None = None, out: TextIO | None = None,
              err: TextIO | None = None) -> int:
    """``tflint-nan --fix -`` (``--stdin-filename NAME``): the fixed source on stdout (with ``--diff``, the patch),
    the findings left on stderr. ``name`` decides the configuration that applies and, for ``.ipynb``, that the
    input is a notebook. Input that cannot be analysed is passed through unchanged and reported."""
    from .report import render

    out, err = out or sys.stdout, err or sys.stderr
    try:
        source = decode(data)
        if is_notebook(name):
            try:
                result = fix_notebook(source, name, settings, verify)
            except NotebookError as error:
                raise SourceError(str(error)) from None
        else:
            result = fix_source(source, name, settings, verify)
    except SourceError as error:
        if not diff:
            _write_bytes(out, data)
        err.write(render([_error(name, str(error), error.line, error.column)], "concise"))
        return EXIT_CLEAN if exit_zero else EXIT_FINDINGS
    if diff:
        if result.changed:
            out.write(unified_diff(name, result.source, result.new_source))
        left = result.remaining_in_source
    else:
        _write_bytes(out, result.new_source.encode(_encoding(data)) if result.changed else data)
        left = result.remaining
    out.flush()
    err.write(render(sorted((_with_reason(item) for item in left), key=Finding.sort_key), "concise"))
    if not quiet:
        print(fix_summary(len(result.fixed), 1 if result.fixed else 0, len(left), 0, 1, diff), file=err)
    if exit_zero:
        return EXIT_CLEAN
    return EXIT_FINDINGS if (result.changed if diff else left) else EXIT_CLEAN


def _write_bytes(out: TextIO, data: bytes) -> None:
    """The bytes exactly (encoding, BOM and line endings as they came), on a text stream that has a buffer."""
    out.flush()
    buffer = getattr(out, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        out.write(data.decode("utf-8", "surrogateescape"))


# -- notebooks ---------------------------------------------------------------------------------------------------
def fix_notebook(text: str, path: str, settings: Settings = Settings(), verify=None,
                 always_check_syntax: bool = True) -> FixResult:
    """``--fix`` for a notebook's JSON text: a ``FixResult`` whose sources are the notebook's JSON text
    before and after, and whose findings are located in their cells.

    Only the ``source`` of the cells that change is rewritten (``rewrite_cells``). A cell that does not parse is
    reported and left as it is; when the fixes cannot be put back into the cells, nothing changes and every
    finding remains, with the reason.
    """
    if not always_check_syntax and not might_have_findings(text.encode("utf-8", "surrogatepass"),
                                                           settings.internal_modules, settings.strict):
        return FixResult(text, text)
    notebook = load(text)
    kernel_language = language(notebook)
    if kernel_language is not None and kernel_language != "python":
        return FixResult(text, text)
    cells, errors = checked_cells(notebook, path)
    unparsed = [Remaining(replace(error, no_fix_reason="the cell does not parse"), "the cell does not parse")
                for error in errors]
    module = join_cells(cells)
    if not module or not might_have_findings(module.encode("utf-8", "surrogatepass"), settings.internal_modules,
                                                   settings.strict):
        return FixResult(text, text, [], unparsed, unparsed)
    outcome = []

    def fix_module(marked: str) -> str:
        result = fix_source(marked, path, settings, verify)
        outcome.append(result)
        return result.new_source

    try:
        new_sources = fixed_sources(cells, fix_module)
        new_text = rewrite_cells(text, new_sources) if new_sources else text
    except NotebookError as error:
        if not outcome:
            raise
        before = CellMap.of_marked(outcome[0].source)
        findings = [*outcome[0].fixed, *(item.finding for item in outcome[0].remaining_in_source)]
        kept = [Remaining(before.finding(finding), str(error)) for finding in sorted(findings, key=Finding.sort_key)]
        return FixResult(text, text, [], kept + unparsed, kept + unparsed)
    result = outcome[0]
    before, after = CellMap.of_marked(result.source), CellMap.of_marked(result.new_source)
    return FixResult(
        text, new_text,
        [before.finding(finding) for finding in result.fixed],
        [Remaining(after.finding(item.finding), item.reason) for item in result.remaining] + unparsed,
        [Remaining(before.finding(item.finding), item.reason) for item in result.remaining_in_source] + unparsed,
    )
