"""Worker processes that run the language server's analyses (``jobs.py``), off its event loop.

Each worker is a process started fresh (the "spawn" method: forking a process that runs an event loop and
threads is unsafe) that runs one job at a time.  A worker that dies while analysing (a crash in a native parser)
fails only that job, and a job that runs past the time limit has its worker killed; either way a new worker takes
its place and the server keeps serving.  A worker that analysed a very large document is replaced too, so the
memory the analysis took goes back to the system.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0  # seconds one analysis may take (a 10 MB generated file takes about a minute)
RECYCLE_AFTER_CHARACTERS = 2_000_000  # a worker that analysed a document this large is replaced afterwards


class JobFailed(Exception):
    """The job raised, its worker died, or it ran past the time limit; the message says which."""


def worker_main(connection) -> None:
    """A worker's loop: receive (job name, arguments), send back (True, result) or (False, error text)."""
    # stdout is the protocol channel of the server; anything a library prints here must not reach it.
    try:
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    sys.stdout = sys.stderr
    from . import jobs

    while True:
        try:
            name, arguments = connection.recv()
        except (EOFError, OSError):
            return  # the server has gone
        try:
            reply = (True, jobs.JOBS[name](*arguments))
        except BaseException as error:  # reported to the server, which shows it as this document's TFN999
            reply = (False, f"{type(error).__name__}: {error}")
        try:
            connection.send(reply)
        except Exception as error:  # a result that cannot be pickled: say so rather than leave the server waiting
            connection.send((False, f"cannot send the result back ({type(error).__name__}: {error})"))


class _Worker:
    def __init__(self, context):
        self.connection, child = context.Pipe()
        self.process = context.Process(target=worker_main, args=(child,), name="tflint-nan-worker", daemon=True)
        self.process.start()
        child.close()
        self.lock = threading.Lock()

    def call(self, name: str, arguments: tuple) -> tuple[bool, Any]:
        """Run one job (in a thread of the server: this blocks until the worker answers or dies)."""
        with self.lock:
            try:
                self.connection.send((name, arguments))
                return self.connection.recv()
            except (EOFError, OSError, BrokenPipeError):
                code = self.process.exitcode
                return False, f"the analysis process ended unexpectedly (exit code {code})"

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        try:
            self.connection.close()
        except OSError:
            pass
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class WorkerPool:
    """``await pool.run(job, *arguments)``: the job's result, computed in one of ``size`` worker processes."""

    def __init__(self, size: int, timeout: float = DEFAULT_TIMEOUT):
        self.size = size
        self.timeout = timeout
        self._context = multiprocessing.get_context("spawn")
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="tflint-nan-worker-io")
        self._idle: asyncio.Queue[_Worker] | None = None
        self._workers: set[_Worker] = set()
        self._closed = False

    def start(self) -> None:
        """Start the workers and have each import what an analysis needs (call from the event loop)."""
        if self._idle is not None:
            return
        self._idle = asyncio.Queue()
        for _ in range(self.size):
            worker = self._spawn()
            self._idle.put_nowait(worker)
            asyncio.get_running_loop().run_in_executor(self._threads, worker.call, "warm_up", ())

    def _spawn(self) -> _Worker:
        worker = _Worker(self._context)
        self._workers.add(worker)
        return worker

    async def run(self, job: str, *arguments: Any, size: int = 0) -> Any:
        """The result of ``jobs.JOBS[job](*arguments)``; raises JobFailed.  ``size`` (characters of the document)
        decides whether the worker is replaced afterwards."""
        if self._closed:
            raise JobFailed("the server is shutting down")
        self.start()
        worker = await self._idle.get()
        replace = False
        try:
            call = asyncio.get_running_loop().run_in_executor(self._threads, worker.call, job, arguments)
            try:
                ok, value = await asyncio.wait_for(asyncio.shield(call), self.timeout)
            except asyncio.TimeoutError:
                replace = True
                worker.stop()  # the blocked call returns once the process is gone
                await asyncio.wait([call], timeout=10)
                raise JobFailed(f"the analysis took longer than {self.timeout:g} seconds and was stopped") from None
            except asyncio.CancelledError:
                # The caller no longer wants the result (the document changed or closed); the worker is free again
                # once it has answered.
                call.add_done_callback(lambda _: self._release(worker, size > RECYCLE_AFTER_CHARACTERS))
                worker = None
                raise
            replace = size > RECYCLE_AFTER_CHARACTERS or not worker.alive()
            if not ok:
                raise JobFailed(value)
            return value
        finally:
            if worker is not None:
                self._release(worker, replace)

    def _release(self, worker: _Worker, replace: bool) -> None:
        if self._closed:
            worker.stop()
            return
        if replace or not worker.alive():
            self._workers.discard(worker)
            threading.Thread(target=worker.stop, daemon=True).start()
            worker = self._spawn()
            logger.info("started a new analysis process")
        self._idle.put_nowait(worker)

    def close(self) -> None:
        """Stop every worker (on shutdown)."""
        self._closed = True
        for worker in list(self._workers):
            worker.stop()
        self._workers.clear()
        self._threads.shutdown(wait=False, cancel_futures=True)
