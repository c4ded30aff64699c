"""What each input of a probed function gets, decided in the parent from the static model and the source.

Only inputs that can carry a gradient in training are differentiated: the static gradient-flow model
(``gradients.ModuleFacts``) says which parameters no call passes a value with a gradient, and which functions are
never differentiated at all (a learning-rate schedule, a metric, the forward pass of a custom gradient).  Labels and
step counters (``knowledge.NO_GRADIENT_PARAMETERS``) and parameters that every call in the module passes a number
literal get fixed, realistic values and no gradient; so do parameters declared integers and parameters every call in
the project passes configuration (``callsites.py``), and a function whose every call in the project is in code that
is never differentiated is not differentiated at all.  Of the differentiated inputs, only those that reach the
finding's operand get the extreme probe values (only those its callers can pass it, where the static range analysis
bounds what every call passes); the others get ordinary magnitudes (``values.MODERATE``).

A class that needs constructor arguments is built from the number, string and boolean literals of a call of it
in the module (``GatedELU(units=4)``).

It also writes the *minimal input guard* a finding without an exact rewrite is checked with: each operand of the
risky op is wrapped in ``__tflint_nan_guard__``, an identity whose gradient replaces NaN with 0, so that the NaN
this op's backward pass produces (0 * inf) stops there and nothing else changes.

Pure Python: no TensorFlow here.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field, replace

from .. import knowledge
from ..finding import Edit, Finding, Position
from ..intervals import IntervalSet
from . import callsites
from .extract import DIVISOR_GUARD_NAME, GUARD_NAME, OP_GUARD_NAME, SELECT_MARK_NAME, Unit
from .values import DTYPES, MODERATE, in_dtype, probe_values

# Realistic values of a hyperparameter whose value is not known (a clip norm, a scale, a temperature): ordinary
# positive magnitudes, never the 0 or the negative values that no configuration of it has.
SETTINGS = (1.0, 0.5, 2.0)
# Of an integer or boolean parameter (a count, a size, a flag): 1 (and True), 2, and a large count.
INTEGER_SETTINGS = (1.0, 2.0, 1000.0)
_LABELS = frozenset({"y_true", "labels", "label", "targets_mask"})
_WEIGHTS = frozenset({"sample_weight", "sample_weights"})


@dataclass
class InputPlan:
    """For one probed unit and finding: each parameter's values, whether it is differentiated, and why."""

    specs: dict[str, dict] = field(default_factory=dict)  # name -> {"values": [...], "watch": bool, "why": str}
    no_gradient: str | None = None  # why no input carries a gradient (then nothing is probed)
    constructor: dict | None = None  # {"args": [...], "kwargs": {...}, "text": "GatedELU(units=4)"}
    recorded: bool = False  # a recording of the pytest plugin (``record.py``) chose some inputs or the constructor
    dtype: str | None = None  # the float dtype the recording says the inputs have, when it says one

    def to_json(self) -> dict:
        keys = ("values", "watch", "dtype", "shape", "python", "pairs", "masks")
        return {name: {key: spec[key] for key in keys if key in spec}
                for name, spec in self.specs.items()}

    def fixed(self) -> dict[str, str]:
        return {name: spec["why"] for name, spec in self.specs.items() if not spec["watch"]}

    def settings(self) -> dict[str, str]:
        """The differentiated inputs held at a recorded setting's values (``_setting_values``), as printed."""
        return {name: ", ".join(_show(v) for v in spec["values"])
                for name, spec in self.specs.items() if spec["watch"] and spec.get("setting")}


