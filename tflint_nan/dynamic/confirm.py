"""From findings to verdicts: plan one probe job per file, run the jobs, read the results back.

A finding is probed through the unit that holds it (``extract.py``).  Its inputs are chosen by ``inputs.py``:
gradients only for inputs that can carry one in training, realistic fixed values for labels, step counters and
parameters every call passes a number, the extreme probe values (``values.py``) only on the inputs that reach the
finding's operand.  When no input can carry a gradient, the finding is refuted without running anything; when the
static model shows that no gradient reaches the op in training (``Finding.no_gradient``: only a metric reads the
function's result...), a NaN the probes find by differentiating the function anyway refutes nothing and confirms
nothing: the verdict is refuted, with the static reason.

Confirmation is causal.  The unit is probed as written, and again, on the same points, in a copy of the module
where *this finding's own* rewrite is applied (``Finding.fix``; without one, the minimal input guard of
``inputs.guard_edits``; for a division whose NaN that guard leaves, also the divisor guard of
``inputs.divisor_guard_edits``, which puts 1 where the divisor is 0), everything else unchanged.  The finding
is confirmed at a point whose NaN gradient that copy removes.  When the unit holds other findings, a NaN that only shows once they are fixed counts too (the
copy with every other finding fixed against the copy with all of them fixed).  A NaN gradient that this
finding's fix does not remove is "not confirmed: it comes from elsewhere", naming the other finding whose fix
removes it, when one does.  A NaN that the fix only turns into an infinite gradient confirms nothing either: at
that point the kept elements cannot train (a scale of 1e-30 divides all of them), so the select hid nothing.
"""

from __future__ import annotations

import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Sequence

from ..finding import Edit, Finding, Position
from ..knowledge import FLOAT_WIDTH_MISMATCH_ERRORS, LOG_OF_PROBABILITY_CODE, PARSE_ERROR_CODE, RULE_CODES
from ..lint import SourceError, decode
from .extract import ExtractError, ModuleSlicer, Unit
from .inputs import compose_copies, divisor_guard_edits, guard_edits, plan_inputs, read_only_by_its_select
from .supervisor import DEFAULT_TIMEOUT, Job, Session, run_job
from .values import DEFAULT_DTYPE, probe_values
from .verdict import CONFIRMED, NOT_CONFIRMED, NOT_PROBED, REFUTED, Verdict, not_probed

Progress = Callable[[str], None]


@dataclass
class _Plan:
    """One file's job, and for each of its findings the task whose result decides its verdict."""

    path: str
    job: Job | None
    verdicts: dict[int, Verdict] = field(default_factory=dict)  # finding index -> verdict decided up front
    tasks: dict[int, int] = field(default_factory=dict)  # finding index -> task id
    units: dict[int, Unit] = field(default_factory=dict)  # task id -> unit
    context: dict[int, dict] = field(default_factory=dict)  # finding index -> what reading the result needs


def confirm_findings(findings: Sequence[Finding], timeout: float = DEFAULT_TIMEOUT, progress: Progress | None = None,
                     workers: int | None = None, dtype: str = DEFAULT_DTYPE, rule: str | None = None,
                     path: str | None = None) -> list[Finding]:
    """``findings`` in the same order, each with a ``verdict`` (parse errors, and findings outside ``rule`` or
    ``path`` when given, are left as they are)."""
    by_path: dict[str, list[int]] = {}
    wanted_path = os.path.realpath(path) if path else None
    for index, finding in enumerate(findings):
        if rule and finding.code != rule.upper():
            continue
        if wanted_path and os.path.realpath(finding.path) != wanted_path:
            continue
        if finding.code != PARSE_ERROR_CODE:
            by_path.setdefault(finding.path, []).append(index)
    plans = [_plan_file(path, [(i, findings[i]) for i in indices], dtype) for path, indices in by_path.items()]
    verdicts = _probe(plans, timeout, progress, workers)
    # Code that computes in float64 throughout (zfit, GPflow) fails when float32 probe tensors meet its own float64
    # constants: those findings are probed again, in float64 (whose thresholds follow: exp overflows above 709).
    again: dict[str, list[int]] = {}
    for plan in plans:
        for index, task in plan.tasks.items():
            if plan.job.tasks[task]["dtype"] != "float64" and verdicts[index].status == NOT_PROBED and \
                    float_width_mismatch(verdicts[index].reason):
                again.setdefault(plan.path, []).append(index)
    if again:
        retried = _probe([_plan_file(path, [(i, findings[i]) for i in indices], "float64")
                          for path, indices in again.items()], timeout, progress, workers)
        for index, verdict in retried.items():
            if not (verdict.status == NOT_PROBED and float_width_mismatch(verdict.reason)):
                verdicts[index] = verdict
    return [replace(finding, verdict=verdicts[i]) if i in verdicts else finding for i, finding in enumerate(findings)]


