"""Each rule's documented examples are tests: the bad one is flagged with exactly its code, the good one is
clean, and (with TensorFlow) the bad one really produces a NaN gradient while the good one does not."""

from __future__ import annotations

import math
import re

import pytest

from helpers import codes, lint
from tf_harness import gradient_step
from tflint_nan.cli import main
from tflint_nan.fix import fix_source
from tflint_nan.lint import Settings
from tflint_nan.rules import RULES, RULES_BY_CODE, explain

EXAMPLE_RULES = [rule for rule in RULES if rule.bad]


@pytest.mark.parametrize("rule", EXAMPLE_RULES, ids=lambda r: r.code)
def test_bad_example_is_flagged_with_its_code(rule):
    assert [code for code, _, _ in codes(rule.bad)] == [rule.code]


@pytest.mark.parametrize("rule", EXAMPLE_RULES, ids=lambda r: r.code)
def test_good_example_is_clean(rule):
    assert codes(rule.good) == []


@pytest.mark.parametrize("rule", EXAMPLE_RULES, ids=lambda r: r.code)
def test_the_fix_turns_the_bad_example_into_the_good_one(rule):
    """Where a fix is offered it writes the good example; where none is, the finding says why (TFN003's and
    TFN004's examples take parameters that may be Python numbers, whose dtype a guard would change)."""
    (finding,) = lint(rule.bad)
    if finding.fix is None:
        assert finding.no_fix_reason
    else:
        unsafe = finding.fix.applicability != "safe"  # applied with --unsafe-fixes only
        assert (fix_source(rule.bad).new_source == rule.good) is not unsafe
        assert fix_source(rule.bad, settings=Settings(unsafe_fixes=True)).new_source == rule.good
    assert (finding.fix is None) >= ("There is no automatic fix" in rule.fix)


@pytest.mark.parametrize("rule", EXAMPLE_RULES, ids=lambda r: r.code)
def test_explanation_has_every_section(rule):
    text = explain(rule)
    assert text.startswith(f"{rule.code} ({rule.name})")
    for heading in ("Why", "Bad", "Good", "Fix"):
        assert f"\n{heading}\n" in text


def test_docs_page_matches_the_rules(capsys):
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "rules.md").read_text(encoding="utf-8")
    for rule in RULES_BY_CODE.values():
        assert f"## {rule.code} {rule.name}" in page
        assert rule.explanation in page
        if rule.bad:
            assert rule.bad.rstrip() in page and rule.good.rstrip() in page


def test_rule_command_prints_the_explanation(capsys):
    assert main(["rule", "TFN003"]) == 0
    assert capsys.readouterr().out == explain(RULES_BY_CODE["TFN003"])


# -- with TensorFlow: the examples do what the explanation says ---------------------------------------------------
def _example_function(source: str):
    tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed; install tflint-nan[dynamic]")
    namespace: dict = {}
    exec(compile(source, "<rule example>", "exec"), namespace)
    if "K" in namespace:
        namespace["K"] = tf.keras.backend  # Keras 3 keeps the Keras 2 backend functions under tf.keras.backend
    name = re.search(r"^def (\w+)", source, re.M).group(1)
    return tf, namespace[name]


# The values where the rules' ops break: poles, domain ends, overflow. (No denormal-range divisors: XLA computes
# x / y**2 there, which underflows to a NaN on the *kept* elements too -- a different hazard from these rules'.)
PROBES = [-1000.0, -100.0, -2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 89.0, 100.0, 1000.0]


def _nan_gradient_somewhere(rule_source: str) -> bool:
    tf, function = _example_function(rule_source)
    arity = function.__code__.co_argcount
    grid = [[a, b] for a in PROBES for b in PROBES] if arity == 2 else [[a] for a in PROBES]
    # Each probe is a vector of one element, so an example may reduce over its last axis (a norm, a distance).
    inputs = [tf.constant([[row[i]] for row in grid], tf.float32) for i in range(arity)]

    gradients = gradient_step(function)
    for runner in (gradients, tf.function(gradients, jit_compile=True)):
        value, grads = runner(*inputs)
        finite = tf.reshape(tf.math.is_finite(value), [-1])
        for grad in grads:
            if bool(tf.reduce_any(tf.logical_and(finite, tf.reshape(tf.math.is_nan(grad), [-1])))):
                return True
    return False


@pytest.mark.parametrize("rule", EXAMPLE_RULES, ids=lambda r: r.code)
def test_bad_example_really_has_a_nan_gradient(rule):
    assert _nan_gradient_somewhere(rule.bad)


@pytest.mark.parametrize("rule", EXAMPLE_RULES, ids=lambda r: r.code)
def test_good_example_has_no_nan_gradient_and_the_same_values(rule):
    assert not _nan_gradient_somewhere(rule.good)
    tf, bad = _example_function(rule.bad)
    _, good = _example_function(rule.good)
    arity = bad.__code__.co_argcount
    inputs = [tf.constant([[probe] for probe in PROBES], tf.float32)] * arity
    bad_values, good_values = bad(*inputs).numpy().ravel(), good(*inputs).numpy().ravel()
    for b, g in zip(bad_values, good_values):
        # Values are kept where they were finite; a built-in may differ by rounding, or by an underflow to 0.
        assert not math.isfinite(b) or b == g or math.isclose(b, g, rel_tol=1e-6, abs_tol=1e-30)
