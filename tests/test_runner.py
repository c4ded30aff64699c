"""Scheduling: worker processes give the results one process gives, in the order the files were given."""

from __future__ import annotations

import io
import random
import sys
from pathlib import Path

import pytest

from command import BUGGY, FIXED, tflint_nan, write
from fuzz_generators import tf_program
from tflint_nan import runner
from tflint_nan.cache import Cache
from tflint_nan.discovery import iter_files
from tflint_nan.lint import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def project(tmp_path: Path) -> Path:
    """Fixtures, generated programs, a file that does not parse and one that is not UTF-8, in one tree."""
    for path in FIXTURES.rglob("*.py"):
        write(tmp_path, f"fixtures/{path.relative_to(FIXTURES)}", path.read_bytes())
    for seed in range(8):
        write(tmp_path, f"generated/program_{seed}.py", tf_program(random.Random(seed)))
    write(tmp_path, "broken/syntax.py", BUGGY + "def (:\n")
    write(tmp_path, "broken/latin.py", b"x = '\xe9'\nimport tensorflow as tf\ny = tf.where(c, a, tf.exp(b))\n")
    return tmp_path


def summary(results):
    return [(result.path, result.findings, result.error) for result in results]


def test_workers_give_the_results_of_one_process_in_the_given_order(tmp_path):
    files = list(iter_files([str(project(tmp_path))]))
    files.append((str(tmp_path / "broken" / "syntax.py"), True))  # named explicitly too: syntax-checked
    sequential = runner.lint_files(files, Settings(), jobs=1)
    parallel = runner.lint_files(files, Settings(), jobs=3)
    assert [result.path for result in parallel] == [path for path, _ in files]
    assert summary(parallel) == summary(sequential)
    assert any(result.findings for result in parallel) and any(result.error for result in parallel)


def test_a_file_found_by_walking_is_syntax_checked_only_when_it_may_have_findings(tmp_path):
    write(tmp_path, "broken_plain.py", "def (:\n")
    walked = runner.lint_files(iter_files([str(tmp_path)]), Settings(), jobs=1)
    named = runner.lint_files([(str(tmp_path / "broken_plain.py"), True)], Settings(), jobs=1)
    assert walked[0].error is None and named[0].error is not None


def test_unreadable_and_missing_files_are_reported_and_the_rest_checked(tmp_path):
    buggy = write(tmp_path, "buggy.py", BUGGY)
    files = [(str(tmp_path / "missing.py"), True), (str(tmp_path), False)] * 3 + [(str(buggy), True)]
    results = runner.lint_files(files, Settings(), jobs=2)
    assert results[0].error.code == "TFN999" and "cannot read" in results[0].error.message
    assert results[-1].findings


def test_standard_input_is_read_in_this_process(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BUGGY.encode())))
    clean = write(tmp_path, "clean.py", FIXED)
    results = runner.lint_files([("-", True), (str(clean), True)], Settings(), jobs=1)
    assert results[0].path == "-" and results[0].findings and not results[1].findings


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_cached_result_is_not_computed_again(tmp_path, monkeypatch, jobs):
    files = [(str(write(tmp_path, f"module_{n}.py", BUGGY)), True) for n in range(9)]
    cache = Cache(str(tmp_path), Settings())
    first = runner.lint_files(files, Settings(), jobs=jobs, cache=cache)

    def not_again(*args, **kwargs):
        raise AssertionError("linted although cached")

    monkeypatch.setattr(runner, "lint_bytes", not_again)
    second = runner.lint_files(files, Settings(), jobs=1, cache=cache)
    assert summary(second) == summary(first)


