"""The flake8 plugin (entry point ``flake8.extension``, code prefix ``TFN``): tflint-nan's findings as flake8
diagnostics, so every editor that shows flake8 (VS Code's flake8 extension, pylsp, vim's ALE) shows them.

flake8 hands the plugin the file's lines (from disk or stdin, already decoded) and owns everything around the
findings: ``# noqa``, ``--select``/``--ignore``/``--extend-select``, ``per-file-ignores`` and the output
format. The plugin runs the same analysis as the ``tflint-nan`` command on the joined lines, with every rule
on and without its own ``# noqa`` handling.
"""

from __future__ import annotations

import ast
from typing import Iterator

from . import __version__
from .knowledge import PARSE_ERROR_CODE
from .lint import Settings, SourceError, analyse, might_have_findings


class Flake8Plugin:
    name = "tflint-nan"
    version = __version__
    strict = False  # --tflint-nan-strict (or tflint-nan-strict = true in flake8's config)

    def __init__(self, tree: ast.AST, lines: list[str], filename: str):
        self.tree = tree  # flake8 parsed the file already: only syntactically valid files reach the plugin
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, option_manager) -> None:
        option_manager.add_option(
            "--tflint-nan-strict", action="store_true", parse_from_config=True, default=False,
            help="TFN: also report selects where no gradient flows today (tflint-nan --strict)",
        )

    @classmethod
    def parse_options(cls, options) -> None:
        cls.strict = bool(getattr(options, "tflint_nan_strict", False))

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        source = "".join(self.lines)
        if not might_have_findings(source.encode("utf-8", "surrogatepass"), strict=self.strict):
            return
        try:
            findings = analyse(source, self.filename, Settings(strict=self.strict), honour_noqa=False)
        except SourceError as error:
            yield error.line, error.column, f"{PARSE_ERROR_CODE} {error}", type(self)
            return
        for finding in findings:
            # flake8 takes a 0-based column and prints it 1-based, as tflint-nan does
            yield finding.line, finding.start.column, f"{finding.code} {finding.message}", type(self)
