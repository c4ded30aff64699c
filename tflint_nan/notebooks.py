"""Jupyter notebooks: lint the code cells as one module, report each finding in its cell.

The code cells are joined in order into one module, so an import in the first cell resolves the names in
the later ones, exactly as the kernel runs them. Each cell is syntax-checked on its own first: a cell that
does not parse is reported (TFN999, in that cell) and left out, and the other cells are still checked.

IPython syntax that is not Python is skipped line by line, keeping every other line where it is: line magics
(``%matplotlib inline``), shell escapes (``!pip install ...``, ``files = !ls``), help (``tf.where?``) and their
``\\`` continuation lines. A cell magic that runs Python (``%%time``, ``%%timeit``, ``%%capture``, ...) has only
its first line skipped; any other cell magic (``%%bash``, ``%%writefile``) makes the cell not Python at all.

Findings carry the 1-based cell number (counting every cell, markdown included, as the notebook shows them)
and the line and column inside that cell.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, replace
from typing import Callable

from .finding import Edit, FileResult, Finding, Position
from .knowledge import PARSE_ERROR_CODE
from .lint import Settings, SourceError, analyse, check_syntax, might_have_findings, parse_python
from .report import source_lines

# Cell magics whose body is Python that the kernel runs.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "skip", "memit", "mprun"})
_LINE_MAGIC = re.compile(r"^\s*(?:%%?[A-Za-z_]|!(?!=)|\?)")  # not "% x" or "!= y" continuing an expression
_ASSIGNED_MAGIC = re.compile(r"^\s*[A-Za-z_][\w.,\s\[\]()]*?(?<![=!<>])=\s*[%!](?!=)")
_HELP = re.compile(r"^[^#'\"]*\?\s*$")
_FUTURE_IMPORT = re.compile(r"^from\s+__future__\s+import\b")


class NotebookError(Exception):
    """The file is not a notebook this linter can read; the message says why."""


@dataclass
class CodeCell:
    number: int  # 1-based, counting every cell
    source: str  # as stored in the notebook
    python: str | None  # the source with IPython-only lines blanked; None when the cell is not Python
    first_line: int = 0  # where the cell starts in the joined module (1-based); 0 when left out of it


def load(data: bytes | str) -> dict:
    """The notebook's JSON document; raises NotebookError."""
    try:
        notebook = json.loads(data.decode("utf-8-sig") if isinstance(data, bytes) else data)
    except UnicodeDecodeError as error:
        raise NotebookError(f"not a notebook: cannot decode as utf-8 (byte {error.start}: {error.reason})") from None
    except json.JSONDecodeError as error:
        raise NotebookError(f"not a notebook: invalid JSON at line {error.lineno} column {error.colno}: "
                            f"{error.msg}") from None
    if not isinstance(notebook, dict):
        raise NotebookError("not a notebook: the JSON document is not an object")
    if "worksheets" in notebook and "cells" not in notebook:
        raise NotebookError("nbformat 3 notebooks are not supported; convert it with "
                            "`jupyter nbconvert --to notebook --nbformat 4`")
    cells = notebook.get("cells")
    if not isinstance(cells, list) or not all(isinstance(cell, dict) for cell in cells):
        raise NotebookError("not a notebook: no list of cells")
    return notebook


def language(notebook: dict) -> str | None:
    metadata = notebook.get("metadata") or {}
    info = metadata.get("language_info") or {}
    kernel = metadata.get("kernelspec") or {}
    name = info.get("name") or kernel.get("language")
    return name.lower() if isinstance(name, str) else None


def cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def code_cells(notebook: dict) -> list[CodeCell]:
    cells = []
    for number, cell in enumerate(notebook["cells"], start=1):
        if cell.get("cell_type") == "code":
            source = cell_text(cell)
            cells.append(CodeCell(number, source, python_lines(source)))
    return cells


