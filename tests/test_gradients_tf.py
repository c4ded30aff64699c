"""Prove the gradient-flow tables of ``tflint_nan.knowledge`` against the installed TensorFlow and Keras.

The gradient-flow model silences a finding only on evidence from these tables, so each claim is checked here:
the calls said to carry no gradient give none (eagerly and under XLA), casts to integer dtypes cut the gradient,
the classes and methods said to run outside the backward pass exist with those names, the named constants have
their values, and an inner where that fills the discarded elements with a constant -- any spelling of one, even the
op's own pole -- leaves a finite gradient.
"""

from __future__ import annotations

import math

import pytest

tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed; install tflint-nan[dynamic] to run the gradient tests")

import numpy as np  # noqa: E402

from tf_harness import resolve  # noqa: E402
from tflint_nan import knowledge as kb  # noqa: E402

X = np.asarray([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0], np.float32)


def _calls(fn):
    """Ways to call a TensorFlow function on a watched float tensor ``x``, most likely first."""
    return (
        lambda x: fn(x),
        lambda x: fn(x, x),
        lambda x: fn(tf.shape(x)),
        lambda x: fn(tf.shape(x), x[0]),
        lambda x: fn(tf.cast(x, tf.int32), 3),  # one_hot(indices, depth)
        lambda x: fn(x, tf.stack([x[0], x[-1]]), 5),  # histogram_fixed_width(values, range, nbins)
        lambda x: fn(x > 0.),  # logical_not
        lambda x: fn(x > 0., x < 1.),  # logical_and / logical_or
        lambda x: fn(tf.constant([0]), tf.reshape(x, [1, -1]), 1),  # in_top_k(targets, predictions, k)
        lambda x: fn(tf.reshape(x, [1, -1]), tf.constant([0]), 1),  # in_top_k(predictions, targets, k)
        lambda x: fn((3,), 0, 5),  # randint(shape, minval, maxval)
        lambda x: fn(3),  # eye(n)
        lambda x: fn(tf.shape(x), seed=[1, 2]),  # stateless_uniform(shape, seed)
        lambda x: fn(tf.reshape(x, [1, -1]), 3),  # categorical(logits, num_samples)
        lambda x: fn(tf.reshape(x, [1, -1]), 3, seed=[1, 2]),  # stateless_categorical(logits, num_samples, seed)
        lambda x: fn(),  # epsilon(): no input at all
    )


def _gradient_of(call, mode: str):
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = call(x)
            if isinstance(y, (tuple, list)):
                y = y[0]
            y = tf.convert_to_tensor(y)
            y = tf.cast(y, tf.float32) if y.dtype != tf.float32 else y
            total = tf.reduce_sum(y)
        gradient = tape.gradient(total, x)
        return tf.zeros_like(x) if gradient is None else tf.convert_to_tensor(gradient)

    runner = step if mode == "eager" else tf.function(step, jit_compile=True)
    return np.asarray(runner(tf.constant(X)))


TF1_METRICS = sorted(f"tensorflow.compat.v1.metrics.{name}" for name in kb.TF1_STREAMING_METRICS)
LIVE_NO_GRADIENT = sorted(
    name for name in kb.NO_GRADIENT_RESULTS
    if name.split(".")[0] in ("tensorflow", "keras") and resolve(name) is not None and name not in TF1_METRICS
)


def test_most_no_gradient_names_are_live():
    """The table is not a list of guesses: most of its TensorFlow and Keras names exist in the installed version
    (the rest are TF1 spellings that old code still writes)."""
    tf_names = [name for name in kb.NO_GRADIENT_RESULTS if name.split(".")[0] in ("tensorflow", "keras")]
    assert len(LIVE_NO_GRADIENT) >= 0.7 * len(tf_names), sorted(set(tf_names) - set(LIVE_NO_GRADIENT))


