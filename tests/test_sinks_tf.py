"""Prove the zero-gradient sinks of ``tflint_nan.knowledge`` against the installed TensorFlow and Keras.

Each row is a claim about TensorFlow's gradients: a clamp sends exactly 0 back to the value it clamps, a
saturating op has exactly 0 derivative at the infinite inputs listed, a boolean mask and a cast condition
zero the gradient of the elements they drop, and a risky op's pole values are what the table says.  Every claim
is checked eagerly, in a graph (``tf.function``) and under XLA, and the composition the rules report (a risky op
meeting the sink) is shown to give a NaN gradient there.
"""

from __future__ import annotations

import math

import pytest

tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed; install tflint-nan[dynamic]")

import numpy as np  # noqa: E402

from tf_harness import resolve  # noqa: E402
from tflint_nan import knowledge as kb  # noqa: E402

F32 = tf.float32
MODES = ("eager", "graph", "xla")


def _is_live(name: str) -> bool:
    return not name.startswith(kb.LEGACY_MODULES) and resolve(name) is not None


def _runner(function, mode: str):
    if mode == "eager":
        return function
    return tf.function(function, jit_compile=mode == "xla", reduce_retracing=True)


def _value_and_gradient(function, x, mode: str):
    """(function(x), d sum(function(x)) / dx) with x a float32 vector, in ``mode``."""

    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = function(x)
            total = tf.reduce_sum(y)
        gradient = tape.gradient(total, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return y, tf.convert_to_tensor(gradient)  # a gather's gradient is sparse (IndexedSlices)

    value, gradient = _runner(step, mode)(tf.constant(np.asarray(x, np.float32)))
    return np.asarray(value), np.asarray(gradient)


def _one_name_per_module(names) -> list[str]:
    return sorted(name for name in names if _is_live(name) and not name.startswith("tensorflow.compat.v1.keras"))


# -- risky ops: their values at the unsafe inputs ------------------------------------------------------------------
def _pole_cases():
    cases = []
    for op in kb.RISKY_OPS:
        if op.poles:
            cases += [(op, name) for name in _one_name_per_module(op.names) if "raw_ops" not in name]
    return cases


def _apply(op, function, x):
    if op.operand is kb.DIVISOR:
        return tf.concat([function(tf.ones_like(x), x), function(-tf.ones_like(x), x)], 0)
    if op.operand is kb.EXPONENT:
        return function(tf.fill(tf.shape(x), tf.constant(math.e, F32)), x)
    return function(x)


@pytest.mark.parametrize("op,name", _pole_cases(), ids=lambda value: getattr(value, "key", value))
def test_pole_values_are_what_the_op_computes_at_its_unsafe_inputs(op, name):
    function = resolve(name)
    inputs = op.unsafe_inputs + ((-0.0,) if 0.0 in op.unsafe_inputs else ())  # 1/-0 = -inf
    values = np.asarray(_apply(op, function, tf.constant(inputs, F32)))
    real = {float(value) for value in values.ravel() if not math.isnan(value)}
    assert real, f"{name} is NaN at every unsafe input"
    assert real <= set(op.poles), f"{name} at {op.unsafe_inputs}: {sorted(real)} not within {op.poles}"
    assert set(op.poles) <= real, f"{name} never reaches {set(op.poles) - real}"


# -- clamps: a zero gradient where they clamp, and exp/log meeting them ---------------------------------------------
def _call_clamp(sink, name, value, bound_low=-100.0, bound_high=1e6):
    function = resolve(name)
    if sink.symmetric:
        bound = bound_high if sink.upper is not None else bound_low
        return function(value, tf.fill(tf.shape(value), tf.constant(bound, F32)))
    if isinstance(sink.lower, kb.Operand) and isinstance(sink.upper, kb.Operand):
        return function(value, bound_low, bound_high)
    return function(value)


def _clamp_cases():
    return [(sink, name) for sink in kb.CLAMP_SINKS for name in _one_name_per_module(sink.names)]


def _cut_side(sink) -> float:
    """An infinite value the clamp cuts off: +inf if it has an upper bound, else -inf."""
    return math.inf if sink.upper is not None else -math.inf


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sink,name", _clamp_cases(), ids=lambda value: value if isinstance(value, str) else "")
def test_a_clamp_sends_a_zero_gradient_where_it_clamps(sink, name, mode):
    far = _cut_side(sink)
    _, gradient = _value_and_gradient(lambda v: _call_clamp(sink, name, v), [far, 3.0 * np.sign(far)], mode)
    assert gradient[0] == 0.0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sink,name", _clamp_cases(), ids=lambda value: value if isinstance(value, str) else "")
def test_a_clamped_pole_has_a_nan_gradient(sink, name, mode):
    """exp's inf under an upper clamp, log's -inf under a lower one: 0 * inf = NaN, with a finite value."""
    if sink.upper is not None:
        producer, x = tf.exp, [100.0]
    else:
        producer, x = tf.math.log, [0.0]
    value, gradient = _value_and_gradient(lambda v: _call_clamp(sink, name, producer(v)), x, mode)
    assert np.isfinite(value).all() and np.isnan(gradient).all()


@pytest.mark.parametrize("mode", MODES)
def test_relu_sends_a_zero_gradient_at_its_threshold_and_maximum_does_not(mode):
    """Why relu's bound is closed in the analysis (``_clamp_cuts``) and maximum's is not: at a tie, maximum's
    gradient goes to its first argument; relu's is 0 at 0."""
    _, relu_gradient = _value_and_gradient(tf.nn.relu, [0.0], mode)
    _, maximum_gradient = _value_and_gradient(lambda v: tf.maximum(v, 0.0), [0.0], mode)
    assert relu_gradient[0] == 0.0 and maximum_gradient[0] == 1.0


# -- masks -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ("eager", "graph"))  # boolean_mask has a data-dependent shape: no XLA
@pytest.mark.parametrize("name", _one_name_per_module(kb.BOOLEAN_MASKS))
def test_a_boolean_mask_zeroes_the_gradient_of_what_it_drops(name, mode):
    function = resolve(name)
    _, gradient = _value_and_gradient(lambda v: function(v, v > 0.5), [0.0, 1.0], mode)
    assert gradient.tolist() == [0.0, 1.0]
    value, gradient = _value_and_gradient(lambda v: function(tf.math.log(v), v > 0.5), [0.0, 1.0], mode)
    assert np.isfinite(value).all() and math.isnan(gradient[0])


def _take_last(name):
    """``v -> the last of v's two elements``, through the index function ``name`` as its callers write it."""
    function = resolve(name)
    last = name.rsplit(".", 1)[1]
    if last == "gather_nd":
        return lambda v: function(v, [[1]])
    if last == "take_along_axis":
        return lambda v: function(v, tf.constant([1]), axis=0)
    return lambda v: function(v, tf.constant([1]))


def _index_cases():
    return [name for name in _one_name_per_module(kb.INDEX_SELECTIONS)
            if not name.startswith("tensorflow.compat.v1.batch_gather")]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", _index_cases())
def test_an_index_zeroes_the_gradient_of_what_it_leaves_out(name, mode):
    take_last = _take_last(name)
    _, gradient = _value_and_gradient(take_last, [0.0, 1.0], mode)
    assert gradient.tolist() == [0.0, 1.0]
    value, gradient = _value_and_gradient(lambda v: take_last(tf.math.log(v)), [0.0, 1.0], mode)
    assert np.isfinite(value).all() and math.isnan(gradient[0]) and gradient[1] == 1.0


@pytest.mark.parametrize("mode", MODES)
def test_a_slice_zeroes_the_gradient_of_what_it_leaves_out_and_indexing_the_input_first_does_not(mode):
    value, gradient = _value_and_gradient(lambda v: tf.math.log(v)[1:], [0.0, 1.0], mode)
    assert np.isfinite(value).all() and math.isnan(gradient[0])
    value, gradient = _value_and_gradient(lambda v: tf.math.log(v[1:]), [0.0, 1.0], mode)
    assert gradient.tolist() == [0.0, 1.0]
    value, gradient = _value_and_gradient(lambda v: tf.gather(tf.sqrt(v), [1]), [0.0, 1.0], mode)
    # sqrt's eager and graph gradient kernel returns 0 for a zero upstream; XLA computes 0 * inf.
    assert math.isnan(gradient[0]) == (mode == "xla") and kb.risky_op("sqrt").nan_in_eager is False


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", _one_name_per_module(kb.NO_NAN_PRODUCTS))
def test_multiply_no_nan_keeps_the_value_clean_and_the_gradient_nan(name, mode):
    """``multiply_no_nan(log(v), mask)`` is 0 where the mask is, the log's -inf hidden; its gradient is 0 * inf."""
    function = resolve(name)
    value, gradient = _value_and_gradient(lambda v: function(tf.math.log(v), tf.cast(v > 0.5, F32)), [0.0, 1.0],
                                          mode)
    assert value.tolist() == [0.0, 0.0] and math.isnan(gradient[0]) and gradient[1] == 1.0


def _mask_product_cases():
    return _one_name_per_module(kb.MULTIPLY | kb.CASTS - {"tensorflow.experimental.numpy.asarray"})


def _mask_product(name):
    function = resolve(name)
    if name in kb.MULTIPLY:
        return lambda v: function(tf.cast(tf.abs(v) > 1e-3, F32), 1.0 / v)
    if name.rsplit(".", 1)[1].startswith("to_"):
        return lambda v: tf.cast(function(tf.abs(v) > 1e-3), F32) * (1.0 / v)
    return lambda v: function(tf.abs(v) > 1e-3, "float32") * (1.0 / v)


@pytest.mark.parametrize("mode", ("eager", "graph"))
@pytest.mark.parametrize("name", _mask_product_cases())
def test_a_cast_condition_times_a_pole_has_a_nan_gradient(name, mode):
    """``cast(c) * op`` is a select with the fill 0: where the op's derivative overflows (a division by a tiny
    number) its gradient is 0 * inf = NaN, with a finite value; where the op is inf, the value is NaN too."""
    value, gradient = _value_and_gradient(_mask_product(name), [1e-30, 2.0, 0.0], mode)
    assert np.isfinite(value[:2]).all() and math.isnan(gradient[0]) and gradient[1] == pytest.approx(-0.25)
    assert math.isnan(value[2])


@pytest.mark.parametrize("name", [name for name in _mask_product_cases()
                                  if not name.rsplit(".", 1)[1].startswith("to_")])  # these need a second cast
def test_xla_turns_a_cast_condition_product_into_a_select(name):
    """Why a mask finding names the modes: XLA rewrites the product into a select, whose gradient (here) is 0."""
    value, gradient = _value_and_gradient(_mask_product(name), [1e-30, 2.0, 0.0], "xla")
    assert np.isfinite(value).all() and gradient[0] == 0.0


@pytest.mark.parametrize("mode", MODES)
def test_under_xla_a_cast_condition_product_with_sqrt_is_a_select_and_nan(mode):
    """sqrt's eager kernel hides 0 * inf; XLA's select computes it, as for tf.where (TFN004)."""
    _, gradient = _value_and_gradient(lambda v: tf.cast(v > 0.5, F32) * tf.sqrt(v), [0.0, 1.0], mode)
    assert math.isnan(gradient[0]) == (mode == "xla")


# -- saturating ops: a zero derivative at an infinite input ---------------------------------------------------------
def _saturation_cases():
    cases = []
    for op in kb.SATURATING_OPS:
        for name in _one_name_per_module(op.names):
            for at in op.at:
                cases.append((op, name, at))
    return cases


def _call_saturating(op, name, value):
    function = resolve(name)
    if op.operand is kb.DIVISOR:
        return function(tf.ones_like(value), value)
    return function(value)


def _producer(at: float):
    """A producer that reaches ``at``: exp overflows to +inf, -exp to -inf, log at 0 gives -inf."""
    if at == math.inf:
        return tf.exp, 100.0
    return (lambda v: -tf.exp(v)), 100.0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op,name,at", _saturation_cases(),
                         ids=lambda value: value if isinstance(value, str) else f"{value:g}"
                         if isinstance(value, float) else "")
