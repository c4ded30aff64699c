"""Turn findings into text for people and machines."""

from __future__ import annotations

import json
from typing import Iterable

from .finding import Finding
from .rules import RULES_BY_CODE

DOCS_URL = "https://github.com/tflint-nan/tflint-nan/blob/main/"


def concise(finding: Finding) -> str:
    """flake8's format: path:line:col: CODE message (1-based line and column)."""
    return f"{finding.path}:{finding.line}:{finding.col}: {finding.code} {finding.message}"


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
        "location": {"row": finding.start.line, "column": finding.start.column + 1},
        "end_location": {"row": finding.end.line, "column": finding.end.column + 1},
        "fix": fix,
        "url": DOCS_URL + rule.docs_anchor if rule else None,
    }