@pytest.mark.parametrize("name", LIVE_NO_GRADIENT)
def test_no_gradient_result(name):
    """Called on a watched float tensor, the function passes no gradient back (None or zeros), eagerly; and
    under XLA too where XLA compiles it."""
    fn = resolve(name)
    for call in _calls(fn):
        try:
            eager = _gradient_of(call, "eager")
        except LookupError:  # "gradient registry has no entry": no gradient at all
            return
        except (TypeError, ValueError, IndexError, tf.errors.OpError, NotImplementedError, AttributeError):
            continue
        assert np.all(eager == 0), f"{name}: eager gradient {eager}"
        try:
            xla = _gradient_of(call, "xla")
        except (tf.errors.OpError, TypeError, ValueError, NotImplementedError):
            return  # not compilable by XLA (random, string ops): eager is the only mode it runs in
        assert np.all(xla == 0), f"{name}: XLA gradient {xla}"
        return
    pytest.fail(f"{name}: none of the probe signatures could call it")


def _metric_calls(fn, predictions, labels):
    """Ways to call a TF1 streaming metric on ``predictions`` (float, in (0, 1), shape [2, 3]) and 0/1 ``labels``."""
    class_ids = tf.constant([[0], [2]], tf.int64)
    top = tf.cast(tf.math.top_k(predictions, 1).indices, tf.int64)
    return (
        lambda: fn(labels, predictions),
        lambda: fn(predictions),
        lambda: fn(predictions, 0.5),  # percentage_below(values, threshold)
        lambda: fn(labels, predictions, [0.3, 0.7]),  # *_at_thresholds
        lambda: fn(labels, predictions, 0.5),  # sensitivity_at_specificity and the reverse
        lambda: fn(labels, predictions, tf.ones_like(predictions)),  # mean_relative_error(labels, preds, normalizer)
        lambda: fn(labels, predictions, dim=1),  # mean_cosine_distance
        lambda: fn(class_ids, predictions, 1),  # *_at_k on scores
        lambda: fn(class_ids, top, 1),  # *_at_top_k on class ids
        lambda: fn(tf.cast(labels, tf.int64), tf.cast(predictions > 0.5, tf.int64), 2),  # mean_iou, per class
    )


@pytest.mark.parametrize("name", TF1_METRICS)
def test_tf1_streaming_metric_passes_no_gradient(name):
    """TF1 metrics run only in a graph (they raise under eager execution and tf.function): there, neither the
    value nor the update op has a gradient with respect to the predictions, while the predictions themselves do."""
    fn = resolve(name)
    assert fn is not None, f"{name} is not in the installed TensorFlow"
    graph = tf.Graph()
    with graph.as_default():
        logits = tf.compat.v1.placeholder(tf.float32, [2, 3])
        predictions = tf.sigmoid(logits)
        labels = tf.constant([[1., 0., 1.], [0., 1., 0.]])
        for call in _metric_calls(fn, predictions, labels):
            try:
                value, update = call()
                with tf.compat.v1.Session(graph=graph) as session:  # the signature is right: it runs
                    session.run(tf.compat.v1.local_variables_initializer())
                    session.run([value, update], {logits: np.zeros([2, 3], np.float32)})
            except (TypeError, ValueError, AttributeError, tf.errors.OpError):
                continue
            assert tf.compat.v1.gradients(tf.reduce_sum(predictions), logits)[0] is not None
            for output in (value, update):
                output = tf.cast(output, tf.float32)
                assert tf.compat.v1.gradients(tf.reduce_sum(output), logits) == [None], name
            return
    pytest.fail(f"{name}: none of the probe signatures could call it")


