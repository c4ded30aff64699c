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
    for path in sorted([*DYNAMIC_FIXTURES.glob("*.py"), *DYNAMIC_FIXTURES.glob("*.ipynb")]):
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


def test_a_guard_is_not_credited_with_a_nan_that_another_op_sends_back(report):
    """The division's guard drops what comes back to it from the discarded elements; the power above it sends back
    NaN there (its own 0 * inf at a zero base).  Dropping that NaN would confirm the division with the power's NaN:
    a guard drops a NaN coming back only where the op's value is not finite, and a point whose NaN shows on its own
    must lose it on its own (the probe's other points hold scale = 0, where the division's value is inf)."""
    verdicts, _ = report
    by_code = {v["code"]: v for v in verdicts["power_tail.py"]}
    division, power = by_code["TFN003"], by_code["TFN004"]
    assert power["verdict"] == "confirmed" and power["inputs"] == {"n": 0.0, "scale": 0.5}
    assert division["verdict"] == "not_confirmed"
    assert division["cause"] == "the TFN004 finding at line 9, column 30 (tf.pow(ratio, n)) removes it"


def test_two_divisions_by_the_same_degenerate_value_are_each_confirmed_with_the_other_guarded(report):
    """At n = 1 both discarded branches divide by 0, and each sends NaN back to n through the product its quotient
    multiplies: guarding one division leaves the other's NaN, and their op guards leave the products' NaN.  With
    the other division's divisor guarded, guarding this one's removes the NaN: each is confirmed."""
    verdicts, _ = report
    divisions = verdicts["power_law_mass.py"]
    assert [v["row"] for v in divisions] == [10, 11]
    for verdict in divisions:
        assert verdict["verdict"] == "confirmed", verdict["text"]
        assert verdict["inputs"] == {"n": 1.0} and verdict["check"] == "divisor"


def test_a_function_that_branches_in_python_on_an_input_is_probed_point_by_point_as_scalars(report):
    """``if temperature > 1.0`` on a vector of points raises; each point alone, as a scalar, runs.  The division
    assigned inside the branch is checked where it stands: a copy of it in the select would divide where the
    branch did not run (at temperature 0) and take the log's NaN for its own."""
    verdicts, _ = report
    by_code = {verdict["code"]: verdict for verdict in verdicts["python_branch.py"]}
    log, division = by_code["TFN002"], by_code["TFN003"]
    assert log["verdict"] == "confirmed" and log["check"] == "rewrite", log
    assert log["inputs"]["x"] == 0.0 and log["mode"] == "eager"
    assert division["verdict"] == "not_confirmed", division
    assert division["cause"] == "the TFN002 finding at line 11, column 30 (tf.math.log(x)) removes it"


def test_a_label_gather_is_probed_with_rows_of_two_classes_and_integer_labels(report):
    verdicts, _ = report
    [verdict] = verdicts["label_gather_loss.py"]
    # Rows of one class (or the 0 taken) show nothing; the 0 beside the label's entry shows the NaN.
    assert verdict["verdict"] == "confirmed" and verdict["check"] == "rewrite"
    assert verdict["text"] == "confirmed: NaN gradient at probabilities=[0.5, 0], labels=0 (eager)"
    assert verdict["differentiated"] == ["probabilities"] and "labels" in verdict["fixed"]


def test_a_layer_that_needs_constructor_arguments_is_built_from_its_call_site(report):
    verdicts, _ = report
    [verdict] = verdicts["layer_with_arguments.py"]
    assert verdict["verdict"] == "confirmed"
    assert verdict["constructor"] == "GatedELU(units=4)"
    assert verdict["text"] == "confirmed: NaN gradient at inputs=89.0 (eager)"


BOUNDED_TRANSFORM = """\
import tensorflow as tf


class BoundedTransform:
    def __init__(self, lower, upper):
        if lower >= upper:
            raise ValueError("lower must be below upper")
        self.lower = float(lower)
        self.scale = float(upper) - float(lower)

    def forward(self, x):
        return self.lower + self.scale * tf.sigmoid(x)

    def log_det_jacobian(self, x):
        s = tf.sigmoid(x)
        return tf.math.log(self.scale) + tf.math.log(s) + tf.math.log(1. - s)
"""

