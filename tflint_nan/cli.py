"""The ``tflint-nan`` command."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import __version__
from .discovery import iter_files
from .finding import FileResult, Finding
from .knowledge import PARSE_ERROR_CODE, RULE_CODES
from .lint import Settings
from .report import as_json, concise
from .rules import RULES, RULES_BY_CODE, explain
from .runner import lint_files

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130

DESCRIPTION = """\
Find tf.where / K.switch / keras.ops.where calls whose branches evaluate exp, log, division, sqrt, pow or
acos/asin/atanh/acosh on the elements they discard. Those elements' forward values are thrown away, but
their gradient is 0 * inf = NaN, and one NaN reaches every weight. Each finding names the discarded elements
and the exact rewrite (a clamp or a "double where") that keeps every forward value and removes the NaN.

TensorFlow is not needed (or imported) for this static check.
"""

EPILOG = """\
other commands:
  tflint-nan rules              list the rule codes
  tflint-nan rule TFN001        explain one rule: what, why, bad and good example, fix

output:
  path:line:col: CODE message   one line per finding (flake8 format, 1-based), sorted by path, line, column
  a summary line on stderr      "Found 3 problems in 2 files (41 files checked)."

suppression:
  append "# noqa" or "# noqa: TFN001,TFN003" to the reported line

exit status:
  0  no findings
  1  findings, or a file that could not be read or parsed (reported as TFN999; every other file is checked)
  2  usage error or internal error
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tflint-nan",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="files and directories to check (directories are searched for *.py)")
    parser.add_argument("--select", metavar="CODES", type=_codes,
                        help="comma-separated codes or prefixes to report (default: all)")
    parser.add_argument("--ignore", metavar="CODES", type=_codes, default=frozenset(),
                        help="comma-separated codes or prefixes not to report")
    parser.add_argument("--strict", action="store_true",
                        help="also report selects where no gradient flows today (inside tf.stop_gradient, "
                             "@tf.custom_gradient, Metric.update_state/result, optimizer steps)")
    parser.add_argument("--output-format", choices=("concise", "json"), default="concise",
                        help="concise: one flake8-style line per finding (default); json: a list of objects")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print the summary line")
    parser.add_argument("--version", action="version", version=f"tflint-nan {__version__}")
    return parser


def _codes(text: str) -> frozenset[str]:
    codes = frozenset(part.strip().upper() for part in text.split(",") if part.strip())
    known = (*RULE_CODES, PARSE_ERROR_CODE)
    for code in codes:
        if not any(full.startswith(code) for full in known):
            raise argparse.ArgumentTypeError(f"unknown rule code {code!r}; known: {', '.join(known)}")
    return codes


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        print("tflint-nan: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_CLEAN
    except Exception as error:  # an internal error: a message and exit 2, never a bare traceback
        print(f"tflint-nan: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        print("Please report it with the file that triggered it.", file=sys.stderr)
        return EXIT_ERROR


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "rules":
        return _list_rules()
    if argv and argv[0] == "rule":
        return _explain_rule(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.paths:
        parser.print_usage(sys.stderr)
        print("tflint-nan: error: give at least one PATH (a file or directory; '-' reads stdin)", file=sys.stderr)
        return EXIT_ERROR
    settings = Settings(select=args.select, ignore=args.ignore, strict=args.strict)
    results = lint_files(iter_files(args.paths), settings)
    findings = sorted(
        (finding for result in results for finding in _reported(result)), key=Finding.sort_key
    )
    if args.output_format == "json":
        print(as_json(findings))
    else:
        for finding in findings:
            print(concise(finding))
    if not args.quiet:
        print(summary(findings, len(results)), file=sys.stderr)
    return EXIT_FINDINGS if findings and not args.exit_zero else EXIT_CLEAN


def _reported(result: FileResult) -> list[Finding]:
    return [result.error] if result.error is not None else result.findings


def summary(findings: list[Finding], files_checked: int) -> str:
    checked = f"{files_checked} file{'s' if files_checked != 1 else ''} checked"
    if not findings:
        return f"No problems found ({checked})."
    files = len({finding.path for finding in findings})
    problems = f"{len(findings)} problem{'s' if len(findings) != 1 else ''}"
    return f"Found {problems} in {files} file{'s' if files != 1 else ''} ({checked})."


def _list_rules() -> int:
    for rule in RULES:
        print(f"{rule.code}  {rule.name:32s} {rule.summary}")
    print(f"{PARSE_ERROR_CODE}  {RULES_BY_CODE[PARSE_ERROR_CODE].name:32s} {RULES_BY_CODE[PARSE_ERROR_CODE].summary}")
    return EXIT_CLEAN


def _explain_rule(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0].upper() not in RULES_BY_CODE:
        print(f"usage: tflint-nan rule CODE   (one of: {', '.join(RULES_BY_CODE)})", file=sys.stderr)
        return EXIT_ERROR
    print(explain(RULES_BY_CODE[argv[0].upper()]), end="")
    return EXIT_CLEAN


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
