"""The pre-commit hooks, run by the real pre-commit (``try-repo``) in a temporary git repository.

The hook repository is a temporary git repository holding this checkout's files as they are on disk (committed
or not), so the hooks are tested as the working tree defines them. pre-commit builds the hooks' virtualenv from
it with pip once per test session (``PRE_COMMIT_HOME`` is a temporary directory).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path) -> Path:
    """A user's repository: a buggy model and a buggy generated file that the configuration excludes."""
    write(tmp_path, "model.py", BUGGY)
    write(tmp_path, "generated/model_gen.py", BUGGY)
    write(tmp_path, "pyproject.toml", '[tool.tflint-nan]\nextend-exclude = ["generated/"]\n')
    git("init", "-q", cwd=tmp_path)
    git("add", "-A", cwd=tmp_path)
    return tmp_path


def try_repo(hook: str, project: Path, hook_repository: Path, pre_commit_home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **GIT_IDENTITY, "PRE_COMMIT_HOME": str(pre_commit_home), "PRE_COMMIT_COLOR": "never",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repository), hook, "--all-files"],
        cwd=project, capture_output=True, text=True, env=env, timeout=600,
    )


def test_the_lint_hook_fails_and_prints_the_finding(project, hook_repository, pre_commit_home):
    result = try_repo("tflint-nan", project, hook_repository, pre_commit_home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "- hook id: tflint-nan\n- exit code: 1" in result.stdout
    assert "model.py:5:31: TFN001 tf.exp(x) in the false branch of tf.where" in result.stdout
    assert "model.py:9:28: TFN002" in result.stdout
    assert "generated/" not in result.stdout  # pre-commit names the file, --force-exclude leaves it out
    assert "Found 2 problems in 1 file (1 file checked)." in result.stdout


def test_the_lint_hook_passes_a_clean_repository(project, hook_repository, pre_commit_home):
    write(project, "model.py", FIXED)
    git("add", "-A", cwd=project)
    result = try_repo("tflint-nan", project, hook_repository, pre_commit_home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tflint-nan..." in result.stdout and "Passed" in result.stdout


def test_the_fix_hook_fixes_the_file_and_fails_once_then_both_hooks_pass(project, hook_repository, pre_commit_home):
    first = try_repo("tflint-nan-fix", project, hook_repository, pre_commit_home)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "- files were modified by this hook" in first.stdout
    assert (project / "model.py").read_text() == FIXED
    assert (project / "generated" / "model_gen.py").read_text() == BUGGY  # excluded: left alone
    git("add", "-A", cwd=project)
    again = try_repo("tflint-nan-fix", project, hook_repository, pre_commit_home)
    assert again.returncode == 0, again.stdout + again.stderr
    lint = try_repo("tflint-nan", project, hook_repository, pre_commit_home)
    assert lint.returncode == 0, lint.stdout + lint.stderr
