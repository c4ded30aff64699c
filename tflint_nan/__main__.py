"""``python -m tflint_nan`` and the ``tflint-nan`` command: Ctrl-C while the command is still starting up (importing
its modules, a few tenths of a second on a busy machine) ends it as cleanly as Ctrl-C later does."""

import sys

EXIT_INTERRUPTED = 130


def run() -> int:
    try:
        from .cli import main
    except KeyboardInterrupt:
        print("tflint-nan: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return main()


if __name__ == "__main__":
    sys.exit(run())
