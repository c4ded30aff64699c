"""Dynamic mode: confirm findings by probing real TensorFlow gradients (``--dynamic``, ``tflint-nan probe``).

For each finding, the function (or lambda, ``@tf.function``, Keras layer) that holds it is cut out of its module
with the imports and module-level names it uses (``extract.py``), and run in a child process (``child.py``,
supervised by ``supervisor.py``) on rank-1 tensors of values chosen from the knowledge base (``values.py``),
eagerly and under XLA.  A NaN gradient where the forward value is finite confirms the finding (``confirm.py``).

Importing this package does not import TensorFlow; only the child process does.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Callable, TextIO

from .supervisor import DEFAULT_TIMEOUT
from .verdict import CONFIRMED, NOT_CONFIRMED, NOT_PROBED, NOT_REPRODUCED, REFUTED, Verdict

INSTALL_HINT = ('dynamic mode runs your code under TensorFlow, which is not installed here; install it with:\n'
                '    pip install "tflint-nan[dynamic]"')

__all__ = ["CONFIRMED", "DEFAULT_TIMEOUT", "INSTALL_HINT", "NOT_CONFIRMED", "NOT_PROBED", "NOT_REPRODUCED", "REFUTED",
           "Verdict",
           "confirm_findings", "summary", "tensorflow_available", "terminal_progress"]


def tensorflow_available() -> bool:
    """Whether this interpreter can find TensorFlow (the probe processes run under the same interpreter)."""
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):
        return False


def confirm_findings(findings, timeout: float = DEFAULT_TIMEOUT, progress=None, workers: int | None = None,
                     rule: str | None = None, path: str | None = None):
    """The findings with a ``verdict`` each; see ``confirm.py``.  ``rule`` and ``path`` limit probing to the
    findings of one rule code or one file; the others keep no verdict."""
    from .confirm import confirm_findings as confirm

    return confirm(findings, timeout=timeout, progress=progress, workers=workers, rule=rule, path=path)


def summary(findings, seconds: float) -> str:
    """``Dynamic: 3 confirmed, 1 not confirmed (NaN from elsewhere), 2 refuted, 1 not probed (12.3 s).``, and
    when some were not probed, the reasons: ``Not probed: 1 cannot build a class, 1 timed out.``"""
    verdicts = [finding.verdict for finding in findings if finding.verdict is not None]
    counts = {status: sum(1 for v in verdicts if v.status == status)
              for status in (CONFIRMED, NOT_CONFIRMED, REFUTED, NOT_PROBED)}
    line = (f"Dynamic: {counts[CONFIRMED]} confirmed, {counts[NOT_CONFIRMED]} not confirmed (NaN from elsewhere), "
            f"{counts[REFUTED]} refuted, {counts[NOT_PROBED]} not probed ({seconds:.1f} s).")
    reasons: dict[str, int] = {}
    for verdict in verdicts:
        if verdict.status == NOT_PROBED:
            kind = reason_kind(verdict.reason)
            reasons[kind] = reasons.get(kind, 0) + 1
    if reasons:
        line += "\nNot probed: " + ", ".join(f"{count} {kind}" for kind, count in
                                             sorted(reasons.items(), key=lambda item: -item[1])) + "."
    return line


_REASON_KINDS = (
    ("import failed", "a module import failed"),
    ("No module named", "a package is not installed"),
    ("cannot build", "a class cannot be built"),
    ("timed out", "timed out"),
    ("module-level code", "module-level code"),
    ("inside a top-level", "nested in a block"),
    ("in a class body", "in a class body"),
    ("takes no arguments", "takes no arguments"),
    ("calling eagerly failed", "calling it failed"),
    ("calling under XLA failed", "calling it failed"),
    ("of the module raised", "a module statement failed"),
    ("sys.exit", "it exits"),
    ("probe process", "the probe process died"),
    ("notebook", "a notebook"),
    ("standard input", "standard input"),
    ("async", "async code"),
    ("not a floating-point", "no floating-point result"),
)


def reason_kind(reason: str) -> str:
    """A short kind for a not-probed reason, for summaries: ``a package is not installed``."""
    for needle, kind in _REASON_KINDS:
        if needle in reason:
            if needle == "import failed" and "No module named" in reason:
                return "a package is not installed"
            return kind
    return "other"


def terminal_progress(stream: TextIO = sys.stderr) -> Callable[[str], None] | None:
    """A progress line that rewrites itself, or None when ``stream`` is not a terminal (logs stay clean)."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    width = [0]

    def show(text: str) -> None:
        text = text[:119]
        stream.write("\r" + text + " " * max(width[0] - len(text), 0) + ("\r" if not text else ""))
        stream.flush()
        width[0] = len(text)

    return show