def test_what_the_cache_answers_starts_no_worker(tmp_path, monkeypatch):
    """A run over files the cache has seen reads and hashes them in this process; workers lint only the rest."""
    files = [(str(write(tmp_path, f"module_{n}.py", BUGGY if n % 2 else FIXED)), False) for n in range(12)]
    cache = Cache(str(tmp_path), Settings())
    first = runner.lint_files(files, Settings(), jobs=2, cache=cache)
    sent = []
    in_workers = runner._in_workers

    def watched(tasks, *args, **kwargs):
        sent.extend(path for _, path, _ in tasks)
        return in_workers(tasks, *args, **kwargs)

    monkeypatch.setattr(runner, "_in_workers", watched)
    assert summary(runner.lint_files(files, Settings(), jobs=2, cache=cache)) == summary(first)
    assert sent == []
    for n in range(8):  # edited: these, and only these, are linted again (in workers: there are enough of them)
        write(tmp_path, f"module_{n}.py", (FIXED if n % 2 else BUGGY) + "\n")
    again = runner.lint_files(files, Settings(), jobs=2, cache=cache)
    assert sorted(sent) == sorted(path for path, _ in files[:8])
    assert [bool(result.findings) for result in again] == [n < 8 and n % 2 == 0 or n >= 8 and n % 2 == 1
                                                           for n in range(12)]


def test_jobs_on_the_command_line(tmp_path):
    for n in range(10):
        write(tmp_path, f"module_{n}.py", BUGGY if n % 3 == 0 else FIXED)
    one = tflint_nan("--no-cache", "-j", "1", ".", cwd=tmp_path)
    many = tflint_nan("--no-cache", "--jobs", "4", ".", cwd=tmp_path)
    assert (many.returncode, many.stdout, many.stderr) == (one.returncode, one.stdout, one.stderr)
    assert one.stdout.count("TFN001") == 4
    bad = tflint_nan("-j", "0", ".", cwd=tmp_path)
    assert bad.returncode == 2 and "at least 1" in bad.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_workers_that_die_busy_or_between_files_cost_at_most_their_file(tmp_path):
    import multiprocessing
    import os
    import signal

    paths = [str(write(tmp_path, f"module_{n}.py", BUGGY)) for n in range(8)]
    outcomes = runner._in_workers([(index, path, True) for index, path in enumerate(paths)], 2, Settings(), None)
    first = next(outcomes)  # one worker is now between files (it gets the next when the generator resumes)
    for child in multiprocessing.active_children():
        os.kill(child.pid, signal.SIGKILL)
        child.join()
    results = dict([first, *outcomes])
    assert sorted(results) == list(range(8))  # every file has a result: its findings, or the worker's death
    lost = [result for result, _ in results.values() if result.error is not None]
    assert len(lost) <= 1  # only the busy worker's file; the idle one's next file goes to its replacement
    for result in lost:
        assert "the worker process analysing this file was killed by SIGKILL" in result.error.message
    assert all(len(result.findings) == 2 for result, _ in results.values() if result.error is None)
    assert not multiprocessing.active_children()  # the replacements are stopped at the end


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the workers inherit the patched function by fork")
def test_a_file_that_kills_its_worker_is_found_among_its_batch(tmp_path, monkeypatch):
    """Results come back a batch at a time: when a worker dies, its batch is linted again one file at a time, so the
    file that kills a worker is the one reported, and the files beside it keep their findings."""
    import os
    import signal

    paths = [str(write(tmp_path, f"module_{n}.py", BUGGY)) for n in range(12)]
    killer = paths[5]
    lint_file = runner.lint_file

    def lint_or_die(path, *args, **kwargs):
        if path == killer:
            os.kill(os.getpid(), signal.SIGKILL)
        return lint_file(path, *args, **kwargs)

    monkeypatch.setattr(runner, "lint_file", lint_or_die)
    results = dict(runner._in_workers([(index, path, True) for index, path in enumerate(paths)], 2, Settings(), None))
    assert sorted(results) == list(range(12))
    lost = {index for index, (result, _) in results.items() if result.error is not None}
    assert lost == {5}
    assert "the worker process analysing this file was killed by SIGKILL" in results[5][0].error.message
    assert all(len(result.findings) == 2 for index, (result, _) in results.items() if index != 5)
