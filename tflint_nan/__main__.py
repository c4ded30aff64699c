"""``python -m tflint_nan`` and the ``tflint-nan`` command.

Ctrl-C while the command is still starting up (importing its modules, a few tenths of a second on a busy machine)
ends it as cleanly as Ctrl-C later does.  SIGTERM (``kill``, ``timeout``, a CI job or an editor cancelling the run)
ends it the same way: the worker processes are stopped with it instead of dying on a broken pipe, and a file being
fixed is left whole, its temporary file removed.
"""

import os
import signal
import sys

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived (a BaseException, like KeyboardInterrupt, so no ``except Exception`` swallows it)."""


def _terminate(signum, frame):
    raise Terminated


def run() -> int:
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_DFL:  # not when the caller chose to ignore or handle it
        signal.signal(signal.SIGTERM, _terminate)
    try:
        from .cli import main

        code = main()
    except KeyboardInterrupt:  # (main handles it once it runs: this is for the imports)
        print("tflint-nan: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    except Terminated:
        print("tflint-nan: terminated", file=sys.stderr)
        code = EXIT_TERMINATED
    finally:
        signal.signal(signal.SIGTERM, previous)
    _exit_now_if_analysis_was_interrupted(code)
    return code


def _exit_now_if_analysis_was_interrupted(code: int) -> None:
    """Interrupted while a file was being analysed, the command leaves that analysis thread running.  Python's
    shutdown would stop it with ``pthread_exit``, which aborts the process (SIGABRT, "core dumped") when the thread
    is inside LibCST's native parser: end the process directly instead, everything it writes flushed first."""
    lint = sys.modules.get("tflint_nan.lint")
    if lint is None or not lint.analysis_interrupted():
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(run())
