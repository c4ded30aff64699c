"""Torture tests: huge and deep files, many files, hostile file systems, concurrent and interrupted runs.

Each runs the command as a user does (a subprocess) unless it needs to act between two steps of one run.  Time
bounds are generous hang guards, never performance assertions.
"""

from __future__ import annotations

import ast
import io
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from command import BUGGY, FIXED, ROOT, write
from tflint_nan.discovery import iter_files
from tflint_nan.fix import fix_command
from tflint_nan.lint import MAX_NESTING_DEPTH, Settings
from tflint_nan.runner import lint_files

pytestmark = pytest.mark.skipif(os.name != "posix", reason="FIFOs, signals, process groups and setuid are POSIX")

HANG_SECONDS = 900  # a hang guard for the big runs; each finishes in well under a tenth of it
MEMORY_BOUND_MIB = 4096  # a blow-up guard: the largest run here peaks at about a quarter of it
TEMPORARY_SUFFIX = ".tflint-nan.tmp"


def start(*args: str, cwd: Path) -> subprocess.Popen:
    """The command in its own process group, as a shell runs it: a signal to the group reaches its workers too."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tflint_nan", *args], cwd=cwd, env=env, text=True,
                            encoding="utf-8", stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def run(*args: str, cwd: Path, timeout: float = HANG_SECONDS) -> subprocess.CompletedProcess:
    process = start(*args, cwd=cwd)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"tflint-nan {' '.join(args)} hung for {timeout} s") from None
    assert "Traceback" not in stderr, stderr
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def location(line: str) -> str:
    """The path a finding line names, as given on the command line or found below it (without "./")."""
    return os.path.normpath(line.split(":", 1)[0])


MEASURE = """
import resource, subprocess, sys
completed = subprocess.run(sys.argv[1:], capture_output=True, text=True, encoding="utf-8")
sys.stdout.write(completed.stdout)
sys.stderr.write(completed.stderr)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux: the largest process of the run
sys.stderr.write(f"PEAK_RSS_KIB {peak}\\n")
sys.exit(completed.returncode)
"""


def run_measured(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, int]:
    """``run``, and the peak resident memory in MiB of the largest process the command started."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-m", "tflint_nan", *args], cwd=cwd,
                               env=env, text=True, encoding="utf-8", capture_output=True, timeout=HANG_SECONDS)
    stderr, _, peak = completed.stderr.rpartition("PEAK_RSS_KIB ")
    assert "Traceback" not in stderr, stderr
    return subprocess.CompletedProcess(completed.args, completed.returncode, completed.stdout, stderr), int(peak) // 1024


def codes(stdout: str) -> list[str]:
    return [line.split(": ", 2)[1].split(" ", 1)[0] for line in stdout.splitlines() if ": TFN" in line]


def parse_error_lines(stdout: str) -> dict[str, str]:
    """path -> TFN999 message."""
    out = {}
    for line in stdout.splitlines():
        where, _, rest = line.partition(": ")
        if rest.startswith("TFN999 "):
            out[location(where)] = rest[len("TFN999 "):]
    return out


# -- size --------------------------------------------------------------------------------------------------------
def fifty_thousand_lines() -> tuple[str, int]:
    """A 50,000-line module of ordinary code with a buggy select every 500 lines (and a safe one between)."""
    lines = ['"""A generated module."""', "import tensorflow as tf", "from keras import backend as K", ""]
    buggy = 0
    index = 0
    while len(lines) < 50_000 - 12:
        lines += [
            f"def layer_{index}(x, scale={index % 7 + 1}.):",
            f"    # block {index}",
            "    y = x * scale + 1.",
            "    z = tf.reduce_sum(y, axis=-1, keepdims=True)",
            "    return (y - z) / scale",
            "",
        ]
        if index % 83 == 0:
            lines += [f"def elu_{index}(x):", "    return tf.where(x > 0., x, tf.exp(x) - 1.)", ""]
            buggy += 1
        elif index % 83 == 41:
            lines += [f"def safe_{index}(x):", "    return K.switch(x > 0., tf.math.log(tf.where(x > 0., x, 1.)), x)", ""]
        index += 1
    lines += [""] * (50_000 - len(lines))
    return "\n".join(lines) + "\n", buggy


