"""The probe process: imports TensorFlow, runs the extracted code of one file and probes its gradients.

It runs in a child interpreter started by ``supervisor.py``, which gives it a time limit per task and an output
limit, and reads what it reports.  Protocol:

* the job arrives as one JSON document on stdin (then stdin is closed: user code that reads input sees EOF);
* events leave as JSON lines on the process's original stdout.  File descriptor 1 is pointed at stderr first, so
  whatever the user's code prints lands in the captured output, never in the event stream.

Events: ``ready`` (TensorFlow imported), ``start`` (a task begins), ``step`` (a statement of the user's module is
about to run: if the process dies or hangs there, the supervisor knows which statement to blame and skip),
``call`` (the module's code is in place; the unit is being built and called), ``result`` (a task's outcome),
``done``; or ``fatal`` when TensorFlow itself cannot be imported.

The user's module is never imported as a whole: only the steps ``extract.py`` chose run, compiled from the
module's own syntax tree so that line numbers (tracebacks, ``@tf.function``'s source lookup) stay the file's own.
"""

from __future__ import annotations

import ast
import functools
import json
import linecache
import math
import os
import random
import sys
import types

from .extract import Step, Unit
from .inputs import DIVISOR_GUARD_NAME, GUARD_NAME, OP_GUARD_NAME, SELECT_MARK_NAME
from .supervisor import COPY_PROBE
from .values import format_value, grid_points, magnitude_key, probe_points

WITNESSES = 3  # NaN points kept per mode, the smallest first
ALONE_CHECKS = 3  # points whose removed NaN is checked again on their own, per contrast and mode
TABLE_ROWS = 2000  # at most this many rows come back for ``tflint-nan probe``
PER_POINT_LIMIT = 512  # points probed one at a time when a function's output is not one row per input element
_MESSAGE_LIMIT = 300


class NotProbed(Exception):
    """The task cannot be probed; the message says why, in words for the report."""


class Events:
    def __init__(self, fd: int):
        self._file = os.fdopen(fd, "w", encoding="utf-8", buffering=1)

    def send(self, **event) -> None:
        self._file.write(json.dumps(event) + "\n")
        self._file.flush()


def main() -> None:
    events = Events(os.dup(1))
    os.dup2(2, 1)  # print() in user code now goes to the captured output, not the event stream
    job = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    sys.stdin = open(os.devnull, encoding="utf-8")
    try:
        import tensorflow as tf
    except BaseException as error:  # a missing or broken installation, reported instead of a traceback
        events.send(event="fatal", reason=f"TensorFlow could not be imported: {describe(error)}")
        os._exit(0)
    try:  # the probe tensors are small: one thread each keeps parallel probe processes from competing
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    if any(_uses_keras_backend(source) for source in job["modules"].values()):
        _give_keras_backend_its_keras2_names(tf)
    _block_network()
    events.send(event="ready", tensorflow=tf.__version__)
    runs: dict[str, ModuleRun] = {}
    poisoned = {tuple(step): reason for step, reason in job.get("poisoned", [])}  # (module, statement, name)
    for task in job["tasks"]:
        events.send(event="start", task=task["id"])
        try:
            result = run_task(tf, task, job, runs, poisoned, events)
        except NotProbed as reason:
            result = {"status": "not_probed", "reason": str(reason)}
        except BaseException as error:  # the probe machinery itself failed on this input: report, go on
            result = {"status": "not_probed", "reason": f"probing failed: {describe(error)}"}
        events.send(event="result", task=task["id"], **result)
    events.send(event="done")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # threads the user's code started must not keep the process alive


# -- running the user's module ------------------------------------------------------------------------------------
class ModuleRun:
    """One module's namespace, filled step by step; each step runs at most once and remembers its failure."""

    def __init__(self, key: str, source: str, path: str):
        self.key = key
        self.filename = path if key == "original" else f"{path} ({key})"
        self.tree = ast.parse(source, self.filename)
        self.path = path
        name = f"tflint_nan_probe_{abs(hash((key, path)))}"
        self.module = types.ModuleType(name)
        self.module.__file__ = os.path.abspath(path) if os.path.exists(path) else path
        sys.modules[name] = self.module
        # Register the source under the compiled file name: tracebacks and tf.function (which reads a function's
        # source) see this text even when it is a rewrite that exists only here.
        linecache.cache[self.filename] = (len(source), None, source.splitlines(True), self.filename)
        package, root = package_of(path)
        if package:
            # A module of a package runs as ``python -m package.module`` would run it: the folder above the top
            # package comes first on sys.path (so the package's own source is imported, not an installed copy), and
            # relative imports resolve against the package.
            self.module.__package__ = package
            search = root
        else:
            # As when the file runs as a script: its directory comes first, so its sibling modules import.
            search = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(search) and search not in sys.path:
            sys.path.insert(0, search)
        self.outcomes: dict[tuple[int, str | None], str | None] = {}

    def run(self, steps: tuple[Step, ...], poisoned: dict, events: Events) -> None:
        for step in steps:
            key = (step.statement, step.name)
            if key not in self.outcomes:
                if (self.key, *key) in poisoned:
                    self.outcomes[key] = poisoned[(self.key, *key)]
                else:
                    self.outcomes[key] = self._execute(step, events)
            if self.outcomes[key] is not None:
                raise NotProbed(self.outcomes[key])

    def _execute(self, step: Step, events: Events) -> str | None:
        node = self.tree.body[step.statement]
        if step.name is not None:
            node = _import_of(node, step.name)
        events.send(event="step", module=self.key, statement=step.statement, name=step.name, line=node.lineno)
        code = compile(ast.Module(body=[node], type_ignores=[]), self.filename, "exec")
        try:
            exec(code, self.module.__dict__)
        except SystemExit as error:
            return f"line {node.lineno} of the module called sys.exit({error.code!r})"
        except ImportError as error:
            return f"import failed at line {node.lineno}: {describe(error)}"
        except BaseException as error:
            return f"line {node.lineno} of the module raised {describe(error)}"
        return None


def package_of(path: str) -> tuple[str, str]:
    """The dotted package a module file belongs to (its folders up to the last one with an ``__init__.py``) and the
    folder that holds the top package; ``("", "")`` for a module outside any package."""
    folder = os.path.dirname(os.path.abspath(path))
    parts: list[str] = []
    while os.path.isfile(os.path.join(folder, "__init__.py")) and os.path.basename(folder).isidentifier():
        parts.insert(0, os.path.basename(folder))
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return (".".join(parts), folder) if parts else ("", "")


