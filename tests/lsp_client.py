"""A language client for the server's tests: pytest-lsp's, recording every ``publishDiagnostics`` it receives.

The server runs as a user's editor runs it, ``python -m tflint_nan server``, over standard input and output.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

ROOT = Path(__file__).resolve().parent.parent
SERVER_COMMAND = [sys.executable, "-m", "tflint_nan", "server"]
SERVER_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
WAIT_SECONDS = 90  # a busy two-core machine starts the server, its workers and LibCST slowly


class RecordingClient(LanguageClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.published: list[types.PublishDiagnosticsParams] = []
        self.registrations: list[types.Registration] = []


def make_client() -> RecordingClient:
    client = RecordingClient(converter_factory=default_converter)

    def publish_diagnostics(client: RecordingClient, params: types.PublishDiagnosticsParams) -> None:
        client.diagnostics[params.uri] = params.diagnostics
        client.published.append(params)

    def register_capability(client: RecordingClient, params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)

    features = {method: function for method, function in DEFAULT_CLIENT_FEATURES.items()
                if method != types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS}
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish_diagnostics
    features[types.CLIENT_REGISTER_CAPABILITY] = register_capability
    register_lsp_features(client, features)
    return client


def capabilities(*, encodings: list[str] | None = None, resolve: bool = True, versioned_edits: bool = True,
                 markdown: bool = True, related_information: bool = True, watch: bool = True,
                 notebooks: bool = False) -> types.ClientCapabilities:
    """What a client such as VS Code says it can do (the arguments take parts away)."""
    code_action = types.CodeActionClientCapabilities(
        code_action_literal_support=types.ClientCodeActionLiteralOptions(
            code_action_kind=types.ClientCodeActionKindOptions(value_set=[
                types.CodeActionKind.QuickFix, types.CodeActionKind.Source, types.CodeActionKind.SourceFixAll])),
        is_preferred_support=True,
        data_support=resolve,
        resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]) if resolve else None,
    )
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=encodings) if encodings else None,
        workspace=types.WorkspaceClientCapabilities(
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=versioned_edits),
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=watch),
        ),
        text_document=types.TextDocumentClientCapabilities(
            synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                related_information=related_information, version_support=True,
                code_description_support=True, data_support=True),
            code_action=code_action,
            hover=types.HoverClientCapabilities(
                content_format=[types.MarkupKind.Markdown, types.MarkupKind.PlainText] if markdown
                else [types.MarkupKind.PlainText]),
        ),
        notebook_document=types.NotebookDocumentClientCapabilities(
            synchronization=types.NotebookDocumentSyncClientCapabilities()) if notebooks else None,
    )


async def initialize(client: RecordingClient, root: Path | None = None, **options) -> types.InitializeResult:
    return await client.initialize_session(types.InitializeParams(
        capabilities=capabilities(**options),
        root_uri=root.as_uri() if root is not None else None,
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)] if root is not None else None,
        client_info=types.ClientInfo(name="tflint-nan tests"),
    ))


def open_document(client: RecordingClient, path: Path, text: str, version: int = 1,
                  language_id: str = "python") -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language_id, version=version, text=text)))
    return uri


def replace_text(client: RecordingClient, uri: str, text: str, version: int) -> None:
    """A didChange that sends the whole new text."""
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


def change_range(client: RecordingClient, uri: str, version: int, edits: list[types.TextEdit]) -> None:
    """A didChange that sends ``edits`` as incremental changes (from the last to the first, so each range still
    means what it meant in the text the edits were computed for)."""
    ordered = sorted(edits, key=lambda edit: (edit.range.start.line, edit.range.start.character), reverse=True)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)
                         for edit in ordered]))


def mark(client: RecordingClient) -> int:
    """A point in the stream of published diagnostics: ``published(..., after=mark(client))`` waits for a newer
    one."""
    return len(client.published)


async def published(client: RecordingClient, uri: str, version: int | None = None, after: int = 0,
                    timeout: float = WAIT_SECONDS) -> list[types.Diagnostic]:
    """The diagnostics of the first publication for ``uri`` after ``after`` (for ``version``, if given)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for params in client.published[after:]:
            if params.uri == uri and (version is None or params.version == version):
                return list(params.diagnostics)
        if asyncio.get_running_loop().time() > deadline:
            seen = [(params.uri, params.version) for params in client.published[after:]]
            raise AssertionError(f"no diagnostics for {uri} version {version} within {timeout} s; got {seen}")
        await asyncio.sleep(0.01)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def offset(text: str, position: types.Position, encoding: str = "utf-16") -> int:
    """The index into ``text`` of a protocol position (written independently of the server's own conversion)."""
    starts = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]
    start = starts[position.line]
    units = 0
    index = start
    while units < position.character:
        units += len(text[index].encode("utf-16-le" if encoding == "utf-16" else encoding)) // (
            2 if encoding == "utf-16" else 1)
        index += 1
    return index


def position(text: str, index: int, encoding: str = "utf-16") -> types.Position:
    starts = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]
    line = max(number for number, start in enumerate(starts) if start <= index)
    before = text[starts[line]:index]
    units = len(before.encode("utf-16-le")) // 2 if encoding == "utf-16" else len(before.encode(encoding))
    return types.Position(line=line, character=units)


def span(text: str, needle: str, encoding: str = "utf-16") -> types.Range:
    """The protocol range of the only occurrence of ``needle`` in ``text``."""
    assert text.count(needle) == 1, needle
    start = text.index(needle)
    return types.Range(start=position(text, start, encoding), end=position(text, start + len(needle), encoding))


def apply(text: str, edits: list[types.TextEdit], encoding: str = "utf-16") -> str:
    for edit in sorted(edits, key=lambda edit: (edit.range.start.line, edit.range.start.character), reverse=True):
        start, end = offset(text, edit.range.start, encoding), offset(text, edit.range.end, encoding)
        text = text[:start] + edit.new_text + text[end:]
    return text


def edits_for(edit: types.WorkspaceEdit, uri: str) -> tuple[int | None, list[types.TextEdit]]:
    """(the version the edits were made for, the edits) of one document in a workspace edit."""
    if edit.document_changes is not None:
        for change in edit.document_changes:
            if change.text_document.uri == uri:
                return change.text_document.version, list(change.edits)
        return None, []
    return None, list((edit.changes or {}).get(uri, []))
