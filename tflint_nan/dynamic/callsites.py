"""What the project's own calls of a probed function say about its inputs and about whether it trains.

Two facts come from the call sites (in the function's module and, through ``project.ProjectModules.callers``,
in the project's other modules, tests left out):

* **Never differentiated** (``never_differentiated``): every call of the function sits in code the static model
  says is never differentiated (an optimizer's update step, a metric, a schedule), or its result only reaches such
  code (``gradients.ModuleFacts.function_reason`` and ``unused_result`` of the caller's module).  A reference to the
  function that is not a call makes its callers unknown, with one exception: an entry of a registry by name (a
  dict literal with string keys, as Keras' ``custom_objects``) whose key no other file of the project names.
* **Configuration** (``configuration_arguments``): the value every call passes a parameter is configuration, not a
  tensor that trains: a number literal, a lookup in a configuration object (``config['stable_stage_num_images']``,
  ``FLAGS.clip``, ``hparams.scale``), or an attribute that the caller's class sets in ``__init__`` from a
  constructor argument or a number (``self._l2_norm_clip``).

And one from the function itself (``declared_integers``): a parameter annotated ``int`` or ``bool``, or whose
entry in the docstring's argument list says it is an integer, a boolean or a number of things, carries no gradient.

Pure Python: no TensorFlow here.  Everything is advice: a question that cannot be answered returns nothing.
"""

from __future__ import annotations

import ast
import json
import os
import re
from dataclasses import dataclass

from .. import knowledge
from ..lint import run_with_deep_stack

# Names of objects that hold configuration: a lookup in one of them is a hyperparameter, never a tensor that trains.
CONFIGURATION_NAMES = frozenset({"config", "cfg", "conf", "configs", "hparams", "hps", "hp", "flags", "FLAGS", "args",
                                 "opts", "options", "settings"})
# The start of a docstring description that says the parameter is an integer, a boolean or a count.
_INTEGER_DESCRIPTION = re.compile(
    r"^(?:(?:an?|the|one|python|scalar|positive|non-negative|nonnegative|optional)\s+)*"
    r"(?:int|integer|ints|integers|bool|boolean|number\s+of)\b(?!\s+part\b)", re.IGNORECASE)
_INTEGER_TYPE = re.compile(r"^(?:optional\s*\[\s*)?(?:int|bool)\b(?!\s*or\s+float)", re.IGNORECASE)
_MAX_REGISTRY_FILES = 1500


@dataclass(frozen=True)
class CallSite:
    path: str
    tree: ast.Module
    call: ast.Call
    caller: str  # the qualified name of the function holding the call ("" at module level), as ``gradients`` names it
    klass: ast.ClassDef | None  # the class whose method holds the call


def _enclosing(tree: ast.Module) -> dict[ast.AST, tuple[str, ast.ClassDef | None]]:
    """Each node -> (the qualified name of the function holding it, the class of that method)."""
    found: dict[ast.AST, tuple[str, ast.ClassDef | None]] = {}
    stack: list[tuple[ast.AST, list[str], str, ast.ClassDef | None]] = [(tree, [], "", None)]
    while stack:
        node, prefix, function, klass = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qualname = ".".join([*prefix, child.name])
                found[child] = (function, klass)
                stack.append((child, [*prefix, child.name, "<locals>"], qualname, klass))
            elif isinstance(child, ast.ClassDef):
                found[child] = (function, klass)
                stack.append((child, [*prefix, child.name], function, child))
            else:
                found[child] = (function, klass)
                stack.append((child, prefix, function, klass))
    return found


def call_sites(tree: ast.Module, name: str, path: str) -> list[CallSite] | None:
    """The calls of the top-level function ``name`` in its module and the project; None when some use of it cannot
    be followed (it is handed around as a value, outside a registry by name)."""
    enclosing = _enclosing(tree)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    sites: list[CallSite] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Call) and parent.func is node:
            caller, klass = enclosing.get(parent, ("", None))
            sites.append(CallSite(path, tree, parent, caller, klass))
        elif not _unused_registry_entry(node, parent, name, path):
            return None
    try:
        from ..project import ProjectModules, parsed

        external = ProjectModules(path).callers(name)
    except Exception:  # the project's search is advice: without it the callers are unknown
        return None
    if external is None:
        return None
    for site in external:
        other = parsed(site.path)
        if other is None:
            return None
        caller, klass = _enclosing(other).get(site.call, ("", None))
        sites.append(CallSite(site.path, other, site.call, caller, klass))
    return sites