def _import_of(node: ast.stmt, name: str) -> ast.stmt:
    """The import statement cut down to the alias that binds ``name``."""
    def bound_name(alias: ast.alias) -> str:
        if isinstance(node, ast.Import):
            return alias.asname or alias.name.partition(".")[0]  # import a.b binds a
        return alias.asname or alias.name

    aliases = [alias for alias in node.names if bound_name(alias) == name]
    copy = ast.Import(names=aliases) if isinstance(node, ast.Import) else ast.ImportFrom(
        module=node.module, names=aliases, level=node.level)
    return ast.copy_location(copy, node)


def _uses_keras_backend(source: str) -> bool:
    return "keras" in source and "backend" in source


def _give_keras_backend_its_keras2_names(tf) -> None:
    """Keras 3's ``keras.backend`` dropped the Keras 2 functions (``switch``, ``exp``, ``greater``...) that old code
    calls as ``from keras import backend as K``; TensorFlow's ``tf.keras.backend`` keeps them.  Lend them to
    ``keras.backend`` in this process so such code runs as written."""
    try:
        import keras.backend as backend
        legacy = tf.keras.backend
    except BaseException:
        return
    if legacy is backend:
        return
    for name in dir(legacy):
        if not name.startswith("_") and not hasattr(backend, name):
            setattr(backend, name, getattr(legacy, name))


def _block_network() -> None:
    """Refuse network connections and name lookups from here on: probing needs none, and a function that downloads
    a data set should fail fast instead of using the network."""
    import socket

    internet = {socket.AF_INET, getattr(socket, "AF_INET6", socket.AF_INET)}

    def audit(event: str, args: tuple) -> None:
        if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
            raise OSError("network access is disabled while tflint-nan probes")
        if event in ("socket.connect", "socket.sendto", "socket.bind") and getattr(args[0], "family", None) in internet:
            raise OSError("network access is disabled while tflint-nan probes")

    sys.addaudithook(audit)


# -- one task -----------------------------------------------------------------------------------------------------
def run_task(tf, task: dict, job: dict, runs: dict, poisoned: dict, events: Events) -> dict:
    unit = Unit.from_json(task["unit"])
    if unit.problem:
        raise NotProbed(unit.problem)
    run = _module_run(task["module"], job, runs, tf)
    run.run(unit.steps, poisoned, events)
    events.send(event="call", function=unit.label)
    constructor = task.get("constructor")
    call, parameters = build_callable(run.module, unit, constructor)
    if not parameters:
        raise NotProbed(f"{unit.label} takes no arguments to feed probe tensors to")
    dtype = task["dtype"]
    specs = task.get("inputs") or {}
    if specs:
        columns = [specs.get(name, {}).get("values") or task["values"] for name, _ in parameters]
        points = grid_points(columns)
    else:
        points = probe_points(task["values"], len(parameters))
    watch = [specs.get(name, {}).get("watch", True) for name, _ in parameters]
    probe = Probe(tf, call, parameters, points, dtype, watch, [specs.get(name, {}) for name, _ in parameters])
    probe.value_may_be_infinite = bool(task.get("value_may_be_infinite"))
    probe.mask_pole = bool(task.get("mask_pole"))
    result = {"status": "probed", "probes": len(points), "dtype": dtype,
              "parameters": [name for name, _ in parameters], "watched": [
                  name for (name, _), w in zip(parameters, watch) if w], "modes": {}}
    modes = task.get("modes", ("eager", "xla"))
    for mode in modes:
        result["modes"][mode] = probe.run(mode)
    tensorflow_1 = Tensorflow1(tf)
    try:
        if all(outcome.get("error") for outcome in result["modes"].values()) and tensorflow_1.apply(run.module):
            # Code written for TensorFlow 1 (``tf.to_float``, ``keep_dims=``, ``targets=``) runs as written against
            # ``tf.compat.v1``, still eagerly; only when TensorFlow 2's names fail, and only for this task.
            call, parameters = build_callable(run.module, unit, constructor)
            retried = Probe(tf, call, parameters, points, dtype, watch, probe.specs)
            retried.value_may_be_infinite = probe.value_may_be_infinite
            retried.mask_pole = probe.mask_pole
            outcomes = {mode: retried.run(mode) for mode in modes}
            if not all(outcome.get("error") for outcome in outcomes.values()):
                probe, result["modes"], result["tensorflow_1"] = retried, outcomes, True
        if all(outcome.get("error") for outcome in result["modes"].values()):
            first = next(iter(result["modes"].values()))
            raise NotProbed(first["error"])
        if task.get("table"):
            result["table"] = probe.table()
        reference = task.get("reference")
        if reference is not None:
            result["comparison"] = _compare(tf, probe, reference, job, runs, poisoned, events)
        if task.get("variants"):
            result["contrasts"] = _contrasts(tf, probe, task, job, runs, poisoned, events,
                                             tensorflow_1 if result.get("tensorflow_1") else None)
    finally:
        tensorflow_1.restore()
    return result


class Tensorflow1:
    """Rebinds a module's names for ``tensorflow`` to TensorFlow 2's API with TensorFlow 1's (``tf.compat.v1``)
    behind it, and puts them back afterwards: functions read their globals when called, so the rebinding reaches
    the probed function and everything of its module it calls."""

    def __init__(self, tf):
        self.tf = tf
        self.changed: list[tuple[dict, str, object]] = []

    def apply(self, module) -> bool:
        namespace = module.__dict__
        names = [name for name, value in namespace.items() if value is self.tf]
        for name in names:
            self.changed.append((namespace, name, namespace[name]))
            namespace[name] = _BothApis(self.tf, self.tf.compat.v1)
        return bool(names)

    def restore(self) -> None:
        for namespace, name, value in reversed(self.changed):
            namespace[name] = value
        self.changed.clear()


class _BothApis:
    """A TensorFlow namespace that answers with TensorFlow 2's name (``tf.where`` broadcasts, as the linter's
    rewrites assume) and falls back to TensorFlow 1's where 2 has none (``tf.log``, ``tf.to_float``) or where 2's
    function rejects a keyword that 1's takes (``keep_dims=``, ``targets=``)."""

    def __init__(self, current, legacy):
        self._current, self._legacy = current, legacy

    def __getattr__(self, name: str):
        current, legacy = getattr(self._current, name, None), getattr(self._legacy, name, None)
        if current is None or legacy is None or current is legacy:
            if current is None and legacy is None:
                raise AttributeError(f"module 'tensorflow' has no attribute {name!r}")
            return current if current is not None else legacy
        if isinstance(current, types.ModuleType) and isinstance(legacy, types.ModuleType):
            return _BothApis(current, legacy)
        if isinstance(current, types.FunctionType) and callable(legacy) and not isinstance(legacy, type):
            @functools.wraps(current)
            def either(*args, **kwargs):
                try:
                    return current(*args, **kwargs)
                except TypeError as error:
                    if "keyword argument" not in str(error):
                        raise
                return legacy(*args, **kwargs)

            return either
        return current


