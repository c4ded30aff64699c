"""Which paths are left out: configured exclude globs, ``.gitignore`` files, and per-file ignores.

Every glob uses git's wildmatch rules (``pathspec``), relative to the project root (the directory of the
configuration file, or the working directory without one): ``generated/`` excludes every directory of that
name, ``/generated/`` only the one at the root, ``tests/**`` everything below ``tests``, ``*_pb2.py`` every
file of that name.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

import pathspec

# Never the user's code, whatever the configured excludes say.
ALWAYS_SKIPPED_DIRECTORIES = frozenset({".git", ".hg", ".svn"})


def _wildmatch(patterns) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


@functools.lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> pathspec.PathSpec:
    return _wildmatch(patterns)


def relative_to_root(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` with ``/`` separators, or None when it lies outside the root."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, root)
    except ValueError:  # another drive on Windows
        return None
    if relative == os.curdir:
        return ""
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return relative.replace(os.sep, "/")


def matching_per_file_ignores(per_file_ignores: tuple[tuple[str, frozenset[str]], ...], root: str,
                              path: str) -> frozenset[str]:
    """The codes that the per-file-ignores globs matching ``path`` switch off.

    A file outside the project root is matched by its name alone, so ``*_test.py`` still applies to it.
    """
    relative = relative_to_root(path, root or os.getcwd())
    candidate = relative if relative is not None else os.path.basename(path)
    codes: set[str] = set()
    for pattern, pattern_codes in per_file_ignores:
        if _compiled((pattern,)).match_file(candidate):
            codes |= pattern_codes
    return frozenset(codes)


@dataclass(frozen=True)
class ExcludeRules:
    """The configured exclude globs (``exclude`` plus ``extend-exclude``) and whether ``.gitignore`` counts."""

    patterns: tuple[str, ...]
    root: str
    respect_gitignore: bool = True
    force_exclude: bool = False  # apply the globs to files named explicitly too
    _spec: pathspec.PathSpec = field(init=False, repr=False, compare=False)
    # Every glob names directories (``build/``) and none re-includes (``!``): whether a file is excluded then
    # depends only on its directory, and is answered once per directory (``excluded_file``).
    _directories_only: bool = field(init=False, repr=False, compare=False)
    _by_directory: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_spec", _wildmatch(self.patterns))
        globs = [pattern.strip() for pattern in self.patterns]
        object.__setattr__(self, "_directories_only", all(
            glob.endswith("/") and not glob.startswith(("!", "\\")) for glob in globs if glob and glob[0] != "#"))
        object.__setattr__(self, "_by_directory", {})

    def excluded(self, path: str, is_directory: bool, walk_top: str | None = None) -> bool:
        """Whether a configured glob matches ``path`` (relative to the root; outside it, to ``walk_top``)."""
        relative = relative_to_root(path, self.root)
        if relative is None and walk_top is not None:
            relative = relative_to_root(path, os.path.abspath(walk_top))
        if not relative:
            return False
        return self._spec.match_file(relative + "/" if is_directory else relative)

    def excluded_file(self, directory: str, name: str, walk_top: str | None = None) -> bool:
        """``excluded(os.path.join(directory, name), False, walk_top)``; with globs that all name directories, asked
        once per directory (a directory's glob cannot match a file's own name, which no ``/`` follows)."""
        if not self._directories_only:
            return self.excluded(os.path.join(directory, name), False, walk_top)
        key = (directory, walk_top)
        answer = self._by_directory.get(key)
        if answer is None:
            answer = self._by_directory[key] = self.excluded(os.path.join(directory, "_"), False, walk_top)
        return answer

    def explicitly_named_excluded(self, path: str) -> bool:
        """With --force-exclude: the file, or a directory above it inside the root, matches an exclude glob.

        A file outside the project root is matched by its name alone.
        """
        relative = relative_to_root(path, self.root)
        if relative is None:
            return bool(self._spec.match_file(os.path.basename(path)))
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            if self._spec.match_file("/".join(parts[:depth]) + "/"):
                return True
        return bool(self._spec.match_file(relative))


class GitIgnore:
    """The ``.gitignore`` files that apply while walking one directory tree, deepest first when matching.

    Ancestors' ``.gitignore`` files count up to the repository root (the nearest directory with ``.git``,
    whose ``.git/info/exclude`` counts too); outside a repository only those inside the walked tree do.
    """

    def __init__(self, top: str):
        top = os.path.abspath(top)
        self._specs: dict[str, list[pathspec.GitIgnoreSpec]] = {}
        self._entered: set[str] = set()
        # directory -> (directory or ancestor, its specs last first) for those with specs, deepest first
        self._chains: dict[str, list[tuple[str, list[pathspec.GitIgnoreSpec]]]] = {}
        repository = _repository_root(top)
        directories = [top]
        if repository is not None:
            self._load(repository, os.path.join(repository, ".git", "info", "exclude"))
            directory = top
            while directory != repository:
                directory = os.path.dirname(directory)
                directories.append(directory)
        for directory in reversed(directories):
            self.enter(directory)

    def enter(self, directory: str) -> None:
        """Read ``directory``'s own ``.gitignore``, if it has one (call before matching inside it)."""
        directory = os.path.abspath(directory)
        if directory not in self._entered:
            self._entered.add(directory)
            self._load(directory, os.path.join(directory, ".gitignore"))

    def _load(self, base: str, file: str) -> None:
        try:
            with open(file, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError:
            return
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
        if any(pattern.include is not None for pattern in spec.patterns):  # not only comments and blank lines
            self._specs.setdefault(base, []).append(spec)
            self._chains.clear()

    def ignored(self, path: str, is_directory: bool) -> bool:
        """Git's answer for ``path``: the deepest ``.gitignore`` with a matching pattern decides."""
        if not self._specs:
            return False  # no .gitignore applies anywhere (a repository's own ``info/exclude`` is only comments)
        path = os.path.abspath(path)
        suffix = "/" if is_directory else ""
        for base, specs in self._chain(os.path.dirname(path)):
            relative = path[len(base):].lstrip(os.sep).replace(os.sep, "/") + suffix
            for spec in specs:  # .gitignore before .git/info/exclude
                decision = spec.check_file(relative).include
                if decision is not None:
                    return decision
        return False

    def _chain(self, directory: str) -> list[tuple[str, list[pathspec.GitIgnoreSpec]]]:
        """The directories from ``directory`` up to the file system's root that have patterns, deepest first,
        each with its specs in the order they decide (every file of a directory asks the same)."""
        chain = self._chains.get(directory)
        if chain is None:
            parent = os.path.dirname(directory)
            chain = [] if parent == directory else self._chain(parent)
            specs = self._specs.get(directory)
            if specs:
                chain = [(directory, specs[::-1]), *chain]
            self._chains[directory] = chain
        return chain


def _repository_root(directory: str) -> str | None:
    while True:
        if os.path.exists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
