"""The result objects every stage passes on: findings and the edits that fix them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .dynamic.verdict import Verdict


@dataclass(frozen=True, order=True)
class Position:
    line: int  # 1-based
    column: int  # 0-based, in characters (reports add 1, as flake8 does)


@dataclass(frozen=True)
class Edit:
    """Replace the source between ``start`` and ``end`` (exclusive) with ``text``."""

    start: Position
    end: Position
    text: str
    # A wrapping edit keeps the replaced source verbatim inside ``text``, starting at this offset (the fixer uses it
    # to follow findings inside the wrapped expression from one round of fixes to the next).
    keeps: int | None = None


@dataclass(frozen=True)
class Fix:
    description: str  # e.g. "Clamp the input"
    replacement: str  # the whole rewritten op, as shown in messages: K.exp(K.minimum(x, 0.))
    edits: tuple[Edit, ...]
    applicability: str = "safe"


@dataclass(frozen=True)
class Finding:
    path: str
    start: Position
    end: Position
    code: str
    message: str
    fix: Fix | None = None
    strict_only: bool = False  # found where no gradient flows; reported only with --strict
    cell: int | None = None  # notebooks: the 1-based cell; line and column are then within that cell
    verdict: Verdict | None = None  # --dynamic: what probing the enclosing function under TensorFlow showed
    no_fix_reason: str | None = None  # why there is no ``fix``: no rewrite is known to be exact here

    @property
    def line(self) -> int:
        return self.start.line

    @property
    def col(self) -> int:
        """1-based column, as printed."""
        return self.start.column + 1

    def sort_key(self) -> tuple:
        return (self.path, self.cell or 0, self.start.line, self.start.column, self.code, self.message)


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    error: Finding | None = None  # a TFN999 finding when the file could not be read or parsed
    skipped: str | None = None  # a notice when the file was deliberately not checked
