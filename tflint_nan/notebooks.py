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

import ast
import json
import re
from dataclasses import dataclass, replace

from .finding import Edit, FileResult, Finding, Fix, Position
from .knowledge import PARSE_ERROR_CODE
from .lint import Settings, SourceError, analyse, check_syntax, might_have_findings

# Cell magics whose body is Python that the kernel runs.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "skip", "memit", "mprun"})
_LINE_MAGIC = re.compile(r"^\s*(?:%%?[A-Za-z_]|!(?!=)|\?)")  # not "% x" or "!= y" continuing an expression
_ASSIGNED_MAGIC = re.compile(r"^\s*[A-Za-z_][\w.,\s\[\]()]*?(?<![=!<>])=\s*[%!](?!=)")
_HELP = re.compile(r"^[^#'\"]*\?\s*$")
_FUTURE_IMPORT = re.compile(r"^from\s+__future__\s+import\b")
_SELECT_LINE_REFERENCE = re.compile(r" \(line (\d+)\)")


class NotebookError(Exception):
    """The file is not a notebook this linter can read; the message says why."""


@dataclass
class CodeCell:
    number: int  # 1-based, counting every cell
    source: str  # as stored in the notebook
    python: str | None  # the source with IPython-only lines blanked; None when the cell is not Python
    first_line: int = 0  # where the cell starts in the joined module (1-based); 0 when left out of it


def load(data: bytes) -> dict:
    """The notebook's JSON document; raises NotebookError."""
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
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
        ast.parse(source)
        return source
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    lines = source.splitlines(keepends=True)
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
                _blank(row, "") if _FUTURE_IMPORT.match(row) else row for row in text.splitlines(keepends=True)
            )
        cell.first_line = line
        parts.append(text)
        line += text.count("\n")
    return "".join(parts)


class CellMap:
    """Maps lines of the joined module back to (cell number, line in the cell)."""

    def __init__(self, cells: list[CodeCell]):
        self._starts = [(cell.first_line, cell.number) for cell in cells if cell.first_line]

    def locate(self, line: int) -> tuple[int, int]:
        cell_number, first = self._starts[0][1], self._starts[0][0]
        for start, number in self._starts:
            if start > line:
                break
            cell_number, first = number, start
        return cell_number, line - first + 1

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

        def select_line(match: re.Match) -> str:
            select_cell, select_line_number = self.locate(int(match.group(1)))
            if select_cell == cell:
                return f" (line {select_line_number})"
            return f" (cell {select_cell}, line {select_line_number})"

        message = _SELECT_LINE_REFERENCE.sub(select_line, finding.message)
        return replace(finding, start=start, end=end, message=message, fix=fix, cell=cell)


def lint_notebook(data: bytes, path: str, settings: Settings = Settings(),
                  always_check_syntax: bool = True) -> FileResult:
    """Findings for one notebook file's bytes: each in its cell; a cell that does not parse is a TFN999."""
    result = FileResult(path)
    if not might_have_findings(data) and not always_check_syntax:
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
    cells = code_cells(notebook)
    findings: list[Finding] = []
    for cell in cells:
        if cell.python is None:
            continue
        try:
            check_syntax(cell.python, path)
        except SourceError as error:
            findings.append(_cell_error(path, cell.number, error))
            cell.python = None
    module = join_cells(cells)
    if module and might_have_findings(module.encode("utf-8", "surrogatepass")):
        cell_map = CellMap(cells)
        try:
            findings.extend(cell_map.finding(finding) for finding in analyse(module, path, settings))
        except SourceError as error:
            cell, line = cell_map.locate(error.line)
            findings.append(_cell_error(path, cell, SourceError(str(error), line, error.column)))
    result.findings = sorted(findings, key=Finding.sort_key)
    return result


def _cell_error(path: str, cell: int, error: SourceError) -> Finding:
    position = Position(max(error.line, 1), max(error.column, 0))
    return Finding(path, position, position, PARSE_ERROR_CODE, str(error), cell=cell)


def cell_sources(data: bytes) -> dict[int, str]:
    """Each code cell's source by cell number (for showing the source line of a finding)."""
    return {cell.number: cell.source for cell in code_cells(load(data))}
