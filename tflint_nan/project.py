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
import hashlib
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from .knowledge import INTERNAL_SPELLINGS, TF_V1_TOP
from .syntax import child_nodes, walk

INTERNAL_PREFIX = "tensorflow.python."
# Only names that end in one of these libraries are worth resolving (they are what the knowledge tables name).
TARGET_ROOTS = frozenset({"tensorflow", "keras", "tf_keras"})
# Roots that are never a project's own module: the standard library and the libraries a name resolves into anyway.
# Modules that are never the linted project's own and never stand for TensorFlow: the standard library, and
# libraries that numerical code imports beside it (tests, images, plots, files, JAX's and PyTorch's ecosystems).
FOREIGN_ROOTS = frozenset(sys.stdlib_module_names) | {
    "builtins", "numpy", "jax", "torch", "scipy", "pandas", "absl",
    "pytest", "hypothesis", "cv2", "PIL", "matplotlib", "seaborn", "sklearn", "h5py", "yaml", "tqdm", "six",
    "ml_dtypes", "flax", "optax", "chex", "torchvision", "openvino", "grain",
}
MAX_LEVELS_UP = 12
MAX_CHAIN = 8


@dataclass
class _Exports:
    names: dict[str, str | None] = field(default_factory=dict)  # bound name -> what it stands for (None: its own)
    star: list[str] = field(default_factory=list)  # modules whose every public name it re-exports
    constants: dict[str, float] = field(default_factory=dict)  # ``EPS = 1e-6`` at module level, assigned once