BOUNDED_TRANSFORM_TESTS = """\
import pytest

from bounded.transforms import BoundedTransform


def test_inverted_bounds_are_refused():
    with pytest.raises(ValueError):
        BoundedTransform(5.0, 2.0)


def test_the_scale_is_the_width():
    lower, upper = -2.0, 5.0
    assert BoundedTransform(lower, upper).scale == 7.0
    assert isinstance(BoundedTransform(-1.0, 1.0), BoundedTransform)
"""


def test_a_class_only_the_projects_tests_construct_is_built_from_their_call(tmp_path):
    """A src layout: the class needs its bounds, its module never builds it, and the tests beside ``src`` do, with
    names bound to literals.  The call inside ``pytest.raises`` passes what the class refuses and is skipped."""
    package = tmp_path / "src" / "bounded"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "transforms.py").write_text(BOUNDED_TRANSFORM)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_transforms.py").write_text(BOUNDED_TRANSFORM_TESTS)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'bounded'\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tflint_nan", "--strict", "--no-cache", "--dynamic",
                           "--output-format", "json", "src/bounded/transforms.py"], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=600)
    findings = json.loads(done.stdout)
    assert findings, done.stderr
    for finding in findings:
        verdict = finding["dynamic"]
        assert verdict["function"] == "BoundedTransform.log_det_jacobian"
        assert verdict["constructor"] == "BoundedTransform(-2.0, 5.0)"
        assert verdict["verdict"] == "confirmed", verdict["text"]


def test_a_loss_that_a_factory_returns_is_probed_through_the_factory(report):
    verdicts, _ = report
    [verdict] = verdicts["loss_factory.py"]
    assert verdict["function"] == "softplus_loss_fn().softplus_loss"
    assert verdict["verdict"] == "confirmed" and verdict["differentiated"] == ["z"], verdict
    assert float(verdict["inputs"]["z"]) > 88.7


def test_the_summary_counts_every_verdict(report):
    _, done = report
    assert "Dynamic: 29 confirmed, 7 not confirmed (NaN from elsewhere), 6 refuted, 1 not probed" in done.stderr
    assert "Not probed: 1 calling it failed." in done.stderr


def test_a_log_of_a_probability_is_confirmed_where_its_value_is_minus_infinity(report):
    """The finding says the log is -inf there: the witness may show it, and the verdict says so."""
    verdicts, _ = report
    low, high = sorted(verdicts["log_det_jacobian.py"], key=lambda verdict: verdict["row"])
    for verdict in (low, high):
        assert verdict["code"] == "TFN010" and verdict["verdict"] == "confirmed", verdict
        assert verdict["forward"] == "-inf" and "where the value is -inf" in verdict["text"]
        assert verdict["check"] == "guard"
    assert float(low["inputs"]["x"]) < -87.3 or float(high["inputs"]["x"]) > 16.6


def test_a_nan_that_the_fix_only_turns_into_an_infinite_gradient_confirms_nothing(report):
    """A per-call scale divides both sides of the select: at a scale of 1e-30 the elements the select keeps have
    an infinite gradient too, so the NaN is not the select's doing, whatever the input guard does."""
    verdicts, _ = report
    [verdict] = verdicts["per_call_scale.py"]
    assert verdict["code"] == "TFN003" and verdict["verdict"] == "not_confirmed", verdict
    assert verdict["check"] == "guard"


def test_a_bound_that_another_reader_keeps_is_checked_with_a_copy_of_its_op_for_the_select(report):
    """Each standardised bound is read by two selects, and one keeps it on every element: at a tiny width the erf
    sends the kept bound a zero gradient of its own.  Guarding the division itself would drop that zero too and
    "confirm" a NaN that no rewrite of the select removes; the check gives the select its own guarded copy, as the
    fix would, and the NaN stays."""
    verdicts, _ = report
    by_row = {verdict["row"]: verdict for verdict in verdicts["shared_bounds.py"]}
    for row in (10, 11):
        assert by_row[row]["verdict"] == "not_confirmed" and by_row[row]["check"] == "guard", by_row[row]