def _contrasts(tf, probe: Probe, task: dict, job: dict, runs: dict, poisoned: dict, events: Events,
               tensorflow_1: Tensorflow1 | None = None) -> dict:
    """Run each variant of the unit (the module with one or more findings' rewrites or guards applied) on the
    same points; for each contrast ``[name, base, variant]``, the points whose NaN gradient in ``base`` is gone in
    ``variant``, per mode.  A contrast may name earlier ones; when one of those removed a NaN, it is skipped."""
    np = probe.np
    probes: dict[str, Probe | str] = {"original": probe}

    def variant(key: str):
        if key not in probes:
            spec = task["variants"][key]
            try:
                unit = Unit.from_json(spec["unit"])
                if unit.problem:
                    raise NotProbed(unit.problem)
                stopped = poisoned.get((spec["module"], COPY_PROBE, None))
                if stopped is not None:
                    raise NotProbed(stopped)
                # Each copy is a probe of its own, with the time limit of one: the supervisor restarts the clock.
                events.send(event="copy", module=spec["module"], function=unit.label, copy=copy_words(key))
                run = _module_run(spec["module"], job, runs, tf)
                run.run(unit.steps, poisoned, events)
                events.send(event="call", function=f"{unit.label} ({copy_words(key)})")
                if tensorflow_1 is not None:
                    tensorflow_1.apply(run.module)
                call, parameters = build_callable(run.module, unit, task.get("constructor"))
                if [name for name, _ in parameters] != [name for name, _ in probe.parameters]:
                    raise NotProbed("the rewrite changed the function's parameters")
                other = Probe(tf, call, parameters, probe.points, probe.dtype, probe.watch, probe.specs)
                other.mask_pole = probe.mask_pole
                other.layouts = list(probe.layouts)
                other.beside_zero = {mode: rows.get("beside_zero") for mode, rows in probe.rows.items()}
                for mode in probe.rows:
                    outcome = other.run(mode)
                    if outcome.get("error"):
                        raise NotProbed(outcome["error"])
                probes[key] = other
            except NotProbed as reason:
                probes[key] = str(reason)
            except BaseException as error:  # a variant that fails is reported, the others still count
                probes[key] = describe(error)
        return probes[key]

    def removed_any(name: str) -> bool:
        return any(m["removed"] for m in (out.get(name) or {}).get("modes", {}).values())

    out: dict[str, dict] = {}
    for entry in task.get("contrasts", []):
        name, base_key, variant_key = entry[:3]
        if any(removed_any(first) for first in (entry[3] if len(entry) > 3 else ())):
            continue  # an earlier contrast already settled it: spare the probes
        base, changed = variant(base_key), variant(variant_key)
        failed = base if isinstance(base, str) else changed if isinstance(changed, str) else None
        if failed is not None:
            out[name] = {"error": failed}
            continue
        modes = {}
        for mode, rows in base.rows.items():
            other = changed.rows.get(mode)
            if other is None or len(other["nan"]) != len(rows["nan"]) or rows["indices"] != other["indices"]:
                continue
            # The divisors guarded in every division a select reads (``confirm``): the guard puts 1 where a divisor
            # is 0, which only the selects discard, so a point counts only where the value stays the same.
            keeps_value = " divided " in variant_key and not task.get("value_may_be_infinite")
            gone = np.flatnonzero(_removed(rows, other, task.get("value_may_be_infinite"), keeps_value))
            infinite = np.flatnonzero(rows["nan"] & ~other["nan"] & ~other["clean"])
            # Witnesses whose value is finite first: a NaN behind a finite value is the one nothing else shows.
            ordered = sorted(gone, key=lambda p: (not rows["nan"][p], _point_key(
                probe.points[base._point_index(mode, p)], probe.dtype)))
            if rows["indices"] is None and ordered:
                # Another probe of the copy (two calls per point checked): with the time of one, as each copy has.
                spec = task["variants"].get(variant_key)
                if spec is not None:
                    label = Unit.from_json(spec["unit"]).label
                    events.send(event="copy", module=spec["module"], function=label,
                                copy=f"{copy_words(variant_key)}, point by point")
                    events.send(event="call", function=f"{label} ({copy_words(variant_key)}, point by point)")
                ordered = _removed_alone(base, changed, mode, ordered, task.get("value_may_be_infinite"),
                                         keeps_value)
                gone = ordered
            modes[mode] = {"removed": int(len(gone)), "left": int(other["nan"].sum()),
                           "witnesses": [base.witness(mode, p) for p in ordered[:WITNESSES]],
                           "infinite": [base.witness(mode, p) for p in infinite[:1]]}
        out[name] = {"error": None, "modes": modes}
    return out


def _removed(rows: dict, other: dict, value_may_be_infinite: bool, keeps_value: bool = False):
    """Per point (or row): whether its NaN gradient in ``rows`` is gone in ``other``, the variant's rows.

    The NaN is the variant's doing only where the variant trains: a finite value and finite gradients.  Where the
    NaN only turns into an infinite gradient, the point is outside what the function's kept elements can train on
    as well (a scale of 1e-30 divides every element), and the select hid nothing.  A finding whose hazard shows in
    the value too (the log of a probability that rounds to 0 is -inf) is confirmed where its rewrite into the
    built-in makes both the value and the gradient finite.  With ``keeps_value``, also where the variant's value
    is the original's."""
    if value_may_be_infinite:
        return rows["nan_anywhere"] & other["finite_gradient"]
    # A mask's NaN behind the NaN value of 0 * inf (``Probe.mask_pole``): the guard changes the gradient only, so
    # the value stays NaN and the gradient alone is compared.
    at_pole = rows["nan_at_pole"] & ~rows["nan"]
    removed = (rows["nan"] & other["clean"]) | (at_pole & other["finite_gradient"])
    if keeps_value:
        removed = removed & _same_values(rows["forward"], other["forward"])
    return removed


def _same_values(forward, other):
    """Per point (row): whether two runs' values agree (NaN agreeing with NaN)."""
    import numpy as np

    first, second = np.asarray(forward, dtype=np.float64), np.asarray(other, dtype=np.float64)
    if first.shape != second.shape:
        return np.zeros(len(first), bool)
    same = np.isclose(first, second, rtol=1e-5, atol=1e-6, equal_nan=True)
    return same.reshape(len(same), -1).all(axis=1)


