"""Each file's result, remembered under ``.tflint_nan_cache/`` in the project root so a re-run reads it back.

A result is found by the file's path (as given) and whether it was named explicitly, and is used only when the
file's bytes hash to the digest stored with it; the directory it lives in is named after the tool (its version and
a hash of its own source, so an edited checkout never reuses results) and the full settings.  A result can
therefore never be served for other bytes, another version or other settings: a changed file (``--fix`` rewrote it,
an editor saved it) is simply linted again.

Most files have no findings: their digests share one index file, read once per process and written once per run
(creating a file per result costs more than linting most files).  A file with findings or an error gets an entry
file of its own.  Both are written to a temporary name and renamed into place, so concurrent runs never read half a
file; the last writer wins, and what a concurrent run's index loses is merely linted again.  An index or entry
that cannot be read or decoded is ignored (and rewritten).  Nothing here ever fails a run: a cache that cannot be
written is a cache that is not used.  Results of other versions are never read again but are not deleted either
(deleting thousands of entries would stall the first run after an upgrade): remove the directory to reclaim space.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from . import __version__
from .finding import Edit, FileResult, Finding, Fix, Position
from .project import dependency_signature

CACHE_DIRECTORY = ".tflint_nan_cache"
CLEAN_INDEX = "clean.json"  # key of a file without findings -> the digest of its bytes (and what it depended on)
_RESULT_TYPES = {cls.__name__: cls for cls in (FileResult, Finding, Position, Edit, Fix)}
_PACKAGE = Path(__file__).resolve().parent


class Cache:
    """The results for one tool build and one ``Settings`` value, under ``project_root``."""

    def __init__(self, project_root: str, settings) -> None:
        self.root = os.path.join(project_root, CACHE_DIRECTORY)
        self.directory = os.path.join(self.root, tool_fingerprint(), settings_key(settings))
        self._clean: dict[str, str] | None = None  # the index as read
        self._new_clean: dict = {}  # what this run adds to it: a digest, or [digest, dependencies]

    def holds_results(self) -> bool:
        """Whether any result has been stored for this build and these settings."""
        return os.path.isdir(self.directory)

    @staticmethod
    def digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def get(self, path: str, explicit: bool, digest: str) -> FileResult | None:
        """The stored result of linting ``path`` when its bytes had ``digest``, or None."""
        key = _key(path, explicit)
        clean = self._clean_index().get(key)
        if clean == digest:
            return FileResult(path)
        if isinstance(clean, list) and len(clean) == 2 and clean[0] == digest and _still_valid(clean[1]):
            return FileResult(path, dependencies=tuple(tuple(pair) for pair in clean[1]))
        try:
            with open(self._entry(key), "rb") as handle:
                entry = json.loads(handle.read())
            if entry["digest"] != digest:
                return None
            result = _decode(entry["result"])
            if not isinstance(result, FileResult) or result.path != path:
                return None
            return result if _still_valid(result.dependencies) else None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # absent, or not an entry this version wrote: lint the file again

    def put(self, path: str, explicit: bool, digest: str, result: FileResult) -> None:
        """Remember ``result`` for these bytes; files without findings are written by ``save``."""
        key = _key(path, explicit)
        if result == FileResult(path):
            self._new_clean[key] = [digest, [list(pair) for pair in result.dependencies]] if (
                result.dependencies) else digest
            return
        try:
            text = json.dumps({"digest": digest, "result": _encode(result)}, separators=(",", ":"))
        except TypeError:
            return  # holds something only this run knows how to represent
        self._write(self._entry(key), text)

    def save(self) -> None:
        """Add this run's files without findings to the index (re-read first: another run may have added some)."""
        if not self._new_clean:
            return
        index = {**self._read_index(), **self._new_clean}
        self._write(os.path.join(self.directory, CLEAN_INDEX), json.dumps(index, separators=(",", ":")))
        self._clean, self._new_clean = index, {}

    def _clean_index(self) -> dict:
        if self._clean is None:
            self._clean = self._read_index()
        return self._clean

    def _read_index(self) -> dict[str, str]:
        try:
            with open(os.path.join(self.directory, CLEAN_INDEX), "rb") as handle:
                index = json.loads(handle.read())
        except (OSError, ValueError):
            return {}
        return index if isinstance(index, dict) else {}

    def _entry(self, key: str) -> str:
        return os.path.join(self.directory, hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32])

    def _write(self, path: str, text: str) -> None:
        """Write ``text`` to ``path`` atomically; give up silently when the cache cannot be written."""
        temporary = f"{path}.{os.getpid()}.tmp"
        try:
            self._prepare()
            with open(temporary, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, path)
        except OSError:
            try:
                os.unlink(temporary)
            except OSError:
                pass

    def _prepare(self) -> None:
        if os.path.isdir(self.directory):
            return
        os.makedirs(self.directory, exist_ok=True)
        # Like pytest's and ruff's caches: never committed, skipped by backup tools.
        for name, text in ((".gitignore", "# created by tflint-nan\n*\n"),
                           ("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n"
                                            "# This directory is a cache created by tflint-nan.\n")):
            marker = os.path.join(self.root, name)
            if not os.path.exists(marker):
                with open(marker, "w", encoding="utf-8") as stream:
                    stream.write(text)


def tool_fingerprint() -> str:
    """The version and a digest of the package's own source: results of other code are never reused."""
    digest = hashlib.sha256(__version__.encode())
    for source in sorted(_PACKAGE.rglob("*.py")):
        digest.update(source.relative_to(_PACKAGE).as_posix().encode())
        digest.update(source.read_bytes())
    return f"{__version__}-{digest.hexdigest()[:16]}"


def settings_key(settings) -> str:
    """A digest of every field of the settings, independent of set order and hash seeds."""
    return hashlib.sha256(json.dumps(_canonical(settings)).encode()).hexdigest()[:16]


def _still_valid(dependencies) -> bool:
    """Whether the other files a result depended on (modules it read, the project it searched for callers) are
    as they were."""
    try:
        return all(dependency_signature(key) == signature for key, signature in dependencies)
    except (TypeError, ValueError):
        return False  # not what this version writes


def _key(path: str, explicit: bool) -> str:
    return f"{int(explicit)}:{path}"


def _canonical(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [type(value).__name__, {field.name: _canonical(getattr(value, field.name))
                                       for field in dataclasses.fields(value)}]
    if isinstance(value, (set, frozenset)):
        return ["set", sorted((_canonical(item) for item in value), key=json.dumps)]
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if isinstance(value, dict):
        return ["dict", sorted(([_canonical(k), _canonical(v)] for k, v in value.items()), key=json.dumps)]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def _encode(value):
    if dataclasses.is_dataclass(value) and type(value).__name__ in _RESULT_TYPES:
        return {"type": type(value).__name__,
                "fields": {field.name: _encode(getattr(value, field.name)) for field in dataclasses.fields(value)}}
    if isinstance(value, tuple):
        return {"type": "tuple", "items": [_encode(item) for item in value]}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot store {type(value).__name__}")


def _decode(value):
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, dict):
        if value["type"] == "tuple":
            return tuple(_decode(item) for item in value["items"])
        return _RESULT_TYPES[value["type"]](**{name: _decode(item) for name, item in value["fields"].items()})
    return value