def test_an_op_assigned_before_its_select_is_confirmed_through_the_select_s_own_copy(report):
    verdicts, _ = report
    by_row = {verdict["row"]: verdict for verdict in verdicts["shared_bounds.py"]}
    assert by_row[23]["verdict"] == "confirmed", by_row[23]
    assert by_row[23]["inputs"] == {"x": 89.0}


def test_a_focal_loss_over_a_softmax_is_probed_in_rows_of_two_and_both_its_hazards_are_confirmed(report):
    """A loss that reduces its rows is probed point by point; a softmax needs each point beside a 0 in its row (a
    row of one entry is 1 whatever the logit), so the focal term is confirmed where the label's entry saturates to
    1 and the log where it underflows to 0.  The labels a one-hot encoding takes are integers."""
    verdicts, _ = report
    by_code = {(verdict["row"], verdict["code"]): verdict for verdict in verdicts["focal_losses.py"]}
    focal, log = by_code[(10, "TFN009")], by_code[(10, "TFN010")]
    assert focal["verdict"] == "confirmed" and focal["inputs"] == {"labels": 0.0, "logits": 89.0}, focal
    assert log["verdict"] == "confirmed" and log["inputs"] == {"labels": 0.0, "logits": -89.0}, log


def test_a_log_whose_minus_infinity_reaches_the_gradient_through_a_factor_is_confirmed_by_its_domain_guard(report):
    """-pow(1 - p, gamma) * log(p) where p rounds to 0: the focal factor's gradient is multiplied by the log's
    -inf, so a guard on the log's own gradient leaves a NaN; 1 where p is 0 (log 0 there, finite, as the built-in's
    log is) removes it.  The squeeze of the labels needs a batch of two: each point's row is given twice."""
    verdicts, _ = report
    by_code = {(verdict["row"], verdict["code"]): verdict for verdict in verdicts["focal_losses.py"]}
    assert by_code[(10, "TFN010")]["check"] == "domain"
    gathered = by_code[(20, "TFN010")]
    assert gathered["verdict"] == "confirmed" and gathered["check"] == "domain", gathered
    assert gathered["inputs"]["logits"] == 89.0


def test_a_binary_focal_loss_is_confirmed_at_the_label_that_reaches_each_hazard(report):
    """p_t selects the sigmoid where the label is 1 and its complement where it is 0: the focal term's NaN needs the
    label 1 (p_t = 1), the log's the label 0 (p_t = 0), both at a logit of 89."""
    verdicts, _ = report
    by_code = {(verdict["row"], verdict["code"]): verdict for verdict in verdicts["focal_losses.py"]}
    focal, log = by_code[(33, "TFN009")], by_code[(33, "TFN010")]
    assert focal["verdict"] == "confirmed" and focal["inputs"] == {"y_true": 1.0, "logits": 89.0}, focal
    assert log["verdict"] == "confirmed" and log["inputs"] == {"y_true": 0.0, "logits": 89.0}, log


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


def test_a_public_helper_called_only_from_an_optimizer_step_in_another_module_is_refuted(report):
    """``root_mean_square`` is registered in a ``custom_objects`` dict under a name nothing looks up, and its only
    call is in ``adafactor_like.py``'s ``update_step``: its NaN at the zero vector is real, but never trained."""
    verdicts, _ = report
    [verdict] = verdicts["rms_helpers.py"]
    assert verdict["code"] == "TFN009" and verdict["verdict"] == "refuted" and not verdict["inputs"]
    assert verdict["text"] == ("refuted: no gradient reaches this op: its only call is in code that is never "
                               "differentiated (adafactor_like.py:9: Optimizer.update_step, which is never "
                               "differentiated)")


