"""``tflint-nan server`` driven end to end by a real language client (pytest-lsp) over standard input and output.

Each test starts the server as an editor does (``python -m tflint_nan server``), opens documents that live in a
temporary project, and checks what comes back: diagnostics, code actions and their edits (applied here as a
client applies them), hover, and what the server does with configuration, bad input and shutdown.
"""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest
import pytest_lsp
from command import BUGGY, FIXED, ROOT, tflint_nan, write
from lsp_client import (
    SERVER_COMMAND,
    SERVER_ENV,
    RecordingClient,
    apply,
    change_range,
    edits_for,
    initialize,
    make_client,
    mark,
    open_document,
    published,
    replace_text,
    span,
)
from lsprotocol import types
from pytest_lsp import ClientServerConfig

# The seed: a hand-written ELU, whose tf.exp overflows on the elements tf.where discards.
ELU = (
    "import tensorflow as tf\n\n\n"
    "def elu(x):\n"
    "    return tf.where(x > 0, x, tf.exp(x) - 1)\n"
)
ELU_FIXED = ELU.replace("tf.exp(x)", "tf.exp(tf.minimum(x, 0.))")
# The same, formatted over several lines: the select is on another line than the op.
ELU_MULTILINE = (
    "import tensorflow as tf\n\n\n"
    "def custom_activation(x):\n"
    "    cond = tf.greater(x, tf.constant(0.0))\n"
    "    return tf.where(cond,\n"
    "                    x,\n"
    "                    tf.subtract(tf.exp(x), tf.constant(1.0)))\n"
)
CLEAN = "import tensorflow as tf\n\n\ndef relu(x):\n    return tf.nn.relu(x)\n"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=SERVER_ENV,
                                              client_factory=make_client))
async def client(lsp_client: RecordingClient):
    yield
    if lsp_client._server is not None and lsp_client._server.returncode is None:  # (a test may have ended it)
        await lsp_client.shutdown_session()


async def code_actions(client: RecordingClient, uri: str, where: types.Range,
                       only: list[str] | None = None) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=where,
        context=types.CodeActionContext(diagnostics=[], only=only)))
    return list(result or [])


async def hover(client: RecordingClient, uri: str, at: types.Position) -> types.Hover | None:
    return await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=at))


# -- initialise, diagnose, fix -----------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_initialize_announces_what_the_server_does(client, tmp_path):
    result = await initialize(client, tmp_path)
    assert result.server_info.name == "tflint-nan"
    capabilities = result.capabilities
    assert capabilities.position_encoding == types.PositionEncodingKind.Utf16
    assert capabilities.text_document_sync.change == types.TextDocumentSyncKind.Incremental
    assert capabilities.text_document_sync.open_close and capabilities.text_document_sync.save
    assert capabilities.code_action_provider.resolve_provider
    assert set(capabilities.code_action_provider.code_action_kinds) == {"quickfix", "source.fixAll.tflint-nan"}
    assert capabilities.hover_provider
    # the project's files are watched, for configuration changes and re-exported TensorFlow names
    await asyncio.sleep(0.5)
    assert [registration.method for registration in client.registrations] == ["workspace/didChangeWatchedFiles"]


@pytest.mark.asyncio
async def test_the_elu_gets_a_tfn001_with_a_quick_fix_that_removes_it(client, tmp_path):
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", ELU)
    [diagnostic] = await published(client, uri, version=1)
    assert diagnostic.range == span(ELU, "tf.exp(x)")
    assert diagnostic.code == "TFN001"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert diagnostic.source == "tflint-nan"
    assert diagnostic.code_description.href.endswith("docs/rules.md#tfn001-exp-overflow-in-select")
    assert diagnostic.message.startswith("tf.exp(x) in the false branch of tf.where is evaluated where `x > 0`")
    assert diagnostic.message.endswith("Clamp the input: tf.exp(tf.minimum(x, 0.))")
    assert diagnostic.related_information is None  # the select is on the op's line

    actions = await code_actions(client, uri, diagnostic.range)
    fix, noqa, fix_all = actions
    assert fix.kind == "quickfix" and fix.is_preferred
    assert fix.title == "tflint-nan (TFN001): Clamp the input: tf.exp(tf.minimum(x, 0.))"
    assert list(fix.diagnostics) == [diagnostic]
    assert noqa.kind == "quickfix" and not noqa.is_preferred
    assert fix_all.kind == "source.fixAll.tflint-nan"

    version, edits = edits_for(fix.edit, uri)
    assert version == 1  # the edit is only for the text it was computed on
    assert apply(ELU, edits) == ELU_FIXED
    after = mark(client)
    change_range(client, uri, 2, edits)  # as the client applies a workspace edit: incremental changes
    assert await published(client, uri, version=2, after=after) == []


