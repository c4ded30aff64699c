"""Dynamic mode's planning, which needs no TensorFlow: what is cut out of a module to probe a finding, the probe
values, rewrites applied to source text, verdict wording, and the behaviour when TensorFlow is missing.

``test_dynamic.py`` runs the probes themselves under real TensorFlow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tflint_nan.dynamic.confirm import apply_edits
from tflint_nan.dynamic.extract import ModuleSlicer, Parameter, Unit
from tflint_nan.dynamic.values import format_value, in_dtype, probe_points, probe_values
from tflint_nan.dynamic.verdict import CONFIRMED, NOT_CONFIRMED, NOT_PROBED, REFUTED, Verdict
from tflint_nan.finding import Edit, Position

ROOT = Path(__file__).resolve().parent.parent
QUESTION_SCRIPT = ROOT / "fixtures" / "origin" / "question_full_script.py"


def slicer(code: str) -> ModuleSlicer:
    return ModuleSlicer(textwrap.dedent(code), "snippet.py")


def executed_lines(module: ModuleSlicer, unit) -> list[int]:
    """The first source line of every statement the probe would run, in order."""
    return [module.statements[step.statement].node.lineno for step in unit.steps]


def line_of(code: str, text: str) -> int:
    return next(number for number, line in enumerate(textwrap.dedent(code).splitlines(), 1) if text in line)


# -- what runs --------------------------------------------------------------------------------------------------
def test_question_script_runs_only_the_backend_import_and_the_function():
    source = QUESTION_SCRIPT.read_text(encoding="utf-8")
    module = ModuleSlicer(source, str(QUESTION_SCRIPT))
    unit = module.unit_at(15, 29)  # the K.exp(x) finding
    assert (unit.name, unit.kind, unit.problem) == ("custom_activation", "function", None)
    assert unit.parameters == (Parameter("x"),)
    lines = source.splitlines()
    # mnist.load_data(), to_categorical, the model, compile and fit (and the import that Keras 3 lacks) stay out.
    assert [lines[n - 1] for n in executed_lines(module, unit)] == [
        "from keras import backend as K", "def custom_activation(x):"]
    assert [step.name for step in unit.steps] == ["K", None]


CHAIN = """\
import numpy as np
import tensorflow as tf
from keras.layers import Dense, Activation, Dropout

data = np.load("training_data.npy")  # expensive, and not needed by elu
ALPHA = 1.6732632


def helper(v):
    return ALPHA * (tf.exp(v) - 1.)


def elu(x):
    data = x * 2.  # a local that shadows the module-level name
    return tf.where(x > 0., data / 2., helper(x))


def make_dense():
    return Dense(3)
