"""How tflint-nan's time and memory grow with the size of one file, and what ``--fix`` costs next to a lint.

    python benchmarks/large_files.py

Generates TensorFlow-shaped modules (helpers, layers as large classes, ``tf.function``s, safe selects, module-level
constants) of 5,000 to 50,000 lines with 100 findings spread through them, half in top-level functions and half in
methods of large classes, and a module of 2,000 one-line findings, each in a folder of its own (the analysis reads
the other modules of a file's project).  Each is measured as a user runs it, in a new process:
``tflint-nan -j1 --no-cache`` (lint), ``tflint-nan -j1 --no-cache --fix`` on a fresh copy (fix), and
``python -c 'import ast; ast.parse(...)'`` (CPython's parse, the floor the lint is compared with).  Runs are
interleaved round by round and medians reported; peak memory is the process's maximum resident set size.

The Markdown table goes to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

SIZES = (5_000, 10_000, 20_000, 50_000)
FINDINGS = 100
MANY_FINDINGS = 2_000

_HEADER = '''"""A generated module: TensorFlow-shaped code of every common kind, a few risky selects among it."""

import math

import numpy as np
import tensorflow as tf
from tensorflow import keras

EPSILON = 1e-7
SCALE = 2.0

'''

_HELPER = '''
def helper_{n}(values, factor=SCALE):
    """Scale and shift plain numbers (no tensors)."""
    total = 0.0
    for index, value in enumerate(values):
        if value > factor:
            total += value * factor - index
        else:
            total -= math.sqrt(abs(value) + EPSILON)
    return {{"total": total, "count": len(values), "mean": total / max(len(values), 1)}}

'''

_TF_FUNCTION = '''
@tf.function
def masked_mean_{n}(x, mask):
    """A safe select: nothing risky in either branch."""
    kept = tf.where(mask, x, tf.zeros_like(x))
    count = tf.reduce_sum(tf.cast(mask, x.dtype))
    return tf.math.divide_no_nan(tf.reduce_sum(kept), count)

'''

_METHOD = '''
    def step_{m}(self, inputs, training=False):
        scaled = inputs * self.scale + tf.cast(training, inputs.dtype)
        gated = tf.where(scaled > 0., scaled, tf.zeros_like(scaled))
        return tf.reduce_mean(gated, axis=-1) + self.bias
'''

_CLASS = '''
class Block{n}(keras.layers.Layer):
    """A layer with many methods, none of them risky."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.scale = 0.5
        self.bias = 0.1
{methods}
'''

_BAD_FUNCTION = '''
def log_loss_{n}(y_true, y_pred):
    clipped = y_pred * SCALE
    return tf.where(clipped > 0., tf.math.log(clipped), tf.zeros_like(clipped))

'''

_BAD_METHOD = '''
    def risky_{m}(self, x):
        return tf.where(x > 0., tf.math.log(x), tf.zeros_like(x))
