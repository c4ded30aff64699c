"""Run probe jobs in child processes and survive whatever the user's code does there.

One child process per file: it imports TensorFlow once and runs that file's tasks in order.  The supervisor
gives TensorFlow's start-up ``timeout`` seconds and each probe ``timeout`` seconds: the clock restarts when a task
starts and when the task's causal check starts the probe of a copy of the module (each copy is a probe of its own),
and it waits while an import runs (an import gets the start-up time).  It keeps only the tail of the child's output
and stops a child that prints more than ``OUTPUT_LIMIT`` bytes.
When a child hangs, crashes, exits or floods its output, the task it was running is reported as not probed, the
module statement it was executing is remembered so that no later child runs it again, and a fresh child takes the
remaining tasks.  When it was the probe of a copy that hung, the copy is remembered instead and the task runs again
without it (its check says why the copy could not be probed).  Nothing a child does can raise here.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TIMEOUT = 60.0
# TensorFlow's import takes seconds and more on a busy machine; a short --timeout is meant for the user's code.
STARTUP_TIMEOUT = 120.0
OUTPUT_LIMIT = 16 * 1024 * 1024  # bytes of stdout and stderr a child may write per task
_TAIL = 2000  # characters of output kept for messages
# Informational lines TensorFlow's C++ runtime prints at start-up whatever TF_CPP_MIN_LOG_LEVEL says.
_STARTUP_LOG = re.compile(r"^([IW]\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl|To enable the following "
                          r"instructions)")
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)
# The statement index under which a copy of the module whose probe timed out is remembered in ``Job.poisoned``:
# (copy's module key, COPY_PROBE, None).  The copy is not run again; the task that needed it runs again without it.
COPY_PROBE = -1


@dataclass
class Job:
    """The tasks for one file.  ``modules`` maps a key ("original", or a rewrite's key) to source text."""

    path: str
    modules: dict[str, str]
    tasks: list[dict]
    # Module statements that hung or killed a child: (module key, statement index, import name) -> the failure.
    poisoned: dict[tuple[str, int, str | None], str] = field(default_factory=dict)

    def to_json(self, tasks: list[dict]) -> str:
        return json.dumps({"path": self.path, "modules": self.modules, "tasks": tasks,
                           "poisoned": [[list(step), reason] for step, reason in self.poisoned.items()]})


def child_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    env["KERAS_BACKEND"] = "tensorflow"  # gradients are taken with tf.GradientTape
    env["CUDA_VISIBLE_DEVICES"] = "-1"  # probe on the CPU: small tensors, no GPU memory taken from training
    env["PYTHONUNBUFFERED"] = "1"
    return env


# The child finds this package where the parent found it; appended, so it never shadows anything on sys.path.
_CHILD_COMMAND = ("import sys; sys.path.append({root!r}); from tflint_nan.dynamic.child import main; main()"
                  .format(root=_PACKAGE_ROOT))


class Session:
    """The child processes of one run, so that an interrupted run can stop them all at once."""

    def __init__(self):
        self.cancelled = threading.Event()
        self._processes: set[subprocess.Popen] = set()
        self._lock = threading.Lock()

    def started(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._processes.add(process)
        if self.cancelled.is_set():
            _stop(process)

    def finished(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._processes.discard(process)

    def cancel(self) -> None:
        """Stop every child; ``run_job`` calls in other threads return promptly."""
        self.cancelled.set()
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            _kill(process)


def run_job(job: Job, timeout: float = DEFAULT_TIMEOUT, on_event=None, session: Session | None = None
            ) -> dict[int, dict]:
    """Each task's result (``status`` "probed" or "not_probed"), keyed by task id."""
    session = session or Session()
    results: dict[int, dict] = {}
    pending = list(job.tasks)
    while pending and not session.cancelled.is_set():
        attempt = _Attempt(job, pending, timeout, on_event, session)
        attempt.run()
        results.update(attempt.results)
        if attempt.fatal is not None:
            for task in pending:
                results.setdefault(task["id"], {"status": "not_probed", "reason": attempt.fatal})
            break
        if attempt.failed_task is not None:
            # A failure in a copy of the module (its probe or one of its statements) leaves the task's own probe
            # standing: the task runs again, and the remembered step makes the copy's check report the failure.  A
            # remembered step never runs again, so each retry remembers a new one and the retries end.
            if not attempt.failed_in_copy or attempt.failed_step is None or attempt.failed_step in job.poisoned:
                results[attempt.failed_task] = {"status": "not_probed", "reason": attempt.failure}
            if attempt.failed_step is not None:
                job.poisoned[attempt.failed_step] = attempt.failure
        # Otherwise it finished, or died between tasks after finishing some: a fresh child takes the rest.
        pending = [task for task in pending if task["id"] not in results]
    return results


class _Attempt:
    """One child process running the pending tasks until it finishes, fails or is stopped."""

    def __init__(self, job: Job, tasks: list[dict], timeout: float, on_event, session: Session):
        self.job, self.tasks, self.timeout, self.on_event, self.session = job, tasks, timeout, on_event, session
        self.results: dict[int, dict] = {}
        self.fatal: str | None = None
        self.failure = ""
        self.failed_task: int | None = None
        self.failed_step: tuple[str, int, str | None] | None = None
        self.copy_module: str | None = None  # the copy of the module whose probe the task's causal check is running
        self.failed_in_copy = False  # the failure came while probing such a copy (its statements or its calls)
        self.done = False
        self.events: queue.Queue = queue.Queue()
        self.output = _OutputTail()

    def run(self) -> None:
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", _CHILD_COMMAND], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=child_environment(), start_new_session=os.name == "posix")
        except OSError as error:
            self.fatal = f"cannot start the probe process: {error}"
            return
        self.session.started(process)
        threading.Thread(target=self._feed, args=(process, self.job.to_json(self.tasks)), daemon=True).start()
        threading.Thread(target=self._read_events, args=(process.stdout,), daemon=True).start()
        threading.Thread(target=self._read_output, args=(process.stderr,), daemon=True).start()
        try:
            self._supervise(process)
        finally:
            _stop(process)
            self.session.finished(process)

    def _supervise(self, process: subprocess.Popen) -> None:
        stage = "starting TensorFlow"
        current_task: int | None = None
        current_step: tuple[str, int, str | None] | None = None
        step_line = 0
        deadline = time.monotonic() + max(self.timeout, STARTUP_TIMEOUT)
        task_left: float | None = None  # the task's own time left while an import it needs runs
        while True:
            try:
                kind, payload = self.events.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                where = f" at line {step_line} of the module" if current_step and current_step[1] != COPY_PROBE else ""
                limit = self.timeout if current_task is not None and task_left is None else max(
                    self.timeout, STARTUP_TIMEOUT)
                self._fail(current_task, current_step, f"timed out after {limit:g} s while {stage}{where}")
                return
            if task_left is not None and kind == "event":
                deadline, task_left = time.monotonic() + task_left, None  # the import is over: the task's clock
            if kind == "output_limit":
                self._fail(current_task, current_step,
                           f"printed more than {OUTPUT_LIMIT // (1024 * 1024)} MiB of output while {stage}")
                return
            if kind == "eof":
                code = process.wait()
                if self.done:
                    return
                self._fail(current_task, current_step, f"the probe process {_exit_words(code)} while {stage}"
                           + self.output.last_line())
                return
            event = payload
            name = event.get("event")
            if name == "fatal":
                self.fatal = event["reason"]
                return
            if name == "ready":
                stage = "waiting for a task"
            elif name == "start":
                current_task, current_step, self.copy_module = event["task"], None, None
                stage = "probing"
                deadline = time.monotonic() + self.timeout
                self.output.reset_count()
            elif name == "step":
                current_step = (event["module"], event["statement"], event["name"])
                step_line = event["line"]
                stage = "running the module's code"
                if event["name"] is not None:
                    # An import of a library (zfit, TensorFlow Probability) starts up as slowly as TensorFlow does:
                    # it gets TensorFlow's start-up time, not the task's, and the task's clock waits for it.
                    task_left = max(deadline - time.monotonic(), 0.0)
                    deadline = time.monotonic() + max(self.timeout, STARTUP_TIMEOUT)
                    stage = f"importing {event['name']}"
            elif name == "copy":
                # A causal check's probe of a copy of the module: a probe of its own, with the time of one.
                deadline = time.monotonic() + self.timeout
                self.copy_module = event["module"]
                current_step = (self.copy_module, COPY_PROBE, None)
                stage = f"probing {event['function']} ({event['copy']})"
            elif name == "call":
                # A failure from here on is the function's, not a module statement's (in a copy: the copy's probe).
                current_step = (self.copy_module, COPY_PROBE, None) if self.copy_module is not None else None
                stage = f"calling {event['function']}"
            elif name == "result":
                result = {k: v for k, v in event.items() if k not in ("event", "task")}
                self.results[event["task"]] = result
                current_task, current_step, self.copy_module = None, None, None
                stage = "waiting for a task"
            elif name == "done":
                self.done = True
            if self.on_event is not None:
                self.on_event(event)

    def _fail(self, task: int | None, step, reason: str) -> None:
        if task is None and not self.results:
            # Before the first task started: TensorFlow's import hung or died; every task is affected.
            self.fatal = reason
            return
        self.failed_task, self.failed_step, self.failure = task, step, reason
        self.failed_in_copy = self.copy_module is not None

    def _feed(self, process: subprocess.Popen, text: str) -> None:
        try:
            process.stdin.write(text.encode("utf-8"))
            process.stdin.close()
        except OSError:
            pass  # the child died before reading its job; the event reader reports it

    def _read_events(self, stream) -> None:
        try:
            for line in stream:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict) and "event" in event:
                    self.events.put(("event", event))
        except (OSError, ValueError):  # the stream was closed after the child was stopped
            pass
        self.events.put(("eof", None))

    def _read_output(self, stream) -> None:
        try:
            while True:
                chunk = stream.read1(65536)
                if not chunk:
                    return
                if self.output.add(chunk):
                    self.events.put(("output_limit", None))
        except (OSError, ValueError):
            pass


class _OutputTail:
    """Counts the child's output and keeps its end, so a flood costs neither memory nor the message."""

    def __init__(self):
        self.count = 0
        self.tail = b""
        self.lock = threading.Lock()
        self.reported = False

    def add(self, chunk: bytes) -> bool:
        with self.lock:
            self.count += len(chunk)
            self.tail = (self.tail + chunk)[-_TAIL:]
            if self.count > OUTPUT_LIMIT and not self.reported:
                self.reported = True
                return True
            return False

    def reset_count(self) -> None:
        with self.lock:
            self.count = 0
            self.reported = False

    def last_line(self) -> str:
        """The last line of output that is not TensorFlow's start-up logging, as ``" (text)"``."""
        with self.lock:
            lines = [line.strip() for line in self.tail.decode("utf-8", "replace").splitlines()]
        lines = [line for line in lines if line and not _STARTUP_LOG.match(line)]
        return f" ({lines[-1][:200]})" if lines else ""


def _exit_words(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            if os.name == "posix":
                os.killpg(process.pid, signal.SIGKILL)  # the child and anything it started
            else:
                process.kill()
        except (ProcessLookupError, PermissionError):
            pass


def _stop(process: subprocess.Popen) -> None:
    _kill(process)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    for stream in (process.stdout, process.stderr, process.stdin):
        try:
            stream.close()
        except (OSError, ValueError):
            pass
