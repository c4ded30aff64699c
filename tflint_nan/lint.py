"""Lint one file or one source string: read, pre-filter, parse once, analyse, apply ``# noqa``."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import gc
import io
import os
import re
import stat
import sys
import threading
import tokenize
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import screen, stages
from .project import ProjectModules
from .finding import FileResult, Finding, Position
from .knowledge import PARSE_ERROR_CODE

if TYPE_CHECKING:  # LibCST is imported only when a file needs it (start-up time)
    import libcst as cst

# LibCST (a tenth of a second to import) and the analysis are imported when a file needs them: most files are
# decided by ``screen`` alone.
# Without one of these words, a power or (with --strict) a division a file holds no sink that can meet a risky op
# (the exhaustive path's only shortcut; ``screen._holds_operator_sink`` says why).
_SINK_WORDS = tuple(sorted({name.rsplit(".", 1)[1].encode() for name in screen.SINK_NAMES}))


def _may_hold_a_sink(data: bytes, strict: bool) -> bool:
    return any(word in data for word in _SINK_WORDS) or b"**" in data or (strict and b"/" in data)
# Files larger than this are skipped with a notice (``--max-file-size``): analysing a file takes hundreds to
# thousands of times its size in memory, and nothing that large is hand-written.
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
# Deeper syntax trees are reported (TFN999) instead of analysed: real code stays far below this.
MAX_NESTING_DEPTH = 1000
_THREAD_STACK_BYTES = 512 * 1024 * 1024  # reserved address space; only the pages used are committed
_RECURSION_LIMIT = 60_000
# A file CPython rejects is shown to LibCST (which may know newer syntax) only within these bounds.
MAX_FALLBACK_BRACKET_DEPTH = 200  # CPython's own limit for valid files
MAX_FALLBACK_LINE_TOKENS = 3_000
NOQA_PATTERN = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    select: frozenset[str] | None = None  # None: every rule
    ignore: frozenset[str] = frozenset()
    strict: bool = False
    # (glob, codes) pairs from the configuration; globs match paths relative to ``project_root``
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    project_root: str = ""
    max_file_size: int = DEFAULT_MAX_FILE_SIZE  # bytes; larger files are skipped with a notice; 0: no limit
    # (module, what it stands for): wrappers of TensorFlow that cannot be read, e.g. a module built at run time
    aliases: tuple[tuple[str, str], ...] = ()
    # TensorFlow's internal modules (``tensorflow.python.ops.math_ops.log``) read as the public names they are
    internal_modules: bool = False
    # --fix applies unsafe fixes too: rewrites into a built-in that agree with the code only up to rounding
    unsafe_fixes: bool = False

    def enabled(self, code: str) -> bool:
        if code == PARSE_ERROR_CODE:
            return True
        if any(code.startswith(prefix) for prefix in self.ignore):
            return False
        return self.select is None or any(code.startswith(prefix) for prefix in self.select)

    def for_path(self, path: str) -> Settings:
        """These settings with the per-file ignores that match ``path`` folded into ``ignore``.

        The result no longer depends on the path, so two files with the same content and the same effective
        settings are linted (and cached) alike.
        """
        if not self.per_file_ignores:
            return self
        from .excludes import matching_per_file_ignores

        extra = matching_per_file_ignores(self.per_file_ignores, self.project_root, path)
        return dataclasses.replace(self, ignore=self.ignore | extra, per_file_ignores=(), project_root="")


class Skipped(Exception):
    """The file is deliberately not checked; the message is the notice (it is not a finding)."""


class SourceError(Exception):
    """The file cannot be linted; the message is the one-line reason."""

    def __init__(self, message: str, line: int = 1, column: int = 0):
        super().__init__(message)
        self.line = line
        self.column = column


def decode(data: bytes) -> str:
    """Source text as Python reads it: BOM, coding cookie, UTF-8 by default."""
    if b"\0" in data:
        raise SourceError("file contains a NUL byte; not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as utf8_error:
            raise SourceError(f"cannot decode as utf-8 (byte {utf8_error.start}: {utf8_error.reason}); "
                              "declare the encoding with a coding comment") from None
        raise SourceError(f"cannot decode: {error}") from None
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise SourceError(f"cannot decode as {encoding}: {error.reason if hasattr(error, 'reason') else error}") from None


def analyse(source: str, path: str, settings: Settings = Settings(), honour_noqa: bool = True,
            exhaustive: bool = False, dependencies: list | None = None, tree: ast.Module | None = None,
            only=None) -> list[Finding]:
    """Findings for one module's source, filtered by settings and (unless a host tool such as flake8 owns it)
    ``# noqa``; raises SourceError.  ``exhaustive`` analyses every statement with LibCST instead of only those
    ``screen.plan`` keeps (same findings, far slower; the tests compare the two).  ``dependencies``, when given,
    receives what the findings depend on in other files (``ProjectModules.dependencies``).  ``tree``: CPython's syntax
    tree of ``source`` when the caller has it.  ``only(node)`` (``screen.plan``) limits the select calls looked at
    to some top-level statements and methods (the findings elsewhere are not all reported)."""
    with paused_gc():
        return _analyse(source, path, settings, honour_noqa, exhaustive, dependencies, tree, only)


def _analyse(source: str, path: str, settings: Settings, honour_noqa: bool, exhaustive: bool,
             dependencies: list | None, tree: ast.Module | None, only) -> list[Finding]:
    # The nesting guard keeps LibCST away from generated monsters; the plan measures the depth in the walk it makes
    # anyway, so a file that never reaches LibCST pays nothing for it.
    if tree is None or exhaustive:
        tree = check_syntax(source, path, nesting=exhaustive)
    try:
        focused = tree is not None and not exhaustive  # no tree: only LibCST accepts this source
        project = ProjectModules(path, settings.aliases, settings.internal_modules)
        facts = _LazyFacts(tree, project)
        with stages.stage("plan"):
            # Without --strict, a sink in a function that is never differentiated has no finding to show: the plan
            # leaves it out, and a file with nothing else needs no LibCST at all.
            plan = screen.plan(tree, project.resolve, only, project.renames,
                               None if settings.strict else facts.function_reason) if focused else None
        if plan is not None and plan.depth > MAX_NESTING_DEPTH:
            raise _too_deep(plan.depth)
        if focused and plan is None:
            found = []  # no select call here can have a finding: LibCST (and its thread) is not needed
        else:
            found = run_with_deep_stack(
                lambda: _analyse_module(source, path, settings.strict, tree, plan, project, facts.built))
        if dependencies is not None:
            dependencies.extend(project.dependencies())
    except SourceError:
        raise
    except MemoryError:
        raise SourceError("ran out of memory while analysing; not analysed") from None
    except Exception as error:  # a bug, in this package or in LibCST: this file is reported, the others checked
        raise SourceError(f"internal error while analysing ({type(error).__name__}: {error}); not analysed, "
                          "please report it with this file") from error
    found = [finding for finding in found if settings.enabled(finding.code)]
    if not (honour_noqa and found):
        return found
    lines = source.splitlines()
    return [finding for finding in found if not _suppressed(finding, lines)]


class _LazyFacts:
    """``gradients.ModuleFacts`` of a module, built when the plan first asks about a function (most files never
    need them), then handed on to the analysis."""

    def __init__(self, tree: ast.Module | None, project: ProjectModules):
        self.tree = tree
        self.project = project
        self.built = None

    def function_reason(self, qualname: str) -> str | None:
        if self.built is None:
            from .gradients import ModuleFacts

            with stages.stage("analysis"):
                self.built = ModuleFacts(self.tree, self.project)
        return self.built.function_reason(qualname)


def _analyse_module(source: str, path: str, strict: bool, tree: ast.Module | None,
                    plan: screen.Plan | None, project: ProjectModules | None = None, facts=None) -> list[Finding]:
    """The analysis's findings; with a ``plan`` (and CPython's ``tree``), only for the statements it keeps (LibCST
    parses only those, ``focus.py``; when it cannot, the whole module).  ``facts``: the module's ``ModuleFacts``
    when the plan has built them."""
    import libcst as cst

    from .gradients import ModuleFacts

    if plan is not None:
        from .focus import analyse_plan

        if facts is None:
            with stages.stage("analysis"):
                facts = ModuleFacts(tree, project)
        found = analyse_plan(source, tree, plan, path, strict, facts, project)
        if found is not None:
            return found
    try:
        with stages.stage("LibCST parse"):
            module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        raise _syntax_error(source, error) from None
    except (RecursionError, MemoryError):
        raise
    except Exception as error:
        # LibCST rejects some valid code with an internal error, e.g. `return(lambda: 0)` (LibCST issue 1448).
        raise SourceError(f"LibCST {_libcst_version()} cannot parse this file ({type(error).__name__}: {error}); "
                          "not analysed") from None
    from libcst.metadata import MetadataWrapper

    from . import expression_contexts, visiting
    from .analysis import ModuleAnalyzer

    if facts is None:
        facts = ModuleFacts(tree, project)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    analyzer = ModuleAnalyzer(wrapper, path, strict=strict, facts=facts, project=project)
    with stages.stage("metadata"):
        expression_contexts.prime(wrapper)
        expression_contexts.resolve(wrapper, analyzer.get_inherited_dependencies())
    with stages.stage("analysis"), analyzer.resolve(wrapper):
        visiting.visit(wrapper.module, analyzer)
        return analyzer.findings()


def run_with_deep_stack(function):
    """Run ``function`` in a thread with a large stack and recursion limit.

    LibCST's native parser recurses on the C stack (a few thousand nested brackets overflow a default 8 MB
    stack and kill the process) and its visitors recurse in Python; ``check_syntax`` has already bounded the
    nesting depth, so this stack is always enough.
    """
    outcome: list = []

    def target() -> None:
        try:
            outcome.append((True, function()))
        except BaseException as error:  # re-raised in the caller's thread
            outcome.append((False, error))

    previous_size = threading.stack_size(_THREAD_STACK_BYTES)
    previous_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous_limit, _RECURSION_LIMIT))
    try:
        # A daemon: when Ctrl-C interrupts the join, the process can exit without waiting for the analysis.
        thread = threading.Thread(target=target, name="tflint-nan-analysis", daemon=True)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(previous_size)
        sys.setrecursionlimit(previous_limit)
    ok, value = outcome[0]
    if not ok:
        if isinstance(value, RecursionError):
            raise SourceError("too deeply nested to analyse") from None
        raise value
    return value


def might_have_findings(data: bytes, internal_modules: bool = False, strict: bool = False) -> bool:
    """False only for files that cannot have findings (``screen.might_have_findings``)."""
    return screen.might_have_findings(data, internal_modules, strict)


def check_syntax(source: str, path: str, nesting: bool = True) -> ast.Module | None:
    """Raise SourceError for invalid or pathologically nested source; return CPython's syntax tree (None when only
    LibCST accepts the source).

    CPython's parser is several times faster than LibCST's and bounds bracket nesting itself; the depth check
    keeps LibCST (whose parse time grows with the square of the nesting) away from generated monsters. When
    CPython rejects the file for a reason that may just mean newer syntax than this interpreter knows, LibCST
    gets the final word. ``nesting=False`` leaves the depth check to the caller (``analyse`` takes the depth from
    the plan's walk of the same tree).
    """
    try:
        # No filename: given one, CPython computes error columns from the file on disk at that path, which for a
        # notebook, standard input or a fix in progress is not this text.  A deep stack: building the tree of a
        # long expression (a sum of a thousand terms) recurses in C, and CPython 3.11 reports running out of
        # recursion there as a SystemError.
        with stages.stage("syntax tree"):
            tree = run_with_deep_stack(lambda: parse_python(source))
    except SyntaxError as error:
        rejected = SourceError(f"syntax error: {error.msg}", error.lineno or 1, max((error.offset or 1) - 1, 0))
        if _is_parser_limit(str(error.msg)) or not _may_ask_libcst(source):
            raise rejected from None
        run_with_deep_stack(lambda: _libcst_syntax_check(source, rejected))
        return None
    except (RecursionError, MemoryError, SystemError):
        raise SourceError("too deeply nested to parse") from None
    except ValueError as error:
        raise SourceError(f"cannot parse: {error}") from None
    if nesting:
        with stages.stage("syntax tree"):
            depth = _nesting_depth(tree)
        if depth > MAX_NESTING_DEPTH:
            raise _too_deep(depth)
    return tree


def _too_deep(depth: int) -> SourceError:
    return SourceError(f"expression nesting depth {depth} exceeds {MAX_NESTING_DEPTH}; not analysed")


def parse_python(source: str) -> ast.Module:
    """CPython's syntax tree of someone else's code, without the SyntaxWarnings (``1if x else 2``, an invalid
    escape such as ``"\\d"`` on Python 3.12) that would otherwise be printed on our stderr."""
    with warnings.catch_warnings(), paused_gc():
        warnings.simplefilter("ignore")
        return ast.parse(source)


@contextlib.contextmanager
def paused_gc():
    """CPython's cycle collector paused while a file is parsed and analysed.  Building syntax trees and metadata
    allocates millions of objects, which start collections that each walk every object alive, the growing trees
    included: on a 50,000-line file that is more than half of ``ast.parse``'s time.  A tree has no cycles; what
    the analysis leaves in cycles is collected once the collector runs again, after the file."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _is_parser_limit(message: str) -> bool:
    """CPython's own limits (bracket nesting, indentation levels, complexity): no newer Python lifts them."""
    return "nested" in message or "too complex" in message or "too many" in message


def _may_ask_libcst(source: str) -> bool:
    """Whether LibCST may be asked about a file CPython rejected, without risking minutes or gigabytes.

    For valid files ``check_syntax`` bounds the nesting depth first; here there is no syntax tree, so tokens bound
    the cost instead: LibCST's parse time grows with the square of bracket nesting and faster than linearly with
    the length of a logical line (a chain of 4,000 subscripts takes a minute).  Source that does not even
    tokenize (a character no Python accepts, such as a second byte-order mark) is not newer syntax, just broken.
    """
    depth = length = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.ERRORTOKEN and not token.string.isspace():
                return False
            if token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT):
                if token.type == tokenize.NEWLINE:
                    length = 0
                continue
            length += 1
            if token.type == tokenize.OP:
                if token.string in "([{":
                    depth += 1
                elif token.string in ")]}":
                    depth -= 1
            if depth > MAX_FALLBACK_BRACKET_DEPTH or length > MAX_FALLBACK_LINE_TOKENS:
                return False
    except (tokenize.TokenError, SyntaxError, ValueError):
        return False
    return True


