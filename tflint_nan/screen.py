"""Decide, cheaply, which code can hold a finding.

LibCST's parse and its qualified-name and position metadata cost tens of microseconds per byte; the checks here
cost a fraction of that.  Each over-approximates the analysis in ``analysis.py``: it lets through everything that
could produce a finding, so skipping what it rejects never loses one (``tests/test_focus.py`` compares the focused
path with the exhaustive one; ``benchmarks/run.py`` does so on TensorFlow's and Keras's own sources).

1. ``might_have_findings`` (bytes): the name of a sink or of an op a sink meets (``SINK_NAMES``: ``where``,
   ``switch``, ``minimum``, ``cast``, ``exp``, ``sqrt``...) as an attribute or an imported name, and a way for a
   name to resolve into TensorFlow or Keras: an import of a module that holds one, or a binding of a name such as
   ``keras``.  A file that passes is checked again without its comments and strings (a docstring's example
   ``import tensorflow as tf`` does not count).  A sink that is an operator has no name: a file that imports
   TensorFlow or Keras passes too when its code holds a power that may be a root of a square (``(d * d) ** 0.5``),
   or, for ``--strict``, any division or power that is no natural number (``_holds_operator_sink``).  And every
   candidate but a norm reaches a risky op, a division or a power: a file whose code holds none of those, no
   library alias and no import from a module of the project (either may stand for a risky op under another name)
   is out (``_may_reach_a_risky_op``).
2. ``plan`` (CPython's syntax tree, which ``lint.check_syntax`` builds anyway): a call that may resolve to a
   select (imports and ``K = tf.keras.backend`` aliases followed) with three arguments, one of which reaches a
   risky op, a division or a power, directly or through any assignment to a name it reads; or one of the other
   sinks whose input reaches what it can meet (``_Screen._is_candidate``).  Without ``--strict``, a sink in a
   function that is never differentiated (a metric's update, an optimizer's step, a schedule: what
   ``gradients.ModuleFacts`` says from the same tree) is none: the analysis's ``_open_sink`` checks nothing there,
   so nothing there can be shown.
   Top-level functions and classes, and methods, without such a call are left out of the LibCST analysis
   (``focus.py``) when leaving them out cannot change what the analysis sees of the rest: the names they bind at
   module level and the aliases they record.
"""

from __future__ import annotations

import ast
import codecs
import io
import math
import re
import tokenize
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Iterator

from . import knowledge
from .project import FOREIGN_ROOTS
from .syntax import NODE_FIELDS, child_nodes, node_fields

SELECT_NAMES = frozenset(name for api in knowledge.SELECTS for name in api.names)
RISKY_NAMES = frozenset(name for op in knowledge.RISKY_OPS for name in op.names)
# The other zero-gradient sinks: clamps, masks (a product with a cast condition) and saturating ops.
CLAMP_NAMES = frozenset(name for sink in knowledge.CLAMP_SINKS for name in sink.names) | frozenset(
    knowledge.BOOLEAN_MASKS)
MULTIPLY_NAMES = knowledge.MULTIPLY | knowledge.NO_NAN_PRODUCTS
CLAMP_OR_MASK_NAMES = CLAMP_NAMES | MULTIPLY_NAMES
SATURATING_NAMES = frozenset(name for op in knowledge.SATURATING_OPS for name in op.names)
CAST_NAMES = knowledge.CASTS
# What a mask factor is made from (a label or a mask parameter is a name: ``_reaches``).
MASK_NAMES = CAST_NAMES | knowledge.ONE_HOT | knowledge.SEQUENCE_MASKS
PRODUCER_NAMES = frozenset(name for op in knowledge.RISKY_OPS if op.key in knowledge.SATURATION_PRODUCERS
                           for name in op.names)
# Roots that meet a value 0 where its derivative is 0 (a sum of squares, an abs, an exp that underflows), and norms.
ROOT_NAMES = frozenset(name for op in knowledge.RISKY_OPS if op.key in knowledge.ROOT_OPS | {"power_exponent"}
                       for name in op.names)
# ``tf.pow(x, 0.5)``: a root only for an exponent between 0 and 1 (the analysis's ``_check_root``).
POWER_NAMES = frozenset(name for op in knowledge.RISKY_OPS if op.key == "power_exponent" for name in op.names)
ROOT_FUNCTION_NAMES = ROOT_NAMES - POWER_NAMES
ZERO_FLAT_NAMES = frozenset(knowledge.ZERO_FLAT_OPS)
NORM_NAMES = knowledge.NORMS
# A log of a probability computed by hand (``tf.math.log(tf.nn.softmax(z))``): the log is the sink's call here.
LOG_NAMES = frozenset(name for op in knowledge.RISKY_OPS if op.key == "log" for name in op.names)
PROBABILITY_NAMES = frozenset(name for op in knowledge.PROBABILITY_OPS for name in op.names)
# What a root's input may be 0 through, where its own derivative is 0: a square, an abs, an exp that underflows, or
# one minus a probability that rounds to 1 (``analysis._zero_flat``).
ROOT_BASE_NAMES = ZERO_FLAT_NAMES | PROBABILITY_NAMES
# A gather of a risky op's value (``tf.gather(tf.math.log(p), i)``), a maximum, a segment reduction or an overwrite of
# one; a slice of one is a subscript, which has no name.
INDEX_NAMES = frozenset(knowledge.INDEX_SELECTIONS) | frozenset(knowledge.VALUE_PICKS) | frozenset(
    knowledge.DROPPING_SEGMENT_REDUCTIONS) | frozenset(knowledge.POSITION_OVERWRITES)
# What an index's value may reach a risky op through, element by element (``rewrite.Rewriter.reaches_elementwise``).
ELEMENTWISE_NAMES = frozenset(knowledge.ELEMENTWISE) | SELECT_NAMES
# Every function whose call can start a finding: the byte screen looks for these names (a division, the one sink
# that is an operator, meets an exp or log, whose names are among these; ``x ** 0.5`` meets a square or an abs).
# (A label that masks an op, ``y_true * tf.math.log(y_pred)``, is a sink the bytes show only by the op it masks: every
# risky op's name counts too.)
SINK_NAMES = (SELECT_NAMES | CLAMP_OR_MASK_NAMES | SATURATING_NAMES | CAST_NAMES | PRODUCER_NAMES | ROOT_NAMES
              | NORM_NAMES | ZERO_FLAT_NAMES | RISKY_NAMES | knowledge.ONE_HOT | INDEX_NAMES)
# Qualified names start with a module a file imports (or a name it binds): these are the ones that matter.
LIBRARY_HEADS = frozenset(name.split(".")[0] for name in SINK_NAMES | RISKY_NAMES)
# Every dotted prefix of a select or risky op: what an alias (``K = tf.keras.backend``) must resolve to, to matter.
LIBRARY_PREFIXES = frozenset(
    ".".join(parts[:end]) for name in SINK_NAMES | RISKY_NAMES for parts in [name.split(".")]
    for end in range(1, len(parts) + 1)
)
# The modules that hold a sink, and their parents: ``from tensorflow.compat import v1`` can reach one.
SELECT_MODULES = frozenset(
    ".".join(name.split(".")[:end]) for name in SINK_NAMES for end in range(1, name.count(".") + 1)
)

# -- 1. bytes ---------------------------------------------------------------------------------------------------------


def _alternatives(words: Iterable[str]) -> bytes:
    """An alternation of ``words`` factored by common prefixes (``c(?:ast|lip(?:_by_value)?)``): the regular
    expression engine tries one branch per position instead of each word in turn."""
    return _prefix_tree({word.encode() for word in words})


def _prefix_tree(suffixes: set[bytes]) -> bytes:
    groups: dict[bytes, set[bytes]] = {}
    for suffix in suffixes:
        if suffix:
            groups.setdefault(suffix[:1], set()).add(suffix[1:])
    branches = [re.escape(first) + _prefix_tree(rest) for first, rest in sorted(groups.items())]
    if not branches:
        return b""
    if b"" in suffixes:
        return b"(?:" + b"|".join(branches) + b")?"
    return branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"


_SELECT_WORDS = frozenset(name.rsplit(".", 1)[1] for name in SINK_NAMES)
# A file that names none of these names no library (``tf_keras`` holds ``keras``: the shortest suffice).
_HEAD_BYTES = tuple(sorted({head.encode() for head in LIBRARY_HEADS
                            if not any(other != head and other in head for other in LIBRARY_HEADS)}))
