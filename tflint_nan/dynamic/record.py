"""Record mode: a pytest plugin that watches, during the user's own test run, the functions that hold findings.

``pytest --tflint-nan-record`` lints the project under pytest's rootdir (its ``[tool.tflint-nan]`` configuration,
with ``strict`` on so that every finding ``--strict`` can report is covered), then watches the calls of exactly the
functions and methods that hold findings, and the constructor calls (``__init__``) of the classes that hold them.
For each parameter it keeps the Python type, the dtype and shape of tensors, NumPy arrays and variables, the range
of the finite values (and whether NaN or inf was seen), the distinct values of Python numbers, and for
constructors the first call whose arguments are all literals.  At the end of the session the recordings are
written to ``.tflint_nan_cache/recordings.json`` in the project root; ``--dynamic`` reads them back
(``load_recordings``) and probes with the recorded dtypes, shapes and ranges.  No user code is changed.

``pytest --tflint-nan-record-eagerly`` records the same way with ``tf.config.run_functions_eagerly(True)`` for the
session (restored at its end): a ``tf.function`` is otherwise traced, and AutoGraph's trace runs a generated copy
of the code that the profile function never sees (a trace without AutoGraph is seen, with symbolic tensors that
have no values).

Calls are seen through ``sys.setprofile`` (and ``threading.setprofile`` for new threads): the profile function
looks a code object up once by identity and does nothing more for code that holds no finding.  Without the flag
the plugin registers its option and nothing else: no profile function, no linting.  Nothing here may fail the
user's test run: every error inside the plugin is caught, and the first one is reported in the terminal summary.

The file format (``FORMAT_VERSION`` 1)::

    {"version": 1, "tool": "tflint-nan",
     "files": {"<path relative to the project root, with />": {
        "<qualified name: normalize, GatedELU.call>": {
            "calls": 12,
            "parameters": {"<name>": {"calls": 12, "types": ["EagerTensor"], "dtypes": ["float32"],
                                      "shapes": [[4, 3]], "min": -1.5, "max": 2.0, "nan": false, "inf": false,
                                      "values": [4.0]}}},
        "<class name: GatedELU>": {
            "calls": 1, "parameters": {...},
            "constructor": {"args": [], "kwargs": {"units": 4, "alpha": 1.0}}}}}}

``values`` holds the distinct Python numbers (and 0-d values) seen, at most ``MAX_VALUES``; ``shapes``, ``types``
and ``dtypes`` keep at most ``MAX_DISTINCT`` entries each; a dimension that was unknown (a symbolic tensor during
tracing) is ``null``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import threading

RECORDINGS_FILE = "recordings.json"
FORMAT_VERSION = 1
MAX_DISTINCT = 4  # shapes, types and dtypes kept per parameter
MAX_VALUES = 8  # distinct Python numbers kept per parameter
MAX_RECORDED_CALLS = 200  # calls of one function whose arguments are summarized; later ones are only counted
MAX_ELEMENTS = 1_000_000  # larger arrays get dtype and shape only: their range would cost too much
_PYTHON_NUMBERS = ("bool", "int", "float")


# -- reading recordings (the dynamic mode) -------------------------------------------------------------------------
def recordings_path(project_root: str) -> str:
    from ..cache import CACHE_DIRECTORY

    return os.path.join(project_root, CACHE_DIRECTORY, RECORDINGS_FILE)


def load_recordings(path: str) -> dict[str, dict]:
    """The recordings of the file ``path`` (qualified name -> record): from the nearest directory above it whose
    cache directory holds a recordings file; empty when there is none or it cannot be read."""
    from ..cache import CACHE_DIRECTORY

    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    while True:
        candidate = os.path.join(directory, CACHE_DIRECTORY, RECORDINGS_FILE)
        if os.path.isfile(candidate):
            try:
                with open(candidate, "rb") as handle:
                    data = json.loads(handle.read())
                files = data.get("files", {}) if data.get("version") == FORMAT_VERSION else {}
                entry = files.get(os.path.relpath(target, directory).replace(os.sep, "/"))
                return entry if isinstance(entry, dict) else {}
            except (OSError, ValueError, AttributeError):
                return {}
        parent = os.path.dirname(directory)
        if parent == directory:
            return {}
        directory = parent


# -- summarizing values --------------------------------------------------------------------------------------------
def _new_parameter() -> dict:
    return {"calls": 0, "types": [], "dtypes": [], "shapes": [], "min": None, "max": None, "nan": False,
            "inf": False, "values": []}


def _add_distinct(items: list, item, limit: int = MAX_DISTINCT) -> None:
    if item not in items and len(items) < limit:
        items.append(item)


def _shape(value) -> list | None:
    shape = getattr(value, "shape", None)
    if shape is None:
        return None
    try:
        dims = list(shape)
    except (TypeError, ValueError):  # a shape of unknown rank
        return None
    out = []
    for dim in dims:
        dim = getattr(dim, "value", dim)  # TF 1's Dimension
        out.append(int(dim) if isinstance(dim, int) or (dim is not None and hasattr(dim, "__index__")) else None)
    return out


def _dtype(value) -> str | None:
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return None
    name = getattr(dtype, "name", None)
    return name if isinstance(name, str) else str(dtype)


def summarize(record: dict, value) -> None:
    """Fold one argument into its parameter's record."""
    record["calls"] += 1
    _add_distinct(record["types"], type(value).__name__)
    if isinstance(value, (bool, int, float)):
        _number(record, float(value))
        return
    dtype, shape = _dtype(value), _shape(value)
    if dtype is None or shape is None:
        return
    _add_distinct(record["dtypes"], dtype)
    _add_distinct(record["shapes"], shape)
    size = 1
    for dim in shape:
        size = size * dim if dim is not None else MAX_ELEMENTS + 1
    if size > MAX_ELEMENTS or not any(kind in dtype for kind in ("float", "int", "bool")):
        return
    array = _numpy(value)
    if array is None or array.size == 0:
        return
    import numpy as np

    with np.errstate(all="ignore"):
        data = array.astype(np.float64, copy=False).ravel()
        finite = data[np.isfinite(data)]
        record["nan"] = record["nan"] or bool(np.isnan(data).any())
        record["inf"] = record["inf"] or bool(np.isinf(data).any())
        if finite.size:
            _extend(record, float(finite.min()), float(finite.max()))
        if array.ndim == 0:
            _add_distinct(record["values"], float(data[0]), MAX_VALUES)