"""


def test_dependencies_follow_functions_and_constants_but_not_shadowed_names():
    module = slicer(CHAIN)
    unit = module.unit_at(line_of(CHAIN, "return tf.where"), 11)
    assert unit.name == "elu"
    assert executed_lines(module, unit) == [2, 6, 9, 13]  # tf, ALPHA, helper, elu: not numpy, not data
    assert [step.name for step in unit.steps] == ["tf", None, None, None]


def test_imports_are_cut_to_the_names_used():
    module = slicer(CHAIN)
    unit = module.unit_named("make_dense")
    assert [(module.statements[s.statement].node.lineno, s.name) for s in unit.steps] == [(3, "Dense"), (18, None)]


def test_decorators_defaults_and_bases_are_module_level_reads():
    code = """\
    import keras
    import tensorflow as tf
    from mylib import DEFAULT_ALPHA, unused

    @tf.function(jit_compile=True)
    def scaled(x, alpha=DEFAULT_ALPHA):
        return tf.where(x > 0., x, alpha * tf.exp(x))

    class ELU(keras.layers.Layer):
        def call(self, inputs, training=None):
            return tf.where(inputs > 0., inputs, tf.exp(inputs) - 1.)
    """
    module = slicer(code)
    scaled = module.unit_named("scaled")
    assert scaled.parameters == (Parameter("x"),)  # alpha has a default: it is not probed
    assert [s.name for s in scaled.steps] == ["tf", "DEFAULT_ALPHA", None]
    layer = module.unit_at(line_of(code, "return tf.where(inputs"), 20)
    assert (layer.name, layer.kind, layer.method, layer.label) == ("ELU", "class", "call", "ELU.call")
    assert layer.parameters == (Parameter("inputs"),)  # self and training=None are not fed
    assert [s.name for s in layer.steps] == ["keras", "tf", None]
    assert module.unit_named("ELU") == layer


def test_lambda_bindings_keyword_only_parameters_and_star_args():
    code = """\
    import tensorflow as tf
    elu = lambda x: tf.where(x > 0., x, tf.exp(x) - 1.)

    def ratio(x, *, y):
        return tf.where(y != 0., x / y, 0.)

    def total(*tensors):
        return tf.where(tensors[0] > 0., tf.math.log(tensors[0]), 0.)
    """
    module = slicer(code)
    elu = module.unit_at(2, 40)
    assert (elu.name, elu.parameters) == ("elu", (Parameter("x"),))
    assert module.unit_named("ratio").parameters == (Parameter("x"), Parameter("y", keyword_only=True))
    assert module.unit_named("total").parameters == (Parameter("tensors"),)


def test_star_imports_and_future_imports_come_along():
    code = """\
    from __future__ import annotations
    from mylib.activations import *

    def elu(x: Tensor) -> Tensor:
        return where(x > 0., x, exp(x) - 1.)
    """
    module = slicer(code)
    unit = module.unit_named("elu")
    # Annotations are postponed here, so Tensor is not read at definition time; where/exp come from the * import.
    assert executed_lines(module, unit) == [1, 2, 4]


def test_metric_classes_are_probed_through_update_state():
    code = """\
    import keras
    import tensorflow as tf

    class MeanELU(keras.metrics.Metric):
        def update_state(self, values, sample_weight=None):
            self.total.assign_add(tf.reduce_sum(tf.where(values > 0., values, tf.exp(values) - 1.)))

        def result(self):
            return self.total
    """
    unit = slicer(code).unit_named("MeanELU")
    assert (unit.method, unit.parameters) == ("update_state", (Parameter("values"),))


@pytest.mark.parametrize("code, line, reason", [
    ("import tensorflow as tf\ny = tf.where(x > 0, x, tf.exp(x))\n", 2, "module-level code"),
    ("import tensorflow as tf\nclass C:\n    y = tf.where(x > 0, x, tf.exp(x))\n", 3, "in a class body"),
    ("import tensorflow as tf\nasync def f(x):\n    return tf.where(x > 0, x, tf.exp(x))\n", 3, "async function"),
    ("import tensorflow as tf\nif True:\n    def f(x):\n        return tf.where(x > 0, x, tf.exp(x))\n", 4,
     "defined inside a top-level if block"),
])
def test_findings_outside_a_probeable_unit_say_why(code, line, reason):
    unit = ModuleSlicer(code).unit_at(line, 4)
    assert unit.problem is not None and reason in unit.problem
    assert unit.steps == ()


def test_unknown_names_raise_key_error():
    with pytest.raises(KeyError):
        slicer(CHAIN).unit_named("missing")
    with pytest.raises(KeyError):
        slicer(CHAIN).unit_named("helper.method")  # a function has no methods
    assert [unit.name for unit in slicer(CHAIN).units()] == ["helper", "elu", "make_dense"]


FACTORY = """\
import tensorflow as tf


def focal_loss_fn(gamma=2.):
    def focal_loss(labels, logits):
        return tf.math.log(tf.nn.softmax(logits))

    return focal_loss


def needs_arguments(scale):
    def inner(x):
        return tf.math.log(tf.nn.softmax(x * scale))

    return inner