@pytest.mark.parametrize("name", sorted(kb.GRADIENT_FROM_ARGUMENTS))
def test_regrouping_functions_pass_the_gradient_of_their_arguments_only(name):
    """TF-Slim's metric aggregation regroups (value, update) pairs: aggregated TF1 metrics carry no gradient to the
    predictions, and an aggregated differentiable tensor keeps its own."""
    pytest.importorskip("tf_slim", reason="tf-slim is not installed; the test extra installs it")
    fn = resolve(name)
    assert fn is not None, f"{name} is not in the installed tf-slim"
    graph = tf.Graph()
    with graph.as_default():
        logits = tf.compat.v1.placeholder(tf.float32, [4])
        predictions = tf.sigmoid(logits)
        metric = tf.compat.v1.metrics.mean(predictions)
        own = (predictions * 2., tf.no_op())
        if name.endswith("_map"):
            values, updates = fn({"metric": metric, "own": own})
            metric_value, own_value = values["metric"], values["own"]
        else:
            values, updates = fn(metric, own)
            metric_value, own_value = values
        assert tf.compat.v1.gradients(tf.reduce_sum(metric_value), logits) == [None]
        assert tf.compat.v1.gradients(tf.reduce_sum(own_value), logits)[0] is not None


def test_tf1_metric_spelling_skips_keras_losses():
    """``tf.metrics.mean_squared_error`` was a differentiable Keras function in TensorFlow 2 with Keras 2: only the
    compat.v1 spelling of those names is listed."""
    for name in kb.KERAS2_METRIC_LOSSES:
        assert f"tensorflow.metrics.{name}" not in kb.NO_GRADIENT_RESULTS
        assert f"tensorflow.compat.v1.metrics.{name}" in kb.NO_GRADIENT_RESULTS


DTYPE_CASTS = sorted(n for n in kb.CASTS if resolve(n) is not None and not n.rsplit(".", 1)[1].startswith("to_"))
FIXED_FLOAT_CASTS = sorted(n for n in kb.CASTS if resolve(n) is not None and n.rsplit(".", 1)[1].startswith("to_"))


@pytest.mark.parametrize("name", FIXED_FLOAT_CASTS)
def test_tf1_float_casts_keep_the_gradient(name):
    """``tf.to_float`` and friends cast to a float dtype: the gradient flows (so they are casts, not cuts)."""
    gradient = _gradient_of(lambda x: tf.cast(resolve(name)(x), tf.float32) * 2., "eager")
    np.testing.assert_allclose(gradient, 2.)


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
@pytest.mark.parametrize("name", DTYPE_CASTS)
def test_cast_to_integer_dtype_cuts_the_gradient(name, dtype):
    fn = resolve(name)
    gradient = _gradient_of(lambda x: tf.cast(fn(x, dtype), tf.float32) * x, "eager")
    np.testing.assert_array_equal(gradient, np.asarray(fn(tf.constant(X), dtype)).astype(np.float32))


RANDOM_LIVE = sorted(name for name in kb.RANDOM_SAMPLES if resolve(name) is not None)


@pytest.mark.parametrize("name", RANDOM_LIVE)
def test_random_sample_with_constant_parameters_carries_no_gradient(name):
    """A sample's gradient comes only from its parameters (``gradients.GradientFlow`` follows them): with the
    shape taken from a watched tensor and default parameters, nothing flows back."""
    fn = resolve(name)
    for call in (lambda x: fn(tf.shape(x)), lambda x: fn(tf.shape(x), seed=[1, 2]), lambda x: fn(x),
                 lambda x: fn(tf.reshape(x, [1, -1]), 2), lambda x: fn(tf.shape(x), 1.)):
        try:
            gradient = _gradient_of(call, "eager")
        except LookupError:
            return
        except (TypeError, ValueError, tf.errors.OpError, NotImplementedError, AttributeError):
            continue
        assert np.all(gradient == 0), f"{name}: {gradient}"
        return
    pytest.fail(f"{name}: none of the probe signatures could call it")


@pytest.mark.parametrize("name", RANDOM_LIVE)
def test_random_samples_take_the_shape_first(name):
    """The model follows a sample's parameters after the first: that is right only where the first is the shape."""
    import inspect

    assert next(iter(inspect.signature(resolve(name)).parameters)) == "shape", name