@pytest.mark.asyncio
async def test_a_change_gets_fresh_diagnostics(client, tmp_path):
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", CLEAN)
    assert await published(client, uri, version=1) == []
    replace_text(client, uri, ELU, 2)
    [diagnostic] = await published(client, uri, version=2)
    assert diagnostic.code == "TFN001" and diagnostic.range == span(ELU, "tf.exp(x)")
    # an incremental change: the op moves right by the characters inserted before it
    insert = types.TextEdit(range=span(ELU, "x > 0"), new_text="x >= 0.0")
    change_range(client, uri, 3, [insert])
    text = apply(ELU, [insert])
    [diagnostic] = await published(client, uri, version=3)
    assert diagnostic.range == span(text, "tf.exp(x)")
    assert "where `x >= 0.0`" in diagnostic.message


@pytest.mark.asyncio
async def test_results_for_superseded_versions_are_dropped(client, tmp_path):
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", ELU)
    await published(client, uri, version=1)
    after = mark(client)
    for version in range(2, 12):  # typing: each keystroke a new version
        replace_text(client, uri, ELU + "#" * version + "\n", version)
    await published(client, uri, version=11, after=after)
    await asyncio.sleep(0.5)
    assert [params.version for params in client.published[after:]] == [11]


@pytest.mark.asyncio
async def test_the_sink_on_another_line_is_related_information(client, tmp_path):
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "activation.py", ELU_MULTILINE)
    [diagnostic] = await published(client, uri, version=1)
    assert diagnostic.range == span(ELU_MULTILINE, "tf.exp(x)")
    assert "(line 6)" in diagnostic.message
    [related] = diagnostic.related_information
    assert related.location.uri == uri
    assert related.location.range.start == span(ELU_MULTILINE, "tf.where").start
    assert related.location.range.end.line == 7
    assert related.message == "tf.where: discards the elements where `x > tf.constant(0.0)`"


@pytest.mark.asyncio
async def test_fix_all_applies_every_rewrite(client, tmp_path):
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", BUGGY)
    assert [d.code for d in await published(client, uri, version=1)] == ["TFN001", "TFN002"]
    [action] = await code_actions(client, uri, types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
                                  only=["source.fixAll"])
    assert action.kind == "source.fixAll.tflint-nan" and action.edit is None  # computed when resolved
    resolved = await client.code_action_resolve_async(action)
    version, edits = edits_for(resolved.edit, uri)
    assert version == 1
    assert apply(BUGGY, edits) == FIXED  # what `tflint-nan --fix` writes
    after = mark(client)
    change_range(client, uri, 2, edits)
    assert await published(client, uri, version=2, after=after) == []
    # nothing left to fix: no fix-all on offer
    assert await code_actions(client, uri, types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
                              only=["source.fixAll"]) == []


@pytest.mark.asyncio
async def test_fix_all_without_resolve_support_comes_with_its_edit(client, tmp_path):
    await initialize(client, tmp_path, resolve=False, versioned_edits=False)
    uri = open_document(client, tmp_path / "model.py", BUGGY)
    await published(client, uri, version=1)
    [action] = await code_actions(client, uri, types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
                                  only=["source.fixAll.tflint-nan"])
    version, edits = edits_for(action.edit, uri)
    assert version is None and action.edit.document_changes is None  # the client takes plain `changes`
    assert apply(BUGGY, edits) == FIXED


@pytest.mark.asyncio
async def test_a_finding_without_exact_rewrite_says_why_and_offers_only_noqa(client, tmp_path):
    text = "import tensorflow as tf\n\n\ndef f(x):\n    return tf.where(x < 0., 2. ** x, x + 1.)\n"
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", text)
    [diagnostic] = await published(client, uri, version=1)
    assert diagnostic.range == span(text, "2. ** x")
    assert "No exact rewrite is known here: the exponent `x` is not known to be a tensor" in diagnostic.message
    # the message is the command line's, word for word
    assert f"TFN001 {diagnostic.message}" in tflint_nan("-", stdin=text).stdout
    actions = await code_actions(client, uri, diagnostic.range)
    assert [action.title for action in actions] == ["tflint-nan (TFN001): add `# noqa: TFN001` to this line"]