def _unused_registry_entry(node: ast.Name, parent: ast.AST | None, name: str, path: str) -> bool:
    """Whether ``node`` is a value of a dict literal with string keys (a registry by name, such as Keras'
    ``custom_objects``) whose key no other file of the project names in a string."""
    if not isinstance(parent, ast.Dict) or node not in parent.values:
        return False
    key = parent.keys[parent.values.index(node)]
    if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
        return False
    return not _named_elsewhere(key.value, path)


def _named_elsewhere(key: str, path: str) -> bool:
    """Whether a Python file of the project other than ``path`` holds ``key`` as a quoted string (or the project
    cannot be searched)."""
    try:
        from ..project import ProjectModules, _read_small

        root = ProjectModules(path).root()
    except Exception:
        return True
    if root is None:
        return True
    needles = (f"'{key}'".encode(), f'"{key}"'.encode())
    seen = 0
    own = os.path.realpath(path)
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [n for n in subfolders if not n.startswith(".") and n not in ("venv", ".venv", "build")]
        for file_name in names:
            if not file_name.endswith((".py", ".ipynb", ".json", ".yaml", ".yml", ".gin", ".cfg")):
                continue
            seen += 1
            if seen > _MAX_REGISTRY_FILES:
                return True
            file_path = os.path.join(folder, file_name)
            if os.path.realpath(file_path) == own:
                continue
            data = _read_small(file_path)
            if data is None or any(needle in data for needle in needles):
                return True
    return False


# -- never differentiated -----------------------------------------------------------------------------------------
def never_differentiated(tree: ast.Module, name: str, path: str, facts) -> str | None:
    """Why no call of the top-level function ``name`` in the project is differentiated, or None when one may be
    (or the calls cannot all be known, or there are none: a public function may be called from anywhere)."""
    sites = call_sites(tree, name, path)
    if not sites:
        return None
    reasons = []
    for site in sites:
        reason = _site_reason(site, facts if site.tree is tree else None)
        if reason is None:
            return None
        reasons.append((site, reason))
    site, reason = reasons[0]
    where = os.path.basename(site.path) + f":{site.call.lineno}"
    scope = "project" if any(s.path != path for s, _ in reasons) else "module"
    return (f"every call of {name}() in this {scope} is in code that is never differentiated ({where}: {reason})"
            if len(reasons) > 1 else f"its only call is in code that is never differentiated ({where}: {reason})")


def _site_reason(site: CallSite, facts) -> str | None:
    if facts is None:
        try:
            from ..gradients import ModuleFacts
            from ..project import ProjectModules

            facts = ModuleFacts(site.tree, ProjectModules(site.path))
        except Exception:
            return None
    try:  # deep questions of demand need the analysis thread's recursion limit
        return run_with_deep_stack(lambda: (facts.function_reason(site.caller) if site.caller else None)
                                   or facts.unused_result(site.call.lineno, site.call.col_offset))
    except Exception:
        return None


# -- configuration ------------------------------------------------------------------------------------------------
def configuration_arguments(sites: list[CallSite], function: ast.FunctionDef, parameters: list[str]
                            ) -> dict[str, tuple[list[float], str]]:
    """Parameter -> (its literal values, or [] when not all are literals; what the calls pass), for the parameters
    that every call passes configuration."""
    args = function.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    found: dict[str, tuple[list[float], str]] = {}
    if not sites:
        return found
    for name in parameters:
        values: list[float] = []
        shown = ""
        all_literals = True
        for site in sites:
            call = site.call
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                return {}
            passed = dict(zip(positional, call.args))
            passed.update({k.arg: k.value for k in call.keywords})
            argument = passed.get(name)
            if argument is None:
                break
            number = _number(argument)
            if number is not None:
                values.append(number)
                continue
            what = _configuration(argument, site)
            if what is None:
                break
            all_literals = False
            shown = shown or what
        else:
            found[name] = (sorted(set(values)) if all_literals else [], shown or "number literals")
    return found


