"""Modules of the linted file's own project that stand for TensorFlow: re-exports, followed statically.

Large projects route TensorFlow through modules of their own::

    # myproject/znp.py
    from tensorflow.experimental.numpy import *

    # myproject/compat.py
    import tensorflow.compat.v1 as tf
    log = tf.math.log

so ``znp.where`` and ``compat.log`` are TensorFlow's ``where`` and ``log``.  ``ProjectModules.resolve`` turns such a
qualified name into the TensorFlow name it stands for, by reading (never importing or running) the project's
module: its star imports, ``from ... import ... as ...``, ``import ... as ...`` and assignments of a dotted name.
A name the module defines itself (``def where``) is its own, not TensorFlow's.  The module is found from the linted
file's folder upwards (``src/`` layouts included); a module that cannot be found, read or parsed, or a cycle, ends
the search silently.  Each module is read once per process.
"""

from __future__ import annotations

import ast
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache

# Only names that end in one of these libraries are worth resolving (they are what the knowledge tables name).
TARGET_ROOTS = frozenset({"tensorflow", "keras", "tf_keras"})
# Roots that are never a project's own module: the standard library and the libraries a name resolves into anyway.
FOREIGN_ROOTS = frozenset(sys.stdlib_module_names) | {"builtins", "numpy", "jax", "torch", "scipy", "pandas", "absl"}
MAX_LEVELS_UP = 12
MAX_CHAIN = 8


@dataclass
class _Exports:
    names: dict[str, str | None] = field(default_factory=dict)  # bound name -> what it stands for (None: its own)
    star: list[str] = field(default_factory=list)  # modules whose every public name it re-exports
    constants: dict[str, float] = field(default_factory=dict)  # ``EPS = 1e-6`` at module level, assigned once


class ProjectModules:
    """The project around one linted file."""

    def __init__(self, path: str, declared: tuple[tuple[str, str], ...] = ()):
        """``declared``: ``(module, stands for)`` pairs from the ``aliases`` setting, for wrappers that cannot be
        read (built at run time, or outside the project): ``("zfit.z.numpy", "tensorflow.experimental.numpy")``."""
        self.folder = os.path.dirname(os.path.abspath(path)) if path and not path.startswith("<") else None
        self.declared = dict(declared)
        self._resolved: dict[str, str | None] = {}
        self._package: list[str] | None = None

    def _absolute_name(self, name: str) -> str | None:
        """``.config.EPS`` (a relative import, as LibCST names it) -> ``pkg.config.EPS``, from the folders above the
        linted file that are packages (hold an ``__init__.py``)."""
        if not name.startswith("."):
            return name
        if self._package is None:
            self._package, folder = [], self.folder
            while folder and os.path.isfile(os.path.join(folder, "__init__.py")):
                self._package.insert(0, os.path.basename(folder))
                parent = os.path.dirname(folder)
                if parent == folder:
                    break
                folder = parent
        level = len(name) - len(name.lstrip("."))
        if level - 1 > len(self._package):
            return None
        base = self._package[:len(self._package) - (level - 1)]
        rest = name.lstrip(".")
        return ".".join([*base, *([rest] if rest else [])]) or None

    def resolve(self, name: str) -> str | None:
        """The TensorFlow or Keras name that ``name`` (a qualified name in the linted file) stands for, or None."""
        if name.startswith(".") and self.folder is not None:
            name = self._absolute_name(name) or name
        if "." not in name or name.split(".")[0] in TARGET_ROOTS or (
                not self.declared and (self.folder is None or name.split(".")[0] in FOREIGN_ROOTS)):
            return None
        if name not in self._resolved:
            self._resolved[name] = self._resolve(name, 0)
        return self._resolved[name]

    def _resolve(self, name: str, depth: int) -> str | None:
        if depth > MAX_CHAIN:
            return None
        if name.split(".")[0] in TARGET_ROOTS:
            return name
        parts = name.split(".")
        for end in range(len(parts) - 1, 0, -1):  # a declared alias: the longest module prefix
            meaning = self.declared.get(".".join(parts[:end]))
            if meaning is not None:
                return self._resolve(".".join([meaning, *parts[end:]]), depth + 1)
        if self.folder is None or parts[0] in FOREIGN_ROOTS:
            return None
        for end in range(len(parts) - 1, 0, -1):  # the longest prefix that is a module of this project
            module = ".".join(parts[:end])
            exports = self._exports(module)
            if exports is None:
                continue
            first, rest = parts[end], parts[end + 1:]
            if first in exports.names:
                meaning = exports.names[first]
                if meaning is None:
                    return None  # the module's own definition
                return self._resolve(".".join([meaning, *rest]), depth + 1)
            for star in exports.star:
                resolved = self._resolve(".".join([star, first, *rest]), depth + 1)
                if resolved is not None:
                    return resolved
            return None
        return None

    def constant(self, name: str, depth: int = 0) -> float | None:
        """The number a module of the project binds to ``name`` once, at module level (``from .config import EPS``
        where ``config.py`` says ``EPS = 1e-6``), following re-exports; else None."""
        if name.startswith(".") and self.folder is not None:
            name = self._absolute_name(name) or name
        if self.folder is None or "." not in name or depth > MAX_CHAIN or name.split(".")[0] in (
                TARGET_ROOTS | FOREIGN_ROOTS):
            return None
        module, _, attribute = name.rpartition(".")
        exports = self._exports(module)
        if exports is None:
            return None
        if attribute in exports.constants:
            return exports.constants[attribute]
        meaning = exports.names.get(attribute)
        return self.constant(meaning, depth + 1) if meaning else None

    def _exports(self, module: str) -> _Exports | None:
        path = self._find(module)
        return _read_exports(path, module) if path is not None else None

    def _find(self, module: str) -> str | None:
        return _find_module(self.folder, module)


