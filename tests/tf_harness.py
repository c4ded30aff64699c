"""Load the labelled fixtures and probe their gradients under real TensorFlow.

The fixture labels (``# expect: TFN00N:COL`` comments in ``fixtures/``) are claims about TensorFlow's behaviour:
a function with a marker must produce a NaN gradient at some input where its forward value is finite, and a
function without one must never do so.  This module turns each fixture function into a :class:`Case`, runs it on
extreme float32 inputs eagerly and under XLA (``tf.function(jit_compile=True)``), and reports where the gradient
is NaN.  ``tests/test_fixture_labels_tf.py`` asserts the labels against the results.

Only the TensorFlow probing needs TensorFlow; collecting cases and parsing markers (``collect_cases``,
``parse_markers``) work without it, so a static test can use them too.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
import itertools
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

# Probe inputs: both sides of every pole and overflow threshold the rules talk about (0, ±1, ±88.7 for exp,
# ±89.4 for cosh/sinh), plus signed zeros and values that stay finite in float32 but not once squared.
VALUES = (-1000.0, -100.0, -89.5, -10.0, -2.0, -1.0001, -1.0, -0.9999, -0.5, -1e-30, -0.0, 0.0, 1e-30, 0.5,
          0.9999, 1.0, 1.0001, 2.0, 10.0, 88.0, 89.5, 100.0, 1000.0)

MARKER_RE = re.compile(r"#\s*expect:\s*(?P<body>(?:TFN\d{3}:\d+\s*)+)$")
MARKER_ITEM_RE = re.compile(r"(TFN\d{3}):(\d+)")

# The origin fixtures reproduce a real question and are kept exactly as its author wrote them, so they carry no
# markers: their verdicts live here (tests/test_fixtures.py keeps their expected findings the same way).
ORIGIN_VERDICTS = {
    "origin/custom_elu_keras.py": True,
    "origin/custom_elu_tf.py": True,
    "origin/answer_fixed.py": False,
}
# Never imported: it loads MNIST and trains a model at module level (it exists to prove that tools do not run it).
NEVER_IMPORT = ("origin/question_full_script.py",)

# Fixtures that are not TensorFlow code at all: the gradient tape cannot see them, so there is nothing to probe.
# Their check is that they run on plain NumPy input and return something that is not a TensorFlow tensor.  The
# value names the library the function needs (skipped when it is not installed).
NOT_TENSORFLOW = {
    "good/not_tensorflow.py::numpy_elu": "numpy",
    "good/not_tensorflow.py::numpy_log_where": "numpy",
    "good/not_tensorflow.py::jax_elu": "jax",
    "good/not_tensorflow.py::torch_elu": "torch",
}

# Modules that import the Keras 2 backend API; Keras 3 removed switch/exp/... from ``keras.backend``, so these run
# with ``K`` bound to ``tf.keras.backend``, which keeps them.
KERAS2_BACKEND_IMPORT = re.compile(r"^\s*(from\s+keras\s+import\s+backend\s+as\s+K|import\s+keras\.backend\s+as\s+K)\b",
                                   re.MULTILINE)


@functools.lru_cache(maxsize=None)
def resolve(name: str):
    """Import the longest importable module prefix of ``name`` and getattr the rest; None if that fails."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def fixture_files() -> list[Path]:
    """Every fixture file whose functions are probed, in a stable order."""
    files = sorted((FIXTURES / "bad").glob("*.py")) + sorted((FIXTURES / "good").glob("*.py"))
    files += sorted((FIXTURES / "origin").glob("custom_elu_*.py"))
    files += [FIXTURES / "origin" / "answer_fixed.py", FIXTURES / "example.py"]
    return [path for path in files if path.exists() and relative(path) not in NEVER_IMPORT]


def relative(path: Path) -> str:
    return path.resolve().relative_to(FIXTURES).as_posix()


@dataclass(frozen=True)
class Marker:
    code: str
    line: int  # 1-based
    column: int  # 1-based


def parse_markers(source: str) -> list[Marker]:
    markers = []
    for number, line in enumerate(source.splitlines(), start=1):
        if "expect:" not in line:
            continue
        match = MARKER_RE.search(line)
        if match is None:
            raise ValueError(f"line {number}: malformed expect marker: {line.strip()}")
        markers += [Marker(code, number, int(column)) for code, column in MARKER_ITEM_RE.findall(match["body"])]
    return markers


@dataclass
class Case:
    """One probed unit: a top-level function, a top-level ``name = lambda ...``, or a Layer/Metric subclass."""

    path: Path
    name: str
    kind: str  # "function" | "class"
    first_line: int
    last_line: int
    markers: list[Marker] = field(default_factory=list)

    @property
    def file(self) -> str:
        return relative(self.path)

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"

    @property
    def bad(self) -> bool:
        return ORIGIN_VERDICTS.get(self.file, bool(self.markers))

    @property
    def not_tensorflow(self) -> str | None:
        return NOT_TENSORFLOW.get(self.id)