def float_width_mismatch(reason: str) -> bool:
    """Whether a probe failed because float32 and float64 tensors met in one op (``knowledge``'s table)."""
    return any(re.search(pattern, reason) for pattern in FLOAT_WIDTH_MISMATCH_ERRORS)


def _probe(plans: list[_Plan], timeout: float, progress: Progress | None, workers: int | None
           ) -> dict[int, Verdict]:
    """Run the plans' jobs (several files in parallel) and read every finding's verdict."""
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
    verdicts: dict[int, Verdict] = {}
    for plan in plans:
        verdicts.update(_read_verdicts(plan, results_by_plan.get(id(plan), {})))
    return verdicts


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
                data = handle.read()
            if any(finding.cell is not None for _, finding in findings):
                source, findings, outside = _notebook_module(data, path, findings)
                plan.verdicts.update(outside)
            else:
                source = decode(data)
            slicer = ModuleSlicer(source, path)
        except (OSError, SourceError, ExtractError, ValueError) as error:
            reason = f"cannot read the file again: {getattr(error, 'strerror', None) or error}"
    if reason is not None:
        plan.verdicts = {index: not_probed(reason) for index, _ in findings}
        return plan
    plan.job = Job(path, {"original": source}, [])
    facts = _module_facts(slicer.tree, path)
    recording = _recordings(path)
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
        # Each finding's own intervention: its exact rewrite, or the guard of its op's operands.
        interventions: dict[int | str, tuple[list[Edit] | None, str]] = {}
        for index, finding in members:
            if finding.fix is not None and finding.fix.edits:
                interventions[index] = (list(finding.fix.edits), "rewrite")
            else:
                interventions[index] = (guard_edits(finding, source, tree=slicer.tree), "guard")
        variants: dict[str, dict | str] = {}

        def variant(name: str, indices: list[int]) -> None:
            edits: dict[tuple, Edit] = {}
            for i in indices:
                chosen = interventions[i][0]
                if chosen is None:
                    variants[name] = "the op's operands cannot be read to guard them"
                    return
                for edit in chosen:  # two fixes may need the same edit (an import, a hoisted condition)
                    edits[(edit.start, edit.end, edit.text)] = edit
            try:
                rewritten = apply_edits(source, compose_copies(source, edits.values()))
                changed = ModuleSlicer(rewritten, path).unit_named(unit.label)
            except (ValueError, ExtractError, KeyError) as error:
                variants[name] = f"the rewrite cannot be applied: {error}"
                return
            if changed.problem:
                variants[name] = changed.problem
                return
            plan.job.modules[name] = rewritten
            variants[name] = {"module": name, "unit": changed.to_json()}

        indices = [index for index, _ in members]
        for index in indices:
            variant(f"own {index}", [index])
        for index, finding in members:
            if interventions[index][1] == "guard":
                divisor = divisor_guard_edits(finding, source, slicer.tree)
                if divisor is not None:
                    interventions[f"divisor {index}"] = (divisor, "guard")
                    variant(f"divisor {index}", [f"divisor {index}"])
        if len(members) > 1:
            variant(f"all {key[0]}", indices)
            for index in indices:
                variant(f"others {index}", [i for i in indices if i != index])
            # Divisions by the same degenerate value (``1 / (1 - n)`` in two branches): each one's NaN at n = 1
            # reaches n through the product its quotient multiplies, which its op guard leaves, so fixing the
            # others with theirs leaves it too.  With the divisors guarded instead, one is checked against the
            # others -- only divisions that nothing but their select reads, where the guard changes only what the
            # select discards.
            strongest = {i: f"divisor {i}" if isinstance(variants.get(f"divisor {i}"), dict)
                         and read_only_by_its_select(finding, source, slicer.tree) else i for i, finding in members}
            if sum(1 for i in indices if strongest[i] != i) > 1:
                for index in indices:
                    if strongest[index] != index:
                        others = [strongest[i] for i in indices if i != index]
                        variant(f"others divided {index}", others)
                        variant(f"all divided {index}", [*others, strongest[index]])
        for index, finding in members:
            inputs = plan_inputs(slicer.tree, facts, unit, finding, source, dtype, recording, path)
            context = {"finding": finding, "inputs": inputs, "check": interventions[index][1],
                       "members": members, "variants": variants, "own": f"own {index}"}
            plan.context[index] = context
            if inputs.no_gradient is not None:
                plan.verdicts[index] = Verdict(REFUTED, reason=inputs.no_gradient, function=unit.label,
                                               fixed=tuple(inputs.fixed().items()), recorded=inputs.recorded)
                continue
            contrasts = [["own", "original", f"own {index}"]]
            if f"divisor {index}" in variants:
                contrasts.append(["own divisor", "original", f"divisor {index}", ["own"]])
            if len(members) > 1:
                contrasts.append(["after others", f"others {index}", f"all {key[0]}", ["own", "own divisor"]])
                settled = ["own", "own divisor", "after others"]
                if f"all divided {index}" in variants:
                    contrasts.append(["after others divided", f"others divided {index}", f"all divided {index}",
                                      list(settled)])
                    settled.append("after others divided")
                contrasts += [[f"cause {i}", "original", f"own {i}", settled] for i in indices if i != index]
            used = {name for contrast in contrasts for name in contrast[1:3]} - {"original"}
            task = _add_task(plan, "original", unit, {finding.code}, inputs.dtype or dtype)
            plan.job.tasks[task].update({
                # The log of a probability that rounds to 0 is -inf, as the finding says: its NaN gradient counts
                # where the value is not finite, and is removed where its rewrite (or guard) leaves a finite gradient.
                # A mask's value shows its hazard too (``Finding.value_shows``: 0 * inf is NaN), but a NaN value
                # there also comes from inputs past the op's domain that the code never receives, such as a
                # probability just above 1 (measured on the development corpus): a mask's NaN value counts only
                # where the same inputs with the mask at 1 give an infinite value, the op at its pole
                # (``child.Probe.mask_pole``).
                "value_may_be_infinite": finding.code == LOG_OF_PROBABILITY_CODE,
                "mask_pole": finding.value_shows and finding.sink_kind == "mask",
                "inputs": inputs.to_json(), "constructor": inputs.constructor,
                "variants": {name: variants[name] for name in used if isinstance(variants[name], dict)},
                "contrasts": [c for c in contrasts if all(isinstance(variants.get(n), dict) or n == "original"
                                                          for n in c[1:3])]})
            plan.tasks[index] = task
    return plan


