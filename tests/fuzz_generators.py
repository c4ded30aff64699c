"""Inputs for the fuzz suite: TensorFlow/Keras-shaped programs and mutations of real files.

Every generator takes a ``random.Random``, so an input is reproduced from its seed alone:
``tf_program(random.Random(seed))`` and ``mutate(data, random.Random(seed))``.

``tf_program`` writes valid Python (3.10 syntax) built from the constructs the analysis cares about -- the
select spellings, risky ops, clamps, conditions, aliases, local dataflow -- nested inside everything else the
language offers (lambdas, comprehensions, decorators, walrus, match statements, f-strings, classes, async
functions, very long lines), so that fuzzing reaches the analysis and not only the parser.

``mutate`` damages a file the way editors, tools and disks do: deleted, duplicated and swapped tokens,
truncation, random bytes, mixed indentation, CRLF/CR line endings, a BOM, and re-encoding with a coding cookie.
"""

from __future__ import annotations

import contextlib
import random
import re
import signal

# -- TensorFlow/Keras-shaped programs --------------------------------------------------------------------------------

IMPORT_LINES = (
    "import tensorflow as tf",
    "import tensorflow as tf",
    "import tensorflow as tf",
    "from tensorflow import keras",
    "import keras",
    "from keras import ops",
    "from keras import backend as K",
    "import keras.backend as K",
    "import tensorflow.keras.backend as KB",
    "from tensorflow.keras import backend as K",
    "from tensorflow import where",
    "from tensorflow import math as tm",
    "from tensorflow.math import log as ln",
    "import numpy as np",
    "import jax.numpy as jnp",
    "import torch",
    "import functools",
    "import tensorflow.experimental.numpy as tnp",
    "from tensorflow.experimental import numpy as tnp",
)

ALIAS_LINES = (
    "K = tf.keras.backend",
    "B = keras.backend",
    "ops = keras.ops",
    "select = tf.where",
    "T = tf",
    "M = tf.math",
    "K = np",
)

SELECTS = (
    "tf.where({c}, {a}, {b})",
    "tf.where({c}, {a}, {b})",
    "tf.where({c}, x={a}, y={b})",
    "tf.where(condition={c}, x={a}, y={b})",
    "tf.compat.v1.where({c}, {a}, {b})",
    "tf.compat.v2.where({c}, {a}, {b})",
    "tf.where_v2({c}, {a}, {b})",
    "tf.raw_ops.Select(condition={c}, x={a}, y={b})",
    "tf.raw_ops.SelectV2(condition={c}, t={a}, e={b})",
    "tf.raw_ops.SelectV2(condition={c}, e={b}, t={a})",
    "tf.experimental.numpy.where({c}, {a}, {b})",
    "tnp.where({c}, {a}, {b})",
    "K.switch({c}, {a}, {b})",
    "K.switch({c}, then_expression={a}, else_expression={b})",
    "KB.switch({c}, {a}, {b})",
    "keras.ops.where({c}, {a}, {b})",
    "ops.where({c}, x1={a}, x2={b})",
    "where({c}, {a}, {b})",
    "select({c}, {a}, {b})",
    "T.where({c}, {a}, {b})",
    "np.where({c}, {a}, {b})",
    "jnp.where({c}, {a}, {b})",
    "torch.where({c}, {a}, {b})",
    "tf.cond({c}, lambda: {a}, lambda: {b})",
    "keras.ops.switch({c}, {a}, {b})",
    "tf.where({c})",
    "tf.where(*({c}, {a}, {b}))",
    "tf.where({c}, {a}, **{{'y': {b}}})",
    "tf.where({c}, {a})",
    "(tf.where)({c}, {a}, {b})",
    "(tf\n    .where)({c}, {a}, {b})",
    "tf . where ( {c} ,\n {a} ,\n {b} )",
    "getattr(tf, 'where')({c}, {a}, {b})",
)

