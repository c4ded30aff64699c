"""The result objects every stage passes on: findings and the edits that fix them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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


# How strongly the code says that the discarded elements reach the op's bad domain (``Finding.confidence``):
CONFIDENCE_WORDS = {
    "high": "the condition discards exactly the elements where the input is out of the op's domain",
    "medium": "the input can leave the op's domain and the condition does not say where",
    "low": "the condition does not involve the op's input: if the input were out of domain, the kept elements "
           "would show it too",
}

# The same levels for a clamp or a saturating op, which have no condition: whether the code itself says that the op
# reaches the value the sink cuts off.
POLE_CONFIDENCE_WORDS = {
    "high": "the sink cuts off exactly the op's pole, and nothing bounds the op's input away from it",
    "medium": "the op can reach its pole, but the code does not say it does (the value reaches the sink through "
              "other operations, or the op's input is computed)",
}

# Shown without --strict: measured on the development corpus (benchmarks/precision.py).
DEFAULT_CONFIDENCE = frozenset({"high"})


@dataclass(frozen=True)
class Finding:
    """One hazard: a risky op (``start``-``end``) whose infinite derivative meets a zero gradient from a sink (the
    select, mask, clamp or saturating op at ``sink_start``-``sink_end``).  ``message`` is rendered from the other
    fields by ``rendered``."""

    path: str
    start: Position
    end: Position
    code: str
    message: str
    fix: Fix | None = None
    strict_only: bool = False  # shown only with --strict: no gradient reaches it, or not high confidence
    cell: int | None = None  # notebooks: the 1-based cell; line and column are then within that cell
    verdict: Verdict | None = None  # --dynamic: what probing the enclosing function under TensorFlow showed
    no_fix_reason: str | None = None  # why there is no ``fix``: no rewrite is known to be exact here
    op: str = ""  # the risky op as written, shortened: ``K.exp(x)``
    sink: str = ""  # the function that discards the elements: ``K.switch``
    sink_kind: str = "select"  # "select", "mask", "index", "clamp", "saturation", "zero", "probability"
    sink_start: Position | None = None
    sink_end: Position | None = None
    sink_cell: int | None = None  # notebooks: the sink's cell
    branch: str = ""  # "true" or "false": the sink's branch that holds the op
    region: str = ""  # the elements the sink discards, in words: ``x > 0.``
    hazard: str = ""  # what the op does there
    xla_only: bool = False  # eager TensorFlow's gradient kernel hides it; XLA computes 0*inf
    float_type: str = "float32"  # the float type the op computes in (``knowledge.FLOAT_TYPES``): thresholds follow it
    not_under_xla: bool = False  # a mask product: XLA rewrites it into a select, which hides it
    # The hazard shows in the value too where the op reaches its pole: a product with a mask is 0 * inf = NaN there,
    # the log of a probability that rounds to 0 is -inf (a NaN gradient behind a finite value is the rest of it).
    value_shows: bool = False
    confidence: str = "high"  # see CONFIDENCE_WORDS
    no_gradient: str | None = None  # why no gradient reaches the op (then only --strict shows it)
    not_fixed: str | None = None  # --fix: why this finding was left as it is

    def rendered(self) -> Finding:
        """The finding with its message rendered from its fields (the one place messages are written)."""
        return replace(self, message=render_message(self)) if self.op else self


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
    # Other files the result depends on (modules of the project read for re-exports, constants or callers), each
    # with its signature when it was linted: ``(("file:/p/config.py", "1733..:120"), ...)``.
    dependencies: tuple[tuple[str, str], ...] = field(default=(), compare=False)


def render_message(finding: Finding) -> str:
    """The one-line message of an analysis finding, from its structured fields."""
    where = ""
    if finding.sink_start is not None and finding.sink_cell != finding.cell:
        where = f" (cell {finding.sink_cell}, line {finding.sink_start.line})"
    elif finding.sink_start is not None and finding.sink_start.line != finding.start.line:
        where = f" (line {finding.sink_start.line})"
    if finding.sink_kind == "mask":
        message = (f"{finding.op} is masked out by {finding.sink}{where} where {finding.region}, but it is still "
                   f"evaluated there and {finding.hazard}; the mask sends it a zero gradient, and 0*inf = NaN")
    elif finding.sink_kind == "clamp":
        message = (f"{finding.op} {finding.hazard}, and where {finding.region} {finding.sink}{where} clamps it: "
                   "the clamp sends a zero gradient into the op's infinite derivative, 0*inf = NaN")
    elif finding.sink_kind == "saturation":
        message = (f"{finding.op} {finding.hazard}, and where {finding.region} {finding.sink}{where} has a zero "
                   "derivative: the gradient of the op there is 0*inf = NaN")
    elif finding.sink_kind == "zero":
        message = (f"{finding.op} {finding.hazard}, and {finding.sink}{where} is 0 exactly where its own derivative "
                   f"is 0 ({finding.region}): there the gradient is inf*0 = NaN in every mode")
    elif finding.sink_kind == "index":
        message = (f"{finding.op} {finding.hazard}, and {finding.sink}{where} takes only some of its elements: "
                   f"{finding.region} are still computed and get a zero gradient, and where the op is infinite there, "
                   "or its derivative is, their gradient is 0*inf = NaN")
    elif finding.sink_kind == "probability":
        message = (f"{finding.op} takes the log of {finding.sink}{where}, which rounds to exactly 0 "
                   f"{finding.region}, where its own derivative is 0 too: the log is -inf there and its gradient "
                   "1/0 * 0 = NaN")
    else:
        message = (f"{finding.op} in the {finding.branch} branch of {finding.sink}{where} is evaluated where "
                   f"{finding.region} and {finding.hazard}; its gradient there is 0*inf = NaN")
    if finding.xla_only:
        message += " under XLA (jit_compile=True, the Keras 3 fit default); eager TensorFlow happens to hide it"
    elif finding.not_under_xla and finding.sink_kind == "probability":
        message += " eagerly and in graphs (XLA simplifies the log of an exp to its input and happens to hide it)"
    elif finding.not_under_xla:
        message += (" eagerly and in graphs, in the forward value too where the op is infinite (XLA rewrites the "
                    "product into a select and happens to hide it)")
    message += "."
    if finding.fix is not None and finding.fix.applicability != "safe":
        message += (f" {finding.fix.description} (an unsafe fix: it agrees with the hand-written form only up to "
                    f"rounding; --unsafe-fixes applies it): {finding.fix.replacement}")
    elif finding.fix is not None:
        message += f" {finding.fix.description}: {finding.fix.replacement}"
    elif finding.no_fix_reason is not None and finding.no_gradient is None:
        message += f" No exact rewrite is known here: {finding.no_fix_reason}."
    if finding.no_gradient is not None:
        message += f" (no gradient reaches it: {finding.no_gradient}; reported because of --strict)"
    elif finding.strict_only:
        words = CONFIDENCE_WORDS[finding.confidence]
        if finding.sink_kind in ("index", "clamp", "saturation", "zero", "probability"):
            words = POLE_CONFIDENCE_WORDS.get(finding.confidence, words)
        message += f" ({finding.confidence} confidence: {words}; reported because of --strict)"
    if finding.not_fixed is not None:
        message += f" [not fixed: {finding.not_fixed}]"
    return message


def sink_words(finding: Finding) -> str:
    """What the sink does to the op's gradient, for a related location (SARIF, the editor's second location)."""
    if finding.sink_kind in ("select", "mask"):
        return f"{finding.sink}: discards the elements where {finding.region}"
    if finding.sink_kind == "clamp":
        return f"{finding.sink}: clamps the op's value where {finding.region}"
    if finding.sink_kind == "zero":
        return f"{finding.sink}: is 0 with a zero derivative ({finding.region})"
    if finding.sink_kind == "index":
        return f"{finding.sink}: sends a zero gradient to {finding.region}"
    if finding.sink_kind == "probability":
        return f"{finding.sink}: rounds to 0 with a zero derivative {finding.region}"
    return f"{finding.sink}: has a zero derivative where {finding.region}"
