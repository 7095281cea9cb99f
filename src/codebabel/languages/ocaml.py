"""OCaml: MultiPL-E's ``ml`` target, statically typed, compiled with ``ocamlc`` and run with ``ocamlrun``.

Layout as in MultiPL-E: the docstring as a ``(** ... *)`` comment, then
``let rec f (x : int list) (s : string) : int =`` (the prompt ends at ``=``; MultiPL-E's stop tokens).

Types (MultiPL-E's mapping): int -> ``int`` (63-bit), float -> ``float`` (64-bit), str -> ``string``,
bool -> ``bool``, list -> ``t list``, tuple -> ``a * b``, Optional -> ``t option``, dict -> an association
list ``(k * v) list`` (compared order-insensitively: both sides are sorted before comparing, so a
completion may build it in any order). MultiPL-E skips the problems with union or ``Any`` types; here they
use one variant type ``value`` declared in the prompt before the function, with one constructor per member
type (``Int of int``, ``String of string``, ``StringList of string list``, ...); ``Any`` adds a constructor
for every kind of Python value (``Bool``, ``Int``, ``Float``, ``String``, ``List``, ``Tuple``, ``Dict``,
``Null``). A value is wrapped in the constructor of its own Python type where the union has one, else the
first member it fits (an int where only ``float`` is listed becomes ``Float``).

The harness compares with an equality generated from the return type: floats within FLOAT_TOLERANCE at any
depth, association lists as sets of pairs, everything else structurally; a mismatch prints the value got.

``ocamlc`` (bytecode, about 0.02 s a program) rather than ``ocamlopt`` (about 0.1 s: it runs the assembler
and linker): HumanEval's tests are small, so compiling dominates. The compiler's own words classify a failed
build: ``Syntax error`` and lexer errors -> syntax_error, ``This expression has type`` and its kin ->
type_error, anything else (``Unbound value``) -> compile_error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from codebabel.languages.base import (
    ASSERT_MARKER,
    DONE_MARKER,
    FLOAT_TOLERANCE,
    Language,
    RunSpec,
    Signature,
    ask_toolchain,
    existing,
)
from codebabel.languages.types import (
    ANY,
    BOOL,
    FLOAT,
    INT,
    NONE,
    STR,
    Type,
    Untranslatable,
    conforms,
    dict_of,
    list_of,
    union_member,
)

_MIN_INT, _MAX_INT = -(2 ** 62), 2 ** 62 - 1

#: constructors of ``value`` that ``Any`` needs (every kind of Python value), in declaration order
_ANY_CTORS = (("Bool", BOOL), ("Int", INT), ("Float", FLOAT), ("String", STR), ("List", list_of(ANY)),
              ("Tuple", list_of(ANY)), ("Dict", dict_of(ANY, ANY)), ("Null", NONE))

_PRELUDE = f""";;
let __codebabel_feq (a : float) (b : float) : bool = a = b || Float.abs (a -. b) < {FLOAT_TOLERANCE}
let __codebabel_leq eq a b = List.length a = List.length b && List.for_all2 eq a b
let __codebabel_oeq eq a b = match a, b with Some x, Some y -> eq x y | None, None -> true | _ -> false
let __codebabel_deq eq a b = __codebabel_leq eq (List.sort Stdlib.compare a) (List.sort Stdlib.compare b)
let __codebabel_lshow show l = "[" ^ String.concat "; " (List.map show l) ^ "]"
let __codebabel_oshow show = function None -> "None" | Some x -> "Some (" ^ show x ^ ")"
"""

_KEYWORDS = frozenset(
    "and as assert asr begin class constraint do done downto else end exception external false for fun "
    "function functor if in include inherit initializer land lazy let lor lsl lsr lxor match method mod "
    "module mutable new nonrec object of open or private rec sig struct then to true try type val virtual "
    "when while with".split())

_CHAR_LITERAL = re.compile(r"'(?:[^\\'\n\r]|\\[\\\"'ntbr ]|\\[0-9]{3}|\\o[0-3][0-7]{2}|\\x[0-9a-fA-F]{2})'")
_QUOTED_STRING = re.compile(r"\{[a-z_]*\|")


class OCaml(Language):
    name = "ml"
    display_name = "OCaml"
    aliases = ("ocaml",)
    extensions = (".ml",)

    source_license = "LGPL-2.1-only WITH OCaml-LGPL-linking-exception"

    def system_sources(self) -> list[str]:
        return existing(ask_toolchain("ocamlc", "-where"))
    fence = "ocaml"
    # MultiPL-E's, plus a top-level ";;"
    stop_tokens = ("\n\n", "\n(*", "\ntype", "\nlet", "\n;;")
    apt_packages = ("ocaml-nox",)
    toolchain = ("ocamlc", "ocamlrun")
    tree_sitter = "ocaml"
    # MultiPL-E's terms.csv row for OCaml
    doc_terms = {"array": "list", "arrays": "lists", "dictionary": "association list",
                 "dictionaries": "association lists", "True": "true", "False": "false"}
    reserved = _KEYWORDS
    syntax_error_patterns = (r"Error: Syntax error", r"Error: Illegal character", r"Error: String literal not terminated",
                             r"Error: This comment contains an unterminated string literal",
                             r"Error: Comment not terminated", r"Error: Illegal backslash escape")
    type_error_patterns = (r"Error: This expression has type", r"Error: This pattern matches values of type",
                           r"Error: This function has type", r"Error: The constructor \S+ expects",
                           r"but an expression was expected of type", r"Error: This expression should not be",
                           r"Error: This (?:variant |record )?(?:expression|pattern) .*type")
    memory_error_patterns = (r"exception Out_of_memory", r"(?i)\bout of memory\b")

    def safe_name(self, name: str) -> str:
        # values start with a lowercase letter or _ in OCaml (HumanEval/84's N, /153's Strongest_Extension)
        name = name[:1].lower() + name[1:]
        return f"{name}_" if name in self.reserved else name

    # -- types ------------------------------------------------------------------------------------------------
    def type_name(self, t: Type) -> str:
        k = t.kind
        simple = {"int": "int", "float": "float", "str": "string", "bool": "bool", "none": "unit"}
        if k in simple:
            return simple[k]
        if k == "list":
            return f"{self._atom(t.elem)} list"
        if k == "optional":
            return f"{self._atom(t.elem)} option"
        if k == "tuple":
            return " * ".join(self._atom(a) for a in t.args)
        if k == "dict":
            return f"({self._atom(t.key)} * {self._atom(t.value)}) list"
        if k in ("union", "any"):
            return "value"
        raise Untranslatable(f"type {t} has no OCaml equivalent")

    def _atom(self, t: Type) -> str:
        name = self.type_name(t)
        return f"({name})" if t.kind == "tuple" else name

    def _ctor(self, t: Type) -> str:
        """The constructor of ``value`` for union member ``t`` (StringList for list[str])."""
        k = t.kind
        simple = {"int": "Int", "float": "Float", "str": "String", "bool": "Bool", "none": "Null"}
        if k in simple:
            return simple[k]
        if k == "list":
            return self._ctor(t.elem) + "List"
        if k == "optional":
            return self._ctor(t.elem) + "Option"
        if k == "tuple":
            return "".join(self._ctor(a) for a in t.args) + "Tuple"
        if k == "dict":
            return self._ctor(t.key) + self._ctor(t.value) + "Dict"
        if k in ("union", "any"):
            return "Value"
        raise Untranslatable(f"type {t} has no OCaml equivalent")

    def _variant(self, types: Sequence[Type]) -> list[tuple[str, Type]]:
        """The constructors of ``value`` (name, payload type) that ``types`` need; empty when none."""
        ctors: dict[str, Type] = {}
        has_any = False

        def walk(t: Type) -> None:
            nonlocal has_any
            if t.kind == "any":
                has_any = True
            elif t.kind == "union":
                for m in t.args:
                    ctors.setdefault(self._ctor(m), m)
            for a in t.args:
                walk(a)

        for t in types:
            walk(t)
        if has_any:
            for name, payload in _ANY_CTORS:
                ctors.setdefault(name, payload)
        return list(ctors.items())

    # -- translation ------------------------------------------------------------------------------------------
    def prompt(self, sig: Signature) -> str:
        variant = self._variant([p.type for p in sig.params] + [sig.returns])
        decl = ""
        if variant:
            decl = "type value =\n" + "".join(
                f"  | {n}" + ("" if p.kind == "none" else f" of {self.type_name(p)}") + "\n" for n, p in variant)
        params = " ".join(f"({p.name} : {self.type_name(p.type)})" for p in sig.params) or "()"
        return f"{decl}{_doc_comment(sig.doc)}let rec {sig.name} {params} : {self.type_name(sig.returns)} ="

    def call(self, name: str, args: Sequence[str]) -> str:
        return f"{name} {' '.join(args) or '()'}"

    def stub(self, sig: Signature) -> str:
        return f"\n  {self.default_literal(sig.returns)}\n"

    def test_harness(self, sig: Signature, tests: Sequence[tuple[str, str]]) -> str:
        r = sig.returns
        parts = [_PRELUDE]
        variant = self._variant([p.type for p in sig.params] + [r])  # the whole type the prompt declares
        if variant:
            parts.append(self._value_functions(variant))
        parts.append(
            f"let () =\n"
            f"  let __codebabel_eq : {self.type_name(r)} -> {self.type_name(r)} -> bool = {self._eq(r)} in\n"
            f"  let __codebabel_show : {self.type_name(r)} -> string = {self._show(r)} in\n"
            f"  let __codebabel_check i actual expected =\n"
            f"    if not (__codebabel_eq actual expected) then begin\n"
            f'      Stdlib.prerr_endline ("{ASSERT_MARKER} test " ^ Stdlib.string_of_int i ^ ": got "\n'
            f'                            ^ __codebabel_show actual ^ ", expected " ^ __codebabel_show expected);\n'
            f"      Stdlib.exit 1\n"
            f"    end in\n")
        parts += [f"  __codebabel_check {i} ({call}) {expected};\n" for i, (call, expected) in enumerate(tests, 1)]
        parts.append(f'  Stdlib.print_endline "{DONE_MARKER}"\n')
        return "".join(parts)

    def _value_functions(self, variant: list[tuple[str, Type]]) -> str:
        """Equality (floats within tolerance) and printing of the ``value`` variant."""
        eq_cases, show_cases = [], []
        for name, t in variant:
            if t.kind == "none":
                show_cases.append(f'    | {name} -> "{name}"\n')
                continue
            eq = self._eq(t)
            if eq != "( = )":
                eq_cases.append(f"    | {name} x, {name} y -> {eq} x y\n")
            show_cases.append(f'    | {name} x -> "{name} (" ^ {self._show(t)} x ^ ")"\n')
        return ("let rec __codebabel_veq (a : value) (b : value) : bool =\n  match a, b with\n"
                + "".join(eq_cases) + "    | _ -> a = b\n"
                + "and __codebabel_vshow (v : value) : string =\n  match v with\n" + "".join(show_cases))

    def _eq(self, t: Type) -> str:
        """An OCaml function ``t -> t -> bool``: structural equality, floats within tolerance."""
        k = t.kind
        if k == "float":
            return "__codebabel_feq"
        if k in ("union", "any"):
            return "__codebabel_veq"
        if k == "list":
            inner = self._eq(t.elem)
            return "( = )" if inner == "( = )" else f"(__codebabel_leq {inner})"
        if k == "optional":
            inner = self._eq(t.elem)
            return "( = )" if inner == "( = )" else f"(__codebabel_oeq {inner})"
        if k == "tuple":
            eqs = [self._eq(a) for a in t.args]
            if all(e == "( = )" for e in eqs):
                return "( = )"
            xs = ", ".join(f"a{i}" for i in range(len(eqs)))
            ys = ", ".join(f"b{i}" for i in range(len(eqs)))
            return f"(fun ({xs}) ({ys}) -> " + " && ".join(f"{e} a{i} b{i}" for i, e in enumerate(eqs)) + ")"
        if k == "dict":
            return f"(__codebabel_deq {self._eq(Type('tuple', (t.key, t.value)))})"
        return "( = )"

    def _show(self, t: Type) -> str:
        """An OCaml function ``t -> string`` printing a value as an OCaml literal."""
        k = t.kind
        simple = {"int": "Stdlib.string_of_int", "float": '(Printf.sprintf "%.17g")', "str": '(Printf.sprintf "%S")',
                  "bool": "Stdlib.string_of_bool", "none": '(fun () -> "()")', "union": "__codebabel_vshow",
                  "any": "__codebabel_vshow"}
        if k in simple:
            return simple[k]
        if k == "list":
            return f"(__codebabel_lshow {self._show(t.elem)})"
        if k == "optional":
            return f"(__codebabel_oshow {self._show(t.elem)})"
        if k == "tuple":
            xs = ", ".join(f"a{i}" for i in range(len(t.args)))
            body = ' ^ ", " ^ '.join(f"{self._show(a)} a{i}" for i, a in enumerate(t.args))
            return f'(fun ({xs}) -> "(" ^ {body} ^ ")")'
        if k == "dict":
            return f"(__codebabel_lshow {self._show(Type('tuple', (t.key, t.value)))})"
        raise Untranslatable(f"type {t} has no OCaml equivalent")

    def literal(self, value: Any, t: Type) -> str:
        k = t.kind
        if k == "any":
            return self._any_literal(value)
        if k == "unknown":
            raise Untranslatable(f"type {t} has no OCaml equivalent")
        if k == "union":
            member = _exact_member(value, t) or union_member(value, t)
            inner = self.literal(value, member)
            return self._ctor(member) if member.kind == "none" else f"({self._ctor(member)} {inner})"
        if k == "optional":
            return "None" if value is None else f"(Some {self.literal(value, t.elem)})"
        if k == "none":
            return "()"
        if k == "bool":
            return "true" if value else "false"
        if k == "int":
            if not _MIN_INT <= value <= _MAX_INT:
                raise Untranslatable(f"integer {value} does not fit OCaml's 63-bit int")
            return f"({value})" if value < 0 else str(value)
        if k == "float":
            return _float(float(value))
        if k == "str":
            return _string(value)
        if k == "list":
            return "[" + "; ".join(self.literal(v, t.elem) for v in value) + "]"
        if k == "tuple":
            return "(" + ", ".join(self.literal(v, a) for v, a in zip(value, t.args, strict=True)) + ")"
        if k == "dict":
            return "[" + "; ".join(f"({self.literal(a, t.key)}, {self.literal(b, t.value)})"
                                   for a, b in value.items()) + "]"
        raise Untranslatable(f"type {t} has no OCaml equivalent")

    def _any_literal(self, value: Any) -> str:
        """A Python value of any type as a ``value`` (the constructors ``Any`` declares)."""
        if value is None:
            return "Null"
        if isinstance(value, bool):
            return f"(Bool {self.literal(value, Type('bool'))})"
        if isinstance(value, int):
            return f"(Int {self.literal(value, Type('int'))})"
        if isinstance(value, float):
            return f"(Float {_float(value)})"
        if isinstance(value, str):
            return f"(String {_string(value)})"
        if isinstance(value, (list, tuple)):
            ctor = "List" if isinstance(value, list) else "Tuple"
            return f"({ctor} [" + "; ".join(self._any_literal(v) for v in value) + "])"
        if isinstance(value, dict):
            return "(Dict [" + "; ".join(f"({self._any_literal(a)}, {self._any_literal(b)})"
                                         for a, b in value.items()) + "])"
        raise Untranslatable(f"no OCaml value for {value!r}")

    # -- execution --------------------------------------------------------------------------------------------
    def run_spec(self, program: str) -> RunSpec:
        return RunSpec(files={"main.ml": program}, compile=["ocamlc", "-o", "main.byte", "main.ml"],
                       run=["ocamlrun", "main.byte"])


def _exact_member(value: Any, t: Type) -> Type | None:
    """The member of union ``t`` of the value's own Python type (so 1 stays Int where Float is listed too)."""
    kind = {bool: "bool", int: "int", float: "float", str: "str", list: "list", tuple: "tuple",
            dict: "dict"}.get(type(value))
    for m in t.args:
        if m.kind == kind and conforms(value, m):
            return m
    return None


