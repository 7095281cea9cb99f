"""The value types of benchmark functions, independent of any target language.

A HumanEval function's parameter and return types come from its Python annotations where it has them and
are inferred from the values observed when its canonical solution runs the tests where it does not
(``evaluate/translate.py``). Each language module maps a :class:`Type` onto its own type names and renders
values of that type as literals (MultiPL-E's type-directed translation).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class Untranslatable(Exception):
    """A problem (or one of its types or values) that a target language cannot express; str() is the reason."""


@dataclass(frozen=True)
class Type:
    #: int | float | str | bool | none | list | dict | tuple | optional | union | any | unknown
    kind: str
    args: tuple[Type, ...] = ()

    def __str__(self) -> str:
        if not self.args:
            return self.kind
        return f"{self.kind}[{', '.join(map(str, self.args))}]"

    @property
    def elem(self) -> Type:
        """Element type of a list or optional."""
        return self.args[0]

    @property
    def key(self) -> Type:
        return self.args[0]

    @property
    def value(self) -> Type:
        return self.args[1]

    def contains(self, kind: str) -> bool:
        return self.kind == kind or any(a.contains(kind) for a in self.args)

    def walk(self) -> Iterator[Type]:
        """Every type within this one and then itself, innermost first."""
        for a in self.args:
            yield from a.walk()
        yield self


INT = Type("int")
FLOAT = Type("float")
STR = Type("str")
BOOL = Type("bool")
NONE = Type("none")
ANY = Type("any")
UNKNOWN = Type("unknown")


def list_of(t: Type) -> Type:
    return Type("list", (t,))


def dict_of(k: Type, v: Type) -> Type:
    return Type("dict", (k, v))


def tuple_of(*ts: Type) -> Type:
    return Type("tuple", tuple(ts))


def optional(t: Type) -> Type:
    if t.kind in ("optional", "none", "any"):
        return t
    return Type("optional", (t,))


def union(*ts: Type) -> Type:
    flat: list[Type] = []
    for t in ts:
        for u in t.args if t.kind == "union" else (t,):
            if u not in flat:
                flat.append(u)
    if any(t.kind == "any" for t in flat):
        return ANY
    if len(flat) == 1:
        return flat[0]
    return Type("union", tuple(flat))


# -- from annotations ------------------------------------------------------------------------------------------

_NAMES = {"int": INT, "float": FLOAT, "str": STR, "bool": BOOL, "None": NONE, "Any": ANY, "object": ANY,
          "list": list_of(UNKNOWN), "List": list_of(UNKNOWN), "dict": dict_of(UNKNOWN, UNKNOWN),
          "Dict": dict_of(UNKNOWN, UNKNOWN), "tuple": Type("tuple"), "Tuple": Type("tuple")}


def from_annotation(node: ast.expr | None) -> Type:
    """A :class:`Type` from a Python annotation; UNKNOWN where there is none."""
    if node is None:
        return UNKNOWN
    if isinstance(node, ast.Constant) and node.value is None:
        return NONE
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if isinstance(node, ast.Attribute) and node.attr in _NAMES:  # typing.List
        return _NAMES[node.attr]
    if isinstance(node, ast.Subscript):
        base = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", None)
        items = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base in ("List", "list") and len(items) == 1:
            return list_of(from_annotation(items[0]))
        if base in ("Dict", "dict") and len(items) == 2:
            return dict_of(from_annotation(items[0]), from_annotation(items[1]))
        if base in ("Tuple", "tuple"):
            if len(items) == 2 and isinstance(items[1], ast.Constant) and items[1].value is Ellipsis:
                return list_of(from_annotation(items[0]))  # Tuple[X, ...]: a homogeneous sequence
            return tuple_of(*(from_annotation(i) for i in items))
        if base == "Optional" and len(items) == 1:
            return optional(from_annotation(items[0]))
        if base == "Union":
            return _union_with_none(*(from_annotation(i) for i in items))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | Y
        return _union_with_none(from_annotation(node.left), from_annotation(node.right))
    raise Untranslatable(f"annotation {ast.unparse(node)} has no language-independent type")


def _union_with_none(*ts: Type) -> Type:
    rest = [t for t in ts if t != NONE]
    u = union(*rest)
    return optional(u) if len(rest) < len(ts) else u


# -- from values ---------------------------------------------------------------------------------------------

def of_value(v: Any) -> Type:
    """The type of one Python value (bool before int; tuples of one element type and any length stay tuples)."""
    if isinstance(v, bool):
        return BOOL
    if isinstance(v, int):
        return INT
    if isinstance(v, float):
        return FLOAT
    if isinstance(v, str):
        return STR
    if v is None:
        return NONE
    if isinstance(v, list):
        return list_of(unify_all(of_value(x) for x in v))
    if isinstance(v, tuple):
        return tuple_of(*(of_value(x) for x in v))
    if isinstance(v, dict):
        return dict_of(unify_all(of_value(k) for k in v), unify_all(of_value(x) for x in v.values()))
    raise Untranslatable(f"value of Python type {type(v).__name__} has no language-independent type")


def unify_all(ts) -> Type:
    out = UNKNOWN
    for t in ts:
        out = unify(out, t)
    return out


def unify(a: Type, b: Type) -> Type:
    """The smallest type that holds values of both (int and float give float; None makes it optional)."""
    if a == b:
        return a
    if a == UNKNOWN:
        return b
    if b == UNKNOWN:
        return a
    if ANY in (a, b):
        return ANY
    if a == NONE:
        return optional(b)
    if b == NONE:
        return optional(a)
    if a.kind == "optional" or b.kind == "optional":
        inner_a = a.elem if a.kind == "optional" else a
        inner_b = b.elem if b.kind == "optional" else b
        return optional(unify(inner_a, inner_b))
    if {a.kind, b.kind} == {"int", "float"}:
        return FLOAT
    if {a, b} == {STR, list_of(UNKNOWN)}:  # an empty list where strings are passed (HumanEval/78): ""
        return STR
    if a.kind == b.kind == "list":
        return list_of(unify(a.elem, b.elem))
    if a.kind == b.kind == "dict":
        return dict_of(unify(a.key, b.key), unify(a.value, b.value))
    if a.kind == b.kind == "tuple":
        if len(a.args) == len(b.args):
            return tuple_of(*(unify(x, y) for x, y in zip(a.args, b.args, strict=False)))
        return list_of(unify_all((*a.args, *b.args)))  # tuples of several lengths: a sequence
    if {a.kind, b.kind} == {"tuple", "list"}:
        tup, lst = (a, b) if a.kind == "tuple" else (b, a)
        return list_of(unify_all((*tup.args, lst.elem)))
    return union(a, b)


def refine(annotated: Type, observed: Type) -> Type:
    """Fill what an annotation leaves open (bare ``list``, no annotation) from the observed values."""
    if annotated == UNKNOWN:
        return observed
    if annotated.kind == "tuple" and not annotated.args:  # bare Tuple
        return observed if observed.kind in ("tuple", "list") else annotated
    if annotated.kind == observed.kind and len(annotated.args) == len(observed.args):
        return Type(annotated.kind, tuple(refine(a, o) for a, o in zip(annotated.args, observed.args, strict=False)))
    if annotated.kind == "optional" and observed.kind != "optional" and observed != NONE:
        return optional(refine(annotated.elem, observed))
    return annotated


def settle(t: Type) -> Type:
    """Replace element types never observed (e.g. only empty lists were seen) by int."""
    if t == UNKNOWN:
        return INT
    if t.kind == "tuple" and not t.args:
        raise Untranslatable("a bare Tuple annotation with no observed values")
    return Type(t.kind, tuple(settle(a) for a in t.args))


def conforms(v: Any, t: Type) -> bool:
    """Whether value ``v`` can be rendered as type ``t`` (ints are accepted where floats are expected)."""
    k = t.kind
    if k == "any":
        return True
    if k == "union":
        return any(conforms(v, u) for u in t.args)
    if k == "optional":
        return v is None or conforms(v, t.elem)
    if k == "none":
        return v is None
    if k == "bool":
        return isinstance(v, bool)
    if k == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if k == "float":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if k == "str":
        return isinstance(v, str)
    if k == "list":
        return isinstance(v, (list, tuple)) and all(conforms(x, t.elem) for x in v)
    if k == "tuple":
        return isinstance(v, tuple) and len(v) == len(t.args) and all(conforms(x, u) for x, u in zip(v, t.args, strict=False))
    if k == "dict":
        return isinstance(v, dict) and all(conforms(a, t.key) and conforms(b, t.value) for a, b in v.items())
    return False


def coerce(v: Any, t: Type) -> Any:
    """``v`` adjusted to ``t`` where :func:`unify` merged it: an empty list passed as a string becomes ""."""
    if t == STR and isinstance(v, list) and not v:
        return ""
    if t.kind == "list" and isinstance(v, (list, tuple)):
        return type(v)(coerce(x, t.elem) for x in v)
    if t.kind == "optional" and v is not None:
        return coerce(v, t.elem)
    return v


def union_member(v: Any, t: Type) -> Type:
    """The member of union ``t`` that value ``v`` is rendered as (the first that fits)."""
    for u in t.args:
        if conforms(v, u):
            return u
    raise Untranslatable(f"value {v!r} fits no member of {t}")


def default_value(t: Type) -> Any:
    """A value of type ``t`` for stub bodies: 0, 0.0, "", False, empty containers, None for optionals."""
    k = t.kind
    if k in ("optional", "none"):
        return None
    if k == "union":
        return default_value(t.args[0])
    return {"int": 0, "float": 0.0, "str": "", "bool": False, "list": [], "dict": {}, "any": 0}.get(k) \
        if k != "tuple" else tuple(default_value(a) for a in t.args)


def is_finite(v: Any) -> bool:
    """False for values containing inf/nan (no portable literal in most languages)."""
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, (list, tuple)):
        return all(is_finite(x) for x in v)
    if isinstance(v, dict):
        return all(is_finite(a) and is_finite(b) for a, b in v.items())
    return True