_COMMENT = rb"#[^\r\n]*(?![^\r\n])"  # a whole comment, to the end of its line (no backtracking inside it)
_HEADS = _alternatives(LIBRARY_HEADS)
# ``from tensorflow.compat import v1``: the module path, to compare with the modules that hold a select.
# (Nothing is required before ``from`` and ``import``: a notebook's JSON, which the notebook reader screens before
# decoding it, puts ``\n`` right before them.)
_FROM_LIBRARY = re.compile(rb"from[\s\\]+((?:" + _HEADS + rb")\b(?:[\s\\]*\.[\s\\]*\w+)*)[\s\\]+import\b")
# ``import os, tensorflow as tf`` (one logical line).
_IMPORT_LIBRARY = re.compile(rb"import\b(?:\\\r?\n|\\\r|[^\r\n#;\\])*?\b(?:" + _HEADS + rb")\b")
# A name such as ``keras`` that may be bound in the file (``keras = LazyLoader(...)``, ``for keras in``,
# ``def f(keras):``, ``case keras:``...): an occurrence not right after a character no binding target comes after,
# and followed by one that can follow a binding target (prose such as "a keras model" is not).
# (Each name is matched first and the character before it checked after: a pattern that starts with a lookbehind
# is tried at every position of the file.  One pattern per name: one that starts with a literal is searched for
# that literal; one that starts with an alternation is tried at every byte that can start a branch.)
_NOT_BEFORE_BINDING = rb"[\w.\-/+%@<>&^~#\"'`$?!\\]"
_LIBRARY_BINDINGS = tuple(
    re.compile(re.escape(head.encode()) + rb"(?<!" + _NOT_BEFORE_BINDING + re.escape(head.encode()) + rb")\b"
               rb"(?=[ \t\f]*(?:[=:,()\[\]{};|#\\\r\n]|(?:[-+*/%&^@]|//|\*\*|<<|>>)=|\Z|(?:in|if|as)\b))")
    for head in sorted(LIBRARY_HEADS)
)


def _may_bind_a_library_name(data: bytes) -> bool:
    """Whether ``keras``, ``tensorflow`` or ``tf_keras`` may be bound somewhere in ``data``."""
    return any(binding.search(data) is not None for binding in _LIBRARY_BINDINGS)


_WHITESPACE = re.compile(rb"[\s\\]+")

# What a name can stand for, read from the bytes: the precise check on the files the checks above let through.
# (Each pattern starts with a literal, which the regular expression engine finds fast; what must not come before
# it is checked by a lookbehind after it.)
_SPACE = rb"[ \t\f]"
_CONTINUED = rb"(?:[ \t\f]|\\\r?\n|\\\r)"  # whitespace within one logical line
_NOT_AFTER_NAME = rb"[\w.\x80-\xff]"
_CLASS = re.compile(rb"class(?<!" + _NOT_AFTER_NAME + rb"class)" + _CONTINUED + rb"+([A-Za-z_]\w*)")
_ASSIGNMENT_AFTER_NAME = re.compile(_CONTINUED + rb"*=(?!=)")
_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_." + bytes(range(0x80, 0x100)))
# A name bound in a class body has the qualified name ``Class.name``: only an alias named like the class (or like
# ``builtins``) can turn that into a select, and only when the name is a component of one (``compat``, ``ops``).
_SELECT_COMPONENTS = frozenset(part.encode() for name in SINK_NAMES for part in name.split(".")[1:])
# ``from m.n import a, b as c`` / ``from m import (a,  # comment\n b)``: the module and the names list.
_FROM_IMPORT = re.compile(
    rb"from(?<!" + _NOT_AFTER_NAME + rb"from)[\s\\]+(\.*[\s\\]*(?:[A-Za-z_]\w*(?:[\s\\]*\.[\s\\]*[A-Za-z_]\w*)*)?)"
    rb"[\s\\]+import" + _CONTINUED + rb"*(\((?:[^)#]|#[^\r\n]*)*\)|(?:[^\r\n#;\\]|\\\r?\n|\\\r)*)"
)
# ``import a.b as c, d`` (the rest of the logical line).
_IMPORT = re.compile(rb"import(?<!" + _NOT_AFTER_NAME + rb"import)" + _CONTINUED +
                     rb"+((?:[^\r\n#;\\]|\\\r?\n|\\\r)*)")
# The dotted name right before the ``.where`` of an attribute chain, when it is plain (``self.ops.where``).
_CHAIN_BEFORE = re.compile(rb"(?<!" + _NOT_AFTER_NAME + rb")([A-Za-z_]\w*)(?:" + _SPACE + rb"*\." + _SPACE +
                           rb"*[A-Za-z_]\w*)*" + _SPACE + rb"*\Z")
_LIST_NOISE = re.compile(rb"#[^\r\n]*|[()\\]")
_CHAIN_WINDOW = 256


@dataclass(frozen=True)
class _Vocabulary:
    """The select names the byte screen looks for, the modules that hold them, and the names of the risky ops."""

    words: frozenset[str]
    modules: frozenset[str]
    components: frozenset[bytes]
    risky_words: frozenset[str] = frozenset()

    @cached_property
    def attribute(self) -> re.Pattern:
        return re.compile(rb"\.(?:[\s\\]|" + _COMMENT + rb")*(?:" + _alternatives(self.words) + rb")\b")

    @cached_property
    def imported(self) -> re.Pattern:
        return re.compile(rb"from\b[^\r\n#;]*?\bimport\b(?:[^#;=.'\"\[\]{}]|" + _COMMENT + rb")*?"
                          rb"\b(?:" + _alternatives(self.words) + rb")\b")

    @cached_property
    def risky(self) -> re.Pattern:
        """A risky op's or a norm's name as an attribute (``tf.exp``, ``= tf.exp``: an alias of one)."""
        return re.compile(rb"\.[\s\\]*(?:" + _alternatives(self.risky_words) + rb")\b")


_INTERNAL_SELECTS = frozenset(internal for internal, public in knowledge.INTERNAL_SPELLINGS.items()
                              if knowledge.select_api(public) is not None)
_RISKY_OR_NORM = RISKY_NAMES | NORM_NAMES
_PUBLIC = _Vocabulary(_SELECT_WORDS, SELECT_MODULES, _SELECT_COMPONENTS,
                      frozenset(name.rsplit(".", 1)[1] for name in _RISKY_OR_NORM))
# With the ``internal-modules`` setting: ``array_ops.where_v2`` after ``from tensorflow.python.ops import array_ops``.
_WITH_INTERNAL = _Vocabulary(
    _SELECT_WORDS | {name.rsplit(".", 1)[1] for name in _INTERNAL_SELECTS},
    SELECT_MODULES | {".".join(name.split(".")[:end])
                      for name in _INTERNAL_SELECTS for end in range(1, name.count(".") + 1)},
    _SELECT_COMPONENTS | {part.encode() for name in _INTERNAL_SELECTS for part in name.split(".")[1:]},
    _PUBLIC.risky_words | {internal.rsplit(".", 1)[1] for internal, public in knowledge.INTERNAL_SPELLINGS.items()
                           if public in _RISKY_OR_NORM},
)


def might_have_findings(data: bytes, internal_modules: bool = False, strict: bool = False) -> bool:
    """False only when no select call in ``data`` (a Python file's bytes) can resolve to TensorFlow or Keras, and no
    sink that is an operator can hold a finding (``_holds_operator_sink``; ``strict``: findings only ``--strict``
    shows count) (``internal_modules``: TensorFlow's internal modules count,
    ``tensorflow.python.ops.array_ops.where``)."""
    vocabulary = _WITH_INTERNAL if internal_modules else _PUBLIC
    data = _as_utf8(data)
    named = _may_name_a_library_select(data, vocabulary)
    if named is False or named is None and not (_holds_operator_sink(data, strict) and _imports_a_library(data)):
        return False
    if data.lstrip()[:1] == b"{":
        return True  # a notebook's JSON: its escapes (``\nfrom``) hide where statements and strings start
    # The rest reads the code alone: library modules show ``>>> import tensorflow as tf`` and ``tf.where(...)`` in
    # their docstrings.  (Only files that passed the cheaper checks above are read this way: most fail them.)
    code = code_without_strings_and_comments(data)
    if code is None:
        code = data
    else:
        named = _may_name_a_library_select(code, vocabulary)
        if named is False:
            return False
    if not _may_reach_a_risky_op(code, vocabulary):
        return False
    if named is True and _select_may_resolve_into_library(code, vocabulary):
        return True
    return _holds_operator_sink(code, strict) and _imports_a_library(code)