"""


def test_a_function_a_factory_returns_is_the_unit_when_the_factory_needs_no_arguments():
    module = ModuleSlicer(FACTORY)
    unit = module.unit_at(line_of(FACTORY, "tf.nn.softmax(logits)"), 15)
    assert (unit.name, unit.inner, unit.label) == ("focal_loss_fn", "focal_loss", "focal_loss_fn().focal_loss")
    assert [p.name for p in unit.parameters] == ["labels", "logits"]
    assert Unit.from_json(unit.to_json()) == unit
    assert module.unit_named(unit.label) == unit  # how a copy with a rewrite applied finds it again
    # A factory that needs arguments of its own is probed as before: its arguments are what is fed.
    other = module.unit_at(line_of(FACTORY, "x * scale"), 15)
    assert other.inner is None and [p.name for p in other.parameters] == ["scale"]


def test_units_survive_a_round_trip_through_json():
    unit = slicer(CHAIN).unit_named("elu")
    assert Unit.from_json(unit.to_json()) == unit


# -- probe values -----------------------------------------------------------------------------------------------
def test_exp_probes_straddle_the_overflow_threshold_of_each_dtype():
    float32 = probe_values(["TFN001"], "float32")
    assert in_dtype(88.72, "float32") in float32 and 89.0 in float32  # exp(88.72) is finite, exp(89) is not
    assert -89.0 in float32 and 1000.0 in float32 and -1000.0 in float32
    float16 = probe_values(["TFN001"], "float16")
    assert in_dtype(11.08, "float16") in float16 and 12.0 in float16
    assert all(abs(value) <= 65504.0 for value in float16)  # nothing that overflows float16 itself


def test_probes_include_signed_zeros_tiny_values_and_the_neighbours_of_one():
    values = probe_values(["TFN005"], "float32")
    signs = {(value, str(value).startswith("-")) for value in values if value == 0.0}
    assert signs == {(0.0, False), (0.0, True)}
    assert {1.0, -1.0, 1.0000001192092896, -1.0000001192092896, 0.9999999403953552} <= set(values)
    assert any(0 < value < 1e-37 for value in values) and any(-1e-37 < value < 0 for value in values)
    log = probe_values(["TFN002"], "float32")
    assert {0.0, -1.0, -2.0} <= set(log)  # log's pole, log1p's, and lgamma's negative integers


def test_several_parameters_get_combinations():
    values = probe_values(["TFN003"], "float32")
    pairs = probe_points(values, 2)
    assert len(pairs) == len(values) ** 2 and (0.0, 0.0) in pairs
    many = probe_points(values, 5, limit=5000)
    assert len(many) <= 5000 and (0.0,) * 5 in many and (1.0, 1.0, 0.0, 1.0, 1.0) in many
    assert many == probe_points(values, 5, limit=5000)  # the same points on every run


@pytest.mark.parametrize("value, dtype, text", [
    (89.0, "float32", "89.0"), (88.72, "float32", "88.72"), (-0.0, "float32", "-0.0"), (1e-30, "float32", "1e-30"),
    (1000.0, "float32", "1000.0"), (11.08, "float16", "11.08"), (1.0000001192092896, "float32", "1.0000001"),
])
def test_values_print_as_the_shortest_decimal_in_their_dtype(value, dtype, text):
    assert format_value(in_dtype(value, dtype), dtype) == text


# -- rewrites and verdicts --------------------------------------------------------------------------------------
def test_apply_edits_uses_lines_and_character_columns():
    source = "a = 1\r\nb = f(x) + f(y)\n# é\nc = 'é' + g(x)\n"
    edits = [Edit(Position(2, 6), Position(2, 7), "m(x, 0.)"), Edit(Position(4, 12), Position(4, 13), "z")]
    assert apply_edits(source, edits) == "a = 1\r\nb = f(m(x, 0.)) + f(y)\n# é\nc = 'é' + g(z)\n"
    with pytest.raises(ValueError):
        apply_edits(source, [Edit(Position(2, 4), Position(2, 8), "q"), Edit(Position(2, 6), Position(2, 7), "r")])


def test_verdict_texts():
    confirmed = Verdict(CONFIRMED, function="elu", inputs=(("x", 89.0, "89.0"),), mode="eager", probes=38,
                        modes=("eager", "xla"))
    assert confirmed.text == "confirmed: NaN gradient at x=89.0 (eager)"
    pair = Verdict(CONFIRMED, function="ratio", inputs=(("x", 0.0, "0.0"), ("y", 0.0, "0.0")), mode="xla")
    assert pair.text == "confirmed: NaN gradient at x=0.0, y=0.0 (XLA)"
    elsewhere = Verdict(NOT_CONFIRMED, inputs=(("x", 0.0, "0.0"),), mode="eager",
                        cause="the TFN002 finding at line 7, column 26 (tf.math.log(x)) removes it")
    assert elsewhere.text == ("not confirmed: the NaN gradient at x=0.0 (eager) comes from elsewhere: the TFN002 "
                              "finding at line 7, column 26 (tf.math.log(x)) removes it")
    assert Verdict(REFUTED, probes=38, modes=("eager", "xla")).text == "refuted: no NaN gradient in 38 probes"
    assert Verdict(REFUTED, probes=38, modes=("eager",), differentiated=("y_pred",),
                   fixed=(("y_true", "labels"),)).text == \
        "refuted: no NaN gradient in 38 probes of y_pred with y_true fixed (eager only)"
    assert Verdict(REFUTED, probes=18, modes=("eager", "xla"), differentiated=("x", "n"),
                   settings=(("n", "2.0, 1.0, 0.5"),)).text == \
        "refuted: no NaN gradient in 18 probes of x, n with n at 2.0, 1.0, 0.5 (recorded settings)"
    assert Verdict(REFUTED, probes=18, differentiated=("x", "n"), fixed=(("step", "a counter"),),
                   settings=(("n", "2.0"),)).to_dict()["settings"] == {"n": "2.0"}
    assert Verdict(REFUTED, reason="Metric.update_state, which is never differentiated").text == \
        "refuted: no gradient reaches this op: Metric.update_state, which is never differentiated"
    assert Verdict(NOT_PROBED, reason="timed out after 60 s while calling f").text == \
        "not probed: timed out after 60 s while calling f"
    assert confirmed.to_dict()["inputs"] == {"x": 89.0} and confirmed.to_dict()["verdict"] == "confirmed"


# -- without TensorFlow -----------------------------------------------------------------------------------------
BLOCK_TENSORFLOW = """\
import sys