class ProjectModules:
    """The project around one linted file."""

    def __init__(self, path: str, declared: tuple[tuple[str, str], ...] = (), internal_modules: bool = False):
        """``declared``: ``(module, stands for)`` pairs from the ``aliases`` setting, for wrappers that cannot be
        read (built at run time, or outside the project): ``("zfit.z.numpy", "tensorflow.experimental.numpy")``.
        ``internal_modules``: read ``tensorflow.python.ops.math_ops.log`` as ``tensorflow.math.log``."""
        self.internal_modules = internal_modules
        real = bool(path) and not path.startswith("<")
        self.path = os.path.abspath(path) if real else None
        self.folder = os.path.dirname(self.path) if self.path else None
        self.declared = dict(declared)
        self._resolved: dict[str, str | None] = {}
        self._package: list[str] | None = None
        self._read: set[str] = set()  # other modules' files whose contents an answer depended on
        self._searched: set[str] = set()  # project roots whose every file a search for callers read

    def dependencies(self) -> tuple[tuple[str, str], ...]:
        """What the answers given so far depend on besides the linted file, each with its current signature:
        a result remembered with them is still right while ``dependency_signature`` gives the same values."""
        keys = sorted({f"file:{path}" for path in self._read} | {f"tree:{root}" for root in self._searched})
        return tuple((key, dependency_signature(key)) for key in keys)

    def _package_parts(self) -> list[str]:
        """The packages (folders with an ``__init__.py``) that hold the linted file, outermost first."""
        if self._package is None:
            self._package = _package_of(self.folder) if self.folder else []
        return self._package

    def _absolute_name(self, name: str) -> str | None:
        """``.config.EPS`` (a relative import, as LibCST names it) -> ``pkg.config.EPS``, from the folders above the
        linted file that are packages (hold an ``__init__.py``)."""
        if not name.startswith("."):
            return name
        package = self._package_parts()
        level = len(name) - len(name.lstrip("."))
        if level - 1 > len(package):
            return None
        base = package[:len(package) - (level - 1)]
        rest = name.lstrip(".")
        return ".".join([*base, *([rest] if rest else [])]) or None

    # -- who calls the linted module's functions ------------------------------------------------------------------
    def module_name(self) -> str | None:
        """The linted file's module as the rest of its project imports it (``utils.box_ops``)."""
        if self.path is None:
            return None
        stem = os.path.splitext(os.path.basename(self.path))[0]
        parts = self._package_parts()
        return ".".join(parts if stem == "__init__" else [*parts, stem]) or None

    def root(self) -> str | None:
        """The folder the project's imports start from: the one holding the linted file's outermost package."""
        if self.folder is None:
            return None
        root = self.folder
        for _ in self._package_parts():
            root = os.path.dirname(root)
        return root

    def callers(self, function: str) -> list[CallSite] | None:
        """Calls of ``function`` (defined at the top level of the linted module) from the project's other modules,
        tests left out; None when they cannot all be known (the project is too large to search, the function is
        handed around as a value or star-imported somewhere)."""
        return self._callers(function, self.root(), tests=False)

    def callers_with_tests(self, function: str) -> list[CallSite] | None:
        """Calls of ``function`` from every other module of the project, tests included, and those beside the
        folder imports start from (a ``src`` layout's ``tests/``): from the nearest folder above the linted file
        that holds ``pyproject.toml``, ``setup.py``, ``setup.cfg`` or ``.git``, else from the import root (its
        parent when it is a ``src`` folder).  The calls found, even where a module also uses the name as a value
        (``isinstance(t, AffineTransform)``): where a probe looks for the arguments code really passes, not for
        whether every call is known."""
        root = self.root()
        if root is None:
            return None
        folder = root
        for _ in range(MAX_LEVELS_UP):
            if any(os.path.exists(os.path.join(folder, marker)) for marker in _PROJECT_MARKERS):
                root = folder
                break
            parent = os.path.dirname(folder)
            if parent == folder:
                if os.path.basename(root) == "src":  # a src layout without its packaging files (a source copy)
                    root = os.path.dirname(root)
                break
            folder = parent
        return self._callers(function, root, tests=True)

    def _callers(self, function: str, root: str | None, tests: bool) -> list[CallSite] | None:
        module = self.module_name()
        if module is None or root is None:
            return None
        if not self.path.endswith(".py") or not all(part.isidentifier() for part in module.split(".")):
            return []  # no import can name the file (a notebook, ``mnist-embeddings.py``): only it calls them
        files = _project_files(root)
        self._searched.add(root)
        if files is None:
            return None
        target = f"{module}.{function}"
        needles = (function.encode(), module.rpartition(".")[2].encode())
        import_root = self.root()
        sites: list[CallSite] = []
        for path in files:
            if path == self.path or (not tests and is_test_file(path)):
                continue
            words = _words(path)
            if words is None or not all(needle in words for needle in needles):
                continue
            inside = import_root is not None and not os.path.relpath(path, import_root).startswith(os.pardir)
            # (A file outside the import root is named from it only for its relative imports, which then miss.)
            found = _calls_in(path, _module_of(import_root if inside else root, path), target, complete=not tests)
            if found is None:
                return None
            sites.extend(CallSite(path, call) for call in found)
        return sites

    def method_callers(self, method: str) -> list[CallSite] | None:
        """Every call ``<anything>.method(...)`` in the project's modules, the linted one included, tests left out
        (receivers are not typed: any object's method of that name counts, which can only add callers); None when
        they cannot all be known (the project is too large to search, or some module reads ``.method`` other than
        to call it: handed around as a value)."""
        paths = self._files_spelling(method, tests=False)
        if paths is None:
            return None
        sites: list[CallSite] = []
        for path in paths:
            calls, values = _method_index(path)
            if method in values:
                return None
            sites.extend(CallSite(path, call) for call in calls.get(method, ()))
        return sites

    def attribute_read_elsewhere(self, name: str) -> bool | None:
        """Whether a module of the project other than the linted one reads an attribute ``name`` of anything
        (``agent.fetches``, ``self.fetches`` in a base class), tests included; None when that cannot be known."""
        paths = self._files_spelling(name, tests=True)
        if paths is None:
            return None
        for path in paths:
            if path != self.path:
                calls, values = _method_index(path)
                if name in values or name in calls or "*" in values:
                    return True
        return False

    def _files_spelling(self, name: str, tests: bool) -> list[str] | None:
        """The project's module files (test files other than the linted one only with ``tests``) that spell
        ``name`` as a word; None when the project cannot be searched (too large, a file unreadable)."""
        root = self.root()
        if root is None or self.path is None:
            return None
        files = _project_files(root)
        self._searched.add(root)
        if files is None:
            return None
        needle = name.encode()
        found = []
        for path in files:
            if not tests and is_test_file(path) and path != self.path:
                continue
            words = _words(path)
            if words is None:
                return None
            if needle in words:
                found.append(path)
        return found

    def resolve(self, name: str) -> str | None:
        """The TensorFlow or Keras name that ``name`` (a qualified name in the linted file) stands for, or None."""
        if self.internal_modules and name.startswith(INTERNAL_PREFIX):
            return INTERNAL_SPELLINGS.get(name)
        if name.startswith(".") and self.folder is not None:
            name = self._absolute_name(name) or name
        if "." not in name or not self._may_rename_under(name.split(".")[0]):
            return None
        if name not in self._resolved:
            self._resolved[name] = self._resolve(name, 0)
        return self._resolved[name]

    def renames(self, module: str) -> bool:
        """Whether ``resolve`` may give some name ``module.<...>`` a meaning; False where it answers None for all of
        them (a module of TensorFlow, Keras, the standard library or NumPy, with no declared aliases)."""
        if module.startswith(".") or (self.internal_modules and module.split(".")[0] == "tensorflow"):
            return True
        return self._may_rename_under(module.split(".")[0])

    def _may_rename_under(self, head: str) -> bool:
        """Whether a name under the top-level module ``head`` can mean anything but itself: not TensorFlow's or
        Keras's own, nor, without declared aliases, a library's or a file's outside any project."""
        return not (head in TARGET_ROOTS or (not self.declared and (self.folder is None or head in FOREIGN_ROOTS)))

    def _resolve(self, name: str, depth: int) -> str | None:
        if depth > MAX_CHAIN:
            return None
        if name.split(".")[0] in TARGET_ROOTS:
            return INTERNAL_SPELLINGS.get(name, name) if self.internal_modules else name
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

    def _member(self, name: str, depth: int) -> tuple[str, str] | None:
        """(module, name in it) for a qualified name that may belong to a module of the project."""
        if name.startswith(".") and self.folder is not None:
            name = self._absolute_name(name) or name
        if self.folder is None or "." not in name or depth > MAX_CHAIN or name.split(".")[0] in (
                TARGET_ROOTS | FOREIGN_ROOTS):
            return None
        module, _, attribute = name.rpartition(".")
        return module, attribute

    def constant(self, name: str, depth: int = 0) -> float | None:
        """The number a module of the project binds to ``name`` once, at module level (``from .config import EPS``
        where ``config.py`` says ``EPS = 1e-6``), following re-exports; else None."""
        member = self._member(name, depth)
        if member is None:
            return None
        module, attribute = member
        exports = self._exports(module)
        if exports is None:
            return None
        if attribute in exports.constants:
            return exports.constants[attribute]
        meaning = exports.names.get(attribute)
        return self.constant(meaning, depth + 1) if meaning else None

    def function_definition(self, name: str, depth: int = 0) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef,
                                                                    str] | None:
        """The ``def`` of a project function named by its qualified name (``pkg.utils.helper``), following
        re-exports, with its module's file; None when it is not a function at the top level of a module of the
        project."""
        member = self._member(name, depth)
        if member is None:
            return None
        module, attribute = member
        path = self._find(module)
        if path is None:
            return None
        self._read.add(path)
        tree = parsed(path)
        if tree is None:
            return None
        for statement in tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == attribute:
                return statement, path
        exports = _read_exports(path, module)
        meaning = exports.names.get(attribute) if exports is not None else None
        return self.function_definition(meaning, depth + 1) if meaning else None

    def _exports(self, module: str) -> _Exports | None:
        path = self._find(module)
        if path is None:
            return None
        self._read.add(path)
        return _read_exports(path, module)

    def _find(self, module: str) -> str | None:
        return _find_module(self.folder, module)