RISKY = (
    "tf.exp({0})", "tf.math.exp({0})", "K.exp({0})", "ops.exp({0})", "keras.ops.exp({0})", "tnp.exp({0})",
    "tf.raw_ops.Exp(x={0})", "tf.math.expm1({0})", "tf.cosh({0})", "tf.math.sinh({0})", "tf.math.log({0})",
    "K.log({0})", "ops.log({0})", "ops.log2({0})", "ln({0})", "tm.log({0})", "M.log({0})", "tf.math.log1p({0})",
    "tf.math.lgamma({0})", "tf.math.digamma({0})", "tf.sqrt({0})", "K.sqrt({0})", "tf.math.rsqrt({0})",
    "tf.math.reciprocal({0})", "ops.reciprocal({0})", "tf.math.acos({0})", "tf.asin({0})", "ops.arccos({0})",
    "tf.math.atanh({0})", "tf.math.acosh({0})", "tf.pow({0}, {1})", "tf.math.pow({0}, 0.5)", "K.pow({0}, -1)",
    "({0}) ** 0.5", "({0}) ** -2", "({0}) ** ({1})", "2. ** ({0})", "10 ** ({0})", "1 ** ({0})", "({0}) / ({1})",
    "tf.divide({0}, {1})", "tf.math.truediv({0}, {1})", "tf.realdiv({0}, {1})", "tf.math.divide({0}, y={1})",
    "tf.exp(x={0})", "tf.math.log(x={0}, name='log')", "np.log({0})", "jnp.exp({0})", "math.exp({0})",
    "tf.math.divide_no_nan({0}, {1})", "tf.nn.elu({0})", "tf.nn.softplus({0})", "tf.math.xlogy({0}, {1})",
)

CLAMPS = (
    "tf.minimum({0}, {k})", "tf.maximum({0}, {k})", "K.minimum({0}, {k})", "K.maximum({0}, {k})",
    "tf.clip_by_value({0}, {k}, {k2})", "K.clip({0}, {k}, {k2})", "keras.ops.clip({0}, {k}, {k2})",
    "tf.clip_by_value({0}, clip_value_min={k}, clip_value_max={k2})", "tf.nn.relu({0}) + {k}",
    "tf.square({0}) + 1e-6", "-tf.abs({0})", "tf.abs({0})", "tf.sigmoid({0})", "tf.nn.sigmoid({0})",
    "tf.tanh({0})", "tf.math.softplus({0})", "tf.cast({0}, tf.float32)", "tf.identity({0})",
    "tf.stop_gradient({0})", "K.stop_gradient({0})", "abs({0})", "float({0})", "({0}) * ({0})", "({0}) ** 2",
    "tf.math.exp(-tf.abs({0}))", "tf.math.log(tf.sigmoid({0}))",
)

COMPARISONS = (">", ">=", "<", "<=", "==", "!=")
COMPARE_CALLS = (
    "tf.greater({0}, {1})", "tf.math.greater_equal({0}, {1})", "tf.less({0}, y={1})", "K.greater({0}, {1})",
    "K.less_equal({0}, {1})", "ops.greater({0}, {1})", "tf.equal({0}, {1})", "tf.not_equal({0}, {1})",
)
LOGIC_CALLS = ("tf.logical_and({0}, {1})", "tf.logical_or({0}, {1})", "tf.math.logical_and(x={0}, y={1})")
CONSTANTS = (
    "0", "0.", "1.", "-1", "-1.", "1e-7", "1e-6", "88.7", "88.72", "89", "-88.7", "2", "0.5", "-0.5", "3.14159",
    "1e308", "1e400", "-1e400", "0x10", "0o7", "0b1", "1_000.5", "1j", "2.5j", "True", "None", "float('inf')",
    "float('nan')", "9" * 40, "1e-400", "710", "-710", ".5", "5.", "0e0",
)
NAMES = ("x", "y", "z", "inputs", "logits", "t", "self.alpha", "x[0]", "x[:, 1]", "x[..., :-1]", "kwargs['x']")
STRING_BITS = ("tf.where", "K.switch", "{", "}", "\\n", "'", '"', "é", "日本", "\\x00", "noqa")