class _NoTensorFlow:
    # Makes this interpreter behave as if TensorFlow were not installed.
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoTensorFlow())
"""


def run_without_tensorflow(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    blocker = tmp_path / "no_tensorflow"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text(BLOCK_TENSORFLOW, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)])}
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)


def test_dynamic_without_tensorflow_says_how_to_install_it_and_exits_2(tmp_path):
    result = run_without_tensorflow(tmp_path, "-m", "tflint_nan", "--dynamic", "fixtures/example.py")
    assert result.returncode == 2, result.stderr
    assert 'pip install "tflint-nan[dynamic]"' in result.stderr
    assert result.stdout == ""
    probe = run_without_tensorflow(tmp_path, "-m", "tflint_nan", "probe", "fixtures/example.py::custom_elu")
    assert probe.returncode == 2 and 'pip install "tflint-nan[dynamic]"' in probe.stderr


def test_static_linting_works_without_tensorflow_and_never_imports_it(tmp_path):
    check = ("import sys\nfrom tflint_nan.cli import main\n"
             "status = main(['fixtures/example.py', '-q'])\n"
             "print('imported tensorflow' if 'tensorflow' in sys.modules else 'no tensorflow', status)\n")
    result = run_without_tensorflow(tmp_path, "-c", check)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(": ")[1][:6] for line in lines[:2]] == ["TFN001", "TFN002"]
    assert lines[-1] == "no tensorflow 1"


# -- what each input gets, and the guard ---------------------------------------------------------------------------
INPUTS = """\
import tensorflow as tf


def loss(y_true, y_pred, scale, step, offset):
    shifted = y_pred + offset
    return tf.where(shifted > 0., tf.math.log(shifted), 0.) * scale + y_true * 0. + step * 0.


def total(a, b):
    return loss(b, a, 2.0, 10, b)