def test_parameters_declared_integers_carry_no_gradient(report):
    """A progress schedule of an image counter and integer stage lengths, each declared an integer by its
    docstring entry: nothing is left to differentiate, so its division by the transition length is refuted."""
    verdicts, _ = report
    [verdict] = verdicts["progress_schedule.py"]
    assert verdict["verdict"] == "refuted" and verdict["differentiated"] == []
    assert set(verdict["fixed"]) == {"current_image_id", "stable_stage_num_images", "transition_stage_num_images"}
    assert all(why.startswith("declared an integer (its docstring: ") for why in verdict["fixed"].values())
    assert "none of its inputs carries a gradient" in verdict["text"]


def test_constructor_configuration_is_held_at_ordinary_positive_values(report):
    """``clip_gradient(g, self._l2_norm_clip)``: the clip norm is the constructor's argument, so it gets 1, 0.5
    and 2 (never the 0 that would divide by zero) and no gradient; the gradient is differentiated and no NaN is
    found."""
    verdicts, _ = report
    [verdict] = verdicts["constructor_configuration.py"]
    assert verdict["verdict"] == "refuted" and verdict["differentiated"] == ["g"]
    assert verdict["fixed"] == {"l2_norm_clip": "every call passes configuration: self._l2_norm_clip, set from the "
                                                "constructor's arguments"}
    assert verdict["probes"] > 0 and "with l2_norm_clip fixed" in verdict["text"]


def test_tensorflow_1_code_is_probed_against_its_own_api(report):
    """``tf.log`` exists only in TensorFlow 1's API; the probe falls back to it and confirms the seeded bug
    through the linter's own rewrite (a TensorFlow 2 ``tf.where`` that broadcasts)."""
    verdicts, _ = report
    [verdict] = verdicts["tensorflow1_loss.py"]
    assert verdict["verdict"] == "confirmed" and verdict["inputs"] == {"x": 0.0}
    assert verdict["check"] == "rewrite"


def test_a_division_whose_infinite_value_poisons_a_loss_is_confirmed_by_guarding_its_divisor(report):
    verdicts, _ = report
    by_row = {v["row"]: v for v in verdicts["class_balanced_loss.py"]}
    assert by_row[13]["verdict"] == "confirmed" and by_row[13]["check"] == "divisor"
    assert by_row[13]["inputs"] == {"logits": 0.0, "label": 0.0}
    assert by_row[12]["verdict"] == "not_confirmed"


def test_a_notebook_cell_is_probed_as_the_module_its_kernel_runs(report):
    """The softplus of a notebook's cell 3 (cell 2 starts with a line magic; cell 4 trains at module level and is
    not run): confirmed at z=89, with the finding still reported in its cell."""
    verdicts, _ = report
    [verdict] = verdicts["notebook_softplus.ipynb"]
    assert verdict["code"] == "TFN001" and verdict["verdict"] == "confirmed"
    assert verdict["inputs"] == {"z": 89.0} and verdict["function"] == "my_better_softplus"
    assert verdict["row"] == 2