def _number(node: ast.expr) -> float | None:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _configuration(node: ast.expr, site: CallSite) -> str | None:
    """``config['x']`` for a lookup in a configuration object, ``self._clip (constructor argument)`` for an
    attribute the caller's class sets only in ``__init__`` from its arguments or numbers; None otherwise."""
    text = ast.unparse(node)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        if _configuration_object(node.value):
            return text
    if isinstance(node, ast.Attribute):
        if _configuration_object(node.value):
            return text
        if isinstance(node.value, ast.Name) and node.value.id == "self" and site.klass is not None:
            if _constructor_configuration(site.klass, node.attr):
                return f"{text}, set from the constructor's arguments"
    return None


def _configuration_object(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in CONFIGURATION_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr in CONFIGURATION_NAMES or node.attr.lstrip("_") in CONFIGURATION_NAMES
    return False


def _constructor_configuration(klass: ast.ClassDef, attribute: str) -> bool:
    """Whether every assignment of ``self.<attribute>`` in the class is in ``__init__`` and assigns one of its
    parameters or a number, and the attribute is never called (a layer handed to the constructor is)."""
    assigned = False
    for method in klass.body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        parameters = {a.arg for a in (*method.args.posonlyargs, *method.args.args, *method.args.kwonlyargs)}
        for node in ast.walk(method):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attribute \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "self":
                return False
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, (ast.AugAssign, ast.AnnAssign)) else []
            for target in targets:
                if not (isinstance(target, ast.Attribute) and target.attr == attribute and isinstance(
                        target.value, ast.Name) and target.value.id == "self"):
                    continue
                if method.name != "__init__" or isinstance(node, ast.AugAssign):
                    return False
                value = node.value
                if not ((isinstance(value, ast.Name) and value.id in parameters) or _number(value) is not None):
                    return False
                assigned = True
    return assigned


# -- declared integers --------------------------------------------------------------------------------------------
def declared_integers(function: ast.FunctionDef | ast.Lambda | None) -> dict[str, str]:
    """Parameter -> how it is declared an integer or a boolean (its annotation, or its docstring entry)."""
    if not isinstance(function, ast.FunctionDef):
        return {}
    found: dict[str, str] = {}
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    for argument in every:
        annotation = argument.annotation
        if isinstance(annotation, ast.Name) and annotation.id in ("int", "bool"):
            found[argument.arg] = f"annotated {annotation.id}"
    docstring = ast.get_docstring(function) or ""
    if not docstring:
        return found
    for argument in every:
        name = argument.arg
        if name in found:
            continue
        for line in docstring.splitlines():
            stripped = line.strip()
            typed = re.match(rf"^{re.escape(name)}\s*\(([^)]*)\)\s*:", stripped)  # name (int): ...
            if typed and _INTEGER_TYPE.match(typed.group(1).strip()):
                found[name] = f"its docstring: {stripped[:80]}"
                break
            sphinx = re.match(rf"^:(?:type\s+{re.escape(name)}\s*:\s*(.*)|param\s+(\w+)\s+{re.escape(name)}\s*:)",
                              stripped)
            if sphinx and _INTEGER_TYPE.match((sphinx.group(1) or sphinx.group(2) or "").strip()):
                found[name] = f"its docstring: {stripped[:80]}"
                break
            described = re.match(rf"^{re.escape(name)}\s*:\s*(.*)$", stripped)  # name: An integer ... / name : int
            if described and (_INTEGER_DESCRIPTION.match(described.group(1).strip())
                              or _INTEGER_TYPE.match(described.group(1).strip())):
                found[name] = f"its docstring: {stripped[:80]}"
                break
    return found