class ProgramGenerator:
    """Builds one random module; ``depth`` bounds expression nesting so every output stays small and valid."""

    def __init__(self, rng: random.Random, max_depth: int = 4):
        self.rng = rng
        self.max_depth = max_depth
        self.counter = 0
        self.locals: list[list[str]] = [["x", "y"]]
        self.in_async = False
        self.in_function = False
        self.in_class = False

    # -- helpers --------------------------------------------------------------------------------------------------
    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def pick(self, options):
        return self.rng.choice(options)

    def fresh(self, prefix: str = "v") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def name(self) -> str:
        visible = [name for scope in self.locals for name in scope]
        if visible and self.chance(0.6):
            return self.pick(visible)
        return self.pick(NAMES)

    # -- expressions ------------------------------------------------------------------------------------------------
    def expr(self, depth: int = 0) -> str:
        if depth >= self.max_depth or self.chance(0.2):
            return self.atom()
        kind = self.rng.randrange(20)
        next_depth = depth + 1
        if kind <= 3:
            return self.select(next_depth)
        if kind <= 6:
            return self.pick(RISKY).format(self.expr(next_depth), self.expr(next_depth))
        if kind <= 8:
            return self.pick(CLAMPS).format(self.expr(next_depth), k=self.pick(CONSTANTS), k2=self.pick(CONSTANTS))
        if kind == 9:
            op = self.pick(("+", "-", "*", "/", "**", "@", "%", "//", "&", "|", "^", "<<"))
            return f"({self.expr(next_depth)} {op} {self.expr(next_depth)})"
        if kind == 10:
            return f"({self.pick(('-', '+', '~', 'not '))}({self.expr(next_depth)}))"
        if kind == 11:
            return f"({self.expr(next_depth)} if {self.cond(next_depth)} else {self.expr(next_depth)})"
        if kind == 12:
            parameter = self.fresh("p")
            self.locals.append([parameter])
            body = self.lazy(lambda: self.expr(next_depth))
            self.locals.pop()
            if self.chance(0.5):
                return f"(lambda {parameter}: {body})({self.expr(next_depth)})"
            return f"(lambda {parameter}, *args, k={self.atom()}, **kw: {body})"
        if kind == 13:
            return self.comprehension(next_depth)
        if kind == 14 and not self.in_class:
            target = self.fresh("w")
            value = self.expr(next_depth)
            self.locals[-1].append(target)
            return f"({target} := {value})"
        if kind == 15:
            return self.fstring(next_depth)
        if kind == 16:
            return f"{self.expr(next_depth)}[{self.pick(('0', ':', '..., 0', '1:-1:2', 'None', 'tf.newaxis'))}]"
        if kind == 17:
            items = ", ".join(self.expr(next_depth) for _ in range(self.rng.randrange(4)))
            return self.pick((f"[{items}]", f"({items},)" if items else "()", f"{{{items}}}" if items else "{}",
                              f"[*{self.name()}]"))
        if kind == 18:
            return f"{self.pick(('tf.reduce_sum', 'tf.reduce_mean', 'ops.sum', 'len', 'print', 'f', 'self.dense'))}" \
                   f"({self.expr(next_depth)})"
        return f"(await ({self.expr(next_depth)}))" if self.in_async else f"({self.expr(next_depth)})"

    def atom(self) -> str:
        roll = self.rng.randrange(10)
        if roll < 6:
            return self.name()
        if roll < 9:
            return self.pick(CONSTANTS)
        return repr("".join(self.pick(STRING_BITS) for _ in range(self.rng.randrange(4))))

    def select(self, depth: int) -> str:
        template = self.pick(SELECTS)
        if "lambda" in template:
            return template.format(c=self.cond(depth), a=self.lazy(lambda: self.expr(depth)),
                                   b=self.lazy(lambda: self.expr(depth)))
        return template.format(c=self.cond(depth), a=self.expr(depth), b=self.expr(depth))

    def lazy(self, build):
        """An expression for a lambda body, where ``await`` is not allowed."""
        outer, self.in_async = self.in_async, False
        try:
            return build()
        finally:
            self.in_async = outer

    def cond(self, depth: int = 0) -> str:
        if depth >= self.max_depth:
            return f"{self.name()} > {self.pick(CONSTANTS)}"
        roll = self.rng.randrange(10)
        next_depth = depth + 1
        if roll <= 2:
            return f"{self.expr(next_depth)} {self.pick(COMPARISONS)} {self.expr(next_depth)}"
        if roll == 3:
            return " ".join(
                [self.expr(next_depth)]
                + [f"{self.pick(COMPARISONS)} {self.expr(next_depth)}" for _ in range(1 + self.rng.randrange(3))]
            )
        if roll == 4:
            return self.pick(COMPARE_CALLS).format(self.expr(next_depth), self.expr(next_depth))
        if roll == 5:
            op = self.pick(("&", "|", "and", "or"))
            return f"({self.cond(next_depth)}) {op} ({self.cond(next_depth)})"
        if roll == 6:
            return f"{self.pick(('~', 'not ', 'tf.logical_not'))}({self.cond(next_depth)})"
        if roll == 7:
            return self.pick(LOGIC_CALLS).format(self.cond(next_depth), self.cond(next_depth))
        if roll == 8:
            return f"{self.pick(('abs', 'tf.abs', 'K.abs'))}({self.expr(next_depth)}) < {self.pick(CONSTANTS)}"
        return self.pick((self.name(), f"tf.cast({self.cond(next_depth)}, tf.float32)", "mask", "x is None",
                          f"{self.name()} in {self.name()}"))

    def comprehension(self, depth: int) -> str:
        target = self.fresh("i")
        self.locals.append([target])
        element = self.expr(depth)
        condition = f" if {self.cond(depth)}" if self.chance(0.4) else ""
        self.locals.pop()
        iterable = self.pick(("range(3)", self.name(), "tf.unstack(x)", "zip(x, y)"))
        opening, closing = self.pick((("[", "]"), ("(", ")"), ("{", "}")))
        if opening == "{" and self.chance(0.5):
            element = f"{target}: {element}"
        return f"{opening}{element} for {target} in {iterable}{condition}{closing}"

    def fstring(self, depth: int) -> str:
        inner = self.expr(depth).replace("\n", " ")
        if '"' in inner or "'" in inner or "\\" in inner:
            return f"str({inner})"
        conversion = self.pick(("", "!r", "!s", "!a"))
        spec = self.pick(("", ":>10", ":.3f", ":{w}", ":{w}.{p}"))
        return self.pick((f'f"{{({inner}){conversion}{spec}}}"', f'f"a{{{{ {{({inner})=}} }}}}b"',
                          f"rf'{{({inner})}}\\d'"))

    # -- statements -----------------------------------------------------------------------------------------------
    def statements(self, indent: str, count: int, depth: int) -> list[str]:
        lines: list[str] = []
        for _ in range(count):
            lines.extend(self.statement(indent, depth))
        return lines or [indent + "pass"]

    def statement(self, indent: str, depth: int) -> list[str]:
        roll = self.rng.randrange(24 if depth < 3 else 12)
        if roll <= 3:
            target = self.fresh()
            line = f"{indent}{target} = {self.expr()}"
            self.locals[-1].append(target)
            return [line + self.comment()]
        if roll == 4:
            first, second = self.fresh(), self.fresh()
            self.locals[-1].extend([first, second])
            return [f"{indent}{first}, *{second} = {self.expr()}, {self.expr()}"]
        if roll == 5:
            target = self.name() if self.chance(0.5) else self.fresh()
            if target.isidentifier():
                self.locals[-1].append(target)
                return [f"{indent}{target}: tf.Tensor = {self.expr()}"]
            return [f"{indent}{target} += {self.expr()}"]
        if roll == 6:
            target = self.pick([name for name in self.locals[-1] if name.isidentifier()] or ["x"])
            return [f"{indent}{target} {self.pick(('+=', '-=', '*=', '/=', '**=', '@='))} {self.expr()}"]
        if roll == 7:
            return [f"{indent}{'return' if self.in_function else 'print'}({self.expr()}){self.comment()}"]
        if roll == 8:
            return [indent + self.long_line()]
        if roll == 9:
            return [f"{indent}assert {self.cond()}, {self.pick(CONSTANTS)}"]
        if roll == 10:
            return [f"{indent}{self.pick(ALIAS_LINES)}"]
        if roll == 11:
            return [f"{indent}{self.expr()}; {self.fresh()} = {self.expr()}"]
        if roll == 12:
            return self.if_statement(indent, depth)
        if roll == 13:
            return self.function(indent, depth)
        if roll == 14:
            return self.layer_class(indent, depth)
        if roll == 15:
            return self.match_statement(indent, depth)
        if roll == 16:
            target = self.fresh("i")
            self.locals[-1].append(target)
            header = f"{indent}{'async ' if self.in_async and self.chance(0.3) else ''}for {target} in {self.expr()}:"
            return [header, *self.statements(indent + "    ", 2, depth + 1)]
        if roll == 17:
            return [f"{indent}while {self.cond()}:", *self.statements(indent + "    ", 2, depth + 1),
                    f"{indent}    break"]
        if roll == 18:
            name = self.fresh("ctx")
            self.locals[-1].append(name)
            return [f"{indent}with tf.GradientTape() as {name}, tf.name_scope('s'):",
                    *self.statements(indent + "    ", 2, depth + 1)]
        if roll == 19:
            return [f"{indent}try:", *self.statements(indent + "    ", 1, depth + 1),
                    f"{indent}except (ValueError, tf.errors.InvalidArgumentError) as error:",
                    *self.statements(indent + "    ", 1, depth + 1),
                    f"{indent}finally:", f"{indent}    pass"]
        if roll == 20:
            return [f"{indent}{line}" for line in self.backslash_continuation()]
        if roll == 21:
            return [f'{indent}"""docstring with tf.where(x > 0, x, tf.exp(x)) inside',
                    "  a continuation line at column 2",
                    '"""']
        if roll == 22:
            return [f"{indent}global G" if self.in_function else f"{indent}G = {self.expr()}"]
        return self.function(indent, depth, decorated=True)

    def comment(self) -> str:
        return self.pick(("", "", "", "  # noqa", "  # noqa: TFN001", "  # noqa:TFN002,TFN003", "  # NOQA",
                          "  # type: ignore", "  # tf.where(x, y, tf.exp(z))", "  # é 日本"))

    def long_line(self) -> str:
        terms = [self.pick(("x", "x", "tf.exp(x)", "1.", "y", "y", "0.5", "K.switch(x > 0, x, tf.math.log(x))"))
                 for _ in range(self.rng.randrange(50, 400))]
        target = self.fresh("long")
        self.locals[-1].append(target)
        return f"{target} = " + " + ".join(terms)

    def backslash_continuation(self) -> list[str]:
        target = self.fresh()
        self.locals[-1].append(target)
        return [f"{target} = tf.where(x > 0, \\", "    x, \\", f"    {self.pick(RISKY).format('x', 'y')})"]

    def if_statement(self, indent: str, depth: int) -> list[str]:
        lines = [f"{indent}if {self.cond()}:", *self.statements(indent + "    ", 2, depth + 1)]
        if self.chance(0.5):
            lines += [f"{indent}elif {self.cond()}:", *self.statements(indent + "    ", 1, depth + 1)]
        if self.chance(0.5):
            lines += [f"{indent}else:", *self.statements(indent + "    ", 1, depth + 1)]
        return lines

    def match_statement(self, indent: str, depth: int) -> list[str]:
        capture = self.fresh("m")
        lines = [f"{indent}match {self.expr()}:"]
        patterns = (
            f"[{capture}, *rest]",
            f"{{'key': {capture}, **extra}}",
            f"tf.Tensor(shape={capture})",
            f"(0 | 1.5 | -1) as {capture}",
            f"str() | bytes() as {capture}",
        )
        for pattern in self.rng.sample(patterns, self.rng.randrange(1, 4)):
            guard = f" if {self.cond()}" if self.chance(0.4) else ""
            self.locals.append([capture, "rest", "extra"])
            lines += [f"{indent}    case {pattern}{guard}:", *self.statements(indent + "        ", 1, depth + 1)]
            self.locals.pop()
        lines += [f"{indent}    case _:", f"{indent}        pass"]
        return lines

    def decorators(self, indent: str) -> list[str]:
        options = ("@tf.function", "@tf.function(jit_compile=True)", "@tf.custom_gradient", "@functools.wraps(f)",
                   "@staticmethod", "@property", "@keras.saving.register_keras_serializable()",
                   "@(lambda f: f)", "@tf.autograph.experimental.do_not_convert")
        return [f"{indent}{decorator}" for decorator in self.rng.sample(options, self.rng.randrange(3))]

    def function(self, indent: str, depth: int, decorated: bool = False, name: str | None = None,
                 method: bool = False) -> list[str]:
        name = name or self.fresh("f")
        self.locals[-1].append(name)
        is_async = self.chance(0.15)
        parameters = self.pick(("x", "x, y", "x, y=1., *args, **kwargs", "x, /, y, *, z=None", "inputs",
                                "x: tf.Tensor, alpha: float = 1.67") )
        if method:
            parameters = "self, " + parameters
        lines = (self.decorators(indent) if decorated else [])
        lines.append(f"{indent}{'async ' if is_async else ''}def {name}({parameters}) -> tf.Tensor:")
        outer = (self.in_async, self.in_function, self.in_class)
        self.in_async, self.in_function, self.in_class = is_async, True, False
        names = [part.split("=")[0].split(":")[0].strip(" */") for part in parameters.split(",")]
        self.locals.append([n for n in names if n.isidentifier()])
        body = self.statements(indent + "    ", self.rng.randrange(1, 5), depth + 1)
        if not is_async and self.chance(0.1):
            body.append(f"{indent}    yield {self.expr()}")
        body.append(f"{indent}    return {self.select(1)}{self.comment()}")
        self.locals.pop()
        self.in_async, self.in_function, self.in_class = outer
        return lines + body

    def layer_class(self, indent: str, depth: int) -> list[str]:
        name = self.fresh("C")
        self.locals[-1].append(name)
        base = self.pick(("keras.layers.Layer", "tf.keras.layers.Layer", "keras.metrics.Metric",
                          "tf.keras.optimizers.Optimizer", "object", "tf.Module", "Base[int], metaclass=Meta"))
        outer = (self.in_async, self.in_class)
        self.in_async, self.in_class = False, True
        lines = [*self.decorators(indent), f"{indent}class {name}({base}):", f"{indent}    alpha = {self.expr()}"]
        self.locals.append(["alpha"])
        for method in self.rng.sample(("call", "update_state", "result", "update_step", "build", "__call__"), 2):
            lines += self.function(indent + "    ", depth + 1, decorated=self.chance(0.3), name=method, method=True)
        self.locals.pop()
        self.in_async, self.in_class = outer
        return lines

    def module(self) -> str:
        lines = []
        if self.chance(0.2):
            lines.append(self.pick(("#!/usr/bin/env python3", "# -*- coding: utf-8 -*-", '"""Module docstring."""',
                                    "from __future__ import annotations")))
        lines += self.rng.sample(IMPORT_LINES, self.rng.randrange(1, 6))
        if self.chance(0.3):
            lines.append(self.pick(ALIAS_LINES))
        lines += self.statements("", self.rng.randrange(1, 8), 0)
        return "\n".join(lines) + ("\n" if self.chance(0.9) else "")


