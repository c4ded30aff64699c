"""``tflint-nan probe path/to/file.py::name``: probe any function and print what TensorFlow computes."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ..knowledge import RULE_CODES
from ..lint import SourceError, decode
from . import INSTALL_HINT, tensorflow_available
from .confirm import verdict_from
from .extract import ExtractError, ModuleSlicer
from .supervisor import DEFAULT_TIMEOUT, Job, run_job
from .values import DEFAULT_DTYPE, DTYPES, probe_values
from .verdict import CONFIRMED, NOT_PROBED

EXIT_NOT_REPRODUCED, EXIT_CONFIRMED, EXIT_ERROR = 0, 1, 2
SHOWN_ROWS = 60  # more rows than this (several parameters): only those with a NaN gradient, unless --all

DESCRIPTION = """\
Run one function under TensorFlow on probe values from the knowledge base (both sides of every pole and
overflow threshold, 0 and -0, ±tiny, ±1 and just past it, large values; combinations for several parameters),
eagerly and under XLA, and print for each probe: the inputs, the forward value, the gradient, and the verdict.
Only the function, the imports and the module-level names it uses run, in a child process with a timeout.

NAME is a top-level function, a variable bound to a lambda, a class (a Keras Layer is called; a Metric gets
update_state then result; other classes their call or __call__), or Class.method.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tflint-nan probe", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", metavar="FILE::NAME", help="the file and the function, e.g. model.py::elu")
    parser.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                        help=f"seconds the function may run, with the module code it needs (default "
                             f"{DEFAULT_TIMEOUT:g}, or dynamic-timeout from the configuration)")
    parser.add_argument("--dtype", choices=DTYPES, default=DEFAULT_DTYPE,
                        help="dtype of the probe tensors (default float32); the overflow thresholds follow it")
    parser.add_argument("--all", action="store_true", help="print every probe, not only the NaN ones, for "
                                                           f"functions with more than {SHOWN_ROWS} probes")
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def main(argv: Sequence[str], default_timeout: float | None = None) -> int:
    args = build_parser().parse_args(list(argv))
    path, separator, name = args.target.rpartition("::")
    if not separator or not path or not name:
        print("tflint-nan probe: error: name the function as FILE::NAME, e.g. model.py::elu", file=sys.stderr)
        return EXIT_ERROR
    if not tensorflow_available():
        print(f"tflint-nan probe: {INSTALL_HINT}", file=sys.stderr)
        return EXIT_ERROR
    try:
        with open(path, "rb") as handle:
            source = decode(handle.read())
        slicer = ModuleSlicer(source, path)
        unit = slicer.unit_named(name)
    except OSError as error:
        print(f"tflint-nan probe: error: cannot read {path}: {error.strerror or error}", file=sys.stderr)
        return EXIT_ERROR
    except (SourceError, ExtractError) as error:
        print(f"tflint-nan probe: error: {path}: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyError:
        known = ", ".join(u.name for u in ModuleSlicer(source, path).units()) or "none"
        print(f"tflint-nan probe: error: {path} has no top-level function, lambda or class {name!r} "
              f"(probe-able names: {known})", file=sys.stderr)
        return EXIT_ERROR
    timeout = args.timeout or default_timeout or DEFAULT_TIMEOUT
    task = {"id": 0, "module": "original", "unit": unit.to_json(), "dtype": args.dtype,
            "values": list(probe_values(RULE_CODES, args.dtype)), "table": True}
    result = run_job(Job(path, {"original": source}, [task]), timeout).get(0)
    verdict = verdict_from(result, unit)
    if verdict.status == NOT_PROBED:
        print(f"{path}::{unit.label}: {verdict.text}")
        return EXIT_ERROR
    print(render_table(path, unit, result, args.all))
    print(verdict.text)
    return EXIT_CONFIRMED if verdict.status == CONFIRMED else EXIT_NOT_REPRODUCED


def render_table(path: str, unit, result: dict, show_all: bool) -> str:
    modes = [mode for mode in ("eager", "xla") if mode in result["modes"]]
    ran = [mode for mode in modes if not result["modes"][mode].get("error")]
    names = result["parameters"]
    header = [*names, "forward", *(f"gradient ({_mode(m)})" for m in ran), "verdict"]
    rows = result.get("table", [])
    shown = rows
    if len(rows) > SHOWN_ROWS and not show_all:
        shown = [row for row in rows if any(row.get(f"{m}_nan") for m in ran)][:SHOWN_ROWS]
    lines = [f"{path}::{unit.label}({', '.join(names)}): {result['probes']} probes, {result['dtype']}, "
             f"{' and '.join(_mode(m) for m in ran)}"]
    for mode in modes:
        if result["modes"][mode].get("error"):
            lines.append(f"{_mode(mode)}: not run: {result['modes'][mode]['error']}")
    per_point = max((result["modes"][m].get("per_point", 0) for m in ran), default=0)
    if per_point:
        lines.append(f"the output is not one row per input element: {per_point} probes were run one at a time")
    table = [header]
    for row in shown:
        nan_modes = [_mode(m) for m in ran if row.get(f"{m}_nan")]
        if nan_modes:
            verdict = f"NaN gradient ({', '.join(nan_modes)})"
        elif row["forward"] is None or abs(row["forward"]) == float("inf"):
            verdict = "forward not finite"
        else:
            verdict = "ok"
        table.append([*row["point"], _number(row["forward"]),
                      *(", ".join(_number(g) for g in row.get(m, [])) for m in ran), verdict])
    widths = [max(len(cells[i]) for cells in table) for i in range(len(header))]
    lines.append("")
    for cells in table:
        lines.append("  ".join(cell.rjust(width) if i < len(header) - 1 else cell
                               for i, (cell, width) in enumerate(zip(cells, widths))).rstrip())
    if len(shown) < len(rows):
        lines.append(f"({len(rows) - len(shown)} more probes not shown; --all prints every one)")
    lines.append("")
    return "\n".join(lines)


def _mode(mode: str) -> str:
    return "eager" if mode == "eager" else "XLA"


def _number(value) -> str:
    return "nan" if value is None else f"{value:.6g}"