def plan_inputs(tree: ast.Module, facts, unit: Unit, finding: Finding, source: str, dtype: str,
                recording: dict | None = None, path: str | None = None) -> InputPlan:
    """``recording``: what the pytest plugin recorded for the file (qualified name -> record), if anything;
    ``path``: the module's file, for the calls of the function in the rest of the project (``callsites.py``)."""
    plan = InputPlan()
    recording = recording or {}
    function = _function_node(tree, unit)
    parameters = [p.name for p in unit.parameters]
    if unit.kind == "class" and function is not None:
        plan.constructor = callsites.constructor_call(tree, unit.name, path)
        if plan.constructor is None:
            plan.constructor = recorded_constructor(recording.get(unit.name), unit.name)
            plan.recorded = plan.constructor is not None
        parameters = parameters or _method_parameters(function)
    recorded = (recording.get(unit.label) or {}).get("parameters") or {}
    recorded = {name: record for name, record in recorded.items() if name in parameters and isinstance(record, dict)}
    float_dtypes = {d for record in recorded.values() for d in record.get("dtypes") or () if d in DTYPES}
    if len(float_dtypes) == 1:  # the inputs' own float dtype: the thresholds and the rounding follow it
        dtype = plan.dtype = float_dtypes.pop()
    elif finding.float_type != knowledge.DEFAULT_FLOAT and finding.float_type != dtype and finding.float_type in DTYPES:
        dtype = plan.dtype = finding.float_type  # the static analysis says the op computes in float16
    reason = None
    if facts is not None:
        try:
            reason = facts.function_reason(unit.label)
        except Exception:  # the static model is advice here: a failure in it must not stop the probe
            reason = None
    # (The calls of a factory pass its own arguments, not those of the function it returns.)
    literals = call_site_literals(tree, unit) if unit.kind == "function" and not unit.inner else {}
    sites = None
    if unit.kind == "function" and not unit.inner and path is not None and isinstance(function, ast.FunctionDef):
        sites = callsites.call_sites(tree, unit.name, path)
        if reason is None and facts is not None and finding.no_gradient is None:
            # The static model leaves a public function's callers open; the project's own calls may settle it.
            reason = callsites.never_differentiated(tree, unit.name, path, facts)
    configured = callsites.configuration_arguments(sites or [], function, parameters) if sites else {}
    integers = callsites.declared_integers(function)
    positions = callsites.index_parameters(function)
    operand_params = _operand_parameters(function, finding, source, set(parameters))
    extremes = list(probe_values([finding.code], dtype))
    for name in parameters:
        record = recorded.get(name)
        if reason is not None:
            plan.specs[name] = _fixed(name, literals.get(name), f"{unit.label} is never differentiated", record)
            continue
        if name in knowledge.NO_GRADIENT_PARAMETERS:
            plan.specs[name] = _fixed(name, literals.get(name), _named_role(name), record)
            if name in integers and record is None:
                plan.specs[name]["dtype"] = "int32"  # integer class ids: ops such as tf.stack need the dtype
            elif name in positions and record is None and not literals.get(name):
                # class ids a gather takes: integers, and 0 is a position every non-empty axis has
                plan.specs[name].update(values=[0.0], dtype="int32")
            continue
        if literals.get(name):
            plan.specs[name] = {"values": literals[name], "watch": False,
                                "why": "every call passes a number: " + ", ".join(_show(v) for v in literals[name])}
            continue
        if name in positions and record is None:
            # Positions to take: an integer tensor, and 0 is a position every non-empty axis has.
            plan.specs[name] = {"values": [0.0], "watch": False, "dtype": "int32",
                                "why": "an integer: " + positions[name]}
            continue
        if knowledge.is_mask_name(name) and record is None:
            # A padding mask (TFN007's ``mask * tf.math.log(p)``): 0 where it drops an element, 1 where it keeps.
            plan.specs[name] = {"values": [0.0, 1.0], "watch": False, "why": "a padding mask: 0 or 1, no gradient",
                                "masks": True}
            continue
        if name in integers and record is None:
            # An integer or a boolean never carries a gradient; a count or a size is at least 1.
            plan.specs[name] = {"values": list(INTEGER_SETTINGS), "watch": False, "dtype": "int32",
                                "why": "declared an integer (" + integers[name] + ")"}
            continue
        if name in configured and record is None:
            values, what = configured[name]
            plan.specs[name] = {"values": values or list(SETTINGS), "watch": False,
                                "why": "every call passes configuration: " + what}
            continue
        if record is not None and not _recorded_float_tensor(record):
            plan.specs[name] = _fixed(name, None, "recorded: " + _describe_record(record), record)
            continue
        carries = True
        if facts is not None:
            try:
                carries = facts.parameter_carries(unit.label, name)
            except Exception:
                carries = True
        if not carries:
            plan.specs[name] = {"values": _within(record, MODERATE), "watch": False,
                                "why": "no call passes it a value with a gradient"}
            continue
        on_operand = not operand_params or name in operand_params
        plan.specs[name] = {"values": extremes if on_operand else _within(record, MODERATE), "watch": True,
                            "why": "the finding's operand" if on_operand else "differentiated, not the operand"}
        sign = _recorded_sign(record) if on_operand else None
        if sign is not None:
            plan.specs[name].update(values=_setting_values(record, sign), setting=True)
            plan.specs[name]["why"] += (", a setting: every recorded call passed a " + ("positive" if sign > 0 else
                                        "negative") + " scalar (" + _describe_record(record) + ")")
        passed = _passed_range(facts, unit, name) if record is None else None
        if passed is not None:
            plan.specs[name]["values"] = _inside(plan.specs[name]["values"], passed)
            plan.specs[name]["why"] += f", within what every call passes it ({passed})"
    # Rows of two: an index takes one entry and leaves the other out; a softmax needs entries that differ to round
    # one of them to 0 or 1 (a single-entry row's softmax is 1 whatever the logit, and a row of equal logits shares
    # it out evenly), whether its log is taken as a probability, at a zero or under a mask.
    rows_of_two = finding.sink_kind == "index" or (
        finding.sink_kind in ("probability", "zero", "mask") and callsites.calls_row_function(function))
    for name, spec in plan.specs.items():
        if rows_of_two and spec["watch"] and name not in recorded:
            spec["pairs"] = True  # rows of two, one entry taken and one left out (``child.Probe``)
        _recorded_layout(spec, recorded.get(name), dtype)
        value_dtype = spec.get("dtype") if spec.get("dtype") in DTYPES else dtype
        integral = spec.get("python") == "int" or (spec.get("dtype") or "").startswith(("int", "uint", "bool"))
        values = [float(round(v)) if integral else in_dtype(float(v), value_dtype) for v in spec["values"]]
        spec["values"] = list(dict.fromkeys(v for v in values if v is not None)) or [1.0]
        if spec.get("python") and len(spec["values"]) != 1:
            del spec["python"]  # several values: they travel as a tensor, one per probe point
        plan.recorded = plan.recorded or name in recorded
    if reason is not None:
        plan.no_gradient = reason
    elif parameters and not any(spec["watch"] for spec in plan.specs.values()):
        plan.no_gradient = "none of its inputs carries a gradient (" + "; ".join(
            f"{name}: {spec['why']}" for name, spec in plan.specs.items()) + ")"
    return plan