# -- noqa --------------------------------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_noqa_action_silences_the_finding(client, tmp_path):
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", ELU)
    [diagnostic] = await published(client, uri, version=1)
    [noqa] = [action for action in await code_actions(client, uri, diagnostic.range) if "noqa" in action.title]
    _, edits = edits_for(noqa.edit, uri)
    text = apply(ELU, edits)
    assert text == ELU.replace("- 1)\n", "- 1)  # noqa: TFN001\n")
    after = mark(client)
    change_range(client, uri, 2, edits)
    assert await published(client, uri, version=2, after=after) == []


@pytest.mark.asyncio
async def test_noqa_action_extends_an_existing_noqa_comment(client, tmp_path):
    text = ELU.replace("- 1)\n", "- 1)  # noqa: E501\n")
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", text)
    [diagnostic] = await published(client, uri, version=1)
    [noqa] = [action for action in await code_actions(client, uri, diagnostic.range) if "noqa" in action.title]
    _, edits = edits_for(noqa.edit, uri)
    assert apply(text, edits) == ELU.replace("- 1)\n", "- 1)  # noqa: E501, TFN001\n")


@pytest.mark.asyncio
async def test_noqa_comments_are_honoured(client, tmp_path):
    await initialize(client, tmp_path)
    silenced = open_document(client, tmp_path / "a.py", ELU.replace("- 1)\n", "- 1)  # noqa: TFN001\n"))
    other_code = open_document(client, tmp_path / "b.py", ELU.replace("- 1)\n", "- 1)  # noqa: TFN002\n"))
    assert await published(client, silenced, version=1) == []
    assert [d.code for d in await published(client, other_code, version=1)] == ["TFN001"]


# -- hover -------------------------------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_hover_explains_the_rule_as_tflint_nan_rule_prints_it(client, tmp_path):
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", ELU)
    [diagnostic] = await published(client, uri, version=1)
    printed = tflint_nan("rule", "TFN001").stdout
    assert printed.startswith("TFN001 (exp-overflow-in-select)")
    result = await hover(client, uri, diagnostic.range.start)
    assert result.contents.kind == types.MarkupKind.Markdown
    assert f"```text\n{printed}```" in result.contents.value
    assert "docs/rules.md#tfn001-exp-overflow-in-select" in result.contents.value
    assert result.range == diagnostic.range
    assert await hover(client, uri, types.Position(line=0, character=0)) is None


@pytest.mark.asyncio
async def test_hover_in_plain_text_and_on_a_noqa_code(client, tmp_path):
    text = "x = 1  # noqa: TFN003\n"
    await initialize(client, tmp_path, markdown=False)
    uri = open_document(client, tmp_path / "model.py", text)
    await published(client, uri, version=1)
    result = await hover(client, uri, span(text, "TFN003").start)
    assert result.contents.kind == types.MarkupKind.PlainText
    assert result.contents.value.startswith(tflint_nan("rule", "TFN003").stdout)


# -- positions ---------------------------------------------------------------------------------------------------------

WIDE = (
    "import tensorflow as tf\n\n\n"
    "def elu(x):\n"
    "    label = 'é😀'; return tf.where(x > 0, x, tf.exp(x) - 1)\n"
)


@pytest.mark.asyncio
async def test_columns_are_utf16_code_units(client, tmp_path):
    result = await initialize(client, tmp_path)
    assert result.capabilities.position_encoding == "utf-16"
    uri = open_document(client, tmp_path / "model.py", WIDE)
    [diagnostic] = await published(client, uri, version=1)
    line = WIDE.splitlines()[4]
    # é is one UTF-16 unit, the emoji two (a surrogate pair): one more unit than characters
    assert diagnostic.range.start.character == line.index("tf.exp(x)") + 1
    assert diagnostic.range == span(WIDE, "tf.exp(x)")
    [fix, *_] = await code_actions(client, uri, diagnostic.range)
    _, edits = edits_for(fix.edit, uri)
    assert apply(WIDE, edits) == WIDE.replace("tf.exp(x)", "tf.exp(tf.minimum(x, 0.))")


