"""The pre-commit hooks, run by the real pre-commit (``try-repo``) in a temporary git repository.

The hook repository is a temporary git repository holding this checkout's files as they are on disk (committed
or not), so the hooks are tested as the working tree defines them. For each ``try-repo`` pre-commit builds the
hooks' virtualenv from it with pip (from PyPI or pip's cache: libcst, pathspec, setuptools); ``PRE_COMMIT_HOME``
is a temporary directory, so nothing of the user's pre-commit cache is used or changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from command import BUGGY, FIXED, ROOT, write

# What the hook repository needs when this checkout is not a git work tree.
PACKAGE_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "tflint_nan")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "tflint-nan tests", "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "tflint-nan tests", "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_IDENTITY})


def checkout_files() -> list[str]:
    """The checkout's files that git would see: tracked and untracked, without ignored ones."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True)
    if listed.returncode != 0:
        return list(PACKAGE_FILES)
    return [name for name in listed.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def hook_repository(tmp_path_factory) -> Path:
    repository = tmp_path_factory.mktemp("hook-repository")
    for name in checkout_files():
        source, target = ROOT / name, repository / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git("init", "-q", cwd=repository)
    git("add", "-A", cwd=repository)
    git("commit", "-q", "-m", "tflint-nan as checked out", cwd=repository)
    return repository


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    """pre-commit's own directory (its log, its store for anything but try-repo)."""
    return tmp_path_factory.mktemp("pre-commit-home")


NOTEBOOK_CELLS = ("import tensorflow as tf", "y = tf.where(x > 0, tf.math.log(x), 0.)")


@pytest.fixture
def project(tmp_path) -> Path:
    """A user's repository: a buggy model, a buggy notebook and a buggy generated file that the configuration
    excludes."""
    write(tmp_path, "model.py", BUGGY)
    nbformat.write(new_notebook(cells=[new_code_cell(source) for source in NOTEBOOK_CELLS]),
                   str(tmp_path / "explore.ipynb"))
    write(tmp_path, "generated/model_gen.py", BUGGY)
    write(tmp_path, "pyproject.toml", '[tool.tflint-nan]\nextend-exclude = ["generated/"]\n')
    git("init", "-q", cwd=tmp_path)
    git("add", "-A", cwd=tmp_path)
    return tmp_path


def try_repo(project: Path, hook_repository: Path, pre_commit_home: Path) -> subprocess.CompletedProcess:
    """``pre-commit try-repo HOOK_REPOSITORY --all-files``: every hook the repository defines, in order.

    try-repo installs the hooks into a fresh store each time (pip builds the package once per call), so the test
    runs it as few times as the story needs.
    """
    env = {**os.environ, **GIT_IDENTITY, "PRE_COMMIT_HOME": str(pre_commit_home), "PRE_COMMIT_COLOR": "never",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repository), "--all-files"],
        cwd=project, capture_output=True, text=True, env=env, timeout=600,
    )


LINT, FIX = "tflint-nan", "tflint-nan (apply safe fixes)"  # the hooks' names in .pre-commit-hooks.yaml


def hook_sections(output: str) -> dict[str, tuple[str, str]]:
    """Each hook's (status, details and output) from pre-commit's report, by hook name."""
    statuses = list(re.finditer(r"^(\S[^\n]*?)\.{3,}(Passed|Failed)$", output, re.MULTILINE))
    ends = [match.start() for match in statuses[1:]] + [len(output)]
    return {match.group(1): (match.group(2), output[match.end():end]) for match, end in zip(statuses, ends)}


def test_the_hooks_report_then_fix_then_pass(project, hook_repository, pre_commit_home):
    first = try_repo(project, hook_repository, pre_commit_home)
    assert first.returncode == 1, first.stdout + first.stderr
    hooks = hook_sections(first.stdout)
    assert sorted(hooks) == [LINT, FIX], first.stdout

    # the lint hook fails and prints the findings, in the Python file and in the notebook (types_or: jupyter)
    status, lint = hooks[LINT]
    assert status == "Failed" and "- hook id: tflint-nan\n- exit code: 1\n" in lint
    assert "model.py:5:31: TFN001 tf.exp(x) in the false branch of tf.where" in lint
    assert "model.py:9:28: TFN002" in lint
    assert "explore.ipynb:cell 2:1:21: TFN002" in lint
    assert "generated/" not in lint  # pre-commit names the file; --force-exclude leaves it out
    assert "Found 3 problems in 2 files (2 files checked)." in lint

    # the fix hook rewrites the files and fails because it changed them
    status, fix = hooks[FIX]
    assert status == "Failed" and "- hook id: tflint-nan-fix\n- files were modified by this hook" in fix
    assert (project / "model.py").read_text() == FIXED
    fixed_cell = nbformat.read(str(project / "explore.ipynb"), as_version=4).cells[1].source
    assert fixed_cell == "y = tf.where(x > 0, tf.math.log(tf.where(x > 0, x, 1.)), 0.)"
    assert (project / "generated" / "model_gen.py").read_text() == BUGGY  # excluded: left alone

    # with the fixes staged, both hooks pass
    git("add", "-A", cwd=project)
    second = try_repo(project, hook_repository, pre_commit_home)
    assert second.returncode == 0, second.stdout + second.stderr
    assert {name: status for name, (status, _) in hook_sections(second.stdout).items()} == {
        LINT: "Passed", FIX: "Passed",
    }
