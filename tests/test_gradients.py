"""The gradient-flow model on code shaped like real projects: what is never differentiated, which values carry no
gradient, how confident a finding is, and that unknown code stays reported.

Each ``silent`` case is reported with ``--strict`` (the analysis still sees the op) and says why no gradient
reaches it; each ``reported`` case shows at the default level.
"""

from __future__ import annotations

import ast
import textwrap

import pytest

from helpers import lint
from tflint_nan.gradients import ModuleFacts

PRELUDE = "import numpy as np\nimport tensorflow as tf\nimport keras\n\n"


def findings(code: str, strict: bool = False):
    return lint(PRELUDE + textwrap.dedent(code), strict=strict)


SILENT_BY_DEMAND = {
    "keras metric": """
        class Ratio(keras.metrics.Metric):
            def update_state(self, hits, total):
                self.ratio = tf.where(total > 0., hits / total, 0.)
        """,
    "optimizer subclass of a subclass": """
        class Base(tf.keras.optimizers.Adam):
            pass

        class Mine(Base):
            def update_step(self, gradient, variable, learning_rate):
                norm = tf.norm(gradient)
                return tf.where(norm > 0., gradient / norm, gradient)
        """,
    "third-party optimizer method name": """
        class Clipped(SomeLibraryOptimizer):
            def _resource_apply_dense(self, grad, var):
                return tf.where(grad != 0., 1. / grad, grad)
        """,
    "learning-rate schedule": """
        class Warmup(keras.optimizers.schedules.LearningRateSchedule):
            def __call__(self, step):
                return tf.where(step < 10., self.peak * step / 10., tf.math.rsqrt(step))
        """,
    "constraint": """
        class UnitNorm(keras.constraints.Constraint):
            def __call__(self, w):
                n = tf.sqrt(tf.reduce_sum(w * w))
                return tf.where(n > 0., w / n, w)
        """,
    "after a raise in the same block": """
        def perturbation(grad, momentum=None):
            if momentum is not None:
                raise NotImplementedError("momentum is disabled")
                norm = tf.norm(grad, ord=1)
                grad = grad * tf.where(norm == 0., 0., 1. / norm)
            return grad
        """,
    "reassigned and sent to NumPy": """
        def heatmap(grads, conv):
            cam = tf.reduce_sum(tf.reduce_mean(grads, axis=(0, 1)) * conv, -1)
            cam = tf.where(cam > 0., cam / tf.reduce_max(cam), 0.)
            return cam.numpy()
        """,
    "passed to a helper that only logs it": """
        def _ratio(a, b):
            inter = tf.minimum(a, b)
            union = a + b - inter
            return tf.where(union > 0., inter / union, tf.zeros_like(inter))

        def _log_quality(ratio):
            summaries = [tf.reduce_mean(ratio)]
            summaries.append(tf.reduce_max(ratio))
            tf.print(*summaries)

        def match(anchors, truth):
            ratio = _ratio(anchors, truth)
            _log_quality(ratio)
            iou = tf.concat([ratio, tf.eye(3)], axis=0)

            def best_of(iou):
                return tf.argmax(iou, axis=-1)

            return tf.gather(truth, best_of(iou))
        """,
    "a method's result only compared by the method that calls it": """
        class Matcher:
            def _overlap(self, a, b):
                return tf.where(b > 0., a / b, 0.)

            def assign(self, a, b):
                return self._overlap(a, b) > 0.5
        """,
    "custom gradient forward": """
        @tf.custom_gradient
        def clip_grad(x):
            return tf.where(x != 0., 1. / x, x), lambda dy: dy
        """,
    "forward handed to a custom-gradient wrapper": """
        def _forward(x):
            return tf.where(x > 0., tf.math.log(x), x)

        op = some_library.custom_gradient(vjp_fwd=_forward, vjp_bwd=_backward)
        """,
    "private helper only a metric calls": """
        def _ratio(a, b):
            return tf.where(b > 0., a / b, 0.)

        class Precision(keras.metrics.Metric):
            def result(self):
                return _ratio(self.tp, self.tp + self.fp)
        """,
    "tf.data map function": """
        def _augment(image):
            return tf.where(image > 0., tf.math.log(image), image)

        dataset = dataset.map(_augment)
        """,
    "helper called in a comprehension whose list only a metric reads": """
        def _uncertainty(logits):
            return 1. / (1. + tf.reduce_sum(tf.exp(logits), axis=-1))

        def evaluate(per_member_logits, metric):
            scores = [_uncertainty(logits) for logits in per_member_logits]
            metric.update_state(tf.reduce_mean(scores, axis=0))
        """,
    "a saturating division whose result is only compared": """
        def gate(x):
            return tf.cast(1. / (1. + tf.exp(-x)) > 0.5, tf.float32)
        """,
    "a value only a TensorFlow 1 session fetches": """
        def report(x, sess):
            logs = tf.where(x > 0., tf.math.log(x), 0.)
            return sess.run(logs)
        """,
    # A value passed to a helper comes back to the call it went in through, not to the helper's other callers.
    "a value through a shared helper into a summary": """
        def pad(x):
            return tf.pad(x, [[1, 1]])

        def norms(a, b):
            logs = tf.where(a > 0., tf.math.log(a), 0.)
            tf.summary.histogram("logs", pad(logs))
            return pad(b)
        """,
    "a value through a method of an object built in place into a summary": """
        class Summarizer:
            def reduce(self, t):
                return tf.reduce_mean(t)

        def stats(x):
            logs = tf.where(x > 0., tf.math.log(x), 0.)
            tf.summary.scalar("m", Summarizer().reduce(logs))
        """,
    # A parameter that has a function's name is not that function handed around.
    "a helper whose name a parameter elsewhere shadows": """
        def safe_log(x):
            return tf.where(x > 0., tf.math.log(x), 0.)

        def blend(a, safe_log):
            return a * safe_log

        def log_stats(x):
            tf.summary.histogram("h", safe_log(x))
        """,
    # A lambda's parameter and a comprehension's variable are not the function's variable of the same name.
    "a variable whose name a lambda and a comprehension rebind": """
        def stats(x, batches):
            logs = tf.where(x > 0., tf.math.log(x), 0.)
            act = lambda logs: some_library.act(logs)
            outs = [some_library.f(logs) for logs in batches]
            tf.summary.histogram("h", logs)
            return act, outs
        """,
    # A network written as straight-line code: sixty layers between the op and the summary.
    "a value that reaches a summary through sixty layers": (
        "def tower(x):\n    h = tf.where(x > 0., tf.math.log(x), 0.)\n"
        + "    h = tf.nn.relu(tf.concat([h, h], axis=1))\n" * 60
        + "    tf.summary.histogram('h', h)\n"),
    "a clamp of a root only a summary reads": """
        def log_norms(r):
            tf.summary.scalar("floor", tf.reduce_mean(tf.maximum(tf.sqrt(r), 1e-6)))
        """,
    # A function handed to tf.while_loop / tf.cond / tf.map_fn returns the call's value: followed into it.
    "a loop body whose loop value is only compared": """
        def _newton(x):
            def body(i, w):
                e = tf.exp(w)
                return i + 1, tf.where(w > 80., w, w - (w * e - x) / (e + w * e))
            _, w = tf.while_loop(lambda i, w: i < 8, body, [0, x])
            return w

        def converged(x):
            return tf.cast(_newton(x) > 0., tf.int32)
        """,
    "a loop condition": """
        def solve(x):
            def keep_going(i, w):
                return tf.reduce_any(tf.where(w > 0., tf.math.log(w), 0.) > 1.)
            return tf.while_loop(keep_going, lambda i, w: (i + 1, w * 0.5), [0, x])
        """,
    "a branch of tf.cond whose value is cast to an integer": """
        def bucket(x):
            r = tf.cond(x[0] > 0., lambda: tf.where(x > 0., tf.math.log(x), 0.), lambda: x)
            return tf.cast(r, tf.int32)
        """,
    "a mapped function whose value reaches NumPy only": """
        def report(x):
            def per_row(row):
                return tf.where(row > 0., tf.math.log(row), 0.)
            return tf.map_fn(per_row, x).numpy()
        """,
    # A tensor stored into a NumPy array, or passed where a function declares a NumPy array, leaves TensorFlow.
    "a step stored into a NumPy array": """
        def _step(x):
            norm = tf.norm(x, axis=1, keepdims=True)
            return x * tf.where(norm == 0., 0., 1. / norm)

        def attack(x: np.ndarray) -> np.ndarray:
            adversarial = x.astype(np.float32)
            for i in range(len(x)):
                adversarial[i] = _step(tf.constant(x[i:i + 1]))
            return adversarial
        """,
    "an argument declared a NumPy array": """
        def success_rate(predictions: "np.ndarray", labels: np.ndarray) -> float:
            return float(np.mean(np.argmax(predictions, 1) == labels))

        def _normalised(x):
            return tf.where(x > 0., x / tf.reduce_sum(x), 0.)

        def evaluate(x, labels):
            return success_rate(_normalised(x), labels)
        """,
    "a value only its length is taken of": """
        def count_valid(x):
            return len(tf.where(x > 0., tf.math.log(x), 0.))
        """,
    # A value that only flows around a loop of helpers reaches nothing by that path.
    "a loop-carried value that ends in NumPy": """
        def _project(delta, eps):
            norm = tf.norm(delta, axis=1, keepdims=True)
            return delta * tf.where(norm == 0., 0., tf.minimum(1., eps / norm))

        def _iterate(x, x0, eps):
            return x0 + _project(x - x0, eps)

        def attack(x0, eps, steps):
            x = x0
            for _ in range(steps):
                x = _iterate(x, x0, eps)
            return x.numpy()
        """,
    # ``frames /= std`` hands the value on to the name; ``f0 = tf.stop_gradient(f0)`` ends the earlier value.
    "normalised frames whose every use stops the gradient": """
        def _normalise(frames):
            mu, var = tf.nn.moments(frames, axes=[-1])
            std = tf.where(tf.abs(var) > 0., tf.sqrt(var), 1e-8)
            frames -= mu[:, None]
            frames /= std[:, None]
            return frames

        def pitch(audio, model):
            frames = _normalise(audio)
            f0 = model(frames, training=False)
            f0 = tf.stop_gradient(f0)
            return tf.reduce_mean(f0, axis=-1) + f0[:, 0]
        """,
    "a hidden Markov model's most likely states": """
        def _decode(hmm, acts):
            return hmm.posterior_mode(tf.where(acts > 0., tf.math.log(acts), -1e9))

        def track(hmm, acts):
            return tf.gather(tf.range(360), _decode(hmm, acts))
        """,
    # TensorFlow Transform: an analyzer runs only in the analysis of a preprocessing_fn.
    "a preprocessing_fn that calls a tf.Transform analyzer": """
        import tensorflow_transform as tft

        def preprocessing_fn(inputs):
            x = inputs["x"]
            centred = x - tft.mean(x)
            return {"log_x": tf.where(x > 0., tf.math.log(x), 0.), "centred": centred}
        """,
    "a helper that only a tf.Transform mapper calls": """
        from tensorflow_transform import analyzers

        def _log_or_zero(x):
            return tf.where(x > 0., tf.math.log(x), 0.)

        def scale_logs(x):
            logs = _log_or_zero(x)
            return logs / analyzers.max(logs)
        """,
}