# -- what every candidate needs but a norm ------------------------------------------------------------------------
# Each candidate of ``_Screen._is_candidate`` reaches a risky op (a call), a division or a power that is no natural
# number; a norm is one by its name.  Without one of those names in the file, a call can stand for a risky op only
# through a library alias (``K = tf.keras.backend``: to the plan, ``K.anything`` may be any op) or a name imported
# from a module of the project (which may re-export one under a name of its own).  So a file whose code (no strings,
# no comments) holds none of these can hold no candidate: ``plan`` would say None after parsing it.
def _may_reach_a_risky_op(code: bytes, vocabulary: _Vocabulary) -> bool:
    return (_holds_operator_sink(code, strict=True) or _names_a_risky_op(code, vocabulary)
            or _imports_a_possible_project_module(code) or _may_assign_a_library_alias(code, vocabulary))


def _names_a_risky_op(code: bytes, vocabulary: _Vocabulary) -> bool:
    """A risky op's or a norm's name as an attribute or an imported name (a bare name stands for one only when an
    import binds it: ``from tensorflow.math import exp``)."""
    return vocabulary.risky.search(code) is not None or any(
        original.rsplit(b".", 1)[-1].decode("ascii", "replace") in vocabulary.risky_words
        for match in _FROM_IMPORT.finditer(code) for original, _ in _imported_names(match.group(2)))


def _imports_a_possible_project_module(code: bytes) -> bool:
    """An import from a module that may be the project's own (``_may_be_project_module``)."""
    lists = set()
    for match in _FROM_IMPORT.finditer(code):
        if _may_be_project_module(_WHITESPACE.sub(b"", match.group(1))):
            return True
        lists.add(match.start(2))
    return any(_may_be_project_module(original) for match in _IMPORT.finditer(code)
               if match.start(1) not in lists  # (the ``import`` of ``from m import a``)
               for original, _ in _imported_names(match.group(1)))


# An assignment whose value is a dotted name alone, perhaps in parentheses over several lines (``K =
# tf.keras.backend``): what ``_Facts`` records as an alias.  (The root is group 1.)
_ALIAS_SHAPED = re.compile(rb"=(?<![=!<>+\-*/%&|^@:]=)(?!=)[ \t]*(?:\\\r?\n[ \t]*)*\(?[\s\\]*([A-Za-z_]\w*)"
                           rb"(?:[\s\\]*\.[\s\\]*[A-Za-z_]\w*)*[\s\\]*\)?[ \t]*(?=[;\r\n]|\Z)")


def _may_assign_a_library_alias(code: bytes, vocabulary: _Vocabulary) -> bool:
    """Whether an assignment may make a library alias: a dotted name alone whose root is a library's name or a name
    imported from a library's module, or an attribute after a call or a subscript that ends with a component of a
    library's module (``= tf.compat.v1(...).keras``: the plan follows such a chain through the call)."""
    for match in _MODULE_ATTRIBUTE_ENDING.finditer(code):
        before = match.start() - 1
        while before >= 0 and code[before] in _SPACE_CHARACTERS:
            before -= 1
        if before >= 0 and code[before] in b")]":
            return True
    roots = {head.encode() for head in LIBRARY_HEADS}
    for match in _FROM_IMPORT.finditer(code):
        roots.update(bound for _, bound in _imported_names(match.group(2)))
    for match in _IMPORT.finditer(code):
        roots.update(bound for _, bound in _imported_names(match.group(1)))
    return any(match.group(1) in roots for match in _ALIAS_SHAPED.finditer(code))


_LIBRARY_COMPONENTS = frozenset(part for name in LIBRARY_PREFIXES for part in name.split("."))
# A statement that ends with an attribute naming a component of a library's module (``... .backend``).
_MODULE_ATTRIBUTE_ENDING = re.compile(rb"\.[\s\\]*(?:" + _alternatives(_LIBRARY_COMPONENTS)
                                      + rb")\b[ \t)]*(?=[;\r\n]|\Z)")


def _may_name_a_library_select(data: bytes, vocabulary: _Vocabulary) -> bool | None:
    """True: a select word as an attribute or an imported name, and a way for a name to resolve into TensorFlow or
    Keras; None: no select word, but a library's name (a sink that is an operator may still hold a finding:
    ``_holds_operator_sink``); False: neither."""
    # (The two patterns below each require a select word, so no separate search for the words comes first.)
    if not any(head in data for head in _HEAD_BYTES):
        return False
    if vocabulary.attribute.search(data) is None and vocabulary.imported.search(data) is None:
        return None
    return (any(_WHITESPACE.sub(b"", match.group(1)).decode("ascii") in vocabulary.modules
                for match in _FROM_LIBRARY.finditer(data))
            or _IMPORT_LIBRARY.search(data) is not None or _may_bind_a_library_name(data)) or None


_POWER = re.compile(rb"\*\*")
# What an operand ends with: a name, a number (``2.``), a closing bracket, a string (blanked to ``""``).
_OPERAND_END = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.)]}\"'"
                         + bytes(range(0x80, 0x100)))
# A literal exponent, signed, perhaps in parentheses (``x ** 2``, ``x ** (-1)``), and the bytes after it.
_LITERAL_EXPONENT = re.compile(rb"[ \t]*(\(?)[ \t]*([-+]?)[ \t]*((?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][-+]?\d+)?)"
                               rb"[ \t]*")


def _holds_operator_sink(code: bytes, strict: bool) -> bool:
    """Whether ``code`` holds a sink no name shows: a power that may be a root (``(d * d) ** 0.5`` meets a square
    at 0, ``analysis._check_root``); with ``strict``, also a division or a power that is no natural number, whose
    slice is an index sink (``(a / b)[:, 0]``: the analysis gives those medium confidence at most, so only
    ``--strict`` shows them)."""
    if strict:
        at = code.find(b"/")
        while at >= 0:
            if code[at + 1:at + 2] != b"/":
                return True
            at = code.find(b"/", at + 2)
    root = square = False
    for exponent in _power_exponents(code):
        if strict and (exponent is None or not _is_natural(exponent)):
            return True
        if exponent is None or 0 < exponent < 1:
            root = True  # (``_is_root_exponent``: an exponent that is no number may be a root)
        elif exponent > 1:
            square = True
    # A root meets 0 where its base's derivative is 0 through a square (``_scan`` with ``products``: a power above 1,
    # a product of an operand with itself) or a call that names its base (abs, exp, one minus a softmax: not all of
    # those names are the byte screen's words).
    return root and (square or _holds_self_product(code) or _ROOT_BASE_ATTRIBUTE.search(code) is not None or any(
        original.rsplit(b".", 1)[-1] in _ROOT_BASE_WORDS
        for match in _FROM_IMPORT.finditer(code) for original, _ in _imported_names(match.group(2))))


# A call that names a root's base, as an attribute or an imported name (a bare ``abs`` is Python's own).
_ROOT_BASE_WORDS = frozenset(name.rsplit(".", 1)[-1].encode() for name in ROOT_BASE_NAMES)
_ROOT_BASE_ATTRIBUTE = re.compile(rb"\.[\s\\]*(?:" + _alternatives({word.decode() for word in _ROOT_BASE_WORDS})
                                  + rb")\b")


def _is_natural(number: float) -> bool:
    """``_is_natural_number`` of a literal's value (``1e400`` is inf: no natural number)."""
    return math.isfinite(number) and number >= 0 and number == int(number)


def _power_exponents(code: bytes) -> Iterator[float | None]:
    """The exponent of each power in ``code`` (``_literal_exponent``), not counting unpackings (``f(**kwargs)``)."""
    for match in _POWER.finditer(code):
        before = match.start() - 1
        while before >= 0 and code[before] in _SPACE_CHARACTERS:
            before -= 1
        if before >= 0 and code[before] in _OPERAND_END:
            yield _literal_exponent(code, match.end())


