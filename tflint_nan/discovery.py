"""Which files to lint: the paths given, with directories walked for Python files and notebooks."""

from __future__ import annotations

import os
from typing import Iterable, Iterator

from .excludes import ALWAYS_SKIPPED_DIRECTORIES, ExcludeRules, GitIgnore

# Directories that never hold the user's own code.
SKIPPED_DIRECTORIES = frozenset({
    ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", ".eggs", "__pycache__", "build", "dist",
    "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tflint_nan_cache", "site-packages",
    ".ipynb_checkpoints",
})
PYTHON_SUFFIXES = (".py", ".pyi")
NOTEBOOK_SUFFIXES = (".ipynb",)


def _is_skipped(directory: str, name: str, excludes: ExcludeRules | None = None,
                gitignore: GitIgnore | None = None, top: str | None = None) -> bool:
    path = os.path.join(directory, name)
    if excludes is None:
        if name in SKIPPED_DIRECTORIES or name.endswith(".egg-info"):
            return True
    elif name in ALWAYS_SKIPPED_DIRECTORIES or excludes.excluded(path, True, top):
        return True
    if gitignore is not None and gitignore.ignored(path, True):
        return True
    # Any virtualenv, whatever its name.
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def _is_excluded_file(directory: str, name: str, excludes: ExcludeRules | None, gitignore: GitIgnore | None,
                      top: str) -> bool:
    if excludes is not None and excludes.excluded_file(directory, name, top):
        return True
    return gitignore is not None and gitignore.ignored(os.path.join(directory, name), False)


def iter_files(paths: Iterable[str], excludes: ExcludeRules | None = None) -> Iterator[tuple[str, bool]]:
    """(file, named explicitly) in a stable order: files as given, directories walked (symlinks not followed).

    Without ``excludes`` the built-in directory names are skipped; with them, the configured globs and (when
    they say so) ``.gitignore`` files decide, and with ``force_exclude`` the globs apply to named files too.
    """
    seen: set[str] = set()
    for path in paths:
        if os.path.isdir(path):
            gitignore = GitIgnore(path) if excludes is not None and excludes.respect_gitignore else None
            # A directory that cannot be listed is passed on like a file: reading it fails, and the reason is
            # reported (TFN999) instead of its files silently going unchecked.
            unlisted: list[OSError] = []
            for root, directories, files in os.walk(path, onerror=unlisted.append):
                yield from _unlisted(unlisted, seen)
                if gitignore is not None:
                    gitignore.enter(root)
                directories[:] = sorted(d for d in directories if not _is_skipped(root, d, excludes, gitignore, path))
                for name in sorted(files):
                    if name.endswith(PYTHON_SUFFIXES + NOTEBOOK_SUFFIXES):
                        candidate = os.path.join(root, name)
                        if candidate not in seen and not _is_excluded_file(root, name, excludes, gitignore, path):
                            seen.add(candidate)
                            yield candidate, False
            yield from _unlisted(unlisted, seen)
        elif path not in seen:
            seen.add(path)
            if excludes is not None and excludes.force_exclude and path != "-" and (
                excludes.explicitly_named_excluded(path)
            ):
                continue
            yield path, True  # explicit files are linted whatever their name; a missing one becomes a TFN999 line


def _unlisted(errors: list[OSError], seen: set[str]) -> Iterator[tuple[str, bool]]:
    while errors:
        error = errors.pop(0)
        if error.filename is not None and error.filename not in seen:
            seen.add(error.filename)
            yield os.fsdecode(error.filename), False