@pytest.mark.asyncio
async def test_utf8_positions_when_the_client_offers_them(client, tmp_path):
    result = await initialize(client, tmp_path, encodings=["utf-32", "utf-8", "utf-16"])
    assert result.capabilities.position_encoding == "utf-8"
    uri = open_document(client, tmp_path / "model.py", WIDE)
    [diagnostic] = await published(client, uri, version=1)
    line = WIDE.splitlines()[4]
    assert diagnostic.range.start.character == len(line[:line.index("tf.exp(x)")].encode("utf-8"))
    assert diagnostic.range == span(WIDE, "tf.exp(x)", "utf-8")
    [fix, *_] = await code_actions(client, uri, diagnostic.range)
    _, edits = edits_for(fix.edit, uri)
    assert apply(WIDE, edits, "utf-8") == WIDE.replace("tf.exp(x)", "tf.exp(tf.minimum(x, 0.))")
    # an incremental change in UTF-8 units, right after the emoji
    label = span(WIDE, "'é😀'", "utf-8")
    insert = types.TextEdit(range=types.Range(start=label.end, end=label.end), new_text=" + 'ü'")
    change_range(client, uri, 2, [insert])
    text = WIDE.replace("'é😀'", "'é😀' + 'ü'")
    [diagnostic] = await published(client, uri, version=2)
    assert diagnostic.range == span(text, "tf.exp(x)", "utf-8")


@pytest.mark.asyncio
async def test_form_feeds_and_line_separators_do_not_end_lines(client, tmp_path):
    text = "import tensorflow as tf\n\x0c\n# a\u2028b\ndef elu(x):\r\n    return tf.where(x > 0, x, tf.exp(x) - 1)\r\n"
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", text)
    [diagnostic] = await published(client, uri, version=1)
    assert diagnostic.range == span(text, "tf.exp(x)")
    assert diagnostic.range.start.line == 4


# -- configuration -----------------------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_the_files_own_project_configuration_applies_and_is_read_again(client, tmp_path):
    ignoring = write(tmp_path / "ignoring", "pyproject.toml", '[tool.tflint-nan]\nignore = ["TFN001"]\n')
    write(tmp_path / "default", "pyproject.toml", '[tool.tflint-nan]\nstrict = false\n')
    await initialize(client, tmp_path)
    quiet = open_document(client, tmp_path / "ignoring" / "pkg" / "model.py", ELU)
    loud = open_document(client, tmp_path / "default" / "model.py", ELU)
    assert await published(client, quiet, version=1) == []
    assert [d.code for d in await published(client, loud, version=1)] == ["TFN001"]

    # the configuration changes on disk; the client reports it (the server asked it to watch pyproject.toml)
    after = mark(client)
    ignoring.write_text('[tool.tflint-nan]\nignore = ["TFN002"]\n')
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=ignoring.as_uri(), type=types.FileChangeType.Changed)]))
    assert [d.code for d in await published(client, quiet, version=1, after=after)] == ["TFN001"]


@pytest.mark.asyncio
async def test_an_edited_configuration_applies_from_the_next_change_without_notification(client, tmp_path):
    config = write(tmp_path, "pyproject.toml", '[tool.tflint-nan]\nignore = ["TFN001"]\n')
    await initialize(client, tmp_path, watch=False)
    uri = open_document(client, tmp_path / "model.py", ELU)
    assert await published(client, uri, version=1) == []
    config.write_text('[tool.tflint-nan]\nselect = ["TFN001"]\n')  # a client that watches no files says nothing
    replace_text(client, uri, ELU + "\n", 2)
    assert [d.code for d in await published(client, uri, version=2)] == ["TFN001"]


@pytest.mark.asyncio
async def test_per_file_ignores_and_excludes_apply_to_open_documents(client, tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.tflint-nan]\nper-file-ignores = {"tests/**" = ["TFN001"]}\n'
                                      'extend-exclude = ["generated/"]\n')
    await initialize(client, tmp_path)
    test_file = open_document(client, tmp_path / "tests" / "test_model.py", ELU)
    generated = open_document(client, tmp_path / "generated" / "model.py", ELU)
    model = open_document(client, tmp_path / "model.py", ELU)
    assert [d.code for d in await published(client, model, version=1)] == ["TFN001"]
    assert await published(client, test_file, version=1) == []
    assert await published(client, generated, version=1) == []