def _float(v: float) -> str:
    if not math.isfinite(v):
        raise Untranslatable(f"float {v} has no OCaml literal")
    r = repr(v)
    if "." not in r and "e" not in r:
        r += ".0"
    return f"({r})" if r.startswith("-") else r


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b"}


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):03d}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _doc_comment(lines: Sequence[str]) -> str:
    """The docstring as an OCaml doc comment that always lexes: OCaml lexes string and character literals
    inside comments, so a stray ``"`` (HumanEval/68 starts with one) is dropped, and comment brackets and
    quoted-string openers outside strings are spaced apart."""
    if not lines:
        return ""
    text = "\n".join(lines)
    while True:
        out, bad = _comment_text(text)
        if bad is None:
            break
        text = text[:bad] + text[bad + 1:]
    comment = f"(** {out}".replace("\n", "\n * ") + "\n*)\n"
    return "".join(line.rstrip() + "\n" for line in comment.splitlines())


def _comment_text(text: str) -> tuple[str, int | None]:
    """``text`` made safe inside a comment, or the index of a ``"`` that opens a string never closed."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isascii() and (c.isalpha() or c == "_"):  # an identifier may contain quotes: don't, x'
            j = i + 1
            while j < n and text[j].isascii() and (text[j].isalnum() or text[j] in "_'"):
                j += 1
            out.append(text[i:j])
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                return "", i
            out.append(text[i:j + 1])
            i = j + 1
        elif c == "'" and (m := _CHAR_LITERAL.match(text, i)):
            out.append(m.group())
            i = m.end()
        elif text.startswith("(*", i):
            out.append("( * ")
            i += 2
        elif text.startswith("*)", i):
            out.append("* )")
            i += 2
        elif c == "{" and _QUOTED_STRING.match(text, i):
            out.append("{ ")
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out), None
