"""Document text for the language server: lines, positions in the client's encoding, and edits.

The linter counts lines from 1 and columns in characters (code points); the Language Server Protocol counts both
from 0, and columns in code units of the negotiated encoding: UTF-16 unless client and server agree on UTF-8 (or
UTF-32).  Lines end at ``\\n``, ``\\r\\n`` or ``\\r`` for both the protocol and Python, and for nothing else (a form
feed or U+2028 does not end a line), which is why this module splits lines itself instead of using
``str.splitlines``.

Nothing here imports the protocol library: these functions work on offsets (indexes into the text, in characters)
and ``(line, character)`` pairs.
"""

from __future__ import annotations

import bisect
import difflib
import io
import re
import tokenize
from typing import NamedTuple

from ..finding import Position

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def code_units(text: str, encoding: str) -> int:
    """The length of ``text`` in the encoding's code units (lone surrogates, which a client may send, count as
    one UTF-16 unit and three UTF-8 bytes rather than failing)."""
    if encoding == UTF16:
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text)


def _characters_within(text: str, units: int, encoding: str) -> int:
    """How many characters of ``text`` fit in ``units`` code units (a position inside a character, such as
    between the two halves of a surrogate pair, moves to the character's end)."""
    if encoding == UTF32 or units <= 0:
        return max(0, min(units, len(text)))
    if text.isascii():
        return min(units, len(text))
    counted = 0
    for index, char in enumerate(text):
        if counted >= units:
            return index
        counted += code_units(char, encoding)
    return len(text)


class LineIndex:
    """Where each line of a text starts, to convert between offsets, linter positions and protocol positions."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]

    def line_end(self, line: int) -> int:
        """The offset where 0-based ``line``'s content ends (before its line break)."""
        if line + 1 < len(self.starts):
            end = self.starts[line + 1]
            end -= 2 if self.text.startswith("\r\n", end - 2) else 1
            return end
        return len(self.text)

    def offset(self, line: int, character: int, encoding: str) -> int:
        """The offset of a protocol position; past the end of its line it means the line's end, past the last line
        the end of the text (as the protocol asks servers to read out-of-range positions)."""
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.text)
        start = self.starts[line]
        content = self.text[start:self.line_end(line)]
        return start + _characters_within(content, character, encoding)

    def position(self, offset: int, encoding: str) -> tuple[int, int]:
        """The protocol position ``(line, character)`` of an offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        return line, code_units(self.text[start:min(offset, self.line_end(line))], encoding)

    def offset_of(self, position: Position) -> int:
        """The offset of a linter position (1-based line, column in characters), clamped to the text."""
        line = position.line - 1
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.text)
        return min(self.starts[line] + max(position.column, 0), self.line_end(line))


class TextEdit(NamedTuple):
    """Replace ``text[start:end]`` (offsets) with ``new_text``."""

    start: int
    end: int
    new_text: str


def apply_edits(text: str, edits: list[TextEdit]) -> str:
    """``text`` with non-overlapping ``edits`` applied."""
    pieces, cursor = [], 0
    for edit in sorted(edits, key=lambda edit: (edit.start, edit.end)):
        pieces += [text[cursor:edit.start], edit.new_text]
        cursor = edit.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def line_edits(old: str, new: str) -> list[TextEdit]:
    """Edits that turn ``old`` into ``new``, each replacing whole lines (a fix-all rewrites a few expressions; the
    lines between them, and the cursor and folds on them, stay where they are)."""
    if old == new:
        return []
    old_index = LineIndex(old)
    old_lines = _lines(old, old_index.starts)
    new_lines = _lines(new, LineIndex(new).starts)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    offsets = old_index.starts[:len(old_lines)] + [len(old)]
    return [TextEdit(offsets[i1], offsets[i2], "".join(new_lines[j1:j2]))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _lines(text: str, starts: list[int]) -> list[str]:
    """The lines of ``text`` with their line breaks (no empty last line)."""
    ends = starts[1:] + [len(text)]
    return [text[start:end] for start, end in zip(starts, ends) if start < end]


def commentable_lines(text: str) -> frozenset[int] | None:
    """The 1-based lines whose end is outside any string and not a line continuation, where a ``# noqa`` comment
    can go; None when the text does not tokenize."""
    lines = set()
    try:
        # newline=None: "\r" alone ends a line for the tokenizer too, so line numbers agree with LineIndex's
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT):
                lines.add(token.start[0])
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return frozenset(lines)


def noqa_edit(index: LineIndex, line: int, code: str, noqa_pattern: re.Pattern) -> TextEdit | None:
    """The edit that adds ``code`` to the ``# noqa`` comment of 1-based ``line``: appended to the codes of an
    existing ``# noqa: ...``, else a new ``  # noqa: CODE`` at the end of the line.  None when a bare ``# noqa``
    already covers every code."""
    start, end = index.starts[line - 1], index.line_end(line - 1)
    content = index.text[start:end]
    match = noqa_pattern.search(content)
    if match is not None:
        if not match.group("codes"):
            return None
        at = start + match.end("codes")
        return TextEdit(at, at, f", {code}")
    kept = len(content.rstrip())
    return TextEdit(start + kept, end, f"  # noqa: {code}")


def apply_content_change(text: str, index: LineIndex, start: tuple[int, int] | None, end: tuple[int, int] | None,
                         new_text: str, encoding: str) -> str:
    """``text`` after one ``didChange`` content change: a range (protocol positions) replaced, or the whole text
    when there is no range."""
    if start is None or end is None:
        return new_text
    first = index.offset(*start, encoding)
    last = index.offset(*end, encoding)
    if last < first:
        first, last = last, first
    return text[:first] + new_text + text[last:]