def python_lines(source: str) -> str | None:
    """``source`` with every IPython-only line replaced by ``pass`` at its indentation (line numbers and
    every other line unchanged), or None when a cell magic makes the whole cell another language.

    A cell that is already valid Python is returned unchanged.
    """
    try:
        parse_python(source)
        return source
    except (SyntaxError, ValueError, RecursionError, MemoryError, SystemError):
        pass
    lines = source_lines(source)
    first = next((index for index, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].lstrip()[2:].split(None, 1)
        if not magic or magic[0] not in PYTHON_CELL_MAGICS:
            return None
        lines[first] = _blank(lines[first], "")
    continuation_indent = None
    for index, line in enumerate(lines):
        if continuation_indent is not None:
            lines[index] = _blank(line, continuation_indent)
        elif _is_ipython_only(line):
            continuation_indent = line[: len(line) - len(line.lstrip())]
            lines[index] = _blank(line, continuation_indent)
        else:
            continue
        continuation_indent = continuation_indent if line.rstrip("\r\n").endswith("\\") else None
    return "".join(lines)


def _is_ipython_only(line: str) -> bool:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return False
    return bool(_LINE_MAGIC.match(line) or _ASSIGNED_MAGIC.match(line) or _HELP.match(stripped))


def _blank(line: str, indent: str) -> str:
    ending = line[len(line.rstrip("\r\n")):] or ""
    return f"{indent}pass{ending}"


def join_cells(cells: list[CodeCell]) -> str:
    """The module the kernel effectively runs: the Python cells in order, each starting on a new line.

    ``from __future__`` imports, legal in any cell, are blanked after the first cell that has code.
    """
    parts: list[str] = []
    line = 1
    for cell in cells:
        if cell.python is None:
            cell.first_line = 0
            continue
        text = cell.python if cell.python.endswith("\n") or not cell.python else cell.python + "\n"
        if parts:
            text = "".join(
                _blank(row, "") if _FUTURE_IMPORT.match(row) else row for row in source_lines(text)
            )
        cell.first_line = line
        parts.append(text)
        line += text.count("\n")
    return "".join(parts)


class CellMap:
    """Maps lines of the joined module back to (cell number, line in the cell)."""

    def __init__(self, starts: list[tuple[int, int]], lead: int = 0):
        # (first line, cell number) in ascending order; ``lead`` lines above the first start belong to the first
        # cell too (what a fix inserted above the first boundary comment)
        self._starts = starts
        self._lead = lead

    @classmethod
    def of_cells(cls, cells: list[CodeCell]) -> CellMap:
        return cls([(cell.first_line, cell.number) for cell in cells if cell.first_line])

    @classmethod
    def of_marked(cls, module: str) -> CellMap:
        """For a module with a boundary comment before each cell (see ``fixed_sources``)."""
        starts = [
            (index + 2, int(match.group(1)))
            for index, line in enumerate(source_lines(module))
            for match in [_BOUNDARY_LINE.match(line)] if match
        ]
        return cls(starts, lead=starts[0][0] - 2 if starts else 0)

    def locate(self, line: int) -> tuple[int, int]:
        first_start, first_number = self._starts[0]
        if line < first_start:
            return first_number, line
        cell_number, first = first_number, first_start
        for start, number in self._starts:
            if start > line:
                break
            cell_number, first = number, start
        return cell_number, line - first + 1 + (self._lead if cell_number == first_number else 0)

    def position(self, position: Position) -> tuple[int, Position]:
        cell, line = self.locate(position.line)
        return cell, Position(line, position.column)

    def finding(self, finding: Finding) -> Finding:
        cell, start = self.position(finding.start)
        end_cell, end = self.position(finding.end)
        if end_cell != cell:
            end = Position(start.line, start.column)
        fix = finding.fix
        if fix is not None:
            edits = []
            for edit in fix.edits:
                edit_cell, edit_start = self.position(edit.start)
                edit_end_cell, edit_end = self.position(edit.end)
                if edit_cell != cell or edit_end_cell != cell:
                    edits = None
                    break
                edits.append(Edit(edit_start, edit_end, edit.text))
            fix = replace(fix, edits=tuple(edits)) if edits is not None else None

        sink_cell, sink_start, sink_end = cell, finding.sink_start, finding.sink_end
        if sink_start is not None:
            sink_cell, sink_start = self.position(sink_start)
            _, sink_end = self.position(finding.sink_end or finding.sink_start)
        return replace(finding, start=start, end=end, fix=fix, cell=cell, sink_start=sink_start, sink_end=sink_end,
                       sink_cell=sink_cell).rendered()


def lint_notebook(data: bytes, path: str, settings: Settings = Settings(),
                  always_check_syntax: bool = True) -> FileResult:
    """Findings for one notebook file's bytes: each in its cell; a cell that does not parse is a TFN999."""
    result = FileResult(path)
    if not might_have_findings(data, settings.internal_modules, settings.strict) and not always_check_syntax:
        return result
    try:
        notebook = load(data)
    except NotebookError as error:
        result.error = Finding(path, Position(1, 0), Position(1, 0), PARSE_ERROR_CODE, str(error))
        return result
    kernel_language = language(notebook)
    if kernel_language is not None and kernel_language != "python":
        result.skipped = f"a {kernel_language} notebook, not Python"
        return result
    cells, findings = checked_cells(notebook, path)
    module = join_cells(cells)
    if module and might_have_findings(module.encode("utf-8", "surrogatepass"), settings.internal_modules,
                                                 settings.strict):
        cell_map = CellMap.of_cells(cells)
        try:
            findings.extend(cell_map.finding(finding) for finding in analyse(module, path, settings))
        except SourceError as error:
            cell, line = cell_map.locate(error.line)
            findings.append(_cell_error(path, cell, SourceError(str(error), line, error.column)))
    result.findings = sorted(findings, key=Finding.sort_key)
    return result


def checked_cells(notebook: dict, path: str) -> tuple[list[CodeCell], list[Finding]]:
    """The code cells, with those that do not parse left out of the module (``python`` None) and reported."""
    cells = code_cells(notebook)
    errors = []
    for cell in cells:
        if cell.python is None:
            continue
        try:
            check_syntax(cell.python, path)
        except SourceError as error:
            errors.append(_cell_error(path, cell.number, error))
            cell.python = None
    return cells, errors


def _cell_error(path: str, cell: int, error: SourceError) -> Finding:
    position = Position(max(error.line, 1), max(error.column, 0))
    return Finding(path, position, position, PARSE_ERROR_CODE, str(error), cell=cell)


def cell_sources(data: bytes | str) -> dict[int, str]:
    """Each code cell's source by cell number (for showing the source line of a finding)."""
    return {cell.number: cell.source for cell in code_cells(load(data))}


# -- fixing cells ------------------------------------------------------------------------------------------------------

_BOUNDARY = "# tflint-nan: cell {number}\n"
_BOUNDARY_LINE = re.compile(r"^# tflint-nan: cell (\d+)\n", re.MULTILINE)


def fixed_sources(cells: list[CodeCell], fix_module: Callable[[str], str]) -> dict[int, str]:
    """The new source of every cell that ``fix_module`` changed, by cell number.

    The cells are fixed together, as the one module they form (so fixes see every import), with a boundary
    comment before each; the fixed module is split at those comments, and the IPython lines that were blanked
    for the analysis are put back where they were.
    """
    joined = join_cells(cells)
    included = [cell for cell in cells if cell.first_line]
    if not included:
        return {}
    joined_lines = source_lines(joined)
    before = {}
    for index, cell in enumerate(included):
        end = included[index + 1].first_line - 1 if index + 1 < len(included) else len(joined_lines)
        before[cell.number] = "".join(joined_lines[cell.first_line - 1:end])
    marked = "".join(_BOUNDARY.format(number=cell.number) + before[cell.number] for cell in included)
    fixed = fix_module(marked)
    if fixed == marked:
        return {}
    parts = _BOUNDARY_LINE.split(fixed)
    # parts: [text before the first boundary, number, text, number, text, ...]
    after = {int(number): text for number, text in zip(parts[1::2], parts[2::2])}
    if sorted(after) != sorted(before):
        raise NotebookError("the fixes moved a cell boundary; the notebook was not changed")
    after[included[0].number] = parts[0] + after[included[0].number]  # an import added above the first cell
    changed = {}
    for cell in included:
        if after[cell.number] != before[cell.number]:
            changed[cell.number] = _restore_ipython_lines(cell.source, before[cell.number], after[cell.number])
    return changed


def _restore_ipython_lines(original: str, before: str, after: str) -> str:
    """``after`` (the fixed form of ``before``, the cell as analysed) with the cell's own lines where
    ``before`` had blanked them."""
    original_lines = source_lines(original)
    before_lines = source_lines(before)
    after_lines = source_lines(after)
    result: list[str] = []
    matcher = difflib.SequenceMatcher(None, before_lines, after_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            result += original_lines[i1:i2]
            continue
        if any(before_lines[i].rstrip("\n") != original_lines[i].rstrip("\n") for i in range(i1, i2)):
            raise NotebookError("a fix changed an IPython line; the notebook was not changed")
        result += after_lines[j1:j2]
    text = "".join(line if line.endswith("\n") or index == len(result) - 1 else line + "\n"
                   for index, line in enumerate(result))
    if not original.endswith("\n") and text.endswith("\n"):
        text = text[:-1]
    return text


# -- rewriting cells in place ----------------------------------------------------------------------------------------

_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NON_ASCII_ESCAPE = re.compile(r"\\u(?!00[0-7])[0-9a-fA-F]{4}")


def rewrite_cells(text: str, sources: dict[int, str]) -> str:
    """The notebook's JSON text with the sources of the given cells (by number) replaced, and every other
    character kept: outputs, metadata, key order, indentation and escaping stay exactly as the file had them."""
    spans = source_spans(text)
    # Jupyter writes non-ASCII characters as they are; a file whose writer escaped them keeps escaping them.
    ascii_only = text.isascii() and _NON_ASCII_ESCAPE.search(text) is not None
    pieces, cursor = [], 0
    for number in sorted(sources):
        start, end = spans[number]
        pieces += [text[cursor:start], _serialize_like(text, start, end, sources[number], ascii_only)]
        cursor = end
    pieces.append(text[cursor:])
    rewritten = "".join(pieces)
    cells = json.loads(rewritten)["cells"]
    if any(cell_text(cells[number - 1]) != source for number, source in sources.items()):
        raise NotebookError("rewriting the cells did not give the intended sources")  # never silently corrupt
    return rewritten


def source_spans(text: str) -> dict[int, tuple[int, int]]:
    """Where each cell's ``source`` value lies in the notebook's JSON text: cell number -> (start, end)."""
    top = _skip(text, 0)
    spans: dict[int, tuple[int, int]] = {}
    for key, start, _ in _members(text, top):
        if key != "cells":
            continue
        for number, (cell_start, _) in enumerate(_elements(text, start), start=1):
            for cell_key, value_start, value_end in _members(text, cell_start):
                if cell_key == "source":
                    spans[number] = (value_start, value_end)
    return spans


def _skip(text: str, index: int) -> int:
    return _WHITESPACE.match(text, index).end()


def _members(text: str, index: int) -> list[tuple[str, int, int]]:
    """(key, value start, value end) of the JSON object that starts at ``index``."""
    if text[index] != "{":
        raise NotebookError("not a notebook: expected a JSON object")
    members = []
    index = _skip(text, index + 1)
    if text[index] == "}":
        return members
    while True:
        key, index = json.decoder.scanstring(text, index + 1)
        index = _skip(text, index)
        index = _skip(text, index + 1)  # past the colon
        _, end = _DECODER.raw_decode(text, index)
        members.append((key, index, end))
        index = _skip(text, end)
        if text[index] == "}":
            return members
        index = _skip(text, index + 1)  # past the comma


def _elements(text: str, index: int) -> list[tuple[int, int]]:
    """(start, end) of each element of the JSON array that starts at ``index``."""
    elements = []
    index = _skip(text, index + 1)
    if text[index] == "]":
        return elements
    while True:
        _, end = _DECODER.raw_decode(text, index)
        elements.append((index, end))
        index = _skip(text, end)
        if text[index] == "]":
            return elements
        index = _skip(text, index + 1)


def _serialize_like(text: str, start: int, end: int, source: str, ascii_only: bool) -> str:
    """``source`` as a JSON value laid out like the one at text[start:end] (a string, or a list of lines)."""
    if text[start] == '"':
        return json.dumps(source, ensure_ascii=ascii_only)
    lines = source.splitlines(keepends=True)
    if not lines:
        return "[]"
    old = _elements(text, start)
    if old:
        opening = text[start + 1:old[0][0]]
        between = text[old[0][1]:old[1][0]] if len(old) > 1 else "," + opening
        closing = text[old[-1][1]:end - 1]
    else:  # an empty list before: nbformat's own layout, one level deeper than the key
        line_start = text.rfind("\n", 0, start) + 1
        indent = text[line_start:start][: len(text[line_start:start]) - len(text[line_start:start].lstrip())]
        opening, closing = "\n" + indent + " ", "\n" + indent
        between = "," + opening
    return "[" + opening + between.join(json.dumps(line, ensure_ascii=ascii_only) for line in lines) + closing + "]"