def _holds_self_product(code: bytes) -> bool:
    """Whether ``code`` may multiply an operand by itself (``d * d``, ``(a - b) * (a - b)``, ``f(x)[0] * f(x)[0]``):
    a product whose operands read the same, as far as the text shows, once spaces, brackets, signs and numbers are
    set aside (two operands whose syntax trees are equal always do: ``_scan`` compares those)."""
    at = code.find(b"*")
    while at >= 0:
        if code[at + 1:at + 2] in (b"*", b"=") or code[at - 1:at] == b"*":
            at = code.find(b"*", at + 2)
            continue
        left = _operand_before(code, at)
        if left and left == _operand_after(code, at + 1):
            return True
        at = code.find(b"*", at + 1)
    return False


_OPENING = {b")"[0]: b"("[0], b"]"[0]: b"["[0]}
_CLOSING = {b"("[0]: b")"[0], b"["[0]: b"]"[0]}
# Between an operator and its operand: spaces and line continuations.
_SPACE_CHARACTERS = frozenset(b" \t\r\n\\")
# What operands are compared without: spaces, line continuations, parentheses and signs; every number reads ``0``.
_NOT_COMPARED = re.compile(rb"[\s\\()+\-~]+")
_NUMBER = re.compile(rb"(?<![\w.])\.?\d[\w.]*")


def _operand_before(code: bytes, end: int) -> bytes:
    """The primary that ends right before ``end`` (a dotted name with calls and subscripts), as compared."""
    at = end - 1
    while at >= 0 and code[at] in _SPACE_CHARACTERS:
        at -= 1
    stop = at + 1
    while at >= 0:
        character = code[at]
        if character in _OPENING:
            at = _matching_bracket(code, at, -1)
            if at < 0:
                return b""
            at -= 1
        elif character in _NAME_BYTES:  # (bytes of UTF-8 sequences too: ``café``)
            at -= 1
        else:
            break
    return _compared(code[at + 1:stop])


def _operand_after(code: bytes, start: int) -> bytes:
    """The primary that starts after ``start`` (signs and spaces first), as compared."""
    at = start
    while at < len(code) and (code[at] in _SPACE_CHARACTERS or code[at] in b"+-~"):
        at += 1
    begin = at
    while at < len(code):
        character = code[at]
        if character in _CLOSING:
            at = _matching_bracket(code, at, 1)
            if at < 0:
                return b""
            at += 1
        elif character in _NAME_BYTES:  # (bytes of UTF-8 sequences too: ``café``)
            at += 1
        else:
            break
    return _compared(code[begin:at])


def _matching_bracket(code: bytes, at: int, step: int) -> int:
    """Where the bracket that matches the one at ``at`` is, looking back (``step`` -1: for the opening one) or
    forward; -1 where there is none."""
    bracket = code[at]
    other = (_OPENING if step < 0 else _CLOSING)[bracket]
    depth = 0
    while 0 <= at < len(code):
        if code[at] == bracket:
            depth += 1
        elif code[at] == other:
            depth -= 1
            if depth == 0:
                return at
        at += step
    return -1


def _compared(operand: bytes) -> bytes:
    return _NUMBER.sub(b"0", _NOT_COMPARED.sub(b"", operand))


def _literal_exponent(code: bytes, at: int) -> float | None:
    """The number a power's exponent is when it is one literal, signed (``** 2``, ``** -1``, ``** (0.5)``), read
    from the bytes after the operator; None when it is more (``** (1 / 2)``, ``** 2 ** x``, ``** gamma``)."""
    match = _LITERAL_EXPONENT.match(code, at)
    if match is None:
        return None
    parenthesized, sign, number = match.groups()
    following = code[match.end():match.end() + 2]
    if parenthesized:
        if following[:1] != b")":
            return None
    elif following[:1] in (b"(", b"[", b".") or following.startswith(b"**") or (following[:1].isalnum()):
        return None  # ``x ** 2 ** y`` (the exponent is ``2 ** y``), ``x ** 2j``
    try:
        value = float(number.replace(b"_", b""))
    except ValueError:
        return None
    return -value if sign == b"-" else value


def _imports_a_library(code: bytes) -> bool:
    """An import of TensorFlow or Keras (any module of theirs), or a binding of a name such as ``tf``."""
    return (_FROM_LIBRARY.search(code) is not None or _IMPORT_LIBRARY.search(code) is not None
            or _may_bind_a_library_name(code))


# Comments and string literals, in the order a tokenizer meets them: a quote inside a comment belongs to the comment,
# a ``#`` inside a string to the string.  One quoted with a single quote character ends at its line's end unless a
# backslash escapes it; a triple-quoted one ends at the first three quotes.  (Every branch starts with ``#`` or a
# quote, so the engine skips ahead to those bytes; a string's prefix is read from the bytes before it.  Inside a
# string, a run of ordinary bytes is taken at once, ``[^"]*``, rather than by one alternation per byte.)
_STRING_OR_COMMENT = re.compile(
    rb"#[^\r\n]*"
    rb"|\"\"\"[^\"]*(?:\"(?!\"\")[^\"]*)*\"\"\"|'''[^']*(?:'(?!'')[^']*)*'''"
    rb"|\"[^\"\\\r\n]*(?:\\[\s\S][^\"\\\r\n]*)*\"|'[^'\\\r\n]*(?:\\[\s\S][^'\\\r\n]*)*'"
)
_PREFIX_LETTERS = frozenset(b"rRbBuUfF")


class _Unreadable(Exception):
    pass


def code_without_strings_and_comments(data: bytes) -> bytes | None:
    """``data`` with every comment removed and every string literal but an f-string replaced by ``""``; None when
    the bytes cannot be read plainly.  No select call can be inside what is removed, so the byte checks on what is
    left decide as they would on the whole file.  An f-string stays: its replacement fields are code.  One whose
    braces do not balance may hold quotes of its own kind inside them (Python 3.12), where this reading loses track
    of where strings end: then None."""

    def blank(match: re.Match) -> bytes:
        text = match.group(0)
        if text[:1] == b"#":
            return b""
        start = prefix = match.start()
        while prefix > max(start - 2, 0) and data[prefix - 1] in _PREFIX_LETTERS:
            prefix -= 1  # the letters right before the quote: ``rb``, ``f``
        # (A keyword may end in a prefix letter, ``if"a"``: then the string is kept as code, which costs nothing.)
        if b"f" in data[prefix:start] or b"F" in data[prefix:start]:
            if not _fields_balance(text):
                raise _Unreadable
            return text
        return b'""'

    try:
        return _STRING_OR_COMMENT.sub(blank, data)
    except _Unreadable:
        return None


def _fields_balance(literal: bytes) -> bool:
    """Whether an f-string's replacement fields open and close in turn (``{{`` and ``}}`` outside a field are
    literal braces; inside one, ``{x:>{width}}`` nests)."""
    depth = index = 0
    while True:
        index = min((found for found in (literal.find(b"{", index), literal.find(b"}", index)) if found >= 0),
                    default=-1)
        if index < 0:
            return depth == 0
        brace = literal[index:index + 1]
        if depth == 0 and literal[index + 1:index + 2] == brace:
            index += 2  # a literal brace
            continue
        depth += 1 if brace == b"{" else -1
        if depth < 0:
            return False
        index += 1


def _select_may_resolve_into_library(data: bytes, vocabulary: _Vocabulary = _PUBLIC) -> bool:
    """Whether a select name is imported from TensorFlow or Keras, or is an attribute of a name that may stand
    for one of their modules: ``tf`` after ``import tensorflow as tf``, ``ops`` after ``from keras import ops``,
    ``keras`` itself, or any name assigned somewhere (an alias); ``jnp.where`` after ``import jax.numpy as jnp``
    is not.  Whatever cannot be read plainly (a call before the dot, a comment inside the chain) counts as may."""
    assigned = _Assignments(data)
    capable = {head.encode() for head in LIBRARY_HEADS}
    for match in _FROM_IMPORT.finditer(data):
        module = _WHITESPACE.sub(b"", match.group(1))  # relative (``from . import x``): never a library's name
        library = module.decode("ascii") in vocabulary.modules or (
            not module.startswith(b".") and assigned(module.split(b".")[0]))
        for original, bound in _imported_names(match.group(2)) if library else ():
            if original.decode("ascii", "replace") in vocabulary.words:
                return True
            capable.add(bound)
        if not library and _may_be_project_module(module):
            # a module of the project may re-export TensorFlow (``project.py`` follows it in the next step)
            capable.update(bound for _, bound in _imported_names(match.group(2)))
    for match in _IMPORT.finditer(data):
        for original, bound in _imported_names(match.group(1)):
            if bound != original.split(b".")[0] and (
                    original.decode("ascii", "replace") in vocabulary.modules or assigned(original.split(b".")[0])
                    or _may_be_project_module(original)):
                capable.add(bound)
    for match in vocabulary.attribute.finditer(data):
        start = max(0, match.start() - _CHAIN_WINDOW)
        chain = _CHAIN_BEFORE.search(data, start, match.start())
        if chain is None or (chain.start() == start and start > 0):
            return True
        root = chain.group(1)
        if root in capable or assigned(root):
            return True
        if root in vocabulary.components and (
                assigned(b"builtins") or any(assigned(name) for name in set(_CLASS.findall(data)))):
            return True
    return False