def collect_cases(path: Path) -> list[Case]:
    """The probed units of one fixture file, found from its syntax tree (the module is not imported here)."""
    source = path.read_text(encoding="utf-8")
    markers = parse_markers(source)
    cases = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = node.name
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
              and isinstance(node.value, ast.Lambda)):
            name, first, kind = node.targets[0].id, node.lineno, "function"
        else:
            continue
        if name.startswith("_"):
            continue
        last = node.end_lineno or node.lineno
        cases.append(Case(path, name, kind, first, last, [m for m in markers if first <= m.line <= last]))
    return cases


def all_cases() -> list[Case]:
    return [case for path in fixture_files() for case in collect_cases(path)]


# -- everything below needs TensorFlow --------------------------------------------------------------------------
_MODULES: dict[Path, object] = {}


def load_module(path: Path):
    """Import a fixture file by path (once), with ``K`` rebound to ``tf.keras.backend`` for Keras 2 imports."""
    path = path.resolve()
    if path in _MODULES:
        return _MODULES[path]
    import tensorflow as tf

    name = "tflint_fixture_" + re.sub(r"\W", "_", relative(path).removesuffix(".py"))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if KERAS2_BACKEND_IMPORT.search(path.read_text(encoding="utf-8")):
        module.K = tf.keras.backend
    _MODULES[path] = module
    return module


def _required_positional(fn) -> int:
    fn = getattr(fn, "python_function", fn)  # a tf.function
    params = inspect.signature(fn).parameters.values()
    return sum(1 for p in params
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)


def make_callable(case: Case):
    """``(fn, n_inputs)``: ``fn`` maps ``n_inputs`` float32 tensors to a tensor."""
    import keras

    obj = getattr(load_module(case.path), case.name)
    if case.kind == "class":
        if issubclass(obj, keras.metrics.Metric):
            metric = obj()
            n_state = _required_positional(metric.update_state)

            def run_metric(x):
                metric.reset_state()
                metric.update_state(*([x] * n_state))
                return metric.result()

            return run_metric, 1
        if issubclass(obj, keras.layers.Layer):
            return obj(), 1
        raise TypeError(f"{case.id}: only keras Layer and Metric subclasses can be probed")
    return obj, _required_positional(obj)


def make_inputs(n: int):
    import tensorflow as tf

    if n == 1:
        return [tf.constant(VALUES, tf.float32)]
    columns = list(zip(*itertools.product(VALUES, repeat=n)))
    return [tf.constant(column, tf.float32) for column in columns]


@dataclass
class ProbeResult:
    mode: str  # "eager" | "xla"
    nan_inputs: list[tuple[float, ...]]  # inputs where the gradient is NaN and the forward value is finite

    @property
    def has_nan(self) -> bool:
        return bool(self.nan_inputs)


def gradient_step(fn):
    """``fn`` wrapped to return its value and the gradients of ``reduce_sum(fn(*args))`` (zeros, not None, where
    an input is not connected)."""
    import tensorflow as tf

    def step(*args):
        with tf.GradientTape() as tape:
            for arg in args:
                tape.watch(arg)
            y = fn(*args)
            total = tf.reduce_sum(y)
        grads = tape.gradient(total, list(args), unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return y, [tf.convert_to_tensor(grad) for grad in grads]  # IndexedSlices (gather) -> dense

    return step


def probe(case: Case) -> list[ProbeResult]:
    """Gradients of ``reduce_sum(f(inputs))``, eagerly and under XLA; where each is NaN with a finite forward."""
    import numpy as np
    import tensorflow as tf

    fn, n = make_callable(case)
    if n not in (1, 2):
        raise TypeError(f"{case.id}: fixtures take one or two float tensors, this one takes {n}")
    args = make_inputs(n)
    shape = tuple(args[0].shape)
    results = []
    step = gradient_step(fn)
    for mode, runner in (("eager", step), ("xla", tf.function(step, jit_compile=True))):
        y, grads = runner(*args)
        y = np.broadcast_to(np.asarray(y), shape)
        nan = np.zeros(shape, bool)
        for grad in grads:
            nan |= np.isnan(np.broadcast_to(np.asarray(grad), shape))
        hits = np.flatnonzero(nan & np.isfinite(y))
        values = [a.numpy() for a in args]
        results.append(ProbeResult(mode, [tuple(float(v[i]) for v in values) for i in hits]))
    return results


_PROBED: dict[str, list[ProbeResult]] = {}


def probe_cached(case: Case) -> list[ProbeResult]:
    if case.id not in _PROBED:
        _PROBED[case.id] = probe(case)
    return _PROBED[case.id]


def run_not_tensorflow(case: Case):
    """Call a non-TensorFlow fixture on NumPy input; returns its result (the caller skips missing libraries)."""
    import numpy as np

    fn = getattr(load_module(case.path), case.name)
    with np.errstate(all="ignore"):
        return fn(np.asarray(VALUES, np.float32))


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ start-up chatter (must run before TensorFlow is imported to take full effect)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
