"""The flake8 plugin, driven through the real flake8 (the plugin is registered by installing tflint-nan)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from command import BUGGY, STOPPED_GRADIENT, tflint_nan, write


def flake8(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flake8", *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=120)


def test_the_plugin_is_registered_under_its_code_prefix(tmp_path):
    version = flake8("--version", cwd=tmp_path)
    assert "tflint-nan:" in version.stdout, "install tflint-nan (pip install -e .) to register the flake8 plugin"


def test_flake8_reports_what_tflint_nan_reports_at_the_same_line_and_column(tmp_path):
    write(tmp_path, "model.py", BUGGY)
    ours = tflint_nan("model.py", cwd=tmp_path)
    theirs = flake8("--select", "TFN", "model.py", cwd=tmp_path)
    assert theirs.returncode == 1, theirs.stderr
    assert [line.split(": ")[0] for line in theirs.stdout.splitlines()] == ["model.py:5:31", "model.py:9:28"]
    assert theirs.stdout.splitlines() == ours.stdout.splitlines()  # same locations, codes and messages


def test_tfn_codes_are_on_by_default_next_to_the_other_plugins(tmp_path):
    write(tmp_path, "model.py", BUGGY + "\n\nunused = 1;\n")
    result = flake8("model.py", cwd=tmp_path)
    codes = [line.split(": ")[1].split(" ")[0] for line in result.stdout.splitlines()]
    assert codes == ["TFN001", "TFN002", "E703"]


def test_flake8_owns_noqa_ignore_and_per_file_ignores(tmp_path):
    suppressed = BUGGY.replace("tf.exp(x) - 1.)", "tf.exp(x) - 1.)  # noqa: TFN001")
    write(tmp_path, "model.py", suppressed)
    assert codes_of(flake8("--select", "TFN", "model.py", cwd=tmp_path)) == ["TFN002"]
    assert codes_of(flake8("--select", "TFN", "--disable-noqa", "model.py", cwd=tmp_path)) == ["TFN001", "TFN002"]
    assert codes_of(flake8("--select", "TFN", "--extend-ignore", "TFN002", "model.py", cwd=tmp_path)) == []
    write(tmp_path, "tests/test_model.py", BUGGY)
    write(tmp_path, ".flake8", "[flake8]\nselect = TFN\nper-file-ignores =\n    tests/*: TFN001\n")
    assert codes_of(flake8("tests/test_model.py", cwd=tmp_path)) == ["TFN002"]


def test_stdin_with_a_display_name_as_editors_call_it(tmp_path):
    result = flake8("--select", "TFN", "--stdin-display-name", "src/model.py", "-", cwd=tmp_path, stdin=BUGGY)
    assert result.returncode == 1
    assert [line.split(": ")[0] for line in result.stdout.splitlines()] == ["src/model.py:5:31", "src/model.py:9:28"]


def test_strict_is_a_flake8_option(tmp_path):
    write(tmp_path, "stopped.py", STOPPED_GRADIENT)
    assert codes_of(flake8("--select", "TFN", "stopped.py", cwd=tmp_path)) == []
    assert codes_of(flake8("--select", "TFN", "--tflint-nan-strict", "stopped.py", cwd=tmp_path)) == ["TFN001"]
    write(tmp_path, "setup.cfg", "[flake8]\ntflint-nan-strict = true\n")
    assert codes_of(flake8("--select", "TFN", "stopped.py", cwd=tmp_path)) == ["TFN001"]


def codes_of(result: subprocess.CompletedProcess) -> list[str]:
    return [line.split(": ", 1)[1].split(" ")[0] for line in result.stdout.splitlines()]
