"""Turn findings into text for people and machines.

Formats (``--output-format``):

* ``concise``: ``path:line:col: CODE message``, flake8's line (notebooks: ``nb.ipynb:cell 3:line:col: ...``);
* ``full``: that line, the source line with a caret under the op, the help, and the suggested rewrite as a
  unified diff;
* ``json``: a list of objects (code, message, filename, cell, location, end_location, fix, url);
* ``json-lines``: the same objects, one per line;
* ``sarif``: SARIF 2.1.0, as GitHub code scanning takes it, with every rule's description and help;
* ``github``: GitHub Actions workflow commands (``::error file=...,line=...,col=...::...``), which annotate the
  pull request.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Sequence
from urllib.parse import quote

from . import __version__
from .finding import Edit, Finding, sink_words
from .knowledge import PARSE_ERROR_CODE
from .rules import RULES, RULES_BY_CODE, Rule

DOCS_URL = "https://github.com/tflint-nan/tflint-nan/blob/main/"
FORMATS = ("concise", "full", "json", "json-lines", "sarif", "github")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"

# The lines of the file (or notebook cell) a finding is in, or None when they cannot be had.
SourceLines = Callable[[Finding], "list[str] | None"]


def render(findings: Sequence[Finding], output_format: str, lines_of: SourceLines | None = None) -> str:
    """The whole report for ``findings`` (already sorted) in one of FORMATS; "" when a line-based format has
    nothing to say."""
    if output_format == "concise":
        return _lines(concise(finding) for finding in findings)
    if output_format == "full":
        return "".join(full(finding, lines_of(finding) if lines_of else None) for finding in findings)
    if output_format == "json":
        return as_json(findings) + "\n"
    if output_format == "json-lines":
        return _lines(json.dumps(to_dict(finding), ensure_ascii=False) for finding in findings)
    if output_format == "sarif":
        return json.dumps(as_sarif(findings), indent=2, ensure_ascii=False) + "\n"
    if output_format == "github":
        return _lines(github(finding) for finding in findings)
    raise ValueError(f"unknown output format {output_format!r}; known: {', '.join(FORMATS)}")


_SOURCE_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def source_lines(text: str) -> list[str]:
    """``text``'s lines with their endings, split where Python and LibCST end lines (\\n, \\r\\n, \\r) and nowhere
    else (``str.splitlines`` also splits at form feeds and other separators, which would shift line numbers)."""
    return _SOURCE_LINE.findall(text)


def _lines(lines: Iterable[str]) -> str:
    return "".join(line + "\n" for line in lines)


def location(finding: Finding) -> str:
    """``path:line:col`` (1-based), with the cell for notebooks: ``nb.ipynb:cell 3:2:5``."""
    cell = f"cell {finding.cell}:" if finding.cell is not None else ""
    return f"{finding.path}:{cell}{finding.line}:{finding.col}"


def concise(finding: Finding) -> str:
    """flake8's format: path:line:col: CODE message (1-based line and column); --dynamic appends the verdict."""
    verdict = f" [{finding.verdict.text}]" if finding.verdict is not None else ""
    return f"{location(finding)}: {finding.code} {finding.message}{verdict}"


# -- full ------------------------------------------------------------------------------------------------------------

def full(finding: Finding, lines: list[str] | None) -> str:
    """The concise line, the source line with a caret under the finding, the help and the rewrite as a diff."""
    out = [concise(finding)]
    number = str(finding.line)
    gutter = " " * len(number)
    if lines is not None and 0 < finding.line <= len(lines):
        text = lines[finding.line - 1].rstrip("\r\n")
        start = finding.start.column
        end = finding.end.column if finding.end.line == finding.line else len(text)
        shown = text.expandtabs()
        caret_at = len(text[:start].expandtabs())
        width = max(len(text[:max(end, start + 1)].expandtabs()) - caret_at, 1)
        out += [
            f"{gutter} |",
            f"{number} | {shown}",
            f"{gutter} | {' ' * caret_at}{'^' * width} {finding.code}",
            f"{gutter} |",
        ]
    rule = RULES_BY_CODE.get(finding.code)
    if finding.fix is not None:
        out.append(f"{gutter} = help: {finding.fix.description}: {finding.fix.replacement}")
    elif rule is not None:
        out.append(f"{gutter} = help: {rule.fix}")
    if rule is not None:
        out.append(f"{gutter} = docs: {rule_url(rule)} (or: tflint-nan rule {rule.code})")
    diff = suggested_diff(finding, lines) if lines is not None else None
    if diff:
        out += ["", *diff]
    return "\n".join(out) + "\n\n"