def test_a_saturating_op_has_a_zero_derivative_at_infinity(op, name, at, mode):
    _, gradient = _value_and_gradient(lambda v: _call_saturating(op, name, v), [at], mode)
    assert gradient[0] == 0.0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op,name,at", _saturation_cases(),
                         ids=lambda value: value if isinstance(value, str) else f"{value:g}"
                         if isinstance(value, float) else "")
def test_an_overflow_into_a_saturating_op_has_a_nan_gradient(op, name, at, mode):
    if op.key == "exp":
        producer, x = tf.math.log, 0.0  # exp(log(0)) = exp(-inf) = 0
    else:
        producer, x = _producer(at)
    _, gradient = _value_and_gradient(lambda v: _call_saturating(op, name, producer(v)), [x], mode)
    assert math.isnan(gradient[0])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", _one_name_per_module(kb.INFINITY_CARRIERS))
def test_infinity_carriers_keep_an_infinite_element(name, mode):
    function = resolve(name)
    for sign in kb.INFINITY_CARRIERS[name]:
        values = tf.constant([sign, 1.0, -2.0], F32)
        if name in kb.CASTS:
            result = function(values, "float32")
        else:
            result = _runner(function, mode)(values) if mode != "eager" else function(values)
        carried = np.asarray(result).ravel()
        assert sign in carried.tolist(), f"{name}({values.numpy()}) = {carried}"


