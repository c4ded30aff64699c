"""What dynamic mode concluded about one finding."""

from __future__ import annotations

import math
from dataclasses import dataclass

CONFIRMED = "confirmed"  # a NaN gradient that this finding's own rewrite (or input guard) removes
NOT_CONFIRMED = "not_confirmed"  # a NaN gradient in the function, but not this finding's
REFUTED = "refuted"  # no NaN gradient within the probed envelope, or no gradient reaches the op at all
NOT_PROBED = "not_probed"
NOT_REPRODUCED = REFUTED  # the name earlier versions used
STATUSES = (CONFIRMED, NOT_CONFIRMED, REFUTED, NOT_PROBED)
MODE_NAMES = {"eager": "eager", "xla": "XLA"}


@dataclass(frozen=True)
class Verdict:
    status: str  # one of STATUSES
    reason: str = ""  # NOT_PROBED: why; REFUTED: why no gradient reaches the op, when that is the reason
    function: str = ""  # the probed unit: "custom_activation", "CustomELU.call"
    inputs: tuple[tuple[str, float, str], ...] = ()  # the witness: (parameter, value, value as printed)
    mode: str = ""  # CONFIRMED, NOT_CONFIRMED: "eager" or "xla", where the NaN gradient appeared
    forward: float | None = None  # the forward value at the witness (finite, but for a log of a probability)
    probes: int = 0  # probe points per mode
    modes: tuple[str, ...] = ()  # the modes that ran
    dtype: str = ""
    others: int = 0  # kept for callers of earlier versions: always 0 now that causes are checked
    cause: str = ""  # NOT_CONFIRMED: where the NaN comes from instead, in words
    check: str = ""  # how the cause was checked: "rewrite" (the finding's fix) or "guard" (its input guard)
    differentiated: tuple[str, ...] = ()  # the inputs gradients were taken for
    fixed: tuple[tuple[str, str], ...] = ()  # inputs held at realistic values, with why
    settings: tuple[tuple[str, str], ...] = ()  # differentiated inputs probed only at a recorded setting's values
    constructor: str = ""  # how a class was built: "GatedELU(units=4)"
    recorded: bool = False  # inputs or the constructor came from ``pytest --tflint-nan-record``'s recordings
    unchecked: bool = False  # NOT_CONFIRMED: this finding's own fix could not be probed (``cause`` says why)

    @property
    def text(self) -> str:
        """``confirmed: NaN gradient at x=89.0 (eager)``, ``refuted: ...``, ``not probed: ...``."""
        if self.status == CONFIRMED:
            finite = self.forward is None or math.isfinite(self.forward)
            value = "" if finite else f", where the value is {self.forward}"
            return f"confirmed: NaN gradient at {self._at()} ({MODE_NAMES.get(self.mode, self.mode)}{value})"
        if self.status == NOT_CONFIRMED:
            # Without its own fix probed, the NaN is traced neither to this finding nor away from it.
            where = "was not traced to this finding" if self.unchecked else "comes from elsewhere"
            return (f"not confirmed: the NaN gradient at {self._at()} ({MODE_NAMES.get(self.mode, self.mode)}) "
                    f"{where}: {self.cause}")
        if self.status == REFUTED:
            if self.reason:
                return f"refuted: no gradient reaches this op: {self.reason}"
            text = f"refuted: no NaN gradient in {self.probes} probe{'s' if self.probes != 1 else ''}"
            if self.differentiated:
                text += f" of {', '.join(self.differentiated)}"
            if self.fixed:
                text += f" with {', '.join(name for name, _ in self.fixed)} fixed"
            if self.settings:
                text += " and " if self.fixed else " with "
                text += "; ".join(f"{name} at {values}" for name, values in self.settings)
                text += " (recorded settings)"
            if self.modes and len(self.modes) < 2:
                text += f" ({MODE_NAMES.get(self.modes[0], self.modes[0])} only)"
            return text
        return f"not probed: {self.reason}"

    def _at(self) -> str:
        return ", ".join(f"{name}={shown}" for name, _, shown in self.inputs)

    def to_dict(self) -> dict:
        return {
            "verdict": self.status,
            "text": self.text,
            "function": self.function or None,
            "inputs": {name: value for name, value, _ in self.inputs} if self.inputs else None,
            "mode": self.mode or None,
            # JSON has no infinities: a log's -inf travels as the string "-inf"
            "forward": self.forward if self.forward is None or math.isfinite(self.forward) else str(self.forward),
            "probes": self.probes,
            "modes": list(self.modes),
            "dtype": self.dtype or None,
            "reason": self.reason or None,
            "cause": self.cause or None,
            "check": self.check or None,
            "differentiated": list(self.differentiated),
            "fixed": dict(self.fixed),
            "settings": dict(self.settings),
            "constructor": self.constructor or None,
            "recorded": self.recorded,
            "unchecked": self.unchecked,
        }


def not_probed(reason: str, function: str = "") -> Verdict:
    return Verdict(NOT_PROBED, reason=reason, function=function)
