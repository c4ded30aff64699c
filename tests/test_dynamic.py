"""Dynamic mode under real TensorFlow: ``--dynamic`` verdicts on the fixtures and on hostile code, and
``tflint-nan probe``.

Every claim here comes from TensorFlow computing gradients in a child process, exactly as a user runs the command;
nothing is mocked.  ``test_dynamic_plan.py`` covers the parts that need no TensorFlow.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("tensorflow", reason="TensorFlow is not installed; install tflint-nan[dynamic] to run the "
                                         "dynamic-mode tests")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def tflint_nan(*args: str, cwd: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "tflint_nan", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=timeout)


def dynamic_json(*args: str, cwd: Path = ROOT) -> tuple[list[dict], subprocess.CompletedProcess]:
    result = tflint_nan("--dynamic", "--output-format", "json", *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout), result


def by_function(findings: list[dict], path: Path) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for finding in findings:
        if Path(finding["filename"]).name == path.name:
            grouped.setdefault(finding["dynamic"]["function"] or "<module>", []).append(finding["dynamic"])
    return grouped


# -- the fixture set -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fixture_report():
    """``--dynamic --strict`` over every fixture: the bad ones, the safe ones --strict flags, the question's code."""
    return dynamic_json("--strict", "fixtures")


def test_every_buggy_fixture_is_confirmed_with_a_finite_forward_value(fixture_report):
    findings, _ = fixture_report
    buggy = [f for f in findings if not f["filename"].startswith("fixtures/good/")]
    assert len(buggy) >= 90
    unconfirmed = [(f["filename"], f["location"]["row"], f["dynamic"]["text"]) for f in buggy
                   if f["dynamic"]["verdict"] != "confirmed"]
    assert unconfirmed == []
    for finding in buggy:
        verdict = finding["dynamic"]
        assert verdict["mode"] in ("eager", "xla") and verdict["forward"] is not None
        assert abs(verdict["forward"]) != float("inf")
        assert verdict["inputs"] and verdict["probes"] > 0


def test_the_question_is_confirmed_as_written(fixture_report):
    findings, _ = fixture_report
    for name in ("custom_elu_keras.py", "custom_elu_tf.py", "question_full_script.py"):
        [verdict] = by_function(findings, FIXTURES / "origin" / name)["custom_activation"]
        assert verdict["text"] == "confirmed: NaN gradient at x=89.0 (eager)", name
        assert verdict["inputs"] == {"x": 89.0} and verdict["forward"] == 89.0


def test_safe_code_that_only_strict_flags_is_refuted_with_the_reason(fixture_report):
    findings, _ = fixture_report
    safe = [f for f in findings if f["filename"] == "fixtures/good/no_gradient_path.py"]
    assert len(safe) == 6
    assert {f["dynamic"]["verdict"] for f in safe} == {"refuted"}
    assert {f["dynamic"]["function"] for f in safe} >= {"elu_custom_gradient", "active_mask", "MeanELU.update_state"}
    texts = {f["dynamic"]["function"]: f["dynamic"]["text"] for f in safe}
    # A metric is never differentiated: nothing is probed, the static model's reason is the verdict.
    assert texts["MeanELU.update_state"] == ("refuted: no gradient reaches this op: Metric.update_state, which is "
                                             "never differentiated")
    # Where gradients could flow but the code stops them, the probes ran, eagerly and under XLA, and found none.
    probed = [f["dynamic"] for f in safe if f["dynamic"]["probes"]]
    assert probed and all(v["modes"] == ["eager", "xla"] for v in probed)
    assert all(v["text"].startswith("refuted: no gradient reaches this op: ") for v in probed)


def test_findings_in_one_function_are_attributed_separately(fixture_report):
    """log_and_exp has a log pole at 0 and an exp overflow above 88.7; each finding gets its own witness."""
    findings, _ = fixture_report
    verdicts = by_function(findings, FIXTURES / "bad" / "log_family.py")["log_and_exp"]
    assert sorted(v["text"] for v in verdicts) == [
        "confirmed: NaN gradient at x=0.0 (eager)", "confirmed: NaN gradient at x=89.0 (eager)"]
    decay = by_function(findings, FIXTURES / "bad" / "exp_family.py")["symmetric_decay"]
    assert sorted(v["inputs"]["x"] for v in decay) == [-89.0, 89.0]


