"""``tflint-nan server``: the findings in the editor, as you type, with their exact rewrites as quick fixes.

A Language Server Protocol server over standard input and output, built on pygls.  What it does:

* Diagnostics when a Python document (or a notebook's cells) is opened, changed and saved.  Each change restarts a
  short debounce; the analysis then runs in a worker process (``workers.py``) with a snapshot of the text, and its
  result is published only if the document has not changed meanwhile (a newer version is analysed instead).  A
  document has at most one analysis running, so typing never piles them up.
* The document is checked as ``tflint-nan FILE`` checks it: its own project's ``[tool.tflint-nan]`` (read again
  when a ``pyproject.toml`` changes), ``# noqa``, the excludes, the size limit.  The messages are the findings'
  own (``Finding.message``), rendered where every output format renders them.
* Code actions: a quick fix per finding with an exact rewrite (preferred), "add ``# noqa: TFNxxx``", and
  ``source.fixAll.tflint-nan``, which applies every rewrite as ``tflint-nan --fix`` would (computed when the
  client resolves the action, where the client can).  Edits carry the document version they were computed for,
  so a client never applies them to a different text.  The server never writes a file itself.
* Hover over a finding (or a ``TFNxxx`` code in a comment): the rule's explanation, as ``tflint-nan rule`` prints
  it.
* Positions in UTF-16 code units, or UTF-8 where the client offers it.

Anything a client sends that cannot be handled (an unknown document, a malformed request) is logged and answered
with an error or nothing; a file that cannot be analysed is reported as a TFN999 diagnostic; the server keeps
serving.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from .. import __version__
from ..config import CONFIG_FILE_NAME, ConfigError, Configuration
from ..finding import FileResult, Finding, Position, sink_words
from ..knowledge import PARSE_ERROR_CODE
from ..lint import NOQA_PATTERN, format_size
from ..report import rule_url
from ..rules import RULES_BY_CODE, explain
from .projects import ProjectConfigurations
from .text import (
    UTF8,
    UTF16,
    LineIndex,
    TextEdit,
    apply_content_change,
    commentable_lines,
    line_edits,
    noqa_edit,
)
from .workers import JobFailed, WorkerPool

logger = logging.getLogger("tflint_nan.lsp")

NAME = "tflint-nan"
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.{NAME}"
QUICK_FIX_KIND = types.CodeActionKind.QuickFix.value
# Long enough to take an edit that arrives as several changes in a row (a rename, a paste, a format-on-type, key
# repeat) as one, short enough not to be noticed.  Sustained typing needs no longer wait: a document has at most
# one analysis running, and the changes made meanwhile are analysed together once it ends.
DEBOUNCE_SECONDS = 0.03
# Code actions and hover answer for the text the client shows: they wait this long at most for its analysis.
CURRENT_ANALYSIS_WAIT_SECONDS = 60.0
PYTHON_SUFFIXES = (".py", ".pyi")
_RULE_CODE = re.compile(r"TFN\d{3}", re.IGNORECASE)


# -- documents ---------------------------------------------------------------------------------------------------------

@dataclass
class Entry:
    """One protocol document (a file, or a notebook cell) as it was analysed: its text and its findings there."""

    uri: str
    version: int | None
    index: LineIndex
    findings: list[Finding] = field(default_factory=list)
    notices: list[types.Diagnostic] = field(default_factory=list)  # not findings: a configuration error, ...
    _commentable: frozenset[int] | None | bool = False  # computed on demand; False: not yet

    def commentable(self, line: int) -> bool:
        """Whether a ``# noqa`` comment can end 1-based ``line`` (not inside a string or continuation)."""
        if self._commentable is False:
            self._commentable = commentable_lines(self.index.text)
        if self._commentable is None:  # the text does not tokenize (IPython syntax in a cell): trust the line
            content = self.index.text[self.index.starts[line - 1]:self.index.line_end(line - 1)]
            return not content.rstrip().endswith("\\")
        return line in self._commentable


@dataclass
class Analysis:
    revision: int
    entries: dict[str, Entry]  # by document URI
    cell_uris: dict[int, str] = field(default_factory=dict)  # notebooks: cell number (1-based, every cell) -> URI

    @property
    def fixable(self) -> bool:
        return any(finding.fix is not None for entry in self.entries.values() for finding in entry.findings)


