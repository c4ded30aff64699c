"""Benchmark tflint-nan on TensorFlow's and Keras's own sources, against ruff, flake8 and cat.

    pip install -e ".[bench]"
    python benchmarks/run.py

The corpus is every ``*.py`` file of the ``tensorflow`` and ``keras`` packages installed for this interpreter,
copied into a temporary directory (nothing installed is touched).  Each measurement runs as a user runs it: a new
process, interpreter start-up included.  Measurements are interleaved (one of each, then the next round) so that a
change in the machine's load affects all of them alike, and the median of the rounds is reported.  CPU time is user
plus system time of the whole process tree; peak RSS is the largest sum, over the process tree, of the resident
set sizes sampled every 20 ms (shared pages count once per process, so it errs high).

Then the cold run's time is broken down by stage (one process, ``-j1``, no cache; ``tflint_nan.stages``): discovery,
read, byte screen, syntax tree, plan, LibCST parse, metadata, analysis, rewrite planning, report.

Then, unless ``--no-exhaustive``, the optimised linter and the exhaustive path (LibCST on every statement of every
file that mentions a select) are run on the whole corpus through the Python API and their findings compared.

The Markdown table goes to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CORPUS_PACKAGES = ("tensorflow", "keras")
CHANGED_FILES = 10
BIG_FILE_LINES = 5_000
SAMPLE_SECONDS = 0.02
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass
class Run:
    wall: float
    cpu: float
    peak_rss: int  # bytes
    returncode: int
    stdout: bytes


@dataclass
class Measurement:
    name: str
    files: int | None  # how many files it checks, for files/s
    runs: list[Run] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)

    def peak(self) -> int:
        return max(run.peak_rss for run in self.runs)


# -- running one command ---------------------------------------------------------------------------------------------
def measure(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``argv`` once (``env``: variables added to this process's): wall time, CPU time of the process tree, peak
    RSS of the process tree."""
    with tempfile.TemporaryFile() as output:
        before = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, stdout=output, stderr=subprocess.DEVNULL,
                                   env={**os.environ, **env} if env else None)
        peak = [0]
        done = threading.Event()
        sampler = threading.Thread(target=_sample_tree_rss, args=(process.pid, peak, done), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - before
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        stdout = output.read()
    return Run(wall, usage.ru_utime + usage.ru_stime, peak[0], process.returncode, stdout)


def _sample_tree_rss(root: int, peak: list[int], done: threading.Event) -> None:
    while not done.is_set():
        peak[0] = max(peak[0], sum(_rss(pid) for pid in _process_tree(root)))
        done.wait(SAMPLE_SECONDS)


def _process_tree(root: int) -> list[int]:
    pids, pending = [], [root]
    while pending:
        pid = pending.pop()
        pids.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    pending.extend(int(child) for child in handle.read().split())
        except OSError:
            continue  # gone already
    return pids


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * PAGE_BYTES
    except (OSError, ValueError, IndexError):
        return 0


# -- the corpus ------------------------------------------------------------------------------------------------------
def package_directory(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"benchmarks/run.py: the {name!r} package is not installed for {sys.executable}; "
                 'install the benchmark extra: pip install -e ".[bench]"')
    return Path(next(iter(spec.submodule_search_locations)))


def copy_corpus(destination: Path) -> list[Path]:
    files = []
    for name in CORPUS_PACKAGES:
        source = package_directory(name)
        for path in sorted(source.rglob("*.py")):
            target = destination / name / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            files.append(target)
    return files


def build_big_file(corpus: Path, destination: Path) -> int:
    """Keras's TensorFlow backend (numpy.py, then nn.py), whole top-level statements, to 5,000 lines."""
    lines: list[str] = []
    for relative in ("keras/src/backend/tensorflow/numpy.py", "keras/src/backend/tensorflow/nn.py"):
        source = (corpus / relative).read_text(encoding="utf-8")
        source_lines = source.splitlines(keepends=True)
        start = 0
        for statement in ast.parse(source).body:
            end = statement.end_lineno
            if len(lines) + end - start > BIG_FILE_LINES:
                break
            lines.extend(source_lines[start:end])
            start = end
        if len(lines) >= BIG_FILE_LINES - 200:
            break
    lines.extend("\n" for _ in range(BIG_FILE_LINES - len(lines)))
    destination.write_text("".join(lines), encoding="utf-8")
    return len(lines)


def change(paths: list[Path], round_: int) -> None:
    """Edit each file (append a comment): its bytes change, so no cache may reuse its old result."""
    for path in paths:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"# edited in round {round_}\n")