def _removed_alone(base: Probe, changed: Probe, mode: str, ordered: list, value_may_be_infinite: bool,
                   keeps_value: bool = False) -> list:
    """Of the points whose NaN the variant removed when all points were probed in one call (``ordered``), those
    whose removal holds for the point on its own.

    Points probed together can meet (a sum over the rank-1 probe tensor puts them in one row), and a guard decides
    from the whole tensor (the op guard drops NaN where the op's value is not finite somewhere), so a NaN one point
    makes by itself can be removed only because another point sits beside it.  A point whose NaN shows on its own
    must lose it on its own; a point whose NaN needs the others (a softmax row's inf) keeps the verdict of the call
    that held them all.  Points are checked in order, one eager call each for the original and the variant (a NaN
    only XLA shows is not the point's own there, and keeps the call's verdict), until one holds: it and the points
    after it are kept.  When the first ``ALONE_CHECKS`` all fail, so does the rest."""
    for checked, position in enumerate(ordered):
        if checked >= ALONE_CHECKS:
            return []
        index = base._point_index(mode, position)
        own = base.alone(index)
        if own is None or not own[base._witness_flag][0]:
            return ordered[checked:]  # not its own NaN (or the point cannot run alone): the call's verdict stands
        fixed = changed.alone(index)
        if fixed is not None and _removed(own, fixed, value_may_be_infinite, keeps_value)[0]:
            return ordered[checked:]  # this witness holds; the points after it are taken as the call showed them
    return []


def copy_words(key: str) -> str:
    """What a causal check's copy of the module (``own 3``, ``others 3``, ``all 12``, ``divisor 3``) changes."""
    kind = key.rpartition(" ")[0]
    return {"own": "with one finding's fix", "others": "with the other findings' fixes",
            "all": "with every finding's fix", "divisor": "with one finding's divisor guarded",
            "others divided": "with the other findings' fixes, divisors guarded",
            "all divided": "with every finding's fix, divisors guarded"}.get(kind, key)


def _module_run(key: str, job: dict, runs: dict, tf=None) -> ModuleRun:
    if key not in runs:
        try:
            runs[key] = ModuleRun(key, job["modules"][key], job["path"])
        except SyntaxError as error:
            raise NotProbed(f"the {'rewritten ' if key != 'original' else ''}source does not parse: {error}")
        if tf is not None:
            runs[key].module.__dict__[GUARD_NAME] = nan_guard(tf)
            runs[key].module.__dict__[DIVISOR_GUARD_NAME] = safe_divisor(tf)
            discarded: dict = {}  # finding key -> the elements its select discards, set by the select's mark
            runs[key].module.__dict__[OP_GUARD_NAME] = op_guard(tf, discarded)
            runs[key].module.__dict__[SELECT_MARK_NAME] = select_mark(tf, discarded)
    return runs[key]


def nan_guard(tf):
    """The input guard a finding without an exact rewrite is checked with: the identity, whose gradient turns NaN
    and inf into 0.  Wrapped around an op's operands, it stops the NaN that op's backward pass makes (0 * inf), and
    the infinite gradient a root sends into a square whose derivative is 0 there (TFN009: the NaN forms one op
    further down), and changes nothing else, forward or backward."""

    @tf.custom_gradient
    def guard(x):
        def gradient(upstream):
            return tf.where(tf.math.is_finite(upstream), upstream, tf.zeros_like(upstream))

        return tf.identity(x), gradient

    def apply(value):
        if isinstance(value, tf.Variable):
            value = tf.convert_to_tensor(value)
        if tf.is_tensor(value) and value.dtype.is_floating:
            return guard(value)
        return value  # Python numbers, integer tensors: no gradient to guard

    return apply


def select_mark(tf, discarded: dict):
    """``mark(tf.where, True, key)(c, a, b)`` is ``tf.where(c, a, b)``, and records, for the op guard of the finding
    ``key``, the elements where the select discards the branch that holds its op (``c`` false for the true
    branch)."""

    def mark(select, op_in_true_branch: bool, __tflint_nan_select__=None):
        def call(*args, **kwargs):
            condition = args[0] if args else next(
                (kwargs[name] for name in ("condition", "cond", "pred", "c") if name in kwargs), None)
            if condition is not None:
                try:
                    condition = tf.cast(tf.convert_to_tensor(condition), tf.bool)
                    discarded[__tflint_nan_select__] = (
                        tf.logical_not(condition) if op_in_true_branch else condition)
                except Exception:  # a condition TensorFlow cannot read: the guard drops every zero
                    discarded.pop(__tflint_nan_select__, None)
            return select(*args, **kwargs)

        return call

    return mark


def op_guard(tf, discarded: dict | None = None):
    """The input guard of a finding whose sink sends its op a zero gradient: ``guard(lambda *a: op(a[0], a[1]),
    x, y)`` is ``op(x, y)``, and its gradient is the op's, except that the elements of the result whose gradient
    coming back is 0 (or already NaN, when the op's value is not finite somewhere) send nothing back, as with the
    double where.  The op's own infinite derivative on the other elements stays: the NaN it removes is the
    select's doing, nothing else.  Element-wise ops only (the risky ops are): each operand is spread to the
    result's shape, differentiated element by element, and summed back."""

    def apply(function, *operands, __tflint_nan_select__=None):
        positions = [i for i, value in enumerate(operands)
                     if (tf.is_tensor(value) or isinstance(value, tf.Variable)) and value.dtype.is_floating]
        if not positions:
            return function(*operands)

        def call(values):
            arguments = list(operands)
            for position, value in zip(positions, values):
                arguments[position] = value
            return function(*arguments)

        @tf.custom_gradient
        def guarded(*inputs):
            result = call(inputs)

            def gradient(upstream):
                shape = tf.shape(result)
                spread = [tf.broadcast_to(value, shape) for value in inputs]
                with tf.GradientTape() as tape:
                    tape.watch(spread)
                    again = call(spread)
                lanes = tape.gradient(again, spread, output_gradients=upstream,
                                      unconnected_gradients=tf.UnconnectedGradients.ZERO)
                # A NaN coming back is dropped too where the op's value is not finite somewhere: the rewrite the
                # guard stands for makes that value finite, which cures the NaN a neighbour makes of the inf (a
                # hand-written softmax's sum spreads it over the row).  Where the op's value is finite everywhere,
                # a NaN coming back is some other op's: dropping it would credit this finding with that op's NaN.
                value_not_finite = tf.logical_not(tf.reduce_all(tf.math.is_finite(result)))
                dropped = tf.logical_or(tf.equal(upstream, 0),
                                        tf.logical_and(tf.math.is_nan(upstream), value_not_finite))
                mask = (discarded or {}).get(__tflint_nan_select__)
                if mask is not None and mask.shape.is_fully_defined() and result.shape.is_fully_defined():
                    try:
                        if tf.broadcast_static_shape(mask.shape, result.shape) == result.shape:
                            # Only the zeros the select sends back: from the elements it discards.
                            dropped = tf.logical_and(dropped, tf.broadcast_to(mask, shape))
                    except ValueError:
                        pass  # shapes that do not line up: every zero counts, as without the select's mark
                back = []
                for value, lane in zip(inputs, lanes):
                    lane = tf.where(dropped, tf.zeros_like(lane), lane)
                    _, axes = tf.raw_ops.BroadcastGradientArgs(s0=shape, s1=tf.shape(value))
                    back.append(tf.reshape(tf.reduce_sum(lane, axis=axes), tf.shape(value)))
                return back

            return result, gradient

        return guarded(*[tf.convert_to_tensor(operands[i]) for i in positions])

    return apply


