"""Facts about what a function of the project returns, read from CPython's syntax tree of its module.

The confidence of a saturation or log-of-probability finding rests on whether its input is a trained linear map's
output -- logits, whose values training decides and nothing bounds (``analysis.Linter._is_trained_output``).
Models compute logits in helpers::

    def dense(h, units):                       # or in another module: ``tfops.conv2d_zeros``
        w = tf.compat.v1.get_variable("w", [h.shape[-1], units])
        return tf.matmul(h, w) + b

    scale = tf.nn.sigmoid(dense(h, 2 * n)[..., 1::2] + 2.)

``returns_trained_output`` answers for such a helper: every ``return`` of it gives a linear map's output, through
its local variables (the definitions that reach the ``return`` on every path), a bias added, constant shifts and
scales, a positive scale ``* tf.exp(...)``, slices and rearrangements, and helpers it calls in turn (in its own
module or, through the project index, another one).  A parameter, or any other computation, is not a logit here.
"""

from __future__ import annotations

import ast
from typing import Callable

from . import knowledge
from .project import dotted_name
from .syntax import walk

MAX_HELPER_DEPTH = 4

# A call's function, written as a dotted name, -> whether it returns a trained output (None: not a known function).
HelperLookup = Callable[[str, int], "bool | None"]


def returns_trained_output(function: ast.FunctionDef | ast.AsyncFunctionDef, qualify: Callable[[str], str],
                           helper: HelperLookup, depth: int = 0) -> bool:
    """Whether every ``return`` of ``function`` returns a trained linear map's output, on every path to it."""
    if depth > MAX_HELPER_DEPTH:
        return False
    walker = _Walk(qualify, helper, depth)
    walker.block(function.body, {})
    return bool(walker.returns) and all(walker.returns)


def _is_constant(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(
        node.value, bool)


class _Walk:
    """A forward walk of a function body: for each local name, whether its value is a trained output on every
    path that reaches the current statement (a name missing from the map is not)."""

    def __init__(self, qualify: Callable[[str], str], helper: HelperLookup, depth: int):
        self.qualify = qualify
        self.helper = helper
        self.depth = depth
        self.returns: list[bool] = []

    def block(self, statements: list[ast.stmt], env: dict[str, bool]) -> dict[str, bool]:
        for statement in statements:
            env = self.statement(statement, env)
        return env

    def statement(self, statement: ast.stmt, env: dict[str, bool]) -> dict[str, bool]:
        if isinstance(statement, ast.Return):
            self.returns.append(statement.value is not None and self.trained(statement.value, env))
            return env
        if isinstance(statement, ast.Assign):
            value = self.trained(statement.value, env)
            env = dict(env)
            for target in statement.targets:
                for name in _bound_names(target):
                    env[name] = value if isinstance(target, ast.Name) else False
            return env
        if isinstance(statement, (ast.AugAssign, ast.AnnAssign)) and isinstance(statement.target, ast.Name):
            if statement.value is None:
                return env
            value = statement.value if isinstance(statement, ast.AnnAssign) else ast.BinOp(
                statement.target, statement.op, statement.value)
            return {**env, statement.target.id: self.trained(value, env)}
        if isinstance(statement, ast.If):
            return _join(env, self.block(statement.body, env), self.block(statement.orelse, env))
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
            loop_env = dict(env)
            if not isinstance(statement, ast.While):
                for name in _bound_names(statement.target):
                    loop_env[name] = False
            after = self.block(statement.body, loop_env)
            return _join(env, after, self.block(statement.orelse, after))
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            inner = dict(env)
            for item in statement.items:
                for name in _bound_names(item.optional_vars) if item.optional_vars is not None else ():
                    inner[name] = False
            return self.block(statement.body, inner)
        if isinstance(statement, ast.Try):
            body = self.block(statement.body, env)
            handled = [self.block(handler.body, env) for handler in statement.handlers]
            return self.block(statement.finalbody, _join(env, body, *handled))
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return {**env, statement.name: False}
        changed = {name for node in walk(statement) if isinstance(node, ast.Name) and isinstance(
            node.ctx, ast.Store) for name in (node.id,)}
        return {**env, **{name: False for name in changed}} if changed else env

    def trained(self, node: ast.expr, env: dict[str, bool]) -> bool:
        if isinstance(node, ast.Name):
            return env.get(node.id, False)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self.trained(node.operand, env)
        if isinstance(node, ast.Subscript):
            return self.trained(node.value, env)
        if isinstance(node, (ast.List, ast.Tuple)):
            return any(self.trained(element, env) for element in node.elts)
        if isinstance(node, ast.BinOp):
            return self._binary(node, env)
        if isinstance(node, ast.Call):
            return self._call(node, env)
        return False

    def _binary(self, node: ast.BinOp, env: dict[str, bool]) -> bool:
        if isinstance(node.op, ast.MatMult):
            return True
        if isinstance(node.op, ast.Add):  # a bias added to either side
            return self.trained(node.left, env) or self.trained(node.right, env)
        if isinstance(node.op, (ast.Sub, ast.Div)):
            return _is_constant(node.right) and self.trained(node.left, env)
        if isinstance(node.op, ast.Mult):  # a constant or a positive scale (``* tf.exp(log_scale)``)
            for scale, value in ((node.right, node.left), (node.left, node.right)):
                if _is_constant(scale) or self._is_exp(scale):
                    return self.trained(value, env)
        return False

    def _is_exp(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Call) and self.qualify(dotted_name(node.func) or "") in knowledge.EXPS

    def _call(self, node: ast.Call, env: dict[str, bool]) -> bool:
        if isinstance(node.func, ast.Call):  # ``Dense(10)(h)``
            return self.qualify(dotted_name(node.func.func) or "") in knowledge.LINEAR_LAYERS
        dotted = dotted_name(node.func)
        if dotted is None:
            return False
        name = self.qualify(dotted)
        if name in knowledge.LINEAR_MAPS:
            return True
        if name in knowledge.REARRANGEMENTS:
            return bool(node.args) and self.trained(node.args[0], env)
        return bool(self.helper(dotted, self.depth + 1))


def _bound_names(target: ast.expr) -> list[str]:
    return [node.id for node in walk(target) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)]


def _join(before: dict[str, bool], *branches: dict[str, bool]) -> dict[str, bool]:
    """Paths meet: a name is a trained output only if it is one on every path (a path that did not assign it
    keeps the value it had before)."""
    names = set(before).union(*branches)
    return {name: all(branch.get(name, before.get(name, False)) for branch in branches) for name in names}
