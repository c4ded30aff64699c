"""The ``tflint-nan`` command."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

from . import __version__
from .cache import Cache
from .config import CommandLine, ConfigError, Configuration, resolve, show
from .discovery import iter_files
from .finding import FileResult, Finding
from .knowledge import PARSE_ERROR_CODE, RULE_CODES
from .files import lint_bytes
from .lint import decode, is_notebook, parse_size, read_file
from .report import FORMATS, render, render_statistics, source_lines
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
  tflint-nan probe F.py::NAME   run one function under TensorFlow on extreme inputs and print its gradients
                                (runs your code; see tflint-nan probe --help)
  tflint-nan server             the language server for editors (LSP over stdin/stdout; needs
                                pip install "tflint-nan[lsp]"; see docs/editors.md)

output:
  path:line:col: CODE message   one line per finding (flake8 format, 1-based), sorted by path, line, column
                                notebooks: nb.ipynb:cell 3:line:col: CODE message
  a summary line on stderr      "Found 3 problems in 2 files (41 files checked)."
  --output-format               concise, full, json, json-lines, sarif (GitHub code scanning), github

configuration:
  [tool.tflint-nan] in the nearest pyproject.toml above the checked paths: select, extend-select, ignore,
  exclude, extend-exclude, per-file-ignores, strict, unsafe-fixes, respect-gitignore, dynamic-timeout,
  max-file-size, aliases. Flags override it; --show-settings prints what applies and where each value came from.
  .gitignore is respected.

suppression:
  append "# noqa" or "# noqa: TFN001,TFN003" to the reported line

fixing:
  --fix                         rewrite the files in place (clamp or double where, exact on the kept elements);
                                what remains is reported with the reason no safe rewrite is known
  --diff                        print those rewrites as a unified diff instead and write nothing
  --unsafe-fixes                also apply the unsafe fixes: a hand-written log of a softmax or sigmoid rewritten
                                into the built-in (tf.nn.log_softmax, tf.math.log_sigmoid), which agrees with it
                                only up to rounding

exit status:
  0  no findings
  1  findings, or a file that could not be read or parsed (reported as TFN999; every other file is checked)
  2  usage error, configuration error or internal error
  130 / 143  interrupted by Ctrl-C / stopped by SIGTERM (a file being fixed stays whole)
  with --fix, 1 means findings remain; with --diff, 1 means a file would change
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tflint-nan",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="files and directories to check (directories are searched for *.py, *.pyi and "
                             "*.ipynb); '-' reads standard input")
    parser.add_argument("--select", metavar="CODES", type=_codes,
                        help="comma-separated codes or prefixes to report (default: all); replaces the "
                             "configured select and extend-select")
    parser.add_argument("--extend-select", metavar="CODES", type=_codes, default=frozenset(),
                        help="codes or prefixes to report in addition to the selected ones")
    parser.add_argument("--ignore", metavar="CODES", type=_codes,
                        help="comma-separated codes or prefixes not to report (replaces the configured ignore)")
    parser.add_argument("--strict", action=argparse.BooleanOptionalAction, default=None,
                        help="also report what the default level leaves out: ops no gradient reaches (metrics, "
                             "optimizer steps, schedules, custom-gradient forwards, integer or constant inputs, "
                             "results only compared or logged) and medium- and low-confidence findings (the "
                             "condition does not single out where the input is out of domain)")
    parser.add_argument("--exclude", metavar="GLOBS", type=_globs,
                        help="comma-separated globs of files and directories to skip while walking "
                             "directories (replaces the configured and built-in excludes)")
    parser.add_argument("--extend-exclude", metavar="GLOBS", type=_globs, default=(),
                        help="globs to skip in addition to the excludes")
    parser.add_argument("--force-exclude", action="store_true",
                        help="apply the excludes to files named on the command line too (as pre-commit names them)")
    parser.add_argument("--config", metavar="PYPROJECT", dest="config_file",
                        help="read [tool.tflint-nan] from this file instead of the nearest pyproject.toml")
    parser.add_argument("--show-settings", action="store_true",
                        help="print the resolved configuration and where each value came from, then exit")
    parser.add_argument("--stdin-filename", metavar="PATH",
                        help="the name to report (and configure) standard input as, with PATH '-'")
    parser.add_argument("--output-format", choices=FORMATS, default="concise",
                        help="concise: one flake8-style line per finding (default); full: with the source line, "
                             "a caret and the suggested rewrite as a diff; json: a list of objects; json-lines: "
                             "one object per line; sarif: SARIF 2.1.0 for GitHub code scanning; github: GitHub "
                             "Actions annotations")
    parser.add_argument("--statistics", action="store_true",
                        help="print how many findings each code has instead of the findings")
    parser.add_argument("--dynamic", action="store_true",
                        help="confirm each finding under TensorFlow: run the function that holds it (only it, its "
                             "imports and the module-level names it uses) in a child process on extreme inputs, "
                             "eagerly and under XLA, and add a verdict to the finding; needs tflint-nan[dynamic]")
    parser.add_argument("--timeout", metavar="SECONDS", type=_seconds, default=None,
                        help="--dynamic: seconds each probed function may run, with the module code it needs, "
                             "and again each copy with fixes applied that the causal check probes "
                             "(default: dynamic-timeout from the configuration, else 60)")
    parser.add_argument("--dynamic-rule", metavar="CODE", default=None,
                        help="--dynamic: probe only the findings of this rule (e.g. TFN001)")
    parser.add_argument("--dynamic-file", metavar="PATH", default=None,
                        help="--dynamic: probe only the findings in this file")
    parser.add_argument("--fix", action="store_true",
                        help="rewrite each finding in place with its exact rewrite (a clamp or a double where); "
                             "findings with no safe rewrite stay reported, with the reason")
    parser.add_argument("--diff", action="store_true",
                        help="print the rewrites --fix would make as a unified diff and write nothing; exit 1 if "
                             "any file would change")
    parser.add_argument("--unsafe-fixes", action=argparse.BooleanOptionalAction, default=None,
                        help="with --fix or --diff, also apply the unsafe fixes: rewrites into a built-in "
                             "(tf.nn.log_softmax, tf.math.log_sigmoid) that agree with the code only up to rounding")
    parser.add_argument("--max-file-size", metavar="SIZE", type=_size, default=None,
                        help="skip files larger than SIZE, with a notice on stderr (default: max-file-size from "
                             "the configuration, else 10MB; 0: no limit)")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument("-j", "--jobs", metavar="N", type=_jobs, default=None,
                        help="worker processes (default: one per CPU; 1 lints in this process)")
    parser.add_argument("--no-cache", action="store_true",
                        help="neither read nor write the results cache (.tflint_nan_cache/ in the project root)")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print the summary line")
    parser.add_argument("--version", action="version", version=f"tflint-nan {__version__}")
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _globs(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _codes(text: str) -> frozenset[str]:
    codes = frozenset(part.strip().upper() for part in text.split(",") if part.strip())
    known = (*RULE_CODES, PARSE_ERROR_CODE)
    for code in codes:
        if not any(full.startswith(code) for full in known):
            raise argparse.ArgumentTypeError(f"unknown rule code {code!r}; known: {', '.join(known)}")
    return codes


def main(argv: Sequence[str] | None = None) -> int:
    _tolerant_output()
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


def _tolerant_output() -> None:
    """Messages quote source code and paths, which a terminal's encoding (ASCII, cp1252) may not cover: escape
    what it cannot show instead of failing. (Where Python already escapes undecodable file-name bytes, it stays.)"""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "rules":
        return _list_rules()
    if argv and argv[0] == "rule":
        return _explain_rule(argv[1:])
    if argv and argv[0] == "probe":
        from .dynamic.probe_command import main as probe

        return probe(argv[1:], _probe_timeout(argv[1:]))
    if argv and argv[0] == "server":
        from .lsp import main as server

        return server(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.paths and not args.show_settings:
        parser.print_usage(sys.stderr)
        print("tflint-nan: error: give at least one PATH (a file or directory; '-' reads stdin)", file=sys.stderr)
        return EXIT_ERROR
    try:
        configuration = _configuration(args)
    except ConfigError as error:
        print(f"tflint-nan: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    if args.show_settings:
        print(show(configuration), end="")
        return EXIT_CLEAN
    if args.dynamic:
        from . import dynamic  # only here: static linting imports neither it nor TensorFlow

        if not dynamic.tensorflow_available():
            print(f"tflint-nan: {dynamic.INSTALL_HINT}", file=sys.stderr)
            return EXIT_ERROR
    settings = configuration.settings
    if args.fix or args.diff:
        if "-" in args.paths:
            if len(args.paths) > 1:
                print("tflint-nan: error: with --fix or --diff, '-' (standard input) is the only PATH",
                      file=sys.stderr)
                return EXIT_ERROR
            return _fix_stdin(args, configuration)
        from .fix import fix_command

        return fix_command(iter_files(args.paths, configuration.excludes), settings, diff=args.diff,
                           output_format=args.output_format, quiet=args.quiet, exit_zero=args.exit_zero,
                           verify=_rewrite_verifier(args, configuration))
    stdin_data: bytes | None = None
    stdin_name = args.stdin_filename or "-"
    results = []
    paths = [path for path in args.paths if path != "-"]
    if len(paths) != len(args.paths):
        stdin_data = sys.stdin.buffer.read()
        if not (configuration.excludes.force_exclude and args.stdin_filename
                and configuration.excludes.explicitly_named_excluded(args.stdin_filename)):
            results.append(lint_bytes(stdin_data, stdin_name, settings))
    cache = None if args.no_cache else Cache(configuration.project_root, settings)
    results += lint_files(iter_files(paths, configuration.excludes), settings, jobs=args.jobs, cache=cache)
    print_notices(results)
    findings = sorted(
        (finding for result in results for finding in _reported(result)), key=Finding.sort_key
    )
    if args.dynamic:
        started = time.monotonic()
        timeout = args.timeout or configuration.dynamic_timeout or dynamic.DEFAULT_TIMEOUT
        findings = dynamic.confirm_findings(findings, timeout, dynamic.terminal_progress(sys.stderr),
                                            rule=args.dynamic_rule, path=args.dynamic_file)
        dynamic_summary = dynamic.summary(findings, time.monotonic() - started)
    if args.statistics:
        sys.stdout.write(render_statistics(findings, args.output_format))
    else:
        sources = _SourceLines({stdin_name: stdin_data} if stdin_data is not None else {})
        sys.stdout.write(render(findings, args.output_format, sources))
    sys.stdout.flush()
    if not args.quiet:
        print(summary(findings, sum(1 for result in results if result.skipped is None)), file=sys.stderr)
        if args.dynamic:
            print(dynamic_summary, file=sys.stderr)
    return EXIT_FINDINGS if findings and not args.exit_zero else EXIT_CLEAN


def _probe_timeout(argv: list[str]) -> float | None:
    """``dynamic-timeout`` from the configuration that applies to the probed file (``--timeout`` overrides it)."""
    target = next((arg for arg in argv if "::" in arg), None)
    if target is None:
        return None
    try:
        return resolve([target.rpartition("::")[0]]).dynamic_timeout
    except ConfigError:
        return None


def _fix_stdin(args: argparse.Namespace, configuration: Configuration) -> int:
    """--fix / --diff on standard input: the fixed source (or the patch) on stdout, what is left on stderr."""
    from .fix import fix_stdin

    data = sys.stdin.buffer.read()
    name = args.stdin_filename or "-"
    if configuration.excludes.force_exclude and args.stdin_filename and (
        configuration.excludes.explicitly_named_excluded(args.stdin_filename)
    ):
        if not args.diff:
            sys.stdout.buffer.write(data)  # excluded: passed through unchanged, as editors expect
        return EXIT_CLEAN
    return fix_stdin(data, name, configuration.settings, diff=args.diff, quiet=args.quiet, exit_zero=args.exit_zero,
                     verify=_rewrite_verifier(args, configuration))


def _rewrite_verifier(args: argparse.Namespace, configuration: Configuration):
    """With --dynamic, the check every rewrite passes under TensorFlow before it is written; else None."""
    if not args.dynamic:
        return None
    from .dynamic import DEFAULT_TIMEOUT
    from .dynamic.verify import rewrite_verifier

    return rewrite_verifier(args.timeout or configuration.dynamic_timeout or DEFAULT_TIMEOUT)


def _configuration(args: argparse.Namespace) -> Configuration:
    """Defaults, then the nearest [tool.tflint-nan] above the paths (or --config), then the flags."""
    config_paths = [(args.stdin_filename or ".") if path == "-" else path for path in args.paths]
    return resolve(config_paths, CommandLine(
        select=args.select, extend_select=args.extend_select, ignore=args.ignore, exclude=args.exclude,
        extend_exclude=args.extend_exclude, strict=args.strict, force_exclude=args.force_exclude,
        config_file=args.config_file, max_file_size=args.max_file_size, unsafe_fixes=args.unsafe_fixes,
    ))


class _SourceLines:
    """The source lines a finding points into, read once per file (for --output-format full)."""

    def __init__(self, known: dict[str, bytes]):
        self._data = dict(known)
        self._lines: dict[tuple[str, int | None], list[str] | None] = {}

    def __call__(self, finding: Finding) -> list[str] | None:
        key = (finding.path, finding.cell)
        if key not in self._lines:
            self._lines[key] = self._read(finding.path, finding.cell)
        return self._lines[key]

    def _read(self, path: str, cell: int | None) -> list[str] | None:
        data = self._data.get(path)
        try:
            if data is None:  # a FIFO is not read twice (it would wait for a writer), nor a file now too large
                data = read_file(path, explicit=False)
            if is_notebook(path):
                from .notebooks import cell_sources

                source = cell_sources(data).get(cell) if cell is not None else None
                return source_lines(source) if source is not None else None
            return source_lines(decode(data))
        except Exception:  # the file changed or vanished since it was linted: show the finding without source
            return None


def print_notices(results) -> None:
    """One stderr line for each file deliberately not checked (too large, not Python): not a finding."""
    for result in results:
        if result.skipped:
            print(f"{result.path}: skipped: {result.skipped}", file=sys.stderr)


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