'''

_ONE_LINE_FINDING = "def loss_{n}(x): return tf.where(x > 0., tf.math.log(x), tf.zeros_like(x))\n"


def module(lines: int, findings: int) -> str:
    """A module of about ``lines`` lines (within a class's length) with ``findings`` findings spread evenly."""
    parts, length, placed, n = [_HEADER], _HEADER.count("\n"), 0, 0
    per_finding = max(lines // max(findings, 1), 1)
    while length < lines:
        n += 1
        due = placed < findings and length >= placed * per_finding
        methods = "".join(_METHOD.format(m=m) for m in range(20))
        if due and placed % 2 == 1:
            methods = methods + _BAD_METHOD.format(m=n)
            placed += 1
        chunk = _HELPER.format(n=n) + _TF_FUNCTION.format(n=n) + _CLASS.format(n=n, methods=methods)
        if due and placed % 2 == 0 and placed < findings:
            chunk += _BAD_FUNCTION.format(n=n)
            placed += 1
        parts.append(chunk)
        length += chunk.count("\n")
    while placed < findings:  # a short module: the rest at its end
        parts.append(_BAD_FUNCTION.format(n=f"extra_{placed}"))
        placed += 1
    return "".join(parts)


def many_findings(findings: int) -> str:
    return _HEADER + "".join(_ONE_LINE_FINDING.format(n=n) for n in range(findings))


# -- measuring -------------------------------------------------------------------------------------------------------
def run(argv: list[str], cwd: Path) -> tuple[float, int, int, bytes]:
    """(wall seconds, peak RSS in bytes of the process and its waited-for children, exit status, stdout)."""
    with tempfile.TemporaryFile() as output:
        before = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, stdout=output, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - before
        output.seek(0)
        return wall, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status), output.read()


def tflint_command() -> list[str]:
    script = Path(sysconfig.get_path("scripts")) / "tflint-nan"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tflint_nan"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians over them; default 3)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="module lengths in lines")
    parser.add_argument("--many", type=int, default=MANY_FINDINGS, help="findings in the many-findings module")
    parser.add_argument("--keep", action="store_true", help="keep the generated files and print where they are")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    tflint = tflint_command()
    workspace = Path(tempfile.mkdtemp(prefix="tflint-nan-large-"))
    progress = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    from run import compile_package  # (run as a script, this folder is on the path)

    compile_package()
    try:
        # Each file in a folder of its own, and its copy for --fix in another: the analysis reads the other modules
        # of a file's project (for the calls of its functions), and each file is measured alone.
        cases = []
        sources = [(f"module_{size}.py", module(size, FINDINGS), f"{size:,}-line module, {FINDINGS} findings")
                   for size in sizes]
        sources.append((f"findings_{args.many}.py", many_findings(args.many), f"{args.many:,} one-line findings"))
        for name, text, label in sources:
            for folder in (Path(name).stem, Path(name).stem + "_fixed"):
                (workspace / folder).mkdir()
            (workspace / Path(name).stem / name).write_text(text, encoding="utf-8")
            cases.append((label, name))

        results: dict[tuple[str, str], list[tuple[float, int]]] = {}
        counts: dict[str, tuple[int, int]] = {}
        for round_ in range(args.rounds):
            for label, name in cases:
                folder = workspace / Path(name).stem
                path = folder / name
                copy = workspace / (Path(name).stem + "_fixed") / name
                progress(f"round {round_ + 1}/{args.rounds}: {label}")
                parse = [sys.executable, "-c", f"import ast; ast.parse(open({str(path)!r}, 'rb').read())"]
                wall, peak, _, _ = run(parse, folder)
                results.setdefault((label, "parse"), []).append((wall, peak))
                wall, peak, _, out = run([*tflint, "-j1", "--no-cache", "-q", name], folder)
                results.setdefault((label, "lint"), []).append((wall, peak))
                found = out.count(b": TFN")
                shutil.copyfile(path, copy)
                wall, peak, _, out = run([*tflint, "-j1", "--no-cache", "-q", "--fix", name], copy.parent)
                results.setdefault((label, "fix"), []).append((wall, peak))
                left = run([*tflint, "-j1", "--no-cache", "-q", name], copy.parent)[3].count(b": TFN")
                counts[label] = (found, left)

        median = lambda label, kind: statistics.median(w for w, _ in results[(label, kind)])  # noqa: E731
        peak = lambda label, kind: max(p for _, p in results[(label, kind)])  # noqa: E731
        print("## tflint-nan on large files\n")
        print(f"Medians of {args.rounds} interleaved rounds, each a new process (`-j1 --no-cache`); peak memory is "
              "the largest maximum resident set size.\n")
        print("| file | findings (left after --fix) | CPython parse | lint | lint ÷ parse | fix | fix ÷ lint | "
              "peak memory lint / fix |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for label, _ in cases:
            parse, lint, fix = median(label, "parse"), median(label, "lint"), median(label, "fix")
            found, left = counts[label]
            print(f"| {label} | {found} ({left}) | {parse:.2f} s | {lint:.2f} s | {lint / parse:.1f} | {fix:.2f} s | "
                  f"{fix / lint:.2f} | {peak(label, 'lint') / 2**20:.0f} / {peak(label, 'fix') / 2**20:.0f} MB |")
        module_cases = [(size, label) for size, (label, _) in zip(sizes, cases)]
        if len(module_cases) >= 2:
            (small, first), (large, last) = module_cases[0], module_cases[-1]
            growth = {kind: median(last, kind) / median(first, kind) for kind in ("lint", "fix", "parse")}
            print(f"\nGrowth from {small:,} to {large:,} lines ({large / small:.0f}× the lines): lint "
                  f"{growth['lint']:.1f}×, fix {growth['fix']:.1f}×, CPython parse {growth['parse']:.1f}× (each "
                  "includes the interpreter's start-up).")
            marginal = [(median(b, "lint") - median(a, "lint")) / (lines_b - lines_a) * 1e6
                        for (lines_a, a), (lines_b, b) in zip(module_cases, module_cases[1:])]
            print("Lint time per further line between successive sizes: "
                  + ", ".join(f"{value:.0f} µs" for value in marginal) + ".")
        if args.keep:
            progress(f"files kept in {workspace}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
