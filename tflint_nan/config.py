"""``[tool.tflint-nan]`` in ``pyproject.toml``: find it, validate it, merge it with the command line.

The table is looked for in the nearest ``pyproject.toml`` above the paths being checked (from the deepest
directory that holds them all, upward), stopping at the first file that has the table; ``pyproject.toml``
files without it are passed over. Command-line flags override the file; the file overrides the defaults.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from .discovery import SKIPPED_DIRECTORIES
from .excludes import ExcludeRules
from .knowledge import PARSE_ERROR_CODE, RULE_CODES
from .lint import DEFAULT_MAX_FILE_SIZE, Settings, format_size, parse_size

TABLE = "tool.tflint-nan"
CONFIG_FILE_NAME = "pyproject.toml"
KNOWN_CODES = (*RULE_CODES, PARSE_ERROR_CODE)
DEFAULT_EXCLUDE: tuple[str, ...] = tuple(f"{name}/" for name in sorted(SKIPPED_DIRECTORIES)) + ("*.egg-info/",)

DEFAULT = "default"
COMMAND_LINE = "command line"


class ConfigError(Exception):
    """The configuration is invalid; the message names the file, the key and what is allowed."""


@dataclass(frozen=True)
class CommandLine:
    """What the command line says about settings; None (or empty) where it says nothing."""

    select: frozenset[str] | None = None
    extend_select: frozenset[str] = frozenset()
    ignore: frozenset[str] | None = None
    exclude: tuple[str, ...] | None = None
    extend_exclude: tuple[str, ...] = ()
    strict: bool | None = None
    unsafe_fixes: bool | None = None
    force_exclude: bool = False
    config_file: str | None = None  # --config: use this file instead of searching
    max_file_size: int | None = None  # bytes; 0: no limit


@dataclass(frozen=True)
class Configuration:
    settings: Settings
    excludes: ExcludeRules
    config_file: str | None  # None: no file has the table, defaults and flags only
    project_root: str  # globs are relative to it: the config file's directory, else the working directory
    dynamic_timeout: float | None = None  # seconds; None: the dynamic mode's own default
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE  # as configured; ``excludes`` holds these and extend-exclude
    extend_exclude: tuple[str, ...] = ()
    extend_select: frozenset[str] = frozenset()  # already part of ``settings.select``; kept for --show-settings
    # where each key's value came from: "default", "command line", the file, or both
    origins: dict[str, str] = field(default_factory=dict)


# -- the file ------------------------------------------------------------------------------------------------------

def find_config_file(paths: Iterable[str]) -> tuple[str, dict] | None:
    """(pyproject.toml path, its [tool.tflint-nan] table) nearest above ``paths``, or None."""
    directory = _common_directory(paths)
    while True:
        candidate = os.path.join(directory, CONFIG_FILE_NAME)
        if os.path.isfile(candidate):
            table = load_table(candidate)
            if table is not None:
                return candidate, table
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _common_directory(paths: Iterable[str]) -> str:
    directories = []
    for path in paths:
        absolute = os.path.abspath(path)
        directories.append(absolute if os.path.isdir(absolute) else os.path.dirname(absolute))
    if not directories:
        return os.getcwd()
    try:
        return os.path.commonpath(directories)
    except ValueError:  # different drives on Windows: the first path decides
        return directories[0]


def load_table(path: str) -> dict | None:
    """The ``[tool.tflint-nan]`` table of a TOML file, or None when it has none; raises ConfigError."""
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    tool = document.get("tool")
    if not isinstance(tool, dict) or "tflint-nan" not in tool:
        return None
    table = tool["tflint-nan"]
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{TABLE}] must be a table, got {_describe(table)}")
    return table


# -- validation ----------------------------------------------------------------------------------------------------

def _code_list(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where} must be a list of rule codes such as [\"TFN001\", \"TFN003\"], "
                          f"got {_describe(value)}")
    return parse_codes(value, where)


def parse_codes(codes: Iterable[str], where: str) -> frozenset[str]:
    """Upper-cased codes; each must be a rule code or a prefix of one."""
    result = set()
    for raw in codes:
        code = raw.strip().upper()
        if not code or not any(known.startswith(code) for known in KNOWN_CODES):
            raise ConfigError(f"{where}: unknown rule code {raw!r}; allowed: {', '.join(KNOWN_CODES)} "
                              "or a prefix of them (TFN00)")
        result.add(code)
    return frozenset(result)


def _glob_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ConfigError(f"{where} must be a list of glob patterns such as [\"generated/\", \"*_pb2.py\"], "
                          f"got {_describe(value)}")
    return tuple(value)


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, got {_describe(value)}")
    return value


def _timeout(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{where} must be a positive number of seconds such as 60, got {_describe(value)}")
    return float(value)


def _per_file_ignores(value: Any, where: str) -> tuple[tuple[str, frozenset[str]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table of glob = [codes], such as {{\"tests/**\" = [\"TFN003\"]}}, "
                          f"got {_describe(value)}")
    return tuple((pattern, _code_list(codes, f"{where} {pattern!r}")) for pattern, codes in value.items())


def _size(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        try:
            return parse_size(value)
        except ValueError:
            pass
    raise ConfigError(f"{where} must be a size such as \"10MB\", \"512KB\" or 0 (no limit), got {_describe(value)}")


_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_ALIAS_TARGETS = ("tensorflow", "keras", "tf_keras")


def _aliases(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    """``{"zfit.z.numpy" = "tensorflow.experimental.numpy"}``: modules that stand for TensorFlow or Keras ones."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table of module = \"tensorflow module\", such as "
                          f"{{\"myproject.znp\" = \"tensorflow.experimental.numpy\"}}, got {_describe(value)}")
    pairs = []
    for module, meaning in value.items():
        if not _MODULE_NAME.fullmatch(module):
            raise ConfigError(f"{where}: {module!r} is not a module name")
        if not isinstance(meaning, str) or not _MODULE_NAME.fullmatch(meaning) or meaning.split(".")[0] not in (
                _ALIAS_TARGETS):
            raise ConfigError(f"{where} {module!r} must name a TensorFlow or Keras module (tensorflow..., keras...), "
                              f"got {_describe(meaning)}")
        pairs.append((module, meaning))
    return tuple(sorted(pairs))