def test_xla_only_findings_are_confirmed_under_xla(fixture_report):
    findings, _ = fixture_report
    [sqrt] = by_function(findings, FIXTURES / "bad" / "sqrt_pow.py")["sqrt_positive"]
    assert sqrt["text"] == "confirmed: NaN gradient at x=0.0 (XLA)"
    [layer] = by_function(findings, FIXTURES / "bad" / "dataflow.py")["ParametricELU.call"]
    assert layer["text"] == "confirmed: NaN gradient at inputs=89.0 (eager)"


def test_summary_counts_the_verdicts(fixture_report):
    findings, result = fixture_report
    counts = {status: sum(1 for f in findings if f["dynamic"]["verdict"] == status)
              for status in ("confirmed", "not_confirmed", "refuted", "not_probed")}
    assert counts["not_probed"] == 0 and counts["not_confirmed"] == 0
    assert re.search(rf"^Dynamic: {counts['confirmed']} confirmed, 0 not confirmed \(NaN from elsewhere\), "
                     rf"{counts['refuted']} refuted, 0 not probed \(\d+\.\d s\)\.$", result.stderr,
                     re.MULTILINE), result.stderr


def test_concise_lines_end_with_the_verdict():
    result = tflint_nan("--dynamic", "fixtures/origin/custom_elu_keras.py", "fixtures/origin/answer_fixed.py")
    assert result.returncode == 1, result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith("fixtures/origin/custom_elu_keras.py:6:30: TFN001 ")
    assert line.endswith("Clamp the input: K.exp(K.minimum(x, 0.)) [confirmed: NaN gradient at x=89.0 (eager)]")
    assert "Dynamic: 1 confirmed, 0 not confirmed (NaN from elsewhere), 0 refuted, 0 not probed" in result.stderr


