"""Lint one file of any kind tflint-nan reads: Python source (``lint``), or a Jupyter notebook, cell by cell
(``notebooks``)."""

from __future__ import annotations

from .finding import FileResult
from .lint import Settings, Skipped, SourceError, _error, is_notebook, lint_python, read_file
from .notebooks import lint_notebook


def lint_bytes(data: bytes, path: str, settings: Settings = Settings(), always_check_syntax: bool = True,
               exhaustive: bool = False) -> FileResult:
    """A file's bytes, read as a notebook when its name ends in ``.ipynb``, else as Python.  ``exhaustive``: no
    shortcuts (every file with a select word analysed, every statement in LibCST); the findings are the same, the
    tests and the benchmark check that."""
    if is_notebook(path):
        return lint_notebook(data, path, settings.for_path(path), always_check_syntax)
    return lint_python(data, path, settings, always_check_syntax, exhaustive)


def lint_path(path: str, settings: Settings = Settings(), always_check_syntax: bool = True,
              exhaustive: bool = False) -> FileResult:
    """Lint one file.  Files with no select-call word cannot have findings: they are only syntax-checked, and
    only when ``always_check_syntax`` (files named on the command line; directory walks skip that cost)."""
    try:
        data = read_file(path, settings.max_file_size, explicit=always_check_syntax)
    except SourceError as error:
        return FileResult(path, error=_error(path, error))
    except Skipped as notice:
        return FileResult(path, skipped=str(notice))
    return lint_bytes(data, path, settings, always_check_syntax, exhaustive)