def _libcst_syntax_check(source: str, rejected: SourceError) -> None:
    """Accept ``source`` if LibCST parses it (syntax newer than this interpreter); else raise CPython's error."""
    import libcst as cst

    try:
        cst.parse_module(source)
    except (RecursionError, MemoryError):
        raise
    except Exception:  # a syntax error, or LibCST failing inside: CPython's message is the precise one
        raise rejected from None


def _nesting_depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_NESTING_DEPTH:
                break
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def lint_source(source: str, path: str = "<stdin>", settings: Settings = Settings(),
                always_check_syntax: bool = True, exhaustive: bool = False) -> FileResult:
    return _lint(source.encode("utf-8", "surrogatepass"), lambda: source, path, settings, always_check_syntax,
                 exhaustive)


def lint_python(data: bytes, path: str, settings: Settings = Settings(), always_check_syntax: bool = True,
                exhaustive: bool = False) -> FileResult:
    """A Python file's bytes.  ``exhaustive``: no shortcuts (every file with a select word analysed, every
    statement in LibCST); the findings are the same, the tests and the benchmark check that.  (Notebooks and the
    choice between the two: ``files.lint_bytes``.)"""
    return _lint(data, lambda: decode(data), path, settings, always_check_syntax, exhaustive)


def is_notebook(path: str) -> bool:
    return os.path.splitext(path)[1].lower() == ".ipynb"