def _numpy(value):
    """The value as a NumPy array, or None for a symbolic tensor (a value only known when the graph runs)."""
    try:
        if hasattr(value, "numpy") and callable(value.numpy):
            value = value.numpy()
        import numpy as np

        return value if isinstance(value, np.ndarray) else np.asarray(value) if np.isscalar(value) else None
    except Exception:
        return None


def _number(record: dict, value: float) -> None:
    if math.isnan(value):
        record["nan"] = True
    elif math.isinf(value):
        record["inf"] = True
    else:
        _extend(record, value, value)
        _add_distinct(record["values"], value, MAX_VALUES)


def _extend(record: dict, low: float, high: float) -> None:
    record["min"] = low if record["min"] is None else min(record["min"], low)
    record["max"] = high if record["max"] is None else max(record["max"], high)


def _literal(value, depth: int = 0) -> bool:
    """Whether ``value`` can be written as a Python literal that builds the same value (and travels as JSON)."""
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if depth < 3 and isinstance(value, (list, tuple)):
        return len(value) <= 64 and all(_literal(item, depth + 1) for item in value)
    if depth < 3 and isinstance(value, dict):
        return len(value) <= 64 and all(isinstance(k, str) and _literal(v, depth + 1) for k, v in value.items())
    return False


# -- watching calls ------------------------------------------------------------------------------------------------
class Target:
    """One watched code object: a function or method that holds a finding, or the ``__init__`` of a class that
    holds one."""

    def __init__(self, file_key: str, name: str, constructor: bool = False, class_name: str | None = None):
        self.file_key, self.name, self.constructor, self.class_name = file_key, name, constructor, class_name
        self.record: dict = {"calls": 0, "parameters": {}}
        if constructor:
            self.record["constructor"] = None


