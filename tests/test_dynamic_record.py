"""Record mode (``pytest --tflint-nan-record``, ``tflint_nan/dynamic/record.py``), end to end under real TensorFlow:
a small project's own test run records the arguments of the functions that hold findings, and ``--dynamic``
probes with what was recorded -- a float64 input of shape (4, 3), a hyperparameter the tests always pass as 4.0,
and a Keras layer that only the tests construct.
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

LOSSES = '''\
import keras
import tensorflow as tf


def normalized_loss(y_pred, normalizer):
    loss = tf.square(y_pred)
    return tf.where(normalizer > 0., loss / normalizer, loss)


def third_column_log(x):
    z = x[:, 2]
    return tf.where(z > 0., tf.math.log(z), tf.zeros_like(z))


@tf.function
def tail_weight(x, n):
    scale = tf.pow(n, n)  # a shape parameter's prefactor: finite, with a finite gradient, for every ordinary n > 0
    return tf.where(x > 0., x, scale * x)


class GatedELU(keras.layers.Layer):
    def __init__(self, units, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.alpha = alpha

    def call(self, inputs):
        return tf.where(inputs > 0., inputs, self.alpha * (tf.exp(inputs) - 1.))
'''

# The project's own tests: the only place the hyperparameter, the input's shape and the layer's units are given (the
# units computed, so that no literal call of the layer can stand in for the recording).
TESTS = '''\
import os
import sys

import numpy as np
import tensorflow as tf

from losses import GatedELU, normalized_loss, tail_weight, third_column_log


def test_profile_function_seen_by_the_tests():
    with open(os.environ["PROFILE_REPORT"], "w") as handle:
        handle.write(repr(sys.getprofile()))


def test_normalized_loss():
    assert float(tf.reduce_sum(normalized_loss(tf.constant([1.0, 2.0]), 4.0))) == 1.25


def test_third_column_log():
    x = tf.constant(np.linspace(0.5, 3.0, 12).reshape(4, 3), dtype=tf.float64)
    assert third_column_log(x).shape == (4,)


def test_layer():
    x = tf.ones((2, 4))
    assert GatedELU(units=x.shape[-1])(x).shape == (2, 4)


def test_tail_weight():
    assert tail_weight(tf.constant([-1.0, 0.5, 2.0]), tf.constant(2.0)).shape == (3,)
'''


def _project(directory: Path) -> Path:
    (directory / "losses.py").write_text(LOSSES)
    (directory / "test_losses.py").write_text(TESTS)
    return directory


def _pytest(directory: Path, *flags: str) -> subprocess.CompletedProcess:
    # Plugins are loaded explicitly so the run does not depend on which pytest plugins happen to be installed.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "PROFILE_REPORT": str(directory / "profile.txt")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tflint_nan.dynamic.record", *flags],
                          cwd=directory, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    directory = _project(tmp_path_factory.mktemp("recorded_project"))
    done = _pytest(directory, "--tflint-nan-record")
    assert done.returncode == 0, done.stdout + done.stderr
    return directory, done


@pytest.fixture(scope="module")
def verdicts(recorded):
    directory, _ = recorded
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tflint_nan", "--strict", "--no-cache", "--dynamic",
                           "--output-format", "json", "losses.py"], cwd=directory, capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 1, done.stderr
    return {finding["dynamic"]["function"]: finding["dynamic"] for finding in json.loads(done.stdout)}


def _recordings(directory: Path) -> dict:
    return json.loads((directory / ".tflint_nan_cache" / "recordings.json").read_text())


def test_the_test_run_records_dtype_shape_and_range_per_parameter(recorded):
    directory, done = recorded
    data = _recordings(directory)
    assert data["version"] == 1
    functions = data["files"]["losses.py"]
    x = functions["third_column_log"]["parameters"]["x"]
    assert (x["dtypes"], x["shapes"], x["min"], x["max"]) == (["float64"], [[4, 3]], 0.5, 3.0)
    assert not x["nan"] and not x["inf"]
    normalizer = functions["normalized_loss"]["parameters"]["normalizer"]
    assert (normalizer["types"], normalizer["values"], normalizer["dtypes"]) == (["float"], [4.0], [])
    y_pred = functions["normalized_loss"]["parameters"]["y_pred"]
    assert (y_pred["dtypes"], y_pred["shapes"], y_pred["min"], y_pred["max"]) == (["float32"], [[2]], 1.0, 2.0)
    # The class's constructor call, literal arguments included, and its call method's input.
    assert functions["GatedELU"]["constructor"] == {"args": [], "kwargs": {"units": 4, "alpha": 1.0}}
    assert functions["GatedELU.call"]["parameters"]["inputs"]["shapes"] == [[2, 4]]
    # Only functions that hold findings are watched: the tests themselves are not recorded.
    assert set(functions) == {"normalized_loss", "third_column_log", "GatedELU", "GatedELU.call"}
    assert "Recorder._profile" in (directory / "profile.txt").read_text()
    # tail_weight runs under tf.function: AutoGraph traces a converted copy of its code, which no profile function
    # sees, and the summary says how to record it.
    assert ("tflint-nan: recorded the calls of 4 of 5 watched functions into " in done.stdout
            and "functions under tf.function are seen only with --tflint-nan-record-eagerly" in done.stdout)


def test_a_recorded_two_dimensional_float64_input_is_probed_in_its_shape_and_dtype(verdicts):
    # Without the recording, x[:, 2] fails on the rank-1 and (n, 1) probe tensors: "not probed".
    verdict = verdicts["third_column_log"]
    assert verdict["recorded"] is True
    assert verdict["verdict"] == "confirmed" and verdict["inputs"] == {"x": 0.0}
    assert verdict["dtype"] == "float64"


def test_a_hyperparameter_the_tests_always_pass_as_four_is_held_there(verdicts):
    # Without the recording, normalizer is probed at 0 and the finding is "confirmed" there.
    verdict = verdicts["normalized_loss"]
    assert verdict["recorded"] is True
    assert verdict["verdict"] == "refuted"
    assert verdict["differentiated"] == ["y_pred"]
    assert verdict["fixed"] == {"normalizer": "recorded: float in [4.0, 4.0]"}


def test_a_class_only_the_tests_construct_is_built_from_the_recorded_arguments(verdicts):
    verdict = verdicts["GatedELU.call"]
    assert verdict["recorded"] is True
    assert verdict["constructor"] == "GatedELU(alpha=1.0, units=4)"
    assert verdict["verdict"] == "confirmed" and verdict["inputs"] == {"inputs": 89.0}


def test_a_setting_without_recorded_values_is_probed_at_every_value(verdicts):
    # tail_weight's n was not recorded (tf.function): probed at the extremes, n = 0 gives the NaN.
    verdict = verdicts["tail_weight"]
    assert verdict["verdict"] == "confirmed" and verdict["settings"] == {}


@pytest.fixture(scope="module")
def recorded_eagerly(tmp_path_factory):
    directory = _project(tmp_path_factory.mktemp("recorded_eagerly"))
    done = _pytest(directory, "--tflint-nan-record-eagerly")
    assert done.returncode == 0, done.stdout + done.stderr
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    linted = subprocess.run([sys.executable, "-m", "tflint_nan", "--strict", "--no-cache", "--dynamic",
                             "--output-format", "json", "losses.py"], cwd=directory, capture_output=True, text=True,
                            env=env, timeout=600, check=False)
    assert linted.returncode == 1, linted.stderr
    return directory, done, {f["dynamic"]["function"]: f["dynamic"] for f in json.loads(linted.stdout)}


def test_recording_eagerly_sees_the_values_a_tf_function_is_called_with(recorded_eagerly):
    directory, done, _ = recorded_eagerly
    assert "tflint-nan: recorded the calls of 5 of 5 watched functions" in done.stdout
    n = _recordings(directory)["files"]["losses.py"]["tail_weight"]["parameters"]["n"]
    assert (n["types"], n["shapes"], n["values"], n["dtypes"]) == (["EagerTensor"], [[]], [2.0], ["float32"])


def test_a_scalar_the_tests_always_pass_positive_is_probed_as_a_setting(recorded_eagerly):
    # n = 2.0 in every recorded call: n ** n is probed at 2, 1 and 0.5, never at the 0 no call passes.
    verdict = recorded_eagerly[2]["tail_weight"]
    assert verdict["recorded"] is True and verdict["verdict"] == "refuted"
    assert verdict["differentiated"] == ["x", "n"] and verdict["settings"] == {"n": "2.0, 1.0, 0.5"}
    assert verdict["text"].endswith("with n at 2.0, 1.0, 0.5 (recorded settings)")
    # Data keeps the extremes: the layer's input, recorded between 1 and 1, still overflows exp at 89.
    layer = recorded_eagerly[2]["GatedELU.call"]
    assert layer["verdict"] == "confirmed" and layer["inputs"] == {"inputs": 89.0} and layer["settings"] == {}


def test_without_recordings_the_same_findings_are_probed_as_before(tmp_path):
    _project(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tflint_nan", "--strict", "--no-cache", "--dynamic",
                           "--output-format", "json", "losses.py"], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=600)
    found = {f["dynamic"]["function"]: f["dynamic"] for f in json.loads(done.stdout)}
    assert not any(verdict["recorded"] for verdict in found.values())
    assert found["normalized_loss"]["verdict"] == "confirmed"
    assert found["third_column_log"]["verdict"] == "not_probed"
    assert found["GatedELU.call"]["verdict"] == "not_probed"


def test_without_the_flag_nothing_is_watched_or_written(tmp_path):
    directory = _project(tmp_path)
    done = _pytest(directory)
    assert done.returncode == 0, done.stdout + done.stderr
    # No profile function during the tests, no linting, no cache directory, no summary line.
    assert (directory / "profile.txt").read_text() == "None"
    assert not (directory / ".tflint_nan_cache").exists()
    assert "tflint-nan" not in done.stdout


def test_the_plugin_is_registered_for_pytest():
    from importlib.metadata import entry_points

    assert "tflint_nan.dynamic.record" in {ep.value for ep in entry_points(group="pytest11")}
