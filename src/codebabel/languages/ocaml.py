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

from codebabel.languages.base import ASSERT_MARKER, DONE_MARKER, Signature
from codebabel.languages.render import (
    C_ESCAPES,
    Target,
    control,
    dynamic_type,
    harness_code,
    kind_member,
    spell,
)
from codebabel.languages.types import ANY, BOOL, FLOAT, INT, NONE, STR, Type, Untranslatable, dict_of, list_of

#: constructors of ``value`` that ``Any`` needs (every kind of Python value), in declaration order
_ANY_CTORS = (("Bool", BOOL), ("Int", INT), ("Float", FLOAT), ("String", STR), ("List", list_of(ANY)),
              ("Tuple", list_of(ANY)), ("Dict", dict_of(ANY, ANY)), ("Null", NONE))
#: the constructor of ``value`` holding a union member, by the member's type (StringList for list[str])
_CTORS = {"int": "Int", "float": "Float", "str": "String", "bool": "Bool", "none": "Null", "union": "Value",
          "any": "Value"}
_CTOR_FORMATS = {"list": "{0}List", "optional": "{0}Option", "tuple": "{cat}Tuple", "dict": "{0}{1}Dict"}


def _tuple_eq(eqs: list[str]) -> str:
    if all(e == "( = )" for e in eqs):
        return "( = )"
    xs, ys = ", ".join(f"a{i}" for i in range(len(eqs))), ", ".join(f"b{i}" for i in range(len(eqs)))
    return f"(fun ({xs}) ({ys}) -> " + " && ".join(f"{e} a{i} b{i}" for i, e in enumerate(eqs)) + ")"


def _tuple_show(shows: list[str]) -> str:
    xs = ", ".join(f"a{i}" for i in range(len(shows)))
    return f'(fun ({xs}) -> "(" ^ ' + ' ^ ", " ^ '.join(f"{s} a{i}" for i, s in enumerate(shows)) + ' ^ ")")'


#: the harness's equality of each type (``( = )`` where structural equality is exact) and its printer
_EQ = {"float": "__codebabel_feq", "union": "__codebabel_veq", "any": "__codebabel_veq",
       **dict.fromkeys(("int", "str", "bool", "none", "unknown"), "( = )")}
_EQ_FORMATS = {"list": lambda e: "( = )" if e[0] == "( = )" else f"(__codebabel_leq {e[0]})",
               "optional": lambda e: "( = )" if e[0] == "( = )" else f"(__codebabel_oeq {e[0]})",
               "tuple": _tuple_eq, "dict": lambda e: f"(__codebabel_deq {_tuple_eq(e)})"}
_SHOW = {"int": "Stdlib.string_of_int", "float": '(Printf.sprintf "%.17g")', "str": '(Printf.sprintf "%S")',
         "bool": "Stdlib.string_of_bool", "none": '(fun () -> "()")', "union": "__codebabel_vshow",
         "any": "__codebabel_vshow"}
_SHOW_FORMATS = {"list": "(__codebabel_lshow {0})", "optional": "(__codebabel_oshow {0})", "tuple": _tuple_show,
                 "dict": lambda s: f"(__codebabel_lshow {_tuple_show(s)})"}
#: the constructor of a value of type Any, by the kind of its Python value
_ANY_KINDS = dict(zip(("bool", "int", "float", "str", "list", "tuple", "dict", "none"), _ANY_CTORS, strict=True))

_PRELUDE = harness_code("ocaml.ml")["prelude"]

_KEYWORDS = frozenset(
    "and as assert asr begin class constraint do done downto else end exception external false for fun "
    "function functor if in include inherit initializer land lazy let lor lsl lsr lxor match method mod "
    "module mutable new nonrec object of open or private rec sig struct then to true try type val virtual "
    "when while with".split())

_CHAR_LITERAL = re.compile(r"'(?:[^\\'\n\r]|\\[\\\"'ntbr ]|\\[0-9]{3}|\\o[0-3][0-7]{2}|\\x[0-9a-fA-F]{2})'")
_QUOTED_STRING = re.compile(r"\{[a-z_]*\|")


