"""Swift: MultiPL-E's ``swift`` target, compiled with ``swiftc``, run natively.

No Debian package provides Swift, so the toolchain comes from swift.org (``install_hint``); without it
problems still translate and execution skips. Types map as MultiPL-E maps them: ``Int``, ``Double``,
``String``, ``Bool``, ``[T]``, ``[K : V]``, tuples ``(A, B)``, ``T?``, and ``AnyHashable`` for Python's
``Any`` (Swift cannot compare or hash ``Any``). Calls carry argument labels, as Swift calls do
(``has_close_elements(numbers: [1.0], threshold: 0.5)``), in the tests and in the docstring's examples.

Unions: a signature's union types all become one enum, ``Value``, declared in the prompt before the
function, with a case per member type (``intValue(Int)``, ``doubleValue(Double)``, ``stringValue(String)``,
``stringArrayValue([String])``), as MultiPL-E writes HumanEval/137. (MultiPL-E turns a two-member union into
``Result<A, B>`` instead; one enum per signature keeps HumanEval/137, whose two parameters and return value
are three different unions, one type.) A union as a dictionary key is ``AnyHashable``.

The stop token is MultiPL-E's ``"\\n}"``: the completion ends before the function's closing brace, and the
harness starts with it. The harness compares with a function generated for the return type (Swift tuples are
not Equatable and doubles need the tolerance), prints ASSERT_MARKER to stderr and exits 1 on a mismatch.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from codebabel.languages.base import ASSERT_MARKER, DONE_MARKER, FLOAT_TOLERANCE, RunSpec, Signature
from codebabel.languages.render import C_ESCAPES, INT64, Target, control, dynamic_type, kind_member, spell
from codebabel.languages.types import ANY, Type, Untranslatable

#: the enum every union type of a signature becomes
_UNION = "Value"
#: the words of a union member's enum case (stringArrayValue holds a [String])
_CASE_WORDS = {"int": "int", "float": "double", "str": "string", "bool": "bool"}
_CASE_FORMATS = {"list": "{0} array", "dict": "{0} {1} dictionary", "optional": "{0} optional"}
#: what a list or dict of type Any says it is
_AS = {list: " as [AnyHashable]", dict: " as [AnyHashable : AnyHashable]"}
_RANK = {"int": 0, "float": 1, "str": 2, "bool": 3}


@cache
def _toolchain_root() -> str | None:
    """The folder a swift.org toolchain was unpacked into (``<root>/usr/bin/swiftc``), when it is not
    under /usr: the sandbox must see it (compiler, Foundation, and the runtime libraries the program loads)."""
    found = shutil.which("swiftc")
    if found is None:
        return None
    for path in (Path(found), Path(os.path.realpath(found))):
        if path.parent.name == "bin" and path.parent.parent.name == "usr":
            root = path.parent.parent.parent
            if root != Path("/") and root.parts[1:2] != ("usr",):
                return str(root)
    return None


class Swift(Target):
    name, display_name, extensions = "swift", "Swift", (".swift",)
    fence = tree_sitter = "swift"
    toolchain = ("swiftc",)
    install_hint = "https://www.swift.org/install/linux/ (a toolchain tarball or the swiftly installer)"
    stop_tokens = ("\n}",)
    doc_terms = {"list": "array", "lists": "arrays", "dictionary": "dictionary", "None": "nil",
                 "True": "true", "False": "false"}
    reserved = frozenset({
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows",
        "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default",
        "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch",
        "where", "while", "Any", "as", "await", "false", "is", "nil", "self", "Self", "super", "throws", "true",
        "try", "_", _UNION,
    })
    compile_timeout_s = 120.0
    compile_memory_mb = 6144
    syntax_error_patterns = (
        r"error: expected ", r"error: consecutive (?:statements|declarations) on a line",
        r"error: unterminated string literal", r"error: extraneous '\}' at top level",
        r"error: unexpected '.*' in ", r"error: unary operator cannot be separated from its operand",
        r"error: '.*' must have consistent whitespace on both sides",
    )
    type_error_patterns = (
        r"error: cannot convert (?:value|return expression) of type", r"error: cannot assign value of type",
        r"error: binary operator '.*' cannot be applied to", r"error: no exact matches in (?:call|reference)",
        r"error: value of (?:optional )?type '.*' (?:has no member|must be unwrapped)",
        r"error: type '.*' has no member", r"error: missing return in ",
        r"error: unexpected non-void return value in void function", r"does not conform to (?:expected type|protocol)",
        r"error: cannot subscript a value of type", r"error: cannot call value of non-function type",
        r"error: type of expression is ambiguous", r"error: no '.*' candidates produce the expected",
        r"requires that '.*' conform to", r"error: cannot use optional chaining on non-optional value",
        r"error: initializer for conditional binding must have Optional type",
    )
    memory_error_patterns = (r"(?i)\bout of memory\b",)

    null, int_bounds, int_type = "nil", INT64, "Swift's Int"
    escapes, code_escapes = {**C_ESCAPES, "\0": "\\0"}, control("\\u{{{:x}}}")
    no_literal = "no {lang} literal for {value!r} as {t}"
    tuple_brackets, dict_brackets = ("(", ", ", ")"), ("[", ", ", "]")
    type_names = {"int": "Int", "float": "Double", "str": "String", "bool": "Bool", "any": "AnyHashable",
                  "union": _UNION}
    type_formats = {"list": "[{0}]", "tuple": "({args})", "optional": "{0}?"}
    no_type = "no {lang} type for {t}"
    check_line, harness_tail = "__codebabel_check({eq}({call}, {expected}), {i})", (f'print("{DONE_MARKER}")',)
    stub_format = "    return {value}\n"
    # -Onone: a debug build compiles fastest; the module cache goes to the private /tmp; no crash backtracer
    # (Swift 5.9+): a trap prints its message and ends at once
    program_file, run_command, run_env = "main.swift", ("./main",), {"SWIFT_BACKTRACE": "enable=no"}
    compile_command = ("swiftc", "-Onone", "-suppress-warnings", "-module-cache-path", "/tmp/.swift-module-cache",
                       "-o", "main", "main.swift")

    # -- types ------------------------------------------------------------------------------------------------
    def type_name(self, t: Type) -> str:
        if t.kind == "tuple" and len(t.args) < 2:
            raise Untranslatable(f"a tuple of {len(t.args)} elements")
        if t.kind == "dict":
            return f"[{self._key_type(t.key)} : {self.type_name(t.value)}]"
        return super().type_name(t)

    def _key_type(self, t: Type) -> str:
        if t.kind == "union":
            return "AnyHashable"  # any hashable key: [AnyHashable : V] takes "a" and 5 alike
        if t.contains("tuple"):
            raise Untranslatable(f"dictionary keys of type {t} (Swift tuples are not Hashable)")
        return self.type_name(t)

    def _case(self, t: Type) -> str:
        """The enum case holding a union member of type ``t``: intValue, stringArrayValue, ..."""
        words = spell(t, _CASE_WORDS, _CASE_FORMATS, None, lambda u: Untranslatable(f"union member {u}")).split()
        return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:]) + "Value"

    def _union_members(self, sig: Signature) -> list[Type]:
        """Every member type of every union in the signature (dictionary keys aside), in a fixed order."""
        found: list[Type] = []

        def walk(t: Type) -> None:
            if t.kind == "union":
                for m in t.args:
                    if m.contains("tuple") or m.contains("union") or m.contains("any"):
                        raise Untranslatable(f"union member {m} (an enum case must be Hashable)")
                    if m not in found:
                        found.append(m)
                return
            if t.kind == "dict":
                walk(t.value)
                return
            for a in t.args:
                walk(a)

        for t in (*(p.type for p in sig.params), sig.returns):
            walk(t)
        return sorted(found, key=lambda m: (_RANK.get(m.kind, len(_RANK)), found.index(m)))

    # -- translation ------------------------------------------------------------------------------------------
    def test_call(self, sig: Signature, args: Sequence[str]) -> str:
        # Swift calls carry argument labels: the base class's call(name, args) cannot know them
        return self._labelled_call(sig, args)

    def _labelled_call(self, sig: Signature, args: Sequence[str]) -> str:
        return f"{sig.name}(" + ", ".join(f"{p.name}: {a}" for p, a in zip(sig.params, args, strict=True)) + ")"

    def prompt(self, sig: Signature) -> str:
        params = ", ".join(f"{p.name}: {self.type_name(p.type)}" for p in sig.params)
        members = self._union_members(sig)
        enum = ""
        if members:
            cases = "".join(f"    case {self._case(m)}({self.type_name(m)})\n" for m in members)
            enum = f"enum {_UNION}: Equatable, Hashable {{\n{cases}}}\n\n"
        doc = self.comment([self._label_example(sig, line) for line in sig.doc], "///")
        return f"import Foundation\n\n{enum}{doc}func {sig.name}({params}) -> {self.type_name(sig.returns)} {{\n"

    def _label_example(self, sig: Signature, line: str) -> str:
        """A docstring example ``>>> f(1, 2)`` (rendered by ``call``, which has no parameter names) with
        the argument labels: ``>>> f(a: 1, b: 2)``."""
        m = re.match(rf"^(\s*>>> ){re.escape(sig.name)}\((.*)\)\s*$", line)
        if not m:
            return line
        args = _split_args(m.group(2))
        if args is None or len(args) != len(sig.params):
            return line
        return m.group(1) + self._labelled_call(sig, args)

    def harness_start(self, sig: Signature) -> tuple[list[str], dict[str, str]]:
        eq = _EqualityWriter(self, self._union_members(sig))
        top = eq.function(sig.returns)
        return ["}", "", "func __codebabel_check(_ ok: Bool, _ i: Int) {", "    if !ok {",
                f'        FileHandle.standardError.write("{ASSERT_MARKER} test \\(i)\\n".data(using: .utf8)!)',
                "        exit(1)", "    }", "}", "", *eq.lines], {"eq": top}

    def union_literal(self, value: Any, t: Type, ctx: Any) -> str:
        # the member of the value's own Python type where there is one (an int stays an int), else the first
        # that holds it (an int where the union has Double but no Int)
        member = kind_member(value, t)
        return f".{self._case(member)}({self.render(value, member, ctx)})"

    def any_literal(self, value: Any, t: Type, ctx: Any) -> str:
        """A value as an ``AnyHashable``, by its own Python type (containers say their type: Swift cannot infer
        a literal's type from AnyHashable)."""
        if value is None or isinstance(value, tuple):
            raise Untranslatable(f"{value!r} as a Swift AnyHashable")
        lit = self.render(value, dynamic_type(value), ctx)
        return lit + _AS.get(type(value), "")

    def untranslatable(self, value: Any, t: Type) -> Untranslatable:
        return Untranslatable(f"nil where {t} is expected") if value is None else super().untranslatable(value, t)

    def key_literal(self, key: Any, t: Type, ctx: Any) -> str:
        return self.render(key, ANY if t.key.kind == "union" else t.key, ctx)

    def dict_literal(self, entries: Iterator[tuple[str, str]], value: Any, t: Type, ctx: Any) -> str:
        return super().dict_literal(entries, value, t, ctx) if value else "[:]"

    def run_spec(self, program: str) -> RunSpec:
        root = _toolchain_root()
        return replace(super().run_spec(program), ro_paths=(root,) if root else ())


class _EqualityWriter:
    """Swift functions ``__codebabel_eqN(_ a: T, _ b: T) -> Bool`` for a type and its parts: doubles within
    the tolerance, arrays element-wise, dictionaries by key, tuples by component, optionals, the union enum
    case by case (an Int and a Double case compare as numbers, as Python's 2 == 2.0)."""

    def __init__(self, lang: Swift, members: list[Type]):
        self.lang = lang
        self.members = members
        self.lines: list[str] = []
        self.names: dict[str, str] = {}

    def function(self, t: Type) -> str:
        swift = self.lang.type_name(t)
        if swift in self.names:
            return self.names[swift]
        name = f"__codebabel_eq{len(self.names)}"
        self.names[swift] = name
        body = self._body(t)
        self.lines += [f"func {name}(_ a: {swift}, _ b: {swift}) -> Bool {{", *(f"    {ln}" for ln in body), "}", ""]
        return name

    def _body(self, t: Type) -> list[str]:
        k = t.kind
        if k == "float":
            return [f"return a == b || abs(a - b) < {FLOAT_TOLERANCE}"]
        if k in ("int", "str", "bool", "any"):
            return ["return a == b"]
        if k == "optional":
            inner = self.function(t.elem)
            return ["if let x = a, let y = b {", f"    return {inner}(x, y)", "}", "return a == nil && b == nil"]
        if k == "list":
            inner = self.function(t.elem)
            return ["if a.count != b.count {", "    return false", "}", "for (x, y) in zip(a, b) {",
                    f"    if !{inner}(x, y) {{", "        return false", "    }", "}", "return true"]
        if k == "dict":
            inner = self.function(t.value)
            return ["if a.count != b.count {", "    return false", "}", "for (key, x) in a {",
                    "    guard let y = b[key] else {", "        return false", "    }",
                    f"    if !{inner}(x, y) {{", "        return false", "    }", "}", "return true"]
        if k == "tuple":
            parts = [f"{self.function(a)}(a.{i}, b.{i})" for i, a in enumerate(t.args)]
            return ["return " + " && ".join(parts)]
        if k == "union":
            return self._union_body()
        raise Untranslatable(f"no Swift equality for {t}")

    def _union_body(self) -> list[str]:
        lines = ["switch (a, b) {"]
        for m in self.members:
            case = self.lang._case(m)
            lines += [f"case let (.{case}(x), .{case}(y)):", f"    return {self.function(m)}(x, y)"]
        kinds = {m.kind for m in self.members}
        if {"int", "float"} <= kinds:
            double = self.function(Type("float"))
            lines += ["case let (.intValue(x), .doubleValue(y)):", f"    return {double}(Double(x), y)",
                      "case let (.doubleValue(x), .intValue(y)):", f"    return {double}(x, Double(y))"]
        lines += ["default:", "    return false", "}"]
        return lines


def _split_args(text: str) -> list[str] | None:
    """Split rendered Swift arguments at top-level commas (outside brackets, parentheses and strings)."""
    args, depth, start, i, in_str = [], 0, 0, 0, False
    while i < len(text):
        ch = text[i]
        if in_str:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(text[start:i].strip())
            start = i + 1
        i += 1
    if in_str or depth != 0:
        return None
    args.append(text[start:].strip())
    return [a for a in args if a] if text.strip() else []