def tf_program(rng: random.Random, max_depth: int | None = None) -> str:
    """One valid TF/Keras-shaped module."""
    return ProgramGenerator(rng, max_depth if max_depth is not None else rng.randrange(2, 6)).module()


def nested_selects(depth: int, spelling: str = "tf.where({c}, {a}, {b})") -> str:
    """A module whose select calls nest ``depth`` deep, each branch evaluating a risky op."""
    expression = "x"
    for level in range(depth):
        expression = spelling.format(c=f"x > {level}", a=expression, b=f"tf.exp(x - {level})")
    return f"import tensorflow as tf\n\n\ndef f(x):\n    return {expression}\n"


# -- mutations -------------------------------------------------------------------------------------------------------

_TOKEN = re.compile(rb"[A-Za-z_][A-Za-z_0-9]*|\d[\d.eEjJxX_]*|[ \t]+|\r\n|\n|\r|\"\"\"|'''|\S", re.DOTALL)
INSERTED_TOKENS = (
    b"(", b")", b"[", b"]", b"{", b"}", b":", b",", b"=", b":=", b"**", b"/", b"\\", b"\n", b"\r", b"\t", b" ",
    b"    ", b"'", b'"', b'"""', b"'''", b'f"{', b"#", b"lambda", b"match", b"case", b"async", b"await", b"yield",
    b"def", b"class", b"return", b"if", b"else", b"tf.where(", b"K.switch(", b"tf.exp(", b"@", b"...", b"\x0c",
    b"\xc3\xa9", b"\xe6\x97\xa5", b"\xff", b"\x00", b"\x1a", b"\xef\xbb\xbf", b"# noqa", b"-*- coding: latin-1 -*-",
)
COOKIE_ENCODINGS = ("latin-1", "cp1252", "iso-8859-15", "koi8-r", "shift_jis", "euc-jp", "cp437", "utf-16",
                    "utf-8", "ascii", "gb2312", "big5", "mac-roman", "utf-8-sig", "no-such-encoding", "rot13")