@pytest.mark.parametrize("name", ["keras.random.dropout", "keras.random.shuffle"])
def test_random_ops_on_values_pass_their_gradient(name):
    """Why dropout and Keras's shuffle are not random samples: the values they take get a gradient."""
    fn = resolve(name)
    x = tf.constant([1., 2., 3., 4.])
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(fn(x, 0.5, seed=1) if name.endswith("dropout") else fn(x, seed=1))
    gradient = tf.convert_to_tensor(tape.gradient(total, x))
    assert np.any(np.asarray(gradient) != 0), f"{name}: {gradient}"


def test_uniform_bounds_carry_the_gradient():
    """The reason RANDOM_SAMPLES is not in NO_GRADIENT_RESULTS: a trainable bound gets a gradient."""
    low = tf.Variable(0.5)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(tf.random.uniform([4], minval=low, maxval=2.))
    assert tape.gradient(total, low) is not None


def test_integer_dtype_keyword_gives_an_integer_result():
    """``count_nonzero(m, dtype=tf.int32)``, ``size(x, out_type=tf.int64)``: the DTYPE_KEYWORDS rows."""
    x = tf.constant(X)
    assert tf.math.count_nonzero(x, dtype=tf.int32).dtype == tf.int32
    assert tf.size(x, out_type=tf.int64).dtype == tf.int64
    assert tf.argmax(x, output_type=tf.int32).dtype == tf.int32
    assert {"dtype", "out_type", "output_type"} == set(kb.DTYPE_KEYWORDS)


# -- classes whose methods are never differentiated -----------------------------------------------------------------
BASES = {
    "Metric": tf.keras.metrics.Metric,
    "Optimizer": tf.keras.optimizers.Optimizer,
    "LearningRateSchedule": tf.keras.optimizers.schedules.LearningRateSchedule,
    "Constraint": tf.keras.constraints.Constraint,
    "Initializer": tf.keras.initializers.Initializer,
    "Callback": tf.keras.callbacks.Callback,
}


@pytest.mark.parametrize("kind", sorted(kb.NO_GRADIENT_CLASSES))
def test_no_gradient_class_kind_is_a_keras_base(kind):
    names, methods = kb.NO_GRADIENT_CLASSES[kind]
    base = BASES[kind]
    assert base.__name__ == kind and kind in names
    live = [method for method in methods if method == "*" or hasattr(base, method)]
    assert live, f"none of {sorted(methods)} is a method of {base}"


def test_optimizer_subclasses_in_the_table_are_optimizers():
    names, _ = kb.NO_GRADIENT_CLASSES["Optimizer"]
    found = [name for name in names if hasattr(tf.keras.optimizers, name)]
    assert found and all(issubclass(getattr(tf.keras.optimizers, name), tf.keras.optimizers.Optimizer)
                         for name in found)