# -- code that fights back ----------------------------------------------------------------------------------------
HOSTILE = {
    "hang.py": """\
        import tensorflow as tf


        def spins(x):
            while True:
                pass
            return tf.where(x > 0., x, tf.exp(x) - 1.)


        def elu(x):
            return tf.where(x > 0., x, tf.exp(x) - 1.)
        """,
    "hangs_at_import.py": """\
        import time

        import tensorflow as tf


        def _load_forever():
            while True:
                time.sleep(1)


        SCALE = _load_forever()


        def first(x):
            return SCALE * tf.where(x > 0., x, tf.exp(x) - 1.)


        def second(x):
            return SCALE * tf.where(x > 0., tf.math.log(x), 0.)


        def independent(x):
            return tf.where(x > 0., x, tf.exp(x) - 1.)
        """,
    # A library that takes longer to import than --timeout (zfit takes half a minute): the import gets TensorFlow's
    # start-up time, and the function its own --timeout after it.
    "slow_library.py": """\
        import time

        time.sleep(14)
        SCALE = 1.0
        """,
    "uses_slow_library.py": """\
        import tensorflow as tf

        import slow_library


        def elu(x):
            return slow_library.SCALE * tf.where(x > 0., x, tf.exp(x) - 1.)
        """,
    "crash.py": """\
        import os
        import signal
        import sys

        import tensorflow as tf


        def segfaults(x):
            os.kill(os.getpid(), signal.SIGSEGV)
            return tf.where(x > 0., x, tf.exp(x) - 1.)


        def exits(x):
            sys.exit(3)
            return tf.where(x > 0., x, tf.exp(x) - 1.)


        def hard_exit(x):
            os._exit(7)
            return tf.where(x > 0., x, tf.exp(x) - 1.)


        def raises(x):
            if x.shape.rank is not None:  # always, but the linter cannot know: the where is reachable code
                raise ValueError("refusing to run")
            return tf.where(x > 0., x, tf.exp(x) - 1.)


        def elu(x):
            return tf.where(x > 0., x, tf.exp(x) - 1.)
        """,
    "output.py": """\
        import sys

        import tensorflow as tf


        def floods(x):
            while True:
                sys.stdout.write("x" * 65536)
            return tf.where(x > 0., x, tf.exp(x) - 1.)


        def chatty(x):
            # Output that looks like the probe protocol must not confuse it.
            print('{"event": "result", "task": 0, "status": "probed", "modes": {}}')
            print("progress\\n" * 1000)
            return tf.where(x > 0., x, tf.exp(x) - 1.)
        """,
    "trains_at_import.py": """\
        import pathlib
        import sys

        import tensorflow as tf

        SENTINEL = pathlib.Path(__file__).with_suffix(".ran")
        SCALE = 1.0


        def elu(x):
            return SCALE * tf.where(x > 0., x, tf.exp(x) - 1.)


        # A training script's module level: none of this is needed to probe elu, so none of it may run.
        SENTINEL.write_text("module-level code ran")
        weights = tf.Variable(tf.zeros([784, 10]))
        while True:
            weights.assign_add(tf.ones_like(weights))
        sys.exit(1)
        """,
    "module_level.py": """\
        import sys
        import urllib.request

        import tensorflow as tf

        WEIGHTS = urllib.request.urlopen("http://example.com/weights.bin").read()
        SETTINGS = sys.exit(2)


        def downloads(x):
            return tf.where(x > 0., x, tf.exp(x) - 1.) * len(WEIGHTS)


        def exits_on_import(x):
            return tf.where(x > 0., x, tf.exp(x) - 1.) * SETTINGS


        WEIGHT = tf.Variable([100.])
        outside = tf.where(WEIGHT > 0., WEIGHT, tf.exp(WEIGHT))
        """,
    "slow_checks.py": """\
        import time

        import tensorflow as tf


        def slow_log_and_elu(x):
            # 2.5 s per call and per trace: the probe as written (eager and XLA) and each copy the causal check
            # probes take more than 5 s each, and together more than the 10 s timeout.
            time.sleep(2.5)
            y = tf.where(x > 0., tf.math.log(x), tf.zeros_like(x))
            z = tf.where(x > 0., x, tf.exp(x) - 1.)
            return y + z
        """,
    "hangs_when_fixed.py": """\
        import sys

        import tensorflow as tf


        def elu_whose_fixed_copy_hangs(x):
            # The causal check compiles each copy of this module under a file name of its own: "path (own 0)".
            while sys._getframe().f_code.co_filename.endswith(")"):
                pass
            return tf.where(x > 0., x, tf.exp(x) - 1.)


        def elu(x):
            return tf.where(x > 0., x, tf.exp(x) - 1.)
        """,
    "layers.py": """\
        import keras
        import tensorflow as tf


        class NeedsUnits(keras.layers.Layer):
            def __init__(self, units, **kwargs):
                super().__init__(**kwargs)
                self.units = units

            def call(self, inputs):
                return tf.where(inputs > 0., inputs, tf.exp(inputs) - 1.)


        class ScaledELU(keras.layers.Layer):
            def __init__(self, alpha=1.6732632, **kwargs):
                super().__init__(**kwargs)
                self.alpha = alpha

            def build(self, input_shape):
                self.scale = self.add_weight(shape=(), initializer="ones", name="scale")

            def call(self, inputs, training=None):
                negative = self.alpha * (tf.exp(inputs) - 1.)
                return self.scale * tf.where(inputs > 0., inputs, negative)
        """,
}


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile")
    for name, code in HOSTILE.items():
        (directory / name).write_text(textwrap.dedent(code), encoding="utf-8")
    findings, result = dynamic_json("--timeout", "10", str(directory))
    return directory, findings, result


def verdict_texts(report, name: str) -> dict[str, list[str]]:
    directory, findings, _ = report
    return {function: [v["text"] for v in verdicts]
            for function, verdicts in by_function(findings, directory / name).items()}


def test_a_hanging_function_times_out_and_the_rest_of_the_file_is_probed(hostile_report):
    texts = verdict_texts(hostile_report, "hang.py")
    assert texts == {"spins": ["not probed: timed out after 10 s while calling spins"],
                     "elu": ["confirmed: NaN gradient at x=89.0 (eager)"]}


def test_a_hanging_module_statement_is_blamed_once_and_never_rerun(hostile_report):
    texts = verdict_texts(hostile_report, "hangs_at_import.py")
    blamed = "not probed: timed out after 10 s while running the module's code at line 11 of the module"
    assert texts == {"first": [blamed], "second": [blamed],
                     "independent": ["confirmed: NaN gradient at x=89.0 (eager)"]}