def _module_facts(tree, path: str):
    """The static gradient-flow model of the module (with its project for callers), or None if it fails."""
    try:
        from ..gradients import ModuleFacts
        from ..project import ProjectModules

        return ModuleFacts(tree, ProjectModules(path))
    except Exception:  # advice only: without it every input is differentiated, as before
        return None


def _recordings(path: str) -> dict:
    """What ``pytest --tflint-nan-record`` recorded for the file, or nothing (it is advice: never an error)."""
    try:
        from .record import load_recordings

        return load_recordings(path)
    except Exception:
        return {}


def _unprobeable_file(path: str, findings: list[tuple[int, Finding]]) -> str | None:
    if path == "-":
        return "source read from standard input is not probed; pass the file's path"
    return None


def _notebook_module(data: bytes, path: str, findings: list[tuple[int, Finding]]
                     ) -> tuple[str, list[tuple[int, Finding]], dict[int, Verdict]]:
    """A notebook as the module its kernel runs (its Python cells in order, as the linter reads it), its findings
    moved from their cells to that module's lines, and a verdict for each finding whose cell is not in it."""
    from .. import notebooks

    try:
        notebook = notebooks.load(data)
    except notebooks.NotebookError as error:
        raise ValueError(str(error)) from None
    cells, _ = notebooks.checked_cells(notebook, path)
    module = notebooks.join_cells(cells)
    starts = {cell.number: cell.first_line for cell in cells if cell.first_line}

    def moved(position: Position | None, cell: int | None) -> Position | None:
        if position is None or cell not in starts:
            return position
        return Position(starts[cell] + position.line - 1, position.column)

    inside, outside = [], {}
    for index, finding in findings:
        if finding.cell not in starts:
            outside[index] = not_probed(f"cell {finding.cell} is not Python code the notebook's module runs")
            continue
        cell = finding.cell
        fix = finding.fix
        if fix is not None:
            fix = replace(fix, edits=tuple(replace(edit, start=moved(edit.start, cell), end=moved(edit.end, cell))
                                           for edit in fix.edits))
        sink_cell = finding.sink_cell if finding.sink_cell is not None else cell
        inside.append((index, replace(finding, start=moved(finding.start, cell), end=moved(finding.end, cell),
                                      fix=fix, cell=None, sink_cell=None,
                                      sink_start=moved(finding.sink_start, sink_cell),
                                      sink_end=moved(finding.sink_end, sink_cell))))
    return module, inside, outside


