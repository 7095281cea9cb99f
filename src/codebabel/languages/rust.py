"""Rust (rustc, edition 2021): MultiPL-E's ``rs`` target, compiled with ``rustc -C opt-level=0``, run natively.

MultiPL-E's layout: the docstring as ``///`` comments, then ``fn f(params) -> R {``; the stop token ``"\\n}"``
cuts the function's closing brace, so the harness starts with it. Types as in MultiPL-E (``isize``,
``String``, ``bool``, ``Vec``, ``HashMap``, tuples, ``Option``) except that Python floats are ``f64``; the
prompt imports ``HashMap`` where the signature has one. Where MultiPL-E gives up we go on: a union is a
small enum declared in the prompt before the docstring, one variant per member (``enum IntOrStr { Int(isize),
Str(String) }``), and ``Any`` is ``Box<dyn std::any::Any>`` holding a value of its own Python type.

The harness compares with a ``CodebabelEq`` trait implemented for every type a function can return (floats
within FLOAT_TOLERANCE, maps by key, the prompt's enums by variant then value). Overflow checks are on (as in
any debug build): an overflow panics, and a panic (exit code 101) is a runtime error.

rustup's ``rustc`` is a proxy that needs its home directory: the real compiler of the selected toolchain is
resolved once (``rustc --print sysroot``) and run inside the sandbox with its sysroot mounted read-only;
Debian's ``rustc`` (``apt-get install rustc``) is used as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from typing import Any

from codebabel.languages.base import DONE_MARKER, RunSpec, Signature
from codebabel.languages.render import (
    C_ESCAPES,
    INT64,
    Target,
    control,
    harness_code,
    own_type,
    paren_tuple,
    value_member,
)
from codebabel.languages.types import INT, Type, Untranslatable

_I64_MIN = -(2**63)
_ANY = "Box<dyn std::any::Any>"

#: enum variant names of union members, and their order in an enum (a union's members are sorted by it, so
#: int | str and str | int are one enum)
_VARIANTS = {"int": "Int", "float": "Float", "str": "Str", "bool": "Bool", "list": "List", "dict": "Dict",
             "tuple": "Tuple", "optional": "Option"}
_ORDER = list(_VARIANTS)


def _impl(target: str, body: str) -> str:
    """``impl<...> CodebabelEq for <target>`` whose one-line method returns ``body``."""
    return f"impl{target} {{\n    fn codebabel_eq(&self, other: &Self) -> bool {{ {body} }}\n}}\n"


_HELPERS = harness_code("rust.rs")["helpers"]

_CHECK = harness_code("rust.rs")["check"]


def members(t: Type) -> list[Type]:
    """A union's members in enum order."""
    return sorted(t.args, key=lambda u: _ORDER.index(u.kind) if u.kind in _ORDER else len(_ORDER))


def variant_names(t: Type) -> list[str]:
    """Variant names of a union's members (in enum order): the member's kind, with its element types where
    two members share a kind (List(Vec<isize>) and List(Vec<String>) become ListInt and ListStr)."""
    ms = members(t)
    kinds = [u.kind for u in ms]
    out = []
    for u in ms:
        if u.kind not in _VARIANTS:
            raise Untranslatable(f"a union member of type {u} has no Rust enum variant")
        out.append(_long_name(u) if kinds.count(u.kind) > 1 else _VARIANTS[u.kind])
    return out


def _long_name(t: Type) -> str:
    return _VARIANTS.get(t.kind, t.kind.title()) + "".join(_long_name(a) for a in t.args)


def enum_name(t: Type) -> str:
    return "Or".join(variant_names(t))


def _hashable(t: Type) -> bool:
    if t.kind in ("int", "str", "bool"):
        return True
    if t.kind in ("list", "tuple", "optional", "union"):
        return all(_hashable(a) for a in t.args)
    return False