def _passed_range(facts, unit: Unit, name: str) -> IntervalSet | None:
    """The values every call of the function in the project passes ``name`` (``ModuleFacts.parameter_range``: a
    literal, ``tf.abs(v) + 1.``, a constant of the project), or None when some call is not known."""
    if facts is None or unit.kind != "function" or unit.inner:
        return None
    try:
        return facts.parameter_range(unit.label, name)
    except Exception:  # the static model is advice here: a failure in it must not stop the probe
        return None


def _inside(values: list[float], passed: IntervalSet) -> list[float]:
    """The probe values a parameter's callers can pass it, with the finite ends of what they pass (the edge of the
    op's domain is often one: ``tf.abs(v)`` passes 0); the ends alone when no probe value is inside."""
    ends = [end for end in (passed.lo, passed.hi) if math.isfinite(end) and IntervalSet.point(end).within(passed)]
    inside = [value for value in values if IntervalSet.point(value).within(passed)]
    return list(dict.fromkeys(ends + inside)) or ends or list(values)


# -- recordings (``record.py``) -------------------------------------------------------------------------------------
def _recorded_float_tensor(record: dict) -> bool:
    """Whether the recorded values were float tensors or arrays (which may carry a gradient), not Python numbers
    or integer tensors (which never do)."""
    dtypes = record.get("dtypes") or []
    return any("float" in d for d in dtypes)


def _describe_record(record: dict) -> str:
    kinds = ", ".join((record.get("dtypes") or []) + [t for t in record.get("types") or [] if t in
                                                      ("bool", "int", "float")]) or "values"
    low, high = record.get("min"), record.get("max")
    if low is None or high is None:
        return kinds
    return f"{kinds} in [{_show(low)}, {_show(high)}]"


def _within(record: dict | None, values) -> list[float]:
    """``values`` inside the recorded range, and the range's ends and middle; ``values`` without a range."""
    if not record or record.get("min") is None or record.get("max") is None:
        return list(values)
    low, high = float(record["min"]), float(record["max"])
    if record.get("values") and not record.get("shapes"):
        return sorted(set(float(v) for v in record["values"]))  # the Python numbers it was called with
    inside = [v for v in values if low <= v <= high]
    return list(dict.fromkeys([low, high, (low + high) / 2] + inside))


def _recorded_sign(record: dict | None) -> float | None:
    """+1 (-1) when every recorded call passed the parameter a scalar and every one was positive (negative); None
    otherwise.  A scalar input is a setting of the function (a shape parameter, a scale, a temperature), whose sign
    is part of what it means; a tensor with elements is data, whose range in a test says little about training."""
    if not record or record.get("min") is None or record.get("max") is None or record.get("nan") or record.get("inf"):
        return None
    shapes = record.get("shapes") or []
    if not shapes or any(shape != [] for shape in shapes) or not record.get("values"):
        return None  # a tensor with elements, a shape never recorded, or a scalar whose value was never seen
    low, high = float(record["min"]), float(record["max"])
    if low > 0:
        return 1.0
    if high < 0:
        return -1.0
    return None


def _setting_values(record: dict, sign: float) -> list[float]:
    """What a recorded setting is probed at: the values the recorded calls passed, and the ordinary magnitudes of
    their sign (``SETTINGS``), as an unknown hyperparameter is -- never 0, the other sign, or the extremes (a
    denormal, 1e4) that only data reaches."""
    recorded = [float(v) for v in record.get("values") or [] if isinstance(v, (int, float))]
    return list(dict.fromkeys(recorded + [sign * value for value in SETTINGS]))


def _recorded_layout(spec: dict, record: dict | None, dtype: str) -> None:
    """Add the recorded shape, dtype and Python type to a parameter's spec."""
    if not record:
        return
    shapes = [s for s in record.get("shapes") or [] if isinstance(s, list)]
    dtypes = record.get("dtypes") or []
    types = record.get("types") or []
    if shapes:
        ranks = [len(s) for s in shapes]
        spec["shape"] = [d if isinstance(d, int) and d > 0 else 1 for d in shapes[ranks.index(max(ranks))]]
    if dtypes and not _recorded_float_tensor(record):
        spec["dtype"] = dtypes[0]
    elif dtypes:
        spec["dtype"] = dtype
    elif types and all(t in ("bool", "int", "float") for t in types) and not spec["watch"]:
        spec["python"] = "float" if "float" in types else "int"


def recorded_constructor(record: dict | None, name: str) -> dict | None:
    """The constructor call the pytest plugin recorded for the class ``name``, as ``callsites.constructor_call``
    gives one."""
    constructor = (record or {}).get("constructor")
    if not isinstance(constructor, dict):
        return None
    args, kwargs = constructor.get("args") or [], constructor.get("kwargs") or {}
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        return None
    shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
    return {"args": args, "kwargs": kwargs, "text": f"{name}({shown})", "line": None, "recorded": True}


def _fixed(name: str, literals: list[float] | None, why: str, record: dict | None = None) -> dict:
    if literals:
        return {"values": literals, "watch": False, "why": why}
    if record and record.get("min") is not None:
        return {"values": _within(record, MODERATE), "watch": False, "why": why}
    if name in _LABELS:
        return {"values": [0.0, 1.0], "watch": False, "why": why, "masks": True}
    if name in _WEIGHTS:
        values = [1.0]
    elif name in knowledge.NO_GRADIENT_PARAMETERS:
        values = [0.0, 1.0, 1000.0]  # a step counter: the first steps and a later one
    else:
        values = list(MODERATE)
    return {"values": values, "watch": False, "why": why}