_VALIDATORS = {
    "select": _code_list,
    "extend-select": _code_list,
    "ignore": _code_list,
    "exclude": _glob_list,
    "extend-exclude": _glob_list,
    "per-file-ignores": _per_file_ignores,
    "strict": _boolean,
    "unsafe-fixes": _boolean,
    "respect-gitignore": _boolean,
    "dynamic-timeout": _timeout,
    "max-file-size": _size,
    "aliases": _aliases,
    "internal-modules": _boolean,
}
KEYS = tuple(_VALIDATORS)


def validate(table: dict, path: str) -> dict[str, Any]:
    """The table's values, converted; raises ConfigError naming the file, the key and what is allowed."""
    values = {}
    for key, value in table.items():
        where = f"{path}: [{TABLE}] {key}"
        validator = _VALIDATORS.get(key)
        if validator is None:
            suggestion = _close_match(key)
            hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
            raise ConfigError(f"{path}: [{TABLE}] unknown key {key!r}{hint}; allowed keys: {', '.join(KEYS)}")
        values[key] = validator(value, where)
    return values


def _close_match(key: str) -> str | None:
    matches = difflib.get_close_matches(key.replace("_", "-"), KEYS, n=1)
    return matches[0] if matches else None


def _describe(value: Any) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)
    text = json.dumps(value, default=str)
    return f"{kind} {text if len(text) <= 60 else text[:57] + '...'}"


# -- merging -------------------------------------------------------------------------------------------------------

