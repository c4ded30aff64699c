"""Lint many files: the one place that decides how files are scheduled.

Files are linted in worker processes (``jobs``, default: the CPUs this process may use), each of which imports the
analysis once and takes the next files as soon as it is done with its last ones, largest files first so that no
worker is left with a long file at the end.  A file's result comes from the cache when its bytes are unchanged: once
the cache holds results, this process reads and hashes every file first (a warm run of thousands of files starts
no worker), and only the others are linted.  New results are stored by this process as they arrive.

Each worker is given a few files at a time (one large file, or small ones up to ``BATCH_BYTES`` together: most
files are decided in a fraction of a millisecond, less than a round trip to the worker costs) and sends their
results back together.  When a worker dies (the kernel's out-of-memory killer, a crash in native code) a new one
takes its place and every other file is still checked (``multiprocessing.Pool`` would wait forever for the lost
results): the files of its batch are given out again one at a time, so that a file that kills a worker does so
alone and is reported as TFN999 with the cause, and files that did not are linted as usual.
"""

from __future__ import annotations

import collections
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
from typing import Iterable, Iterator

from . import stages
from .cache import Cache
from .files import lint_bytes
from .finding import FileResult
from .lint import Settings, Skipped, SourceError, _error, read_file

# Below this many files, starting workers costs more than it saves (a pre-commit run names a handful).
MIN_FILES_PER_WORKER = 4
# What a worker is given at once: files up to this many bytes together, or one larger file; at most BATCH_FILES.
BATCH_BYTES = 64 * 1024
BATCH_FILES = 32


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
    if cache is not None and cache.holds_results():
        # Reading and hashing a file costs less than sending it to a worker and its result back: what the cache
        # answers is answered here, and only the rest is linted.
        unanswered = []
        for index, path, explicit in pending:
            stored = _from_cache(path, explicit, settings, cache)
            if stored is None:
                unanswered.append((index, path, explicit))
            else:
                results[index] = stored
        pending = unanswered
    workers = min(default_jobs() if jobs is None else max(jobs, 1), len(pending) // MIN_FILES_PER_WORKER)
    if workers <= 1:
        _collect(((index, lint_file(path, explicit, settings, cache)) for index, path, explicit in pending),
                 work, results, cache)
    else:
        sizes = {path: _size(path) for _, path, _ in pending}
        pending.sort(key=lambda task: sizes[task[1]], reverse=True)
        _collect(_in_workers(pending, workers, settings, cache, sizes), work, results, cache)
    return results  # type: ignore[return-value]


def lint_file(path: str, explicit: bool, settings: Settings,
              cache: Cache | None = None) -> tuple[FileResult, str | None]:
    """One file's result, and the digest of its bytes when the result is new and the cache should keep it
    (None when there is no cache, the file could not be read, or the result came from the cache)."""
    try:
        with stages.stage("read"):
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


def _from_cache(path: str, explicit: bool, settings: Settings, cache: Cache) -> FileResult | None:
    """The cache's result for a regular file whose bytes it has seen, or None (the file is then linted, and any
    error reading it reported, the usual way)."""
    if not os.path.isfile(path):
        return None  # (a FIFO named on the command line is read once, where it is linted)
    try:
        with stages.stage("read"):
            data = read_file(path, settings.max_file_size, explicit=explicit)
    except (SourceError, Skipped):
        return None
    return cache.get(path, explicit, cache.digest(data))


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


# -- the workers -----------------------------------------------------------------------------------------------------
class _Worker:
    """A process that lints the files it is sent, a batch at a time, over a pipe; ``tasks`` is the batch it is
    linting (empty when it is idle)."""

    def __init__(self, context, settings: Settings, cache: Cache | None):
        self.connection, self._theirs = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(self._theirs, self.connection, settings, cache, os.getpid()),
                                       daemon=True)
        self.tasks: list[tuple[int, str, bool]] = []

    def start(self) -> None:
        # Until the worker has set its own handlers, this process's would run in it (an interrupt then is a
        # traceback from the worker): it starts with both signals blocked, and unblocks them once it is ready.
        masked = hasattr(signal, "pthread_sigmask")
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS) if masked else None
        try:
            self.process.start()
        finally:
            if masked:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        self._theirs.close()

    def give(self, tasks: list[tuple[int, str, bool]]) -> None:
        self.tasks = list(tasks)
        self.connection.send(tasks)

    def stop(self) -> None:
        if self.process.pid is not None:  # (an interrupt may come between creating a worker and starting it)
            if self.process.is_alive():
                self.process.terminate()  # a worker may be blocked reading a file (a FIFO): do not wait for it
            self.process.join(timeout=5)
        self.connection.close()
        self._theirs.close()