@pytest.mark.parametrize("name", sorted(SILENT_BY_DEMAND))
def test_code_that_is_never_differentiated(name):
    code = SILENT_BY_DEMAND[name]
    assert findings(code) == [], name
    strict = findings(code, strict=True)
    assert strict and all(f.strict_only and f.no_gradient for f in strict), [f.message for f in strict]


SILENT_BY_VALUE = {
    "step counter parameter": """
        def warmup(step, warmup_steps, base_lr):
            step = tf.cast(step, tf.float32)
            return tf.where(step < warmup_steps, base_lr * step / warmup_steps, base_lr)
        """,
    "integer casts": """
        def ratio(x):
            hits = tf.reduce_sum(tf.cast(x > 0., tf.int32))
            return x * tf.cast(tf.where(hits > 0, 10 / hits, 0), tf.float32)
        """,
    "integer dtype keyword": """
        def ratio(mask, x):
            n = tf.math.count_nonzero(mask, dtype=tf.int32)
            k = tf.size(x, out_type=tf.int32)
            return x * tf.cast(tf.where(n > 0, k / n, 0), tf.float32)
        """,
    "labels of a loss": """
        def loss(y_true, y_pred):
            w = tf.where(y_true > 0., 1. / y_true, 0.)
            return tf.reduce_mean(w * y_pred)
        """,
    "random sample with constant parameters": """
        def noisy(x):
            u = tf.random.uniform(tf.shape(x), minval=-1., maxval=1.)
            return x + tf.where(u > 0., tf.math.log(u), u)
        """,
    "constant fill of an inner where": """
        def f(x):
            return tf.where(x <= 0., 0., tf.sqrt(tf.where(x <= 0., tf.ones([], x.dtype), x)))
        """,
    "dtype-made fill": """
        def f(x, dtype):
            return tf.where(x <= 0., 0., tf.math.log(tf.where(x <= 0., dtype(1.), x)))
        """,
    "result only compared": """
        def f(x):
            return tf.reduce_sum(tf.cast(tf.where(x > 0., tf.math.log(x), x) > 1., tf.float32))
        """,
    "result only rounded": """
        def f(x):
            return tf.math.floor(tf.where(x > 0., tf.math.log(x), x))
        """,
    "TF1 streaming metrics, unpacked": """
        def f1(predictions, labels):
            precision, precision_op = tf.compat.v1.metrics.precision(labels, predictions)
            recall, recall_op = tf.compat.v1.metrics.recall(labels, predictions)
            return tf.where(precision + recall > 0., 2. * precision * recall / (precision + recall), 0.)
        """,
    "TF1 metrics passed by the module's only caller": """
        def _f1(precision, recall):
            return tf.where(precision + recall > 0., 2. * precision * recall / (precision + recall), 0.)

        def metrics(labels, predictions):
            p, _ = tf.compat.v1.metrics.precision(labels, predictions)
            r, _ = tf.compat.v1.metrics.recall(labels, predictions)
            return {"f1": _f1(precision=p, recall=r)}
        """,
    "TF-Slim aggregated metrics": """
        import tf_slim

        def metrics(labels, predictions):
            values, updates = tf_slim.metrics.aggregate_metric_map({
                "precision": tf.compat.v1.metrics.precision(labels, predictions),
                "recall": tf.compat.v1.metrics.recall(labels, predictions),
            })
            p, r = values["precision"], values["recall"]
            return tf.where(p + r > 0., 2. * p * r / (p + r), 0.)
        """,
    "numpy operands": """
        def f(x):
            scale = np.ones(3)
            return x * tf.where(x > 0., np.log(scale) / scale, 0.)
        """,
    "untrainable variables": """
        class Codebook(keras.layers.Layer):
            def __init__(self, k):
                super().__init__()
                self.counts = tf.Variable(tf.zeros([k]), trainable=False)
                self.sums = self.add_weight(shape=(k, 4), trainable=False)

            def call(self, x, keep):
                return x + tf.where(keep, self.sums / self.counts[:, None], 0.)
        """,
    "an untrainable variable created in the function": """
        def f(x, keep):
            moving = tf.Variable(tf.ones_like(x), trainable=False)
            return x + tf.where(keep, tf.math.log(moving), 0.)
        """,
}