@pytest.mark.parametrize("name", _one_name_per_module(kb.MAX_REDUCTIONS | kb.MIN_REDUCTIONS))
def test_subtracting_the_maximum_leaves_nothing_above_zero(name):
    function = resolve(name)
    x = tf.constant([[3.0, -1.0, 100.0], [-50.0, 0.5, 2.0]], F32)
    shifted = x - function(x, 1, keepdims=True)
    if name in kb.MAX_REDUCTIONS:
        assert float(tf.reduce_max(shifted)) == 0.0
    else:
        assert float(tf.reduce_min(shifted)) == 0.0


# -- probabilities that round to exactly 0 where their derivative is 0 (TFN010) --------------------------------------
def _probability_cases():
    return [(op, name) for op in kb.PROBABILITY_OPS for name in _one_name_per_module(op.names)]


def _probability(op, name, x):
    """The row's value at ``x``: a softmax over a row whose other entry is 0, ``1 - f(x)``, or ``f(x)``."""
    function = resolve(name)
    if op.key in ("softmax", "one_minus_softmax"):
        entry = function(tf.stack([x, tf.zeros_like(x)], axis=-1))[..., 0]
        return 1.0 - entry if op.complement else entry
    return 1.0 - function(x) if op.complement else function(x)


def _beyond(op) -> tuple[float, float]:
    """(an input where the row says the value is exactly 0, one just inside where it is not)."""
    # (2 beyond the threshold: between -88 and -88.7 XLA's fused sigmoid rounds to 0 but its log's gradient is 0.)
    if op.zero_above is not None or op.complement:  # one minus a softmax entry: the entry's gap above the rest
        above = op.zero_above if op.zero_above is not None else kb.SIGMOID_ROUNDS_TO_ONE
        return above + 2.0, above - 1.0
    threshold = op.zero_below if op.zero_below is not None else kb.EXP_UNDERFLOW  # softmax: the entry's gap
    return threshold - 2.0, threshold + 1.0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op,name", _probability_cases(), ids=lambda value: getattr(value, "key", value))