def _may_be_project_module(module: bytes) -> bool:
    """Whether an imported module may be one of the project's own (anything but the standard library and the
    libraries that are never TensorFlow); relative imports are the project's."""
    head = module.lstrip(b".").split(b".")[0].decode("ascii", "replace")
    return module.startswith(b".") or (bool(head) and head not in FOREIGN_ROOTS and head not in LIBRARY_HEADS)


class _Assignments:
    """Whether a name is assigned anywhere (``name =``, keyword arguments too): it may then be an alias."""

    def __init__(self, data: bytes):
        self.data = data
        self._known: dict[bytes, bool] = {}

    def __call__(self, name: bytes) -> bool:
        if not name:
            return False
        known = self._known.get(name)
        if known is None:
            known = self._known[name] = self._find(name)
        return known

    def _find(self, name: bytes) -> bool:
        data = self.data
        position = data.find(name)
        while position >= 0:
            if (position == 0 or data[position - 1] not in _NAME_BYTES) and _ASSIGNMENT_AFTER_NAME.match(
                    data, position + len(name)):
                return True
            position = data.find(name, position + 1)
        return False


def _imported_names(names: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(imported name, name bound) for each item of an import list: ``a.b as c`` -> (a.b, c); ``a.b`` -> (a.b, a)."""
    for item in _LIST_NOISE.sub(b" ", names).split(b","):
        words = item.split()
        if len(words) == 3 and words[1] == b"as":
            yield _WHITESPACE.sub(b"", words[0]), words[2]
        elif words:
            original = b"".join(words)
            yield original, original.split(b".")[0]


def _as_utf8(data: bytes) -> bytes:
    """The source without a UTF-8 byte order mark, re-encoded as UTF-8 when its coding comment declares an encoding
    that does not spell ASCII as ASCII; else the bytes as they are (which is also what undecodable files are
    screened as)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):]
    if b"coding" not in data[:_second_line_end(data)]:
        return data
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        if encoding in ("utf-8", "utf-8-sig"):
            return data
        return data.decode(encoding).encode("utf-8", "surrogatepass")
    except (SyntaxError, UnicodeError, LookupError):
        return data


def _second_line_end(data: bytes) -> int:
    """Where a coding comment can be: the first two lines (``\r`` endings make that at most the whole file)."""
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1) if first >= 0 else -1
    return second + 1 if second >= 0 else len(data)


# -- 2. CPython's syntax tree ------------------------------------------------------------------------------------
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# What ``_Facts._walk`` does at a node besides walking into it, by its kind (a kind not listed: nothing).
_CALL, _SUBSCRIPT, _SCOPE, _BINDING = "call", "subscript", "scope", "binding"
_WALK_ACTIONS = {ast.Call: _CALL, ast.BinOp: _CALL, ast.Subscript: _SUBSCRIPT, ast.FunctionDef: _SCOPE,
                 ast.AsyncFunctionDef: _SCOPE, ast.ClassDef: _SCOPE, ast.Lambda: _SCOPE,
                 **dict.fromkeys((ast.Assign, ast.AnnAssign, ast.NamedExpr, ast.AugAssign, ast.For, ast.AsyncFor,
                                  ast.comprehension, ast.withitem, ast.Import, ast.ImportFrom, ast.Global), _BINDING)}
# A product with a cast condition masks; a division saturates at inf; ``x ** 0.5`` is a root.
_SINK_OPERATORS = (ast.Mult, ast.Div, ast.Pow)
# What a subscript that indexes a tensor's elements may index (``analysis._computes_tensor``): a call, an operator's
# result, or a variable holding one.
_COMPUTED = (ast.Call, ast.BinOp, ast.Name)
# Where the analysis stops following a branch (analysis.ModuleAnalyzer._risky_uses): lambdas and comprehensions
# run elsewhere, literals carry no gradient, attributes (x.shape) are no tensor op.
_OPAQUE = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Constant, ast.JoinedStr,
           ast.Attribute)


@dataclass
class Plan:
    """Which statements the LibCST analysis needs: indices into the module body, and per kept class, into its body."""

    kept: set[int]
    kept_methods: dict[int, set[int]]  # class statement index -> kept indices of its body; absent: all kept
    depth: int = 0  # the module's deepest nesting, for the nesting guard before LibCST (``lint.analyse``)


@dataclass(eq=False)
class _Scope:
    """A scope as the analysis keeps them (``analysis._Scope``): what is bound in it, and to which values."""

    kind: str  # "module", "function", "lambda", "class"
    parent: _Scope | None
    owner: ast.AST | None = None  # the function, lambda or class
    bound: set[str] = field(default_factory=set)
    values: dict[str, list[ast.expr]] = field(default_factory=dict)
    qualname: str = ""  # as the analysis names it (``f.<locals>.g``, ``C.m``; ``analysis.ModuleAnalyzer._qualname``)

    def enclosing_functions(self) -> Iterator[str]:
        """The qualified names of the functions this scope is in, itself first (lambdas have no name to ask
        about: the analysis gives them their function's reason)."""
        scope: _Scope | None = self
        while scope is not None:
            if type(scope.owner) in _FUNCTIONS:
                yield scope.qualname
            scope = scope.parent

    def bind(self, target: ast.expr, value: ast.expr | None) -> None:
        """``analysis.ModuleAnalyzer._bind_target``: a name gets the value, names inside tuples get none."""
        if isinstance(target, ast.Name):
            self.bound.add(target.id)
            if value is not None:
                self.values.setdefault(target.id, []).append(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind(element, None)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, None)

    def binding_scope(self, name: str) -> _Scope | None:
        """``analysis.ModuleAnalyzer.binding``: the innermost scope that binds ``name``; class bodies are not
        visible from inside their methods."""
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.bound and (scope.kind != "class" or scope is self):
                return scope
            scope = scope.parent
        return None


@dataclass(eq=False)
class _Unit:
    """A statement that may be left out: its calls and what visiting it would change for the rest."""

    node: ast.stmt
    calls: list[tuple[ast.expr, _Scope]] = field(default_factory=list)  # calls, products and divisions
    alias_keys: set[str] = field(default_factory=set)  # ``name = a.b`` / ``name = other`` inside it
    module_bindings: set[str] = field(default_factory=set)  # its own name, and names it declares global
    methods: list[_Unit] = field(default_factory=list)  # a class's methods (their calls are theirs alone)
    has_candidate: bool = False


