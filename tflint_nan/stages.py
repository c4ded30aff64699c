"""Where a run's time goes, stage by stage: off unless ``enable()`` is called (``benchmarks/run.py`` prints the
cold run's breakdown); when off, a stage costs an attribute check.

Stages nest (rewrite planning happens inside the analysis): each stage's total excludes the stages inside it, so
the totals add up to the time measured.
"""

from __future__ import annotations

import time

totals: dict[str, float] = {}
_on = False
_stack: list[list] = []  # [name, start, time spent in stages inside it]


def enable() -> None:
    global _on
    _on = True
    totals.clear()


def enabled() -> bool:
    return _on


class stage:
    """``with stage("plan"): ...`` adds the block's time, less its inner stages', to ``totals["plan"]``."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> None:
        if _on:
            _stack.append([self.name, time.perf_counter(), 0.0])

    def __exit__(self, *exception) -> None:
        if _on and _stack:
            name, start, inner = _stack.pop()
            elapsed = time.perf_counter() - start
            totals[name] = totals.get(name, 0.0) + elapsed - inner
            if _stack:
                _stack[-1][2] += elapsed


class Timed:
    """An object whose method calls are timed as one stage (the rewriter, whose calls the analysis makes)."""

    def __init__(self, target, name: str):
        self._target = target
        self._name = name

    def __getattr__(self, attribute: str):
        value = getattr(self._target, attribute)
        if not callable(value):
            return value

        def timed(*args, **kwargs):
            with stage(self._name):
                return value(*args, **kwargs)

        return timed