def test_a_probability_rounds_to_zero_with_a_zero_derivative_where_the_table_says(op, name, mode):
    zero, inside = _beyond(op)
    value, gradient = _value_and_gradient(lambda x: _probability(op, name, x), [zero, inside], mode)
    assert value[0] == 0.0 and gradient[0] == 0.0, (value, gradient)
    assert value[1] > 0.0, value


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op,name", _probability_cases(), ids=lambda value: getattr(value, "key", value))
def test_the_log_of_a_probability_at_zero_has_a_nan_gradient(op, name, mode):
    zero, inside = _beyond(op)
    value, gradient = _value_and_gradient(lambda x: tf.math.log(_probability(op, name, x)), [zero, inside], mode)
    if op.xla_simplifies and mode == "xla":
        assert np.isfinite(value).all() and np.isfinite(gradient).all(), (value, gradient)  # log(exp(x)) is x
        return
    assert value[0] == -np.inf and np.isnan(gradient[0]), (value, gradient)
    assert np.isfinite(value[1]) and np.isfinite(gradient[1]), (value, gradient)


@pytest.mark.parametrize("mode", MODES)
def test_a_gathered_log_softmax_entry_is_finite_and_its_gradient_nan(mode):
    """The label's entry is finite; the other, which rounded to 0, makes the whole row's gradient NaN."""
    value, gradient = _value_and_gradient(lambda z: tf.math.log(tf.nn.softmax(z))[0], [100.0, 0.0], mode)
    assert np.isfinite(value) and np.isnan(gradient).all(), (value, gradient)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("builtin, hand_written", [
    (tf.nn.log_softmax, lambda z: tf.math.log(tf.nn.softmax(z))),
    (tf.math.log_sigmoid, lambda x: tf.math.log(tf.sigmoid(x))),
    (lambda x: tf.math.log_sigmoid(-x), lambda x: tf.math.log(1.0 - tf.sigmoid(x))),
], ids=["log_softmax", "log_sigmoid", "log_sigmoid of -x"])
def test_the_builtins_the_findings_name_agree_and_stay_finite(builtin, hand_written, mode):
    probes = [-1000.0, -100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0, 1000.0]
    value, gradient = _value_and_gradient(builtin, probes, mode)
    assert np.isfinite(value).all() and np.isfinite(gradient).all(), (value, gradient)
    hand_value, _ = _value_and_gradient(hand_written, probes, mode)
    finite = np.isfinite(hand_value)
    np.testing.assert_allclose(value[finite], hand_value[finite], rtol=1e-5, atol=1e-6)