# -- the tools -------------------------------------------------------------------------------------------------------
def command(name: str, module: str | None = None) -> list[str]:
    script = Path(sysconfig.get_path("scripts")) / name
    if script.exists():
        return [str(script)]
    found = shutil.which(name)
    if found:
        return [found]
    if module is not None:
        return [sys.executable, "-m", module]
    sys.exit(f"benchmarks/run.py: {name} is not installed; install the benchmark extra: pip install -e \".[bench]\"")


def version(argv: list[str]) -> str:
    result = subprocess.run([*argv, "--version"], capture_output=True, text=True)
    return (result.stdout or result.stderr).strip().splitlines()[0] if result.returncode == 0 else "?"


# -- where the cold run's time goes --------------------------------------------------------------------------------
STAGES = ("discovery", "read", "byte screen", "syntax tree", "plan", "LibCST parse", "metadata", "analysis",
          "rewrite planning", "report")


def stage_breakdown(corpus: Path) -> dict[str, float]:
    """Seconds per stage of a cold ``-j1`` run over ``corpus``, in a new process (imports not counted)."""
    result = subprocess.run([sys.executable, __file__, "--stages-of", str(corpus)], capture_output=True, text=True,
                            check=True)
    import json

    return json.loads(result.stdout.splitlines()[-1])


def _stages_of(corpus: str) -> None:
    import json

    import libcst  # noqa: F401 - imported before the clock starts, as a worker has it

    import tflint_nan.focus  # noqa: F401
    from tflint_nan import stages
    from tflint_nan.discovery import iter_files
    from tflint_nan.lint import Settings
    from tflint_nan.report import render
    from tflint_nan.runner import lint_files

    os.chdir(corpus)
    stages.enable()
    start = time.perf_counter()
    with stages.stage("discovery"):
        files = list(iter_files(["."]))
    results = lint_files(files, Settings(), jobs=1)
    with stages.stage("report"):
        render(sorted((f for r in results for f in (*r.findings, *([r.error] if r.error else []))),
                      key=lambda f: f.sort_key()), "concise")
    totals = dict(stages.totals)
    totals["total"] = time.perf_counter() - start
    print(json.dumps(totals))


def breakdown_table(totals: dict[str, float]) -> str:
    total = totals.get("total", 0.0) or 1.0
    rows = ["| stage | seconds | share |", "| --- | ---: | ---: |"]
    for name in STAGES:
        value = totals.get(name, 0.0)
        rows.append(f"| {name} | {value:.2f} | {value / total:.0%} |")
    other = total - sum(totals.get(name, 0.0) for name in STAGES)
    rows.append(f"| other (scheduling, results, the cache's absence checks) | {other:.2f} | {other / total:.0%} |")
    rows.append(f"| **total** (`-j1`, in one process) | {total:.2f} | 100% |")
    return "\n".join(rows)


# -- the exhaustive comparison ---------------------------------------------------------------------------------------
def _exhaustive(path: str):
    from tflint_nan.files import lint_path

    return lint_path(path, always_check_syntax=False, exhaustive=True)


def compare_with_exhaustive(corpus: Path, jobs: int) -> tuple[int, int, list[str]]:
    """(findings, exhaustive findings, differences) on the corpus, walked as the command walks it."""
    from tflint_nan.discovery import iter_files
    from tflint_nan.lint import Settings
    from tflint_nan.runner import lint_files

    os.chdir(corpus)
    files = list(iter_files(["."]))
    optimised = lint_files(files, Settings(), jobs=jobs)
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        exhaustive = pool.map(_exhaustive, [path for path, _ in files], chunksize=1)
    differences = []
    for fast, slow in zip(optimised, exhaustive):
        if fast.findings != slow.findings:
            differences.append(f"{fast.path}: {len(fast.findings)} findings, exhaustively {len(slow.findings)}")
        elif (fast.error is None) != (slow.error is None):
            # The one expected kind: a file LibCST cannot parse, reported only when it may hold a finding.
            differences.append(f"{fast.path}: error {fast.error and fast.error.message!r}, exhaustively "
                               f"{slow.error and slow.error.message!r}")
    count = sum(len(result.findings) for result in optimised)
    return count, sum(len(result.findings) for result in exhaustive), differences