def _named_role(name: str) -> str:
    if name in _LABELS:
        return "labels: no gradient"
    if name in _WEIGHTS:
        return "sample weights: no gradient"
    return "a step counter: no gradient"


def _show(value: float) -> str:
    return repr(float(value))


# -- the source -----------------------------------------------------------------------------------------------------
def _function_node(tree: ast.Module, unit: Unit) -> ast.FunctionDef | ast.Lambda | None:
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())])
        if first != unit.first_line:
            continue
        if unit.kind == "function":
            if isinstance(node, ast.FunctionDef) and node.name == unit.name and unit.inner:
                return next((inner for inner in node.body
                             if isinstance(inner, ast.FunctionDef) and inner.name == unit.inner), None)
            if isinstance(node, ast.FunctionDef) and node.name == unit.name:
                return node
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
                return node.value
        elif isinstance(node, ast.ClassDef) and node.name == unit.name:
            for member in node.body:
                if isinstance(member, ast.FunctionDef) and member.name == unit.method:
                    return member
    return None


def _method_parameters(function) -> list[str]:
    args = function.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)][1:]
    return positional[: len(positional) - len(args.defaults)] if args.defaults else positional


def _literal_number(node: ast.expr) -> float | None:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def call_site_literals(tree: ast.Module, unit: Unit) -> dict[str, list[float]]:
    """Parameter -> the number literals calls of the function pass it, for parameters that every call in the
    module passes a literal (none when the function is not called here, or some call passes something else)."""
    function = _function_node(tree, unit)
    if function is None:
        return {}
    args = function.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    seen: dict[str, list[float]] = {}
    other: set[str] = set()
    calls = 0
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == unit.name):
            continue
        calls += 1
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            return {}
        passed = dict(zip(positional, node.args))
        passed.update({k.arg: k.value for k in node.keywords})
        for name in positional + [a.arg for a in args.kwonlyargs]:
            if name not in passed:
                other.add(name)
                continue
            number = _literal_number(passed[name])
            if number is None:
                other.add(name)
            else:
                seen.setdefault(name, []).append(number)
    if not calls:
        return {}
    return {name: sorted(set(values)) for name, values in seen.items() if name not in other}


def _operand_parameters(function, finding: Finding, source: str, parameters: set[str]) -> set[str]:
    """The parameters that flow into the finding's op, through the function's assignments."""
    if function is None:
        return set()
    expression = _op_expression(finding, source)
    if expression is None:
        return set()
    wanted = {n.id for n in ast.walk(expression) if isinstance(n, ast.Name)}
    body = function.body if isinstance(function, ast.FunctionDef) else [function.body]
    assignments: list[tuple[set[str], set[str]]] = []
    for node in (n for statement in body for n in ast.walk(statement) if isinstance(statement, ast.AST)):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            read = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
            if isinstance(node, ast.AugAssign):
                read |= bound
            assignments.append((bound, read))
        elif isinstance(node, (ast.For, ast.comprehension)):
            bound = {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
            assignments.append((bound, {n.id for n in ast.walk(node.iter) if isinstance(n, ast.Name)}))
    changed = True
    while changed:
        changed = False
        for bound, read in assignments:
            if bound & wanted and not read <= wanted:
                wanted |= read
                changed = True
    return wanted & parameters


# -- the op's text and its guard ---------------------------------------------------------------------------------
def _line_starts(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def _node_extent(starts: list[int], lines: list[str], node: ast.AST) -> tuple[int, int]:
    """The character offsets of a syntax-tree node in the source (``ast`` columns count UTF-8 bytes)."""

    def offset(line: int, byte_column: int) -> int:
        return starts[line - 1] + len(lines[line - 1].encode("utf-8")[:byte_column].decode("utf-8", "replace"))

    return offset(node.lineno, node.col_offset), offset(node.end_lineno, node.end_col_offset)


def _offset(starts: list[int], text: str, line: int, column: int) -> int:
    return starts[line - 1] + column


def op_span(finding: Finding, source: str) -> tuple[int, int] | None:
    starts = _line_starts(source)
    try:
        return (_offset(starts, source, finding.start.line, finding.start.column),
                _offset(starts, source, finding.end.line, finding.end.column))
    except IndexError:
        return None


def _op_expression(finding: Finding, source: str) -> ast.expr | None:
    span = op_span(finding, source)
    if span is None:
        return None
    try:
        return ast.parse("(" + source[span[0]:span[1]] + "\n)", mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


_DIVISIONS = frozenset({"divide", "truediv", "div", "realdiv", "true_divide"})


def divisor_guard_edits(finding: Finding, source: str, tree: ast.Module | None = None) -> list[Edit] | None:
    """Edits that wrap the divisor of the finding's division in ``__tflint_nan_safe_divisor__``, which puts 1 where
    it is 0 (the double where the finding's help describes), or None when the op is not a division.  Unlike the
    gradient guard, it also stops a NaN that the division's infinite value causes further on (a weight of inf in
    a loss): it changes the forward value only where the division is out of its domain.  The log of a
    probability (TFN010) gets the same guard on its probability: log(1) = 0 where it rounded to 0, so a focal
    factor beside it no longer multiplies its gradient by -inf, as with the built-in's finite log."""
    return guard_edits(finding, source, divisor_only=True, tree=tree)


def read_only_by_its_select(finding: Finding, source: str, tree: ast.Module | None = None) -> bool:
    """Whether the finding's op reaches nothing but its select: the op is written inside the select's call, or
    inside the value of ``v = ...`` in a function whose every read of ``v`` is inside that call.  A divisor guard
    on such an op changes only what the select discards (``shared_bounds``: a bound that a second select keeps is
    not such an op)."""
    if finding.sink_kind != "select" or finding.sink_start is None or finding.sink_end is None:
        return False
    span = op_span(finding, source)
    starts = _line_starts(source)
    try:
        sink = (_offset(starts, source, finding.sink_start.line, finding.sink_start.column),
                _offset(starts, source, finding.sink_end.line, finding.sink_end.column))
    except IndexError:
        return False
    if span is None:
        return False
    if sink[0] <= span[0] and span[1] <= sink[1]:
        return True
    try:
        module = tree if tree is not None else ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    lines = source.split("\n")

    def extent(node: ast.AST) -> tuple[int, int]:
        return _node_extent(starts, lines, node)

    for function in ast.walk(module):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for statement in ast.walk(function):
            if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)
                    and extent(statement.value)[0] <= span[0] and span[1] <= extent(statement.value)[1]):
                name = statement.targets[0].id
                reads = [extent(node) for node in ast.walk(function)
                         if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)]
                return bool(reads) and all(sink[0] <= start and end <= sink[1] for start, end in reads)
    return False


