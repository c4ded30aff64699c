"""The language server (``tflint-nan server``); it needs the ``lsp`` extra: ``pip install "tflint-nan[lsp]"``."""

from __future__ import annotations

import sys

INSTALL_HINT = 'the language server needs pygls 2 and lsprotocol: pip install "tflint-nan[lsp]"'
EXIT_ERROR = 2


def main(argv: list[str]) -> int:
    """``tflint-nan server ARGS``: serve until the client exits; exit 2 when the extra is not installed."""
    try:
        import lsprotocol.types  # noqa: F401
        import pygls.lsp.server  # noqa: F401  (pygls 1 has no pygls.lsp.server)
    except ImportError as error:
        print(f"tflint-nan: {INSTALL_HINT} ({error})", file=sys.stderr)
        return EXIT_ERROR
    from .server import serve

    return serve(argv)
