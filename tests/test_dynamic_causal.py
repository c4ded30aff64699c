"""Dynamic mode's verdicts on real code shapes, under real TensorFlow: causal confirmation (a finding is confirmed
only where its own rewrite removes the NaN gradient), gradients only for what trains, realistic inputs, and
classes built from their call sites.  The fixtures are ``tests/dynamic_fixtures/*.py``, kept apart from the static
fixture set (whose findings carry expect markers), copied to a fresh folder and probed as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow", reason="TensorFlow is not installed; install tflint-nan[dynamic] to run the "
                                         "dynamic-mode tests")

ROOT = Path(__file__).resolve().parent.parent
DYNAMIC_FIXTURES = ROOT / "tests" / "dynamic_fixtures"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("dynamic_fixtures")
    for path in sorted(DYNAMIC_FIXTURES.glob("*.py")):
        (directory / path.name).write_bytes(path.read_bytes())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tflint_nan", "--strict", "--no-cache", "--dynamic",
                           "--output-format", "json", "."], cwd=directory, capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 1, done.stderr
    verdicts: dict[str, list[dict]] = {}
    for finding in json.loads(done.stdout):
        verdicts.setdefault(Path(finding["filename"]).name, []).append({**finding["dynamic"],
                                                                        "row": finding["location"]["row"],
                                                                        "code": finding["code"]})
    return verdicts, done


def test_a_learning_rate_schedule_is_refuted_without_differentiating_its_step(report):
    verdicts, _ = report
    [verdict] = verdicts["lr_schedule.py"]
    assert verdict["verdict"] == "refuted"
    assert verdict["text"] == ("refuted: no gradient reaches this op: LearningRateSchedule.__call__, which is never "
                               "differentiated")
    assert verdict["differentiated"] == [] and "step" in verdict["fixed"]


def test_a_hyperparameter_harmful_only_at_an_impossible_value_is_refuted(report):
    verdicts, _ = report
    [verdict] = verdicts["hyperparameter_loss.py"]
    # Probing normalizer=0 would "confirm" it; every call passes 4.0, so it is held there, without a gradient.
    assert verdict["verdict"] == "refuted"
    assert verdict["differentiated"] == ["y_pred"]
    assert verdict["fixed"] == {"normalizer": "every call passes a number: 4.0"}
    assert verdict["probes"] > 0 and verdict["modes"] == ["eager", "xla"]
    assert verdict["text"].startswith("refuted: no NaN gradient in ") and "with normalizer fixed" in verdict["text"]


def test_of_two_findings_only_the_one_whose_rewrite_removes_the_nan_is_confirmed(report):
    verdicts, _ = report
    by_code = {v["code"]: v for v in verdicts["two_findings.py"]}
    log, exp = by_code["TFN002"], by_code["TFN001"]
    assert log["verdict"] == "confirmed" and log["check"] == "rewrite"
    assert log["inputs"] == {"x": 0.0, "scale": -0.5} and log["mode"] == "eager"
    assert exp["verdict"] == "not_confirmed"
    assert exp["cause"] == "the TFN002 finding at line 7, column 26 (tf.math.log(x)) removes it"
    assert exp["text"] == ("not confirmed: the NaN gradient at x=0.0, scale=-0.5 (eager) comes from elsewhere: the "
                           "TFN002 finding at line 7, column 26 (tf.math.log(x)) removes it")


def test_a_layer_that_needs_constructor_arguments_is_built_from_its_call_site(report):
    verdicts, _ = report
    [verdict] = verdicts["layer_with_arguments.py"]
    assert verdict["verdict"] == "confirmed"
    assert verdict["constructor"] == "GatedELU(units=4)"
    assert verdict["text"] == "confirmed: NaN gradient at inputs=89.0 (eager)"


def test_the_summary_counts_every_verdict(report):
    _, done = report
    assert "Dynamic: 2 confirmed, 1 not confirmed (NaN from elsewhere), 3 refuted, 0 not probed" in done.stderr


GUARDED = """\
import tensorflow as tf


def reciprocal_elu(x):
    return tf.where(x > 0., 1. / x, x)
"""


def test_a_finding_without_an_exact_rewrite_is_checked_with_its_input_guard(tmp_path):
    # ``1. / x`` has no dtype-safe rewrite (x may be a Python number); the guard on its operands stands in for one.
    (tmp_path / "guarded.py").write_text(GUARDED, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tflint_nan", "--no-cache", "--dynamic", "--output-format", "json",
                           "guarded.py"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    [finding] = json.loads(done.stdout)
    assert finding["fix"] is None
    verdict = finding["dynamic"]
    assert verdict["verdict"] == "confirmed" and verdict["check"] == "guard", verdict
    assert verdict["inputs"] == {"x": 0.0}


def test_a_nan_in_code_that_training_never_differentiates_confirms_nothing(report):
    """The probes differentiate ``uncertainty`` and find its NaN at logits=89, but every call only feeds a metric:
    the static model's reason is the verdict, not a confirmation."""
    verdicts, _ = report
    [verdict] = verdicts["evaluation_only.py"]
    assert verdict["code"] == "TFN008" and verdict["verdict"] == "refuted"
    assert verdict["text"].startswith("refuted: no gradient reaches this op: ")
    assert "every use of uncertainty()" in verdict["text"] and not verdict["inputs"]