# Findings whose NaN forms where the gradient coming back to the op is 0 (a select, a mask, a clamp, a saturating
# consumer, an index): their input guard is the op guard, which drops what the op sends back from exactly those
# elements.  The others (a root or a log whose infinite derivative meets a zero derivative below them) guard the
# op's operands.
UPSTREAM_ZERO_CODES = frozenset({*knowledge.SELECT_RULE_CODES, knowledge.CLAMP_CODE, knowledge.MASK_CODE,
                                 knowledge.SATURATION_CODE, knowledge.INDEX_CODE})


def guard_edits(finding: Finding, source: str, divisor_only: bool = False,
                tree: ast.Module | None = None) -> list[Edit] | None:
    """Edits that apply the finding's input guard, or None when the op's text cannot be read as a call, a binary
    or a unary operation.

    For a finding whose sink sends the op a zero gradient (``UPSTREAM_ZERO_CODES``) the op ``f(a, b)`` becomes
    ``__tflint_nan_guard_op__(lambda *args: f(args[0], args[1]), a, b)``: the op's gradient from the elements
    whose gradient coming back is 0 is dropped, as the double where drops it, and nothing else changes (an
    infinite gradient on the elements the select keeps stays infinite).  Otherwise each operand is wrapped in
    ``__tflint_nan_guard__``, which zeroes the non-finite gradient it passes back."""
    span = op_span(finding, source)
    if span is None:
        return None
    text = source[span[0]:span[1]]
    wrapped = "(" + text + "\n)"
    try:
        expression = ast.parse(wrapped, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if isinstance(expression, ast.Call):
        operands = [a for a in expression.args if not isinstance(a, ast.Starred)]
        operands += [k.value for k in expression.keywords if k.arg is not None]
    elif isinstance(expression, ast.BinOp):
        operands = [expression.left, expression.right]
    elif isinstance(expression, ast.UnaryOp):
        operands = [expression.operand]
    else:
        return None
    if divisor_only:
        if isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.Div):
            operands = [expression.right]
        elif isinstance(expression, ast.Call) and len(expression.args) >= 2 and (
                (getattr(expression.func, "attr", None) or getattr(expression.func, "id", None)) in _DIVISIONS):
            operands = [expression.args[1]]
        elif finding.code == knowledge.LOG_OF_PROBABILITY_CODE and isinstance(expression, ast.Call) \
                and len(expression.args) == 1:
            operands = [expression.args[0]]
        else:
            return None
    if not operands:
        return None
    local_starts = _line_starts(wrapped)
    lines = wrapped.split("\n")
    source_starts = _line_starts(source)

    def position(line: int, byte_column: int) -> Position:
        column = len(lines[line - 1].encode("utf-8")[:byte_column].decode("utf-8", "replace"))
        absolute = span[0] + local_starts[line - 1] + column - 1  # the "(" added in front
        source_line = max(i for i, start in enumerate(source_starts) if start <= absolute)
        return Position(source_line + 1, absolute - source_starts[source_line])

    edits = []
    if not divisor_only and finding.code in UPSTREAM_ZERO_CODES:
        texts = []
        for number, node in enumerate(operands):
            start, end = position(node.lineno, node.col_offset), position(node.end_lineno, node.end_col_offset)
            texts.append(ast.get_source_segment(wrapped, node))
            edits.append(Edit(start, end, f"{_OP_ARGUMENTS}[{number}]"))
        if any(text is None for text in texts):
            return None
        first, last = position(expression.lineno, expression.col_offset), position(
            expression.end_lineno, expression.end_col_offset)
        copies = _select_copies(finding, source, span, wrapped, operands, texts, tree)
        if copies is not None:
            return copies
        select = _select_callee_span(finding, source)
        # With the select's condition at hand, the guard drops only what comes back as zero from the elements the
        # select discards: a zero that another op sends (an erf that saturates on a kept element) is not this
        # finding's doing.
        key = f", {_SELECT_KEY}={finding.start.line * 100000 + finding.start.column}" if select else ""
        # One edit for the whole op, which knows where its operands' copies go: another finding's check inside an
        # operand (a division inside a power's base) is then written into that copy (``compose_nested``).
        def offset(at: Position) -> int:
            return source_starts[at.line - 1] + at.column

        operand_spans = tuple((offset(e.start), offset(e.end)) for e in edits)
        body = apply_edits_at(source, offset(first), offset(last),
                              [(a, b, e.text) for (a, b), e in zip(operand_spans, edits)])
        head = f"{OP_GUARD_NAME}(lambda *{_OP_ARGUMENTS}: {body}"
        tail = key + ")"
        edits = [GuardedOp(first, last, head + "".join(f", ({text})" for text in texts) + tail,
                           operands=operand_spans, head=head, tail=tail)]
        if select:
            select_start, select_end = select
            edits.append(_select_mark(source, select_start, select_end, f"{finding.branch == 'true'!r}{key}"))
        return edits
    for node in operands:
        start, end = position(node.lineno, node.col_offset), position(node.end_lineno, node.end_col_offset)
        edits += [Edit(start, start, f"{DIVISOR_GUARD_NAME if divisor_only else GUARD_NAME}("), Edit(end, end, ")")]
    return edits


