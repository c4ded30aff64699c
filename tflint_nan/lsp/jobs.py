"""What the language server's worker processes run: lint or fix one document's text.

The analysis runs in worker processes, not threads of the server: it raises the recursion limit and the thread
stack size for the whole process while it runs (``lint.run_with_deep_stack``), which must not leak into the
server's own threads, and a worker that crashes or hangs on a pathological file can be replaced without the
server going down.

``generation`` counts the changes the server has seen to the project's files on disk; when it moves on, the
modules of the project that a worker read (to follow re-exports of TensorFlow) are read again.
"""

from __future__ import annotations

import json

from ..finding import FileResult
from ..lint import Settings, SourceError, lint_source

_seen_generation = 0


def _forget_project_modules_if_changed(generation: int) -> None:
    global _seen_generation
    if generation != _seen_generation:
        from ..project import forget_project_caches

        forget_project_caches()
        _seen_generation = generation


def warm_up() -> None:
    """Import what an analysis needs, so that the first document opened does not wait for it."""
    import libcst  # noqa: F401

    from .. import analysis, fix, focus, notebooks  # noqa: F401


def lint_text(text: str, path: str, settings: Settings, generation: int) -> FileResult:
    """The findings of a Python document, or its TFN999 error (``# noqa`` and the settings applied)."""
    _forget_project_modules_if_changed(generation)
    return lint_source(text, path, settings, always_check_syntax=True)


def fix_text(text: str, path: str, settings: Settings, generation: int) -> str | None:
    """The document with every exact rewrite applied; None when it cannot be analysed."""
    _forget_project_modules_if_changed(generation)
    from ..fix import fix_source

    try:
        return fix_source(text, path, settings).new_source
    except SourceError:
        return None


def notebook_json(cells: list[tuple[bool, str]]) -> str:
    """A notebook holding ``cells`` ((is Python code, text) each, in order), for the notebook reader.

    Cells that are not Python code (markdown, or code in another language) are kept as markdown cells, so that
    the reader numbers the cells exactly as the client's list does.
    """
    return json.dumps({
        "cells": [{"cell_type": "code" if is_code else "markdown", "metadata": {}, "source": text,
                   **({"outputs": [], "execution_count": None} if is_code else {})}
                  for is_code, text in cells],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    })


def lint_cells(cells: list[tuple[bool, str]], path: str, settings: Settings, generation: int) -> FileResult:
    """The findings of a notebook's cells, each with its 1-based cell number and position in that cell."""
    _forget_project_modules_if_changed(generation)
    from ..notebooks import lint_notebook

    return lint_notebook(notebook_json(cells).encode("utf-8", "surrogatepass"), path, settings.for_path(path), True)


def fix_cells(cells: list[tuple[bool, str]], path: str, settings: Settings, generation: int) -> dict[int, str]:
    """The new source of each cell the exact rewrites change, by 1-based cell number."""
    _forget_project_modules_if_changed(generation)
    from ..fix import fix_notebook
    from ..notebooks import NotebookError, cell_sources

    try:
        result = fix_notebook(notebook_json(cells), path, settings)
    except (SourceError, NotebookError):
        return {}
    if not result.changed:
        return {}
    after = cell_sources(result.new_source)
    return {number: source for number, source in after.items() if source != cells[number - 1][1]}


JOBS = {function.__name__: function for function in (warm_up, lint_text, fix_text, lint_cells, fix_cells)}