# -- labels as masks (TFN007) ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_a_label_times_the_log_of_a_zero_probability_is_nan_in_value_and_gradient(mode):
    """Where the label is 0 and the probability exactly 0, 0 * -inf is NaN in the value and the gradient, in every
    mode (XLA keeps a product with a label a product); where the label is 1 the log's -inf shows."""
    labels = tf.constant([0.0, 0.0, 1.0])

    def cross_entropy(p):
        return labels * tf.math.log(p)

    value, gradient = _value_and_gradient(cross_entropy, [0.0, 0.5, 0.5], mode)
    assert np.isnan(value[0]) and np.isnan(gradient[0]), (value, gradient)
    assert np.isfinite(value[1:]).all() and np.isfinite(gradient[1:]).all(), (value, gradient)


@pytest.mark.parametrize("mode", MODES)
def test_xlogy_is_zero_with_a_zero_gradient_where_the_label_is_zero(mode):
    labels = tf.constant([0.0, 0.0, 1.0])
    value, gradient = _value_and_gradient(lambda p: tf.math.xlogy(labels, p), [0.0, 0.5, 0.5], mode)
    assert value[0] == 0.0 and gradient[0] == 0.0, (value, gradient)
    np.testing.assert_allclose(value[1:], [0.0, np.log(0.5)], rtol=1e-6)


@pytest.mark.parametrize("name", _one_name_per_module(kb.ONE_HOT))
def test_a_one_hot_encoding_is_zero_off_the_label(name):
    encoded = resolve(name)(tf.constant([2]), 4)
    assert np.asarray(encoded).tolist() == [[0.0, 0.0, 1.0, 0.0]]


# -- a focal term: a power of one minus a probability that rounds to 1 (TFN009) --------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("gamma,nan", [(0.0, True), (0.5, True), (2.0, False)])
def test_a_power_of_one_minus_a_saturated_probability_has_a_nan_gradient_below_exponent_one(gamma, nan, mode):
    """At x = 20 the sigmoid (and a two-entry softmax) is exactly 1: the base is 0 with a zero derivative, and the
    power's derivative there is inf for an exponent in (0, 1) and 0 * inf at 0; from 1 up it is finite."""
    for probability in (tf.sigmoid, lambda x: tf.nn.softmax(tf.stack([x, tf.zeros_like(x)], -1))[..., 0]):
        value, gradient = _value_and_gradient(lambda x: tf.pow(1.0 - probability(x), gamma), [20.0, 0.0], mode)
        assert np.isfinite(value).all() and math.isnan(gradient[0]) == nan and np.isfinite(gradient[1])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", _one_name_per_module(kb.ONE_HOT_PICKS))
