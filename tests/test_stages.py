"""The per-stage breakdown ``benchmarks/run.py`` prints: off by default, and when on, every stage a file goes
through is counted once (inner stages are not counted in the outer ones)."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from tflint_nan import stages
from tflint_nan.lint import Settings, lint_source

SOURCE = "import tensorflow as tf\n\ndef f(x):\n    return tf.where(x > 0., tf.math.log(x), x)\n"


def test_stages_are_off_unless_enabled(monkeypatch):
    monkeypatch.setattr(stages, "_on", False)
    stages.totals.clear()
    assert lint_source(SOURCE).findings
    assert stages.totals == {}


def test_an_analysed_file_goes_through_every_stage_of_the_analysis(monkeypatch):
    monkeypatch.setattr(stages, "_on", False)
    stages.enable()
    try:
        assert lint_source(SOURCE).findings
        assert {"byte screen", "read", "syntax tree", "plan", "LibCST parse", "metadata", "analysis",
                "rewrite planning"} <= set(stages.totals)
    finally:
        monkeypatch.setattr(stages, "_on", False)


def test_inner_stages_are_not_counted_in_the_outer_one(monkeypatch):
    monkeypatch.setattr(stages, "_on", False)
    stages.enable()
    try:
        start = time.perf_counter()
        with stages.stage("outer"):
            time.sleep(0.01)
            with stages.stage("inner"):
                time.sleep(0.02)
        elapsed = time.perf_counter() - start
        assert stages.totals["inner"] >= 0.02
        assert abs(stages.totals["outer"] + stages.totals["inner"] - elapsed) < 0.005
    finally:
        monkeypatch.setattr(stages, "_on", False)


def test_the_large_file_generator_places_the_findings_it_promises():
    spec = importlib.util.spec_from_file_location(
        "large_files", Path(__file__).resolve().parent.parent / "benchmarks" / "large_files.py")
    large_files = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(large_files)
    source = large_files.module(1_500, 6)
    assert 1_500 <= source.count("\n") < 1_800
    assert len(lint_source(source, "module.py").findings) == 6
    assert len(lint_source(large_files.many_findings(20), "many.py").findings) == 20


def test_a_file_whose_sinks_no_gradient_comes_back_through_is_not_parsed_by_libcst(monkeypatch):
    """Without --strict nothing in a metric's update can be shown: the plan leaves it out and LibCST never runs."""
    source = ("import tensorflow as tf\nclass Total(tf.keras.metrics.Metric):\n    def update_state(self, x):\n"
              "        self.total.assign_add(tf.reduce_sum(tf.where(x > 0., tf.math.log(x), 0.)))\n")
    for settings, parsed in ((Settings(), False), (Settings(strict=True), True)):
        monkeypatch.setattr(stages, "_on", False)
        stages.enable()
        try:
            assert len(lint_source(source, "metric.py", settings).findings) == int(parsed)
            assert ("LibCST parse" in stages.totals) == parsed
        finally:
            monkeypatch.setattr(stages, "_on", False)