@dataclass(eq=False)
class Subject:
    """What one analysis covers: a Python document, or a notebook with its cells.

    ``revision`` counts the changes that call for a new analysis (an edit, a changed configuration); an analysis
    whose revision is no longer current is dropped.
    """

    uri: str
    path: str | None  # the file it is, for the configuration and the project's modules; None when not a file
    revision: int = 0
    due: float = 0.0  # event-loop time when the next analysis may start (the debounce)
    task: asyncio.Task | None = None
    analysis: Analysis | None = None
    published: set[str] = field(default_factory=set)  # URIs that hold this subject's diagnostics
    fix_all: tuple[int, types.WorkspaceEdit] | None = None  # (revision, edit) of the last fix-all computed
    closed: bool = False


@dataclass(eq=False)
class TextSubject(Subject):
    language_id: str = ""
    version: int | None = None
    text: str = ""

    @property
    def is_python(self) -> bool:
        if self.path is not None and self.path.lower().endswith(".ipynb"):
            return False  # the JSON of a notebook opened as text: its cells are not lines of this text
        if self.language_id == "python":
            return True
        return self.path is not None and self.path.lower().endswith(PYTHON_SUFFIXES)


@dataclass(eq=False)
class NotebookSubject(Subject):
    pass


@dataclass(frozen=True)
class _Cell:
    uri: str
    version: int | None
    text: str
    is_code: bool  # Python code (markdown and other languages are not analysed, but keep their number)


def _path_of(uri: str) -> str | None:
    if urlparse(uri).scheme != "file":
        return None
    try:
        return to_fs_path(uri)
    except Exception:  # a malformed URI: treat the document as not a file
        return None


# -- the protocol ------------------------------------------------------------------------------------------------------

