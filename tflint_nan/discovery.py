"""Which files to lint: the paths given, with directories walked for Python files."""

from __future__ import annotations

import os
from typing import Iterable, Iterator

# Directories that never hold the user's own code.
SKIPPED_DIRECTORIES = frozenset({
    ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", ".eggs", "__pycache__", "build", "dist",
    "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tflint_nan_cache", "site-packages",
})
PYTHON_SUFFIXES = (".py", ".pyi")


def _is_skipped(directory: str, name: str) -> bool:
    if name in SKIPPED_DIRECTORIES or name.endswith(".egg-info"):
        return True
    # Any virtualenv, whatever its name.
    return os.path.isfile(os.path.join(directory, name, "pyvenv.cfg"))


def iter_files(paths: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """(file, named explicitly) in a stable order: files as given, directories walked (symlinks not followed)."""
    seen: set[str] = set()
    for path in paths:
        if os.path.isdir(path):
            for root, directories, files in os.walk(path):
                directories[:] = sorted(d for d in directories if not _is_skipped(root, d))
                for name in sorted(files):
                    if name.endswith(PYTHON_SUFFIXES):
                        candidate = os.path.join(root, name)
                        if candidate not in seen:
                            seen.add(candidate)
                            yield candidate, False
        elif path not in seen:
            seen.add(path)
            yield path, True  # explicit files are linted whatever their name; a missing one becomes a TFN999 line
