"""From findings to verdicts: plan one probe job per file, run the jobs, read the results back.

A finding is probed through the unit that holds it (``extract.py``), with the probe values of its rule
(``values.py``).  A unit with one finding is probed once.  When a unit holds several findings, a NaN gradient
could come from any of them, so each finding is also probed in a copy of the module where the *other* findings'
suggested rewrites are applied: a NaN that survives there is this finding's.  When that copy cannot be built
(an other finding has no rewrite) or cannot be probed, the verdict falls back to the plain probe of the unit and
says how many other findings may cause the NaN.
"""

from __future__ import annotations

import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Sequence

from ..finding import Edit, Finding
from ..knowledge import PARSE_ERROR_CODE, RULE_CODES
from ..lint import SourceError, decode
from .extract import ExtractError, ModuleSlicer, Unit
from .supervisor import DEFAULT_TIMEOUT, Job, Session, run_job
from .values import DEFAULT_DTYPE, probe_values
from .verdict import CONFIRMED, NOT_PROBED, NOT_REPRODUCED, Verdict, not_probed

Progress = Callable[[str], None]


@dataclass
class _Plan:
    """One file's job, and for each of its findings the tasks whose results decide its verdict."""

    path: str
    job: Job | None
    verdicts: dict[int, Verdict] = field(default_factory=dict)  # finding index -> verdict decided up front
    primary: dict[int, int] = field(default_factory=dict)  # finding index -> task id (isolated or sole)
    fallback: dict[int, tuple[int, int]] = field(default_factory=dict)  # finding index -> (task id, others)
    units: dict[int, Unit] = field(default_factory=dict)  # task id -> unit


def confirm_findings(findings: Sequence[Finding], timeout: float = DEFAULT_TIMEOUT, progress: Progress | None = None,
                     workers: int | None = None, dtype: str = DEFAULT_DTYPE) -> list[Finding]:
    """``findings`` in the same order, each with a ``verdict`` (parse errors are left as they are)."""
    by_path: dict[str, list[int]] = {}
    for index, finding in enumerate(findings):
        if finding.code != PARSE_ERROR_CODE:
            by_path.setdefault(finding.path, []).append(index)
    plans = [_plan_file(path, [(i, findings[i]) for i in indices], dtype) for path, indices in by_path.items()]
    verdicts: dict[int, Verdict] = {}
    runnable = [plan for plan in plans if plan.job is not None and plan.job.tasks]
    runnable.sort(key=lambda plan: -len(plan.job.tasks))  # the longest files first keep the workers evenly busy
    tracker = _Tracker(progress, len(runnable), sum(len(plan.job.tasks) for plan in runnable))

    def run(plan: _Plan) -> dict[int, dict]:
        tracker.file_started(plan.path)
        reported: list[int] = []  # tasks the child finished; the others failed and are counted at the end

        def on_event(event: dict) -> None:
            if event.get("event") == "result":
                reported.append(event["task"])
            tracker.event(event)

        try:
            return run_job(plan.job, timeout, on_event, session)
        finally:
            tracker.file_finished(len(plan.job.tasks) - len(reported))

    results_by_plan = {}
    session = Session()
    if runnable:
        pool = ThreadPoolExecutor(max_workers=workers or default_workers(len(runnable)))
        try:
            for plan, results in zip(runnable, pool.map(run, runnable)):
                results_by_plan[id(plan)] = results
        except BaseException:  # Ctrl-C: stop every child before the threads that watch them are joined
            session.cancel()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    tracker.close()
    for plan in plans:
        verdicts.update(_read_verdicts(plan, results_by_plan.get(id(plan), {})))
    return [replace(finding, verdict=verdicts[i]) if i in verdicts else finding for i, finding in enumerate(findings)]


def default_workers(files: int) -> int:
    """Parallel probe processes: one per CPU this process may use, at most 4 (each holds a TensorFlow runtime)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(files, cpus, 4))


# -- planning -----------------------------------------------------------------------------------------------------
def _plan_file(path: str, findings: list[tuple[int, Finding]], dtype: str) -> _Plan:
    plan = _Plan(path, None)
    reason = _unprobeable_file(path, findings)
    source = None
    if reason is None:
        try:
            with open(path, "rb") as handle:
                source = decode(handle.read())
            slicer = ModuleSlicer(source, path)
        except (OSError, SourceError, ExtractError) as error:
            reason = f"cannot read the file again: {getattr(error, 'strerror', None) or error}"
    if reason is not None:
        plan.verdicts = {index: not_probed(reason) for index, _ in findings}
        return plan
    plan.job = Job(path, {"original": source}, [])
    groups: dict[tuple[int, int], list[tuple[int, Finding]]] = {}
    units: dict[tuple[int, int], Unit] = {}
    for index, finding in findings:
        unit = slicer.unit_at(finding.line, finding.start.column)
        key = (unit.first_line, unit.last_line)
        units[key] = unit
        groups.setdefault(key, []).append((index, finding))
    for key, members in groups.items():
        unit = units[key]
        if unit.problem:
            for index, _ in members:
                plan.verdicts[index] = not_probed(unit.problem, unit.label if unit.name != "<module>" else "")
            continue
        whole = _add_task(plan, "original", unit, {finding.code for _, finding in members}, dtype)
        if len(members) == 1:
            plan.primary[members[0][0]] = whole
            continue
        for index, finding in members:
            others = [other for _, other in members if other is not finding]
            plan.fallback[index] = (whole, len(others))
            isolated = _isolated_unit(source, path, unit, finding, others)
            if isolated is not None:
                module_key = f"isolating line {finding.line} column {finding.col}"
                plan.job.modules[module_key] = isolated[0]
                plan.primary[index] = _add_task(plan, module_key, isolated[1], {finding.code}, dtype)
    return plan


def _unprobeable_file(path: str, findings: list[tuple[int, Finding]]) -> str | None:
    if path == "-":
        return "source read from standard input is not probed; pass the file's path"
    if any(finding.cell is not None for _, finding in findings):
        return "notebook cells are not probed"
    return None


def _add_task(plan: _Plan, module: str, unit: Unit, codes: Iterable[str], dtype: str) -> int:
    task_id = len(plan.job.tasks)
    codes = sorted(set(codes) & set(RULE_CODES)) or list(RULE_CODES)
    plan.job.tasks.append({"id": task_id, "module": module, "unit": unit.to_json(), "dtype": dtype,
                           "values": list(probe_values(codes, dtype))})
    plan.units[task_id] = unit
    return task_id


def _isolated_unit(source: str, path: str, unit: Unit, finding: Finding, others: list[Finding]):
    """(source, unit) with every other finding's rewrite applied, or None when that cannot be done."""
    edits: dict[tuple, Edit] = {}
    for other in others:
        if other.fix is None or not other.fix.edits:
            return None
        for edit in other.fix.edits:  # two fixes may need the same edit (an import, a hoisted condition)
            edits[(edit.start, edit.end, edit.text)] = edit
    edits = list(edits.values())
    if any(_overlaps(edit, finding.start, finding.end) for edit in edits):
        return None
    try:
        rewritten = apply_edits(source, edits)
        isolated = ModuleSlicer(rewritten, path).unit_named(unit.label)
    except (ValueError, ExtractError, KeyError):
        return None
    return (rewritten, isolated) if not isolated.problem else None