def suggested_diff(finding: Finding, lines: list[str]) -> list[str]:
    """The finding's fix as a unified diff of the lines it changes; [] without a fix."""
    if finding.fix is None or not finding.fix.edits:
        return []
    first = min(edit.start.line for edit in finding.fix.edits)
    last = max(edit.end.line for edit in finding.fix.edits)
    if not 0 < first <= last <= len(lines):
        return []
    before = [line.rstrip("\r\n") for line in lines[first - 1:last]]
    after = [line.rstrip("\r\n") for line in apply_edits(lines[first - 1:last], finding.fix.edits, first)]
    name = location(finding).rsplit(":", 2)[0]
    return [
        f"--- {name}",
        f"+++ {name} (suggested)",
        f"@@ -{_hunk_range(first, len(before))} +{_hunk_range(first, len(after))} @@",
        *(f"-{line}" for line in before),
        *(f"+{line}" for line in after),
    ]


def _hunk_range(start: int, count: int) -> str:
    return str(start) if count == 1 else f"{start},{count}"


def _with_newline(line: str) -> str:
    return line if line.endswith("\n") else line + "\n"


def apply_edits(lines: list[str], edits: Iterable[Edit], first_line: int = 1) -> list[str]:
    """``lines`` (the file's lines from ``first_line`` on) with ``edits`` applied."""
    text = "".join(_with_newline(line) for line in lines)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(_with_newline(line)))

    def offset(line: int, column: int) -> int:
        return starts[line - first_line] + column

    for edit in sorted(edits, key=lambda edit: (edit.start, edit.end), reverse=True):
        start, end = offset(edit.start.line, edit.start.column), offset(edit.end.line, edit.end.column)
        text = text[:start] + edit.text + text[end:]
    return source_lines(text)


# -- json --------------------------------------------------------------------------------------------------------------

def as_json(findings: Iterable[Finding]) -> str:
    return json.dumps([to_dict(finding) for finding in findings], indent=2, ensure_ascii=False)


def to_dict(finding: Finding) -> dict:
    rule = RULES_BY_CODE.get(finding.code)
    fix = None
    if finding.fix is not None:
        fix = {
            "applicability": finding.fix.applicability,
            "message": finding.fix.description,
            "replacement": finding.fix.replacement,
            "edits": [
                {
                    "content": edit.text,
                    "location": {"row": edit.start.line, "column": edit.start.column + 1},
                    "end_location": {"row": edit.end.line, "column": edit.end.column + 1},
                }
                for edit in finding.fix.edits
            ],
        }
    return {
        "code": finding.code,
        "message": finding.message,
        "filename": finding.path,
        "cell": finding.cell,
        "location": {"row": finding.start.line, "column": finding.start.column + 1},
        "end_location": {"row": finding.end.line, "column": finding.end.column + 1},
        "fix": fix,
        "url": rule_url(rule) if rule else None,
        **(_structure(finding) if finding.op else {}),
        **({"dynamic": finding.verdict.to_dict()} if finding.verdict is not None else {}),
    }


def _structure(finding: Finding) -> dict:
    """What an analysis finding knows beyond its message: the sink, the confidence, why it is strict-only."""
    sink = None
    if finding.sink_start is not None:
        end = finding.sink_end or finding.sink_start
        sink = {"name": finding.sink, "kind": finding.sink_kind, "cell": finding.sink_cell,
                "location": {"row": finding.sink_start.line, "column": finding.sink_start.column + 1},
                "end_location": {"row": end.line, "column": end.column + 1}}
    return {"confidence": finding.confidence, "level": "strict" if finding.strict_only else "default",
            "no_gradient": finding.no_gradient, "sink": sink, "discarded": finding.region, "xla_only": finding.xla_only,
            "not_under_xla": finding.not_under_xla, "value_shows": finding.value_shows,
            "float_type": finding.float_type}


def rule_url(rule: Rule) -> str:
    return DOCS_URL + rule.docs_anchor


# -- sarif -----------------------------------------------------------------------------------------------------------

def as_sarif(findings: Sequence[Finding]) -> dict:
    """A SARIF 2.1.0 log with one run: the tool with every rule, and one result per finding."""
    rules = [*RULES, RULES_BY_CODE[PARSE_ERROR_CODE]]
    index = {rule.code: position for position, rule in enumerate(rules)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "tflint-nan",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": DOCS_URL + "README.md",
                        "rules": [_sarif_rule(rule) for rule in rules],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": [_sarif_result(finding, index) for finding in findings],
            }
        ],
    }


# SARIF ``rank`` (0-100, higher is more important) per confidence; findings no gradient reaches rank lowest.
SARIF_RANK = {"high": 90.0, "medium": 50.0, "low": 20.0}
SARIF_RANK_NO_GRADIENT = 5.0


def _sarif_rule(rule: Rule) -> dict:
    markdown = [f"**{rule.summary[0].upper() + rule.summary[1:]}.**", "", rule.explanation]
    if rule.bad:
        markdown += ["", "Bad:", "", "```python", rule.bad.rstrip(), "```", "", "Good:", "", "```python",
                     rule.good.rstrip(), "```"]
    markdown += ["", f"**Fix.** {rule.fix}"]
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary[0].upper() + rule.summary[1:] + "."},
        "fullDescription": {"text": rule.explanation},
        "help": {"text": f"{rule.explanation}\n\nFix: {rule.fix}", "markdown": "\n".join(markdown)},
        "helpUri": rule_url(rule),
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "tags": ["correctness", "tensorflow", "nan"] if rule.code != PARSE_ERROR_CODE else ["tool"],
            "precision": "high",
            "problem.severity": "error",
        },
    }


