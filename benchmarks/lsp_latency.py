"""Latency of ``tflint-nan server``: from ``didChange`` to ``publishDiagnostics``, on a 1,000-line model file.

    pip install -e ".[lsp]"
    python benchmarks/lsp_latency.py

The server runs as an editor runs it (``python -m tflint_nan server``, over standard input and output) and is
driven by pygls's language client.  The file is a generated Keras model: 1,000 lines of layers.  Two versions:

* ``no select``: no ``tf.where``/``K.switch`` anywhere, so nothing in it can hold a finding (target: under 150 ms);
* ``selects``: the same file with a few hand-written activations that do hold findings (target: under 500 ms).

Each edit is one keystroke-sized incremental change (a digit of a layer's width, on a line far from the
findings); the clock runs from sending the change to receiving the diagnostics of that version, the server's
debounce included.  The next edit is sent only after that, so each edit is measured alone.  The first edits
after opening are not measured (the worker processes start and import LibCST then).  Median and 95th percentile
over ``--edits`` edits; the table goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
LINES = 1000
TARGETS_MS = {"no select": 150, "selects": 500}


BLOCK_LINES = 17


def model_file(lines: int, selects: int) -> str:
    """A Keras model of exactly ``lines`` lines; ``selects`` of its blocks, spread over the file, use a hand-written
    ELU (one finding each)."""
    header = ["import tensorflow as tf", "from tensorflow import keras", "", ""]
    blocks = (lines - len(header) - 2) // BLOCK_LINES
    with_select = {int((index + 0.5) * blocks / selects) for index in range(selects)} if selects else set()
    out = list(header)
    for block in range(blocks):
        activation = "tf.where(h > 0., h, tf.exp(h) - 1.)" if block in with_select else "tf.nn.gelu(h)"
        out += [
            f"class Block{block}(keras.layers.Layer):",
            f"    \"\"\"Dense, normalisation, activation and a residual connection ({block}).\"\"\"",
            "",
            f"    def __init__(self, units={64 + block % 5 * 32}, rate=0.1, **kwargs):",
            "        super().__init__(**kwargs)",
            "        self.dense = keras.layers.Dense(units)",
            "        self.norm = keras.layers.LayerNormalization()",
            "        self.dropout = keras.layers.Dropout(rate)",
            "",
            "    def call(self, x, training=False):",
            "        h = self.dense(x)",
            "        h = self.norm(h, training=training)",
            f"        h = {activation}",
            "        h = self.dropout(h, training=training)",
            "        return x + h",
            "",
            "",
        ]
    # The lines left: the list of the blocks, one per line.
    out.append("BLOCKS = [")
    out += [f"    Block{index % blocks}," for index in range(lines - len(out) - 1)]
    out.append("]")
    return "\n".join(out) + "\n"


class Client(LanguageClient):
    def __init__(self):
        super().__init__("tflint-nan-latency", "1")
        self.arrived: dict[tuple[str, int | None], float] = {}
        self.findings: dict[tuple[str, int | None], int] = {}
        self.event = asyncio.Event()

        @self.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(client: Client, params: types.PublishDiagnosticsParams) -> None:
            client.arrived[(params.uri, params.version)] = time.perf_counter()
            client.findings[(params.uri, params.version)] = len(params.diagnostics)
            client.event.set()

    async def diagnostics(self, uri: str, version: int, timeout: float = 120) -> float:
        deadline = time.perf_counter() + timeout
        while (uri, version) not in self.arrived:
            self.event.clear()
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no diagnostics for version {version} of {uri}")
            try:
                await asyncio.wait_for(self.event.wait(), 1)
            except asyncio.TimeoutError:
                pass
        return self.arrived[(uri, version)]


async def measure(client: Client, directory: Path, name: str, text: str, edits: int, warmup: int) -> list[float]:
    uri = (directory / f"{name.replace(' ', '_')}.py").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    await client.diagnostics(uri, 1)
    findings = client.findings[(uri, 1)]
    # The width of the first layer, "units=64": its last digit is typed over and over.
    line = text.splitlines().index("    def __init__(self, units=64, rate=0.1, **kwargs):")
    column = len("    def __init__(self, units=6")
    timings = []
    for number in range(warmup + edits):
        version = number + 2
        sent = time.perf_counter()
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=types.Position(line, column), end=types.Position(line, column + 1)),
                text=str(number % 10))]))
        arrived = await client.diagnostics(uri, version)
        if client.findings[(uri, version)] != findings:
            raise AssertionError(f"{name}: {client.findings[(uri, version)]} findings after an edit, {findings} before")
        if number >= warmup:
            timings.append((arrived - sent) * 1000)
    client.text_document_did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    print(f"{name}: {findings} finding(s), {len(timings)} edits measured", file=sys.stderr)
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=40, help="measured edits per file (default 40)")
    parser.add_argument("--warmup", type=int, default=5, help="edits not measured, after opening (default 5)")
    parser.add_argument("--selects", type=int, default=4, help="blocks with a finding in the second file (default 4)")
    args = parser.parse_args()

    files = {"no select": model_file(LINES, 0), "selects": model_file(LINES, args.selects)}
    assert "where" not in files["no select"] and all(text.count("\n") == LINES for text in files.values())
    client = Client()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    await client.start_io(sys.executable, "-m", "tflint_nan", "server", env=env)
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        await client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=Path(directory).as_uri()))
        client.initialized(types.InitializedParams())
        for name, text in files.items():
            results[name] = await measure(client, Path(directory), name, text, args.edits, args.warmup)
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()

    print(f"`tflint-nan server`, didChange -> publishDiagnostics, {LINES}-line model file, "
          f"{args.edits} edits each (Python {platform.python_version()}, {os.cpu_count()} CPUs)\n")
    print("| file | median | p95 | target | met (median and p95) |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, timings in results.items():
        median, p95 = statistics.median(timings), percentile(timings, 0.95)
        met = "yes" if p95 < TARGETS_MS[name] else "no"
        print(f"| {name} | {median:.0f} ms | {p95:.0f} ms | < {TARGETS_MS[name]} ms | {met} |")
    return 0

if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
