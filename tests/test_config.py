"""[tool.tflint-nan] in pyproject.toml, excludes and .gitignore: driven through the real command."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from command import BUGGY, STOPPED_GRADIENT, reported, tflint_nan, write


def pyproject(directory: Path, table: str) -> Path:
    return write(directory, "pyproject.toml", "[project]\nname = 'demo'\n\n" + textwrap.dedent(table))


def codes_of(result: subprocess.CompletedProcess) -> list[str]:
    return [code for _, code in reported(result.stdout)]


def files_of(result: subprocess.CompletedProcess) -> list[str]:
    """The files with findings, as normalised relative paths."""
    return sorted({os.path.normpath(where.split(":")[0]) for where, _ in reported(result.stdout)})


def test_the_nearest_pyproject_with_the_table_applies_to_the_checked_paths(tmp_path):
    project = tmp_path / "project"
    pyproject(project, '[tool.tflint-nan]\nignore = ["TFN001"]\n')
    write(project, "pkg/model.py", BUGGY)
    # a pyproject.toml without the table sits in between and is passed over
    write(project, "pkg/pyproject.toml", "[project]\nname = 'inner'\n")
    # the command runs from elsewhere: the file is found from the checked path upward, not from the cwd
    result = tflint_nan(str(project / "pkg" / "model.py"), cwd=tmp_path)
    assert codes_of(result) == ["TFN002"]
    assert result.returncode == 1


def test_a_nearer_table_wins_over_one_further_up(tmp_path):
    pyproject(tmp_path, '[tool.tflint-nan]\nignore = ["TFN001"]\n')
    pyproject(tmp_path / "sub", '[tool.tflint-nan]\nignore = ["TFN002"]\n')
    write(tmp_path, "sub/model.py", BUGGY)
    assert codes_of(tflint_nan(str(tmp_path / "sub"), cwd=tmp_path)) == ["TFN001"]
    assert codes_of(tflint_nan(str(tmp_path / "sub"), "--config", str(tmp_path / "pyproject.toml"))) == ["TFN002"]


def test_select_extend_select_and_the_command_line_overriding_them(tmp_path):
    pyproject(tmp_path, '[tool.tflint-nan]\nselect = ["TFN002"]\nextend-select = ["TFN001"]\nignore = ["TFN002"]\n')
    model = str(write(tmp_path, "model.py", BUGGY))
    assert codes_of(tflint_nan(model, cwd=tmp_path)) == ["TFN001"]
    # --ignore replaces the configured ignore; --select replaces select and extend-select
    assert codes_of(tflint_nan(model, "--ignore", "TFN005", cwd=tmp_path)) == ["TFN001", "TFN002"]
    assert codes_of(tflint_nan(model, "--select", "TFN002", "--ignore", "TFN005", cwd=tmp_path)) == ["TFN002"]
    assert codes_of(tflint_nan(model, "--select", "TFN004", "--extend-select", "TFN001", cwd=tmp_path)) == ["TFN001"]


def test_strict_from_the_file_and_no_strict_on_the_command_line(tmp_path):
    pyproject(tmp_path, "[tool.tflint-nan]\nstrict = true\n")
    path = str(write(tmp_path, "stopped.py", STOPPED_GRADIENT))
    assert codes_of(tflint_nan(path, cwd=tmp_path)) == ["TFN001"]
    assert codes_of(tflint_nan(path, "--no-strict", cwd=tmp_path)) == []


LOG_SOFTMAX = "import tensorflow as tf\n\n\ndef f(z):\n    return tf.math.log(tf.nn.softmax(z))\n"


def test_unsafe_fixes_from_the_file_and_the_command_line(tmp_path):
    path = str(write(tmp_path, "probabilities.py", LOG_SOFTMAX))
    plain = tflint_nan(path, "--diff", cwd=tmp_path)
    assert plain.returncode == 0 and plain.stdout == ""
    assert "its fix is unsafe" in plain.stderr and "--unsafe-fixes applies it" in plain.stderr
    flagged = tflint_nan(path, "--diff", "--unsafe-fixes", cwd=tmp_path)
    assert flagged.returncode == 1 and "+    return tf.nn.log_softmax(z)" in flagged.stdout
    pyproject(tmp_path, "[tool.tflint-nan]\nunsafe-fixes = true\n")
    assert "+    return tf.nn.log_softmax(z)" in tflint_nan(path, "--diff", cwd=tmp_path).stdout
    assert tflint_nan(path, "--diff", "--no-unsafe-fixes", cwd=tmp_path).stdout == ""


def test_per_file_ignores_match_globs_relative_to_the_project_root(tmp_path):
    pyproject(tmp_path, """\
        [tool.tflint-nan.per-file-ignores]
        "tests/**" = ["TFN001"]
        "*_experiment.py" = ["TFN00"]
    """)
    write(tmp_path, "tests/unit/test_model.py", BUGGY)
    write(tmp_path, "src/model.py", BUGGY)
    write(tmp_path, "src/deep/try_experiment.py", BUGGY)
    result = tflint_nan("src", "tests", cwd=tmp_path)
    assert reported(result.stdout) == [
        ("src/model.py:5:31", "TFN001"),
        ("src/model.py:9:28", "TFN002"),
        ("tests/unit/test_model.py:9:28", "TFN002"),
    ]


def test_exclude_replaces_the_built_in_excludes_and_extend_exclude_adds(tmp_path):
    write(tmp_path, "build/generated.py", BUGGY)
    write(tmp_path, "vendor/third_party.py", BUGGY)
    write(tmp_path, "model.py", BUGGY)
    assert files_of(tflint_nan(".", cwd=tmp_path)) == ["model.py", "vendor/third_party.py"]
    pyproject(tmp_path, '[tool.tflint-nan]\nextend-exclude = ["vendor/"]\n')
    assert files_of(tflint_nan(".", cwd=tmp_path)) == ["model.py"]
    pyproject(tmp_path, '[tool.tflint-nan]\nexclude = ["vendor/"]\n')
    assert files_of(tflint_nan(".", cwd=tmp_path)) == ["build/generated.py", "model.py"]
    assert files_of(tflint_nan(".", "--exclude", "model.py", cwd=tmp_path)) == [
        "build/generated.py", "vendor/third_party.py",
    ]


def test_force_exclude_applies_the_excludes_to_files_named_explicitly(tmp_path):
    pyproject(tmp_path, '[tool.tflint-nan]\nextend-exclude = ["generated/", "*_pb2.py"]\n')
    named = [
        str(write(tmp_path, "generated/deep/model.py", BUGGY)),
        str(write(tmp_path, "proto/model_pb2.py", BUGGY)),
        str(write(tmp_path, "model.py", BUGGY)),
    ]
    without = tflint_nan(*named, cwd=tmp_path)
    assert len(reported(without.stdout)) == 6  # named files are checked whatever the excludes say
    forced = tflint_nan("--force-exclude", *named, cwd=tmp_path)
    assert {where.split(":")[0] for where, _ in reported(forced.stdout)} == {named[2]}
    assert forced.stderr.strip() == "Found 2 problems in 1 file (1 file checked)."
    only_excluded = tflint_nan("--force-exclude", named[0], cwd=tmp_path)
    assert only_excluded.returncode == 0 and only_excluded.stdout == ""


def test_gitignore_is_respected_while_walking(tmp_path):
    repository = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repository)], check=True)
    write(repository, ".gitignore", "generated/\n*_gen.py\n!keep_gen.py\n")
    write(repository, "src/.gitignore", "scratch.py\n")
    for name in ("src/model.py", "src/generated/out.py", "src/a_gen.py", "src/keep_gen.py", "src/scratch.py",
                 "other/scratch.py"):
        write(repository, name, BUGGY)
    # the walk starts below the repository root: the root's .gitignore still applies
    assert files_of(tflint_nan("src", cwd=repository)) == ["src/keep_gen.py", "src/model.py"]
    assert files_of(tflint_nan(".", cwd=repository)) == ["other/scratch.py", "src/keep_gen.py", "src/model.py"]
    pyproject(repository, "[tool.tflint-nan]\nrespect-gitignore = false\n")
    assert len(files_of(tflint_nan("src", cwd=repository))) == 5


def test_the_repositorys_own_exclude_file_counts_and_comments_decide_nothing(tmp_path):
    repository = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repository)], check=True)
    write(repository, ".git/info/exclude", "# git's template: comments only\nlocal_*.py\n")
    write(repository, ".gitignore", "# nothing but a comment\n\n")
    write(repository, "src/.gitignore", "!local_keep.py\n# a comment\n")
    for name in ("src/model.py", "src/local_try.py", "src/local_keep.py", "local_top.py"):
        write(repository, name, BUGGY)
    # the deepest file with a matching pattern decides: src/.gitignore re-includes what info/exclude leaves out
    assert files_of(tflint_nan(".", cwd=repository)) == ["src/local_keep.py", "src/model.py"]
    write(repository, ".git/info/exclude", "# comments only\n")
    assert len(files_of(tflint_nan(".", cwd=repository))) == 4


@pytest.mark.parametrize(
    "table, expected",
    [
        ('selct = ["TFN001"]', "[tool.tflint-nan] unknown key 'selct' (did you mean 'select'?); allowed keys: select,"),
        ('select = "TFN001"', "[tool.tflint-nan] select must be a list of rule codes"),
        ('ignore = ["E501"]', "[tool.tflint-nan] ignore: unknown rule code 'E501'; allowed: TFN001, TFN002"),
        ("strict = 'yes'", "[tool.tflint-nan] strict must be true or false, got a string \"yes\""),
        ("dynamic-timeout = -5", "[tool.tflint-nan] dynamic-timeout must be a positive number of seconds"),
        ('exclude = "build"', "[tool.tflint-nan] exclude must be a list of glob patterns"),
        ('per-file-ignores = ["tests/*"]', "[tool.tflint-nan] per-file-ignores must be a table of glob = [codes]"),
        ('per-file-ignores = {"tests/*" = ["X1"]}', "per-file-ignores 'tests/*': unknown rule code 'X1'"),
        ("select = [", "not valid TOML"),
    ],
)
def test_configuration_errors_name_the_file_the_key_and_what_is_allowed(tmp_path, table, expected):
    config = pyproject(tmp_path, "[tool.tflint-nan]\n" + table + "\n")
    model = write(tmp_path, "model.py", BUGGY)
    result = tflint_nan(str(model), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"tflint-nan: error: {config}: ")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_show_settings_prints_the_resolved_values_and_where_each_came_from(tmp_path):
    config = pyproject(tmp_path, """\
        [tool.tflint-nan]
        select = ["TFN00"]
        extend-exclude = ["generated/"]
        dynamic-timeout = 30
        [tool.tflint-nan.per-file-ignores]
        "tests/**" = ["TFN003"]
    """)
    result = tflint_nan("--show-settings", "--ignore", "TFN004", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"# configuration file: {config}"
    assert lines[1] == f"# project root (globs are relative to it): {tmp_path}"
    assert lines[2] == ("# rules enabled: TFN001, TFN002, TFN003, TFN005, TFN006, TFN007, TFN008, "
                        "TFN009 (and TFN999, always)")
    settings = {}
    for line in lines:
        if " = " in line:
            key, _, rest = line.partition(" = ")
            value, _, origin = rest.partition("  # ")
            settings[key] = (value.strip(), origin)
    assert settings["select"] == ('["TFN00"]', str(config))
    assert settings["ignore"] == ('["TFN004"]', "command line")
    assert settings["extend-exclude"] == ('["generated/"]', str(config))
    assert settings["per-file-ignores"] == ('{"tests/**" = ["TFN003"]}', str(config))
    assert settings["strict"] == ("false", "default")
    assert settings["dynamic-timeout"] == ("30.0", str(config))
    assert settings["exclude"][0].startswith('[".eggs/", ".git/"')
    assert settings["exclude"][1] == "default"


def test_show_settings_without_a_configuration_file(tmp_path):
    result = tflint_nan("--show-settings", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("# configuration file: none (no pyproject.toml with [tool.tflint-nan]")
    assert "select = [\"TFN\"]" in result.stdout and "# default: every rule" in result.stdout


def test_stdin_filename_finds_the_configuration_and_per_file_ignores(tmp_path):
    pyproject(tmp_path, '[tool.tflint-nan.per-file-ignores]\n"legacy/*" = ["TFN001"]\n')
    (tmp_path / "legacy").mkdir()
    elsewhere = tmp_path.parent
    result = tflint_nan("-", "--stdin-filename", str(tmp_path / "legacy" / "old.py"), cwd=elsewhere, stdin=BUGGY)
    assert reported(result.stdout) == [(f"{tmp_path / 'legacy' / 'old.py'}:9:28", "TFN002")]


@pytest.mark.parametrize("patterns", [
    (".eggs/", ".git/", "__pycache__/", "build/", "dist/", "*.egg-info/", "site-packages/"),
    ("a/*/", "/top/", "**/gen/", "deep/**/", "x?z/", "[bc]ache/"),
])
def test_globs_that_name_directories_are_asked_once_per_directory(tmp_path, patterns):
    """With directory globs only, a file's answer is its directory's: the same as asking about the file."""
    from tflint_nan.excludes import ExcludeRules

    rules = ExcludeRules(patterns, str(tmp_path))
    assert rules._directories_only
    directories = ["", "a", "a/b", "a/b/c", "top", "x/top", "build", "src/build/sub", "gen", "q/gen/r", "deep",
                   "deep/x/y", "pkg.egg-info", "xyz", "xaz/w", "cache", "bache/k", ".eggs/e", "b"]
    names = ["m.py", "build", "gen", "top", "a", "x.egg-info", "deep"]
    decided = []
    for directory in directories:
        for name in names:
            path = os.path.join(tmp_path, directory, name)
            expected = rules.excluded(path, False, str(tmp_path))
            assert rules.excluded_file(os.path.join(tmp_path, directory), name, str(tmp_path)) == expected, path
            decided.append(expected)
    assert any(decided) and not all(decided)


@pytest.mark.parametrize("patterns", [("build/", "*_pb2.py"), ("build/", "!build/keep/"), ("model.py",)])
def test_globs_that_may_name_files_are_asked_per_file(tmp_path, patterns):
    from tflint_nan.excludes import ExcludeRules

    rules = ExcludeRules(patterns, str(tmp_path))
    assert not rules._directories_only
    for name in ("model.py", "x_pb2.py", "other.py"):
        path = os.path.join(tmp_path, "build", "keep", name)
        assert rules.excluded_file(os.path.join(tmp_path, "build", "keep"), name, str(tmp_path)) == rules.excluded(
            path, False, str(tmp_path))
