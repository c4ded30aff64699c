"""The configuration each open document is checked with: its own project's ``[tool.tflint-nan]``.

A document is checked as ``tflint-nan path/to/file.py`` would check it: with the table of the nearest
``pyproject.toml`` above it that has one (``config.resolve``).  The resolved configuration is kept per directory
and used again as long as no ``pyproject.toml`` on the way up to the root has appeared, disappeared or changed
(their modification times, sizes and inodes are compared on every use, a few ``stat`` calls), so an edited
configuration applies from the next analysis on, whether or not the client reports file changes.
"""

from __future__ import annotations

import os

from ..config import CONFIG_FILE_NAME, ConfigError, Configuration, resolve

_Fingerprint = tuple


class ProjectConfigurations:
    def __init__(self) -> None:
        self._by_directory: dict[str, tuple[_Fingerprint, Configuration | ConfigError]] = {}

    def for_document(self, path: str | None, directory: str | None = None) -> Configuration:
        """The configuration for the file at ``path``; for a document that is not a file (an unsaved buffer),
        the one of ``directory`` (the workspace folder) or of the working directory.  Raises ConfigError."""
        if path is not None:
            directory = os.path.dirname(os.path.abspath(path))
        directory = os.path.abspath(directory or os.getcwd())
        fingerprint = _fingerprint(directory)
        cached = self._by_directory.get(directory)
        if cached is None or cached[0] != fingerprint:
            try:
                outcome: Configuration | ConfigError = resolve([path if path is not None else directory])
            except ConfigError as error:
                outcome = error
            cached = (fingerprint, outcome)
            self._by_directory[directory] = cached
        if isinstance(cached[1], ConfigError):
            raise cached[1]
        return cached[1]

    def forget(self) -> None:
        """Read every configuration again (a ``pyproject.toml`` changed)."""
        self._by_directory.clear()


def _fingerprint(directory: str) -> _Fingerprint:
    """What identifies the state of every ``pyproject.toml`` from ``directory`` up to the root."""
    states = []
    while True:
        try:
            info = os.stat(os.path.join(directory, CONFIG_FILE_NAME))
            states.append((directory, info.st_mtime_ns, info.st_size, info.st_ino))
        except OSError:
            pass
        parent = os.path.dirname(directory)
        if parent == directory:
            return tuple(states)
        directory = parent