def _overlaps(edit: Edit, start, end) -> bool:
    return (edit.start.line, edit.start.column) < (end.line, end.column) and \
        (start.line, start.column) < (edit.end.line, edit.end.column)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def apply_edits(source: str, edits: Iterable[Edit]) -> str:
    """``source`` with the edits applied; positions are 1-based lines and 0-based character columns, as LibCST
    reports them.  Raises ValueError for overlapping edits or positions outside the source."""
    starts = [0] + [match.end() for match in _LINE_BREAK.finditer(source)]

    def offset(position) -> int:
        if not 1 <= position.line <= len(starts):
            raise ValueError(f"line {position.line} is outside the source")
        return starts[position.line - 1] + position.column

    spans = sorted((offset(edit.start), offset(edit.end), edit.text) for edit in edits)
    for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
        if start < end:
            raise ValueError("overlapping edits")
    pieces, cursor = [], 0
    for start, end, text in spans:
        pieces += [source[cursor:start], text]
        cursor = end
    return "".join(pieces) + source[cursor:]


# -- reading results ----------------------------------------------------------------------------------------------
def _read_verdicts(plan: _Plan, results: dict[int, dict]) -> dict[int, Verdict]:
    verdicts = dict(plan.verdicts)
    for index, (task, others) in plan.fallback.items():
        primary = plan.primary.get(index)
        if primary is not None:
            verdict = verdict_from(results.get(primary), plan.units[primary])
            if verdict.status != NOT_PROBED:
                verdicts[index] = verdict
                continue
        verdict = verdict_from(results.get(task), plan.units[task])
        verdicts[index] = replace(verdict, others=others) if verdict.status == CONFIRMED else verdict
    for index, task in plan.primary.items():
        if index not in verdicts:
            verdicts[index] = verdict_from(results.get(task), plan.units[task])
    return verdicts


def verdict_from(result: dict | None, unit: Unit) -> Verdict:
    """The verdict a task's result gives."""
    if result is None:
        return not_probed("the probe process stopped before reaching it", unit.label)
    if result.get("status") != "probed":
        return not_probed(result.get("reason") or "unknown reason", unit.label)
    modes = result.get("modes", {})
    ran = tuple(mode for mode, outcome in modes.items() if not outcome.get("error"))
    common = dict(function=unit.label, probes=result.get("probes", 0), modes=ran, dtype=result.get("dtype", ""))
    for mode in ("eager", "xla"):
        witnesses = modes.get(mode, {}).get("witnesses") or []
        if witnesses:
            best = witnesses[0]
            inputs = tuple(zip(result["parameters"], best["point"], best["text"]))
            return Verdict(CONFIRMED, inputs=inputs, mode=mode, forward=best.get("forward"), **common)
    return Verdict(NOT_REPRODUCED, **common)


# -- progress -----------------------------------------------------------------------------------------------------
class _Tracker:
    """Counts finished tasks and files for the progress line."""

    def __init__(self, progress: Progress | None, files: int, tasks: int):
        self.progress, self.files, self.tasks = progress, files, tasks
        self.files_done = self.tasks_done = 0
        self.current: list[str] = []
        self.lock = threading.Lock()

    def file_started(self, path: str) -> None:
        with self.lock:
            self.current.append(path)
            self._show()

    def file_finished(self, uncounted: int = 0) -> None:
        with self.lock:
            self.files_done += 1
            self.tasks_done += max(uncounted, 0)
            self._show()

    def event(self, event: dict) -> None:
        if event.get("event") == "result":
            with self.lock:
                self.tasks_done += 1
                self._show()

    def _show(self) -> None:
        if self.progress is not None:
            latest = self.current[-1] if self.current else ""
            self.progress(f"probing: {self.files_done}/{self.files} files, {self.tasks_done}/{self.tasks} "
                          f"functions  {latest}")

    def close(self) -> None:
        if self.progress is not None:
            self.progress("")