def test_a_library_slower_to_import_than_the_timeout_is_given_the_start_up_time(hostile_report):
    assert verdict_texts(hostile_report, "uses_slow_library.py") == {
        "elu": ["confirmed: NaN gradient at x=89.0 (eager)"]}


def test_each_copy_the_causal_check_probes_has_a_time_limit_of_its_own(hostile_report):
    assert verdict_texts(hostile_report, "slow_checks.py") == {"slow_log_and_elu": [
        "confirmed: NaN gradient at x=0.0 (eager)", "confirmed: NaN gradient at x=89.0 (eager)"]}


def test_a_copy_that_hangs_costs_only_its_own_check(hostile_report):
    directory, findings, _ = hostile_report
    verdicts = by_function(findings, directory / "hangs_when_fixed.py")
    hung = verdicts["elu_whose_fixed_copy_hangs"]
    assert [v["text"] for v in hung] == [
        "not confirmed: the NaN gradient at x=89.0 (eager) was not traced to this finding: its rewrite could not "
        "be checked (timed out after 10 s while calling elu_whose_fixed_copy_hangs (with one finding's fix))"]
    assert hung[0]["unchecked"] is True and hung[0]["verdict"] == "not_confirmed"
    assert [v["text"] for v in verdicts["elu"]] == ["confirmed: NaN gradient at x=89.0 (eager)"]
    assert verdicts["elu"][0]["unchecked"] is False


def test_crashes_and_exits_are_reported_not_fatal(hostile_report):
    _, _, result = hostile_report
    assert result.returncode == 1
    texts = verdict_texts(hostile_report, "crash.py")
    assert texts == {
        "segfaults": ["not probed: the probe process was killed by SIGSEGV while calling segfaults"],
        "exits": ["not probed: it called sys.exit(3)"],
        "hard_exit": ["not probed: the probe process exited with status 7 while calling hard_exit"],
        "raises": ["not probed: calling eagerly failed: ValueError: refusing to run"],
        "elu": ["confirmed: NaN gradient at x=89.0 (eager)"],
    }


def test_output_floods_are_stopped_and_chatter_is_harmless(hostile_report):
    texts = verdict_texts(hostile_report, "output.py")
    assert texts == {"floods": ["not probed: printed more than 16 MiB of output while calling floods"],
                     "chatty": ["confirmed: NaN gradient at x=89.0 (eager)"]}


def test_module_level_training_code_is_never_run(hostile_report):
    directory, _, _ = hostile_report
    texts = verdict_texts(hostile_report, "trains_at_import.py")
    assert texts == {"elu": ["confirmed: NaN gradient at x=89.0 (eager)"]}
    assert not (directory / "trains_at_import.ran").exists()


def test_module_level_failures_name_the_line_and_network_is_refused(hostile_report):
    texts = verdict_texts(hostile_report, "module_level.py")
    assert texts["downloads"] == ["not probed: line 6 of the module raised URLError: <urlopen error network access is "
                                  "disabled while tflint-nan probes>"]
    assert texts["exits_on_import"] == ["not probed: line 7 of the module called sys.exit(2)"]
    assert texts["<module>"] == ["not probed: module-level code, outside any function or class"]


def test_layers_are_built_from_their_defaults(hostile_report):
    texts = verdict_texts(hostile_report, "layers.py")
    assert texts["NeedsUnits.call"] == ["not probed: cannot build NeedsUnits() from its defaults: TypeError: "
                                        "NeedsUnits.__init__() missing 1 required positional argument: 'units'"]
    assert texts["ScaledELU.call"] == ["confirmed: NaN gradient at inputs=89.0 (eager)"]


# -- tflint-nan probe ---------------------------------------------------------------------------------------------
def test_probe_prints_a_table_and_confirms_the_question():
    result = tflint_nan("probe", "fixtures/origin/custom_elu_keras.py::custom_activation")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "fixtures/origin/custom_elu_keras.py::custom_activation(x): 38 probes, float32, eager and XLA"
    rows = {line.split()[0]: line.split() for line in lines[2:] if line.strip() and line.split()[0][0] in "-0123456789"}
    assert rows["89.0"][1:] == ["89", "nan", "nan", "NaN", "gradient", "(eager,", "XLA)"]
    assert rows["88.72"][1:] == ["88.72", "1", "1", "ok"]
    assert rows["-89.0"][1:] == ["-1", "0", "0", "ok"]
    assert lines[-1] == "confirmed: NaN gradient at x=89.0 (eager)"