@pytest.mark.parametrize("name", sorted(SILENT_BY_VALUE))
def test_values_without_a_gradient(name):
    code = SILENT_BY_VALUE[name]
    assert findings(code) == [], name
    assert findings(code, strict=True), "the analysis must still see the op (strict shows it)"


SAFE_BY_RANGE = {
    "np.pi": "def f(x):\n    return tf.where(x > 0., x / np.pi, x)\n",
    "np.sqrt of a constant": "def f(x):\n    return tf.where(x > 0., x / np.sqrt(2.), x)\n",
    "finfo eps": "def f(x):\n    return tf.where(x > 0., tf.math.log(x * x + np.finfo(np.float32).eps), x)\n",
    "hyperparameter default": "def f(x, eps=1e-6):\n    return tf.where(x > 0., tf.math.log(x * x + eps), x)\n",
    "module constant": "EPS = 1e-6\n\ndef f(x):\n    return tf.where(x > 0., tf.math.log(x * x + EPS), x)\n",
    "sum of a cast mask plus eps": ("def f(x, m):\n    n = tf.reduce_sum(tf.cast(m > 0, tf.float32)) + 1e-6\n"
                                    "    return tf.where(x > 0., x / n, x)\n"),
    "square root of a sum of squares plus eps": ("def f(x):\n    n = tf.reduce_sum(x * x) ** 0.5 + 1e-6\n"
                                                  "    return tf.where(x > 0., x / n, x)\n", "TFN004"),
    "uniform sample with positive bounds": ("def f(x):\n    u = tf.random.uniform([3], minval=0.5, maxval=1.)\n"
                                            "    return tf.where(x > 0., x / u, x)\n"),
    "self attribute set from a numeric hyperparameter": (
        "class Attention(keras.layers.Layer):\n"
        "    def __init__(self, temperature=2.0):\n        super().__init__()\n        self.t = temperature\n\n"
        "    def call(self, x):\n        return tf.where(x > 0., x / self.t, x)\n"),
    "erfc plus eps": "def f(x):\n    return tf.where(x > 0., x, tf.math.log(tf.math.erfc(x) + 1e-3))\n",
    "a positive number over an absolute value": (
        "def f(n, alpha):\n    near = tf.abs(n - 1.) < 1e-5\n"
        "    return tf.where(near, 1., tf.pow(n / tf.abs(alpha), n))\n", "TFN003"),  # the division is reported
    "is_nan keeps the inf": ("def f(norm):\n    y = 1. / norm\n"
                             "    return tf.where(tf.math.is_nan(y), tf.zeros_like(y), y)\n", "kept"),
    # What every call of a helper passes it: the one caller clamps the log-scale first.
    "every caller clamps the parameter": (
        "LOG_STD_MAX = 2\n\ndef likelihood(x, mu, log_std):\n"
        "    return -0.5 * ((x - mu) / (tf.exp(log_std) + 1e-6)) ** 2 - log_std\n\n"
        "def policy(x, mu, raw):\n    log_std = tf.layers.dense(raw, 2)\n"
        "    log_std = tf.clip_by_value(log_std, -20, LOG_STD_MAX)\n    return likelihood(x, mu, log_std)\n"),
    "callers clamp through a closure and a default": (
        "def outer(z):\n    def step(x, t=1.):\n        return tf.where(x > 0., x, tf.exp(x * t) - 1.)\n"
        "    a = step(tf.tanh(z) * 40.)\n    return a + step(tf.minimum(z, 3.), t=2.)\n"),
    # A max-subtracted softmax's denominator holds exp(0) = 1 in every group it adds.
    "the sum of a max-subtracted exp": (
        "def f(z):\n    m = tf.reduce_max(z, -1, keepdims=True)\n    s = tf.reduce_sum(tf.exp(z - m), -1)\n"
        "    return tf.where(z[..., 0] > 0., tf.math.log(s), s)\n"),
    "the sum of every element of a max-subtracted exp": (
        "def f(z):\n    e = tf.exp(z - tf.stop_gradient(tf.reduce_max(z, axis=1, keepdims=True)))\n"
        "    return tf.where(z > 0., e / tf.reduce_sum(e), z)\n"),
    "a private method called through self with a bounded value": (
        "class Policy(keras.layers.Layer):\n    def _scale(self, s):\n        return 1. / (tf.exp(s) + 1e-6)\n\n"
        "    def call(self, x):\n        return x * self._scale(tf.nn.sigmoid(x) * 10.)\n"),
}