def safe_divisor(tf):
    """The guard a division is checked with when stopping its gradient is not enough: 1 where the divisor is 0,
    as the double where puts it, so the division's value is finite there too (a Python number is left alone: its
    division by 0 raises instead of making an inf)."""

    def apply(value):
        if isinstance(value, tf.Variable):
            value = tf.convert_to_tensor(value)
        if tf.is_tensor(value) and value.dtype.is_floating:
            return tf.where(tf.equal(value, 0), tf.ones_like(value), value)
        return value

    return apply


def build_callable(module, unit: Unit, constructor: dict | None = None):
    """``(call, parameters)``: ``call(*positional, **keyword)`` runs the unit; ``parameters`` are
    ``(name, keyword_only)`` pairs to feed with probe tensors.  A class is built from ``constructor`` (the literal
    arguments of a call of it in the project) when there is one, else from its defaults."""
    target = module.__dict__.get(unit.name)
    declared = [(p.name, p.keyword_only) for p in unit.parameters]
    if unit.kind == "function":
        if not callable(target):
            raise NotProbed(f"{unit.name} is not callable once its definition has run")
        if unit.inner:
            return _returned_function(target, unit), declared
        return target, declared
    if not isinstance(target, type):
        raise NotProbed(f"{unit.name} is not a class once its definition has run")
    try:
        if constructor:
            instance = target(*constructor.get("args", ()), **constructor.get("kwargs", {}))
        else:
            instance = target()
    except BaseException as error:
        if constructor:
            where = ("as the test run recorded it" if constructor.get("line") is None
                     else f"its call at {constructor['path']}:{constructor['line']}" if constructor.get("path")
                     else f"its call at line {constructor['line']}")
            raise NotProbed(f"cannot build {constructor.get('text')} ({where}): {describe(error)}") from None
        raise NotProbed(f"cannot build {unit.name}() from its defaults: {describe(error)}") from None
    if _derives_from(target, "Layer"):
        return instance, _required(instance.call)  # calling the layer runs build() and then call()
    if _derives_from(target, "Metric"):
        def update_then_result(*args, **kwargs):
            instance.reset_state()
            instance.update_state(*args, **kwargs)
            return instance.result()

        return update_then_result, _required(instance.update_state)
    method = getattr(instance, unit.method or "__call__")
    return method, declared


def _returned_function(factory, unit: Unit):
    """What ``factory()`` returns, when it is the function ``unit.inner`` it defines (a loss factory's loss)."""
    try:
        returned = factory()
    except BaseException as error:
        raise NotProbed(f"cannot call {unit.name}() with its defaults: {describe(error)}") from None
    if not callable(returned) or getattr(returned, "__name__", None) != unit.inner:
        raise NotProbed(f"{unit.name}() does not return its function {unit.inner}")
    return returned


def _derives_from(cls: type, name: str) -> bool:
    return any(base.__name__ == name and base.__module__.partition(".")[0] in ("keras", "tf_keras", "tensorflow")
               for base in cls.__mro__)


