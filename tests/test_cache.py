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
from tflint_nan.cache import CACHE_DIRECTORY, CLEAN_INDEX, Cache, settings_key
from tflint_nan.files import lint_bytes
from tflint_nan.lint import Settings


def result_for(source: str, path: str = "module.py"):
    return lint_bytes(source.encode(), path, Settings())


def digest(source: str) -> str:
    return Cache.digest(source.encode())


def test_a_stored_result_comes_back_whole(tmp_path):
    cache = Cache(str(tmp_path), Settings())
    result = result_for(BUGGY)
    assert result.findings and result.findings[0].fix is not None
    cache.put("module.py", True, digest(BUGGY), result)
    assert Cache(str(tmp_path), Settings()).get("module.py", True, digest(BUGGY)) == result


def test_files_without_findings_share_an_index_written_once(tmp_path):
    cache = Cache(str(tmp_path), Settings())
    sources = {f"clean_{n}.py": f"x = {n}\n" for n in range(50)}
    for path, source in sources.items():
        cache.put(path, False, digest(source), result_for(source, path))
    assert not os.path.exists(cache.directory)  # nothing written yet
    cache.save()
    assert os.listdir(cache.directory) == [CLEAN_INDEX]
    reader = Cache(str(tmp_path), Settings())
    assert all(reader.get(path, False, digest(source)) == result_for(source, path)
               for path, source in sources.items())
    assert reader.get("clean_1.py", False, digest("x = 2\n")) is None


def test_other_bytes_path_explicitness_or_settings_miss(tmp_path):
    cache = Cache(str(tmp_path), Settings())
    for source in (BUGGY, "x = 1\n"):
        cache.put("module.py", True, digest(source), result_for(source))
    cache.save()
    for source in (BUGGY, "x = 1\n"):
        assert cache.get("module.py", True, digest(source)) is not None
        assert cache.get("module.py", True, digest(FIXED)) is None
        assert cache.get("other.py", True, digest(source)) is None
        assert cache.get("module.py", False, digest(source)) is None
        for settings in (Settings(strict=True), Settings(ignore=frozenset({"TFN001"}))):
            assert Cache(str(tmp_path), settings).get("module.py", True, digest(source)) is None


def test_a_file_that_changes_between_clean_and_findings_is_never_served_stale(tmp_path):
    cache = Cache(str(tmp_path), Settings())
    for source in (FIXED, BUGGY, FIXED, BUGGY):
        assert cache.get("module.py", True, digest(source)) in (None, result_for(source))
        cache.put("module.py", True, digest(source), result_for(source))
        cache.save()
        assert Cache(str(tmp_path), Settings()).get("module.py", True, digest(source)) == result_for(source)


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


DAMAGE = [b"", b"{not json", b'{"digest": 1}', b"\x00\xff" * 10, b"[1, 2]",
          b'{"digest": "x", "result": {"type": "Unknown", "fields": {}}}']


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_entry_is_ignored_and_rewritten(tmp_path, damage):
    cache = Cache(str(tmp_path), Settings())
    cache.put("module.py", True, digest(BUGGY), result_for(BUGGY))
    (entry,) = os.scandir(cache.directory)
    with open(entry.path, "wb") as handle:
        handle.write(damage)
    assert Cache(str(tmp_path), Settings()).get("module.py", True, digest(BUGGY)) is None
    cache.put("module.py", True, digest(BUGGY), result_for(BUGGY))
    assert Cache(str(tmp_path), Settings()).get("module.py", True, digest(BUGGY)) == result_for(BUGGY)


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_index_is_ignored_and_rewritten(tmp_path, damage):
    cache = Cache(str(tmp_path), Settings())
    cache.put("clean.py", True, digest(FIXED), result_for(FIXED, "clean.py"))
    cache.save()
    with open(os.path.join(cache.directory, CLEAN_INDEX), "wb") as handle:
        handle.write(damage)
    reader = Cache(str(tmp_path), Settings())
    assert reader.get("clean.py", True, digest(FIXED)) is None
    reader.put("clean.py", True, digest(FIXED), result_for(FIXED, "clean.py"))
    reader.save()
    assert Cache(str(tmp_path), Settings()).get("clean.py", True, digest(FIXED)) == result_for(FIXED, "clean.py")