class Rust(Target):
    name, display_name, aliases, extensions = "rs", "Rust", ("rust",), (".rs",)
    fence = tree_sitter = "rust"
    apt_packages = toolchain = ("rustc",)
    source_query, source_subdir = ("rustc", "--print", "sysroot"), "/lib/rustlib/src/rust/library"
    stop_tokens, source_license = ("\n}",), "MIT OR Apache-2.0"
    doc_terms = {"list": "vector", "lists": "vectors", "array": "vector", "arrays": "vectors",
                 "dictionary": "HashMap", "dictionaries": "HashMaps", "True": "true", "False": "false"}
    reserved = frozenset({
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false",
        "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
        "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while",
        "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual",
        "yield", "try", "gen",
        # the harness's own names
        "main", "codebabel_check", "CodebabelEq"})
    syntax_error_patterns = (
        r"^error: expected ", r"^error: unexpected closing delimiter", r"^error: mismatched closing delimiter",
        r"^error: this file contains an unclosed delimiter", r"^error: unknown start of token",
        r"^error: unterminated ", r"^error\[E07(58|6[2-6])\]", r"^error: missing (`|type|condition|parameters)",
        r"^error: found a documentation comment that doesn't document anything",
        r"^error: (invalid|unknown) (suffix|character|prefix|escape)", r"^error: incorrect ",
        r"^error: (unexpected|unmatched) ", r"^error: prefix `.*` is unknown", r"^error: expressions? ",
        r"^error: leading `\+` is not supported", r"^error: `.*` is interpreted as a start of generic arguments",
    )
    type_error_patterns = (
        r"^error\[E0(308|277|369|600|604|605|606|607|608|610|614|282|283|061|271|631|620|054|070)\]",
    )
    memory_error_patterns = (r"memory allocation of \d+ bytes failed", r"out of memory")
    first_error_pattern = r"^error(?!: aborting due to)"  # later errors often follow from the first

    null, int_bounds, int_type = "None", INT64, "a 64-bit isize"
    escapes, code_escapes = {**C_ESCAPES, "\0": "\\0"}, control("\\u{{{:x}}}")
    type_names = {"int": "isize", "float": "f64", "str": "String", "bool": "bool", "any": _ANY}
    type_formats = {"list": "Vec<{0}>", "dict": "HashMap<{0}, {1}>", "optional": "Option<{0}>"}
    check_line = "    codebabel_check({call}.codebabel_eq(&{expected}), {i});"
    harness_tail, stub_format = (f'    println!("{DONE_MARKER}");', "}"), "    return {value};\n"

    # -- types and literals -----------------------------------------------------------------------------------
    def type_name(self, t: Type) -> str:
        if t.kind == "tuple":
            return paren_tuple(self.type_name(a) for a in t.args)
        return enum_name(t) if t.kind == "union" else super().type_name(t)

    # ``ctx`` True: the literal must have its type without inference from the context (inside a Box<dyn Any>):
    # numbers get suffixes, empty containers their types
    def optional_literal(self, value: Any, t: Type, ctx: Any) -> str:
        if value is None:
            return f"None::<{self.type_name(t.elem)}>" if ctx else "None"
        return f"Some({self.render(value, t.elem, ctx)})"

    def union_literal(self, value: Any, t: Type, ctx: Any) -> str:
        m = value_member(value, t)
        variant = variant_names(t)[members(t).index(m)]
        return f"{enum_name(t)}::{variant}({self.render(value, m, ctx)})"

    def any_literal(self, value: Any, t: Type, ctx: Any) -> str:
        # its own type: element types never seen are int; a list of mixed types is a list of Any
        inner = "()" if value is None else self.render(value, own_type(value, INT, mixed=True), True)
        return f"Box::new({inner}) as {_ANY}"

    def int_literal(self, value: int, ctx: Any) -> str:
        lit = super().int_literal(value, ctx)
        if value == _I64_MIN:
            return f"({value + 1} - 1)"
        return f"{lit}isize" if ctx else lit

    def float_literal(self, value: float, ctx: Any) -> str:
        lit = super().float_literal(value, ctx)
        return f"{lit}f64" if ctx else lit

    def string_literal(self, value: str, ctx: Any) -> str:
        return f"String::from({super().string_literal(value, ctx)})"

    def list_literal(self, items: Iterator[str], value: Any, t: Type, ctx: Any) -> str:
        if not value and ctx:
            return f"Vec::<{self.type_name(t.elem)}>::new()"
        return "vec![" + ", ".join(items) + "]"

    def dict_literal(self, entries: Iterator[tuple[str, str]], value: Any, t: Type, ctx: Any) -> str:
        if not value:
            return f"HashMap::<{self.type_name(t.key)}, {self.type_name(t.value)}>::new()" if ctx else "HashMap::new()"
        pairs = ", ".join(f"({a}, {b})" for a, b in entries)
        return f"HashMap::from([{pairs}])"

    def tuple_literal(self, items: Iterator[str], value: Any, t: Type, ctx: Any) -> str:
        return paren_tuple(items)

    # -- translation ------------------------------------------------------------------------------------------
    def _enums(self, sig: Signature) -> list[Type]:
        """The signature's union types, each once; two of them with one enum name cannot be told apart."""
        found: dict[str, Type] = {}
        for t in (*(p.type for p in sig.params), sig.returns):
            for u in (v for v in t.walk() if v.kind == "union"):  # innermost first
                name = enum_name(u)
                if found.setdefault(name, u) != u and set(found[name].args) != set(u.args):
                    raise Untranslatable(f"two union types would both be the Rust enum {name}")
        return list(found.values())

    def prompt(self, sig: Signature) -> str:
        if sig.returns.contains("any"):
            raise Untranslatable("a return type holding Any (Box<dyn Any> has no equality)")
        types = [p.type for p in sig.params] + [sig.returns]
        head = ""
        if any(t.contains("dict") or t.contains("any") for t in types):
            head += "use std::collections::HashMap;\n\n"
        for u in self._enums(sig):
            derives = "Debug, Clone, PartialEq" + (", Eq, Hash" if _hashable(u) else "")
            variants = "".join(f"    {v}({self.type_name(m)}),\n" for v, m in zip(variant_names(u), members(u),
                                                                                    strict=True))
            head += f"#[derive({derives})]\nenum {enum_name(u)} {{\n{variants}}}\n\n"
        params = ", ".join(f"{p.name}: {self.type_name(p.type)}" for p in sig.params)
        return f"{head}{self.comment(sig.doc, '///')}fn {sig.name}({params}) -> {self.type_name(sig.returns)} {{\n"

    def _tuple_impls(self, sig: Signature) -> str:
        arities = sorted({len(t.args) for t in sig.returns.walk() if t.kind == "tuple"})
        out = []
        for n in arities:
            names = [f"T{i}" for i in range(n)]
            bounds = ", ".join(f"{x}: CodebabelEq" for x in names)
            body = " && ".join(f"self.{i}.codebabel_eq(&other.{i})" for i in range(n))
            out.append(_impl(f"<{bounds}> CodebabelEq for {paren_tuple(names)}", body))
        return "".join(out)

    def _enum_impls(self, sig: Signature) -> str:
        out = []
        for u in self._enums(sig):
            name = enum_name(u)
            arms = "".join(f"            ({name}::{v}(a), {name}::{v}(b)) => a.codebabel_eq(b),\n"
                           for v in variant_names(u))
            out.append(f"impl CodebabelEq for {name} {{\n    fn codebabel_eq(&self, other: &Self) -> bool {{\n"
                       f"        match (self, other) {{\n{arms}            _ => false,\n        }}\n    }}\n}}\n")
        return "".join(out)

    def harness_start(self, sig: Signature) -> tuple[list[str], dict[str, str]]:
        return ["}", "", _HELPERS + self._tuple_impls(sig) + self._enum_impls(sig) + _CHECK + "fn main() {"], {}

    # -- execution --------------------------------------------------------------------------------------------
    def run_spec(self, program: str) -> RunSpec:
        rustc, ro_paths = _rustc()
        return RunSpec(files={"main.rs": program}, ro_paths=ro_paths, run=["./main"],
                       compile=[rustc, "--edition", "2021", "-C", "opt-level=0", "-A", "warnings", "-o", "main",
                                "main.rs"])


@cache
def _rustc() -> tuple[str, tuple[str, ...]]:
    """The real rustc and the read-only paths it needs in the sandbox: rustup's proxy resolved to its
    toolchain's compiler (with the sysroot mounted), a rustc under /usr as it is."""
    exe = shutil.which("rustc")
    if exe is None:
        return "rustc", ()
    try:
        out = subprocess.run([exe, "--print", "sysroot"], capture_output=True, text=True, timeout=120)
        sysroot = os.path.realpath(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else ""
    except (OSError, subprocess.SubprocessError):
        sysroot = ""
    real = os.path.join(sysroot, "bin", "rustc") if sysroot else ""
    if not real or not os.path.isfile(real):
        return os.path.realpath(exe), ()
    visible = ("/usr/", "/bin/", "/lib/", "/lib64/", "/etc/")
    return real, (() if (sysroot + "/").startswith(visible) else (sysroot,))