def _required(method) -> list[tuple[str, bool]]:
    import inspect

    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return [("inputs", False)]
    required = [(p.name, p.kind == p.KEYWORD_ONLY) for p in parameters
                if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return required or [("inputs", False)]


# -- probing ------------------------------------------------------------------------------------------------------
# Layouts of rows of two for an index finding, and where the 0 is beside the point in each.
_PAIR_LAYOUTS = {"pairs after": "after", "pairs before": "before"}


_FLAGS = ("nan", "nan_anywhere", "clean", "finite_gradient")


def _point_flags(np, finite_value, nan_gradients, finite_gradients) -> dict:
    """Per point (or per row of points): ``nan`` a NaN gradient behind a finite value (a witness), ``nan_anywhere``
    a NaN gradient whatever the value, ``clean`` a finite value and finite gradients, ``finite_gradient`` finite
    gradients whatever the value."""
    nan = np.logical_or.reduce([np.asarray(g) for g in nan_gradients]) if nan_gradients else np.asarray(False)
    finite_gradient = np.logical_and.reduce([np.asarray(g) for g in finite_gradients]) if finite_gradients else (
        np.asarray(True))
    return {"nan": nan & finite_value, "nan_anywhere": nan, "clean": finite_gradient & finite_value,
            "finite_gradient": finite_gradient}


class Probe:
    """Gradients of ``reduce_sum(f(inputs))`` on rank-1 probe tensors, eagerly and under XLA.

    Element i of every input tensor is one probe point.  When the output has one row per point (an element-wise
    activation, a layer), row i's forward value and the inputs' gradient at i belong to point i and the whole set
    is probed in one call per mode.  Otherwise the points are probed one at a time (a sample of them when there
    are many).  The traced functions are built once per task and reused.
    """

    def __init__(self, tf, call, parameters, points, dtype: str, watch=None, specs=None):
        import numpy as np

        self.tf, self.np = tf, np
        self.call = call
        self.parameters = parameters
        self.points = points
        self.dtype = dtype
        # Gradients are taken only for the inputs that can carry one in training; the others are fixed values.
        self.watch = list(watch) if watch is not None else [True] * len(parameters)
        # What a recording (``record.py``) says of each input: its dtype, its shape, or that it is a Python number.
        self.specs = list(specs) if specs is not None else [{} for _ in parameters]
        self.columns = [np.asarray([point[i] for point in points], dtype=spec.get("dtype") or dtype)
                        for i, spec in enumerate(self.specs)]
        # Rank 1 first; a layer that needs rank 2 gets (n, 1); code that reads an input as a Python value (``if x >
        # 0:``, ``range(n)``, ``tf.constant(rate, shape=[])``) gets each point alone, as a scalar.
        self.layouts = ["vector", "column", "scalar"]
        # Set for a variant probed on the same points as the original: the row layout the original's NaN showed in
        # (``_per_point``), so that each point is compared with itself.
        self.beside_zero: dict[str, str | None] | None = None
        # A finding whose hazard shows in the value too (a log of a probability, -inf): a NaN gradient counts even
        # where the value is not finite.
        self.value_may_be_infinite = False
        # A mask's finding (``mask * tf.math.log(p)``): where the mask is 0, the product's value is NaN too, and a NaN
        # gradient there counts when the same inputs with the mask at 1 give an infinite value -- the masked op was
        # at its pole (0 * inf), not outside its domain (a log of -1e-7 is NaN whatever the mask).
        self.mask_pole = False
        self.masks = [index for index, spec in enumerate(self.specs) if spec.get("masks")]
        self._siblings: dict[int, int] | None = None
        self._alone: dict[int, dict | None] = {}  # point -> its flags probed on its own (``alone``)
        if any(spec.get("pairs") for spec in self.specs):
            # An index (``tf.gather(log_p, labels, batch_dims=1)``) takes one entry of each row: rows of two, the
            # point beside a 0 and then after it, so that one of them is the entry left out.
            self.layouts[:0] = list(_PAIR_LAYOUTS)
        if any("shape" in spec for spec in self.specs):
            self.layouts.insert(0, "recorded")  # the shapes the test run passed come first
        self.steps = {"eager": self._step}
        self.rows: dict[str, dict] = {}

    def _args(self, columns, layout):
        tensors = [self._argument(column, spec, layout) for column, spec in zip(columns, self.specs)]
        positional = [t for t, (_, keyword) in zip(tensors, self.parameters) if not keyword]
        keywords = {name: t for t, (name, keyword) in zip(tensors, self.parameters) if keyword}
        return tensors, positional, keywords

    def _argument(self, column, spec: dict, layout: str):
        """One input for all points in ``column``: a Python number (recorded as one), or a tensor whose first axis
        is the probe points -- rank 1, an (n, 1) column, or the recorded shape with the points' axis in front of
        its other axes, each point's value filling its slice, lower ranks lined up on the right as broadcasting
        does (a recorded scalar becomes (n, 1, ..., 1))."""
        if spec.get("python"):
            return int(column[0]) if spec["python"] == "int" else float(column[0])
        if layout == "vector":
            return self.tf.constant(column)
        if layout == "scalar":  # one point (``_each_point``)
            return self.tf.constant(column[0])
        if layout == "column":
            return self.tf.constant(column[:, None])
        np = self.np
        if layout in _PAIR_LAYOUTS:
            if not spec.get("pairs"):
                integral = (spec.get("dtype") or "").startswith(("int", "uint", "bool"))
                return self.tf.constant(column if integral else column[:, None])  # positions; a fixed float
            zeros = np.zeros_like(column)
            return self.tf.constant(np.stack([column, zeros] if layout == "pairs after" else [zeros, column], -1))
        rank = max([len(s.get("shape") or ()) for s in self.specs] + [1])
        shape = list(spec.get("shape") or ())
        n = len(column)
        if len(shape) == rank:
            target = (n, *shape[1:])
        else:
            target = (n, *([1] * (rank - 1 - len(shape))), *shape)
        array = np.broadcast_to(column.reshape((n,) + (1,) * (len(target) - 1)), target)
        return self.tf.constant(np.ascontiguousarray(array))

    def _step(self, *tensors):
        tf = self.tf
        positional = [t for t, (_, keyword) in zip(tensors, self.parameters) if not keyword]
        keywords = {name: t for t, (name, keyword) in zip(tensors, self.parameters) if keyword}
        watched = [t for t, w in zip(tensors, self.watch) if w]
        with tf.GradientTape() as tape:
            for tensor in watched:
                tape.watch(tensor)
            output = self.call(*positional, **keywords)
            outputs = [tf.convert_to_tensor(t) for t in tf.nest.flatten(output) if t is not None]
            floats = [t for t in outputs if t.dtype.is_floating]
            if not floats:
                raise NotProbed("its result is not a floating-point tensor, so no gradient flows through it")
            total = tf.add_n([tf.cast(tf.reduce_sum(t), tf.float32) for t in floats])
        gradients = tape.gradient(total, watched, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return floats, [tf.convert_to_tensor(g) for g in gradients]

    def _runner(self, mode: str):
        if mode not in self.steps:
            self.steps[mode] = self.tf.function(self._step, jit_compile=True)
        return self.steps[mode]

    def run(self, mode: str) -> dict:
        np = self.np
        runner = self._runner(mode)
        n = len(self.points)
        error = None
        layouts = list(self.layouts)
        reducing_pairs: list[str] = []  # pair layouts under which the function ran but reduced its rows
        for position, layout in enumerate(layouts):
            if layout == "scalar":
                if reducing_pairs:
                    continue  # a function of whole rows that ran in rows of two: probed so, below
                try:
                    summary = self._per_point(mode, runner, layout)
                except NotProbed:
                    raise
                except BaseException as failure:
                    error = error or f"calling {_mode_name(mode)} failed: {describe(failure)}"
                    continue
                self.layouts = [layout]
                return summary
            try:
                outputs, gradients = _quietly(runner, self._args(self.columns, layout)[0])
            except NotProbed:
                raise
            except SystemExit as exit_:
                raise NotProbed(f"it called sys.exit({exit_.code!r})") from None
            except BaseException as failure:  # the layout or the mode does not suit this function
                error = error or f"calling {_mode_name(mode)} failed: {describe(failure)}"
                continue
            forward = _rows(np, outputs, n)
            grads = [np.asarray(g).reshape(n, -1) if np.size(g) % n == 0 and np.size(g) else None for g in gradients]
            if forward is not None and all(g is not None for g in grads):
                nan = np.zeros(n, bool)
                finite_gradient = np.ones(n, bool)
                for g in grads:
                    nan |= np.isnan(g).any(axis=1)
                    finite_gradient &= np.isfinite(g).all(axis=1)
                flags = _point_flags(np, np.isfinite(forward).all(axis=1), [nan], [finite_gradient])
                self._add_poles(flags, forward, None)
                if layout in _PAIR_LAYOUTS and not flags[self._witness_flag].any() and any(
                        later in _PAIR_LAYOUTS for later in layouts[position + 1:]):
                    continue  # the entry this order leaves out is not the one at the point: the other order
                self.layouts = [layout]  # the next mode uses the layout that worked
                self.rows[mode] = {"forward": forward, "grads": grads, **flags, "indices": None,
                                   "beside_zero": _PAIR_LAYOUTS.get(layout),
                                   "paired": [bool(spec.get("pairs")) for spec in self.specs]}
                return self._summary(mode)
            if layout in _PAIR_LAYOUTS:
                reducing_pairs.append(layout)
                continue  # not one output row per point: probed point by point, below
            if reducing_pairs:
                found = self._pairs_point_by_point(mode, runner, reducing_pairs)
                reducing_pairs = []  # tried: not again for the next rank-1 layout
                if found is not None and found.get("nan"):
                    return found
            self.layouts = [layout]
            return self._per_point(mode, runner, layout)
        found = self._pairs_point_by_point(mode, runner, reducing_pairs) if reducing_pairs else None
        return found if found is not None else {"error": error}

    def _pairs_point_by_point(self, mode: str, runner, layouts: list[str]) -> dict | None:
        """A function of whole rows that reduces them (a focal loss over a softmax): each point in a row of two,
        beside a 0, so that the row's entries differ (a single-entry row's softmax is always 1).  Each point's row
        is given twice, a batch of two, which a ``tf.squeeze`` of the labels leaves a vector.  The summary of the
        first layout where a point shows the NaN, else of the last that ran (its rows are the ones kept); None
        where none ran."""
        last = None
        for layout in layouts:
            try:
                self.layouts = [layout]
                summary = self._per_point(mode, runner, layout)
            except NotProbed:
                raise
            except BaseException:  # this row layout does not suit the function: the next one, or rank 1
                continue
            if summary.get("nan"):
                return summary
            last = (layout, summary)
        if last is not None:
            self.layouts = [last[0]]
            return last[1]
        return None

    def _per_point(self, mode: str, runner, layout: str) -> dict:
        """Each probe point on its own, for a function whose outputs are not one row per point (it reduces them).
        Where no point alone shows a NaN, each point again in a row beside a 0: a function of whole rows (a softmax,
        a norm) needs entries that differ to reach its edges (``log(softmax([-1000, 0]))``)."""
        np = self.np
        n = len(self.points)
        indices = list(range(n))
        if n > PER_POINT_LIMIT:
            indices = sorted(random.Random(0).sample(indices, PER_POINT_LIMIT))
        if self.beside_zero is not None or layout in _PAIR_LAYOUTS or layout == "scalar":
            # A variant: the original's row layout; or rows of two, which put each point beside a 0 already.
            beside_zero = self.beside_zero.get(mode) if self.beside_zero is not None else None
            forward_rows, grad_rows, flags = self._each_point(runner, layout, indices, beside_zero)
        else:
            beside_zero = None
            forward_rows, grad_rows, flags = self._each_point(runner, layout, indices, beside_zero)
            # Beside a 0, after the point and then before it: an index that takes one entry of the row (the last,
            # the first) leaves the other out, and only the 0 it leaves out shows the NaN.
            for side in ("after", "before"):
                if flags[self._witness_flag].any():
                    break
                beside_zero = side
                forward_rows, grad_rows, flags = self._each_point(runner, layout, indices, beside_zero)
        self.rows[mode] = {"forward": np.stack(forward_rows),
                           "grads": [np.stack([row[k][:1] for row in grad_rows]) for k in range(sum(self.watch))],
                           **flags, "indices": indices, "beside_zero": beside_zero}
        if layout in _PAIR_LAYOUTS and beside_zero is None:  # each point in its row of two: shown so
            self.rows[mode].update(beside_zero=_PAIR_LAYOUTS[layout],
                                   paired=[bool(spec.get("pairs")) for spec in self.specs])
        summary = self._summary(mode)
        summary["per_point"] = len(indices)
        return summary

    def _each_point(self, runner, layout: str, indices: list[int], beside_zero: str | None):
        """Forward rows, gradient rows, and per point the flags ``_point_flags`` computes."""
        np = self.np
        forward_rows, grad_rows, flags = [], [], []
        for i in indices:
            columns = [column[i:i + 1] for column in self.columns]
            if layout in _PAIR_LAYOUTS:
                columns = [np.concatenate([column, column]) for column in columns]  # a batch of two, the same row
            elif beside_zero == "after":
                columns = [np.concatenate([column, np.zeros_like(column)]) for column in columns]
            elif beside_zero == "before":
                columns = [np.concatenate([np.zeros_like(column), column]) for column in columns]
            outputs, gradients = _quietly(runner, self._args(columns, layout)[0])
            values = np.concatenate([np.asarray(o, dtype=np.float64).ravel() for o in outputs])
            grads = [np.asarray(g, dtype=np.float64).ravel() for g in gradients]
            forward_rows.append(values[:1] if values.size else np.array([np.nan]))
            grad_rows.append(grads)
            flags.append(_point_flags(np, np.isfinite(values).all(), [np.isnan(g).any() for g in grads],
                                      [np.isfinite(g).all() for g in grads]))
        flags = {key: np.asarray([flag[key] for flag in flags]) for key in _FLAGS}
        self._add_poles(flags, forward_rows, indices)
        return forward_rows, grad_rows, flags

    @property
    def _witness_flag(self) -> str:
        if self.value_may_be_infinite:
            return "nan_anywhere"
        return "nan_at_pole" if self.mask_pole else "nan"

    def _add_poles(self, flags: dict, forward, indices: list[int] | None) -> None:
        """``flags["nan_at_pole"]``: a NaN gradient behind a finite value, or, under a mask at 0, behind a NaN value
        whose point with the mask at 1 gives an infinite one (``mask_pole``)."""
        np = self.np
        at_pole = np.asarray(flags["nan"], bool).copy()
        if self.mask_pole and self.masks:
            siblings = self._unmasked_points()
            position_of = {index: position for position, index in enumerate(indices)} if indices is not None else None
            for position in np.flatnonzero(np.asarray(flags["nan_anywhere"], bool) & ~at_pole):
                point = int(position) if indices is None else indices[int(position)]
                sibling = siblings.get(point)
                other = sibling if position_of is None else position_of.get(sibling)
                if other is None or other >= len(forward):
                    continue
                row = np.asarray(forward[other], dtype=np.float64)
                at_pole[position] = bool(np.isinf(row).any() and not np.isnan(row).any())
        flags["nan_at_pole"] = at_pole

    def _unmasked_points(self) -> dict[int, int]:
        """Probe point -> the point with the same inputs but every mask at 1, for points whose masks are all 0."""
        if self._siblings is None:
            where = {tuple(point): index for index, point in enumerate(self.points)}
            self._siblings = {}
            for index, point in enumerate(self.points):
                if all(point[m] == 0 for m in self.masks):
                    unmasked = tuple(1.0 if i in self.masks else value for i, value in enumerate(point))
                    if unmasked in where:
                        self._siblings[index] = where[unmasked]
        return self._siblings

    def _summary(self, mode: str) -> dict:
        rows = self.rows[mode]
        positions = self.np.flatnonzero(rows[self._witness_flag])
        positions = sorted(positions, key=lambda p: (not rows["nan"][p], _point_key(
            self.points[self._point_index(mode, p)], self.dtype)))
        return {"error": None, "nan": len(positions),
                "witnesses": [self.witness(mode, position) for position in positions[:WITNESSES]]}

    def alone(self, index: int) -> dict | None:
        """The flags of probe point ``index`` run by itself, eagerly (a batch of one, in the layout the probe
        settled on: under XLA, each new shape would be compiled again); None when it cannot run so."""
        if index not in self._alone:
            try:
                forward_rows, _, flags = self._each_point(self._runner("eager"), self.layouts[0], [index], None)
                flags = {**flags, "forward": self.np.stack(forward_rows)}
            except BaseException:  # a batch of one does not suit the function (a fixed batch size)
                flags = None
            self._alone[index] = flags  # (the same point may be asked about again, for the next mode)
        return self._alone[index]

    def witness(self, mode: str, position: int) -> dict:
        index = self._point_index(mode, position)
        text = [str(int(v)) if (spec.get("dtype") or "").startswith(("int", "uint")) else format_value(v, self.dtype)
                for v, spec in zip(self.points[index], self.specs)]
        side = self.rows[mode].get("beside_zero")  # the point in a row beside a 0 (``_per_point``, pair layouts)
        paired = self.rows[mode].get("paired") or [True] * len(text)
        if side is not None:
            text = [(f"[{value}, 0]" if side == "after" else f"[0, {value}]") if pair else value
                    for value, pair in zip(text, paired)]
        return {"point": list(self.points[index]),
                "text": text,
                "forward": float(self.rows[mode]["forward"][position][0])}

    def _point_index(self, mode: str, position: int) -> int:
        indices = self.rows[mode]["indices"]
        return int(position) if indices is None else indices[int(position)]

    def table(self) -> list[dict]:
        """One row per probe point (up to ``TABLE_ROWS``): inputs, forward value, gradients per mode."""
        base = self.rows.get("eager") or next(iter(self.rows.values()), None)
        if base is None:
            return []
        count = len(base["nan"])
        rows = []
        for position in range(min(count, TABLE_ROWS)):
            index = self._point_index("eager" if "eager" in self.rows else next(iter(self.rows)), position)
            row = {"point": [format_value(v, self.dtype) for v in self.points[index]],
                   "forward": _number(base["forward"][position][0])}
            for mode, data in self.rows.items():
                row[mode] = [_number(g[position][0]) for g in data["grads"]]
                row[f"{mode}_nan"] = bool(data["nan"][position])
            rows.append(row)
        return rows

    def forward_vector(self, mode: str = "eager"):
        rows = self.rows.get(mode)
        return None if rows is None or rows["indices"] is not None else rows["forward"]


def _compare(tf, probe: Probe, reference: dict, job: dict, runs: dict, poisoned: dict, events: Events) -> dict:
    """Forward values of the rewritten unit against the original's, on the same probe points (eagerly)."""
    np = probe.np
    unit = Unit.from_json(reference["unit"])
    try:
        if unit.problem:
            raise NotProbed(unit.problem)
        run = _module_run(reference["module"], job, runs)
        run.run(unit.steps, poisoned, events)
        call, parameters = build_callable(run.module, unit)
        if [name for name, _ in parameters] != [name for name, _ in probe.parameters]:
            raise NotProbed("the rewrite changed the function's parameters")
        original = Probe(tf, call, parameters, probe.points, probe.dtype)
        outcomes = {mode: original.run(mode) for mode in probe.rows}
    except NotProbed as reason:
        return {"error": f"the original could not be probed: {reason}"}
    if outcomes.get("eager", {}).get("error"):
        return {"error": f"the original could not be probed: {outcomes['eager']['error']}"}
    before, after = original.forward_vector(), probe.forward_vector()
    if before is None or after is None or before.shape != after.shape:
        return {"error": "the outputs cannot be compared element by element"}
    # Below the smallest normal number, TensorFlow may or may not flush a result to zero depending on the kernel
    # that ran (graph functions flush denormals): such differences are not the rewrite's.
    tiny = float(np.finfo(probe.dtype).tiny)
    same = np.isclose(before, after, rtol=1e-6, atol=tiny, equal_nan=True) | (before == after)
    mismatches = np.flatnonzero(~same.all(axis=1))
    result = {"error": None, "compared": int(len(before)), "mismatches": int(len(mismatches)), "new_nan": {}}
    if len(mismatches):
        first = _first_point(probe, mismatches)
        result["first"] = {"point": [format_value(v, probe.dtype) for v in probe.points[first]],
                           "original": _number(before[first][0]), "rewritten": _number(after[first][0])}
    for mode, rows in probe.rows.items():
        reference = original.rows.get(mode)
        if reference is None or rows["indices"] is not None or reference["indices"] is not None:
            continue
        new = np.flatnonzero(rows["nan"] & ~reference["nan"])  # NaN gradients the rewrite brought in
        if len(new):
            point = probe.points[_first_point(probe, new)]
            result["new_nan"][mode] = [format_value(v, probe.dtype) for v in point]
    return result


def _first_point(probe: Probe, indices) -> int:
    return int(min(indices, key=lambda i: _point_key(probe.points[int(i)], probe.dtype)))


def _rows(np, outputs, n: int):
    """The outputs as an (n, k) array with one row per probe point, or None when they are not laid out so: also
    when an output pairs every point with every other (an (n, n) result: a mask of shape (n, 1) broadcast against
    a row's (n,) loss), where row i holds other points' values too."""
    columns = []
    for output in outputs:
        array = np.asarray(output, dtype=np.float64)
        if array.ndim == 0 or array.shape[0] != n or (n > 1 and array.ndim > 1 and array.shape[1] == n):
            return None
        columns.append(array.reshape(n, -1))
    return np.concatenate(columns, axis=1)


def _quietly(runner, tensors):
    import numpy as np

    with np.errstate(all="ignore"):
        return runner(*tensors)


def _point_key(point, dtype: str) -> tuple:
    """Witnesses people can read first: the shortest printed values (89.0 before 88.72 and -1.1754944e-38), then
    the smallest magnitudes."""
    return (max(_printed_length(v, math.copysign(1.0, v), dtype) for v in point),
            max(magnitude_key(v) for v in point), tuple(magnitude_key(v) for v in point))


@functools.lru_cache(maxsize=None)
def _printed_length(value: float, sign: float, dtype: str) -> int:  # ``sign`` keeps -0.0 apart from 0.0
    return len(format_value(value, dtype))


def _mode_name(mode: str) -> str:
    return "eagerly" if mode == "eager" else "under XLA"


def _number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) or math.isinf(value) else None


def describe(error: BaseException) -> str:
    """``TypeError: f() missing 1 required positional argument`` -- one line, bounded."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    # A tf.function's error starts "in user code:" and a traceback; what went wrong is its last line.
    message = (lines[-1] if lines[0] == "in user code:" else lines[0]) if lines else ""
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."


if __name__ == "__main__":
    main()