_OP_ARGUMENTS = "__tflint_nan_operands__"
_SELECT_KEY = "__tflint_nan_select__"


@dataclass(frozen=True)
class GuardedOp(Edit):
    """An op replaced by its guard: ``head`` (the guard and the op as a function of its operands), a copy of each
    operand's source (``operands``, source offsets), then ``tail``."""

    operands: tuple[tuple[int, int], ...] = ()
    head: str = ""
    tail: str = ""


def apply_edits_at(source: str, start: int, end: int, edits: list[tuple[int, int, str]]) -> str:
    """``source[start:end]`` with edits given at source offsets inside it (sorted here, none crossing)."""
    pieces, cursor = [], start
    for first, last, text in sorted(edits):
        pieces += [source[cursor:first], text]
        cursor = last
    return "".join(pieces) + source[cursor:end]


def compose_nested(source: str, edits: list[Edit]) -> list[Edit]:
    """``edits`` of several findings' checks, with the edits that lie inside another one written into it, where
    that one keeps the source it replaces: a wrapping rewrite (``Edit.keeps``: the double where keeps its operand
    verbatim) or a ``GuardedOp``, whose guard computes the op's operands from copies of their source.  So the
    rewrite of a division inside a log's operand, or the guard of a division inside a power's base, is in the
    variant too.  Inner edits first, so checks nest to any depth; edits that cross are left as they are (they
    overlap, and the variant cannot be written)."""
    starts = _line_starts(source)

    def span(edit: Edit) -> tuple[int, int]:
        return starts[edit.start.line - 1] + edit.start.column, starts[edit.end.line - 1] + edit.end.column

    def kept(edit: Edit) -> tuple[tuple[int, int], ...]:
        """The source spans an edit keeps a copy of."""
        if isinstance(edit, GuardedOp):
            return edit.operands
        return (span(edit),) if edit.keeps is not None and not isinstance(edit, CopyEdit) else ()

    edits = list(edits)
    for outer in sorted((e for e in edits if kept(e)), key=lambda e: span(e)[1] - span(e)[0]):
        if not any(e is outer for e in edits):
            continue
        first, last = span(outer)
        inside = [e for e in edits if e is not outer and first <= span(e)[0] and span(e)[1] <= last]
        homes = [next((i for i, (a, b) in enumerate(kept(outer)) if a <= span(e)[0] and span(e)[1] <= b), None)
                 for e in inside]
        if not inside or None in homes:
            continue
        copies = [apply_edits_at(source, a, b, [(*span(e), e.text) for e, home in zip(inside, homes) if home == i])
                  for i, (a, b) in enumerate(kept(outer))]
        if isinstance(outer, GuardedOp):
            composed = replace(outer, text=outer.head + "".join(f", ({text})" for text in copies) + outer.tail)
        else:
            keeps = outer.keeps
            # The source it keeps is changed now: nothing may follow it from one round of fixes to the next.
            composed = replace(outer, text=outer.text[:keeps] + copies[0] + outer.text[keeps + last - first:],
                               keeps=None)
        edits = [composed if e is outer else e for e in edits if not any(e is i for i in inside)]
    return edits


@dataclass(frozen=True)
class CopyEdit(Edit):
    """A read of an assigned variable replaced with a copy of its value (``_select_copies``).  ``text`` is the copy
    with this finding's op guard inside it; ``compose_copies`` writes it again where other checks of the same
    variant change the value too (a second finding's rewrite inside the same expression), so that the copy is the
    value as that variant computes it, with only this guard added."""

    value: tuple[int, int] = (0, 0)  # the copied value's offsets in the source
    inside: tuple[tuple[int, int, str], ...] = ()  # this finding's edits of the value, at source offsets
    parenthesize: bool = False


