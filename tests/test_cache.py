"""The results cache: reused only for the same bytes, tool and settings; never stale; safe to share and to break."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys

import pytest

from command import BUGGY, FIXED, ROOT, tflint_nan, write
from tflint_nan import cache as cache_module
from tflint_nan.cache import CACHE_DIRECTORY, Cache, settings_key
from tflint_nan.lint import Settings, lint_bytes


def result_for(source: str, path: str = "module.py"):
    return lint_bytes(source.encode(), path, Settings())


def test_a_stored_result_comes_back_whole(tmp_path):
    cache = Cache(str(tmp_path), Settings())
    result = result_for(BUGGY)
    assert result.findings and result.findings[0].fix is not None
    cache.put("module.py", True, BUGGY.encode(), result)
    assert cache.get("module.py", True, BUGGY.encode()) == result


def test_other_bytes_path_explicitness_or_settings_miss(tmp_path):
    cache = Cache(str(tmp_path), Settings())
    cache.put("module.py", True, BUGGY.encode(), result_for(BUGGY))
    assert cache.get("module.py", True, FIXED.encode()) is None
    assert cache.get("other.py", True, BUGGY.encode()) is None
    assert cache.get("module.py", False, BUGGY.encode()) is None
    assert Cache(str(tmp_path), Settings(strict=True)).get("module.py", True, BUGGY.encode()) is None
    assert Cache(str(tmp_path), Settings(ignore=frozenset({"TFN001"}))).get("module.py", True, BUGGY.encode()) is None


def test_the_settings_key_covers_every_field_and_ignores_set_order():
    first = Settings(select=frozenset({"TFN001", "TFN002", "TFN003"}), ignore=frozenset({"TFN004"}))
    second = Settings(select=frozenset({"TFN003", "TFN001", "TFN002"}), ignore=frozenset({"TFN004"}))
    assert settings_key(first) == settings_key(second)
    keys = {settings_key(Settings()), settings_key(Settings(strict=True)), settings_key(first),
            settings_key(Settings(per_file_ignores=(("tests/*", frozenset({"TFN001"})),), project_root="/p"))}
    assert len(keys) == 4


def test_the_settings_key_is_the_same_in_every_process():
    code = ("from tflint_nan.cache import settings_key; from tflint_nan.lint import Settings; "
            "print(settings_key(Settings(select=frozenset({'TFN001', 'TFN002', 'TFN003', 'TFN004'}))))")
    keys = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                           env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}).stdout
            for seed in ("1", "2", "3")}
    assert len(keys) == 1


def test_the_tool_fingerprint_names_the_version_and_changes_with_the_code(tmp_path, monkeypatch):
    fingerprint = cache_module.tool_fingerprint()
    assert fingerprint.startswith(cache_module.__version__ + "-")
    package = tmp_path / "package"
    package.mkdir()
    (package / "module.py").write_text("x = 1\n")
    monkeypatch.setattr(cache_module, "_PACKAGE", package)
    before = cache_module.tool_fingerprint()
    (package / "module.py").write_text("x = 2\n")
    assert cache_module.tool_fingerprint() != before


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"digest": 1}', b"\x00\xff" * 10,
                                    b'{"digest": "x", "result": {"type": "Unknown", "fields": {}}}'])
def test_a_damaged_entry_is_ignored_and_rewritten(tmp_path, damage):
    cache = Cache(str(tmp_path), Settings())
    data = BUGGY.encode()
    cache.put("module.py", True, data, result_for(BUGGY))
    (entry,) = [path for path in os.scandir(cache.directory) if not path.name.startswith(".")]
    with open(entry.path, "wb") as handle:
        handle.write(damage)
    assert cache.get("module.py", True, data) is None
    cache.put("module.py", True, data, result_for(BUGGY))
    assert cache.get("module.py", True, data) == result_for(BUGGY)


def test_an_entry_for_a_valid_digest_with_a_forged_result_is_not_trusted_blindly(tmp_path):
    cache = Cache(str(tmp_path), Settings())
    data = BUGGY.encode()
    cache.put("module.py", True, data, result_for(BUGGY))
    (entry,) = [path for path in os.scandir(cache.directory) if not path.name.startswith(".")]
    stored = json.loads(open(entry.path, "rb").read())
    stored["result"]["fields"]["path"] = "elsewhere.py"
    with open(entry.path, "w") as handle:
        json.dump(stored, handle)
    assert cache.get("module.py", True, data) is None


def test_an_unwritable_cache_is_no_error(tmp_path):
    blocker = tmp_path / CACHE_DIRECTORY
    blocker.write_text("a file where the directory would be")
    cache = Cache(str(tmp_path), Settings())
    cache.put("module.py", True, BUGGY.encode(), result_for(BUGGY))
    assert cache.get("module.py", True, BUGGY.encode()) is None


def _write_and_read(arguments) -> list[bool]:
    root, worker = arguments
    cache = Cache(root, Settings())
    outcomes = []
    for round_ in range(40):
        source = BUGGY if (round_ + worker) % 2 else FIXED
        data = source.encode()
        cache.put("shared.py", True, data, result_for(source, "shared.py"))
        stored = cache.get("shared.py", True, data)
        outcomes.append(stored is None or stored == result_for(source, "shared.py"))
    return outcomes


def test_concurrent_runs_never_read_a_partial_or_wrong_entry(tmp_path):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        outcomes = pool.map(_write_and_read, [(str(tmp_path), worker) for worker in range(4)])
    assert all(all(worker) for worker in outcomes)
    directory = Cache(str(tmp_path), Settings()).directory
    assert not [name for name in os.listdir(directory) if name.startswith(".entry-")]


def test_cache_directory_is_marked_and_ignored_by_git(tmp_path):
    Cache(str(tmp_path), Settings()).put("module.py", True, b"x = 1\n", result_for("x = 1\n"))
    assert (tmp_path / CACHE_DIRECTORY / ".gitignore").read_text().splitlines()[-1] == "*"
    tag = (tmp_path / CACHE_DIRECTORY / "CACHEDIR.TAG").read_text()
    assert tag.startswith("Signature: 8a477f597d28d172789f06886806bc55")


# -- through the command line -----------------------------------------------------------------------------------------
def test_a_warm_run_reports_what_a_cold_run_reports_and_a_change_is_seen(tmp_path):
    write(tmp_path, "pyproject.toml", "[tool.tflint-nan]\n")
    module = write(tmp_path, "pkg/module.py", BUGGY)
    write(tmp_path, "pkg/other.py", "import tensorflow as tf\n")
    cold = tflint_nan("pkg", cwd=tmp_path)
    assert (tmp_path / CACHE_DIRECTORY).is_dir()
    warm = tflint_nan("pkg", cwd=tmp_path)
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert "TFN001" in warm.stdout
    module.write_text(FIXED)
    fixed = tflint_nan("pkg", cwd=tmp_path)
    assert fixed.returncode == 0 and fixed.stdout == ""
    module.write_text(BUGGY)
    assert tflint_nan("pkg", cwd=tmp_path).stdout == cold.stdout


def test_fix_never_uses_a_stale_result(tmp_path):
    write(tmp_path, "pyproject.toml", "[tool.tflint-nan]\n")
    module = write(tmp_path, "module.py", BUGGY)
    assert tflint_nan("module.py", cwd=tmp_path).returncode == 1  # cached: findings
    assert tflint_nan("--fix", "module.py", cwd=tmp_path).returncode == 0
    assert module.read_text() == FIXED
    after = tflint_nan("module.py", cwd=tmp_path)
    assert after.returncode == 0 and after.stdout == ""


def test_settings_from_the_configuration_are_part_of_the_key(tmp_path):
    config = write(tmp_path, "pyproject.toml", "[tool.tflint-nan]\n")
    write(tmp_path, "module.py", BUGGY)
    assert "TFN001" in tflint_nan("module.py", cwd=tmp_path).stdout
    config.write_text('[tool.tflint-nan]\nignore = ["TFN001"]\n')
    assert "TFN001" not in tflint_nan("module.py", cwd=tmp_path).stdout
    config.write_text('[tool.tflint-nan]\nper-file-ignores = {"module.py" = ["TFN001"]}\n')
    assert "TFN001" not in tflint_nan("module.py", cwd=tmp_path).stdout


def test_no_cache_neither_reads_nor_writes(tmp_path):
    write(tmp_path, "pyproject.toml", "[tool.tflint-nan]\n")
    write(tmp_path, "module.py", BUGGY)
    result = tflint_nan("--no-cache", "module.py", cwd=tmp_path)
    assert result.returncode == 1 and not (tmp_path / CACHE_DIRECTORY).exists()