class Recorder:
    def __init__(self, project_root: str):
        self.project_root = project_root
        # (real path of the file, qualified name of the code object, first line or None) -> Target
        self.targets: dict[tuple[str, str, int | None], Target] = {}
        self._known: dict[int, tuple] = {}  # id(code) -> (code, Target or None)
        self._real: dict[str, str] = {}  # co_filename -> its real path
        self.errors: list[str] = []
        self._previous = None
        self._previous_threads = None
        self._installed = False
        self.written: str | None = None
        self.eagerly = False  # tf.function bodies run eagerly while recording (``--tflint-nan-record-eagerly``)
        self._functions_ran_eagerly: bool | None = None  # TensorFlow's setting before, to restore

    # -- tf.function bodies run eagerly -----------------------------------------------------------------------------
    def run_functions_eagerly(self) -> None:
        """Make TensorFlow run ``tf.function`` bodies as Python, so the watched functions see values, not the
        symbolic tensors of a trace.  The tests then run as with ``tf.config.run_functions_eagerly(True)``."""
        import tensorflow as tf

        self._functions_ran_eagerly = tf.config.functions_run_eagerly()
        tf.config.run_functions_eagerly(True)
        self.eagerly = True

    def restore_functions(self) -> None:
        if self._functions_ran_eagerly is None:
            return
        import tensorflow as tf

        tf.config.run_functions_eagerly(self._functions_ran_eagerly)
        self._functions_ran_eagerly = None

    # -- which functions ------------------------------------------------------------------------------------------
    def find_targets(self) -> None:
        """Lint the project and watch the units that hold findings."""
        from ..cache import Cache
        from ..config import CommandLine, resolve
        from ..discovery import iter_files
        from ..knowledge import PARSE_ERROR_CODE
        from ..runner import lint_files
        from .extract import ModuleSlicer

        configuration = resolve([self.project_root], CommandLine(strict=True))
        if configuration.config_file is not None:
            self.project_root = configuration.project_root
        cache = Cache(self.project_root, configuration.settings)
        results = lint_files(iter_files([self.project_root], configuration.excludes), configuration.settings,
                             jobs=1, cache=cache)
        try:
            cache.save()
        except Exception:
            pass
        for result in results:
            findings = [f for f in result.findings if f.code != PARSE_ERROR_CODE and f.cell is None]
            if not findings or result.path == "-":
                continue
            try:
                with open(result.path, "rb") as handle:
                    from ..lint import decode

                    slicer = ModuleSlicer(decode(handle.read()), result.path)
            except Exception:
                continue
            real = os.path.realpath(result.path)
            key = os.path.relpath(real, os.path.realpath(self.project_root)).replace(os.sep, "/")
            for finding in findings:
                try:
                    unit = slicer.unit_at(finding.line, finding.start.column)
                except Exception:
                    continue
                if unit.name == "<module>":
                    continue
                self._watch(real, key, unit, slicer)

    def _watch(self, real: str, key: str, unit, slicer) -> None:
        if unit.kind == "class":
            if unit.method:
                self.targets.setdefault((real, unit.label, None), Target(key, unit.label))
            self.targets.setdefault((real, f"{unit.name}.__init__", None),
                                    Target(key, unit.name, constructor=True, class_name=unit.name))
            return
        node = slicer.tree.body[unit.steps[-1].statement] if unit.steps else None
        if node is not None and type(node).__name__ == "Assign":  # name = lambda ...: found by its line
            lam = node.value
            self.targets.setdefault((real, "<lambda>", lam.lineno), Target(key, unit.name))
        else:
            self.targets.setdefault((real, unit.name, None), Target(key, unit.name))

    # -- the profile function ------------------------------------------------------------------------------------
    def install(self) -> None:
        if not self.targets:
            return
        self._previous = sys.getprofile()
        self._previous_threads = threading.getprofile()  # a coverage or profiling tool's, kept for after
        sys.setprofile(self._profile)
        threading.setprofile(self._profile)
        self._installed = True

    def uninstall(self) -> None:
        if not self._installed:
            return
        if sys.getprofile() == self._profile:
            sys.setprofile(self._previous)
        threading.setprofile(self._previous_threads)
        self._installed = False

    def _profile(self, frame, event, arg) -> None:
        if event != "call":
            return
        code = frame.f_code
        known = self._known.get(id(code))
        if known is None or known[0] is not code:
            known = (code, self._classify(code))
            self._known[id(code)] = known
        if known[1] is not None:
            try:
                self._record(known[1], frame, code)
            except Exception as error:  # recording must never break the test run
                self.error(error)

    def _classify(self, code) -> Target | None:
        try:
            real = self._real.get(code.co_filename)
            if real is None:
                real = self._real[code.co_filename] = os.path.realpath(code.co_filename)
            qualname = getattr(code, "co_qualname", code.co_name)
            if qualname == "<lambda>":
                return self.targets.get((real, qualname, code.co_firstlineno))
            return self.targets.get((real, qualname, None))
        except Exception as error:
            self.error(error)
            return None

    def _record(self, target: Target, frame, code) -> None:
        record = target.record
        record["calls"] += 1
        if record["calls"] > MAX_RECORDED_CALLS:
            return
        local = frame.f_locals
        count = code.co_argcount + code.co_kwonlyargcount
        names = list(code.co_varnames[:count])
        star = code.co_varnames[count] if code.co_flags & 0x04 else None  # CO_VARARGS
        double = code.co_varnames[count + (1 if star else 0)] if code.co_flags & 0x08 else None  # CO_VARKEYWORDS
        is_method = "." in target.name or target.constructor
        if is_method and names and names[0] in ("self", "cls"):
            if target.constructor and type(local.get(names[0])).__name__ != target.class_name:
                record["calls"] -= 1  # a subclass's constructor passing through: its arguments are not ours
                return
            names = names[1:]
        parameters = record["parameters"]
        for name in names:
            if name in local:
                summarize(parameters.setdefault(name, _new_parameter()), local[name])
        for name, value in (local.get(double) or {}).items() if double else ():
            summarize(parameters.setdefault(name, _new_parameter()), value)
        if target.constructor and record.get("constructor") is None:
            positional = [n for n in code.co_varnames[:code.co_argcount] if n in names]
            extra = list(local.get(star) or ()) if star else []
            keywords = dict(local.get(double) or {}) if double else {}
            if extra:  # *args given: the named positional parameters must be passed by position too
                args = [local[n] for n in positional] + extra
                kwargs = {n: local[n] for n in names if n not in positional}
            else:
                args, kwargs = [], {n: local[n] for n in names if n in local}
            kwargs.update(keywords)
            if _literal(args) and _literal(kwargs):
                record["constructor"] = {"args": json.loads(json.dumps(args)),
                                         "kwargs": json.loads(json.dumps(kwargs))}

    def error(self, error: BaseException) -> None:
        if len(self.errors) < 1:
            self.errors.append(f"{type(error).__name__}: {error}")

    # -- writing ---------------------------------------------------------------------------------------------------
    def write(self) -> None:
        """Merge this session's recordings into the recordings file: a function recorded now replaces its older
        recording; those of functions not called this time are kept."""
        path = recordings_path(self.project_root)
        data = {"version": FORMAT_VERSION, "tool": "tflint-nan", "files": {}}
        try:
            with open(path, "rb") as handle:
                old = json.loads(handle.read())
            if isinstance(old, dict) and old.get("version") == FORMAT_VERSION and isinstance(old.get("files"), dict):
                data["files"] = old["files"]
        except (OSError, ValueError):
            pass
        recorded = 0
        for target in self.targets.values():
            if not target.record["calls"]:
                continue
            recorded += 1
            entry = data["files"].setdefault(target.file_key, {})
            record = {key: value for key, value in target.record.items()}
            if target.constructor:
                previous = entry.get(target.name, {})
                record = {**{k: v for k, v in previous.items() if k not in record}, **record}
            else:
                previous = entry.get(target.name)
                if isinstance(previous, dict) and "constructor" in previous:  # the class's method, same name
                    record = {**previous, **record}
            entry[target.name] = record
        if not recorded:
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        text = json.dumps(data, indent=1, sort_keys=True).encode("utf-8")
        descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".recordings.",
                                                 suffix=".tflint-nan.tmp")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(text)
            os.replace(temporary, path)  # readers see the old file or the new one, never a part
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
        self.written = path

    def traced_only(self) -> int:
        """How many watched functions saw a symbolic tensor (a ``tf.function`` being traced) and never its value."""
        return sum(1 for target in self.targets.values()
                   if any("SymbolicTensor" in parameter["types"] and parameter["min"] is None
                          for parameter in target.record["parameters"].values()))

    def summary(self) -> str:
        called = sum(1 for target in self.targets.values() if target.record["calls"])
        text = f"tflint-nan: recorded the calls of {called} of {len(self.targets)} watched functions"
        text += f" into {self.written}" if self.written else " (nothing written)"
        traced = self.traced_only()
        if traced and not self.eagerly:
            text += (f"; {traced} of them only saw symbolic tensors (traced by tf.function), whose values are "
                     "unknown: --tflint-nan-record-eagerly records their values")
        elif called < len(self.targets) and not self.eagerly and "tensorflow" in sys.modules:
            # AutoGraph traces a converted copy of a tf.function's code, which the profile function never sees.
            text += "; functions under tf.function are seen only with --tflint-nan-record-eagerly"
        if self.errors:
            text += f"; recording failed once: {self.errors[0]}"
        return text