def test_probe_on_the_fixed_function_reproduces_nothing():
    result = tflint_nan("probe", "fixtures/origin/answer_fixed.py::custom_activation")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "refuted: no NaN gradient in 38 probes"
    assert "NaN gradient" not in "\n".join(result.stdout.splitlines()[:-1])


def test_probe_a_layer_and_a_two_argument_function_in_float16():
    layer = tflint_nan("probe", "fixtures/bad/dataflow.py::ParametricELU")
    assert layer.returncode == 1, layer.stderr
    assert layer.stdout.splitlines()[-1] == "confirmed: NaN gradient at inputs=89.0 (eager)"
    half = tflint_nan("probe", "--dtype", "float16", "fixtures/bad/exp_family.py::elu")
    assert half.returncode == 1, half.stderr
    assert half.stdout.splitlines()[-1] == "confirmed: NaN gradient at x=12.0 (eager)"  # float16 overflows at 11.09


def test_probe_reports_unknown_names():
    result = tflint_nan("probe", "fixtures/origin/custom_elu_tf.py::missing")
    assert result.returncode == 2
    assert "probe-able names: custom_activation" in result.stderr


# -- --fix --dynamic ------------------------------------------------------------------------------------------------
NEEDS_UNITS = """\
import keras
import tensorflow as tf


class NeedsUnits(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, inputs):
        return tf.where(inputs > 0., inputs, tf.exp(inputs) - 1.)
"""


def test_fix_writes_rewrites_that_pass_under_tensorflow(tmp_path):
    question = tmp_path / "custom_elu_keras.py"
    question.write_bytes((FIXTURES / "origin" / "custom_elu_keras.py").read_bytes())
    result = tflint_nan("--fix", "--dynamic", str(question))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "return K.switch(cond, x, K.exp(K.minimum(x, 0.)) - 1)" in question.read_text(encoding="utf-8")


def test_fix_keeps_files_whose_rewrite_cannot_be_verified(tmp_path):
    layer = tmp_path / "needs_units.py"
    layer.write_text(NEEDS_UNITS, encoding="utf-8")
    result = tflint_nan("--fix", "--dynamic", str(layer))
    assert result.returncode == 1
    assert layer.read_text(encoding="utf-8") == NEEDS_UNITS
    assert ("[not fixed: the fixed code failed verification: cannot check NeedsUnits.call: cannot build NeedsUnits() "
            "from its defaults: TypeError:") in result.stdout


ELU = """\
import tensorflow as tf


def elu(x):
    return tf.where(x > 0., x, tf.exp(x) - 1.)
"""


def test_verification_refuses_rewrites_that_change_values_or_add_nan_gradients():
    from tflint_nan.dynamic.verify import verify_rewrite

    exact = ELU.replace("tf.exp(x)", "tf.exp(tf.minimum(x, 0.))")
    assert verify_rewrite(ELU, exact, "elu.py", timeout=60) is None
    shifted = ELU.replace("tf.exp(x)", "tf.exp(tf.minimum(x, -1.))")
    assert verify_rewrite(ELU, shifted, "elu.py", timeout=60) == \
        "elu computes -0.63212055 instead of 0.0 at x=0.0"
    hidden_sqrt = exact.replace("- 1.)", "- 1.) + 0. * tf.where(x > 0., tf.sqrt(x), 0.)")
    assert verify_rewrite(ELU, hidden_sqrt, "elu.py", timeout=60) == \
        "elu gets a NaN gradient the original did not have, at x=0.0 (XLA)"
    module_level = exact + "\nY = tf.where(tf.ones([1]) > 0., 1., tf.exp(tf.minimum(tf.ones([1]), 0.)))\n"
    original_module_level = ELU + "\nY = tf.where(tf.ones([1]) > 0., 1., tf.exp(tf.ones([1])))\n"
    assert verify_rewrite(original_module_level, module_level, "elu.py", timeout=60) == \
        "the rewrite changes module-level code at line 7, which cannot be probed"