def test_a_module_of_a_package_is_probed_with_its_relative_imports_and_its_own_source(tmp_path):
    """``src/shapes/act.py`` imports its package relatively and absolutely; the probe runs it as ``python -m
    shapes.act`` would, with the folder above the package first on sys.path, so an installed copy of ``shapes``
    that lacks the constant (on PYTHONPATH here) is not the one imported."""
    package = tmp_path / "src" / "shapes"
    (package / "nested").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "nested" / "__init__.py").write_text("", encoding="utf-8")
    (package / "constants.py").write_text("SLOPE = 1.0\n", encoding="utf-8")
    (package / "nested" / "act.py").write_text(
        "import tensorflow as tf\n"
        "from ..constants import SLOPE\n"
        "from shapes import constants\n\n\n"
        "def elu(x):\n"
        "    return tf.where(x > 0, x * SLOPE * constants.SLOPE, tf.exp(x) - 1.)\n", encoding="utf-8")
    installed = tmp_path / "site" / "shapes"
    installed.mkdir(parents=True)
    (installed / "__init__.py").write_text("", encoding="utf-8")
    (installed / "constants.py").write_text("", encoding="utf-8")  # an older copy: no SLOPE
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path / "site")])}
    done = subprocess.run([sys.executable, "-m", "tflint_nan", "--no-cache", "--dynamic", "--output-format", "json",
                           "src"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    [finding] = json.loads(done.stdout)
    verdict = finding["dynamic"]
    assert verdict["verdict"] == "confirmed", verdict
    assert verdict["inputs"] == {"x": 89.0}


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "xla"])
def test_the_op_guard_drops_only_what_the_select_sends_back_as_zero(jit):
    """The op guard stands in for a rewrite: where the select discards the exp's inf, the gradient is finite, as
    with the double where; on the elements it keeps, the op's own derivative is untouched (a scale of 1e-30 still
    gives an infinite gradient, or 0/0 under XLA), so a NaN that the select did not cause is never removed."""
    import numpy as np
    import tensorflow as tf

    from tflint_nan.dynamic.child import op_guard

    guard = op_guard(tf)
    x = tf.constant([-1.0, 0.5, 89.0, 100.0])

    @tf.function(jit_compile=jit)
    def elu(x):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            written = tf.where(x > 0, x, tf.exp(x) - 1.0)
            guarded = tf.where(x > 0, x, guard(lambda *operands: tf.exp(operands[0]), x) - 1.0)
            rewritten = tf.where(x > 0, x, tf.exp(tf.minimum(x, 0.0)) - 1.0)
        return [tape.gradient(value, x) for value in (written, guarded, rewritten)]

    written, guarded, rewritten = [value.numpy() for value in elu(x)]
    assert np.isnan(written[2:]).all()
    np.testing.assert_array_equal(guarded, rewritten)

    @tf.function(jit_compile=jit)
    def reflected(x, scale):
        with tf.GradientTape() as tape:
            tape.watch(scale)
            score = guard(lambda *operands: operands[0] / tf.abs(operands[1]), x, scale)
            value = tf.where(x < 0.0, -score, score)
        return value, tape.gradient(value, scale)

    value, gradient = reflected(x, tf.constant(1e-30))
    assert np.isfinite(value.numpy()).all() and not np.isfinite(gradient.numpy())
    value, gradient = reflected(x, tf.constant(2.0))
    np.testing.assert_allclose(gradient.numpy(), -np.abs(x.numpy()).sum() / 4.0, rtol=1e-6)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "xla"])
def test_with_the_select_marked_the_op_guard_drops_only_the_zeros_of_the_discarded_elements(jit):
    """``erf(where(flip < 0, x, x / |scale|))`` at a scale of 1e-30: on an element the select keeps, erf saturates
    and sends the quotient a zero gradient of its own, 0 * inf = NaN that no rewrite of the select removes; on an
    element it discards, the zero is the select's.  With the select's mark the guard tells them apart."""
    import numpy as np
    import tensorflow as tf

    from tflint_nan.dynamic.child import op_guard, select_mark

    discarded: dict = {}
    guard, mark = op_guard(tf, discarded), select_mark(tf, discarded)
    x, scale = tf.constant([1.0, 1.0]), tf.constant(1e-30)
    flip = tf.constant([1.0, -1.0])  # kept, discarded

    @tf.function(jit_compile=jit)
    def gradients(scale):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(scale)
            marked = tf.math.erf(mark(tf.where, False, __tflint_nan_select__=7)(
                flip < 0.0, x, guard(lambda *o: o[0] / tf.abs(o[1]), x, scale, __tflint_nan_select__=7)))
            unmarked = tf.math.erf(tf.where(flip < 0.0, x, guard(lambda *o: o[0] / tf.abs(o[1]), x, scale)))
            per_element = [tf.math.erf(mark(tf.where, False, __tflint_nan_select__=8 + i)(
                flip[i] < 0.0, x[i], guard(lambda *o: o[0] / tf.abs(o[1]), x[i], scale,
                                           __tflint_nan_select__=8 + i))) for i in range(2)]
        return (tape.gradient(marked, scale), tape.gradient(unmarked, scale),
                [tape.gradient(value, scale) for value in per_element])

    marked, unmarked, (kept, dropped) = gradients(scale)
    assert np.isfinite(unmarked.numpy())  # every zero dropped: the erf's NaN hidden too
    assert np.isnan(marked.numpy()) and np.isnan(kept.numpy())  # the kept element's NaN is not the select's
    assert np.isfinite(dropped.numpy())  # the discarded element's is


