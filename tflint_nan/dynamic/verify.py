"""``--fix --dynamic``: check a file's rewrite under TensorFlow before it is written.

The fixer (``fix.py``) calls the verifier with the original and the fixed source of a file.  Every top-level
function, lambda and class whose code the rewrite changed is probed twice in one child process, as written and as
rewritten, on the same probe points, eagerly and under XLA.  The rewrite passes when, for each of them:

* the forward values are the same at every probe point (a clamp or a double where only changes what the select
  discards);
* it brings in no NaN gradient that the original did not have;
* no NaN gradient is left where the linter no longer reports anything in that unit (a NaN gradient that an
  unfixable finding explains may stay).

Anything that cannot be checked -- a rewrite of module-level code, a function that cannot be probed -- fails: with
``--dynamic`` only verified rewrites are written.  The reason names the function and the probe that decided.
"""

from __future__ import annotations

import ast
from typing import Callable

from ..knowledge import RULE_CODES
from ..lint import Settings, SourceError, analyse
from .extract import ExtractError, ModuleSlicer, Unit
from .supervisor import DEFAULT_TIMEOUT, Job, run_job
from .values import DEFAULT_DTYPE, format_value, probe_values

Verifier = Callable[[str, str, str], "str | None"]


def rewrite_verifier(timeout: float = DEFAULT_TIMEOUT) -> Verifier:
    """The callback ``fix.py`` takes: ``verify(original, fixed, path)`` -> None, or why the rewrite is refused."""

    def verify(original: str, fixed: str, path: str = "<string>") -> str | None:
        return verify_rewrite(original, fixed, path, timeout)

    return verify


def verify_rewrite(original: str, fixed: str, path: str = "<string>", timeout: float = DEFAULT_TIMEOUT) -> str | None:
    try:
        before, after = ModuleSlicer(original, path), ModuleSlicer(fixed, path)
    except ExtractError as error:
        return f"cannot be checked: {error}"
    changed, problems = _changed_units(before, after)
    if problems:
        return "; ".join(problems)
    if not changed:
        return None
    job = Job(path, {"original": original, "rewritten": fixed}, [])
    values = list(probe_values(RULE_CODES, DEFAULT_DTYPE))
    for label, (old, new) in changed.items():
        job.tasks.append({"id": len(job.tasks), "module": "rewritten", "unit": new.to_json(), "dtype": DEFAULT_DTYPE,
                          "values": values, "reference": {"module": "original", "unit": old.to_json()}})
    results = run_job(job, timeout)
    still_reported = _units_with_findings(after, fixed, path)
    problems = []
    for task, (label, _) in zip(job.tasks, changed.items()):
        problem = _judge(label, results.get(task["id"]), label in still_reported)
        if problem:
            problems.append(problem)
    return "; ".join(problems) or None


def _changed_units(before: ModuleSlicer, after: ModuleSlicer) -> tuple[dict[str, tuple[Unit, Unit]], list[str]]:
    """The units whose code differs, keyed by label; and the changes that cannot be checked."""
    old_statements = {_identity(s.node): s.node for s in before.statements}
    changed: dict[str, tuple[Unit, Unit]] = {}
    problems = []
    for statement in after.statements:
        node = statement.node
        identity = _identity(node)
        previous = old_statements.get(identity)
        if previous is not None and ast.dump(previous) == ast.dump(node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue  # an import the rewrite needs: it runs with the units that use it
        name = identity[1] if identity[0] in ("function", "class") else None
        if name is None or previous is None:
            problems.append(f"the rewrite changes module-level code at line {node.lineno}, which cannot be probed")
            continue
        unit = after.unit_named(name)
        if unit.problem:
            problems.append(f"cannot check {name}: {unit.problem}")
            continue
        changed[unit.label] = (before.unit_named(name), unit)
    return changed, problems


def _identity(node: ast.stmt) -> tuple[str, str | int]:
    """What a top-level statement defines (a function, lambda or class by name), else its kind and position."""
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return ("class" if isinstance(node, ast.ClassDef) else "function"), node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
            and isinstance(node.value, ast.Lambda):
        return "function", node.targets[0].id
    return type(node).__name__, ast.dump(node)


def _units_with_findings(module: ModuleSlicer, source: str, path: str) -> set[str]:
    try:
        findings = analyse(source, path, Settings(strict=True))
    except SourceError:
        return set()
    return {module.unit_at(f.line, f.start.column).label for f in findings}


def _judge(label: str, result: dict | None, has_findings: bool) -> str | None:
    if result is None:
        return f"cannot check {label}: the probe process stopped before reaching it"
    if result.get("status") != "probed":
        return f"cannot check {label}: {result.get('reason')}"
    comparison = result.get("comparison") or {}
    if comparison.get("error"):
        return f"cannot check {label}: {comparison['error']}"
    names = result["parameters"]
    if comparison.get("mismatches"):
        first = comparison["first"]
        dtype = result.get("dtype", DEFAULT_DTYPE)
        return (f"{label} computes {_value(first['rewritten'], dtype)} instead of {_value(first['original'], dtype)} "
                f"at {_at(names, first['point'])}")
    for mode, point in comparison.get("new_nan", {}).items():
        return f"{label} gets a NaN gradient the original did not have, at {_at(names, point)} ({_mode(mode)})"
    if not has_findings:
        for mode in ("eager", "xla"):
            witnesses = result["modes"].get(mode, {}).get("witnesses") or []
            if witnesses:
                return (f"{label} still has a NaN gradient at {_at(names, witnesses[0]['text'])} "
                        f"({_mode(mode)})")
    return None


def _value(value: float | None, dtype: str) -> str:
    return "nan" if value is None else format_value(value, dtype)


def _at(names: list[str], texts: list[str]) -> str:
    return ", ".join(f"{name}={text}" for name, text in zip(names, texts))


def _mode(mode: str) -> str:
    return "eager" if mode == "eager" else "XLA"