@dataclass(frozen=True)
class CallSite:
    path: str  # the calling module's file
    call: ast.Call  # in the tree ``parsed(path)`` returns


# Searching a project for callers reads its Python files; beyond this many, callers are unknown (a monorepo or a
# library the size of TensorFlow would pay for the search on every question).
MAX_PROJECT_FILES = 1500
MAX_FILE_BYTES = 1 << 20
_SKIPPED_FOLDERS = frozenset({".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", "env", "build", "dist",
                              "node_modules", "__pycache__", "site-packages", ".eggs", ".tflint_nan_cache"})
_TEST_FOLDERS = frozenset({"test", "tests", "testing"})
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


def is_test_file(path: str) -> bool:
    """Tests call a function to check its values, not to use it: they are evidence of neither kind."""
    name = os.path.basename(path)
    if name.startswith("test_") or name.endswith(("_test.py", "_tests.py")) or name == "conftest.py":
        return True
    return any(part in _TEST_FOLDERS for part in path.split(os.sep)[:-1])


def _package_of(folder: str) -> list[str]:
    parts: list[str] = []
    while folder and os.path.isfile(os.path.join(folder, "__init__.py")):
        parts.insert(0, os.path.basename(folder))
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return parts


def _module_of(root: str, path: str) -> str:
    relative = os.path.relpath(os.path.splitext(path)[0], root).split(os.sep)
    if relative[-1] == "__init__":
        relative = relative[:-1]
    return ".".join(relative)


@lru_cache(maxsize=16)
def _project_files(root: str) -> tuple[str, ...] | None:
    files: list[str] = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name not in _SKIPPED_FOLDERS and not name.startswith("."))
        files.extend(os.path.join(folder, name) for name in sorted(names) if name.endswith(".py"))
        if len(files) > MAX_PROJECT_FILES:
            return None
    return tuple(files)