# -- the pytest hooks ----------------------------------------------------------------------------------------------
_STATE: dict[str, Recorder] = {}


def pytest_addoption(parser) -> None:
    group = parser.getgroup("tflint-nan")
    group.addoption("--tflint-nan-record", action="store_true", default=False,
                    help="record dtype, shape and value range of the arguments of functions that hold tflint-nan "
                         "findings, into .tflint_nan_cache/recordings.json, for tflint-nan --dynamic")
    group.addoption("--tflint-nan-record-eagerly", action="store_true", default=False,
                    help="--tflint-nan-record, with tf.function bodies run eagerly "
                         "(tf.config.run_functions_eagerly(True)) so that the values of their arguments are recorded "
                         "too, not only the dtypes and shapes of a trace")


def pytest_configure(config) -> None:
    eagerly = config.getoption("tflint_nan_record_eagerly", default=False)
    if not (config.getoption("tflint_nan_record", default=False) or eagerly):
        return
    recorder = Recorder(str(config.rootpath))
    _STATE["recorder"] = recorder
    try:
        recorder.find_targets()
        if eagerly:
            recorder.run_functions_eagerly()
        recorder.install()
    except Exception as error:
        recorder.uninstall()
        recorder.error(error)


def pytest_sessionfinish(session, exitstatus) -> None:
    recorder = _STATE.get("recorder")
    if recorder is None:
        return
    try:
        recorder.uninstall()
        recorder.restore_functions()
        recorder.write()
    except Exception as error:
        recorder.error(error)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    recorder = _STATE.get("recorder")
    if recorder is not None:
        terminalreporter.write_line(recorder.summary())


def pytest_unconfigure(config) -> None:
    recorder = _STATE.pop("recorder", None)
    if recorder is not None:
        recorder.uninstall()
        try:
            recorder.restore_functions()
        except Exception as error:  # noqa: BLE001 - nothing here may fail the test run
            recorder.error(error)