@pytest.mark.asyncio
async def test_an_invalid_configuration_is_shown_not_guessed(client, tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.tflint-nan]\nignroe = ["TFN001"]\n')
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", ELU)
    [diagnostic] = await published(client, uri, version=1)
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert "unknown key 'ignroe' (did you mean 'ignore'?)" in diagnostic.message
    await asyncio.sleep(0.2)
    assert any("ignroe" in message.message for message in client.messages)


@pytest.mark.asyncio
async def test_a_project_module_reexporting_tensorflow_is_read_again_when_it_changes(client, tmp_path):
    helpers = write(tmp_path, "helpers.py", "def exp(x):\n    return x\n")
    text = ("import tensorflow as tf\nimport helpers\n\n\n"
            "def elu(x):\n    return tf.where(x > 0, x, helpers.exp(x) - 1)\n")
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", text)
    assert await published(client, uri, version=1) == []  # the project's own exp: nothing to say
    after = mark(client)
    helpers.write_text("from tensorflow import exp\n")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=helpers.as_uri(), type=types.FileChangeType.Changed)]))
    [diagnostic] = await published(client, uri, version=1, after=after)
    assert diagnostic.code == "TFN001" and diagnostic.range == span(text, "helpers.exp(x)")


# -- what cannot be analysed -------------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_a_syntax_error_is_tfn999_and_the_server_keeps_serving(client, tmp_path):
    broken = ELU.replace("def elu(x):", "def elu(x:")
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", broken)
    [diagnostic] = await published(client, uri, version=1)
    assert diagnostic.code == "TFN999"
    assert diagnostic.message.startswith("syntax error")
    assert diagnostic.range.start.line == 3
    assert diagnostic.code_description.href.endswith("docs/rules.md#tfn999-unreadable-file")
    assert await code_actions(client, uri, diagnostic.range, only=["quickfix"]) == []
    replace_text(client, uri, ELU, 2)
    assert [d.code for d in await published(client, uri, version=2)] == ["TFN001"]


@pytest.mark.asyncio
async def test_a_file_over_the_size_limit_is_reported_not_analysed(client, tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.tflint-nan]\nmax-file-size = "1KB"\n')
    big = ELU + "# padding\n" * 200
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", big)
    [notice] = await published(client, uri, version=1)
    assert notice.severity == types.DiagnosticSeverity.Information and notice.code is None
    assert "over the size limit of 1 KB" in notice.message and "not checked" in notice.message
    replace_text(client, uri, ELU, 2)  # small again: analysed
    assert [d.code for d in await published(client, uri, version=2)] == ["TFN001"]


@pytest.mark.asyncio
async def test_garbage_from_the_client_is_survived(client, tmp_path, caplog):
    await initialize(client, tmp_path)
    unknown = (tmp_path / "never_opened.py").as_uri()
    replace_text(client, unknown, ELU, 2)  # a change to a document that is not open
    assert await code_actions(client, unknown, types.Range(start=types.Position(0, 0),
                                                           end=types.Position(0, 0))) == []
    # bytes that are not JSON, and a request whose parameters have the wrong types
    client._server.stdin.write(_framed(b"{this is not json"))
    client._server.stdin.write(_framed(json.dumps({"jsonrpc": "2.0", "id": "garbage", "method": "textDocument/hover",
                                                   "params": {"textDocument": 42}}).encode()))
    uri = open_document(client, tmp_path / "model.py", ELU)
    await published(client, uri, version=1)
    # a position far past the end of the document, and a document that is not Python
    assert await hover(client, uri, types.Position(line=999, character=999)) is None
    toml = open_document(client, tmp_path / "pyproject.toml", "[tool.other]\n", language_id="toml")
    result = await hover(client, uri, span(ELU, "tf.exp(x)").start)  # still serving
    assert "TFN001" in result.contents.value
    assert all(params.uri != toml for params in client.published)
    logged = [message.message for message in client.log_messages]
    assert any("Expecting property name" in message for message in logged)  # the bytes that are not JSON
    assert "JsonRpcException: Invalid Params" in logged
    # the malformed request got its answer: an error the client did not expect (it did not send it)
    assert 'Received response to unknown message id "garbage"' in caplog.text