@lru_cache(maxsize=512)
def _read_small(path: str) -> bytes | None:
    return read_module_file(path, MAX_FILE_BYTES)


def read_module_file(path: str, limit: int) -> bytes | None:
    """A module file's bytes, or None: unreadable, over ``limit`` bytes, or not a regular file (a FIFO named
    ``x.py`` would block the read forever)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(descriptor, "rb") as handle:
            descriptor = None
            data = handle.read(limit + 1)
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        if descriptor is not None:
            os.close(descriptor)


# A name as bytes: ASCII word characters and the bytes of UTF-8 sequences (identifiers may be non-ASCII).
_WORD = re.compile(rb"[\w\x80-\xff]+")


@lru_cache(maxsize=1024)
def _words(path: str) -> frozenset[bytes] | None:
    """The names a module of the project spells (None: unreadable or too large): a call of a function needs its name
    and its module's name as words of the file, and each question about a function asks it of every module."""
    data = _read_small(path)
    return None if data is None else frozenset(_WORD.findall(data))


@lru_cache(maxsize=256)
def parsed(path: str) -> ast.Module | None:
    """Another module of the project, parsed once per process (None: unreadable, too large, or not Python)."""
    data = _read_small(path)
    if data is None:
        return None
    try:
        return ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _calls_in(path: str, module: str, target: str, complete: bool = True) -> list[ast.Call] | None:
    """The calls of ``target`` (``pkg.mod.function``) in the file; None when it also uses it in a way that cannot
    be followed (a star import of its module, the function read as a value) and ``complete`` asks for every call."""
    calls, values, star_imported = _call_index(path, module)
    if complete and (target.rpartition(".")[0] in star_imported or target in values):
        return None
    return calls.get(target, [])


@lru_cache(maxsize=256)
def _call_index(path: str, module: str) -> tuple[dict[str, list[ast.Call]], frozenset[str], frozenset[str]]:
    """What one file does with the names its imports bind, read in one pass for every function asked about: each
    qualified name it calls -> those calls, the qualified names it also uses as values (its callers are then
    unknown), and the modules it star-imports."""
    tree = parsed(path)
    if tree is None:
        return {}, frozenset(), frozenset()
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    local: dict[str, str] = {}  # a name bound by an import -> the qualified name it stands for
    star_imported: set[str] = set()
    for node in walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(node, package)
            for alias in node.names:
                if alias.name == "*":
                    if source is not None:
                        star_imported.add(source)
                elif source is not None:
                    local[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    local[alias.asname] = alias.name
                else:
                    local.setdefault(alias.name.split(".")[0], alias.name.split(".")[0])
    calls: dict[str, list[ast.Call]] = {}
    values: set[str] = set()
    if not local:
        return calls, frozenset(), frozenset(star_imported)
    parents = {child: node for node in walk(tree) for child in child_nodes(node)}
    for node in walk(tree):
        if not isinstance(node, (ast.Name, ast.Attribute)) or isinstance(parents.get(node), ast.Attribute):
            continue
        dotted = dotted_name(node)
        if dotted is None:
            continue
        head, _, rest = dotted.partition(".")
        meaning = local.get(head)
        if meaning is None:
            continue
        qualified = f"{meaning}.{rest}" if rest else meaning
        parent = parents.get(node)
        if isinstance(node.ctx, ast.Load) and isinstance(parent, ast.Call) and parent.func is node:
            calls.setdefault(qualified, []).append(parent)
        elif not isinstance(parent, (ast.ImportFrom, ast.alias)):
            values.add(qualified)  # handed around as a value: its callers are unknown
    return calls, frozenset(values), frozenset(star_imported)


@lru_cache(maxsize=256)
def _method_index(path: str) -> tuple[dict[str, list[ast.Call]], frozenset[str]]:
    """One file's calls of attributes (``obj.name(...)``), by attribute name, and the attribute names it reads
    other than to call them."""
    tree = parsed(path)
    calls: dict[str, list[ast.Call]] = {}
    values: set[str] = set()
    if tree is None:
        return calls, frozenset({"*"})
    called: set[int] = set()
    for node in walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            calls.setdefault(node.func.attr, []).append(node)
            called.add(id(node.func))
    for node in walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and id(node) not in called:
            values.add(node.attr)
    return calls, frozenset(values)


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
    data = read_module_file(path, MAX_FILE_BYTES)
    if data is None:
        return None
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
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
            dotted = dotted_name(statement.value)
            if dotted is not None:
                head, _, rest = dotted.partition(".")
                meaning = exports.names.get(head, head if head in TARGET_ROOTS else None)
                exports.names[statement.targets[0].id] = (
                    f"{meaning}.{rest}" if meaning and rest else meaning)
            else:
                exports.names[statement.targets[0].id] = None
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            exports.names[statement.name] = None
    for name, meaning in _conditional_aliases(tree, exports).items():
        exports.names.setdefault(name, meaning)
    return exports


def _conditional_aliases(tree: ast.Module, exports: _Exports) -> dict[str, str | None]:
    """Names a module binds only inside its top-level ``if`` and ``try`` statements, to dotted names (``tfv1 =
    tf.compat.v1`` under a version check, ``tfv1 = tf`` where ``tf.compat`` is missing): what they stand for when
    every binding agrees.  One pair disagrees by design and still has one meaning: ``tf.compat.v1`` with a fallback
    to ``tf`` is TensorFlow 1's API either way (the fallback runs only on a TensorFlow 1 without ``compat``)."""
    bound: dict[str, set[str | None]] = {}
    blocks = [statement for statement in tree.body if isinstance(statement, (ast.If, ast.Try))]
    while blocks:
        block = blocks.pop()
        handlers = [handler.body for handler in getattr(block, "handlers", ())]
        for body in (block.body, block.orelse, getattr(block, "finalbody", []), *handlers):
            for statement in body:
                if isinstance(statement, (ast.If, ast.Try)):
                    blocks.append(statement)
                    continue
                for node in ast.walk(statement):
                    if not isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Import, ast.ImportFrom,
                                             ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For,
                                             ast.With)):
                        continue
                    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                            node.targets[0], ast.Name) and node is statement:
                        dotted = dotted_name(node.value)
                        meaning = None
                        if dotted is not None:
                            head, _, rest = dotted.partition(".")
                            root = exports.names.get(head, head if head in TARGET_ROOTS else None)
                            meaning = f"{root}.{rest}" if root and rest else root
                        bound.setdefault(node.targets[0].id, set()).add(meaning)
                    else:  # any other binding in a branch: its meaning is not one dotted name
                        for target in _bound_names(node):
                            bound.setdefault(target, set()).add(None)
    found: dict[str, str | None] = {}
    for name, meanings in bound.items():
        if meanings == set(TF_V1_TOP):
            found[name] = TF_V1_TOP[0]  # TensorFlow 1's API, as TensorFlow 2 spells it
        elif len(meanings) == 1:
            found[name] = next(iter(meanings))
        else:
            found[name] = None
    return found