@lru_cache(maxsize=4096)
def _find_module(start: str, module: str) -> str | None:
    """The file of ``module``, looked for in ``start`` and its parents (and their ``src/``)."""
    relative = module.replace(".", os.sep)
    folder = start
    for _ in range(MAX_LEVELS_UP):
        for base in (folder, os.path.join(folder, "src")):
            for candidate in (os.path.join(base, relative + ".py"), os.path.join(base, relative, "__init__.py")):
                if os.path.isfile(candidate):
                    return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    return None


@lru_cache(maxsize=1024)
def _read_exports(path: str, module: str) -> _Exports | None:
    try:
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    exports = _Exports()
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    for statement in tree.body:  # module level only: what ``import module`` makes available
        if isinstance(statement, ast.ImportFrom):
            source = _absolute(statement, package)
            if source is None:
                continue
            for alias in statement.names:
                if alias.name == "*":
                    exports.star.append(source)
                else:
                    exports.names[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    exports.names[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    exports.names[head] = head
        elif isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(
                statement.targets[0], ast.Name):
            number = _number(statement.value)
            target = statement.targets[0].id
            rebound = target in exports.names  # a second assignment: the value is not known
            exports.constants.pop(target, None)
            if number is not None:
                if not rebound:
                    exports.constants[target] = number
                exports.names[target] = None
                continue
            dotted = _dotted(statement.value)
            if dotted is not None:
                head, _, rest = dotted.partition(".")
                meaning = exports.names.get(head, head if head in TARGET_ROOTS else None)
                exports.names[statement.targets[0].id] = (
                    f"{meaning}.{rest}" if meaning and rest else meaning)
            else:
                exports.names[statement.targets[0].id] = None
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            exports.names[statement.name] = None
    return exports


def _number(node: ast.expr) -> float | None:
    negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    value = node.operand if negative else node
    if isinstance(value, ast.Constant) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
        return -float(value.value) if negative else float(value.value)
    return None


def _absolute(statement: ast.ImportFrom, package: str) -> str | None:
    if statement.level == 0:
        return statement.module
    parts = package.split(".") if package else []
    if statement.level - 1 > len(parts):
        return None
    base = parts[:len(parts) - (statement.level - 1)]
    return ".".join([*base, *([statement.module] if statement.module else [])]) or None


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))