class _Protocol(LanguageServerProtocol):
    """pygls's protocol with two choices of this server: the position encoding, and its own text documents.

    Positions are UTF-16 code units unless the client offers UTF-8 (cheaper for both sides); pygls would take the
    client's first preference.  Text documents are kept by the server (``LineIndex``): pygls splits lines with
    ``str.splitlines``, which also breaks them at form feeds and U+2028, where neither Python nor the protocol
    does.  Notebook cells are kept by pygls's workspace, which tracks the notebooks' structure.
    """

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        general = params.capabilities.general
        offered = general.position_encodings if general is not None else None
        if offered:
            general.position_encodings = [
                types.PositionEncodingKind.Utf8 if UTF8 in offered else types.PositionEncodingKind.Utf16
            ]
        return (yield from super().lsp_initialize(params))

    def structure_message(self, data: dict):
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            # A request whose parameters do not fit the protocol still gets its answer (an error), so the client
            # does not wait for it forever; pygls only logs it.
            if isinstance(data, dict) and "method" in data and "id" in data and "error" not in data:
                self._send_response(data["id"], error=error.to_response_error())
            raise

    def _to_user_handler(self, method: str, params):
        handler = self.fm.features.get(method)
        if handler is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        yield from self._to_user_handler(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        yield from self._to_user_handler(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        yield from self._to_user_handler(types.TEXT_DOCUMENT_DID_CLOSE, params)


class TflintNanServer(LanguageServer):
    def __init__(self, workers: int | None = None):
        super().__init__(
            NAME, __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[types.NotebookDocumentFilterWithCells(
                    notebook="*", cells=[types.NotebookCellLanguage(language="python")])],
                save=True,
            ),
            protocol_cls=_Protocol,
        )
        self.subjects: dict[str, Subject] = {}
        self.configurations = ProjectConfigurations()
        self.pool = WorkerPool(workers or max(1, min(2, os.cpu_count() or 1)))
        self.encoding = UTF16
        self.generation = 0  # changes seen to the project's files on disk (for the workers' module caches)
        self.shutdown_requested = False
        self.exit_code: int | None = None
        self._shown_errors: set[str] = set()

    # -- capabilities of the client ------------------------------------------------------------------------------------

    def _capability(self, *names: str):
        value = self.client_capabilities
        for name in names:
            value = getattr(value, name, None)
            if value is None:
                return None
        return value

    @property
    def versioned_edits(self) -> bool:
        return bool(self._capability("workspace", "workspace_edit", "document_changes"))

    @property
    def resolves_edits(self) -> bool:
        properties = self._capability("text_document", "code_action", "resolve_support", "properties") or ()
        return "edit" in properties and bool(self._capability("text_document", "code_action", "data_support"))

    @property
    def markdown_hover(self) -> bool:
        formats = self._capability("text_document", "hover", "content_format") or ()
        return types.MarkupKind.Markdown in formats

    @property
    def related_information(self) -> bool:
        return bool(self._capability("text_document", "publish_diagnostics", "related_information"))

    # -- logging to the client -----------------------------------------------------------------------------------------

    def log(self, level: int, message: str) -> None:
        logger.log(level, "%s", message)
        kind = {logging.ERROR: types.MessageType.Error, logging.WARNING: types.MessageType.Warning,
                logging.INFO: types.MessageType.Info}.get(level, types.MessageType.Log)
        try:
            self.window_log_message(types.LogMessageParams(type=kind, message=message))
        except Exception:  # no client to tell (not yet initialised, or gone)
            pass

    def show_error_once(self, message: str) -> None:
        """A notification for an error the user must act on (an invalid configuration), once per message."""
        if message in self._shown_errors:
            return
        self._shown_errors.add(message)
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"{NAME}: {message}"))

    def report_server_error(self, error: Exception, source) -> None:
        # pygls would pop up a message for every malformed notification; a log entry is enough.
        self.log(logging.ERROR, f"{source.__name__}: {error}")

    # -- subjects ------------------------------------------------------------------------------------------------------

    def subject_of(self, uri: str) -> Subject | None:
        """The subject that holds the document ``uri`` (a file, or a cell of an open notebook)."""
        subject = self.subjects.get(uri)
        if subject is not None:
            return subject
        try:
            notebook = self.workspace.get_notebook_document(cell_uri=uri)
        except RuntimeError:
            return None
        return self.subjects.get(notebook.uri) if notebook is not None else None

    def _cells(self, subject: NotebookSubject) -> list[_Cell]:
        notebook = self.workspace.get_notebook_document(notebook_uri=subject.uri)
        if notebook is None:
            return []
        cells = []
        for cell in notebook.cells:
            document = self.workspace.get_text_document(cell.document)
            is_code = cell.kind == types.NotebookCellKind.Code and (document.language_id or "python") == "python"
            cells.append(_Cell(cell.document, document.version, document.source, is_code))
        return cells

    def _snapshot(self, subject: Subject) -> list[_Cell]:
        """The texts an analysis of ``subject`` reads, as they are now."""
        if isinstance(subject, TextSubject):
            return [_Cell(subject.uri, subject.version, subject.text, True)]
        return self._cells(subject)

    def request_analysis(self, subject: Subject, delay: float = DEBOUNCE_SECONDS) -> None:
        """Analyse ``subject`` once ``delay`` has passed without a further request (results of older revisions are
        dropped)."""
        if subject.closed or (isinstance(subject, TextSubject) and not subject.is_python):
            return
        loop = asyncio.get_running_loop()
        subject.due = loop.time() + delay
        if subject.task is None or subject.task.done():
            subject.task = loop.create_task(self._analysis_loop(subject))

    def changed(self, subject: Subject, delay: float = DEBOUNCE_SECONDS) -> None:
        subject.revision += 1
        self.request_analysis(subject, delay)

    def reanalyse_all(self) -> None:
        for subject in list(self.subjects.values()):
            self.changed(subject)

    async def _analysis_loop(self, subject: Subject) -> None:
        loop = asyncio.get_running_loop()
        while not subject.closed:
            while (wait := subject.due - loop.time()) > 0:
                await asyncio.sleep(wait)
            revision = subject.revision
            try:
                analysis = await self._analyse(subject, revision)
            except Exception as error:  # a bug here: logged, and the document is left as it was
                self.log(logging.ERROR, f"cannot analyse {subject.uri}: {type(error).__name__}: {error}")
                logger.exception("analysis of %s", subject.uri)
                return
            if subject.closed:
                return
            if subject.revision != revision:
                continue  # the document changed meanwhile: this result is stale, the newer text is due
            subject.analysis = analysis
            self._publish(subject, analysis)
            return

    async def current_entry(self, uri: str):
        """(subject, analysis, entry) of the document at ``uri`` as its current text is analysed, or None when it is
        not a subject, the analysis does not come in time, or it has nothing for that document."""
        subject = self.subject_of(uri)
        if subject is None:
            return None
        analysis = await self.current_analysis(subject)
        entry = analysis.entries.get(uri) if analysis is not None else None
        return None if entry is None else (subject, analysis, entry)

    async def current_analysis(self, subject: Subject) -> Analysis | None:
        """The analysis of the subject's current text (waiting for it, without the debounce); None if it does not
        come in time or the document closes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CURRENT_ANALYSIS_WAIT_SECONDS
        while not subject.closed:
            if subject.analysis is not None and subject.analysis.revision == subject.revision:
                return subject.analysis
            self.request_analysis(subject, 0)
            remaining = deadline - loop.time()
            if remaining <= 0 or subject.task is None:
                return None
            try:
                await asyncio.wait_for(asyncio.shield(subject.task), remaining)
            except asyncio.TimeoutError:
                return None
        return None

    def configuration(self, subject: Subject) -> Configuration:
        """Raises ConfigError."""
        directory = None
        if subject.path is None:
            folders = list(self.workspace.folders.values())
            directory = _path_of(folders[0].uri) if folders else (
                self.workspace.root_path if self.workspace.root_path else None)
        return self.configurations.for_document(subject.path, directory)

    async def _analyse(self, subject: Subject, revision: int) -> Analysis:
        cells = self._snapshot(subject)
        entries = {cell.uri: Entry(cell.uri, cell.version, LineIndex(cell.text)) for cell in cells if cell.is_code}
        analysis = Analysis(revision, entries, {number: cell.uri for number, cell in enumerate(cells, start=1)})
        if not entries:
            return analysis
        first = next(iter(entries.values()))
        display_path = subject.path or f"<{subject.uri}>"
        try:
            configuration = self.configuration(subject)
        except ConfigError as error:
            self.log(logging.ERROR, str(error))
            self.show_error_once(str(error))
            first.notices.append(_notice(f"invalid configuration, not checked: {error}",
                                         types.DiagnosticSeverity.Error))
            return analysis
        settings = configuration.settings
        if subject.path is not None and configuration.excludes.explicitly_named_excluded(subject.path):
            self.log(logging.DEBUG, f"{subject.path}: excluded by the configuration; not checked")
            return analysis
        size = sum(len(cell.text) for cell in cells)
        if settings.max_file_size and size * 4 > settings.max_file_size:
            size = sum(len(cell.text.encode("utf-8", "surrogatepass")) for cell in cells)
            if size > settings.max_file_size:
                message = (f"not checked: {format_size(size)} is over the size limit of "
                           f"{format_size(settings.max_file_size)} (max-file-size in [tool.{NAME}])")
                self.log(logging.INFO, f"{display_path}: {message}")
                first.notices.append(_notice(message, types.DiagnosticSeverity.Information))
                return analysis
        try:
            if isinstance(subject, TextSubject):
                result: FileResult = await self.pool.run(
                    "lint_text", cells[0].text, display_path, settings, self.generation, size=size)
            else:
                result = await self.pool.run("lint_cells", [(cell.is_code, cell.text) for cell in cells],
                                             display_path, settings, self.generation, size=size)
        except JobFailed as error:
            self.log(logging.ERROR, f"{display_path}: {error}")
            position = Position(1, 0)
            failure = Finding(display_path, position, position, PARSE_ERROR_CODE,
                              f"internal error while analysing ({error}); not analysed, please report it with "
                              "this file")
            first.findings.append(failure)
            return analysis
        if result.skipped:
            self.log(logging.INFO, f"{display_path}: skipped: {result.skipped}")
        found = ([result.error] if result.error is not None else []) + list(result.findings)
        for finding in found:
            if finding.cell is None:
                first.findings.append(finding)
            elif 0 < finding.cell <= len(cells) and cells[finding.cell - 1].uri in entries:
                entries[cells[finding.cell - 1].uri].findings.append(finding)
        return analysis

    # -- diagnostics ---------------------------------------------------------------------------------------------------

    def _publish(self, subject: Subject, analysis: Analysis) -> None:
        cell_uris = _cell_uris(analysis)
        for uri, entry in analysis.entries.items():
            diagnostics = entry.notices + [self.diagnostic(entry, finding, analysis, cell_uris)
                                           for finding in entry.findings]
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=entry.version))
        for uri in subject.published - set(analysis.entries):  # cells deleted since
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        subject.published = set(analysis.entries)

    def clear(self, subject: Subject) -> None:
        for uri in subject.published:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        subject.published = set()

    def files_changed(self, configuration: bool = False) -> None:
        """Files on disk changed (a save, the editor's file watcher): other documents may import them, and their
        analysis reads them from disk, so every open document is analysed again."""
        if configuration:
            self.configurations.forget()
        self.generation += 1
        self.reanalyse_all()

    def close(self, uri: str) -> None:
        """A document or notebook the client closed: no more analyses of it, and its diagnostics withdrawn."""
        subject = self.subjects.pop(uri, None)
        if subject is not None:
            subject.closed = True
            self.clear(subject)

    def range_of(self, index: LineIndex, start: Position, end: Position, widen: bool = False) -> types.Range:
        first, last = index.offset_of(start), index.offset_of(end)
        if widen and last <= first:  # a point (a syntax error): underline the character there
            line = index.position(first, self.encoding)[0]
            last = min(first + 1, index.line_end(line))
        return self.range(index, first, last)

    def range(self, index: LineIndex, start: int, end: int) -> types.Range:
        (start_line, start_character), (end_line, end_character) = (
            index.position(start, self.encoding), index.position(end, self.encoding))
        return types.Range(types.Position(start_line, start_character), types.Position(end_line, end_character))

    def diagnostic(self, entry: Entry, finding: Finding, analysis: Analysis,
                   cell_uris: dict[int, str] | None = None) -> types.Diagnostic:
        rule = RULES_BY_CODE.get(finding.code)
        # Findings only --strict reports are less likely to matter (as in SARIF, where they are warnings rather
        # than errors).
        severity = types.DiagnosticSeverity.Information if finding.strict_only else types.DiagnosticSeverity.Warning
        diagnostic = types.Diagnostic(
            range=self.range_of(entry.index, finding.start, finding.end, widen=True),
            message=finding.message,
            severity=severity,
            code=finding.code,
            code_description=types.CodeDescription(href=rule_url(rule)) if rule is not None else None,
            source=NAME,
        )
        if finding.sink_start is not None and self.related_information:
            sink_uri = entry.uri
            if finding.cell is not None and finding.sink_cell != finding.cell:
                sink_uri = (cell_uris or {}).get(finding.sink_cell or 0)
            different_line = sink_uri != entry.uri or finding.sink_start.line != finding.start.line
            sink_entry = analysis.entries.get(sink_uri) if sink_uri else None
            if different_line and sink_entry is not None:
                diagnostic.related_information = [types.DiagnosticRelatedInformation(
                    location=types.Location(uri=sink_uri, range=self.range_of(
                        sink_entry.index, finding.sink_start, finding.sink_end or finding.sink_start)),
                    message=sink_words(finding),
                )]
        return diagnostic

    # -- edits ---------------------------------------------------------------------------------------------------------

    def workspace_edit(self, changes: Iterable[tuple[Entry, list[TextEdit]]]) -> types.WorkspaceEdit:
        """Edits of several documents, each tied to the version it was computed for where the client allows."""
        converted = [(entry, [types.TextEdit(range=self.range(entry.index, edit.start, edit.end),
                                             new_text=edit.new_text) for edit in edits])
                     for entry, edits in changes if edits]
        if self.versioned_edits:
            return types.WorkspaceEdit(document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=entry.uri, version=entry.version),
                    edits=edits)
                for entry, edits in converted])
        return types.WorkspaceEdit(changes={entry.uri: edits for entry, edits in converted})

    def quick_fixes(self, entry: Entry, analysis: Analysis, finding: Finding) -> list[types.CodeAction]:
        diagnostic = self.diagnostic(entry, finding, analysis, _cell_uris(analysis))
        label = f"{NAME} ({finding.code})"
        actions = []
        if finding.fix is not None and finding.fix.edits:
            edits = [TextEdit(entry.index.offset_of(edit.start), entry.index.offset_of(edit.end), edit.text)
                     for edit in finding.fix.edits]
            safe = finding.fix.applicability == "safe"
            actions.append(types.CodeAction(
                title=f"{label}: {finding.fix.description}{'' if safe else ' (unsafe fix)'}: {finding.fix.replacement}",
                kind=QUICK_FIX_KIND, diagnostics=[diagnostic], is_preferred=safe,
                edit=self.workspace_edit([(entry, edits)])))
        if entry.commentable(finding.line):
            edit = noqa_edit(entry.index, finding.line, finding.code, NOQA_PATTERN)
            if edit is not None:
                actions.append(types.CodeAction(
                    title=f"{label}: add `# noqa: {finding.code}` to this line",
                    kind=QUICK_FIX_KIND, diagnostics=[diagnostic], edit=self.workspace_edit([(entry, [edit])])))
        return actions

    def fix_all_action(self, subject: Subject, edit: types.WorkspaceEdit | None) -> types.CodeAction:
        return types.CodeAction(title=f"{NAME}: fix all {NAME} findings in this file", kind=FIX_ALL_KIND,
                                edit=edit, data={"uri": subject.uri} if edit is None else None)

    async def fix_all_edit(self, subject: Subject) -> types.WorkspaceEdit | None:
        """The edit that applies every exact rewrite in the subject (``tflint-nan --fix``), computed on its current
        text; None when it cannot be had (the document closed, or cannot be analysed)."""
        analysis = await self.current_analysis(subject)
        if analysis is None:
            return None
        if subject.fix_all is not None and subject.fix_all[0] == analysis.revision:
            return subject.fix_all[1]
        cells = self._snapshot(subject)
        if any(cell.uri in analysis.entries and analysis.entries[cell.uri].version != cell.version for cell in cells):
            return None  # changed while waiting; the client asks again for the new text
        try:
            configuration = self.configuration(subject)
        except ConfigError:
            return None
        display_path = subject.path or f"<{subject.uri}>"
        size = sum(len(cell.text) for cell in cells)
        try:
            if isinstance(subject, TextSubject):
                fixed = await self.pool.run("fix_text", cells[0].text, display_path, configuration.settings,
                                            self.generation, size=size)
                new_texts = {cells[0].uri: fixed} if fixed is not None else {}
            else:
                by_number = await self.pool.run("fix_cells", [(cell.is_code, cell.text) for cell in cells],
                                                display_path, configuration.settings, self.generation, size=size)
                new_texts = {cells[number - 1].uri: text for number, text in by_number.items()}
        except JobFailed as error:
            self.log(logging.ERROR, f"{display_path}: fix-all failed: {error}")
            return None
        changes = [(entry, line_edits(entry.index.text, new_texts[uri]))
                   for uri, entry in analysis.entries.items() if uri in new_texts]
        edit = self.workspace_edit(changes)
        subject.fix_all = (analysis.revision, edit)
        return edit


def _notice(message: str, severity: types.DiagnosticSeverity) -> types.Diagnostic:
    start = types.Position(0, 0)
    return types.Diagnostic(range=types.Range(start, start), message=message, severity=severity, source=NAME)


def _cell_uris(analysis: Analysis) -> dict[int, str]:
    return analysis.cell_uris


def _wants(only: list[str] | None, kind: str) -> bool:
    """Whether a code action of ``kind`` answers a request for the kinds ``only`` (None: every kind)."""
    if not only:
        return True
    return any(kind == wanted or kind.startswith(f"{wanted}.") for wanted in only)


def _overlaps(start: int, end: int, first: int, last: int) -> bool:
    return start <= last and first <= end


# -- handlers ----------------------------------------------------------------------------------------------------------

def create_server(workers: int | None = None) -> TflintNanServer:
    server = TflintNanServer(workers)

    @server.feature(types.INITIALIZE)
    def initialize(ls: TflintNanServer, params: types.InitializeParams) -> None:
        ls.encoding = str(getattr(ls.workspace.position_encoding, "value", ls.workspace.position_encoding) or UTF16)
        ls.pool.start()
        logger.info("initialised for %s (positions in %s)",
                    params.client_info.name if params.client_info else "an unnamed client", ls.encoding)

    @server.feature(types.INITIALIZED)
    def initialized(ls: TflintNanServer, params: types.InitializedParams) -> None:
        if not ls._capability("workspace", "did_change_watched_files", "dynamic_registration"):
            return
        watchers = [types.FileSystemWatcher(glob_pattern=f"**/{CONFIG_FILE_NAME}"),
                    types.FileSystemWatcher(glob_pattern="**/*.py"),
                    types.FileSystemWatcher(glob_pattern="**/*.pyi")]
        registration = types.Registration(
            id=f"{NAME}-watched-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers))

        def registered(future) -> None:
            if future.exception() is not None:
                ls.log(logging.WARNING, f"the client did not watch the project's files: {future.exception()}")

        ls.client_register_capability(types.RegistrationParams(registrations=[registration])).add_done_callback(
            registered)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: TflintNanServer, params: None) -> None:
        ls.shutdown_requested = True
        for subject in ls.subjects.values():
            subject.closed = True
            if subject.task is not None:
                subject.task.cancel()
        ls.pool.close()

    @server.feature(types.EXIT)
    def exit_(ls: TflintNanServer, params: None) -> None:
        ls.exit_code = 0 if ls.shutdown_requested else 1
        ls.pool.close()

    # text documents

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: TflintNanServer, params: types.DidOpenTextDocumentParams) -> None:
        document = params.text_document
        previous = ls.subjects.get(document.uri)
        if previous is not None:
            previous.closed = True
        subject = TextSubject(document.uri, _path_of(document.uri), language_id=document.language_id,
                              version=document.version, text=document.text)
        ls.subjects[document.uri] = subject
        ls.changed(subject, delay=0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: TflintNanServer, params: types.DidChangeTextDocumentParams) -> None:
        subject = ls.subjects.get(params.text_document.uri)
        if not isinstance(subject, TextSubject):
            ls.log(logging.WARNING, f"didChange for a document that is not open: {params.text_document.uri}")
            return
        text = subject.text
        for change in params.content_changes:
            change_range = getattr(change, "range", None)
            if change_range is None:
                text = change.text
            else:
                text = apply_content_change(
                    text, LineIndex(text), (change_range.start.line, change_range.start.character),
                    (change_range.end.line, change_range.end.character), change.text, ls.encoding)
        subject.text, subject.version = text, params.text_document.version
        ls.changed(subject)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: TflintNanServer, params: types.DidSaveTextDocumentParams) -> None:
        path = _path_of(params.text_document.uri)
        ls.files_changed(configuration=path is not None and os.path.basename(path) == CONFIG_FILE_NAME)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TflintNanServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.close(params.text_document.uri)

    # notebooks (pygls's workspace has applied each change when these run)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_did_open(ls: TflintNanServer, params: types.DidOpenNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        subject = NotebookSubject(uri, _path_of(uri))
        ls.subjects[uri] = subject
        ls.changed(subject, delay=0)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_did_change(ls: TflintNanServer, params: types.DidChangeNotebookDocumentParams) -> None:
        subject = ls.subjects.get(params.notebook_document.uri)
        if subject is not None:
            ls.changed(subject)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_did_save(ls: TflintNanServer, params: types.DidSaveNotebookDocumentParams) -> None:
        ls.files_changed()

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_did_close(ls: TflintNanServer, params: types.DidCloseNotebookDocumentParams) -> None:
        ls.close(params.notebook_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files_changed(ls: TflintNanServer, params: types.DidChangeWatchedFilesParams) -> None:
        names = {os.path.basename(unquote(urlparse(change.uri).path)) for change in params.changes}
        ls.files_changed(configuration=CONFIG_FILE_NAME in names)

    # code actions

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND], resolve_provider=True))
    async def code_action(ls: TflintNanServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        found = await ls.current_entry(params.text_document.uri)
        if found is None:
            return None
        subject, analysis, entry = found
        only = params.context.only
        actions: list[types.CodeAction] = []
        if _wants(only, QUICK_FIX_KIND):
            first = entry.index.offset(params.range.start.line, params.range.start.character, ls.encoding)
            last = entry.index.offset(params.range.end.line, params.range.end.character, ls.encoding)
            for finding in entry.findings:
                if finding.code == PARSE_ERROR_CODE:
                    continue
                if _overlaps(entry.index.offset_of(finding.start), entry.index.offset_of(finding.end), first, last):
                    actions += ls.quick_fixes(entry, analysis, finding)
        if _wants(only, FIX_ALL_KIND) and analysis.fixable:
            edit = None if ls.resolves_edits else await ls.fix_all_edit(subject)
            if ls.resolves_edits or edit is not None:
                actions.append(ls.fix_all_action(subject, edit))
        return actions

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve_code_action(ls: TflintNanServer, action: types.CodeAction) -> types.CodeAction:
        data = action.data if isinstance(action.data, dict) else {}
        subject = ls.subject_of(data.get("uri", "")) if isinstance(data.get("uri"), str) else None
        if action.kind == FIX_ALL_KIND and subject is not None and action.edit is None:
            action.edit = await ls.fix_all_edit(subject) or types.WorkspaceEdit(
                document_changes=[] if ls.versioned_edits else None, changes=None if ls.versioned_edits else {})
        return action

    # hover

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: TflintNanServer, params: types.HoverParams) -> types.Hover | None:
        found = await ls.current_entry(params.text_document.uri)
        if found is None:
            return None
        _, _, entry = found
        offset = entry.index.offset(params.position.line, params.position.character, ls.encoding)
        codes: list[str] = []
        hover_range = None
        for finding in entry.findings:
            first, last = entry.index.offset_of(finding.start), entry.index.offset_of(finding.end)
            if first <= offset <= last and finding.code not in codes:
                codes.append(finding.code)
                hover_range = hover_range or ls.range_of(entry.index, finding.start, finding.end)
        if not codes:  # a rule code in a comment ("noqa: TFN001") explains itself too
            line = entry.index.position(offset, UTF16)[0]
            start = entry.index.starts[line]
            for match in _RULE_CODE.finditer(entry.index.text, start, entry.index.line_end(line)):
                if match.start() <= offset <= match.end() and match.group().upper() in RULES_BY_CODE:
                    codes.append(match.group().upper())
                    hover_range = ls.range(entry.index, match.start(), match.end())
        if not codes:
            return None
        rules = [RULES_BY_CODE[code] for code in codes if code in RULES_BY_CODE]
        if ls.markdown_hover:
            value = "\n\n---\n\n".join(f"```text\n{explain(rule)}```\n\n[{rule.code} {rule.name}]({rule_url(rule)})"
                                       for rule in rules)
            contents = types.MarkupContent(kind=types.MarkupKind.Markdown, value=value)
        else:
            contents = types.MarkupContent(kind=types.MarkupKind.PlainText,
                                           value="\n".join(f"{explain(rule)}\n{rule_url(rule)}\n" for rule in rules))
        return types.Hover(contents=contents, range=hover_range)

    return server


# -- the command -------------------------------------------------------------------------------------------------------

def serve(argv: list[str]) -> int:
    """``tflint-nan server``: serve one client over standard input and output until it exits."""
    parser = argparse.ArgumentParser(
        prog=f"{NAME} server",
        description="Run the tflint-nan language server over standard input and output (the Language Server "
                    "Protocol): diagnostics as you type, quick fixes with the exact rewrites, fix-all, hover "
                    "documentation. Editors start it themselves; see docs/editors.md.")
    parser.add_argument("--log-level", choices=("error", "warning", "info", "debug"), default="warning",
                        help="what to log on standard error, which editors show in the server's log "
                             "(default: warning)")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(asctime)s tflint-nan %(levelname)s: %(message)s")
    # The protocol owns standard output: a stray print (here or in a worker, which inherits the descriptor) would
    # corrupt it, so descriptor 1 goes to standard error and the protocol writes to a copy of the original.
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    server = create_server()
    started = time.monotonic()
    try:
        server.start_io(sys.stdin.buffer, protocol_out)
    finally:
        server.pool.close()
    logger.info("stopped after %.0f seconds", time.monotonic() - started)
    if server.exit_code is None:  # the client went away without exit
        return 0 if server.shutdown_requested else 1
    return server.exit_code