def read_file(path: str, max_size: int = DEFAULT_MAX_FILE_SIZE, explicit: bool = True) -> bytes:
    """A file's bytes; raises SourceError when it cannot be read, Skipped when it is over ``max_size`` bytes
    (0: no limit) or, found by a directory walk (not ``explicit``), is not a regular file.

    A FIFO or device that a walk finds is never opened for blocking reads (that would wait forever for a writer);
    one named on the command line is read, as the user asked.  The size is taken from the open file, and at most
    one byte more than the limit is read, so a file that grows meanwhile (or a pipe) cannot exhaust memory.
    """
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | (0 if explicit else getattr(os, "O_NONBLOCK", 0))
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None
    try:
        info = os.fstat(descriptor)
        if not explicit and not stat.S_ISREG(info.st_mode):
            raise Skipped("not a regular file; not checked")
        if max_size and stat.S_ISREG(info.st_mode) and info.st_size > max_size:
            raise Skipped(_too_large(info.st_size, max_size))
        with os.fdopen(descriptor, "rb") as handle:
            descriptor = None
            data = handle.read(max_size + 1) if max_size else handle.read()
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None
    finally:
        if descriptor is not None:
            os.close(descriptor)
    if max_size and len(data) > max_size:
        raise Skipped(_too_large(len(data), max_size, at_least=True))
    return data