def test_a_sum_with_a_one_hot_encoding_is_the_picked_entry_exactly(name, mode):
    """``reduce_sum(softmax(z) * one_hot(y), -1)`` picks the label's entry and adds +0s: it is 0 exactly where that
    entry underflows (a margin of 120 against it) and 1 exactly where it saturates (a margin of 30 for it), so the
    log of the pick and a focal term of its complement have the softmax's NaN gradients."""
    total = resolve(name)

    def pick(x):
        logits = tf.stack([x, tf.zeros_like(x)], -1)
        labels = tf.one_hot(tf.zeros_like(x, tf.int32), 2)  # every row's label is class 0, the entry of x
        return total(tf.nn.softmax(logits) * labels, -1)

    value, gradient = _value_and_gradient(pick, [-120.0, 30.0, 0.0], mode)
    assert value[0] == 0.0 and value[1] == 1.0 and value[2] == 0.5, value
    value, gradient = _value_and_gradient(lambda x: tf.math.log(pick(x)), [-120.0, 0.0], mode)
    assert value[0] == -np.inf and math.isnan(gradient[0]) and np.isfinite(gradient[1]), (value, gradient)
    value, gradient = _value_and_gradient(lambda x: tf.pow(1.0 - pick(x), 0.0), [30.0, 0.0], mode)
    assert np.isfinite(value).all() and math.isnan(gradient[0]) and np.isfinite(gradient[1]), (value, gradient)


@pytest.mark.parametrize("mode", MODES)
def test_a_select_of_a_sigmoid_and_its_complement_is_zero_and_one_where_they_round(mode):
    """A binary focal loss's ``p_t = where(y == 1, p, 1 - p)``: at a logit of 20 with the label 0 it is 1 - p = 0
    exactly (its log -inf, a NaN gradient); with the label 1 it is p = 1 exactly, and ``pow(1 - p_t, 0)`` has a
    NaN gradient; at a logit of 0 both are finite."""

    def p_t(x, label):
        p = tf.sigmoid(x)
        return tf.where(tf.equal(tf.fill(tf.shape(x), label), 1.0), p, 1.0 - p)

    value, gradient = _value_and_gradient(lambda x: tf.math.log(p_t(x, 0.0)), [20.0, 0.0], mode)
    assert value[0] == -np.inf and math.isnan(gradient[0]) and np.isfinite(gradient[1]), (value, gradient)
    value, gradient = _value_and_gradient(lambda x: tf.pow(1.0 - p_t(x, 1.0), 0.0), [20.0, 0.0], mode)
    assert np.isfinite(value).all() and math.isnan(gradient[0]) and np.isfinite(gradient[1]), (value, gradient)


# -- picks by value, dropped segment ids and overwrites (TFN011) --------------------------------------------------
def _pick(name):
    """``v -> the pick of ``name`` over v's two elements``, as its callers write it."""
    function = resolve(name)
    last = name.rsplit(".", 1)[1]
    if last == "top_k":
        return lambda v: function(v, k=1)[0]
    if name == "tensorflow.compat.v1.nn.max_pool":  # TensorFlow 1's: NHWC only, windows over all four axes
        return lambda v: function(tf.reshape(v, [1, 1, 2, 1]), [1, 1, 2, 1], [1, 1, 2, 1], "VALID")
    if last.startswith("max_pool"):
        rank = {"max_pool": 1, "max_pool1d": 1, "max_pool2d": 2, "max_pool3d": 3}[last]
        window = [1] * (rank - 1) + [2]
        return lambda v: function(tf.reshape(v, [1, *window, 1]), window, window, "VALID")
    if "segment" in last:
        return lambda v: function(v, tf.constant([0, 0]), 1) if "unsorted" in last else function(v, tf.constant([0, 0]))
    return function


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", _one_name_per_module(kb.VALUE_PICKS))
def test_a_pick_zeroes_the_gradient_of_what_it_leaves_out_and_shows_a_pole_it_picks(name, mode):
    pick, picks = _pick(name), kb.VALUE_PICKS[name][1]
    if mode == "xla" and name.rsplit(".", 1)[1] in ("segment_max", "segment_min"):
        # XLA has no kernel for the sorted segment reductions: a user gets an error, never a silent NaN.
        with pytest.raises((tf.errors.InvalidArgumentError, tf.errors.UnimplementedError)):
            _value_and_gradient(pick, [1.0, 2.0], mode)
        return
    # The element left out: log(0) = -inf under a maximum, exp(100) = inf under a minimum.
    op, left_out = (tf.math.log, [0.0, 1.0]) if picks == math.inf else (tf.exp, [100.0, 0.0])
    _, gradient = _value_and_gradient(pick, [1.0, 2.0] if picks == math.inf else [2.0, 1.0], mode)
    assert gradient.tolist() == [0.0, 1.0]
    value, gradient = _value_and_gradient(lambda v: pick(op(v)), left_out, mode)
    assert np.isfinite(value).all() and math.isnan(gradient[0]) and gradient[1] == 1.0
    # The pole picked is the value itself: no silent NaN, the loss is infinite.
    picked = tf.exp if picks == math.inf else tf.math.log
    value, _ = _value_and_gradient(lambda v: pick(picked(v)), [100.0, 1.0] if picks == math.inf else [0.0, 1.0],
                                   mode)
    assert not np.isfinite(value).all()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", _one_name_per_module(kb.DROPPING_SEGMENT_REDUCTIONS))
