"""Lint many files: the one place that decides how files are scheduled.

Files are linted in worker processes (``jobs``, default: the CPUs this process may use), each of which imports the
analysis once and takes the next file as soon as it is done with one, largest files first so that no worker is
left with a long file at the end.  A file's result comes from the cache when its bytes are unchanged; new results
are stored by this process as they arrive.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from typing import Iterable

from .cache import Cache
from .finding import FileResult
from .lint import Settings, Skipped, SourceError, _error, lint_bytes, read_file

# Below this many files, starting workers costs more than it saves (a pre-commit run names a handful).
MIN_FILES_PER_WORKER = 4


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def lint_files(files: Iterable[tuple[str, bool]], settings: Settings, jobs: int | None = None,
               cache: Cache | None = None) -> list[FileResult]:
    """Results for (path, named explicitly) pairs, in the given order; ``-`` reads standard input."""
    work = list(files)
    results: list[FileResult | None] = [None] * len(work)
    pending = []
    for index, (path, explicit) in enumerate(work):
        if path == "-":
            results[index] = lint_bytes(sys.stdin.buffer.read(), "-", settings)
        else:
            pending.append((index, path, explicit))
    workers = min(default_jobs() if jobs is None else max(jobs, 1), len(pending) // MIN_FILES_PER_WORKER)
    if workers <= 1:
        _collect(((index, lint_file(path, explicit, settings, cache)) for index, path, explicit in pending),
                 work, results, cache)
    else:
        pending.sort(key=lambda task: _size(task[1]), reverse=True)
        context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with context.Pool(workers, initializer=_start_worker, initargs=(settings, cache)) as pool:
            _collect(pool.imap_unordered(_lint_task, pending), work, results, cache)
    return results  # type: ignore[return-value]


def lint_file(path: str, explicit: bool, settings: Settings,
              cache: Cache | None = None) -> tuple[FileResult, str | None]:
    """One file's result, and the digest of its bytes when the result is new and the cache should keep it
    (None when there is no cache, the file could not be read, or the result came from the cache)."""
    try:
        data = read_file(path, settings.max_file_size, explicit=explicit)
    except SourceError as error:
        return FileResult(path, error=_error(path, error)), None
    except Skipped as notice:
        return FileResult(path, skipped=str(notice)), None
    if cache is None:
        return lint_bytes(data, path, settings, always_check_syntax=explicit), None
    digest = cache.digest(data)
    stored = cache.get(path, explicit, digest)
    if stored is not None:
        return stored, None
    return lint_bytes(data, path, settings, always_check_syntax=explicit), digest


def _collect(outcomes: Iterable[tuple[int, tuple[FileResult, str | None]]], work: list[tuple[str, bool]],
             results: list[FileResult | None], cache: Cache | None) -> None:
    """Place each result; the cache is written here, in one process, and its index once at the end."""
    for index, (result, digest) in outcomes:
        results[index] = result
        if digest is not None:
            cache.put(work[index][0], work[index][1], digest, result)
    if cache is not None:
        cache.save()


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


# -- in each worker --------------------------------------------------------------------------------------------------
_worker_settings: Settings | None = None
_worker_cache: Cache | None = None


def _start_worker(settings: Settings, cache: Cache | None) -> None:
    global _worker_settings, _worker_cache
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the pool
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's handler raises; a worker is simply stopped
    _worker_settings, _worker_cache = settings, cache


def _lint_task(task: tuple[int, str, bool]) -> tuple[int, tuple[FileResult, str | None]]:
    index, path, explicit = task
    return index, lint_file(path, explicit, _worker_settings, _worker_cache)