"""


def test_inputs_differentiate_only_what_trains_and_extremes_go_to_the_operand():
    import ast

    from tflint_nan.dynamic.inputs import plan_inputs
    from tflint_nan.gradients import ModuleFacts
    from tflint_nan.lint import analyse, Settings

    module = slicer(INPUTS)
    [finding] = analyse(INPUTS, "snippet.py", Settings(strict=True))
    unit = module.unit_at(finding.line, finding.start.column)
    tree = ast.parse(INPUTS)
    plan = plan_inputs(tree, ModuleFacts(tree), unit, finding, INPUTS, "float32")
    specs = plan.specs
    assert {name: spec["watch"] for name, spec in specs.items()} == {
        "y_true": False, "y_pred": True, "scale": False, "step": False, "offset": True}
    assert specs["scale"]["values"] == [2.0] and specs["step"]["values"] == [10.0]
    assert specs["y_true"]["values"] == [0.0, 1.0]
    # y_pred and offset both reach log's operand through ``shifted``: both get the extreme values.
    assert 0.0 in specs["y_pred"]["values"] and len(specs["y_pred"]["values"]) > 10
    assert plan.no_gradient is None


def _recorded(shapes, low, high, values=()):
    return {"calls": 3, "types": ["EagerTensor"], "dtypes": ["float32"], "shapes": shapes, "min": low, "max": high,
            "nan": False, "inf": False, "values": list(values)}


@pytest.mark.parametrize("name, record, setting", [
    # A scalar every recorded call passed positive: a setting, probed at its values and ordinary positive ones.
    ("offset", _recorded([[]], 2.0, 3.0, [2.0, 3.0]), [2.0, 3.0, 1.0, 0.5]),
    ("offset", _recorded([[]], -3.0, -2.0, [-3.0, -2.0]), [-3.0, -2.0, -1.0, -0.5, -2.0]),
    # Data keeps every probe value: a tensor with elements, a scalar seen at both signs or at 0, or only traced.
    ("offset", _recorded([[4]], 2.0, 3.0), None),
    ("offset", _recorded([[]], -1.0, 2.0, [-1.0, 2.0]), None),
    ("offset", _recorded([[]], 0.0, 2.0, [0.0, 2.0]), None),
    ("offset", {**_recorded([[]], None, None), "types": ["SymbolicTensor"]}, None),
])
def test_a_recorded_scalar_of_one_sign_is_a_setting_probed_at_that_sign_only(name, record, setting):
    import ast

    from tflint_nan.dynamic.inputs import plan_inputs
    from tflint_nan.gradients import ModuleFacts
    from tflint_nan.lint import Settings, analyse

    module = slicer(INPUTS)
    [finding] = analyse(INPUTS, "snippet.py", Settings(strict=True))
    unit = module.unit_at(finding.line, finding.start.column)
    tree = ast.parse(INPUTS)
    recording = {"loss": {"calls": 3, "parameters": {name: record}}}
    plan = plan_inputs(tree, ModuleFacts(tree), unit, finding, INPUTS, "float32", recording)
    spec = plan.specs[name]
    assert spec["watch"] is True  # a setting still trains: it is differentiated, only at realistic values
    if setting is None:
        assert 0.0 in spec["values"] and len(spec["values"]) > 10 and not plan.settings()
    else:
        assert spec["values"] == list(dict.fromkeys(setting))
        assert plan.settings() == {name: ", ".join(repr(v) for v in dict.fromkeys(setting))}
    # The other operand input was not recorded: it keeps the extremes.
    assert 0.0 in plan.specs["y_pred"]["values"] and not plan.specs["y_pred"].get("setting")


def test_the_input_guard_of_a_select_finding_wraps_the_op_and_passes_its_operands():
    from tflint_nan.dynamic.inputs import guard_edits
    from tflint_nan.lint import analyse, Settings

    code = "import tensorflow as tf\n\n\ndef f(x, y):\n    return tf.where(y > 0., x / y, x)\n"
    [finding] = analyse(code, "snippet.py", Settings(strict=True))
    edits = guard_edits(finding, code)
    # The select is marked with the same key, so that the guard drops only the zeros of the elements it discards.
    assert apply_edits(code, edits).splitlines()[-1] == (
        "    return __tflint_nan_mark_select__(tf.where, True, __tflint_nan_select__=500028)(y > 0., "
        "__tflint_nan_guard_op__(lambda *__tflint_nan_operands__: __tflint_nan_operands__[0] / "
        "__tflint_nan_operands__[1], (x), (y), __tflint_nan_select__=500028), x)")
    # An op assigned to a variable first, which other code may read too: the select gets its own guarded copy of
    # the op, as the fix would give it, and every other reader keeps the variable.
    code = ("import tensorflow as tf\n\n\ndef f(x, y):\n    q = x / y\n"
            "    return tf.where(y > 0., -q, x) + tf.math.erf(q)\n")
    [finding] = analyse(code, "snippet.py", Settings(strict=True))
    assert apply_edits(code, guard_edits(finding, code)).splitlines()[-2:] == [
        "    q = x / y",
        "    return __tflint_nan_mark_select__(tf.where, True, __tflint_nan_select__=500008)(y > 0., "
        "-__tflint_nan_guard_op__(lambda *__tflint_nan_operands__: (__tflint_nan_operands__[0] / "
        "__tflint_nan_operands__[1]), (x), (y), __tflint_nan_select__=500008), x) + tf.math.erf(q)"]
    # An op inside a larger value: the copy is the whole value, with the op guarded inside it.
    code = "import tensorflow as tf\n\n\ndef f(x, y):\n    q = tf.abs(x) * (x / y)\n    return tf.where(y > 0., q, x)\n"
    [finding] = analyse(code, "snippet.py", Settings(strict=True))
    assert apply_edits(code, guard_edits(finding, code)).splitlines()[-1] == (
        "    return __tflint_nan_mark_select__(tf.where, True, __tflint_nan_select__=500021)(y > 0., "
        "(tf.abs(x) * (__tflint_nan_guard_op__(lambda *__tflint_nan_operands__: (__tflint_nan_operands__[0] / "
        "__tflint_nan_operands__[1]), (x), (y), __tflint_nan_select__=500021))), x)")
    # Where the copy might not have the variable's value (an operand assigned again in between, a call that might
    # not give the same value twice), the op itself is guarded, unmarked: every zero counts.
    for body in ("    q = x / y\n    x = x + 1.\n    return tf.where(y > 0., q, x)\n",
                 "    q = x / tf.abs(y) * tf.random.uniform([])\n    return tf.where(y > 0., q, x)\n"):
        code = "import tensorflow as tf\n\n\ndef f(x, y):\n" + body
        [finding] = analyse(code, "snippet.py", Settings(strict=True))
        changed = apply_edits(code, guard_edits(finding, code))
        assert "__tflint_nan_mark_select__" not in changed, changed
        assert changed.splitlines()[-1] == "    return tf.where(y > 0., q, x)"
        assert "= __tflint_nan_guard_op__(" in changed


def test_the_input_guard_of_a_root_at_a_flat_zero_wraps_each_operand():
    """A root's infinite derivative meets the square's zero one below it: the NaN forms past the operand."""
    from tflint_nan.dynamic.inputs import guard_edits
    from tflint_nan.lint import analyse, Settings

    code = "import tensorflow as tf\n\n\ndef f(v):\n    return tf.sqrt(tf.reduce_sum(tf.square(v), -1))\n"
    [finding] = analyse(code, "snippet.py", Settings(strict=True))
    assert finding.code == "TFN009"
    edits = guard_edits(finding, code)
    assert apply_edits(code, edits).splitlines()[-1] == \
        "    return tf.sqrt(__tflint_nan_guard__(tf.reduce_sum(tf.square(v), -1)))"


# -- what the project's calls say (``callsites.py``) ----------------------------------------------------------------
_HELPER = '''import tensorflow as tf


def root_mean_square(x):
    return tf.sqrt(tf.reduce_mean(tf.square(x)))


custom_objects = {"root_mean_square": root_mean_square}
'''
_OPTIMIZER = '''import tensorflow as tf
from helpers import root_mean_square as rms


class Clipped(tf.keras.optimizers.Optimizer):
    def update_step(self, gradient, variable, learning_rate):
        variable.assign_sub(learning_rate * gradient / tf.maximum(1.0, rms(gradient)))
'''


def _never_differentiated(folder, extra: dict[str, str]):
    import ast

    from tflint_nan.dynamic.callsites import never_differentiated
    from tflint_nan.gradients import ModuleFacts
    from tflint_nan.project import ProjectModules, forget_project_caches

    forget_project_caches()
    (folder / "helpers.py").write_text(_HELPER)
    (folder / "optimizer.py").write_text(_OPTIMIZER)
    for name, text in extra.items():
        (folder / name).write_text(text)
    path = str(folder / "helpers.py")
    tree = ast.parse(_HELPER)
    return never_differentiated(tree, "root_mean_square", path, ModuleFacts(tree, ProjectModules(path)))


def test_a_helper_called_only_from_an_optimizer_step_is_never_differentiated(tmp_path):
    reason = _never_differentiated(tmp_path, {})
    assert reason == ("its only call is in code that is never differentiated (optimizer.py:7: "
                      "Optimizer.update_step, which is never differentiated)")


def test_a_helper_that_a_loss_also_calls_may_be_differentiated(tmp_path):
    loss = "from helpers import root_mean_square\n\n\ndef loss(y_pred):\n    return root_mean_square(y_pred)\n"
    assert _never_differentiated(tmp_path, {"losses.py": loss}) is None


def test_a_registry_entry_that_a_model_names_leaves_the_callers_unknown(tmp_path):
    model = "import tensorflow as tf\n\nlayer = tf.keras.layers.Dense(4, activation='root_mean_square')\n"
    assert _never_differentiated(tmp_path, {"model.py": model}) is None


def test_declared_integers_come_from_annotations_and_docstrings():
    import ast

    from tflint_nan.dynamic.callsites import declared_integers

    source = '''def f(a: int, b, c, d, e, g, h):
    """Args:
      b: An integer, the number of images.
      c (int): a size.
      d: Number of blocks.
      e: A float `Tensor` of logits.
      g: The integer part is dropped from this float.
      h (int or float): a scale.
    """
'''
    found = declared_integers(ast.parse(source).body[0])
    assert set(found) == {"a", "b", "c", "d"}
    assert found["a"] == "annotated int"


def test_configuration_arguments_are_lookups_and_constructor_settings():
    import ast

    from tflint_nan.dynamic.callsites import CallSite, _enclosing, configuration_arguments

    source = '''def scale(x, factor, clip):
    return x


class Model:
    def __init__(self, clip, layer):
        self._clip = clip
        self.layer = layer

    def run(self, x, config):
        return scale(self.layer(x), config["factor"], self._clip) + scale(x, 2.0, self._clip)
'''
    tree = ast.parse(source)
    enclosing = _enclosing(tree)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "scale"]
    sites = [CallSite("m.py", tree, call, *enclosing[call]) for call in calls]
    found = configuration_arguments(sites, tree.body[0], ["x", "factor", "clip"])
    assert set(found) == {"factor", "clip"}  # x: a layer's output at one call
    assert found["factor"] == ([], "config['factor']")
    assert found["clip"] == ([], "self._clip, set from the constructor's arguments")


def test_a_copy_for_the_select_carries_the_other_checks_of_its_variant():
    """In a variant that applies several findings' checks, a copy of an assigned value is the value as that
    variant computes it: another finding's rewrite inside the expression is in the copy too, and two findings in
    one expression share one copy with both guards (each select mark under its own key)."""
    from tflint_nan.dynamic.confirm import apply_edits as apply_all
    from tflint_nan.dynamic.inputs import compose_copies, guard_edits
    from tflint_nan.lint import analyse, Settings

    code = "import tensorflow as tf\n\n\ndef f(x, y):\n    v = tf.exp(x) - 1. / y\n    return tf.where(x > 0., 0., v)\n"
    rewritten, guarded = sorted(analyse(code, "snippet.py", Settings(strict=True)), key=lambda f: f.fix is None)
    assert rewritten.fix is not None and guarded.fix is None
    edits = [*rewritten.fix.edits, *guard_edits(guarded, code)]
    assert apply_all(code, compose_copies(code, edits)).splitlines()[-2:] == [
        "    v = tf.exp(tf.minimum(x, 0.)) - 1. / y",
        "    return __tflint_nan_mark_select__(tf.where, False, __tflint_nan_select__=500020)(x > 0., 0., "
        "(tf.exp(tf.minimum(x, 0.)) - __tflint_nan_guard_op__(lambda *__tflint_nan_operands__: "
        "(__tflint_nan_operands__[0] / __tflint_nan_operands__[1]), (1.), (y), __tflint_nan_select__=500020)))"]

    code = code.replace("x > 0., 0., v)", "x > 0., 0., v) + tf.math.erf(v)")
    findings = analyse(code, "snippet.py", Settings(strict=True))
    assert len(findings) == 2 and all(finding.fix is None for finding in findings)
    last = apply_all(code, compose_copies(code, [e for f in findings for e in guard_edits(f, code)])).splitlines()[-1]
    assert last.count("__tflint_nan_guard_op__(") == 2 and last.count("__tflint_nan_mark_select__(") == 2
    assert last.endswith("__tflint_nan_select__=500020))) + tf.math.erf(v)")


def test_checks_of_findings_nested_in_one_expression_compose_into_one_variant():
    """The copy with every finding fixed: a division's rewrite inside a log's rewrite, a division's guard inside a
    power's guard (in the copy of the base the guard computes from), and one select marked once per finding."""
    from tflint_nan.dynamic.confirm import apply_edits as apply_all
    from tflint_nan.dynamic.inputs import compose_copies, guard_edits
    from tflint_nan.lint import analyse, Settings

    code = ("import tensorflow as tf\n\n\ndef f(n, a):\n    use = tf.abs(n - 1.) < 1e-5\n"
            "    return tf.where(use, tf.math.log(n / a), a)\n")
    findings = analyse(code, "snippet.py", Settings(strict=True))
    assert sorted((f.code, f.fix is not None) for f in findings) == [("TFN002", True), ("TFN003", False)]
    edits = [edit for finding in findings
             for edit in (finding.fix.edits if finding.fix else guard_edits(finding, code))]
    with pytest.raises(ValueError, match="overlapping"):
        apply_all(code, edits)
    assert apply_all(code, compose_copies(code, edits)).splitlines()[-1] == (
        "    return __tflint_nan_mark_select__(tf.where, True, __tflint_nan_select__=600037)(use, tf.math.log("
        "tf.where(use, __tflint_nan_guard_op__(lambda *__tflint_nan_operands__: __tflint_nan_operands__[0] / "
        "__tflint_nan_operands__[1], (n), (a), __tflint_nan_select__=600037), 1.)), a)")

    code = "import tensorflow as tf\n\n\ndef f(x, y, z):\n    return tf.where(z > 0., x, tf.pow(x / y, z))\n"
    findings = analyse(code, "snippet.py", Settings(strict=True))
    assert sorted(f.code for f in findings) == ["TFN003", "TFN004"]
    composed = apply_all(code, compose_copies(code, [e for f in findings for e in guard_edits(f, code)]))
    last = composed.splitlines()[-1]
    assert last.count("__tflint_nan_guard_op__(") == 2 and last.count("__tflint_nan_mark_select__(") == 2
    assert last.startswith("    return __tflint_nan_mark_select__(__tflint_nan_mark_select__(tf.where, False, ")
    compile(composed, "snippet.py", "exec")
    # The power's base is its guard's first operand: the division's guard is in that copy, not in the lambda.
    power = last[last.index("__tflint_nan_operands__[0], __tflint_nan_operands__[1])"):]
    assert power.startswith("__tflint_nan_operands__[0], __tflint_nan_operands__[1]), "
                            "(__tflint_nan_guard_op__(lambda *__tflint_nan_operands__: __tflint_nan_operands__[0] / ")