def _in_workers(tasks: list[tuple[int, str, bool]], count: int, settings: Settings,
                cache: Cache | None, sizes: dict[str, int] | None = None
                ) -> Iterator[tuple[int, tuple[FileResult, str | None]]]:
    """Each task's (index, outcome), as workers finish them; a worker that dies costs at most the file that killed
    it."""
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    queue = collections.deque(tasks)
    alone: set[int] = set()  # the files of a batch whose worker died: each is given out on its own
    workers: list[_Worker] = []

    def hire(position: int) -> None:
        """A new worker at ``position``, listed before it starts so that an interrupt in between still stops it."""
        worker = _Worker(context, settings, cache)
        if position == len(workers):
            workers.append(worker)
        else:
            workers[position] = worker
        worker.start()

    sizes = sizes or {}

    def batch() -> list[tuple[int, str, bool]]:
        """The next files in the queue: one large file, or small ones up to ``BATCH_BYTES`` together."""
        taken = [queue.popleft()]
        if taken[0][0] in alone:
            return taken
        total = sizes.get(taken[0][1], 0)
        while queue and len(taken) < BATCH_FILES and queue[0][0] not in alone:
            size = sizes.get(queue[0][1], 0)
            if total + size > BATCH_BYTES:
                break
            taken.append(queue.popleft())
            total += size
        return taken

    def assign(position: int) -> None:
        """The next files to ``workers[position]``; one that died idle is replaced (a fresh one must take them)."""
        if not queue:
            return
        tasks = batch()
        try:
            workers[position].give(tasks)
        except OSError:  # gone since its last file: its pipe is broken
            workers[position].tasks = []
            workers[position].stop()
            hire(position)
            workers[position].give(tasks)

    try:
        for position in range(count):
            hire(position)
            assign(position)
        while any(worker.tasks for worker in workers):
            busy = [worker for worker in workers if worker.tasks]
            multiprocessing.connection.wait([worker.connection for worker in busy] +
                                            [worker.process.sentinel for worker in busy])
            for position, worker in enumerate(workers):
                if worker.tasks:
                    outcomes = _receive(worker)
                    if outcomes is _DIED:
                        lost = worker.tasks
                        worker.tasks = []
                        worker.stop()
                        if len(lost) == 1:  # it died on this file alone
                            index, path, _ = lost[0]
                            yield index, (FileResult(path, error=_error(path, SourceError(_death(worker.process)))),
                                          None)
                        else:  # which of them killed it is not known: each again, on its own
                            alone.update(index for index, _, _ in lost)
                            queue.extendleft(reversed(lost))
                        hire(position)
                        worker = workers[position]  # its replacement
                    elif outcomes is not None:
                        worker.tasks = []
                        yield from outcomes
                if not worker.tasks:
                    assign(position)
    finally:
        for worker in workers:
            worker.stop()


_DIED = object()
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _receive(worker: _Worker):
    """The worker's results for its batch if it has sent them, ``_DIED`` if it is gone without, else None."""
    try:
        if worker.connection.poll():
            return worker.connection.recv()
    except (EOFError, OSError):
        return _DIED
    return _DIED if not worker.process.is_alive() else None


def _death(process) -> str:
    process.join(timeout=5)
    code = process.exitcode
    if code is not None and code < 0:
        try:
            cause = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            cause = f"was killed by signal {-code}"
        if code == -signal.SIGKILL:
            cause += " (out of memory? fewer --jobs or a lower --max-file-size may help)"
    else:
        cause = f"exited with status {code}"
    return f"the worker process analysing this file {cause}; not analysed"


def _worker_main(connection, parents_end, settings: Settings, cache: Cache | None, parent: int) -> None:
    parents_end.close()  # (inherited by the fork) so that the parent's death closes this pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's handler raises; a worker is simply stopped
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    while True:
        try:
            if not connection.poll(1.0):
                # The parent is gone, but a sibling forked after this worker may hold its end of the pipe open.
                # Its pid comes from it, not from getppid here: it may have died while this process started.
                if os.getppid() != parent:
                    return
                continue
            tasks = connection.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        connection.send([(index, lint_file(path, explicit, settings, cache)) for index, path, explicit in tasks])
