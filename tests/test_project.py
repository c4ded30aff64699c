"""Project modules that stand for TensorFlow: re-exports are followed statically, never imported or run."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tflint_nan.files import lint_path
from tflint_nan.lint import Settings
from tflint_nan.project import ProjectModules, forget_project_caches


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def codes(path: Path, strict: bool = False) -> list[tuple[str, int]]:
    result = lint_path(str(path), Settings(strict=strict))
    assert result.error is None, result.error
    return [(finding.code, finding.line) for finding in result.findings]


def test_a_star_reexport_of_tensorflow_numpy(tmp_path):
    write(tmp_path, "proj/__init__.py", "")
    write(tmp_path, "proj/znp.py", """\
        import numpy as np
        from tensorflow.experimental.numpy import *  # noqa: F403

        def clip01(x):
            return x
        """)
    model = write(tmp_path, "proj/model.py", """\
        import tensorflow as tf
        import proj.znp as znp


        def guarded(x):
            near = znp.abs(x - 1.) < 1e-5
            return tf.where(near, 1., x / (1. - x))


        def elu(x):
            return tf.where(x > 0., x, znp.exp(x) - 1.)


        def own_function(x):
            return tf.where(x > 0., x, znp.clip01(x))
        """)
    assert codes(model) == [("TFN003", 7), ("TFN001", 11)]
    modules = ProjectModules(str(model))
    assert modules.resolve("proj.znp.where") == "tensorflow.experimental.numpy.where"
    assert modules.resolve("proj.znp.clip01") is None  # the module's own definition
    assert modules.resolve("proj.znp.np") is None


def test_named_reexports_assignments_and_src_layout(tmp_path):
    write(tmp_path, "src/lib/__init__.py", "")
    write(tmp_path, "src/lib/backend.py", """\
        import tensorflow.compat.v1 as tf
        from tensorflow.math import log as safe_looking_log
        from . import helpers
        where = tf.where
        log = tf.math.log
        """)
    write(tmp_path, "src/lib/helpers.py", "from tensorflow import sqrt\n")
    user = write(tmp_path, "src/lib/layers.py", """\
        import tensorflow as tf  # the byte screen needs a TensorFlow import in the file itself
        from lib import backend as B
        from lib.backend import safe_looking_log


        def f(x):
            return B.where(x > 0., B.log(x), safe_looking_log(-x))
        """)
    modules = ProjectModules(str(user))
    assert modules.resolve("lib.backend.where") == "tensorflow.compat.v1.where"
    assert modules.resolve("lib.backend.log") == "tensorflow.compat.v1.math.log"
    assert modules.resolve("lib.backend.tf.exp") == "tensorflow.compat.v1.exp"
    assert modules.resolve("lib.backend.helpers.sqrt") == "tensorflow.sqrt"
    assert codes(user) == [("TFN002", 7), ("TFN002", 7)]


def test_cycles_missing_and_broken_modules_end_the_search(tmp_path):
    write(tmp_path, "a.py", "from b import *\n")
    write(tmp_path, "b.py", "from a import *\n")
    write(tmp_path, "broken.py", "def (:\n")
    user = write(tmp_path, "user.py", "import tensorflow as tf\n")
    modules = ProjectModules(str(user))
    assert modules.resolve("a.where") is None
    assert modules.resolve("broken.where") is None
    assert modules.resolve("missing.module.where") is None
    assert modules.resolve("os.path.join") is None  # the standard library is never a project module


def test_declared_aliases_for_wrappers_that_cannot_be_read(tmp_path):
    """``aliases`` in ``[tool.tflint-nan]``: a module built at run time, or outside the project, declared to stand
    for a TensorFlow module; shown by --show-settings; a target outside TensorFlow and Keras is refused."""
    import subprocess
    import sys

    write(tmp_path, "pyproject.toml", """\
        [tool.tflint-nan]
        aliases = { "outside.tnp" = "tensorflow.experimental.numpy" }
        """)
    model = write(tmp_path, "model.py", """\
        import tensorflow as tf
        import outside.tnp as znp


        def f(x):
            return znp.where(x > 0., znp.log(x), 0.)
        """)
    assert codes(model) == []  # without the setting: an unknown module
    declared = Settings(aliases=(("outside.tnp", "tensorflow.experimental.numpy"),))
    result = lint_path(str(model), declared)
    assert [(f.code, f.line) for f in result.findings] == [("TFN002", 6)]
    assert "znp.log(znp.where(x > 0., x, 1.))" in result.findings[0].message  # the user's own spelling

    def run(*arguments):
        return subprocess.run([sys.executable, "-m", "tflint_nan", *arguments], cwd=tmp_path, capture_output=True,
                              text=True, check=False)

    assert run("--no-cache", "model.py").returncode == 1
    assert 'aliases = {"outside.tnp" = "tensorflow.experimental.numpy"}' in run("--show-settings").stdout
    write(tmp_path, "pyproject.toml", '[tool.tflint-nan]\naliases = { "outside.tnp" = "numpy" }\n')
    refused = run("model.py")
    assert refused.returncode == 2 and "must name a TensorFlow or Keras module" in refused.stderr


def test_constants_imported_from_the_project(tmp_path):
    """``from .config import EPS`` where ``config.py`` binds a number once: the range analysis knows it (a positive
    epsilon keeps the log's input positive), and it carries no gradient; bound twice, it is unknown."""
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/config.py", "EPS = 1e-6\nSCALE = 2.\nSCALE = compute()\nNEG = -1.\n")
    write(tmp_path, "pkg/defaults.py", "from .config import EPS as EPSILON\n")
    model = write(tmp_path, "pkg/model.py", """\
        import tensorflow as tf
        from . import config
        from .config import EPS, NEG, SCALE
        from .defaults import EPSILON


        def safe(x):
            a = tf.where(x > 0., tf.math.log(x * x + EPS), x)
            b = tf.where(x > 0., tf.math.log(x * x + config.EPS), x)
            c = tf.where(x > 0., tf.math.log(x * x + EPSILON), x)
            return a + b + c


        def unsafe(x):
            d = tf.where(x > 0., x, tf.math.log(x * x + NEG))
            e = tf.where(x > 0., x / SCALE, x)
            return d + e
        """)
    assert codes(model, strict=True) == [("TFN002", 15), ("TFN003", 16)]
    modules = ProjectModules(str(model))
    assert modules.constant("pkg.config.EPS") == 1e-6
    assert modules.constant("pkg.defaults.EPSILON") == 1e-6
    assert modules.constant("pkg.config.SCALE") is None  # bound twice


IOU = """\
    import tensorflow as tf


    def pairwise_iou(a, b):
        inter = tf.minimum(a, b)
        union = a + b - inter
        return tf.where(union > 0., inter / union, tf.zeros_like(inter))


    def f1(precision, recall):
        return tf.where(precision + recall > 0., 2. * precision * recall / (precision + recall), 0.)
    """


def test_callers_in_other_modules_decide_demand(tmp_path):
    """A function with no caller in its own module is judged by its callers in the project's other modules
    (tests left out): matching that only takes argmax and compares, metrics passed from TF1 streaming metrics."""
    write(tmp_path, "app/utils/__init__.py", "")
    box_ops = write(tmp_path, "app/utils/box_ops.py", IOU)
    write(tmp_path, "app/modeling/__init__.py", "")
    write(tmp_path, "app/modeling/targets.py", """\
        import tensorflow as tf
        from utils.box_ops import pairwise_iou
        from utils import box_ops as ops


        def match(boxes, gt):
            iou = pairwise_iou(boxes, gt)
            best = tf.argmax(iou, axis=1)
            return tf.gather(gt, best), tf.reduce_max(iou, axis=1) > 0.5


        def metrics(labels, predictions):
            p, p_op = tf.compat.v1.metrics.precision(labels, predictions)
            r, r_op = tf.compat.v1.metrics.recall(labels, predictions)
            return ops.f1(precision=p, recall=r), tf.group(p_op, r_op)
        """)
    write(tmp_path, "app/tests/test_box_ops.py", """\
        import tensorflow as tf
        from utils.box_ops import pairwise_iou

        def test_gradient(boxes):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(pairwise_iou(boxes, boxes))
            return tape.gradient(loss, boxes)
        """)
    assert codes(box_ops) == []
    assert codes(box_ops, strict=True) == [("TFN003", 7), ("TFN003", 11)]
    modules = ProjectModules(str(box_ops))
    assert modules.module_name() == "utils.box_ops" and modules.root() == str(tmp_path / "app")
    assert len(modules.callers("pairwise_iou")) == 1  # the test's call is not evidence


def test_a_differentiating_caller_elsewhere_keeps_the_finding(tmp_path):
    write(tmp_path, "app/utils/__init__.py", "")
    box_ops = write(tmp_path, "app/utils/box_ops.py", IOU)
    write(tmp_path, "app/losses.py", """\
        import tensorflow as tf
        import utils.box_ops


        def iou_loss(boxes, gt):
            return 1. - tf.reduce_mean(utils.box_ops.pairwise_iou(boxes, gt))
        """)
    assert ("TFN003", 7) in codes(box_ops)


def test_a_function_handed_around_elsewhere_has_unknown_callers(tmp_path):
    write(tmp_path, "app/utils/__init__.py", "")
    box_ops = write(tmp_path, "app/utils/box_ops.py", IOU)
    write(tmp_path, "app/registry.py", """\
        import tensorflow as tf
        from utils.box_ops import pairwise_iou

        SIMILARITIES = {"iou": pairwise_iou}


        def match(boxes, gt):
            return tf.argmax(pairwise_iou(boxes, gt), axis=1)
        """)
    assert ("TFN003", 7) in codes(box_ops)
    assert ProjectModules(str(box_ops)).callers("pairwise_iou") is None


def test_the_search_has_a_size_limit(tmp_path, monkeypatch):
    from tflint_nan import project

    write(tmp_path, "app/utils/__init__.py", "")
    box_ops = write(tmp_path, "app/utils/box_ops.py", IOU)
    write(tmp_path, "app/targets.py", "import tensorflow as tf\nfrom utils.box_ops import pairwise_iou\n\n\n"
                                      "def match(b, g):\n    return tf.argmax(pairwise_iou(b, g), axis=1)\n")
    monkeypatch.setattr(project, "MAX_PROJECT_FILES", 2)
    project._project_files.cache_clear()
    assert ProjectModules(str(box_ops)).callers("pairwise_iou") is None
    assert ("TFN003", 7) in codes(box_ops)
    project._project_files.cache_clear()


def test_a_script_no_import_can_name_has_only_its_own_callers(tmp_path):
    """``mnist-embeddings.py`` cannot be imported: its functions' callers are the ones in the file itself."""
    script = write(tmp_path, "examples/mnist-embeddings.py", """\
        import tensorflow as tf


        def distances(x, mask):
            count = tf.reduce_sum(mask)
            return tf.where(count > 0., tf.reduce_sum(x * mask) / count, 0.)


        def log_distances(x, mask):
            tf.summary.scalar("pos_dist", distances(x, mask))
        """)
    assert ProjectModules(str(script)).callers("distances") == []
    assert codes(script) == [] and codes(script, strict=True) == [("TFN003", 6)]


LIKELIHOOD = """\
    import tensorflow as tf


    def gaussian_likelihood(x, mu, log_std):
        return -0.5 * ((x - mu) / (tf.exp(log_std) + 1e-6)) ** 2 - log_std
    """


def test_callers_in_other_modules_bound_a_parameter(tmp_path):
    """A parameter's values are what every call in the project passes it: here each caller clamps the log-scale,
    so exp(log_std) cannot overflow; one caller that does not clamp brings the finding back."""
    write(tmp_path, "rl/__init__.py", "")
    distributions = write(tmp_path, "rl/distributions.py", LIKELIHOOD)
    write(tmp_path, "rl/policies.py", """\
        import tensorflow as tf
        from rl.distributions import gaussian_likelihood

        LOG_STD_MIN, LOG_STD_MAX = -20, 2


        def actor(x, mu, raw):
            log_std = tf.clip_by_value(raw, -20., 2.)
            return gaussian_likelihood(x, mu, log_std)


        def critic_side(x, mu, raw):
            return gaussian_likelihood(x, mu, log_std=tf.tanh(raw) * 5.)
        """)
    assert codes(distributions, strict=True) == []
    write(tmp_path, "rl/ppo.py", """\
        from rl import distributions


        def surrogate(x, mu, log_std):
            return distributions.gaussian_likelihood(x, mu, log_std)
        """)
    forget_project_caches()  # a run reads the project once; this is a new run
    assert codes(distributions) == [("TFN008", 5)]


def test_a_function_elsewhere_that_declares_a_numpy_parameter_ends_demand(tmp_path):
    """``def success(x_adv: np.ndarray)`` in another module takes NumPy values: a tensor passed there is not
    differentiated through it.  A parameter declared a tensor, or not declared, decides nothing."""
    write(tmp_path, "app/__init__.py", "")
    write(tmp_path, "app/utils.py", """\
        import numpy as np
        from typing import Optional


        def success(x_adv: Optional[np.ndarray], labels: "np.ndarray") -> np.ndarray:
            return np.argmax(x_adv, 1) == labels


        def loss(x_adv, labels):
            return x_adv * labels
        """)
    attack = write(tmp_path, "app/attack.py", """\
        import tensorflow as tf
        from app.utils import loss, success


        def _step(x):
            norm = tf.norm(x, axis=1, keepdims=True)
            return x * tf.where(norm == 0., 0., 1. / norm)


        def _other_step(x):
            norm = tf.norm(x, axis=1, keepdims=True)
            return x * tf.where(norm == 0., 0., 1. / norm)


        def rate(x, labels):
            return success(_step(x), labels=labels)


        def total(x, labels):
            return loss(_other_step(x), labels)
        """)
    assert codes(attack) == [("TFN003", 12)]
    assert codes(attack, strict=True) == [("TFN009", 6), ("TFN003", 7), ("TFN009", 11), ("TFN003", 12)]


def test_logits_from_a_helper_in_another_module(tmp_path):
    """``h = ops.conv_zeros(...)`` in another module of the project returns a convolution's output (a bias added,
    a learned positive scale): the log of its sigmoid is as sure a finding as with the convolution written inline."""
    write(tmp_path, "flow/__init__.py", "")
    write(tmp_path, "flow/ops.py", """\
        import tensorflow as tf


        def conv_zeros(x, width, skip=1):
            w = tf.compat.v1.get_variable("W", [3, 3, int(x.shape[3]), width])
            if skip == 1:
                x = tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME")
            else:
                x = tf.nn.atrous_conv2d(x, w, skip, "SAME")
            x += tf.compat.v1.get_variable("b", [1, 1, 1, width])
            x *= tf.exp(tf.compat.v1.get_variable("logs", [1, width]) * 3)
            return x


        def squash(x):
            return tf.tanh(x)
        """)
    model = write(tmp_path, "flow/model.py", """\
        import tensorflow as tf
        from flow import ops as Z


        def coupling(z1, z2, width):
            h = Z.conv_zeros(z1, width)
            scale = tf.nn.sigmoid(h[:, :, :, 1::2] + 2.)
            return z2 * scale, tf.reduce_sum(tf.math.log(scale), axis=[1, 2, 3])


        def squashed(z1, z2):
            scale = tf.nn.sigmoid(Z.squash(z1))
            return z2 * scale, tf.reduce_sum(tf.math.log(scale), axis=[1, 2, 3])
        """)
    assert codes(model) == [("TFN010", 8)]
    assert codes(model, strict=True) == [("TFN010", 8), ("TFN010", 13)]


def test_a_public_method_is_judged_by_its_calls_across_the_project(tmp_path):
    """``self.crepe.predict_f0(audio)`` in another module is a call of the method ``predict_f0`` (receivers are not
    typed: every call of that name counts).  Where each of them stops the gradient, the method's value is never
    differentiated; one call that keeps it differentiated, or the name read as a value, keeps the finding."""
    write(tmp_path, "audio/__init__.py", "")
    crepe = write(tmp_path, "audio/crepe.py", """\
        import tensorflow as tf


        class Crepe(tf.keras.Model):
            def normalise(self, frames):
                mu, var = tf.nn.moments(frames, axes=[-1])
                std = tf.where(tf.abs(var) > 0., tf.sqrt(var), 1e-8)
                return (frames - mu[:, None]) / std[:, None]

            def predict_f0(self, audio):
                frames = self.normalise(audio)
                return tf.reduce_sum(self.core(frames, training=False), -1)
        """)
    preprocessing = write(tmp_path, "audio/preprocessing.py", """\
        import tensorflow as tf
        from audio.crepe import Crepe


        class F0(tf.keras.layers.Layer):
            def __init__(self):
                super().__init__()
                self.crepe = Crepe()

            def call(self, audio):
                f0 = self.crepe.predict_f0(audio)
                f0 = tf.stop_gradient(f0)
                return f0 / 100.
        """)
    assert codes(crepe) == []
    assert ("TFN004", 7) in codes(crepe, strict=True)
    forget_project_caches()
    preprocessing.write_text(preprocessing.read_text().replace("        f0 = tf.stop_gradient(f0)\n", ""))
    assert ("TFN004", 7) in codes(crepe)


def test_an_alias_bound_under_a_version_check_and_a_relative_import_of_it(tmp_path):
    """``tfv1 = tf.compat.v1``, with a fallback to ``tf`` for a TensorFlow without ``compat``, inside ``if``/``try``:
    TensorFlow 1's API either way.  A summary written through it (``from .compat import tfv1 as tf``) only logs, so
    a norm whose one use is that summary is never differentiated."""
    write(tmp_path, "proj/__init__.py", "")
    write(tmp_path, "proj/compat.py", """\
        import numpy as np
        import tensorflow as tf

        if hasattr(tf, "compat"):
            tfv1 = tf.compat.v1
        else:
            try:
                tfv1 = tf.compat.v1
            except AttributeError:
                tfv1 = tf
        if hasattr(np, "float128"):
            backend = tf
        else:
            backend = np
        """)
    stats = write(tmp_path, "proj/stats.py", """\
        import tensorflow as tf


        def rms(x):
            return tf.sqrt(tf.reduce_mean(tf.square(x)))
        """)
    write(tmp_path, "proj/summaries.py", """\
        from .compat import tfv1 as tf
        from .stats import rms


        def add_rms_summary(x, name):
            tf.summary.scalar(name + '-rms', rms(x))
        """)
    modules = ProjectModules(str(stats))
    assert modules.resolve("proj.compat.tfv1.where") == "tensorflow.compat.v1.where"
    assert modules.resolve("proj.compat.backend.where") is None  # TensorFlow or NumPy: no one meaning
    result = lint_path(str(stats), Settings(strict=True))
    [finding] = result.findings
    assert finding.code == "TFN009"
    assert finding.no_gradient == "every use of rms() in this project discards it"


_AGENT = """\
    import tensorflow as tf


    def norm(t):
        return tf.sqrt(tf.reduce_sum(tf.square(t)))


    class Agent:
        def build(self, loss, params):
            grads = tf.gradients(loss, params)
            train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).apply_gradients(zip(grads, params))
            grad_norm = norm(grads[0])
            self.fetches = [train_op, loss, grad_norm]

        def step(self, feed):
            return self.sess.run(self.fetches, feed)
    """


def _no_gradient(path: Path) -> list[str | None]:
    result = lint_path(str(path), Settings(strict=True))
    assert result.error is None, result.error
    return [finding.no_gradient for finding in result.findings]


def test_a_value_stored_on_self_that_only_a_session_fetches_is_not_differentiated(tmp_path):
    write(tmp_path, "proj/__init__.py", "")
    agent = write(tmp_path, "proj/agent.py", _AGENT)
    [reason] = _no_gradient(agent)
    assert reason == ("every use of norm() in this module discards it")
    forget_project_caches()
    # A subclass in the same module that fetches it in its own way: still only fetched.
    write(tmp_path, "proj/agent.py", _AGENT + """\

    class LoggingAgent(Agent):
        def log(self, feed):
            print(tf.compat.v1.get_default_session().run(self.fetches[2:], feed_dict=feed))
    """)
    assert _no_gradient(agent) == [reason]


def test_a_value_stored_on_self_that_something_else_may_differentiate_stays_reported(tmp_path):
    write(tmp_path, "proj/__init__.py", "")
    agent = write(tmp_path, "proj/agent.py", _AGENT)
    # Another module of the project reads the attribute of an agent: what it does with it is not followed.
    write(tmp_path, "proj/train.py", """\
        import tensorflow as tf


        def extra_loss(agent):
            return tf.add_n(agent.fetches[1:])
        """)
    assert _no_gradient(agent) == [None]
    forget_project_caches()
    (tmp_path / "proj/train.py").unlink()
    # A method of the class hands it to the optimizer.
    write(tmp_path, "proj/agent.py", _AGENT + """\

        def regularise(self, optimizer):
            return optimizer.minimize(self.fetches[2])
    """)
    assert _no_gradient(agent) == [None]
    forget_project_caches()
    # Read by its spelling (getattr): not followed.
    write(tmp_path, "proj/agent.py", _AGENT + """\

        def fetch(self, name):
            return getattr(self, name)

        def named(self):
            return self.fetch("fetches")
    """)
    assert _no_gradient(agent) == [None]
    forget_project_caches()
    # Fetched by something that is not a session.
    write(tmp_path, "proj/agent.py", _AGENT.replace("self.sess.run(", "self.runner.run("))
    assert _no_gradient(agent) == [None]


def test_a_select_reexported_under_a_name_no_sink_has(tmp_path):
    """``ops.choose`` ends with no sink's name, but ``proj.ops`` may stand for anything: the plan asks the project."""
    write(tmp_path, "proj/__init__.py", "")
    write(tmp_path, "proj/ops.py", """\
        import tensorflow as tf
        choose = tf.where
        """)
    model = write(tmp_path, "proj/model.py", """\
        import tensorflow as tf
        from proj import ops


        def elu(x):
            return ops.choose(x > 0., x, tf.exp(x) - 1.)
        """)
    assert codes(model) == [("TFN001", 6)]
    modules = ProjectModules(str(model))
    assert modules.renames("proj.ops") and modules.renames(".ops")
    # TensorFlow, Keras, NumPy and the standard library are never read through the project's modules.
    assert not any(modules.renames(name) for name in ("tensorflow.math", "keras.ops", "numpy", "os.path"))
    assert ProjectModules(str(model), (("np", "tensorflow.experimental.numpy"),)).renames("numpy")


def test_ops_reexported_into_a_relative_import(tmp_path):
    """``from . import znp``: the plan follows relative imports through the project as the analysis does."""
    write(tmp_path, "proj/__init__.py", "")
    write(tmp_path, "proj/znp.py", "from tensorflow.experimental.numpy import *  # noqa: F403\n")
    model = write(tmp_path, "proj/model.py", """\
        import tensorflow as tf
        from . import znp
        from .znp import exp as e


        def elu(x):
            return tf.where(x > 0., x, znp.exp(x) - 1.)


        def elu_too(x):
            return tf.where(x > 0., x, e(x) - 1.)


        def geometric_mean(x):
            return znp.exp(znp.mean(znp.log(x)))
        """)
    assert codes(model) == [("TFN001", 7), ("TFN001", 11), ("TFN008", 15)]
    exhaustive = lint_path(str(model), Settings(), exhaustive=True)
    assert [(finding.code, finding.line) for finding in exhaustive.findings] == codes(model)