RANGED = """\
import tensorflow as tf


def _log_of_large(x):
    return tf.where(x > 2., tf.math.log(x), tf.zeros_like(x))


def model(v):
    return _log_of_large(tf.abs(v)) + _log_of_large(tf.abs(v) + 1.)
"""


def test_the_extremes_stay_within_what_every_call_passes(tmp_path):
    import ast

    from tflint_nan.gradients import ModuleFacts
    from tflint_nan.dynamic.inputs import plan_inputs
    from tflint_nan.lint import analyse, Settings
    from tflint_nan.project import ProjectModules

    path = tmp_path / "ranged.py"
    path.write_text(RANGED, encoding="utf-8")
    module = slicer(RANGED)
    [finding] = analyse(RANGED, str(path), Settings(strict=True))
    unit = module.unit_at(finding.line, finding.start.column)
    tree = ast.parse(RANGED)
    spec = plan_inputs(tree, ModuleFacts(tree, ProjectModules(str(path))), unit, finding, RANGED, "float32").specs["x"]
    # Every call passes |v| or |v| + 1: never a negative number, and 0 (the log's pole) is where the danger is.
    assert spec["watch"] and 0.0 in spec["values"]
    assert min(spec["values"]) == 0.0 and len(spec["values"]) > 3
    assert "within what every call passes it" in spec["why"]