@pytest.mark.parametrize("name", sorted(SAFE_BY_RANGE))
def test_range_facts(name):
    """Nothing is reported even with --strict, except what the case names: an op the fact is not about (the
    power under the epsilon), or the op's uses that no gradient reaches (the zeros_like of the kept value)."""
    case = SAFE_BY_RANGE[name]
    code, exception = (case, None) if isinstance(case, str) else case
    strict = findings(code, strict=True)
    if exception == "kept":
        assert findings(code) == [] and all(f.no_gradient for f in strict), name
    else:
        assert [f for f in strict if f.code != exception] == [], name


STILL_REPORTED = {
    # A sum per row of an exp shifted by the maximum of every row, or by a maximum that does not keep its axis
    # (it broadcasts against the wrong one): a row far below that maximum sums to 0.
    "a sum per row of a global maximum's shift": (
        "def f(z):\n    m = tf.reduce_max(z)\n    s = tf.reduce_sum(tf.exp(z - m), -1)\n"
        "    return tf.where(s > 0., tf.math.log(s), 0.)\n", "high"),
    "a maximum that drops its axis": (
        "def f(z):\n    s = tf.reduce_sum(tf.exp(z - tf.reduce_max(z, -1)))\n"
        "    return tf.where(s > 0., tf.math.log(s), 0.)\n", "high"),
    # Unknown means differentiable: a parameter, a user function, a layer's weights (a trainable variable too).
    "a trainable variable": (
        "class L(keras.layers.Layer):\n    def __init__(self):\n        super().__init__()\n"
        "        self.scale = tf.Variable(tf.ones([3]), trainable=True)\n\n"
        "    def call(self, x):\n        return tf.where(x > 0., tf.math.log(self.scale), x)\n", "low"),
    "parameter divisor": ("def f(x, y):\n    return tf.where(y > 0., x / y, 0.)\n", "high"),
    "sinc with np.pi": ("def sinc(x):\n    return tf.where(tf.equal(x, 0.), tf.ones_like(x), "
                        "tf.sin(np.pi * x) / (np.pi * x))\n", "high"),
    "masked mean of a row": ("def f(emb, mask):\n    count = tf.reduce_sum(mask, axis=1, keepdims=True)\n"
                             "    return tf.where(count > 0, tf.reduce_sum(emb, 1) / count, 0.)\n", "high"),
    "bounded through the condition's variable": (
        "def f(n):\n    near = tf.abs(n - 1.) < 1e-5\n    return tf.where(near, 1., (n - 1.) / (1. - n) + n)\n",
        "high"),
    "a trainable factor next to a pole-filled op": (
        "def f(x, w):\n    c = x <= 0.\n    return tf.where(c, 0., w * tf.math.log(tf.where(c, 0., x)))\n", "high"),
    "user function fill": (  # the fill is unknown, but nothing says the condition picks where it is bad
        "def f(x):\n    return tf.where(x <= 0., 0., tf.math.log(tf.where(x <= 0., helper(x), x)))\n", "medium"),
    # What a helper's callers pass bounds its parameter only when every caller is known and every one bounds it.
    "one caller does not clamp": (
        "def likelihood(x, log_std):\n    return (x / (tf.exp(log_std) + 1e-6)) ** 2 - log_std\n\n"
        "def a(x, s):\n    return likelihood(x, tf.clip_by_value(s, -20., 2.))\n\n"
        "def b(x, s):\n    return likelihood(x, s)\n", "high"),
    "reassigned after the clamp": (
        "def likelihood(x, log_std):\n    return (x / (tf.exp(log_std) + 1e-6)) ** 2 - log_std\n\n"
        "def a(x, s):\n    s = tf.clip_by_value(s, -20., 2.)\n    s = s * x\n    return likelihood(x, s)\n",
        "high"),
    "a loop may bring back an unclamped value": (
        "def likelihood(x, log_std):\n    return (x / (tf.exp(log_std) + 1e-6)) ** 2 - log_std\n\n"
        "def a(x, s):\n    total = 0.\n    for _ in range(3):\n        total += likelihood(x, s)\n"
        "        s = x * 100.\n    return total\n", "high"),
    "a generator reads the variable when it is consumed": (
        "def likelihood(x, log_std):\n    return (x / (tf.exp(log_std) + 1e-6)) ** 2 - log_std\n\n"
        "def a(x, s):\n    s = tf.clip_by_value(s, -20., 2.)\n    terms = (likelihood(x, s) for _ in range(3))\n"
        "    s = x * 100.\n    return sum(terms)\n", "high"),
    "a public method: callers elsewhere are not known": (
        "class Policy(keras.layers.Layer):\n    def scale(self, s):\n        return 1. / (tf.exp(s) + 1e-6)\n\n"
        "    def call(self, x):\n        return x * self.scale(tf.nn.sigmoid(x))\n", "high"),
    "a helper passed as a value": (
        "def likelihood(x, log_std):\n    return (x / (tf.exp(log_std) + 1e-6)) ** 2 - log_std\n\n"
        "def a(x, s):\n    f = likelihood\n    return likelihood(x, tf.minimum(s, 2.)) + f(x, s)\n", "high"),
    "an argument hidden behind *args": (
        "def likelihood(x, log_std):\n    return (x / (tf.exp(log_std) + 1e-6)) ** 2 - log_std\n\n"
        "def a(x, pair):\n    return likelihood(x, log_std=tf.minimum(pair[0], 2.)) + likelihood(*pair)\n", "high"),
    # A loop body's value reaches the loop's value, which a public function returns.
    "a loop body whose loop value is returned": (
        "def newton(x):\n    def body(i, w):\n        return i + 1, tf.where(w > 80., w, tf.exp(w))\n"
        "    _, w = tf.while_loop(lambda i, w: i < 8, body, [0, x])\n    return w\n", "high"),
    # A function a loop runs gets the loop's variables, whatever its direct callers pass.
    "a loop body also called directly with a constant": (
        "def body(i, w):\n    return i + 1, tf.where(w > 80., w, tf.exp(w))\n\n"
        "def first(x):\n    body(0, 1.)\n    return tf.while_loop(lambda i, w: i < 8, body, [0, x])\n", "high"),
    "a branch of tf.cond whose value is returned": (
        "def f(x):\n    return tf.cond(x[0] > 0., lambda: tf.where(x > 0., tf.math.log(x), 0.), lambda: x)\n",
        "high"),
    "stored into a dict, which is handed on": (
        "def f(x):\n    out = {}\n    out['log'] = tf.where(x > 0., tf.math.log(x), 0.)\n    return out\n", "high"),
    "stored into an element of a list": (
        "def f(x):\n    out = [None]\n    out[0] = tf.where(x > 0., tf.math.log(x), 0.)\n    return out\n", "high"),
    "an argument declared a tensor": (
        "def g(t: tf.Tensor):\n    return t * 2.\n\ndef f(x):\n    return g(tf.where(x > 0., tf.math.log(x), 0.))\n",
        "high"),
    # A rebinding in another block does not end the earlier value: either may reach the return.
    "stopped on one path only": (
        "def _f(x):\n    return tf.where(x > 0., tf.math.log(x), 0.)\n\n"
        "def g(x, frozen):\n    y = _f(x)\n    if frozen:\n        y = tf.stop_gradient(y)\n    return y\n", "high"),
    # A call without Keras's ``training`` argument may be anything: it may differentiate its argument itself.
    "a callable that is not known to be a layer": (
        "def _f(x):\n    return tf.where(x > 0., tf.math.log(x), 0.)\n\n"
        "def g(x, step):\n    y = _f(x)\n    step(y)\n    return tf.stop_gradient(y)\n", "high"),
    # A function's calls of itself say nothing about its other callers.
    "a recursive function nobody else here calls": (
        "def f(x, n):\n    y = tf.where(x > 0., tf.math.log(x), 0.)\n    if n == 0:\n        return y\n"
        "    return f(y, n - 1)\n", "high"),
    # tf.Transform's mappers that need no analysis are plain TensorFlow: a model may call them.
    "a tf.Transform mapper without an analyzer": (
        "import tensorflow_transform as tft\n\ndef f(x, boundaries):\n"
        "    b = tft.apply_buckets(x, boundaries)\n    return tf.where(x > 0., tf.math.log(x), 0.) + b\n", "high"),
    # ``.run`` of something that is not known to be a session may differentiate (a distribution strategy's runs).
    "run by an object that is not a session": (
        "def f(x, runner):\n    logs = tf.where(x > 0., tf.math.log(x), 0.)\n    return runner.run(logs)\n", "high"),
    # The helper's value comes back to a call whose value is returned: differentiated, whatever its other calls do.
    "a value through a shared helper that is returned": (
        "def pad(x):\n    return tf.pad(x, [[1, 1]])\n\n"
        "def norms(a, b):\n    logs = tf.where(a > 0., tf.math.log(a), 0.)\n"
        "    tf.summary.histogram('b', pad(b))\n    return pad(logs)\n", "high"),
    "a value through a method of an object built in place that is returned": (
        "class Doubler:\n    def apply(self, t):\n        return 2. * t\n\n"
        "def f(x):\n    return Doubler().apply(tf.where(x > 0., tf.math.log(x), 0.))\n", "high"),
    "attribute assigned a variable": (
        "class L(keras.layers.Layer):\n    def build(self, s):\n        self.t = self.add_weight(shape=())\n\n"
        "    def call(self, x):\n        return tf.where(x > 0., x, x / self.t)\n", "low"),
}