def compose_copies(source: str, edits) -> list[Edit]:
    """``edits`` with each ``CopyEdit`` written out: the copied value with every other edit that lies inside it
    and the guards of every copy of the same read (two findings in one expression share its reads)."""
    edits = compose_nested(source, list(edits))
    copies = [edit for edit in edits if isinstance(edit, CopyEdit)]
    if not copies:
        return edits
    plain = [edit for edit in edits if not isinstance(edit, CopyEdit)]
    starts = _line_starts(source)

    def offset(position: Position) -> int:
        return starts[position.line - 1] + position.column

    reads: dict[tuple[Position, Position], list[CopyEdit]] = {}
    for copy in copies:
        reads.setdefault((copy.start, copy.end), []).append(copy)
    composed = list(plain)
    for (start, end), group in reads.items():
        value = group[0].value
        group = [copy for copy in group if copy.value == value]
        inner = {(offset(edit.start), offset(edit.end), edit.text) for edit in plain
                 if value[0] <= offset(edit.start) and offset(edit.end) <= value[1]}
        inner |= {edit for copy in group for edit in copy.inside}
        spans = sorted(inner)
        if any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:])):
            composed.append(group[0])  # edits that cross: this finding's copy alone
            continue
        text = apply_edits_at(source, value[0], value[1], spans)
        parenthesize = any(copy.parenthesize for copy in group) or len(spans) > 1
        composed.append(Edit(start, end, f"({text})" if parenthesize else text))
    return composed


def _select_copies(finding: Finding, source: str, span: tuple[int, int], wrapped: str, operands: list[ast.expr],
                   texts: list[str], tree: ast.Module | None = None) -> list[Edit] | None:
    """The op guard as a copy of the op for its select alone, or None where that cannot be written.

    ``t = (a - m) / s`` assigned first and read by the select (``tf.where(c, -t, u)``) may have other readers too
    (a second select, an erf): a guard on ``t`` itself would also drop the zeros those send back, so a NaN that
    no rewrite of this select removes would look like this finding's.  The fix the finding asks for gives the
    select its own copy of the op, guarded; so does the check: each read of ``t`` in the select's branch becomes
    ``guard(lambda *o: (o[0] - o[1]) / o[2], a, m, s)``, the select is marked, and the other readers keep ``t``.
    An op inside a larger value (``v = a * tf.exp(x)``) is copied with that value around it.  Written only where the
    copy has the value of ``t``: ``t = ...`` is a plain assignment in the select's function, the value calls only
    element-wise maths (``_PURE_CALLS``: no random sample or layer, which might not give the same value twice),
    and neither ``t`` nor anything the value reads is assigned between the two."""
    if finding.sink_kind != "select" or finding.branch not in ("true", "false") or finding.sink_start is None:
        return None
    try:
        module = tree if tree is not None else ast.parse(source)  # the planner's tree of the module, parsed once
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    starts = _line_starts(source)
    lines = source.split("\n")

    def extent(node: ast.AST) -> tuple[int, int]:
        return _node_extent(starts, lines, node)

    try:
        sink = (_offset(starts, source, finding.sink_start.line, finding.sink_start.column),
                _offset(starts, source, finding.sink_end.line, finding.sink_end.column))
    except (IndexError, TypeError, AttributeError):
        return None
    assignment = call = statement = None
    owner: dict[int, ast.AST] = {}  # id(node) -> the innermost function (or the module) that holds it
    stack: list[tuple[ast.AST, ast.AST]] = [(module, module)]
    while stack:
        node, scope = stack.pop()
        owner[id(node)] = scope
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and extent(node.value)[0] <= span[0] and span[1] <= extent(node.value)[1]):
            assignment = node
        if isinstance(node, ast.Call) and extent(node) == sink:
            call = node
        if isinstance(node, ast.stmt) and extent(node)[0] <= sink[0] and sink[1] <= extent(node)[1]:
            statement = node  # the innermost statement that holds the select (walked after those around it)
        inner = node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else scope
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))
    if assignment is None or call is None or owner[id(assignment)] is not owner[id(call)]:
        return None
    if call is not None and extent(assignment)[0] <= sink[0] < extent(assignment)[1]:
        return None  # the select is inside the assignment: the op is not read through the variable
    for node in ast.walk(assignment.value):
        if isinstance(node, (ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)):
            return None
        if isinstance(node, ast.Call) and _callee_name(node.func) not in _PURE_CALLS:
            return None  # tf.random.uniform, a layer: a second evaluation might not give the same value
    name = assignment.targets[0].id
    if any(isinstance(node, ast.Name) and node.id == name for node in ast.walk(assignment.value)):
        return None  # ``x = x / t``: a copy read after it would divide the new x again
    if not _runs_before(assignment, statement, owner[id(call)]):
        return None  # ``if t > 1: x = x / t`` before the select: the select may read the x from before
    index, keyword = (1, "x") if finding.branch == "true" else (2, "y")
    branch = call.args[index] if len(call.args) > index else next(
        (k.value for k in call.keywords if k.arg == keyword), None)
    if branch is None:
        return None
    reads = [node for node in ast.walk(branch) if isinstance(node, ast.Name) and node.id == name]
    if not reads:
        return None
    written = {name} | {ast.unparse(node) for node in ast.walk(assignment.value)
                        if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript))}
    # Up to the statement that holds the select: its own targets are assigned after the select has run.
    between = (extent(assignment)[1], extent(statement)[0])
    for node in ast.walk(owner[id(call)]):
        if (isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del))
                and between[0] <= extent(node)[0] < between[1] and ast.unparse(node) in written):
            return None
        if isinstance(node, ast.AugAssign) and between[0] <= extent(node)[0] < between[1] and \
                ast.unparse(node.target) in written:
            return None
    # The op's text with its operands read from the guard's arguments.
    local_starts = _line_starts(wrapped)
    local_lines = wrapped.split("\n")

    def local(line: int, byte_column: int) -> int:
        return local_starts[line - 1] + len(
            local_lines[line - 1].encode("utf-8")[:byte_column].decode("utf-8", "replace"))

    body = wrapped
    for number, node in sorted(enumerate(operands), key=lambda item: -local(item[1].lineno, item[1].col_offset)):
        body = (body[:local(node.lineno, node.col_offset)] + f"{_OP_ARGUMENTS}[{number}]"
                + body[local(node.end_lineno, node.end_col_offset):])
    body = "(" + body[1:-2] + ")"  # the wrapping's newline (there for a trailing comment) goes: the op has none
    key = finding.start.line * 100000 + finding.start.column
    copy = (f"{OP_GUARD_NAME}(lambda *{_OP_ARGUMENTS}: {body}" + "".join(f", ({text})" for text in texts)
            + f", {_SELECT_KEY}={key})")
    value = extent(assignment.value)
    parenthesize = value != span
    if parenthesize:  # ``v = a * tf.exp(x)``: the whole value again, with the op guarded inside it
        whole = "(" + source[value[0]:span[0]] + copy + source[span[1]:value[1]] + ")"
    else:
        whole = copy

    def position(absolute: int) -> Position:
        line = max(i for i, start in enumerate(starts) if start <= absolute)
        return Position(line + 1, absolute - starts[line])

    callee_end = extent(call.func)[1]
    edits = [_select_mark(source, position(sink[0]), position(callee_end),
                          f"{finding.branch == 'true'!r}, {_SELECT_KEY}={key}")]
    edits += [CopyEdit(position(a), position(b), whole, value=value, inside=((span[0], span[1], copy),),
                       parenthesize=parenthesize) for a, b in map(extent, reads)]
    return sorted(edits, key=lambda edit: (edit.start.line, edit.start.column))