# -- the arguments a class is built with ----------------------------------------------------------------------------
CONSTRUCTOR_CALLS = """\
import pytest


def rebound():
    width = 2.0
    width = 3.0
    return Scaled(width)


def from_parameter(width):
    return Scaled(width)


def refused():
    with pytest.raises(ValueError):
        Scaled(-1.0)


def unpacked():
    low, (width, _) = 0.5, (4.0, None)
    return Scaled(width, offset=low)
"""


def test_a_class_is_built_from_literals_or_names_bound_once_to_one():
    import ast

    from tflint_nan.dynamic.callsites import constructor_call

    found = constructor_call(ast.parse(CONSTRUCTOR_CALLS), "Scaled", None)
    # Rebound twice, a parameter, a call that expects the class to refuse: each skipped, in the source's order.
    assert found == {"args": [4.0], "kwargs": {"offset": 0.5}, "text": "Scaled(4.0, offset=0.5)", "line": 21}
    without = CONSTRUCTOR_CALLS[:CONSTRUCTOR_CALLS.index("def unpacked")]
    assert constructor_call(ast.parse(without), "Scaled", None) is None


def test_a_division_is_read_only_by_its_select_inline_or_through_a_variable_that_nothing_else_reads():
    from helpers import lint
    from tflint_nan.dynamic.inputs import read_only_by_its_select

    source = textwrap.dedent("""\
        import tensorflow as tf


        def f(n, x):
            use_log = tf.abs(n - 1.) < 1e-5
            inline = tf.where(use_log, x, 1. / (1. - n))
            tail = x / (1. - n)
            kept = tf.where(use_log, x, tail)
            shared = x / (1. - n)
            both = tf.where(use_log, x, shared) + tf.square(shared)
            return inline + kept + both
        """)
    by_line = {finding.line: finding for finding in lint(source, strict=True) if finding.code == "TFN003"}
    assert sorted(by_line) == [6, 7, 9]
    assert read_only_by_its_select(by_line[6], source)  # inside the select's call
    assert read_only_by_its_select(by_line[7], source)  # a variable only the select reads
    assert not read_only_by_its_select(by_line[9], source)  # a square reads it too, on every element