def test_segment_ids_and_padding_masks_are_probed_as_integers_and_zero_or_one(report):
    verdicts, _ = report
    by_function = {verdict["function"]: verdict for verdict in verdicts["segment_and_mask_losses.py"]}
    segment = by_function["pooled_log_likelihood"]
    # ids held at 0: ``ids - 1`` is -1, the segment sum drops the log's element, whose gradient is 0 * inf.
    assert segment["verdict"] == "confirmed" and segment["inputs"]["ids"] == 0.0
    assert segment["differentiated"] == ["probabilities"] and "ids" in segment["fixed"]
    padded = by_function["padded_nll"]
    assert padded["verdict"] == "confirmed" and padded["inputs"]["padding_mask"] == 0.0
    assert padded["fixed"] == {"padding_mask": "a padding mask: 0 or 1, no gradient"}
    best = by_function["best_log_probability"]
    assert best["verdict"] == "confirmed" and best["code"] == "TFN011"


def test_a_masked_log_of_a_softmax_mass_is_confirmed_in_rows_whose_logits_differ(report):
    """A row of equal logits shares the softmax out evenly: rows of two (a softmax called by name, or logits passed
    as ``logits=``) round the mass to 0, and under the mask at 0 the value is 0 * -inf = NaN; the mask at 1 gives
    +inf there, so the NaN is the op at its pole, not an input outside its domain."""
    verdicts, _ = report
    found = {verdict["function"]: verdict for verdict in verdicts["softmax_mass_losses.py"]}
    assert set(found) == {"other_classes_loss", "distribution_mass_loss"}
    for verdict in found.values():
        assert verdict["verdict"] == "confirmed", verdict
        assert verdict["differentiated"] == ["logits"] and verdict["inputs"]["mask"] == 0.0
        assert verdict["text"].startswith("confirmed: NaN gradient at logits=[") and "where the value is nan" in (
            verdict["text"])


def test_code_that_computes_in_float64_is_probed_again_in_float64(report):
    verdicts, _ = report
    by_function = {v["function"]: v for v in verdicts["float64_library.py"]}
    shifted = by_function["shifted_elu"]
    assert shifted["text"] == "confirmed: NaN gradient at x=710.0 (eager)"
    assert shifted["dtype"] == "float64"
    # A float16 clash is not a float64 library's: it stays not probed, with TensorFlow's own words.
    half = by_function["half_precision_elu"]
    assert half["verdict"] == "not_probed"
    assert half["text"].startswith("not probed: calling eagerly failed: InvalidArgumentError: cannot compute ")
    assert "half tensor" in half["text"]


def test_findings_whose_fixes_nest_are_checked_with_every_other_finding_fixed(report):
    verdicts, _ = report
    texts = {(v["row"], v["code"]): v["text"] for v in verdicts["nested_tail.py"]}
    # Both divisions by 1 - n give a NaN gradient at n = 1, so neither one's fix alone removes it: each is
    # confirmed in the copy with the other findings fixed, among them a log's rewrite with a division's inside.
    assert [text for (row, code), text in sorted(texts.items()) if code == "TFN003" and "1.0" in text] == [
        "confirmed: NaN gradient at n=1.0, alpha=0.5 (eager)", "confirmed: NaN gradient at n=1.0, alpha=0.5 (eager)"]
    assert texts[(9, "TFN002")] == "confirmed: NaN gradient at n=0.0, alpha=0.5 (eager)"