def _bound_names(node: ast.AST) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [alias.asname or alias.name.split(".")[0] for alias in node.names]
    targets = (node.targets if isinstance(node, ast.Assign) else [node.target] if hasattr(node, "target")
               else [item.optional_vars for item in node.items if item.optional_vars is not None])
    names: list[str] = []
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Name):
            names.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            targets.extend(target.elts)
        elif isinstance(target, ast.Starred):
            targets.append(target.value)
    return names  # (``tf.layers = ...`` binds no name: it sets an attribute)


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


def dotted_name(node: ast.expr) -> str | None:
    """``a.b.c`` for a name or a chain of attributes of one; None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def dependency_signature(key: str) -> str:
    """``file:PATH``: the file's modification time and size; ``tree:ROOT``: a digest of those of every Python file
    of the project (a caller added anywhere changes it)."""
    kind, _, path = key.partition(":")
    if kind == "file":
        return _stat_signature(path)
    return _tree_signature(path)


@lru_cache(maxsize=16)
def _tree_signature(root: str) -> str:
    files = _project_files(root)
    if files is None:
        return "too large"
    digest = hashlib.sha256()
    for name in files:
        digest.update(f"{name}\0{_stat_signature(name)}\0".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _stat_signature(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return "missing"
    return f"{info.st_mtime_ns}:{info.st_size}"


def forget_project_caches() -> None:
    """Forget every module of the project read so far (a long-running process such as the language server calls
    this when files change): file lists, contents, parsed trees, exports and module locations."""
    for cached in (_project_files, _tree_signature, _read_small, _words, parsed, _find_module, _read_exports,
                   _call_index, _method_index):
        cached.cache_clear()
    for forget in _FORGET_HOOKS:
        forget()


_FORGET_HOOKS: list[Callable[[], None]] = []


def forget_with_project(clear: Callable[[], None]) -> None:
    """Have ``forget_project_caches`` also run ``clear``: for caches built elsewhere on the project's modules."""
    _FORGET_HOOKS.append(clear)