# The functions whose second argument (or ``indices``/``ids`` keyword) picks elements by position
# (``knowledge.INDEX_SELECTIONS``): what is passed there is an integer tensor.
_INDEX_FUNCTIONS = frozenset(name.rsplit(".", 1)[1] for name in knowledge.INDEX_SELECTIONS)
_INDEX_KEYWORDS = ("indices", "ids")
# Segment reductions take segment ids second (``knowledge.VALUE_PICKS``' segment maximums and minimums,
# ``DROPPING_SEGMENT_REDUCTIONS``), and ``tf.tensor_scatter_nd_update`` its indices: integers too, read through
# arithmetic (``ids - 1``).
_SEGMENT_FUNCTIONS = frozenset(name.rsplit(".", 1)[1] for name in (*knowledge.VALUE_PICKS,
                                                                    *knowledge.DROPPING_SEGMENT_REDUCTIONS)
                               if "segment" in name) | frozenset(
    name.rsplit(".", 1)[1] for name in knowledge.POSITION_OVERWRITES if name.endswith("scatter_nd_update"))
_SEGMENT_KEYWORDS = ("segment_ids", "indices")
# A one-hot encoding takes its class ids as the first argument (``tf.one_hot(labels, depth)``).
_ENCODING_FUNCTIONS = frozenset(name.rsplit(".", 1)[1] for name in knowledge.ONE_HOT)


# Functions of whole rows: a softmax's entries depend on each other (``knowledge.PROBABILITY_OPS``).
_ROW_FUNCTIONS = frozenset(name.rsplit(".", 1)[1] for op in knowledge.PROBABILITY_OPS if op.key == "softmax"
                           for name in op.names)


def calls_row_function(function: ast.AST | None) -> bool:
    """Whether ``function`` turns logits into probabilities along a row: calls a softmax (``_ROW_FUNCTIONS``), by
    the callee's own name, or passes something as ``logits=`` (``knowledge.LOGITS_KEYWORDS``: a categorical
    distribution, a cross-entropy)."""
    return function is not None and any(
        isinstance(node, ast.Call) and (
            (node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None))
            in _ROW_FUNCTIONS or any(keyword.arg in knowledge.LOGITS_KEYWORDS for keyword in node.keywords))
        for node in ast.walk(function))


def index_parameters(function: ast.FunctionDef | ast.Lambda | None) -> dict[str, str]:
    """Parameter -> the call that uses it as the positions to take (``tf.gather(log_p, labels)``) or the class ids
    to encode (``tf.one_hot(labels, n)``): an integer."""
    if not isinstance(function, ast.FunctionDef):
        return {}
    args = function.args
    names = {argument.arg for argument in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    found: dict[str, str] = {}
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if callee in _ENCODING_FUNCTIONS:
            positions = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "indices")]
        elif callee in _INDEX_FUNCTIONS:
            positions = [*node.args[1:2], *(k.value for k in node.keywords if k.arg in _INDEX_KEYWORDS)]
        elif callee in _SEGMENT_FUNCTIONS:
            positions = [name for value in (*node.args[1:2], *(k.value for k in node.keywords
                                                               if k.arg in _SEGMENT_KEYWORDS))
                         for name in ast.walk(value) if isinstance(name, ast.Name)]
        else:
            continue
        for value in positions:
            if isinstance(value, ast.Name) and value.id in names:
                found.setdefault(value.id, f"the positions {callee}() takes")
    return found


# -- the arguments a class is built with --------------------------------------------------------------------------
def constructor_call(tree: ast.Module, name: str, path: str | None) -> dict | None:
    """The arguments of a call ``name(...)`` whose every argument is a literal, or a name the code around the call
    binds once, to a literal (``lower, upper = -2.0, 5.0`` then ``AffineTransform(lower, upper)``): the first such
    call in the class's own module (in the order of the source), else in the rest of the project, tests included
    (``project.ProjectModules.callers_with_tests``).  A call inside ``with pytest.raises(...)`` is left out: it
    passes what the class refuses.  ``{"args", "kwargs", "text", "line"}``, and ``"path"`` (as reports show paths:
    from the working folder when it is inside it) for a call in another file; None when there is none."""
    found = _first_literal_call(tree, sorted((node for node in ast.walk(tree) if isinstance(node, ast.Call)
                                              and isinstance(node.func, ast.Name) and node.func.id == name),
                                             key=lambda call: (call.lineno, call.col_offset)), name)
    if found is not None or path is None:
        return found
    try:
        from ..project import ProjectModules, parsed

        sites = ProjectModules(path).callers_with_tests(name) or []
    except Exception:  # the project's search is advice: without it the class is built from its defaults
        return None
    for site in sorted(sites, key=lambda site: (site.path, site.call.lineno, site.call.col_offset)):
        other = parsed(site.path)
        if other is None:
            continue
        found = _first_literal_call(other, [site.call], name)
        if found is not None:
            shown = os.path.relpath(site.path)
            found["path"] = site.path if shown.startswith(os.pardir) else shown
            return found
    return None


