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
    if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """End an interrupted run without Python's shutdown, everything it printed flushed first.

    The shutdown would undo the clean exit: an analysis thread still running (the interrupt came while a file was
    being analysed) is stopped with ``pthread_exit``, which aborts the process (SIGABRT, "core dumped") when the
    thread is inside LibCST's native parser; and after a KeyboardInterrupt that surfaced inside an import (Ctrl-C
    in the first tenths of a second), CPython 3.11 run as ``python -m tflint_nan`` sometimes ended the process by
    SIGINT instead of with 130, although the interrupt was handled.  What needed cleaning up (workers, temporary
    files) was cleaned up as the interrupt unwound.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(run())