def _sarif_result(finding: Finding, index: dict[str, int]) -> dict:
    message = finding.message
    artifact = _artifact_location(finding.path)
    physical: dict = {"artifactLocation": artifact}
    if finding.cell is None:
        physical["region"] = _region(finding.start, finding.end)
    else:  # the lines of a notebook are the cell's, not the JSON file's: name them in the message instead
        message = f"cell {finding.cell}, line {finding.line}, column {finding.col}: {message}"
    result = {
        "ruleId": finding.code,
        "ruleIndex": index.get(finding.code, 0),
        "level": "warning" if finding.strict_only else "error",
        "message": {"text": message},
        "locations": [{"physicalLocation": physical}],
    }
    if finding.op:
        result["rank"] = SARIF_RANK[finding.confidence] if finding.no_gradient is None else SARIF_RANK_NO_GRADIENT
        if finding.sink_start is not None and finding.cell is None:
            result["relatedLocations"] = [{
                "id": 1,
                "message": {"text": sink_words(finding)},
                "physicalLocation": {"artifactLocation": artifact,
                                     "region": _region(finding.sink_start, finding.sink_end or finding.sink_start)},
            }]
    properties = {}
    if finding.cell is not None:
        properties.update({"cell": finding.cell, "line": finding.line, "column": finding.col})
    if finding.op:
        properties.update({"confidence": finding.confidence, "noGradient": finding.no_gradient})
    if finding.verdict is not None:  # --dynamic: the verdict, as in the JSON output
        properties["dynamic"] = finding.verdict.to_dict()
    if properties:
        result["properties"] = properties
    if finding.fix is not None and finding.fix.edits and finding.cell is None:
        result["fixes"] = [
            {
                "description": {"text": f"{finding.fix.description}: {finding.fix.replacement}"},
                "artifactChanges": [
                    {
                        "artifactLocation": artifact,
                        "replacements": [
                            {"deletedRegion": _region(edit.start, edit.end), "insertedContent": {"text": edit.text}}
                            for edit in finding.fix.edits
                        ],
                    }
                ],
            }
        ]
    return result


def _region(start, end) -> dict:
    return {
        "startLine": start.line,
        "startColumn": start.column + 1,
        "endLine": end.line,
        "endColumn": end.column + 1,
    }


def _artifact_location(path: str) -> dict:
    """A relative URI against %SRCROOT% (the working directory) where the path lies below it, else a file URI."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:
        relative = None
    if relative is not None and not relative.startswith(os.pardir):
        return {"uri": quote(PurePosixPath(*Path(relative).parts).as_posix()), "uriBaseId": "%SRCROOT%"}
    return {"uri": Path(absolute).as_uri()}


# -- github ----------------------------------------------------------------------------------------------------------

def github(finding: Finding) -> str:
    """A GitHub Actions ``::error`` workflow command; the runner turns it into an annotation on the file."""
    properties = [f"title={_escape_property(f'tflint-nan ({finding.code})')}", f"file={_escape_property(finding.path)}"]
    if finding.cell is None:  # a notebook's cell lines are not lines of the .ipynb file
        properties += [
            f"line={finding.line}", f"col={finding.col}",
            f"endLine={finding.end.line}", f"endColumn={finding.end.column + 1}",
        ]
    return f"::error {','.join(properties)}::{_escape_data(concise(finding))}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


# -- statistics --------------------------------------------------------------------------------------------------------

def statistics(findings: Iterable[Finding]) -> list[dict]:
    """Per code: how many findings, the rule's name, and whether every one of them has a safe fix."""
    counts: Counter[str] = Counter()
    fixable: Counter[str] = Counter()
    for finding in findings:
        counts[finding.code] += 1
        if finding.fix is not None and finding.fix.applicability == "safe":
            fixable[finding.code] += 1
    return [
        {
            "code": code,
            "name": RULES_BY_CODE[code].name if code in RULES_BY_CODE else "",
            "count": count,
            "fixable": fixable[code] == count,
        }
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def render_statistics(findings: Sequence[Finding], output_format: str) -> str:
    rows = statistics(findings)
    if output_format in ("json", "sarif"):
        return json.dumps(rows, indent=2) + "\n"
    if output_format == "json-lines":
        return _lines(json.dumps(row) for row in rows)
    width = max((len(str(row["count"])) for row in rows), default=1)
    return _lines(
        f"{row['count']:>{width}}  {row['code']}  {'[*]' if row['fixable'] else '   '} {row['name']}".rstrip()
        for row in rows
    )