def test_a_50000_line_file_is_checked_and_fixed(tmp_path):
    source, buggy = fifty_thousand_lines()
    assert source.count("\n") == 50_000
    path = write(tmp_path, "big.py", source)
    result, peak = run_measured("big.py", cwd=tmp_path)
    assert peak < MEMORY_BOUND_MIB, f"{peak} MiB"
    assert result.returncode == 1
    assert codes(result.stdout) == ["TFN001"] * buggy
    assert result.stderr.strip() == f"Found {buggy} problems in 1 file (1 file checked)."
    result = run("--fix", "big.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    fixed = path.read_text(encoding="utf-8")
    assert fixed == source.replace("tf.exp(x) - 1.", "tf.exp(tf.minimum(x, 0.)) - 1.")  # the known-clean rewrite


# -- depth -------------------------------------------------------------------------------------------------------
DEPTH = 500
HEADER = "import tensorflow as tf\n\n\n"


def deep_sources() -> dict[str, str]:
    """Files nesting one construct 500 deep, each also holding a select so the analysis is reached."""
    select = "y = tf.where(x > 0, x, tf.exp(x))\n"
    indent_levels = "".join("    " * level + "if x:\n" for level in range(DEPTH)) + "    " * DEPTH + select
    nested_defs = "".join("    " * level + f"def f{level}(x):\n" for level in range(DEPTH)) + "    " * DEPTH + select
    return {
        "parentheses.py": HEADER + "z = " + "(" * DEPTH + "x" + ")" * DEPTH + "\n" + select,
        "calls.py": HEADER + "z = tf.where(x > 0, x, " + "tf.exp(" * DEPTH + "x" + ")" * DEPTH + ")\n",
        "lists.py": HEADER + "z = " + "[" * DEPTH + "x" + "]" * DEPTH + "\n" + select,
        "selects.py": HEADER + "z = " + "tf.where(x > 0, " * DEPTH + "tf.exp(x)" + ", x)" * DEPTH + "\n",
        "blocks.py": HEADER + indent_levels,
        "functions.py": HEADER + nested_defs,
        "unary.py": HEADER + "z = tf.where(x > 0, x, tf.exp(" + "-" * DEPTH + "x))\n",
        "negations.py": HEADER + "z = tf.where(" + "not " * DEPTH + "x, x, tf.exp(x))\n",
        "lambdas.py": HEADER + "z = " + "lambda: " * DEPTH + "tf.where(x > 0, x, tf.exp(x))\n",
        "subscripts.py": HEADER + "z = tf.where(x > 0, x, tf.exp(x" + "[0]" * DEPTH + "))\n",
        "attributes.py": HEADER + "z = tf.where(x > 0, x, tf.exp(x" + ".a" * DEPTH + "))\n",
        "calls_chained.py": HEADER + "z = tf.where(x > 0, x, tf.exp(f" + "()" * DEPTH + "))\n",
        "sum.py": HEADER + "z = tf.where(x > 0, x, " + " + ".join(["tf.exp(x)"] * DEPTH * 10) + ")\n",
        "variables.py": HEADER + "def f(x):\n    a0 = x\n"
        + "".join(f"    a{level + 1} = a{level} + a{level}\n" for level in range(DEPTH))
        + "    c0 = x > 0\n" + "".join(f"    c{level + 1} = c{level} & c{level}\n" for level in range(DEPTH))
        + f"    return tf.where(c{DEPTH}, x, tf.math.log(a{DEPTH}))\n",
        "strings.py": HEADER + "s = " + " ".join(["'tf.where'"] * DEPTH * 10) + "\n" + select,
    }


# Reasons a deep file may be refused; anything else must be analysed.
DEPTH_REASONS = ("too many nested parentheses", "too many levels of indentation", "too deeply nested",
                 f"exceeds {MAX_NESTING_DEPTH}", "LibCST")


def test_nesting_500_deep_is_analysed_or_refused_with_a_reason(tmp_path):
    sources = deep_sources()
    for name, source in sources.items():
        write(tmp_path, name, source)
    # --strict: every finding, whatever its confidence (an opaque call's result is unrelated to the condition)
    result, peak = run_measured("-j", "1", "--strict", *sorted(sources), cwd=tmp_path)
    assert peak < MEMORY_BOUND_MIB, f"{peak} MiB"
    assert result.returncode == 1
    refused = parse_error_lines(result.stdout)
    for name, reason in refused.items():
        assert any(expected in reason for expected in DEPTH_REASONS), (name, reason)
    # CPython itself refuses 500 nested brackets and indentation levels: a clear TFN999, not a crash.
    assert {"parentheses.py", "calls.py", "lists.py", "selects.py", "blocks.py", "functions.py"} <= set(refused)
    assert f"exceeds {MAX_NESTING_DEPTH}; not analysed" in refused["sum.py"]
    analysed = set(sources) - set(refused)
    assert {"unary.py", "negations.py", "lambdas.py", "subscripts.py", "attributes.py", "calls_chained.py",
            "variables.py"} <= analysed
    reported_files = {location(line) for line in result.stdout.splitlines()}
    assert reported_files == set(sources)  # every file holds a risky select, so each is a finding or a TFN999
    fixed = run("--fix", *sorted(sources), cwd=tmp_path)
    assert fixed.returncode in (0, 1)
    for name in analysed:
        ast.parse((tmp_path / name).read_text(encoding="utf-8"))


# -- many files --------------------------------------------------------------------------------------------------
def test_ten_thousand_tiny_files(tmp_path):
    buggy = set()
    for index in range(10_000):
        directory = tmp_path / f"package_{index // 100:02d}"
        if index % 100 == 7:
            write(directory, f"module_{index}.py", "import tensorflow as tf\nz = tf.where(x > 0, x, tf.exp(x))\n")
            buggy.add(index)
        elif index % 100 == 8:
            write(directory, f"module_{index}.py",
                  "import tensorflow as tf\nz = tf.where(x > 0, x, tf.exp(tf.minimum(x, 0.)))\n")
        else:
            write(directory, f"module_{index}.py", f"VALUE_{index} = {index}\n")
    result = run(".", cwd=tmp_path)
    assert result.returncode == 1
    assert codes(result.stdout) == ["TFN001"] * len(buggy)
    assert result.stderr.strip() == f"Found {len(buggy)} problems in {len(buggy)} files (10000 files checked)."


# -- hostile file systems ----------------------------------------------------------------------------------------
def test_symlink_loops_are_not_followed_forever(tmp_path):
    write(tmp_path, "project/a/real.py", BUGGY)
    write(tmp_path, "project/b/other.py", BUGGY)
    os.symlink("..", tmp_path / "project/a/up")  # a directory loop: a/up/a/up/...
    os.symlink(".", tmp_path / "project/b/self")
    os.symlink(tmp_path / "project", tmp_path / "project/b/root")
    os.symlink("loop_two.py", tmp_path / "project/loop_one.py")  # a file symlink loop
    os.symlink("loop_one.py", tmp_path / "project/loop_two.py")
    os.symlink("missing.py", tmp_path / "project/dangling.py")
    result = run("project", "project/a/up", cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert sorted(location(line) for line in lines if ": TFN00" in line) == sorted(
        ["project/a/real.py"] * 2 + ["project/b/other.py"] * 2 + ["project/a/up/a/real.py"] * 2
        + ["project/a/up/b/other.py"] * 2)
    errors = parse_error_lines(result.stdout)
    assert "symbolic links" in errors["project/loop_one.py"] and "symbolic links" in errors["project/loop_two.py"]
    assert "No such file" in errors["project/dangling.py"]


def without_privileges() -> list[str] | None:
    """A command prefix under which permission bits apply: none needed for a normal user; as root, a new user
    namespace (root there has no capabilities over the real root's files); None if neither is available."""
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    with tempfile.TemporaryDirectory() as directory:
        locked = Path(directory) / "locked"
        locked.write_text("")
        locked.chmod(0)
        try:
            probe = subprocess.run([unshare, "--user", sys.executable, "-c", f"open({str(locked)!r})"],
                                   capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return None
    return [unshare, "--user"] if b"PermissionError" in probe.stderr else None


def test_unreadable_files_and_directories_are_reported_and_the_others_checked(tmp_path):
    prefix = without_privileges()
    if prefix is None:
        pytest.skip("running as root without user namespaces (unshare --user): permission bits do not apply")
    write(tmp_path, "readable.py", BUGGY)
    secret = write(tmp_path, "secret.py", BUGGY)
    write(tmp_path, "locked/inside.py", BUGGY)
    secret.chmod(0)
    (tmp_path / "locked").chmod(0)
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        completed = subprocess.run([*prefix, sys.executable, "-m", "tflint_nan", "."], cwd=tmp_path, env=env,
                                   text=True, capture_output=True, timeout=120)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert "Traceback" not in completed.stderr
    assert completed.returncode == 1
    assert parse_error_lines(completed.stdout) == {"secret.py": "cannot read: Permission denied",
                                                   "locked": "cannot read: Permission denied"}
    assert codes(completed.stdout).count("TFN001") == 1 and codes(completed.stdout).count("TFN002") == 1


def test_a_fifo_found_by_a_walk_is_skipped_and_one_named_is_read(tmp_path):
    write(tmp_path, "tree/real.py", BUGGY)
    os.mkfifo(tmp_path / "tree/pipe.py")
    result = run("tree", cwd=tmp_path, timeout=120)  # opening the FIFO to read would wait for a writer forever
    assert result.returncode == 1
    assert "tree/pipe.py: skipped: not a regular file" in result.stderr
    assert [location(line) for line in result.stdout.splitlines()] == ["tree/real.py"] * 2

    def feed() -> None:
        with open(tmp_path / "tree/pipe.py", "w", encoding="utf-8") as pipe:
            pipe.write(BUGGY)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    result = run("tree/pipe.py", cwd=tmp_path, timeout=120)
    writer.join(timeout=10)
    assert codes(result.stdout) == ["TFN001", "TFN002"]


def test_odd_file_names_on_a_terminal_that_only_speaks_ascii(tmp_path):
    """Paths and quoted source reach the output; an encoding that cannot show them must not end the run."""
    source = BUGGY.replace("def elu(x):", "def elu(x):  # λ, 日本")
    for name in ("with space.py", "ünïcödé.py", "line\nbreak.py"):
        write(tmp_path, name, source)
    (tmp_path / os.fsdecode(b"undecodable\xff.py")).write_text(source, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "ascii"}
    for args in ([], ["--output-format", "json"], ["--output-format", "full"]):
        completed = subprocess.run([sys.executable, "-m", "tflint_nan", *args, "."], cwd=tmp_path, env=env,
                                   capture_output=True, timeout=120)
        stderr = completed.stderr.decode("ascii")
        assert completed.returncode == 1 and "internal error" not in stderr and "Traceback" not in stderr, stderr
        assert stderr.splitlines()[-1] == "Found 8 problems in 4 files (4 files checked)."


def test_a_file_deleted_between_discovery_and_reading(tmp_path):
    for name in ("a.py", "b.py", "c.py"):
        write(tmp_path, name, BUGGY)
    files = list(iter_files([str(tmp_path)]))
    os.unlink(tmp_path / "b.py")
    results = {Path(result.path).name: result for result in lint_files(files, Settings())}
    assert results["b.py"].error.message == "cannot read: No such file or directory"
    assert len(results["a.py"].findings) == len(results["c.py"].findings) == 2
    os.unlink(tmp_path / "c.py")
    out, err = io.StringIO(), io.StringIO()
    status = fix_command(files, Settings(), diff=False, quiet=True, out=out, err=err)
    assert status == 1
    assert out.getvalue().count("cannot read: No such file or directory") == 2
    assert (tmp_path / "a.py").read_text(encoding="utf-8") == FIXED
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.py"]


def test_a_read_only_file_under_fix_is_reported_and_left_alone(tmp_path):
    locked = write(tmp_path, "locked.py", BUGGY)
    locked.chmod(0o444)
    write(tmp_path, "open.py", BUGGY)
    result = run("--fix", ".", cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert parse_error_lines(result.stdout) == {"locked.py": "read-only (no write permission bit set); not written"}
    assert locked.read_text(encoding="utf-8") == BUGGY and stat.S_IMODE(locked.stat().st_mode) == 0o444
    assert (tmp_path / "open.py").read_text(encoding="utf-8") == FIXED


# -- concurrency and interruption --------------------------------------------------------------------------------
def buggy_tree(root: Path, files: int, lines: int = 1) -> dict[Path, tuple[str, str]]:
    """``files`` modules, each ``lines`` copies of BUGGY's functions: path -> (source, fixed source)."""
    tree = {}
    for index in range(files):
        body_before = "import tensorflow as tf\n" + "".join(
            BUGGY.split("\n", 1)[1].replace("def elu", f"def elu_{copy}").replace("def safe_log", f"def log_{copy}")
            for copy in range(lines))
        body_after = "import tensorflow as tf\n" + "".join(
            FIXED.split("\n", 1)[1].replace("def elu", f"def elu_{copy}").replace("def safe_log", f"def log_{copy}")
            for copy in range(lines))
        path = write(root, f"package_{index // 50}/module_{index}.py", body_before)
        tree[path] = (body_before, body_after)
    return tree


def leftovers(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.name.endswith(TEMPORARY_SUFFIX)]


def test_two_fix_runs_on_the_same_tree_at_once(tmp_path):
    tree = buggy_tree(tmp_path, 200, lines=5)
    first, second = start("--fix", ".", cwd=tmp_path), start("--fix", ".", cwd=tmp_path)
    for process in (first, second):
        stdout, stderr = process.communicate(timeout=HANG_SECONDS)
        assert "Traceback" not in stderr
        assert process.returncode in (0, 1), stderr
        for line in stdout.splitlines():  # the only complaint allowed: the other run got to a file first
            assert line.endswith("changed on disk while being fixed; not written"), line
    for path, (_, after) in tree.items():
        assert path.read_text(encoding="utf-8") == after
    assert leftovers(tmp_path) == []


def wait_until(condition, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


@pytest.mark.parametrize("changed_before_kill", [1, 30])
def test_sigkill_during_fix_leaves_every_file_old_or_new(tmp_path, changed_before_kill):
    tree = buggy_tree(tmp_path, 100, lines=10)

    def changed() -> int:
        return sum(1 for path, (before, _) in tree.items() if path.read_bytes() != before.encode())

    process = start("--fix", ".", cwd=tmp_path)
    reached = wait_until(lambda: changed() >= changed_before_kill or process.poll() is not None)
    os.killpg(process.pid, signal.SIGKILL)  # the command and any worker it started, wherever they are
    process.communicate(timeout=60)
    assert reached
    for path, (before, after) in tree.items():
        assert path.read_text(encoding="utf-8") in (before, after), f"{path} is neither the old nor the new version"
    assert all(path.name.startswith(".") for path in leftovers(tmp_path))  # never picked up as a module
    result = run("--fix", ".", cwd=tmp_path)  # a later run finishes the job
    assert result.returncode == 0, result.stdout
    assert all(path.read_text(encoding="utf-8") == after for path, (_, after) in tree.items())


def opened_a_file_under(group: int, directory: Path) -> bool:
    """Whether a process of process group ``group`` has a file under ``directory`` open: the run is under way."""
    for pid in processes_in_group(group):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith(str(directory))
                   for fd in os.listdir(f"/proc/{pid}/fd")):
                return True
        except OSError:  # the process or the descriptor went away meanwhile
            continue
    return False


def processes_in_group(group: int) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getpgid(int(pid)) == group:
                found.append(int(pid))
        except OSError:  # gone meanwhile
            continue
    return found


class HeldFifo:
    """A FIFO whose write end this test holds open without writing: a run that reads it waits there, under way,
    for as long as the test likes (no race with a run that would otherwise finish first)."""

    def __init__(self, path: Path):
        self.path = path
        os.mkfifo(path)
        self.reached = threading.Event()  # the run opened the FIFO to read it
        self._release = threading.Event()
        threading.Thread(target=self._hold, daemon=True).start()

    def _hold(self) -> None:
        with open(self.path, "wb"):  # returns once a reader has opened the FIFO
            self.reached.set()
            self._release.wait()

    def release(self) -> None:
        self._release.set()
        if not self.reached.is_set():  # nobody opened it: open the read end so the holder's open returns
            os.close(os.open(self.path, os.O_RDONLY | os.O_NONBLOCK))


@pytest.fixture
def children_hear_ctrl_c():
    """A command started in the background by a shell without job control (``cmd &`` in a script, ``nohup``)
    inherits SIGINT ignored, and so would the runs this test starts: give this process a handler instead (handlers,
    unlike "ignore", are not inherited across exec)."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux /proc to see when a run is under way")
@pytest.mark.parametrize("fix", [False, True], ids=["lint", "fix"])
def test_ctrl_c_prints_one_line_and_exits_130(tmp_path, fix, children_hear_ctrl_c):
    tree = buggy_tree(tmp_path / "tree", 300, lines=3)
    # Named on the command line, so the run reads it (a walk would skip it); it is read last (the smallest file),
    # so the run is interrupted there at the latest, or earlier if a file of the tree is seen open first.
    fifo = HeldFifo(tmp_path / "held.py")
    output = tmp_path / "stdout.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(output, "w", encoding="utf-8") as stdout:  # a file, not a pipe: 1,800 findings would fill a pipe
        process = subprocess.Popen([sys.executable, "-m", "tflint_nan", *(["--fix"] if fix else []), "tree",
                                    "held.py"], cwd=tmp_path, env=env, stdout=stdout, stderr=subprocess.PIPE,
                                   text=True, encoding="utf-8", start_new_session=True)
    try:
        assert wait_until(lambda: fifo.reached.is_set() or opened_a_file_under(process.pid, tmp_path / "tree")
                          or process.poll() is not None, timeout=HANG_SECONDS)
        assert process.poll() is None, "the run ended before it was interrupted"
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
        _, stderr = process.communicate(timeout=120)
    finally:
        fifo.release()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, stderr
    assert stderr == "tflint-nan: interrupted\n"
    if fix:
        for path, (before, after) in tree.items():
            assert path.read_text(encoding="utf-8") in (before, after)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux /proc to list the run's processes")
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_interrupting_fix_in_the_middle_of_the_tree(tmp_path, signal_name, children_hear_ctrl_c):
    """Ctrl-C, or SIGTERM to the command alone (``kill``, ``timeout``, a CI job cancelled), while files are being
    fixed and one is being analysed: one line, the exit status a shell expects, every file old or new, no
    temporary file left, no process left.  (Before, Python's shutdown could abort the process with SIGABRT when the
    analysis thread was inside LibCST's native parser.)"""
    tree = buggy_tree(tmp_path / "tree", 100, lines=10)
    process = start("--fix", "tree", cwd=tmp_path)

    def changed() -> int:
        return sum(1 for path, (before, _) in tree.items() if path.read_text(encoding="utf-8") != before)

    assert wait_until(lambda: changed() >= 10 or process.poll() is not None, timeout=HANG_SECONDS)
    assert process.poll() is None, "the run ended before it was interrupted"
    if signal_name == "SIGINT":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    expected = {"SIGINT": (130, "interrupted"), "SIGTERM": (128 + signal.SIGTERM, "terminated")}[signal_name]
    assert (process.returncode, stderr) == (expected[0], f"tflint-nan: {expected[1]}\n")
    for path, (before, after) in tree.items():
        assert path.read_text(encoding="utf-8") in (before, after)
    assert not [path for path in (tmp_path / "tree").rglob("*") if path.name.endswith(TEMPORARY_SUFFIX)]
    assert wait_until(lambda: not processes_in_group(process.pid), timeout=30)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux /proc to list the run's processes")
def test_sigterm_stops_the_workers_with_the_command(tmp_path):
    """SIGTERM to the command alone: its worker processes stop too, quietly (not a traceback each about a
    broken pipe to a parent that is gone)."""
    buggy_tree(tmp_path / "tree", 1500, lines=3)
    fifo = HeldFifo(tmp_path / "held.py")  # keeps the run going until the signal (read last: the smallest file)
    process = start("--jobs", "2", "tree", "held.py", cwd=tmp_path)
    try:
        assert wait_until(lambda: len(processes_in_group(process.pid)) >= 3 or process.poll() is not None,
                          timeout=HANG_SECONDS)  # the workers have started
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        fifo.release()
    assert (process.returncode, stderr) == (128 + signal.SIGTERM, "tflint-nan: terminated\n")
    assert wait_until(lambda: not processes_in_group(process.pid), timeout=30)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux /proc to list the run's processes")
def test_workers_of_a_command_killed_with_sigkill_exit_too(tmp_path):
    """``kill -9`` of the command cannot be handled; its workers notice it is gone and exit (not linger forever)."""
    buggy_tree(tmp_path / "tree", 1500, lines=3)  # seconds of work: killed once its workers have started
    process = start("--jobs", "2", "tree", cwd=tmp_path)
    try:
        assert wait_until(lambda: len(processes_in_group(process.pid)) >= 3 or process.poll() is not None,
                          timeout=HANG_SECONDS)
        assert process.poll() is None, "the run ended before it was killed"
        process.kill()
        process.wait()
        assert wait_until(lambda: not processes_in_group(process.pid), timeout=60)
    finally:
        for pid in processes_in_group(process.pid):
            os.kill(pid, signal.SIGKILL)
        process.communicate()


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc to find the worker processes")
def test_a_worker_killed_mid_run_costs_at_most_its_file(tmp_path):
    """The kernel's out-of-memory killer (or a crash in native code) takes a worker: a new worker goes on, and the
    run ends (``multiprocessing.Pool`` would wait forever).  The files of its batch are linted again one at a time;
    a file it was given alone is reported with the cause."""
    tree = buggy_tree(tmp_path / "tree", 300, lines=3)
    fifo = HeldFifo(tmp_path / "held.py")  # keeps the run going until the worker is killed
    process = start("--jobs", "2", "tree", "held.py", cwd=tmp_path)
    try:
        assert wait_until(lambda: len(processes_in_group(process.pid)) >= 3 or process.poll() is not None,
                          timeout=HANG_SECONDS)
        workers = [int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
        os.kill(workers[0], signal.SIGKILL)
        assert wait_until(lambda: fifo.reached.is_set() or process.poll() is not None, timeout=HANG_SECONDS)
        fifo.release()  # the run reads the FIFO (last, in the new worker or the other), and it is empty
        stdout, stderr = process.communicate(timeout=HANG_SECONDS)
    finally:
        fifo.release()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 1, stderr
    lost = [line for line in stdout.splitlines() if " TFN999 " in line]
    assert len(lost) <= 1 and all(line.endswith(
        "TFN999 the worker process analysing this file was killed by SIGKILL (out of memory? fewer --jobs or a lower --max-file-size may help); not analysed") for line in lost), lost
    reported = {location(line) for line in stdout.splitlines()}
    assert {str(path.relative_to(tmp_path)) for path in tree} <= reported  # every file: its findings or the loss
    assert stderr.endswith("(301 files checked).\n")


def test_ctrl_c_while_the_command_imports_its_modules(monkeypatch, capsys):
    """Start-up takes a few tenths of a second on a busy machine: an interrupt then is not a traceback either."""
    import builtins

    from tflint_nan.__main__ import run as command

    real_import = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == "cli" or name.endswith(".cli"):
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "tflint_nan.cli", raising=False)
    monkeypatch.setattr(builtins, "__import__", interrupted)
    def exit_now(code: int):  # the command ends an interrupted run without Python's shutdown
        raise SystemExit(code)

    monkeypatch.setattr(os, "_exit", exit_now)
    with pytest.raises(SystemExit) as ended:
        command()
    assert ended.value.code == 130
    assert capsys.readouterr().err == "tflint-nan: interrupted\n"


# -- limits ------------------------------------------------------------------------------------------------------
def test_a_file_over_the_size_limit_is_skipped_with_a_notice(tmp_path):
    huge = write(tmp_path, "huge.py", BUGGY + "VALUE = 1  # padding\n" * (11 * 1024 * 1024 // 21))
    padded = write(tmp_path, "padded.py", BUGGY + "VALUE = 1  # padding\n" * 5000)  # about 100 KB
    write(tmp_path, "small.py", BUGGY)
    result = run(".", cwd=tmp_path, timeout=300)
    assert result.returncode == 1
    assert [location(line) for line in result.stdout.splitlines()] == ["padded.py"] * 2 + ["small.py"] * 2
    assert result.stderr.splitlines() == [
        "./huge.py: skipped: 11 MB is over the size limit of 10 MB (--max-file-size); not checked",
        "Found 4 problems in 2 files (2 files checked).",
    ]
    before = huge.read_bytes(), padded.read_bytes()
    result = run("--max-file-size", "50KB", "--fix", ".", cwd=tmp_path, timeout=300)
    assert "huge.py: skipped: 11 MB is over the size limit of 50 KB" in result.stderr
    assert "padded.py: skipped: 102.7 KB is over the size limit of 50 KB" in result.stderr
    assert (huge.read_bytes(), padded.read_bytes()) == before
    assert (tmp_path / "small.py").read_text(encoding="utf-8") == FIXED
    result = run("--max-file-size", "0", "padded.py", cwd=tmp_path)
    assert codes(result.stdout) == ["TFN001", "TFN002"] and "skipped" not in result.stderr
    result = run("--max-file-size", "ten", "small.py", cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and "not a size: 'ten'" in result.stderr


def test_the_size_limit_is_configurable(tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.tflint-nan]\nmax-file-size = "50KB"\n')
    write(tmp_path, "padded.py", BUGGY + "VALUE = 1  # padding\n" * 5000)
    result = run(".", cwd=tmp_path, timeout=120)
    assert result.returncode == 0 and result.stdout == ""
    assert "padded.py: skipped: 102.7 KB is over the size limit of 50 KB" in result.stderr
    assert 'max-file-size = "50KB"' in run("--show-settings", cwd=tmp_path, timeout=120).stdout
    assert codes(run("--max-file-size", "1MB", ".", cwd=tmp_path, timeout=120).stdout) == ["TFN001", "TFN002"]