class _Facts:
    """What the file binds, imports and calls, gathered in one walk of its syntax tree."""

    def __init__(self, tree: ast.Module, resolve=None, renames=None):
        self.resolve = resolve
        self.renames = renames  # whether ``resolve`` may give a name under this module another meaning (None: may)
        self._open_roots: dict[str, bool] = {}
        self.imports: dict[str, set[str]] = {}  # name -> qualified names its imports give it (LibCST's spelling)
        self.import_heads: set[str] = set()
        self.aliases: list[tuple[str, ast.expr]] = []  # what ``leave_Assign`` records with ``_record_alias``
        self.globals: set[str] = set()
        self.units: list[_Unit] = []
        self.depth = 0  # the deepest node's depth below the module
        module = _Scope("module", None)
        for statement in tree.body:
            unit = _Unit(statement)
            self.units.append(unit)
            self._walk(statement, module, unit)
        self.alias_keys = {name for name, _ in self.aliases}
        self.attribute_alias_roots = {root for _, value in self.aliases if isinstance(value, ast.Attribute)
                                      for root in [_chain(value)[0]] if root is not None}
        self._tree = tree
        self._resolved: dict[tuple, bool] = {}
        self._spellings: dict[int, tuple[str | None, str]] = {}  # id of a callee (the tree keeps it alive) -> root, rest
        self._kinds: dict[tuple[str | None, str], tuple[bool, ...]] = {}  # a spelling's ``sink_kinds``
        self.top_level_names = {statement.name for statement in tree.body if isinstance(statement, _SCOPES)}
        self.library_aliases: set[str] = set()
        self.locals_may_alias = False
        self._resolve_library_aliases()

    # Only a file with a candidate needs these (to decide what may be left out): most files have none.
    @cached_property
    def first_bindings(self) -> dict[str, int]:
        return _first_module_bindings(self._tree)

    @cached_property
    def module_names(self) -> set[str]:
        return set(self.first_bindings) | self.globals | self.import_heads | {"builtins"}

    def _walk(self, statement: ast.stmt, module: _Scope, top: _Unit) -> None:
        # The busiest loop of a cold run (every node of every file that passes the byte screen): names and constants,
        # a third of the nodes, are not pushed at all (only their own depth counts, as for the nesting guard), and
        # the node kinds that need nothing but their children pushed take one dictionary lookup.
        stack: list[tuple[ast.AST, _Scope, _Unit, int]] = [(statement, module, top, 1)]
        pop = stack.pop
        push = stack.append
        fields_of = NODE_FIELDS
        actions = _WALK_ACTIONS
        deepest = self.depth
        while stack:
            node, scope, unit, depth = pop()
            if depth > deepest:
                deepest = depth  # the nesting guard's measure (``lint.check_syntax``), in the same walk
            kind = type(node)
            action = actions.get(kind)
            if action is not None:
                if action is _CALL:
                    if kind is ast.Call or type(node.op) in _SINK_OPERATORS:
                        unit.calls.append((node, scope))
                elif action is _SUBSCRIPT:
                    if type(node.value) in _COMPUTED and type(node.ctx) is ast.Load:
                        unit.calls.append((node, scope))  # a slice of a computed value (``tf.sqrt(x)[:, 0]``) or a name
                elif action is _SCOPE:
                    scope, unit = self._enter(node, kind, scope, unit, module, top)
                else:
                    self._record(node, kind, scope, unit, top)
            fields, has_leaves = fields_of.get(kind) or node_fields(kind)
            if has_leaves and depth >= deepest:
                deepest = depth + 1
            depth += 1
            for name in fields:
                value = getattr(node, name)
                if type(value) is not list:
                    if value is None:
                        continue
                    value = (value,)
                for child in value:
                    child_kind = type(child)
                    if child_kind is ast.Name or child_kind is ast.Constant:
                        if depth > deepest:
                            deepest = depth
                    elif child is not None:
                        push((child, scope, unit, depth))
        self.depth = deepest

    def _enter(self, node: ast.AST, kind: type, scope: _Scope, unit: _Unit, module: _Scope,
               top: _Unit) -> tuple[_Scope, _Unit]:
        """A function, class or lambda: its name bound where it is defined, and the scope its body is walked in (a
        method of a top-level class is a unit of its own)."""
        if kind is not ast.Lambda:
            scope.bind(ast.Name(node.name), None)
            if unit is top and scope is module:
                unit.module_bindings.add(node.name)
            elif kind is not ast.ClassDef and scope.owner is top.node and type(top.node) is ast.ClassDef:
                unit = _Unit(node, module_bindings={node.name})  # a method of a top-level class
                top.methods.append(unit)
        name = "<lambda>" if kind is ast.Lambda else node.name
        qualname = name if scope.kind == "module" else (
            f"{scope.qualname}.<locals>.{name}" if scope.kind == "function" else f"{scope.qualname}.{name}")
        inner = _Scope("class" if kind is ast.ClassDef else "function", scope, node, qualname=qualname)
        if kind is not ast.ClassDef:
            arguments = node.args
            for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                             arguments.vararg, arguments.kwarg):
                if argument is not None:
                    inner.bound.add(argument.arg)
        return inner, unit

    def _record(self, node: ast.AST, kind: type, scope: _Scope, unit: _Unit, top: _Unit) -> None:
        """What a binding statement, an import or a ``global`` adds to the scope and the file's names."""
        if kind is ast.Assign:
            for target in node.targets:
                scope.bind(target, node.value)
                if type(target) is ast.Name and _is_alias_value(node.value):
                    unit.alias_keys.add(target.id)
                    self.aliases.append((target.id, node.value))
        elif kind is ast.AnnAssign or kind is ast.NamedExpr:
            scope.bind(node.target, node.value)
        elif kind is ast.AugAssign:
            scope.bind(node.target, None)
        elif kind is ast.For or kind is ast.AsyncFor or kind is ast.comprehension:
            scope.bind(node.target, None)
        elif kind is ast.withitem:
            if node.optional_vars is not None:
                scope.bind(node.optional_vars, None)
        elif kind is ast.Import:
            for alias in node.names:
                head = alias.name.split(".")[0]
                self.import_heads.add(head)
                self.imports.setdefault(alias.asname or head, set()).add(alias.name if alias.asname else head)
        elif kind is ast.ImportFrom:
            if node.level == 0 and node.module:
                self.import_heads.add(node.module.split(".")[0])
                module = node.module
            else:  # relative: LibCST spells ``from .. import g`` as ``..g``, which ``resolve`` follows in the project
                module = "." * node.level + (node.module or "")
            for alias in node.names:
                self.imports.setdefault(alias.asname or alias.name, set()).add(
                    f"{module}{'' if module.endswith('.') else '.'}{alias.name}")
        elif kind is ast.Global:
            unit.module_bindings.update(node.names)
            if unit is not top:
                top.module_bindings.update(node.names)
            self.globals.update(node.names)

    def _resolve_library_aliases(self) -> None:
        """Aliases whose value may resolve into TensorFlow or Keras (``K = tf.keras.backend``), to a fixpoint."""
        while True:
            found = {name for name, value in self.aliases
                     if name not in self.library_aliases and self.may_resolve(value, LIBRARY_PREFIXES)}
            if not found:
                return
            self.library_aliases |= found
            self._resolved.clear()  # answers given before these aliases were known
            self._kinds.clear()
            # A function or class named like such an alias: names local to it resolve through the alias too.
            self.locals_may_alias = bool(self.top_level_names & self.library_aliases) or (
                "builtins" in self.library_aliases)

    def may_resolve(self, expression: ast.expr, targets: frozenset[str]) -> bool:
        """Whether LibCST may give ``expression`` (a callee) a qualified name in ``targets``, after the analysis
        rewrites alias heads (``analysis.ModuleAnalyzer.qualified_names``)."""
        root, rest = self._spelling(expression)
        if root is None or self.locals_may_alias:
            return self.locals_may_alias
        # The same callee (``ops.cast``) recurs throughout a file; the answer depends only on its spelling.
        key = (root, rest, targets)
        known = self._resolved.get(key)
        if known is None:
            known = self._resolved[key] = self._may_resolve(root, rest, targets)
        return known

    def sink_kinds(self, callee: ast.expr) -> tuple[bool, ...]:
        """``may_resolve`` for each of ``_SINK_KINDS``, at once: most calls are none of them.  The answer depends
        only on the callee's spelling, and a file spells the same few callees (``tf.cast``) thousands of times."""
        if type(callee) is ast.Attribute and callee.attr not in _SINK_KIND_LAST_WORDS and not self._root_is_open(
                callee.value):
            # ``x.reshape(...)``: a qualified name ends with the callee's last attribute, and none of a sink's ends
            # so; only a root that may stand for anything (an alias, a project module) can make it one.
            return _NO_KINDS
        spelling = self._spelling(callee)
        kinds = self._kinds.get(spelling)
        if kinds is None:
            root, rest = spelling
            if root is None or self.locals_may_alias:
                kinds = (self.locals_may_alias,) * len(_SINK_KINDS)
            else:
                kinds = tuple(self._may_resolve(root, rest, names) for names in _SINK_KINDS)
            self._kinds[spelling] = kinds
        return kinds

    def _root_is_open(self, expression: ast.expr) -> bool:
        """Whether the root name of ``expression`` (``x`` of ``x.a.b``) may give a callee below it a qualified name
        that does not end with the callee's own last attribute: a library alias (``K = tf.keras.backend``: any
        attribute may resolve), a name imported from a module under which the project may re-export another name
        (``renames``; without it, any imported name), or, in a file where local names may alias, any name at all.
        A root that is not a name (``f().x``) is open only there too, as ``sink_kinds`` answers for it."""
        while True:
            kind = type(expression)
            if kind is ast.Attribute or kind is ast.Subscript:
                expression = expression.value
            elif kind is ast.Call:
                expression = expression.func
            else:
                break
        if self.locals_may_alias:
            return True
        if type(expression) is not ast.Name:
            return False
        root = expression.id
        known = self._open_roots.get(root)
        if known is None:
            known = self._open_roots[root] = root in self.library_aliases or any(
                imported.split(".")[0] in self.library_aliases
                or (self.resolve is not None and (self.renames is None or self.renames(imported)))
                for imported in self.imports.get(root, ()))
        return known

    def _spelling(self, expression: ast.expr) -> tuple[str | None, str]:
        spelling = self._spellings.get(id(expression))
        if spelling is None:
            root, attributes = _chain(expression)
            spelling = self._spellings[id(expression)] = (root, "".join("." + attribute for attribute in attributes))
        return spelling

    def _may_resolve(self, root: str, rest: str, targets: frozenset[str]) -> bool:
        for imported in self.imports.get(root, ()):
            if imported + rest in targets or imported.split(".")[0] in self.library_aliases:
                return True
            if self.resolve is not None and self.resolve(imported + rest) in targets:
                return True  # a module of the project that re-exports TensorFlow (``project.ProjectModules``)
        return root in self.library_aliases or (root in LIBRARY_HEADS and root + rest in targets)