# -- notebooks ---------------------------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_notebook_cells_get_their_own_diagnostics_and_fixes(client, tmp_path):
    await initialize(client, tmp_path, notebooks=True)
    notebook = (tmp_path / "explore.ipynb").as_uri()
    cells = ["import tensorflow as tf", "# Notes", "y = tf.where(x > 0, tf.math.log(x), 0.)"]
    uris = [f"vscode-notebook-cell:{tmp_path / 'explore.ipynb'}#cell{number}" for number in range(3)]
    kinds = [types.NotebookCellKind.Code, types.NotebookCellKind.Markup, types.NotebookCellKind.Code]
    client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(
            uri=notebook, notebook_type="jupyter-notebook", version=1,
            cells=[types.NotebookCell(kind=kind, document=uri) for kind, uri in zip(kinds, uris)]),
        cell_text_documents=[
            types.TextDocumentItem(uri=uri, language_id="python" if kind == types.NotebookCellKind.Code
                                   else "markdown", version=1, text=text)
            for uri, kind, text in zip(uris, kinds, cells)]))
    [diagnostic] = await published(client, uris[2])
    assert await published(client, uris[0]) == []
    assert diagnostic.code == "TFN002" and diagnostic.range == span(cells[2], "tf.math.log(x)")
    [fix, *_] = await code_actions(client, uris[2], diagnostic.range)
    _, edits = edits_for(fix.edit, uris[2])
    assert apply(cells[2], edits) == "y = tf.where(x > 0, tf.math.log(tf.where(x > 0, x, 1.)), 0.)"
    [fix_all] = await code_actions(client, uris[2], diagnostic.range, only=["source.fixAll"])
    resolved = await client.code_action_resolve_async(fix_all)
    _, edits = edits_for(resolved.edit, uris[2])
    assert apply(cells[2], edits) == "y = tf.where(x > 0, tf.math.log(tf.where(x > 0, x, 1.)), 0.)"
    # typing in the cell: the cell's diagnostics follow
    after = mark(client)
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(uri=notebook, version=2),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[
            types.NotebookDocumentCellContentChanges(
                document=types.VersionedTextDocumentIdentifier(uri=uris[2], version=2),
                changes=[types.TextDocumentContentChangePartial(range=span(cells[2], "tf.math.log(x)"),
                                                                text="tf.math.log1p(x)")])]))))
    [diagnostic] = await published(client, uris[2], version=2, after=after)
    assert diagnostic.code == "TFN002" and diagnostic.range == span(cells[2].replace("log(", "log1p("),
                                                                    "tf.math.log1p(x)")
    after = mark(client)
    client.notebook_document_did_close(types.DidCloseNotebookDocumentParams(
        notebook_document=types.NotebookDocumentIdentifier(uri=notebook),
        cell_text_documents=[types.TextDocumentIdentifier(uri=uri) for uri in uris]))
    assert await published(client, uris[2], after=after) == []  # closed: its diagnostics are cleared


# -- shutdown ----------------------------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_shutdown_then_exit_ends_the_server_with_0(client, tmp_path):
    await initialize(client, tmp_path)
    uri = open_document(client, tmp_path / "model.py", ELU)
    await published(client, uri, version=1)
    await client.shutdown_session()
    assert client._server.returncode == 0


def test_exit_without_shutdown_ends_with_1():
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None,
                                                                       "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    data = b"".join(_framed(json.dumps(message).encode()) for message in messages)
    completed = subprocess.run(SERVER_COMMAND, input=data, capture_output=True, env=SERVER_ENV, timeout=120,
                               check=False)
    assert completed.returncode == 1, completed.stderr.decode()
    assert b'"serverInfo"' in completed.stdout


def test_without_the_lsp_extra_the_command_says_what_to_install(tmp_path):
    shadow = tmp_path / "pygls"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('No module named pygls')\n")
    env = {**SERVER_ENV, "PYTHONPATH": f"{tmp_path}{__import__('os').pathsep}{ROOT}"}
    completed = subprocess.run(SERVER_COMMAND, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert completed.returncode == 2
    assert 'pip install "tflint-nan[lsp]"' in completed.stderr


def _framed(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
