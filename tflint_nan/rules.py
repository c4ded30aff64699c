"""The rules: code, name, one-paragraph explanation, a bad and a good example, and the fix.

The examples are executable documentation: ``tests/test_rules.py`` lints each ``bad`` example and expects
exactly its rule's code, lints each ``good`` example and expects nothing, checks that ``--fix`` turns the bad
one into the good one where the rule has a fix, and (with TensorFlow installed) runs both to show the bad one's
gradient is NaN and the good one's is not.
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
        "where on the same condition and the safe value 0: tf.exp(tf.where(cond, tf.zeros_like(x), x)).",
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
        "Reciprocal's eager gradient kernel hides this, but under XLA (jit_compile=True) it is NaN too. "
        "tf.math.divide_no_nan(x, y) is 0, with a zero gradient, where y is exactly 0, but for a divisor near 0 and "
        "not 0 (|y| below about 5e-20 for |x| = 1 in float32) its gradient -x/y² overflows too; a select that "
        "discards it there (tf.abs(y) > 1e-3) gets 0*inf = NaN. Such divisors are rare, so its findings are medium "
        "confidence at most (--strict), and a select on y == 0 exactly is safe. " + _WHY,
        "import tensorflow as tf\n\n\n"
        "def ratio(x, y):\n"
        "    return tf.where(tf.not_equal(y, 0.), x / y, 0.)\n",
        "import tensorflow as tf\n\n\n"
        "def ratio(x, y):\n"
        "    return tf.where(tf.not_equal(y, 0.), x / tf.where(tf.not_equal(y, 0.), y, 1.), 0.)\n",
        "Guard the divisor with the double where and the safe value 1., or use tf.math.divide_no_nan, whose "
        "gradient is 0 where the divisor is exactly 0 (select on y == 0, not on a threshold).",
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
    Rule(
        "TFN006",
        "clamped-op-output",
        "the output of exp, log, sqrt or a division is clamped (minimum, maximum, clip_by_value, relu) where the "
        "op itself is infinite or has an infinite derivative",
        "tf.minimum(tf.exp(x), 1e6) looks safe: its value never exceeds 1e6. But where x > 88.7 the exp is inf, "
        "the clamp picks its bound and sends the exp a zero gradient, and the exp's own derivative there is inf: "
        "0*inf = NaN. The same holds for tf.maximum(tf.math.log(p), -100.) at p = 0, tf.clip_by_value(x / y, "
        "-10., 10.) at y = 0, tf.nn.relu(tf.math.log(x)) and, under XLA, tf.maximum(tf.sqrt(r), 1e-6) at r = 0. "
        "A clamp of an op's output guards the value, never the gradient.",
        "import tensorflow as tf\n\n\n"
        "def capped_rate(x):\n"
        "    return tf.minimum(tf.exp(x), 1e6)\n",
        "import tensorflow as tf\n\n\n"
        "def capped_rate(x):\n"
        "    return tf.minimum(tf.exp(tf.minimum(x, 14.82)), 1e6)\n",
        "Clamp the op's input instead, or as well: tf.exp(tf.minimum(x, b)) with exp(b) above the outer bound "
        "keeps every value and never overflows; tf.math.log(tf.maximum(p, eps)) for logs; "
        "tf.sqrt(tf.maximum(r, eps ** 2)) for roots. --fix writes the input clamp when the bound is a constant.",
    ),
    Rule(
        "TFN007",
        "masked-op-output",
        "a risky op's output is masked by a condition (tf.cast(c, tf.float32) * op, tf.boolean_mask), by a label "
        "(y_true * tf.math.log(y_pred), a one-hot encoding) or by a padding mask (tf.sequence_mask, a mask "
        "parameter) on elements where the op is infinite or has an infinite derivative",
        "Multiplying by a condition cast to 0/1 is a select with the fill 0, and tf.boolean_mask drops elements "
        "the same way: the op is still computed on every element, and the masked ones get a zero gradient. Where "
        "the op is inf (log at 0, exp above 88.7, x / 0) the product is 0*inf = NaN in the forward pass already; "
        "where only its derivative overflows (a division by a tiny number, sqrt at 0) the gradient is 0*inf = NaN. "
        "XLA rewrites a product with a cast condition into a select, so which of these shows depends on the mode: "
        "eagerly and in graphs the product's NaN, under XLA the select's (as for tf.where), which Keras 3's fit "
        "compiles by default. An XLA-only hazard is shown by default only where the module uses Keras or XLA. A "
        "label is a mask too: y_true * tf.math.log(y_pred) is 0 * -inf = NaN, value and gradient, in every mode, "
        "wherever a class the label rules out gets a probability of exactly 0, which is where training drives it. "
        "tf.math.multiply_no_nan(tf.math.log(p), m) returns 0 where m is 0, so the value looks clean, but its "
        "gradient to the log is 0 there too: 0*inf = NaN in every mode. A padding mask (tf.sequence_mask, a "
        "parameter named mask or *_mask, as Keras names a layer's mask) zeroes elements as a label does, but "
        "nothing drives the op to its pole on the padding, so those findings are medium confidence (--strict).",
        "from keras import ops\n\n\n"
        "def masked_root(x):\n"
        "    return ops.cast(x > 0, \"float32\") * ops.sqrt(x)\n",
        "from keras import ops\n\n\n"
        "def masked_root(x):\n"
        "    return ops.cast(x > 0, \"float32\") * ops.sqrt(ops.where(x > 0, x, 1.))\n",
        "Mask the op's input, not only its output: feed the op a safe value where the mask drops the element, "
        "tf.math.log(tf.where(m, p, 1.)); for a cross-entropy, tf.math.xlogy(y, p); or clamp the input.",
    ),
    Rule(
        "TFN008",
        "overflow-into-saturation",
        "an exp (or a log at 0) overflows to an infinity that the next op flattens to a finite value with a zero "
        "derivative: hand-written sigmoid, swish, softmax and powers",
        "1. / (1. + tf.exp(-x)) is a sigmoid with a finite value everywhere, but below x = -88.7 the exp is inf, "
        "the division's derivative with respect to an infinite denominator is 0, and the exp's own derivative is "
        "inf: 0*inf = NaN, behind a value that looks fine. The same happens in tf.exp(z) / tf.reduce_sum(tf.exp(z)) "
        "without the maximum subtracted, in tf.tanh or tf.sigmoid of an exp, and in tf.exp(a * tf.math.log(x)) at "
        "x = 0. The library's own functions compute these without the overflow.",
        "import tensorflow as tf\n\n\n"
        "def gate(x):\n"
        "    return 1. / (1. + tf.exp(-x))\n",
        "import tensorflow as tf\n\n\n"
        "def gate(x):\n"
        "    return tf.sigmoid(x)\n",
        "Use the built-in: tf.sigmoid, tf.nn.silu, tf.nn.softmax (or subtract tf.reduce_max before the exp), "
        "tf.reduce_logsumexp, tf.nn.log_softmax, tf.math.log_sigmoid, tf.pow. There is no automatic fix: the "
        "built-ins agree with the hand-written form only up to rounding.",
    ),
    Rule(
        "TFN009",
        "root-at-flat-zero",
        "sqrt, a fractional power or a norm of a value that is 0 exactly where its own derivative is 0: a distance "
        "or norm at the zero vector, sqrt(abs(x)) at 0, sqrt(exp(x)) where the exp underflows",
        "sqrt has an infinite derivative at 0, and a sum of squares is 0 exactly where the squares' derivative 2x "
        "is 0: at the zero vector the chain rule computes inf * 0 = NaN, eagerly, in graphs and under XLA, with an "
        "upstream gradient of 1. A distance between identical points (the diagonal of a pairwise distance matrix, a "
        "Siamese pair of the same input), the length of a zero capsule and the norm of a padding vector all reach "
        "it. tf.norm and keras.ops.norm compute the same root inside. sqrt(tf.exp(logvar)) meets it where the exp "
        "underflows to 0, below -87.3, and so do sqrt(tf.nn.softplus(r)) and sqrt(tf.sigmoid(x)), which follow exp "
        "down. A focal term tf.pow(1. - p, gamma) meets it where the probability rounds to exactly 1 (a sigmoid above "
        "16.6, a softmax entry 16.6 above the rest of its row, and so the label's entry picked by a one-hot sum) for "
        "an exponent below 1, and at gamma = 0 TensorFlow "
        "computes 0 * inf = NaN even with an upstream gradient of 1; with a tensor exponent, usually 2, --strict "
        "shows it.",
        "import tensorflow as tf\n\n\n"
        "def distance(a, b):\n"
        "    return tf.sqrt(tf.reduce_sum(tf.square(a - b), axis=-1))\n",
        "import tensorflow as tf\n\n\n"
        "def distance(a, b):\n"
        "    squared = tf.reduce_sum(tf.square(a - b), axis=-1)\n"
        "    return tf.where(squared > 0., tf.sqrt(tf.where(squared > 0., squared, 1.)), 0.)\n",
        "Take the root only where its input is positive, with the double where on the squared norm (--fix writes "
        "it when the input is a variable); or put an epsilon large enough for the dtype inside the root "
        "(tf.sqrt(s + 1e-12), which changes values near 0); tf.math.l2_normalize for v / norm(v); tf.exp(0.5 * "
        "logvar) for sqrt(exp(logvar)).",
    ),
    Rule(
        "TFN010",
        "hand-written-log-probability",
        "the log of a softmax, a sigmoid, one minus a sigmoid or a softmax, or an exp, which round to exactly 0 where "
        "their own derivative is 0: hand-written log_softmax and log_sigmoid",
        "tf.nn.softmax rounds an entry more than 87.3 below its row's maximum to exactly 0 in float32, tf.sigmoid "
        "does the same below -87.3, and 1. - tf.sigmoid(x) is exactly 0 above 16.6, where the sigmoid rounds to 1. "
        "There their derivative is 0 as well, the log is -inf, and the chain rule computes 1/0 * 0 = NaN, in every "
        "mode. A softmax's gradient spreads the NaN over the whole row, so a cross-entropy that keeps only the "
        "label's finite entry still trains to NaN. Picking the label's entry first changes nothing: a gather, or a "
        "sum over the class axis of the product with a one-hot encoding (tf.reduce_sum(p * tf.one_hot(y, n), -1)), "
        "is that entry exactly, 0 where it rounds to 0; so is a select of probabilities where a branch rounds "
        "(a binary focal loss's p_t = tf.where(y == 1, p, 1. - p)). tf.math.log(tf.exp(x)) is the same below -87.3 "
        "(XLA simplifies it to x and hides it). The library computes these logs directly, without rounding the "
        "probability first.",
        "import tensorflow as tf\n\n\n"
        "def label_log_likelihood(logit, other):\n"
        "    logits = tf.concat([logit, other], axis=-1)\n"
        "    return tf.math.log(tf.nn.softmax(logits))[..., :1]\n",
        "import tensorflow as tf\n\n\n"
        "def label_log_likelihood(logit, other):\n"
        "    logits = tf.concat([logit, other], axis=-1)\n"
        "    return tf.nn.log_softmax(logits)[..., :1]\n",
        "Use the built-in: tf.nn.log_softmax (keras.ops.log_softmax), tf.math.log_sigmoid(x) for log(sigmoid(x)), "
        "tf.math.log_sigmoid(-x) for log(1 - sigmoid(x)), x for log(exp(x)); for a cross-entropy, "
        "tf.nn.softmax_cross_entropy_with_logits or tf.nn.sigmoid_cross_entropy_with_logits on the logits. Where the "
        "log's argument is the softmax or sigmoid call itself (tf.nn., tf.math., keras.ops.), the finding carries an "
        "unsafe fix into the built-in, which --fix applies only with --unsafe-fixes: the built-ins agree with the "
        "hand-written form only up to rounding. A clamp of the probability (tf.math.log(tf.maximum(p, 1e-7))) also "
        "keeps the gradient finite.",
    ),
    Rule(
        "TFN011",
        "indexed-op-output",
        "a risky op's output is indexed (tf.gather, tf.gather_nd, K.gather, keras.ops.take, take_along_axis, a slice), "
        "picked by a maximum or a minimum (tf.reduce_max, a segment maximum, max pooling, top_k), summed by "
        "segment ids that can be negative, or overwritten (band_part, set_diag, tensor_scatter_nd_update), and the "
        "elements left out are still computed, where the op is infinite or has an infinite derivative",
        "tf.gather(tf.math.log(p), labels, batch_dims=1) computes the log of every probability and keeps the label's. "
        "The gradient of a gather (or of a slice, x[:, 0]) is 0 on the elements it leaves out, and the chain rule "
        "multiplies that 0 by the op's derivative there: where a probability the label does not pick is exactly 0, "
        "which is where training drives it, the log's derivative is inf and the gradient 0*inf = NaN, eagerly, in "
        "graphs and under XLA. The value looks fine, since the -inf is never taken. sqrt's eager and graph gradient "
        "kernels return 0 for a zero upstream gradient, so a sqrt shows it only under XLA. Indexing the input first "
        "computes the op on the elements taken only. A maximum leaves elements out the same way: "
        "tf.reduce_max(tf.math.log(p)) sends the gradient to the largest log only, so wherever some probability is "
        "exactly 0 (and not all are), its -inf is left out and its gradient is 0*inf = NaN; a minimum leaves out an "
        "exp that overflows. A pole the maximum takes (exp's inf) is in the value, where the loss shows it. "
        "tf.math.unsorted_segment_sum drops the elements whose segment id is negative (ids - 1 for ids that count "
        "from 1, tf.where(valid, ids, -1)); tf.linalg.band_part, tf.linalg.set_diag and "
        "tf.tensor_scatter_nd_update replace elements of their input, which get a zero gradient.",
        "import tensorflow as tf\n\n\n"
        "def label_nll(p_label, p_other):\n"
        "    probabilities = tf.concat([p_label, p_other], axis=-1)\n"
        "    return -tf.gather(tf.math.log(probabilities), [0], axis=-1)\n",
        "import tensorflow as tf\n\n\n"
        "def label_nll(p_label, p_other):\n"
        "    probabilities = tf.concat([p_label, p_other], axis=-1)\n"
        "    return -tf.math.log(tf.gather(probabilities, [0], axis=-1))\n",
        "Index the op's input, not its output: tf.math.log(tf.gather(p, labels, batch_dims=1)) computes the same "
        "values for the elements taken and nothing for the others. --fix writes it when the indexed value is the op "
        "itself and its other arguments are constants (the op is element-wise, so taking elements commutes with it). "
        "For a maximum or a minimum of log, sqrt or exp (which keep the order), --fix takes it of the input: "
        "tf.math.log(tf.reduce_max(p)). Segment sums, overwrites, top_k and pooling have no exact rewrite: keep the "
        "op's input in its domain (a clamp or a where on the input).",
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