def _chain(expression: ast.expr) -> tuple[str | None, list[str]]:
    """The root name and attributes of a callee as LibCST's ``get_full_name_for_node`` spells it."""
    attributes = []
    while True:
        if isinstance(expression, ast.Attribute):
            attributes.append(expression.attr)
            expression = expression.value
        elif isinstance(expression, ast.Call):
            expression = expression.func
        elif isinstance(expression, ast.Subscript):
            expression = expression.value
        else:
            break
    attributes.reverse()
    return (expression.id if isinstance(expression, ast.Name) else None), attributes


def _is_alias_value(value: ast.expr) -> bool:
    """What ``analysis.ModuleAnalyzer.leave_Assign`` may record as an alias: a name or attribute (LibCST spells
    ``None``, ``True`` and ``False`` as names; the analysis drops those, so counting them is only cautious)."""
    return isinstance(value, (ast.Name, ast.Attribute)) or (
        type(value) is ast.Constant and (value.value is None or type(value.value) is bool))


def _first_module_bindings(tree: ast.Module) -> dict[str, int]:
    """Each name bound in the module's own scope, as Python binds names (imports, ``except ... as``, ``match``
    captures too; not inside functions or classes) -> the index of the first top-level statement binding it."""
    first: dict[str, int] = {}
    for index, statement in enumerate(tree.body):
        stack: list[ast.AST] = [statement]
        while stack:
            node = stack.pop()
            names: Iterable[str] = ()
            if isinstance(node, (*_SCOPES, ast.Lambda)):  # only what is evaluated where it is defined
                if isinstance(node, _SCOPES):
                    first.setdefault(node.name, index)
                stack.extend(child for child in child_nodes(node)
                             if not isinstance(child, ast.stmt) and child is not getattr(node, "body", None))
                continue
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                names = (node.id,)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [(alias.asname or alias.name).split(".")[0] for alias in node.names]
            elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
                names = (node.name,)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                names = (node.rest,)
            for name in names:
                first.setdefault(name, index)
            stack.extend(child_nodes(node))
    return first