NON_ASCII = ("é", "ü", "ñ", "Ж", "日本", "€", "ß", "λ")


def tokens(data: bytes) -> list[bytes]:
    return _TOKEN.findall(data)


def mutate(data: bytes, rng: random.Random, rounds: int | None = None) -> bytes:
    """``data`` with 1 to 4 random mutations applied in turn."""
    for _ in range(rounds if rounds is not None else rng.randrange(1, 5)):
        data = rng.choice(MUTATIONS)(data, rng)
    return data


def delete_token(data: bytes, rng: random.Random) -> bytes:
    parts = tokens(data)
    if parts:
        del parts[rng.randrange(len(parts))]
    return b"".join(parts)


def duplicate_token(data: bytes, rng: random.Random) -> bytes:
    parts = tokens(data)
    if parts:
        index = rng.randrange(len(parts))
        parts.insert(index, parts[index])
    return b"".join(parts)


def swap_tokens(data: bytes, rng: random.Random) -> bytes:
    parts = tokens(data)
    if len(parts) >= 2:
        i, j = rng.randrange(len(parts)), rng.randrange(len(parts))
        parts[i], parts[j] = parts[j], parts[i]
    return b"".join(parts)


def insert_token(data: bytes, rng: random.Random) -> bytes:
    parts = tokens(data)
    parts.insert(rng.randrange(len(parts) + 1), rng.choice(INSERTED_TOKENS))
    return b"".join(parts)


