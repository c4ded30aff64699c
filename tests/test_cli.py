"""The command line, run as a user runs it: a subprocess, real files, exit codes, stdout and stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUGGY = "import tensorflow as tf\n\n\ndef f(x):\n    return tf.where(x > 0, x, tf.exp(x) - 1.)\n"
CLEAN = "import tensorflow as tf\n\n\ndef f(x):\n    return tf.where(x > 0, x, tf.exp(tf.minimum(x, 0.)) - 1.)\n"


def run(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tflint_nan", *args], cwd=cwd or ROOT, input=stdin, capture_output=True, env=env,
        timeout=120,
    )


def write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_example_from_the_readme():
    result = run("fixtures/example.py")
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert [line.split(": ")[0] + ": " + line.split(": ")[1][:6] for line in lines] == [
        "fixtures/example.py:9:42: TFN001",
        "fixtures/example.py:14:29: TFN002",
    ]
    assert result.stderr.decode().strip() == "Found 2 problems in 1 file (1 file checked)."
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(line in readme for line in lines), "the README's sample output is out of date"


def test_clean_file_exits_zero(tmp_path):
    path = write(tmp_path, "clean.py", CLEAN)
    result = run(str(path))
    assert result.returncode == 0
    assert result.stdout == b""
    assert result.stderr.decode().strip() == "No problems found (1 file checked)."


def test_directory_walk_sorting_and_skipped_directories(tmp_path):
    write(tmp_path, "b.py", BUGGY)
    write(tmp_path, "a/z.py", BUGGY + BUGGY.replace("def f", "def g"))
    write(tmp_path, "a/clean.py", CLEAN)
    for skipped in (".git", "__pycache__", "build", "node_modules", ".venv", "venv", "dist", "pkg.egg-info"):
        write(tmp_path, f"{skipped}/bad.py", BUGGY)
    write(tmp_path, "myenv/pyvenv.cfg", "home = /usr\n")
    write(tmp_path, "myenv/lib/bad.py", BUGGY)
    write(tmp_path, "notes.txt", BUGGY)
    result = run(str(tmp_path))
    assert result.returncode == 1
    paths = [line.split(":")[0] for line in result.stdout.decode().splitlines()]
    assert paths == [str(tmp_path / "a" / "z.py")] * 2 + [str(tmp_path / "b.py")]
    lines = [int(line.split(":")[1]) for line in result.stdout.decode().splitlines()]
    assert lines[:2] == sorted(lines[:2])
    assert result.stderr.decode().strip() == "Found 3 problems in 2 files (3 files checked)."


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("syntax.py", "def f(:\n    pass\n", "TFN999 syntax error"),
        ("syntax_with_where.py", "import tensorflow as tf\ntf.where(\n", "TFN999 syntax error"),
        ("nul.py", b"x = 1\0\n", "TFN999 file contains a NUL byte"),
        ("latin.py", b"x = '\xe9'\n", "TFN999 cannot decode as utf-8"),
        ("deep.py", "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n", "TFN999"),
    ],
)
def test_bad_files_are_reported_and_the_rest_still_checked(tmp_path, name, content, reason):
    bad = write(tmp_path, name, content)
    buggy = write(tmp_path, "zz_buggy.py", BUGGY)
    result = run(str(bad), str(buggy))
    assert result.returncode == 1
    out = result.stdout.decode().splitlines()
    assert len(out) == 2
    assert out[0].startswith(f"{bad}:") and reason in out[0]
    assert out[1].startswith(f"{buggy}:5:") and "TFN001" in out[1]
    assert "Traceback" not in result.stderr.decode()


def test_missing_file_is_reported(tmp_path):
    result = run(str(tmp_path / "nope.py"))
    assert result.returncode == 1
    assert "TFN999 cannot read: No such file or directory" in result.stdout.decode()


def test_encoding_cookie_and_bom_are_honoured(tmp_path):
    latin = write(tmp_path, "latin.py", ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + BUGGY).encode("latin-1"))
    bom = write(tmp_path, "bom.py", b"\xef\xbb\xbf" + BUGGY.encode())
    result = run(str(latin), str(bom))
    lines = result.stdout.decode().splitlines()
    assert [line.split(":")[1:3] for line in lines] == [["5", "31"], ["7", "31"]]


def test_linting_writes_nothing(tmp_path):
    path = write(tmp_path, "buggy.py", BUGGY)
    before = path.read_bytes(), path.stat().st_mtime_ns
    run(str(path))
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["buggy.py"]


def test_select_ignore_and_exit_zero(tmp_path):
    path = write(tmp_path, "buggy.py", BUGGY)
    assert run("--ignore", "TFN001", str(path)).returncode == 0
    assert run("--select", "TFN002", str(path)).returncode == 0
    assert run("--select", "TFN00", str(path)).returncode == 1
    result = run("--exit-zero", str(path))
    assert result.returncode == 0 and b"TFN001" in result.stdout


def test_unknown_code_is_a_usage_error(tmp_path):
    result = run("--select", "E501", str(tmp_path))
    assert result.returncode == 2
    assert "unknown rule code 'E501'" in result.stderr.decode()


def test_no_paths_is_a_usage_error():
    result = run()
    assert result.returncode == 2
    assert "give at least one PATH" in result.stderr.decode()


def test_stdin(tmp_path):
    result = run("-", stdin=BUGGY.encode())
    assert result.returncode == 1
    assert result.stdout.decode().startswith("-:5:31: TFN001")


def test_json_output(tmp_path):
    path = write(tmp_path, "buggy.py", BUGGY)
    result = run("--output-format", "json", str(path))
    (item,) = json.loads(result.stdout)
    assert item["code"] == "TFN001"
    assert item["location"] == {"row": 5, "column": 31}
    assert item["end_location"] == {"row": 5, "column": 40}
    assert item["fix"]["replacement"] == "tf.exp(tf.minimum(x, 0.))"
    assert item["fix"]["edits"] == [
        {"content": "tf.minimum(x, 0.)", "location": {"row": 5, "column": 38}, "end_location": {"row": 5, "column": 39}}
    ]
    assert item["url"].endswith("docs/rules.md#tfn001-exp-overflow-in-select")


def test_help_rules_and_rule():
    help_text = run("--help").stdout.decode()
    for needle in ("--select", "--ignore", "--strict", "noqa", "exit status", "tflint-nan rule TFN001"):
        assert needle in help_text
    rules = run("rules").stdout.decode().splitlines()
    assert [line.split()[0] for line in rules] == ["TFN001", "TFN002", "TFN003", "TFN004", "TFN005", "TFN006",
                                                   "TFN007", "TFN008", "TFN009", "TFN010", "TFN011",
                                                   "TFN999"]
    explained = run("rule", "tfn002")
    assert explained.returncode == 0
    text = explained.stdout.decode()
    for heading in ("Why", "Bad", "Good", "Fix"):
        assert f"\n{heading}\n" in text
    assert "tf.math.log(tf.where(x > 0, x, 1.))" in text
    unknown = run("rule", "TFN123")
    assert unknown.returncode == 2 and "usage: tflint-nan rule CODE" in unknown.stderr.decode()


def test_static_linting_never_imports_tensorflow(tmp_path):
    path = write(tmp_path, "buggy.py", BUGGY)
    code = (
        "import sys; from tflint_nan.cli import main; rc = main([sys.argv[1]]); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules; sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert result.returncode == 1, result.stderr