def _runs_before(assignment: ast.stmt, statement: ast.stmt, scope: ast.AST) -> bool:
    """Whether ``assignment`` always runs before ``statement`` in ``scope``: it stands earlier in a block of
    statements that holds ``statement`` (or a statement around it)."""
    around: dict[int, ast.AST] = {}
    for node in ast.walk(scope):
        for child in ast.iter_child_nodes(node):
            around[id(child)] = node
    block_of_assignment = None
    holder = around.get(id(assignment))
    for field_name in ("body", "orelse", "finalbody"):
        block = getattr(holder, field_name, None)
        if isinstance(block, list) and any(item is assignment for item in block):
            block_of_assignment = block
    if block_of_assignment is None:
        return False
    position = next(i for i, item in enumerate(block_of_assignment) if item is assignment)
    node: ast.AST | None = statement
    while node is not None:
        for i, item in enumerate(block_of_assignment):
            if item is node:
                return i > position
        node = around.get(id(node))
    return False


# Calls that a copy of an assigned value may evaluate a second time: element-wise maths, comparisons, constants
# (``knowledge.PURE_CONDITION_CALLS``), by the callee's own name: the module alias it is called through is not
# resolved here.  Anything else (a random sample, a layer) might not give the same value twice.
_PURE_CALLS = frozenset(name.rpartition(".")[2] for name in knowledge.PURE_CONDITION_CALLS)


def _callee_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _select_mark(source: str, start: Position, end: Position, arguments: str) -> Edit:
    """The select's callee (``tf.where``) wrapped in the select mark, as one edit that keeps the callee's source:
    two findings of one select mark it twice, one mark inside the other (``compose_nested``)."""
    starts = _line_starts(source)
    callee = source[starts[start.line - 1] + start.column:starts[end.line - 1] + end.column]
    return Edit(start, end, f"{SELECT_MARK_NAME}({callee}, {arguments})", keeps=len(SELECT_MARK_NAME) + 1)


def _select_callee_span(finding: Finding, source: str) -> tuple[Position, Position] | None:
    """Where the callee of the finding's select starts and ends (``tf.where`` in ``tf.where(c, a, b)``), for a
    select finding whose op is inside the select's call; None otherwise."""
    if finding.sink_kind != "select" or finding.branch not in ("true", "false") or finding.sink_start is None:
        return None
    starts = _line_starts(source)
    try:
        start = _offset(starts, source, finding.sink_start.line, finding.sink_start.column)
        end = _offset(starts, source, finding.sink_end.line, finding.sink_end.column)
        op_start, op_end = op_span(finding, source)
    except (IndexError, TypeError, AttributeError):
        return None
    if not (start <= op_start and op_end <= end):
        return None  # the op is assigned to a variable first: its elements may reach the select rearranged
    try:
        call = ast.parse("(" + source[start:end] + "\n)", mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not isinstance(call, ast.Call):
        return None
    text = "(" + source[start:end] + "\n)"
    local = _line_starts(text)
    callee_end = start + local[call.func.end_lineno - 1] + len(
        text.splitlines(True)[call.func.end_lineno - 1].encode("utf-8")[:call.func.end_col_offset].decode(
            "utf-8", "replace")) - 1

    def position(offset: int) -> Position:
        line = max(i for i, line_start in enumerate(starts) if line_start <= offset)
        return Position(line + 1, offset - starts[line])

    return position(start), position(callee_end)