def replace_token(data: bytes, rng: random.Random) -> bytes:
    parts = tokens(data)
    if parts:
        parts[rng.randrange(len(parts))] = rng.choice(INSERTED_TOKENS + tuple(parts))
    return b"".join(parts)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def random_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randrange(1, 8)):
        position = rng.randrange(len(out) + 1)
        chunk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5)))
        if rng.random() < 0.5 and position < len(out):
            out[position:position + len(chunk)] = chunk
        else:
            out[position:position] = chunk
    return bytes(out)


def mix_indentation(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    for index, line in enumerate(lines):
        if line.startswith(b"    ") and rng.random() < 0.3:
            lines[index] = rng.choice((b"\t", b" \t", b"\t ", b"        ", b"\x0c    ")) + line[4:]
    return b"\n".join(lines)


def line_endings(data: bytes, rng: random.Random) -> bytes:
    style = rng.choice((b"\r\n", b"\r", b"mixed"))
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if style == b"mixed":
        return b"".join(line + rng.choice((b"\n", b"\r\n", b"\r")) for line in lines[:-1]) + lines[-1]
    return style.join(lines)


def add_bom(data: bytes, rng: random.Random) -> bytes:
    return b"\xef\xbb\xbf" + data


def reencode(data: bytes, rng: random.Random) -> bytes:
    """Add non-ASCII text and a coding cookie, then encode the text as the cookie says (or mismatched)."""
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    for _ in range(rng.randrange(1, 4)):
        index = rng.randrange(len(lines))
        lines[index] += f"  # {rng.choice(NON_ASCII)}"
    if rng.random() < 0.5:
        lines.insert(rng.randrange(len(lines) + 1), f"s = '{rng.choice(NON_ASCII)}'")
    encoding = rng.choice(COOKIE_ENCODINGS)
    cookie = rng.choice((f"# -*- coding: {encoding} -*-", f"# coding={encoding}", f"# vim: set fileencoding={encoding} :"))
    position = rng.choice((0, 0, 1, 2))  # a cookie counts only on the first two lines
    lines.insert(min(position, len(lines)), cookie)
    text = "\n".join(lines)
    target = encoding if rng.random() < 0.8 else rng.choice(COOKIE_ENCODINGS)
    try:
        return text.encode(target, "replace")
    except LookupError:
        return text.encode("utf-8")


def deep_brackets(data: bytes, rng: random.Random) -> bytes:
    depth = rng.choice((50, 150, 250, 1000))
    opening, closing = rng.choice(((b"(", b")"), (b"[", b"]"), (b"tf.exp(", b")"), (b"-", b""), (b"not ", b"")))
    position = rng.randrange(len(data) + 1)
    return data[:position] + b"\nz = " + opening * depth + b"x" + closing * depth + b"\n" + data[position:]


def long_line(data: bytes, rng: random.Random) -> bytes:
    line = b"z = " + b" + ".join(rng.choice((b"x", b"tf.exp(x)", b"1.")) for _ in range(rng.randrange(100, 3000)))
    position = rng.randrange(len(data) + 1)
    return data[:position] + b"\n" + line + b"\n" + data[position:]


MUTATIONS = (
    delete_token, delete_token, duplicate_token, swap_tokens, insert_token, insert_token, replace_token, truncate,
    random_bytes, mix_indentation, line_endings, add_bom, reencode, deep_brackets, long_line,
)


# -- hangs -----------------------------------------------------------------------------------------------------------

class Hang(AssertionError):
    """An input took longer than a generous bound: a hang, not a slow run."""


@contextlib.contextmanager
def no_hang(seconds: float, what: str = "linting one input"):
    """Fail with ``Hang`` if the block runs longer than ``seconds`` (main thread, POSIX; elsewhere no guard)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise Hang(f"{what} ran longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