def test_a_negative_segment_id_drops_the_element_and_zeroes_its_gradient(name, mode):
    function = resolve(name)
    _, gradient = _value_and_gradient(lambda v: function(v, tf.constant([-1, 0]), 1), [2.0, 2.0], mode)
    assert gradient[0] == 0.0 and gradient[1] != 0.0
    value, gradient = _value_and_gradient(lambda v: function(tf.math.log(v), tf.constant([-1, 0]), 1), [0.0, 2.0],
                                          mode)
    assert np.isfinite(value).all() and math.isnan(gradient[0]) and np.isfinite(gradient[1])
    # Ids that are all valid keep every element: the log's -inf is in the value.
    value, _ = _value_and_gradient(lambda v: function(tf.math.log(v), tf.constant([0, 0]), 1), [0.0, 2.0], mode)
    assert not np.isfinite(value).all()


def _overwrite(name):
    """``v -> v with its first element replaced``, through ``name`` as its callers write it."""
    function = resolve(name)
    last = name.rsplit(".", 1)[1]
    if last.endswith("band_part"):  # keep the diagonal of diag(v1, v0)... of the 2x2 matrix [[v1, v0], [v0, v1]]
        return lambda v: function(tf.stack([tf.stack([v[1], v[0]]), tf.stack([v[0], v[1]])]), 0, 0)
    if last.endswith("set_diag"):
        return lambda v: function(tf.stack([tf.stack([v[0], v[1]]), tf.stack([v[1], v[0]])]), tf.constant([5.0, 5.0]))
    return lambda v: function(v, tf.constant([[0]]), tf.constant([5.0]))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", _one_name_per_module(kb.POSITION_OVERWRITES))
def test_an_overwrite_zeroes_the_gradient_of_what_it_replaces(name, mode):
    overwrite = _overwrite(name)
    _, gradient = _value_and_gradient(overwrite, [2.0, 2.0], mode)
    assert gradient[0] == 0.0 and gradient[1] != 0.0
    value, gradient = _value_and_gradient(lambda v: overwrite(tf.math.log(v)), [0.0, 2.0], mode)
    assert np.isfinite(value).all() and math.isnan(gradient[0]) and np.isfinite(gradient[1])


# -- values that are 0 exactly where their own derivative is 0 (TFN009's ZERO_FLAT_OPS) -----------------------------
def _flat_zero(name):
    """(``v -> the op at v``, an input where it is exactly 0 with a zero derivative)."""
    function = resolve(name)
    if name.rsplit(".", 1)[1] == "squared_difference":
        return (lambda v: function(v, tf.ones_like(v))), 1.0
    return function, (-200.0 if kb.ZERO_FLAT_OPS[name] == "underflow" else 0.0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", _one_name_per_module(kb.ZERO_FLAT_OPS))
def test_a_root_of_a_flat_zero_has_a_nan_gradient_with_a_zero_value(name, mode):
    op, at = _flat_zero(name)
    value, gradient = _value_and_gradient(lambda v: op(v), [at], mode)
    assert value.tolist() == [0.0] and gradient.tolist() == [0.0]
    value, gradient = _value_and_gradient(lambda v: tf.sqrt(op(v)), [at, 3.0], mode)
    assert value[0] == 0.0 and math.isnan(gradient[0]) and np.isfinite(gradient[1])
