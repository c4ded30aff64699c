"""Run the ``tflint-nan`` command as a user runs it, and write the files it checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# One TFN001 (line 5, column 31) and one TFN002 (line 9, column 28).
BUGGY = (
    "import tensorflow as tf\n\n\n"
    "def elu(x):\n"
    "    return tf.where(x > 0, x, tf.exp(x) - 1.)\n\n\n"
    "def safe_log(x):\n"
    "    return tf.where(x > 0, tf.math.log(x), 0.)\n"
)
FIXED = (
    "import tensorflow as tf\n\n\n"
    "def elu(x):\n"
    "    return tf.where(x > 0, x, tf.exp(tf.minimum(x, 0.)) - 1.)\n\n\n"
    "def safe_log(x):\n"
    "    return tf.where(x > 0, tf.math.log(tf.where(x > 0, x, 1.)), 0.)\n"
)
# A TFN001 that only --strict reports: no gradient flows through tf.stop_gradient.
STOPPED_GRADIENT = (
    "import tensorflow as tf\n\n\n"
    "def f(x):\n"
    "    return tf.stop_gradient(tf.where(x > 0, x, tf.exp(x)))\n"
)


def tflint_nan(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python -m tflint_nan ARGS`` in ``cwd``; stdout and stderr decoded."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tflint_nan", *args], cwd=cwd or ROOT, input=stdin, capture_output=True, env=env,
        timeout=120, text=True, encoding="utf-8",
    )


def write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def reported(stdout: str) -> list[tuple[str, str]]:
    """(location, code) of each concise output line: ("pkg/a.py:5:31", "TFN001")."""
    pairs = []
    for line in stdout.splitlines():
        where, _, rest = line.partition(": ")
        pairs.append((where, rest.split(" ", 1)[0]))
    return pairs
