"""What dynamic mode concluded about one finding."""

from __future__ import annotations

from dataclasses import dataclass

CONFIRMED = "confirmed"
NOT_REPRODUCED = "not_reproduced"
NOT_PROBED = "not_probed"
MODE_NAMES = {"eager": "eager", "xla": "XLA"}


@dataclass(frozen=True)
class Verdict:
    status: str  # CONFIRMED | NOT_REPRODUCED | NOT_PROBED
    reason: str = ""  # NOT_PROBED: why, in words
    function: str = ""  # the probed unit: "custom_activation", "CustomELU.call"
    inputs: tuple[tuple[str, float, str], ...] = ()  # CONFIRMED: (parameter, value, value as printed)
    mode: str = ""  # CONFIRMED: "eager" or "xla", where the NaN gradient appeared
    forward: float | None = None  # CONFIRMED: the (finite) forward value at the witness
    probes: int = 0  # probe points per mode
    modes: tuple[str, ...] = ()  # the modes that ran
    dtype: str = ""
    others: int = 0  # other findings in the same function that this probe could not rule out as the cause

    @property
    def text(self) -> str:
        """``confirmed: NaN gradient at x=89.0 (eager)``, ``not reproduced: 38 probes``, ``not probed: ...``."""
        if self.status == CONFIRMED:
            at = ", ".join(f"{name}={shown}" for name, _, shown in self.inputs)
            detail = MODE_NAMES.get(self.mode, self.mode)
            if self.others:
                detail += f"; {self.others} other finding{'s' if self.others > 1 else ''} in {self.function} " \
                          "may cause it"
            return f"confirmed: NaN gradient at {at} ({detail})"
        if self.status == NOT_REPRODUCED:
            text = f"not reproduced: {self.probes} probe{'s' if self.probes != 1 else ''}"
            if self.modes and len(self.modes) < 2:
                text += f" ({MODE_NAMES.get(self.modes[0], self.modes[0])} only)"
            return text
        return f"not probed: {self.reason}"

    def to_dict(self) -> dict:
        return {
            "verdict": self.status,
            "text": self.text,
            "function": self.function or None,
            "inputs": {name: value for name, value, _ in self.inputs} if self.inputs else None,
            "mode": self.mode or None,
            "forward": self.forward,
            "probes": self.probes,
            "modes": list(self.modes),
            "dtype": self.dtype or None,
            "reason": self.reason or None,
        }


def not_probed(reason: str, function: str = "") -> Verdict:
    return Verdict(NOT_PROBED, reason=reason, function=function)