def test_a_schedule_and_a_metric_are_not_differentiated_by_keras():
    """Keras evaluates a LearningRateSchedule on the optimizer's integer step and a Metric outside the tape: a
    NaN in either cannot reach the weights of a model trained by fit."""

    class Schedule(tf.keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = tf.cast(step, tf.float32)
            return tf.where(step < 0., step / 0., 0.1)  # 0/0 and inf on the discarded elements

    model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
    model.compile(optimizer=tf.keras.optimizers.SGD(Schedule()), loss="mse")
    model.fit(np.ones((8, 2), np.float32), np.ones((8, 1), np.float32), epochs=2, verbose=0)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


# -- an inner where's constant fill guards the op, whatever the constant ---------------------------------------
FILLS = {
    "the pole itself": lambda x: 0.,
    "tf.ones([], dtype)": lambda x: tf.ones([], x.dtype),
    "np.float32(1.)": lambda x: np.float32(1.),
    "dtype(1.)": lambda x: x.dtype.as_numpy_dtype(1.),
    "tf.constant(1, dtype)": lambda x: tf.constant(1, dtype=x.dtype),
    "ones_like": lambda x: tf.ones_like(x),
    "erfc(fill)": lambda x: tf.math.erfc(tf.zeros_like(x)),
}


@pytest.mark.parametrize("op", ["sqrt", "log", "reciprocal"])
@pytest.mark.parametrize("fill", sorted(FILLS))
@pytest.mark.parametrize("mode", ["eager", "xla"])
def test_constant_filled_inner_where_gives_a_finite_gradient(op, fill, mode):
    """``tf.where(c, 0., f(tf.where(c, FILL, x)))``: the NaN computed for the fill lands on the constant, and x
    gets a zero gradient there (the claim ``gradients.GradientFlow`` makes for selects)."""
    function = {"sqrt": tf.sqrt, "log": tf.math.log, "reciprocal": tf.math.reciprocal}[op]
    make_fill = FILLS[fill]

    def f(x):
        c = x <= 0.
        return tf.where(c, 0., function(tf.where(c, make_fill(x), x)))

    gradient = _gradient_of(f, mode)
    assert np.all(np.isfinite(gradient)), f"{op} with fill {fill} ({mode}): {gradient}"


def test_without_the_inner_where_the_gradient_is_nan_under_xla():
    """The control: the same program without the guard has the NaN the rules report."""
    gradient = _gradient_of(lambda x: tf.where(x <= 0., 0., tf.sqrt(x)), "xla")
    assert np.isnan(gradient[X <= 0.]).any()


def test_a_pole_fill_multiplied_by_a_trainable_value_is_nan():
    """Where the op's value is infinite, a differentiable factor next to it gets 0 * inf: the model reports this
    case even when the op's own input is guarded (``analysis._no_gradient_reaches``)."""
    w = tf.Variable(np.ones_like(X))
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        c = x <= 0.
        total = tf.reduce_sum(tf.where(c, 0., w * tf.math.log(tf.where(c, 0., x))))
    assert np.isnan(np.asarray(tape.gradient(total, w))[X <= 0.]).all()


# -- named constants --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(kb.NAMED_CONSTANTS))
def test_named_constant(name):
    module, attribute = name.split(".", 1)
    value = getattr({"math": math, "numpy": np}[module], attribute)
    assert float(value) == kb.NAMED_CONSTANTS[name]


@pytest.mark.parametrize("name", sorted(kb.NUMPY_MONOTONE))
def test_numpy_monotone(name):
    module, attribute = name.split(".", 1)
    fn = getattr({"math": math, "numpy": np}[module], attribute)
    points = [0.5, 1.0, 2.0, 10.0]
    assert [float(fn(p)) for p in points] == pytest.approx([kb.NUMPY_MONOTONE[name](p) for p in points])


@pytest.mark.parametrize("attribute", sorted(kb.FINFO_POSITIVE_ATTRIBUTES))
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_finfo_attributes_are_positive(attribute, dtype):
    assert float(getattr(np.finfo(dtype), attribute)) > 0


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
def test_an_untrainable_variable_gets_no_gradient(mode):
    """``tf.Variable(..., trainable=False)`` and ``add_weight(..., trainable=False)``: the tape does not watch them
    (``knowledge.WEIGHT_METHODS``, ``VARIABLE_CREATORS``), so a NaN computed from them reaches no gradient."""
    import keras

    frozen = tf.Variable([0.0, 1.0], trainable=False)
    trained = tf.Variable([0.0, 1.0])
    layer = keras.layers.Layer()
    statistic = layer.add_weight(shape=(2,), initializer="zeros", trainable=False)

    def step():
        with tf.GradientTape() as tape:
            keep = tf.constant([False, True])
            total = tf.reduce_sum(tf.where(keep, tf.math.log(frozen) + tf.math.log(statistic + 1.0), 0.0)
                                  + tf.where(keep, tf.math.log(trained), 0.0))
        return tape.gradient(total, [frozen, statistic, trained])

    run = step if mode == "eager" else tf.function(step, jit_compile=mode == "xla")
    frozen_gradient, statistic_gradient, trained_gradient = run()
    assert frozen_gradient is None and statistic_gradient is None
    assert np.isnan(np.asarray(trained_gradient)[0])  # the same op on a trainable variable: 0 * inf
    assert not layer.trainable_weights and len(layer.non_trainable_weights) == 1