class _Screen:
    def __init__(self, tree: ast.Module, resolve=None, renames=None, function_reason=None):
        self.tree = tree
        self.facts = _Facts(tree, resolve, renames)
        self.function_reason = function_reason
        self._scanned: dict[tuple, tuple[bool, set[str]]] = {}
        self._differentiated: dict[int, bool] = {}  # id of a scope (the walk keeps them alive) -> its answer

    def plan(self, only=None) -> Plan | None:
        facts = self.facts
        for unit in facts.units:
            for method in unit.methods:
                method.has_candidate = (only is None or only(method.node)) and any(
                    self._is_open_candidate(call, scope) for call, scope in method.calls)
            unit.has_candidate = any(method.has_candidate for method in unit.methods) or (
                only is None or only(unit.node)) and any(
                self._is_open_candidate(call, scope) for call, scope in unit.calls)
        if not any(unit.has_candidate for unit in facts.units):
            return None
        kept = {index for index, unit in enumerate(facts.units) if not self._removable(unit, index)}
        kept_methods = {}
        for index in kept:
            unit = facts.units[index]
            if not unit.methods or any(self._is_open_candidate(call, scope) for call, scope in unit.calls):
                continue  # no methods, or a select in the class body itself, which may see their names
            removable = {id(method.node) for method in unit.methods if self._removable(method, None)}
            if removable:
                kept_methods[index] = {position for position, member in enumerate(unit.node.body)
                                       if id(member) not in removable}
        return Plan(kept, kept_methods, facts.depth)

    def _removable(self, unit: _Unit, index: int | None) -> bool:
        """Whether leaving ``unit`` out changes nothing the analysis sees of the statements kept."""
        facts = self.facts
        if unit.has_candidate or not isinstance(unit.node, _SCOPES):
            return False
        alias_keys = unit.alias_keys.union(*(method.alias_keys for method in unit.methods))
        # An alias recorded inside it would rewrite qualified names that start with a module-level name.
        if alias_keys & (facts.module_names | LIBRARY_HEADS | facts.library_aliases):
            return False
        # Its name, or a global it assigns, as an alias, a library name or the root of an attribute alias.
        if unit.module_bindings & (LIBRARY_HEADS | facts.alias_keys | facts.attribute_alias_roots):
            return False
        if index is not None and facts.first_bindings.get(unit.node.name, index) < index:
            return False  # the analysis would find that earlier binding where it now finds the definition
        return True

    def _is_open_candidate(self, node: ast.expr, scope: _Scope) -> bool:
        """A candidate through which a gradient may come back: not in a function that is never differentiated
        (``function_reason``, given only where such findings are not shown: the analysis's ``_open_sink`` then
        checks nothing there)."""
        return self._is_candidate(node, scope) and self._may_be_differentiated(scope)

    def _may_be_differentiated(self, scope: _Scope) -> bool:
        """False when a function around ``scope`` (itself included) has a reason never to be differentiated: the
        analysis gives a function's scope its own reason or else its enclosing scope's
        (``analysis.ModuleAnalyzer._push_function``), and a sink in a scope with a reason has no finding shown."""
        if self.function_reason is None:
            return True
        known = self._differentiated.get(id(scope))
        if known is None:
            known = self._differentiated[id(scope)] = not any(
                self.function_reason(qualname) is not None for qualname in scope.enclosing_functions())
        return known

    def _is_candidate(self, node: ast.expr, scope: _Scope) -> bool:
        """A sink whose arguments reach a risky op (following names as the analysis does): a call that may be a
        select (three arguments), a clamp or a boolean mask; a saturating call or a division whose input reaches an
        exp or a log; a product (``*``, ``multiply``) of a cast with a risky op; a root of what may be 0 where its
        derivative is 0; a norm; a log of what reaches a softmax, a sigmoid or an exp."""
        if type(node) is ast.Subscript:
            return self._reaches_elementwise([node.value], scope)
        if type(node) is ast.BinOp:
            if type(node.op) is ast.Div:
                return self._reaches([node.right], scope, PRODUCER_NAMES, False)
            if type(node.op) is ast.Pow:
                return _is_root_exponent(node.right) and self._reaches([node.left], scope, ROOT_BASE_NAMES, False,
                                                                        products=True)
            return self._is_mask_product([node.left, node.right], scope)
        select, clamp, multiply, saturating, root, power, norm, log, index = self.facts.sink_kinds(node.func)
        if not (select or clamp or multiply or saturating or root or power or norm or log or index):
            return False
        arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
        if norm:
            return True
        if index and self._reaches_elementwise(arguments, scope):
            return True
        if log and self._reaches(arguments, scope, PROBABILITY_NAMES, False):
            return True
        if (select and len(arguments) >= 3 or clamp) and self._reaches(arguments, scope, RISKY_NAMES):
            return True
        if multiply and self._is_mask_product(arguments, scope, unpacked=_unpacks(node)):
            return True
        if saturating and self._reaches(arguments, scope, PRODUCER_NAMES, False):
            return True
        if power and not _unpacks(node):
            exponent = node.args[1] if len(node.args) > 1 else next(
                (keyword.value for keyword in node.keywords if keyword.arg in ("y", "x2", "a")), None)
            root = root or (exponent is not None and _is_root_exponent(exponent))
        elif power:
            root = True  # ``tf.pow(*pair)``: the exponent cannot be read
        return root and self._reaches(arguments, scope, ROOT_BASE_NAMES, False, products=True)

    def _is_mask_product(self, operands: list[ast.expr], scope: _Scope, unpacked: bool = False) -> bool:
        """One operand reaches a cast or a one-hot encoding, or reads a label (the mask), another a risky op
        (``analysis._check_mask_product``); with an
        unpacked argument (``tf.multiply(*pair)``) which is which cannot be read: any risky op counts."""
        if unpacked:
            return self._reaches(operands, scope, RISKY_NAMES)
        return any(self._reaches([mask], scope, MASK_NAMES, False, labels=True)
                   and self._reaches(operands[:index] + operands[index + 1:], scope, RISKY_NAMES)
                   for index, mask in enumerate(operands))

    def _reaches(self, expressions: list[ast.expr], scope: _Scope, targets: frozenset[str],
                 divisions: bool = True, products: bool = False, labels: bool = False) -> bool:
        """Whether an expression calls one of ``targets`` (or divides, or raises to a power that is no natural
        number, where ``divisions``; or, with ``labels``, reads a label's or a mask's name:
        ``knowledge.LABEL_PARAMETERS``, ``knowledge.is_mask_name``),
        directly or through any assignment to a name it reads."""
        pending: list[str] = []
        for expression in expressions:
            found, names = self._scan(expression, targets, divisions, products)
            if found or (labels and _reads_label_or_mask(names)):
                return True
            pending.extend(names)
        seen: set[str] = set()
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            binding = scope.binding_scope(name)
            for value in binding.values.get(name, ()) if binding is not None else ():
                found, names = self._scan(value, targets, divisions, products)
                if found or (labels and _reads_label_or_mask(names)):
                    return True
                pending.extend(names)
        return False

    def _reaches_elementwise(self, expressions: list[ast.expr], scope: _Scope) -> bool:
        """Whether an expression is a risky op's value element by element: a call of one, a division or a power that
        is no natural number, or one reached through names (any assignment to them), operators and calls that may
        be element-wise or selects -- what the index rule (``analysis._check_index``) reports."""
        pending = list(expressions)
        seen: set[str] = set()
        while pending:
            node = pending.pop()
            kind = type(node)
            if kind is ast.Name:
                if node.id not in seen:
                    seen.add(node.id)
                    binding = scope.binding_scope(node.id)
                    pending.extend(binding.values.get(node.id, ()) if binding is not None else ())
            elif kind is ast.Call:
                if self.facts.may_resolve(node.func, RISKY_NAMES):
                    return True
                if self.facts.may_resolve(node.func, ELEMENTWISE_NAMES) or _unpacks(node):
                    pending.extend(node.args)
                    pending.extend(keyword.value for keyword in node.keywords)
            elif kind is ast.BinOp:
                if type(node.op) is ast.Div or (type(node.op) is ast.Pow and not _is_natural_number(node.right)):
                    return True
                pending.extend((node.left, node.right))
            elif kind in (ast.UnaryOp, ast.IfExp, ast.Compare, ast.BoolOp, ast.Tuple, ast.List, ast.Starred,
                          ast.NamedExpr):
                pending.extend(child_nodes(node))
        return False

    def _scan(self, expression: ast.expr, targets: frozenset[str], divisions: bool,
              products: bool = False) -> tuple[bool, set[str]]:
        """Whether ``expression`` itself holds a call of ``targets`` (or a division; or, with ``products``, a product
        or a power: ``x * x``, ``x ** 2``), and the names it reads (where the analysis looks)."""
        key = (id(expression), id(targets), divisions, products)
        cached = self._scanned.get(key)
        if cached is not None:
            return cached
        names: set[str] = set()
        found = False
        stack: list[ast.AST] = [expression]
        while stack and not found:
            node = stack.pop()
            kind = type(node)
            if kind is ast.Name:
                names.add(node.id)
            elif isinstance(node, _OPAQUE):
                continue
            elif kind is ast.Call:
                found = self.facts.may_resolve(node.func, targets)
                stack.extend(node.args)
                stack.extend(keyword.value for keyword in node.keywords)
            elif divisions and kind is ast.BinOp and (type(node.op) is ast.Div or (
                    type(node.op) is ast.Pow and not _is_natural_number(node.right))):
                found = True
            elif products and kind is ast.BinOp and type(node.op) in (ast.Mult, ast.Pow):
                # What ``analysis._zero_flat`` takes for a square: ``x * x`` (the same operand twice: the same
                # code, so the same syntax tree) or ``x ** c`` with a literal c > 1; any other product or power is
                # looked into.
                if type(node.op) is ast.Mult:
                    found = ast.dump(node.left) == ast.dump(node.right)
                else:
                    exponent = literal_number(node.right)
                    found = exponent is not None and exponent > 1
                stack.extend(child_nodes(node))
            elif not divisions and not products and kind is ast.BinOp and type(node.op) is ast.Pow and not _is_number(
                    node.right):
                found = True  # base ** x with a tensor exponent: an exp in disguise
            else:
                stack.extend(child_nodes(node))
        self._scanned[key] = (found, names)
        return found, names


_SINK_KINDS = (SELECT_NAMES, CLAMP_NAMES, MULTIPLY_NAMES, SATURATING_NAMES, ROOT_FUNCTION_NAMES, POWER_NAMES,
               NORM_NAMES, LOG_NAMES, INDEX_NAMES)
_NO_KINDS = (False,) * len(_SINK_KINDS)
_SINK_KIND_LAST_WORDS = frozenset(name.rsplit(".", 1)[-1] for names in _SINK_KINDS for name in names)


def _reads_label_or_mask(names: set[str]) -> bool:
    return not names.isdisjoint(knowledge.LABEL_PARAMETERS) or any(knowledge.is_mask_name(name) for name in names)


def _unpacks(call: ast.Call) -> bool:
    """``f(*args)`` or ``f(**kwargs)``: which argument is which cannot be read."""
    return any(type(argument) is ast.Starred for argument in call.args) or any(
        keyword.arg is None for keyword in call.keywords)


def literal_number(node: ast.expr) -> float | None:
    """The number a literal spells, signs included (``ranges.constant_value``: the analysis reads exponents only
    from literals), else None."""
    sign = 1.0
    while type(node) is ast.UnaryOp and type(node.op) in (ast.UAdd, ast.USub):
        if type(node.op) is ast.USub:
            sign = -sign
        node = node.operand
    if type(node) is ast.Constant and type(node.value) in (int, float):
        try:
            return sign * float(node.value)
        except OverflowError:
            return None
    return None


def _is_root_exponent(node: ast.expr) -> bool:
    """``x ** 0.5``: only an exponent between 0 and 1 makes a power a root (``analysis._check_root``); an exponent
    that is no number (``gamma``) may be one."""
    exponent = literal_number(node)
    return (0 < exponent < 1) if exponent is not None else not _is_number(node)


def _is_number(node: ast.expr) -> bool:
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _is_natural_number(node: ast.expr) -> bool:
    """``2``, ``+3``, ``2.0``: an exponent that makes ``x ** n`` a polynomial, never risky (``analysis._power_use``)."""
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        if isinstance(node.op, ast.USub):
            sign = -sign
        node = node.operand
    if not (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
        return False
    try:
        value = sign * float(node.value)
        return value >= 0 and value == int(value)
    except (OverflowError, ValueError):  # inf, nan
        return False


def plan(tree: ast.Module, resolve=None, only=None, renames=None, function_reason=None) -> Plan | None:
    """None when no select call in the module can have a finding; else the statements to analyse.  ``resolve``
    maps a qualified name through the project's own re-exporting modules (``project.ProjectModules.resolve``);
    ``renames(module)`` says whether it may map a name under that module at all (``ProjectModules.renames``;
    None: it may).
    ``only(node)``, for a top-level statement or a method of a top-level class, says whether its own calls are
    looked at: ``--fix`` analyses again only what its edits changed (the rest counts as holding no finding).
    ``function_reason(qualname)`` (``gradients.ModuleFacts.function_reason``), given when only findings through
    which a gradient may come back are wanted (not ``--strict``): why a function is never differentiated, or None;
    the sinks in such functions are left out like calls that are none."""
    return _Screen(tree, resolve, renames, function_reason).plan(only)