def resolve(paths: Sequence[str], command_line: CommandLine = CommandLine()) -> Configuration:
    """The settings for checking ``paths``: defaults, then the nearest config table, then the command line."""
    if command_line.config_file is not None:
        config_file = command_line.config_file
        if not os.path.isfile(config_file):
            raise ConfigError(f"{config_file}: no such configuration file")
        table = load_table(config_file)
        if table is None:
            raise ConfigError(f"{config_file}: has no [{TABLE}] table")
        found: tuple[str, dict] | None = (os.path.abspath(config_file), table)
    else:
        found = find_config_file(paths)
    config_file, values = (found[0], validate(found[1], found[0])) if found else (None, {})
    project_root = os.path.dirname(config_file) if config_file else os.getcwd()
    origin_file = config_file or DEFAULT
    origins: dict[str, str] = {}

    def pick(key: str, from_command_line: Any, default: Any) -> Any:
        if from_command_line is not None:
            origins[key] = COMMAND_LINE
            return from_command_line
        if key in values:
            origins[key] = origin_file
            return values[key]
        origins[key] = DEFAULT
        return default

    select = pick("select", command_line.select, None)
    # A selection on the command line replaces the file's select and extend-select alike.
    file_extension = frozenset() if command_line.select is not None else values.get("extend-select", frozenset())
    extend_select = file_extension | command_line.extend_select
    origins["extend-select"] = _combined(
        origin_file if file_extension else None, COMMAND_LINE if command_line.extend_select else None
    )
    if select is not None:
        select = select | extend_select
    ignore = pick("ignore", command_line.ignore, frozenset())
    exclude = pick("exclude", command_line.exclude, DEFAULT_EXCLUDE)
    extend_exclude = values.get("extend-exclude", ()) + command_line.extend_exclude
    origins["extend-exclude"] = _combined(
        origin_file if values.get("extend-exclude") else None, COMMAND_LINE if command_line.extend_exclude else None
    )
    per_file_ignores = pick("per-file-ignores", None, ())
    strict = pick("strict", command_line.strict, False)
    unsafe_fixes = pick("unsafe-fixes", command_line.unsafe_fixes, False)
    respect_gitignore = pick("respect-gitignore", None, True)
    dynamic_timeout = pick("dynamic-timeout", None, None)
    max_file_size = pick("max-file-size", command_line.max_file_size, DEFAULT_MAX_FILE_SIZE)
    origins["force-exclude"] = COMMAND_LINE if command_line.force_exclude else DEFAULT

    aliases = pick("aliases", None, ())
    internal_modules = pick("internal-modules", None, False)
    settings = Settings(
        select=select, ignore=ignore, strict=strict, per_file_ignores=per_file_ignores,
        project_root=project_root if per_file_ignores else "", max_file_size=max_file_size, aliases=aliases,
        internal_modules=internal_modules, unsafe_fixes=unsafe_fixes,
    )
    excludes = ExcludeRules(
        patterns=tuple(exclude) + tuple(extend_exclude), root=project_root, respect_gitignore=respect_gitignore,
        force_exclude=command_line.force_exclude,
    )
    return Configuration(
        settings, excludes, config_file, project_root, dynamic_timeout, tuple(exclude), tuple(extend_exclude),
        extend_select, origins,
    )


def _combined(*origins: str | None) -> str:
    present = [origin for origin in origins if origin]
    return " + ".join(present) if present else DEFAULT


# -- --show-settings -----------------------------------------------------------------------------------------------

def show(configuration: Configuration) -> str:
    """The resolved configuration as a ``[tool.tflint-nan]`` table, each key annotated with its origin."""
    settings, excludes = configuration.settings, configuration.excludes
    per_file_ignores = ", ".join(
        f"{_toml(pattern)} = {_toml(sorted(codes))}" for pattern, codes in settings.per_file_ignores
    )
    rows = [
        ("select", _toml(sorted(settings.select)) if settings.select is not None else '["TFN"]'),
        ("extend-select", _toml(sorted(configuration.extend_select))),
        ("ignore", _toml(sorted(settings.ignore))),
        ("exclude", _toml(list(configuration.exclude))),
        ("extend-exclude", _toml(list(configuration.extend_exclude))),
        ("per-file-ignores", "{" + per_file_ignores + "}"),
        ("strict", _toml(settings.strict)),
        ("unsafe-fixes", _toml(settings.unsafe_fixes)),
        ("respect-gitignore", _toml(excludes.respect_gitignore)),
        ("force-exclude", _toml(excludes.force_exclude)),
        ("max-file-size", _toml(format_size(settings.max_file_size).replace(" ", "")) if settings.max_file_size else "0"),
        ("aliases", "{" + ", ".join(f"{_toml(module)} = {_toml(meaning)}" for module, meaning in settings.aliases) + "}"),
        ("internal-modules", _toml(settings.internal_modules)),
    ]
    if configuration.dynamic_timeout is not None:
        rows.append(("dynamic-timeout", _toml(configuration.dynamic_timeout)))
    width = max((len(f"{key} = {value}") for key, value in rows if len(f"{key} = {value}") <= 48), default=0)
    enabled = [code for code in RULE_CODES if settings.enabled(code)]
    where = configuration.config_file or f"none (no {CONFIG_FILE_NAME} with [{TABLE}] above the paths)"
    lines = [
        f"# configuration file: {where}",
        f"# project root (globs are relative to it): {configuration.project_root}",
        f"# rules enabled: {', '.join(enabled) or 'none'} (and {PARSE_ERROR_CODE}, always)",
        "",
        f"[{TABLE}]",
    ]
    for key, value in rows:
        origin = configuration.origins.get(key, DEFAULT)
        if key == "select" and settings.select is None:
            origin += ": every rule"
        lines.append(f"{key + ' = ' + value:<{width}}  # {origin}")
    if configuration.dynamic_timeout is None:
        lines.append("# dynamic-timeout is not set: the dynamic mode's default applies")
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)