def _first_literal_call(tree: ast.Module, calls, name: str) -> dict | None:
    parents: dict[ast.AST, ast.AST] | None = None
    for call in calls:
        if any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args):
            continue
        if not (call.args or call.keywords):
            continue
        if parents is None:
            parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        if _expects_an_error(call, parents):
            continue
        scope = _scope_of(call, parents, tree)
        try:
            args = [_literal_value(a, scope) for a in call.args]
            kwargs = {k.arg: _literal_value(k.value, scope) for k in call.keywords}
            json.dumps([args, kwargs])
        except (ValueError, TypeError):
            continue
        shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        return {"args": args, "kwargs": kwargs, "text": f"{name}({shown})", "line": call.lineno}
    return None


def _expects_an_error(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether ``node`` runs inside ``with pytest.raises(...)`` (or ``raises``, ``assertRaises``...)."""
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                expression = item.context_expr
                callee = expression.func if isinstance(expression, ast.Call) else None
                named = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
                if named in ("raises", "assertRaises", "assertRaisesRegex"):
                    return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return False
    return False


def _scope_of(node: ast.AST, parents: dict[ast.AST, ast.AST], tree: ast.Module) -> ast.AST:
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    return tree


def _literal_value(node: ast.expr, scope: ast.AST):
    """``node`` as a Python literal: a literal, or a name ``scope`` binds exactly once, by a plain assignment of a
    literal (an element of a tuple of literals, for ``a, b = 1.0, 2.0``); ValueError otherwise."""
    if not isinstance(node, ast.Name):
        return ast.literal_eval(node)
    bindings = [binding for binding in _bindings(scope, node.id)]
    if len(bindings) != 1 or bindings[0] is None:
        raise ValueError(f"{node.id} is not bound once to a literal")
    return ast.literal_eval(bindings[0])


def _bindings(scope: ast.AST, name: str):
    """The values ``scope`` (not its nested functions and classes) binds ``name`` to: the assigned expression for
    ``name = value`` and ``..., name, ... = (..., value, ...)``, None for any other binding (a parameter, a loop,
    an augmented assignment, an unpacking of something else, an import...)."""
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        arguments = scope.args
        every = (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg)
        if any(argument is not None and argument.arg == name for argument in every):
            yield None
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            if getattr(node, "name", None) == name:
                yield None
            continue  # a scope of its own
        stack.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Assign):
            for target in node.targets:
                yield from _assigned(target, node.value, name)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            yield from _assigned(node.target, node.value, name)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.target)):
                yield None
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            if any(isinstance(n, ast.Name) and n.id == name
                   for item in node.items if item.optional_vars is not None for n in ast.walk(item.optional_vars)):
                yield None
        elif isinstance(node, ast.ExceptHandler) and node.name == name:
            yield None
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((alias.asname or alias.name.split(".")[0]) == name for alias in node.names):
                yield None
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            yield None


def _assigned(target: ast.expr, value: ast.expr, name: str):
    if isinstance(target, ast.Name):
        if target.id == name:
            yield value
        return
    if not any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target)):
        return
    if (isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))
            and len(target.elts) == len(value.elts)
            and not any(isinstance(e, ast.Starred) for e in (*target.elts, *value.elts))):
        for element, part in zip(target.elts, value.elts):
            yield from _assigned(element, part, name)
        return
    yield None  # unpacked from something else, or an attribute or subscript holds it