def test_an_entry_whose_result_names_another_path_is_not_used(tmp_path):
    cache = Cache(str(tmp_path), Settings())
    cache.put("module.py", True, digest(BUGGY), result_for(BUGGY))
    (entry,) = os.scandir(cache.directory)
    stored = json.loads(open(entry.path, "rb").read())
    stored["result"]["fields"]["path"] = "elsewhere.py"
    with open(entry.path, "w") as handle:
        json.dump(stored, handle)
    assert cache.get("module.py", True, digest(BUGGY)) is None


def test_an_unwritable_cache_is_no_error(tmp_path):
    blocker = tmp_path / CACHE_DIRECTORY
    blocker.write_text("a file where the directory would be")
    cache = Cache(str(tmp_path), Settings())
    cache.put("module.py", True, digest(BUGGY), result_for(BUGGY))
    cache.put("clean.py", True, digest(FIXED), result_for(FIXED, "clean.py"))
    cache.save()
    assert cache.get("module.py", True, digest(BUGGY)) is None


def _write_and_read(arguments) -> bool:
    """A run that stores and reads results for files that another run, at the same time, stores differently."""
    root, worker = arguments
    correct = True
    for round_ in range(30):
        cache = Cache(root, Settings())
        for number in range(5):
            source = BUGGY if (round_ + worker + number) % 2 else FIXED
            path = f"shared_{number}.py"
            stored = cache.get(path, True, digest(source))
            correct &= stored is None or stored == result_for(source, path)
            cache.put(path, True, digest(source), result_for(source, path))
        cache.save()
    return correct


def test_concurrent_runs_never_read_a_partial_or_wrong_result(tmp_path):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        assert all(pool.map(_write_and_read, [(str(tmp_path), worker) for worker in range(4)]))
    directory = Cache(str(tmp_path), Settings()).directory
    assert not [name for name in os.listdir(directory) if name.endswith(".tmp")]


def test_cache_directory_is_marked_and_ignored_by_git(tmp_path):
    Cache(str(tmp_path), Settings()).put("module.py", True, digest(BUGGY), result_for(BUGGY))
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


def test_a_result_that_read_other_modules_is_redone_when_they_change(tmp_path):
    """A finding silenced because every caller elsewhere only matches, or a constant read from another module,
    depends on those files: the cached result is used only while they (and the project's list of files) stay."""
    write(tmp_path, "pyproject.toml", "[tool.tflint-nan]\n")
    write(tmp_path, "app/utils/__init__.py", "")
    write(tmp_path, "app/utils/box_ops.py",
          "import tensorflow as tf\n\n\ndef iou(a, b):\n    return tf.where(b > 0., a / b, 0.)\n")
    caller = write(tmp_path, "app/targets.py",
                   "import tensorflow as tf\nfrom utils.box_ops import iou\n\n\n"
                   "def match(a, b):\n    return tf.argmax(iou(a, b), axis=1)\n")
    assert tflint_nan("app", cwd=tmp_path).stdout == ""
    assert tflint_nan("app", cwd=tmp_path).stdout == ""  # served from the cache
    caller.write_text("import tensorflow as tf\nfrom utils.box_ops import iou\n\n\n"
                      "def loss(a, b):\n    return tf.reduce_mean(iou(a, b))\n")
    assert "box_ops.py:5" in tflint_nan("app", cwd=tmp_path).stdout
    caller.unlink()
    write(tmp_path, "app/new_caller.py", "import tensorflow as tf\nfrom utils.box_ops import iou\n\n\n"
                                         "def match(a, b):\n    return tf.argmax(iou(a, b), axis=1)\n")
    assert tflint_nan("app", cwd=tmp_path).stdout == ""