class OCaml(Target):
    name, display_name, aliases, extensions = "ml", "OCaml", ("ocaml",), (".ml",)
    fence = tree_sitter = "ocaml"
    apt_packages, toolchain = ("ocaml-nox",), ("ocamlc", "ocamlrun")
    source_query, source_license = ("ocamlc", "-where"), "LGPL-2.1-only WITH OCaml-LGPL-linking-exception"
    stop_tokens = ("\n\n", "\n(*", "\ntype", "\nlet", "\n;;")  # MultiPL-E's, plus a top-level ";;"
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

    unit, int_bounds, int_type = "()", (-(2**62), 2**62 - 1), "OCaml's 63-bit int"
    escapes, code_escapes = {**C_ESCAPES, "\b": "\\b"}, control("\\{:03d}")
    no_literal = "type {t} has no {lang} equivalent"
    list_brackets, tuple_brackets = ("[", "; ", "]"), ("(", ", ", ")")
    dict_brackets, entry_format = ("[", "; ", "]"), "({}, {})"
    type_names = {"int": "int", "float": "float", "str": "string", "bool": "bool", "none": "unit", "union": "value",
                  "any": "value"}
    type_formats = {"list": "{0} list", "optional": "{0} option", "dict": "({0} * {1}) list"}
    check_line, stub_format = "  __codebabel_check {i} ({call}) {expected};", "\n  {value}\n"
    harness_tail = (f'  Stdlib.print_endline "{DONE_MARKER}"', "")
    program_file, run_command = "main.ml", ("ocamlrun", "main.byte")
    compile_command = ("ocamlc", "-o", "main.byte", "main.ml")

    def safe_name(self, name: str) -> str:
        # values start with a lowercase letter or _ in OCaml (HumanEval/84's N, /153's Strongest_Extension)
        name = name[:1].lower() + name[1:]
        return f"{name}_" if name in self.reserved else name

    # -- types ------------------------------------------------------------------------------------------------
    def type_name(self, t: Type) -> str:
        return " * ".join(map(self.arg_type_name, t.args)) if t.kind == "tuple" else super().type_name(t)

    def arg_type_name(self, t: Type) -> str:
        name = self.type_name(t)
        return f"({name})" if t.kind == "tuple" else name

    def _ctor(self, t: Type) -> str:
        """The constructor of ``value`` for union member ``t`` (StringList for list[str])."""
        return spell(t, _CTORS, _CTOR_FORMATS, None, lambda u: Untranslatable(f"type {u} has no OCaml equivalent"))

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

    def harness_start(self, sig: Signature) -> tuple[list[str], dict[str, str]]:
        r = sig.returns
        head = [_PRELUDE.rstrip("\n")]
        variant = self._variant([p.type for p in sig.params] + [r])  # the whole type the prompt declares
        if variant:
            head.append(self._value_functions(variant))
        head.append(
            f"let () =\n"
            f"  let __codebabel_eq : {self.type_name(r)} -> {self.type_name(r)} -> bool = {self._eq(r)} in\n"
            f"  let __codebabel_show : {self.type_name(r)} -> string = {self._show(r)} in\n"
            f"  let __codebabel_check i actual expected =\n"
            f"    if not (__codebabel_eq actual expected) then begin\n"
            f'      Stdlib.prerr_endline ("{ASSERT_MARKER} test " ^ Stdlib.string_of_int i ^ ": got "\n'
            f'                            ^ __codebabel_show actual ^ ", expected " ^ __codebabel_show expected);\n'
            f"      Stdlib.exit 1\n"
            f"    end in")
        return head, {}

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
                + "and __codebabel_vshow (v : value) : string =\n  match v with\n" + "".join(show_cases)).rstrip("\n")

    def _eq(self, t: Type) -> str:
        """An OCaml function ``t -> t -> bool``: structural equality, floats within tolerance."""
        return spell(t, _EQ, _EQ_FORMATS)

    def _show(self, t: Type) -> str:
        """An OCaml function ``t -> string`` printing a value as an OCaml literal."""
        return spell(t, _SHOW, _SHOW_FORMATS, None, lambda u: Untranslatable(f"type {u} has no OCaml equivalent"))

    def union_literal(self, value: Any, t: Type, ctx: Any) -> str:
        member = kind_member(value, t)
        inner = self.render(value, member, ctx)
        return self._ctor(member) if member.kind == "none" else f"({self._ctor(member)} {inner})"

    def any_literal(self, value: Any, t: Type, ctx: Any) -> str:
        """A Python value of any type as a ``value`` (the constructors ``Any`` declares)."""
        name, payload = _ANY_KINDS[dynamic_type(value).kind]
        return name if value is None else f"({name} {self.render(value, payload, ctx)})"

    def optional_literal(self, value: Any, t: Type, ctx: Any) -> str:
        return "None" if value is None else f"(Some {self.render(value, t.elem, ctx)})"

    def int_literal(self, value: int, ctx: Any) -> str:
        lit = super().int_literal(value, ctx)
        return f"({lit})" if value < 0 else lit

    def float_literal(self, value: float, ctx: Any) -> str:
        return _float(float(value))


def _float(v: float) -> str:
    if not math.isfinite(v):
        raise Untranslatable(f"float {v} has no OCaml literal")
    r = repr(v)
    if "." not in r and "e" not in r:
        r += ".0"
    return f"({r})" if r.startswith("-") else r


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
