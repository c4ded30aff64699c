"""A run's output does not depend on the process's hash seed (``PYTHONHASHSEED``): sets of strings iterate in an
order that changes with it, and a finding's wording or fix must not."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ("0", "1", "2", "3")

# ``tf`` is TensorFlow or its v1 module, depending on a test at run time: ``tf.where`` has two qualified names,
# whose select functions take different branches.
CONDITIONAL_ALIAS = textwrap.dedent("""\
    import tensorflow as tf

    if tf.__version__ >= "2.0":
        tf = tf.compat.v1


    def warmup(step, warmup_steps, base):
        if warmup_steps > 0:
            slope = base / warmup_steps
            rate = slope * tf.cast(step, tf.float32)
            return tf.where(step < warmup_steps, rate, base)
        return base
    """)


def lint_with_seed(seed: str, *paths: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tflint_nan", "--no-cache", "--strict", "--exit-zero", "--output-format", "json",
         *map(str, paths)],
        capture_output=True, text=True, check=True, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed})
    return done.stdout


def test_a_name_with_two_qualified_names_reads_the_same_under_every_hash_seed(tmp_path):
    source = tmp_path / "schedule.py"
    source.write_text(CONDITIONAL_ALIAS, encoding="utf-8")
    outputs = {seed: lint_with_seed(seed, source) for seed in SEEDS}
    assert '"TFN003"' in outputs["0"]
    assert len(set(outputs.values())) == 1, outputs


def test_the_fixtures_read_the_same_under_every_hash_seed():
    outputs = {seed: lint_with_seed(seed, ROOT / "fixtures", ROOT / "tests" / "dynamic_fixtures") for seed in SEEDS}
    assert outputs["0"].count('"code"') > 150
    assert len(set(outputs.values())) == 1
