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
from .verdict import CONFIRMED, NOT_PROBED, NOT_REPRODUCED, Verdict

INSTALL_HINT = ('dynamic mode runs your code under TensorFlow, which is not installed here; install it with:\n'
                '    pip install "tflint-nan[dynamic]"')

__all__ = ["CONFIRMED", "DEFAULT_TIMEOUT", "INSTALL_HINT", "NOT_PROBED", "NOT_REPRODUCED", "Verdict",
           "confirm_findings", "summary", "tensorflow_available", "terminal_progress"]


def tensorflow_available() -> bool:
    """Whether this interpreter can find TensorFlow (the probe processes run under the same interpreter)."""
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):
        return False


def confirm_findings(findings, timeout: float = DEFAULT_TIMEOUT, progress=None, workers: int | None = None):
    """The findings with a ``verdict`` each; see ``confirm.py``."""
    from .confirm import confirm_findings as confirm

    return confirm(findings, timeout=timeout, progress=progress, workers=workers)


def summary(findings, seconds: float) -> str:
    """``Dynamic: 3 confirmed, 1 not reproduced, 1 not probed (12.3 s).``"""
    verdicts = [finding.verdict for finding in findings if finding.verdict is not None]
    counts = {status: sum(1 for v in verdicts if v.status == status)
              for status in (CONFIRMED, NOT_REPRODUCED, NOT_PROBED)}
    return (f"Dynamic: {counts[CONFIRMED]} confirmed, {counts[NOT_REPRODUCED]} not reproduced, "
            f"{counts[NOT_PROBED]} not probed ({seconds:.1f} s).")


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