@pytest.mark.parametrize("name", sorted(STILL_REPORTED))
def test_unknown_stays_reported(name):
    code, confidence = STILL_REPORTED[name]
    found = findings(code, strict=True)
    assert found and all(not f.no_gradient for f in found), [f.message for f in found]
    assert {f.confidence for f in found} == {confidence}, [(f.confidence, f.message) for f in found]


def test_a_maximum_of_an_earlier_value_bounds_nothing():
    # ``m`` is the maximum of ``z`` before it was doubled: the doubled row's exps may all underflow.
    code = ("def f(z):\n    m = tf.reduce_max(z, -1, keepdims=True)\n    z = z * 2.\n"
            "    s = tf.reduce_sum(tf.exp(z - m), -1)\n    return tf.where(s > 0., tf.math.log(s), 0.)\n")
    assert ("TFN002", "high") in {(f.code, f.confidence) for f in findings(code, strict=True)}


def test_a_pin_that_does_not_make_the_input_unsafe_is_not_high_confidence():
    """``n`` within 1e-5 of 1 is discarded: ``1 - n`` there is about 0 (high), but ``pow(b, n - 1)`` is about 1,
    so only ``b`` -- which the condition does not constrain -- could make the divisor 0 (medium)."""
    found = findings("""
        def f(b, n):
            near = tf.abs(n - 1.) < 1e-5
            return tf.where(near, tf.math.log(b), 1. / tf.pow(b, n - 1.) + b / (1. - n))
        """, strict=True)
    by_op = {f.message.split(" in the ")[0]: f.confidence for f in found if f.code == "TFN003"}
    assert by_op == {"1. / tf.pow(b, n - 1.)": "medium", "b / (1. - n)": "high"}, by_op


