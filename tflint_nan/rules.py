"""The rules: code, name, one-paragraph explanation, a bad and a good example, and the fix.

The examples are executable documentation: ``tests/test_rules.py`` lints each ``bad`` example and expects
exactly its rule's code, lints each ``good`` example and expects nothing, and (with TensorFlow installed) runs
both to show the bad one's gradient is NaN and the good one's is not.
"""

from __future__ import annotations

from dataclasses import dataclass

_WHY = (
    "tf.where, K.switch and keras.ops.where evaluate both branches on every element and then pick one. "
    "On the elements a branch loses, its value is discarded but its backward pass still runs: the select "
    "sends a zero gradient, and the chain rule multiplies that zero by the op's local gradient. Where that "
    "local gradient is inf or NaN, 0*inf = NaN, and the NaN reaches every weight upstream."
)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    summary: str
    explanation: str
    bad: str
    good: str
    fix: str

    @property
    def docs_anchor(self) -> str:
        return f"docs/rules.md#{self.code.lower()}-{self.name}"


RULES: tuple[Rule, ...] = (
    Rule(
        "TFN001",
        "exp-overflow-in-select",
        "exp, expm1, cosh, sinh or a power with a tensor exponent in a where/switch branch overflows on "
        "discarded elements",
        "exp(x) overflows float32 to inf above x = 88.7 (cosh/sinh beyond ±89.4, base ** x when x·ln(base) "
        "passes 88.7). " + _WHY + " This is why a hand-written ELU trains to NaN while tf.nn.elu, which has its "
        "own gradient, does not.",
        "from keras import backend as K\n\n\n"
        "def elu(x):\n"
        "    return K.switch(x > 0, x, K.exp(x) - 1)\n",
        "from keras import backend as K\n\n\n"
        "def elu(x):\n"
        "    return K.switch(x > 0, x, K.exp(K.minimum(x, 0.)) - 1)\n",
        "Clamp the op's input to the side the select keeps: K.exp(K.minimum(x, 0.)) is exact wherever x <= 0, "
        "and never overflows. When the condition is not a simple comparison, guard the input with a second "
        "where on the same condition and the safe value 0: tf.exp(tf.where(cond, 0., x)).",
    ),
    Rule(
        "TFN002",
        "log-pole-in-select",
        "log, log1p, log2, log10, lgamma or digamma in a where/switch branch meets its pole on discarded elements",
        "log(x) has the gradient 1/x, which is inf at x = 0 (log1p at -1, lgamma and digamma at 0 and the "
        "negative integers). Guarding the log with tf.where(x > 0, tf.math.log(x), 0.) does not help: "
        + _WHY,
        "import tensorflow as tf\n\n\n"
        "def safe_log(x):\n"
        "    return tf.where(x > 0, tf.math.log(x), 0.)\n",
        "import tensorflow as tf\n\n\n"
        "def safe_log(x):\n"
        "    return tf.where(x > 0, tf.math.log(tf.where(x > 0, x, 1.)), 0.)\n",
        "Use the double where: feed the op 1. on the discarded elements, tf.math.log(tf.where(x > 0, x, 1.)). "
        "Or use a built-in that handles the edge itself: tf.math.xlogy, tf.math.log_sigmoid, "
        "tf.reduce_logsumexp.",
    ),
    Rule(
        "TFN003",
        "division-by-zero-in-select",
        "a division, reciprocal or negative power in a where/switch branch divides by 0 on discarded elements",
        "x / y has the gradients 1/y and -x/y², both inf (or 0/0 = NaN) at y = 0; x ** -1 is the same division. "
        "Reciprocal's eager gradient kernel hides this, but under XLA (jit_compile=True) it is NaN too. " + _WHY,
        "import tensorflow as tf\n\n\n"
        "def ratio(x, y):\n"
        "    return tf.where(tf.not_equal(y, 0.), x / y, 0.)\n",
        "import tensorflow as tf\n\n\n"
        "def ratio(x, y):\n"
        "    return tf.where(tf.not_equal(y, 0.), x / tf.where(tf.not_equal(y, 0.), y, 1.), 0.)\n",
        "Guard the divisor with the double where and the safe value 1., or use tf.math.divide_no_nan, whose "
        "gradient is 0 where the divisor is 0.",
    ),
    Rule(
        "TFN004",
        "sqrt-domain-in-select",
        "sqrt, rsqrt or a fractional power in a where/switch branch leaves its domain on discarded elements",
        "sqrt(x) has the gradient 1/(2·sqrt(x)): inf at 0, NaN below it; x ** 0.5 and other fractional powers "
        "are NaN for negative bases in every mode. For sqrt and rsqrt, eager TensorFlow's gradient kernel "
        "happens to return 0 when the incoming gradient is 0, so eager tests pass; under XLA "
        "(jit_compile=True, which Keras 3 fit uses by default) the same model gets NaN. " + _WHY,
        "import tensorflow as tf\n\n\n"
        "def root(x):\n"
        "    return tf.where(x > 0, x ** 0.5, 0.)\n",
        "import tensorflow as tf\n\n\n"
        "def root(x):\n"
        "    return tf.where(x > 0, tf.where(x > 0, x, 1.) ** 0.5, 0.)\n",
        "Guard the input with the double where and the safe value 1., or keep it strictly positive by "
        "construction: tf.sqrt(tf.square(x) + 1e-12).",
    ),
    Rule(
        "TFN005",
        "inverse-trig-domain-in-select",
        "acos, asin, atanh or acosh in a where/switch branch reaches the end of its domain on discarded elements",
        "acos and asin have the gradient ∓1/sqrt(1 - x²): inf at ±1, NaN beyond; atanh's 1/(1 - x²) is inf at "
        "±1; acosh's 1/sqrt(x² - 1) is inf at 1 and NaN below. " + _WHY,
        "import tensorflow as tf\n\n\n"
        "def angle(x):\n"
        "    return tf.where(tf.abs(x) < 1., tf.math.acos(x), 0.)\n",
        "import tensorflow as tf\n\n\n"
        "def angle(x):\n"
        "    return tf.where(tf.abs(x) < 1., tf.math.acos(tf.where(tf.abs(x) < 1., x, 0.)), 0.)\n",
        "Guard the input with the double where and a value inside the domain (0. for acos, asin and atanh, "
        "2. for acosh), or clip it strictly inside: tf.clip_by_value(x, -1. + 1e-6, 1. - 1e-6).",
    ),
)

PARSE_ERROR = Rule(
    "TFN999",
    "unreadable-file",
    "the file could not be read, decoded or parsed",
    "tflint-nan reports files it cannot analyse instead of skipping them silently, so a syntax error or a "
    "broken encoding never hides findings. Every other file is still checked.",
    "",
    "",
    "Fix the syntax error or the encoding, or exclude the file.",
)

RULES_BY_CODE = {rule.code: rule for rule in (*RULES, PARSE_ERROR)}


def explain(rule: Rule) -> str:
    parts = [f"{rule.code} ({rule.name})", "", rule.summary + ".", "", "Why", "", rule.explanation]
    if rule.bad:
        parts += ["", "Bad", "", _indent(rule.bad), "Good", "", _indent(rule.good)]
    parts += ["Fix", "", rule.fix]
    return "\n".join(parts) + "\n"


def _indent(code: str) -> str:
    return "".join("    " + line if line.strip() else line for line in code.splitlines(keepends=True))