def _add_task(plan: _Plan, module: str, unit: Unit, codes: Iterable[str], dtype: str) -> int:
    task_id = len(plan.job.tasks)
    codes = sorted(set(codes) & set(RULE_CODES)) or list(RULE_CODES)
    plan.job.tasks.append({"id": task_id, "module": module, "unit": unit.to_json(), "dtype": dtype,
                           "values": list(probe_values(codes, dtype))})
    plan.units[task_id] = unit
    return task_id


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
    for index, task in plan.tasks.items():
        verdicts[index] = causal_verdict(results.get(task), plan.units[task], plan.context[index])
    return verdicts


def causal_verdict(result: dict | None, unit: Unit, context: dict) -> Verdict:
    """Confirmed only where this finding's own intervention removes the NaN gradient."""
    verdict = verdict_from(result, unit)
    finding: Finding = context["finding"]
    inputs = context["inputs"]
    extra = dict(check=context["check"], fixed=tuple(inputs.fixed().items()),
                 settings=tuple(inputs.settings().items()),
                 differentiated=tuple(name for name, spec in inputs.specs.items() if spec["watch"]),
                 constructor=(inputs.constructor or {}).get("text", ""), recorded=inputs.recorded)
    if verdict.status == NOT_PROBED:
        return replace(verdict, recorded=inputs.recorded)
    if verdict.status == REFUTED or finding.no_gradient is not None:
        # Training never differentiates what the static model shows no gradient reaches: a NaN the probes make by
        # differentiating it anyway is no evidence of a hazard.
        return replace(verdict, status=REFUTED, reason=finding.no_gradient or "", inputs=(), mode="", **extra)
    contrasts = (result or {}).get("contrasts", {})
    for name in ("own", "own divisor", "after others", "after others divided"):
        witness = _removed(result, contrasts.get(name))
        if witness is not None:
            if name in ("own divisor", "after others divided"):
                extra["check"] = "domain" if finding.code == LOG_OF_PROBABILITY_CODE else "divisor"
            return replace(verdict, inputs=witness[0], mode=witness[1], forward=witness[2], **extra)
    cause = ""
    for other_index, other in context["members"]:
        if other is finding:
            continue
        if _removed(result, contrasts.get(f"cause {other_index}")) is not None:
            cause = (f"the {other.code} finding at line {other.line}, column {other.col} "
                     f"({other.op or 'its op'}) removes it")
            break
    if not cause:
        infinite = _still_infinite(result, contrasts.get("own"))
        if infinite:
            cause = (f"where this finding's {'rewrite' if context['check'] == 'rewrite' else 'input guard'} removes "
                     f"the NaN gradient ({infinite}), the gradient is still infinite: the kept elements cannot train "
                     f"there either, so the select hides nothing")
    unchecked = False
    if not cause:
        own = context["variants"].get(context["own"])
        word = "rewrite" if context["check"] == "rewrite" else "input guard"
        failure = own if isinstance(own, str) else (contrasts.get("own") or {}).get("error")
        if failure:
            cause, unchecked = f"its {word} could not be checked ({failure})", True
        else:
            cause = f"it stays when this finding's {word} is applied"
    return replace(verdict, status=NOT_CONFIRMED, cause=cause, unchecked=unchecked, **extra)


def _still_infinite(result: dict, contrast: dict | None) -> str:
    """The first point where the contrast's variant turns the NaN gradient into an infinite one, as text."""
    if not contrast or contrast.get("error"):
        return ""
    for mode in ("eager", "xla"):
        points = (contrast.get("modes", {}).get(mode) or {}).get("infinite")
        if points:
            inputs = ", ".join(f"{name}={text}" for name, text in zip(result["parameters"], points[0]["text"]))
            return f"at {inputs}, {'eagerly' if mode == 'eager' else 'under XLA'}"
    return ""


def _removed(result: dict, contrast: dict | None):
    """(inputs, mode, forward) of the best point whose NaN gradient the contrast's variant removed, or None."""
    if not contrast or contrast.get("error"):
        return None
    for mode in ("eager", "xla"):
        outcome = contrast.get("modes", {}).get(mode)
        if outcome and outcome.get("witnesses"):
            best = outcome["witnesses"][0]
            return tuple(zip(result["parameters"], best["point"], best["text"])), mode, best.get("forward")
    return None


def verdict_from(result: dict | None, unit: Unit) -> Verdict:
    """The verdict a task's result gives on its own: a NaN gradient anywhere in the unit, or none."""
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
    return Verdict(REFUTED, **common)


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