def _too_large(size: int, limit: int, at_least: bool = False) -> str:
    return (f"{'over ' if at_least else ''}{format_size(size)} is over the size limit of {format_size(limit)} "
            "(--max-file-size); not checked")


def format_size(size: int) -> str:
    """``12.5 MB``, ``300 KB``, ``17 bytes`` (units of 1024)."""
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= factor:
            value = size / factor
            return f"{value:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{size} byte{'s' if size != 1 else ''}"


def parse_size(text: str) -> int:
    """``10MB``, ``10M``, ``512k``, ``1048576``, ``0`` (no limit) -> bytes; raises ValueError."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*", text, re.IGNORECASE)
    if match is None:
        raise ValueError(f"not a size: {text!r} (examples: 10MB, 512KB, 0 for no limit)")
    factor = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]
    return int(float(match.group(1)) * factor)


def _lint(data: bytes, source_of, path: str, settings: Settings, always_check_syntax: bool,
          exhaustive: bool = False) -> FileResult:
    settings = settings.for_path(path)
    result = FileResult(path)
    try:
        with stages.stage("byte screen"):
            screened_in = _may_hold_a_sink(data, settings.strict) if exhaustive else might_have_findings(
                data, settings.internal_modules, settings.strict)
        if screened_in:
            dependencies: list = []
            result.findings = analyse(_read(source_of), path, settings, exhaustive=exhaustive,
                                      dependencies=dependencies)
            result.dependencies = tuple(dependencies)
        elif always_check_syntax:
            # Only CPython's verdict: LibCST never sees this file, so the nesting guard that protects it is not
            # needed (CPython bounds what it accepts itself).
            check_syntax(_read(source_of), path, nesting=exhaustive)
    except SourceError as error:
        result.error = _error(path, error)
    return result


def _read(source_of) -> str:
    with stages.stage("read"):  # decoding
        return source_of()


def _syntax_error(source: str, error: cst.ParserSyntaxError) -> SourceError:
    """Prefer CPython's message and location (precise) when it agrees the file is invalid."""
    try:
        parse_python(source)
    except SyntaxError as python_error:
        line = python_error.lineno or 1
        column = max((python_error.offset or 1) - 1, 0)
        return SourceError(f"syntax error: {python_error.msg}", line, column)
    except (ValueError, RecursionError, MemoryError):
        return SourceError(f"syntax error: {error.message}", error.editor_line, error.editor_column - 1)
    # Python accepts it: a LibCST limitation (e.g. thousands of implicitly concatenated strings), not the user's error.
    return SourceError(f"LibCST {_libcst_version()} cannot parse this file, which Python accepts ({error.message}); "
                       "not analysed", error.editor_line, error.editor_column - 1)


def _libcst_version() -> str:
    """For messages only (reading package metadata costs a start-up that most runs never need)."""
    import importlib.metadata

    try:
        return importlib.metadata.version("libcst")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a vendored or source checkout
        return "(unknown version)"


def _error(path: str, error: SourceError) -> Finding:
    position = Position(max(error.line, 1), max(error.column, 0))
    return Finding(path, position, position, PARSE_ERROR_CODE, " ".join(str(error).split()))  # one output line


def _suppressed(finding: Finding, lines: list[str]) -> bool:
    if not 0 < finding.line <= len(lines):
        return False
    match = NOQA_PATTERN.search(lines[finding.line - 1])
    if match is None:
        return False
    codes = match.group("codes")
    if not codes:
        return True
    return any(finding.code.startswith(code.upper()) for code in re.split(r"[,\s]+", codes) if code)