# -- the report ------------------------------------------------------------------------------------------------------
def seconds(value: float) -> str:
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def table(measurements: list[Measurement], ruff: Measurement, flake8: Measurement) -> str:
    rows = ["| measurement | wall (median) | CPU (median) | peak RSS | files/s | × ruff wall | × flake8 wall |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for item in measurements:
        wall = item.median("wall")
        rate = f"{item.files / wall:,.0f}" if item.files else "—"
        rows.append(f"| {item.name} | {seconds(wall)} | {seconds(item.median('cpu'))} | "
                    f"{item.peak() / 2**20:.0f} MB | {rate} | {wall / ruff.median('wall'):.2f} | "
                    f"{wall / flake8.median('wall'):.3f} |")
    return "\n".join(rows)


def compile_package() -> None:
    """Write the package's bytecode, as ``pip install`` does: an editable install under ``PYTHONDONTWRITEBYTECODE``
    would otherwise compile every module again in every measured process."""
    import compileall

    import tflint_nan

    compileall.compile_dir(str(Path(tflint_nan.__file__).parent), quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians over them; default 3)")
    parser.add_argument("--no-exhaustive", action="store_true",
                        help="skip comparing the findings with the exhaustive path (minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the corpus directory and print where it is")
    parser.add_argument("--stages-of", help=argparse.SUPPRESS)  # internal: the breakdown's own process
    args = parser.parse_args()
    if args.stages_of:
        _stages_of(args.stages_of)
        return 0
    jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    tflint, ruff, flake8 = command("tflint-nan", "tflint_nan"), command("ruff"), command("flake8")
    python = [sys.executable]

    workspace = Path(tempfile.mkdtemp(prefix="tflint-nan-bench-"))
    corpus = workspace / "corpus"
    progress = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    compile_package()
    try:
        progress(f"copying the corpus into {corpus}")
        files = copy_corpus(corpus)
        size = sum(path.stat().st_size for path in files)
        relative = [str(path.relative_to(corpus)) for path in files]
        chosen = random.Random(5).sample(files, CHANGED_FILES)
        chosen_relative = [str(path.relative_to(corpus)) for path in chosen]
        big = workspace / "big_file.py"
        big_lines = build_big_file(corpus, big)
        cache = corpus / ".tflint_nan_cache"
        originals = {path: path.read_bytes() for path in chosen}

        def restore() -> None:
            for path, data in originals.items():
                path.write_bytes(data)

        cold = Measurement("tflint-nan, cold (empty cache)", len(files))
        no_cache = Measurement("tflint-nan --no-cache", len(files))
        warm = Measurement("tflint-nan, warm (cache populated, nothing changed)", len(files))
        touched = Measurement(f"tflint-nan, warm after editing {CHANGED_FILES} files", len(files))
        ruff_run = Measurement("ruff check --no-cache --select E,F,W", len(files))
        one_job = Measurement("tflint-nan --no-cache -j1", len(files))
        ruff_one_thread = Measurement("ruff, one thread (RAYON_NUM_THREADS=1)", len(files))
        flake8_run = Measurement("flake8 -j auto", len(files))
        cat = Measurement("cat (the I/O floor)", len(files))
        precommit = Measurement(f"pre-commit shape: tflint-nan on {CHANGED_FILES} edited files", CHANGED_FILES)
        big_run = Measurement(f"one {big_lines:,}-line file (Keras's TF backend), --no-cache", 1)
        startup = Measurement("python -c pass (interpreter start-up)", None)
        imports = Measurement("python -c 'import tflint_nan.cli'", None)
        outputs: dict[str, set[bytes]] = {"cold": set(), "warm": set()}

        steps = [
            (cold, lambda r: shutil.rmtree(cache, ignore_errors=True), [*tflint, "-q", "."], corpus, "cold"),
            (warm, None, [*tflint, "-q", "."], corpus, "warm"),
            (touched, lambda r: change(chosen, r), [*tflint, "-q", "."], corpus, None),
            (no_cache, lambda r: restore(), [*tflint, "-q", "--no-cache", "."], corpus, None),
            (ruff_run, None, [*ruff, "check", "--no-cache", "--select", "E,F,W", "-q", "."], corpus, None),
            (one_job, None, [*tflint, "-q", "--no-cache", "-j1", "."], corpus, None),
            (ruff_one_thread, None, [*ruff, "check", "--no-cache", "--select", "E,F,W", "-q", "."], corpus, None,
             {"RAYON_NUM_THREADS": "1"}),
            (flake8_run, None, [*flake8, "-j", "auto", "."], corpus, None),
            (cat, None, ["cat", *relative], corpus, None),
            (precommit, lambda r: change(chosen, r + 100), [*tflint, "-q", *chosen_relative], corpus, None),
            (big_run, lambda r: restore(), [*tflint, "-q", "--no-cache", str(big)], workspace, None),
            (startup, None, [*python, "-c", "pass"], workspace, None),
            (imports, None, [*python, "-c", "import tflint_nan.cli"], workspace, None),
        ]
        load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
        for round_ in range(args.rounds):
            for measurement, prepare, argv, cwd, keep_output, *env in steps:
                if prepare is not None:
                    prepare(round_)
                progress(f"round {round_ + 1}/{args.rounds}: {measurement.name}")
                run = measure(argv, cwd, *env)
                measurement.runs.append(run)
                if keep_output:
                    outputs[keep_output].add(run.stdout)
        restore()
        load_after = os.getloadavg() if hasattr(os, "getloadavg") else None

        progress("breaking the cold run down by stage (-j1)")
        breakdown = stage_breakdown(corpus)

        comparison = None
        if not args.no_exhaustive:
            progress("comparing the findings with the exhaustive path on the whole corpus (minutes)")
            comparison = compare_with_exhaustive(corpus, jobs)

        measured = [cold, no_cache, warm, touched, ruff_run, one_job, ruff_one_thread, flake8_run, cat, precommit, big_run,
                    startup, imports]
        print("## tflint-nan benchmark\n")
        print(f"Corpus: {len(files):,} Python files, {size / 1e6:.1f} MB: the `tensorflow` and `keras` packages of "
              f"{sys.executable} (tensorflow {_version_of('tensorflow')}, keras {_version_of('keras')}).  ")
        print(f"Machine: {platform.platform()}, {jobs} CPUs available, Python {platform.python_version()}; "
              f"load average {_load(load_before)} before, {_load(load_after)} after.  ")
        print(f"Tools: {version(tflint)}, {version(ruff)}, flake8 {version(flake8).split()[0]}.  ")
        print(f"Medians of {args.rounds} interleaved rounds; CPU = user + system time of the process tree; "
              f"peak RSS = the largest sampled sum over the process tree.\n")
        print(table(measured, ruff_run, flake8_run))
        print("\nWhere a cold run's time goes (one process, `-j1`, no cache; each stage without the stages inside it):\n")
        print(breakdown_table(breakdown))
        print()
        print(targets(cold, warm, precommit, ruff_run, flake8_run, outputs, comparison, no_cache, one_job,
                      ruff_one_thread))
        if args.keep:
            progress(f"corpus kept in {workspace}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(workspace, ignore_errors=True)


def targets(cold, warm, precommit, ruff, flake8, outputs, comparison, no_cache, one_job, ruff_one_thread) -> str:
    ruff_wall, flake8_wall = ruff.median("wall"), flake8.median("wall")
    cold_wall, warm_wall, precommit_wall = cold.median("wall"), warm.median("wall"), precommit.median("wall")
    verdict = lambda ok: "**met**" if ok else "**missed**"  # noqa: E731
    same_output = len(outputs["cold"] | outputs["warm"]) == 1
    lines = [
        "| target | measured | |",
        "| --- | --- | --- |",
        f"| cold full scan ≤ 5× ruff's wall | {cold_wall / ruff_wall:.2f}× | {verdict(cold_wall <= 5 * ruff_wall)} |",
        f"| cold scan (`--no-cache`) ≤ 2× ruff's wall | {no_cache.median('wall') / ruff_wall:.2f}× | "
        f"{verdict(no_cache.median('wall') <= 2 * ruff_wall)} |",
        f"| cold scan with `-j1` ≤ 3× ruff's wall with one thread | "
        f"{one_job.median('wall') / ruff_one_thread.median('wall'):.2f}× | "
        f"{verdict(one_job.median('wall') <= 3 * ruff_one_thread.median('wall'))} |",
        f"| cold full scan ≥ 10× faster than flake8 | {flake8_wall / cold_wall:.1f}× faster | "
        f"{verdict(flake8_wall >= 10 * cold_wall)} |",
        f"| warm re-run ≤ 2× ruff | {warm_wall / ruff_wall:.2f}× | {verdict(warm_wall <= 2 * ruff_wall)} |",
        f"| {CHANGED_FILES} changed files (pre-commit) < 0.5 s, start-up included | {seconds(precommit_wall)} | "
        f"{verdict(precommit_wall < 0.5)} |",
        f"| peak memory < 300 MB on the full corpus, parallel workers | {cold.peak() / 2**20:.0f} MB | "
        f"{verdict(cold.peak() < 300 * 2**20)} |",
        f"| warm runs print exactly what cold runs print | {'identical' if same_output else 'DIFFERENT'} | "
        f"{verdict(same_output)} |",
    ]
    if comparison is not None:
        found, exhaustive, differences = comparison
        lines.append(f"| same findings as the exhaustive path | {found} and {exhaustive} findings, "
                     f"{len(differences)} files differ | {verdict(not differences)} |")
        lines.extend(f"\n- {difference}" for difference in differences)
    return "\n".join(lines)


def _version_of(name: str) -> str:
    try:
        from importlib.metadata import version as installed_version

        return installed_version(name if name != "tensorflow" else _tensorflow_distribution())
    except Exception:  # noqa: BLE001 - only a label in the report
        return "?"


def _tensorflow_distribution() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    for candidate in ("tensorflow", "tensorflow-cpu", "tf-nightly"):
        try:
            installed_version(candidate)
            return candidate
        except PackageNotFoundError:
            continue
    return "tensorflow"


def _load(load) -> str:
    return "/".join(f"{value:.2f}" for value in load) if load else "?"


if __name__ == "__main__":
    sys.exit(main())