def test_confidence_levels_and_default():
    """high: the condition bounds the input; medium: it shares a variable without bounding it; low: it is about
    something else (a bad value there would show in the kept elements too).  Only high is shown by default."""
    code = """
        def f(x, y, a, b):
            high = tf.where(y > 0., x / y, 0.)
            medium = tf.where(x < a, x / (b - a), 0.)
            low = tf.where(x > 0., x / b, 0.)
            return high + medium + low
        """
    strict = {f.line: f.confidence for f in findings(code, strict=True)}
    assert sorted(strict.values()) == ["high", "low", "medium"]
    default = findings(code)
    assert [f.confidence for f in default] == ["high"]
    for finding in findings(code, strict=True):
        if finding.confidence != "high":
            assert f"({finding.confidence} confidence: " in finding.message and "--strict" in finding.message


def test_finding_carries_its_structure():
    [finding] = findings("def f(x):\n    y = tf.math.log(x)\n    return tf.where(x > 0., y, 0.)\n")
    assert finding.op == "tf.math.log(x)" and finding.sink == "tf.where"
    assert finding.sink_start.line == finding.start.line + 1
    assert finding.region == "`x <= 0.`" and finding.branch == "true" and finding.confidence == "high"
    assert f"(line {finding.sink_start.line})" in finding.message


def test_module_facts_private_helper_chain():
    facts = ModuleFacts(ast.parse(textwrap.dedent("""
        def _inner(x):
            return x

        def _outer(x):
            return _inner(x)

        def public(x):
            return x

        class M(Metric):
            def result(self):
                return _outer(public(1.))
        """)))
    assert facts.function_reason("M.result")
    assert facts.function_reason("_outer") and facts.function_reason("_inner")
    assert facts.function_reason("public") is None  # other modules may call it from differentiated code


def test_a_private_helper_also_called_from_a_layer_is_differentiated():
    code = """
        def _ratio(a, b):
            return tf.where(b > 0., a / b, 0.)

        class Precision(keras.metrics.Metric):
            def result(self):
                return _ratio(self.tp, self.tp + self.fp)

        class Layer(keras.layers.Layer):
            def call(self, x):
                return _ratio(x, x)
        """
    assert findings(code)
