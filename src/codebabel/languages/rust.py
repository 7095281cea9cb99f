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
import re
import shutil
import subprocess
from collections.abc import Sequence
from functools import cache
from typing import Any

from codebabel.execute.sandbox import ExecResult
from codebabel.execute.status import Status
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
from codebabel.languages.types import INT, Type, Untranslatable, of_value, union_member

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_ANY = "Box<dyn std::any::Any>"

#: enum variant names of union members, and their order in an enum (a union's members are sorted by it, so
#: int | str and str | int are one enum)
_VARIANTS = {"int": "Int", "float": "Float", "str": "Str", "bool": "Bool", "list": "List", "dict": "Dict",
             "tuple": "Tuple", "optional": "Option"}
_ORDER = list(_VARIANTS)

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}

_HELPERS = f"""trait CodebabelEq {{
    fn codebabel_eq(&self, other: &Self) -> bool;
}}
impl CodebabelEq for isize {{
    fn codebabel_eq(&self, other: &Self) -> bool {{ self == other }}
}}
impl CodebabelEq for f64 {{
    fn codebabel_eq(&self, other: &Self) -> bool {{ self == other || (self - other).abs() < {FLOAT_TOLERANCE} }}
}}
impl CodebabelEq for bool {{
    fn codebabel_eq(&self, other: &Self) -> bool {{ self == other }}
}}
impl CodebabelEq for String {{
    fn codebabel_eq(&self, other: &Self) -> bool {{ self == other }}
}}
impl<T: CodebabelEq> CodebabelEq for Vec<T> {{
    fn codebabel_eq(&self, other: &Self) -> bool {{
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a.codebabel_eq(b))
    }}
}}
impl<T: CodebabelEq> CodebabelEq for Option<T> {{
    fn codebabel_eq(&self, other: &Self) -> bool {{
        match (self, other) {{
            (Some(a), Some(b)) => a.codebabel_eq(b),
            (None, None) => true,
            _ => false,
        }}
    }}
}}
impl<K: std::hash::Hash + Eq, V: CodebabelEq> CodebabelEq for std::collections::HashMap<K, V> {{
    fn codebabel_eq(&self, other: &Self) -> bool {{
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k).map_or(false, |w| v.codebabel_eq(w)))
    }}
}}
"""

_CHECK = f"""fn codebabel_check(ok: bool, test: usize) {{
    if !ok {{
        eprintln!("{ASSERT_MARKER} test {{}}", test);
        std::process::exit(1);
    }}
}}
"""



def string_literal(s: str) -> str:
    out = []
    for ch in s:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{{{code:x}}}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def int_literal(v: int) -> str:
    if not _I64_MIN <= v <= _I64_MAX:
        raise Untranslatable(f"integer {v} does not fit a 64-bit isize")
    if v == _I64_MIN:
        return f"({v + 1} - 1)"
    return str(v)


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


def value_member(v: Any, t: Type) -> Type:
    """The union member a value is rendered as: the one of its own Python type where the union has it (an
    int stays an int where the union also holds float), else the first that fits."""
    own = of_value(v)
    return own if own in t.args else union_member(v, t)


def any_type(v: Any) -> Type:
    """The type a value of Python type Any is rendered as: its own (element types never seen are int; a
    list of mixed types is a list of Any)."""
    return _settle_any(of_value(v))


def _settle_any(t: Type) -> Type:
    if t.kind == "unknown":
        return INT
    if t.kind in ("union", "optional"):
        return Type("any")
    return Type(t.kind, tuple(_settle_any(a) for a in t.args))


def unions(t: Type) -> list[Type]:
    """Every union type within ``t``, innermost first."""
    found = [u for a in t.args for u in unions(a)]
    return [*found, t] if t.kind == "union" else found


def _hashable(t: Type) -> bool:
    if t.kind in ("int", "str", "bool"):
        return True
    if t.kind in ("list", "tuple", "optional", "union"):
        return all(_hashable(a) for a in t.args)
    return False


class Rust(Language):
    name = "rs"
    display_name = "Rust"
    aliases = ("rust",)
    extensions = (".rs",)

    source_license = "MIT OR Apache-2.0"

    def system_sources(self) -> list[str]:
        root = ask_toolchain("rustc", "--print", "sysroot")
        return existing(root and f"{root}/lib/rustlib/src/rust/library")
    fence = "rust"
    stop_tokens = ("\n}",)
    apt_packages = ("rustc",)
    toolchain = ("rustc",)
    tree_sitter = "rust"
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

    # -- types and literals -----------------------------------------------------------------------------------
    def type_name(self, t: Type) -> str:
        k = t.kind
        if k == "int":
            return "isize"
        if k == "float":
            return "f64"
        if k == "str":
            return "String"
        if k == "bool":
            return "bool"
        if k == "list":
            return f"Vec<{self.type_name(t.elem)}>"
        if k == "dict":
            return f"HashMap<{self.type_name(t.key)}, {self.type_name(t.value)}>"
        if k == "tuple":
            items = [self.type_name(a) for a in t.args]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if k == "optional":
            return f"Option<{self.type_name(t.elem)}>"
        if k == "union":
            return enum_name(t)
        if k == "any":
            return _ANY
        raise Untranslatable(f"type {t} has no Rust equivalent")

    def literal(self, value: Any, t: Type) -> str:
        return self._literal(value, t, False)

    def _literal(self, value: Any, t: Type, exact: bool) -> str:
        """``exact``: the literal must have its type without inference from the context (inside a Box<dyn
        Any>): numbers get suffixes, empty containers their types."""
        k = t.kind
        if k == "optional":
            if value is None:
                return f"None::<{self.type_name(t.elem)}>" if exact else "None"
            return f"Some({self._literal(value, t.elem, exact)})"
        if k == "union":
            m = value_member(value, t)
            variant = variant_names(t)[members(t).index(m)]
            return f"{enum_name(t)}::{variant}({self._literal(value, m, exact)})"
        if k == "any":
            inner = "()" if value is None else self._literal(value, any_type(value), True)
            return f"Box::new({inner}) as {_ANY}"
        if k == "bool":
            return "true" if value else "false"
        if k == "int":
            lit = int_literal(value)
            return f"{lit}isize" if exact and not lit.startswith("(") else lit
        if k == "float":
            lit = repr(float(value))  # 1.5, 1e-05, 1e+16: all f64 literals
            return f"{lit}f64" if exact else lit
        if k == "str":
            return f"String::from({string_literal(value)})"
        if k == "list":
            if not value and exact:
                return f"Vec::<{self.type_name(t.elem)}>::new()"
            return "vec![" + ", ".join(self._literal(v, t.elem, exact) for v in value) + "]"
        if k == "dict":
            if not value:
                return f"HashMap::<{self.type_name(t.key)}, {self.type_name(t.value)}>::new()" if exact \
                    else "HashMap::new()"
            pairs = ", ".join(f"({self._literal(a, t.key, exact)}, {self._literal(b, t.value, exact)})"
                              for a, b in value.items())
            return f"HashMap::from([{pairs}])"
        if k == "tuple":
            items = [self._literal(v, u, exact) for v, u in zip(value, t.args, strict=True)]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        raise Untranslatable(f"no Rust literal for {value!r} of type {t}")

    # -- translation ------------------------------------------------------------------------------------------
    def _enums(self, sig: Signature) -> list[Type]:
        """The signature's union types, each once; two of them with one enum name cannot be told apart."""
        found: dict[str, Type] = {}
        for t in (*(p.type for p in sig.params), sig.returns):
            for u in unions(t):
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
        arities = sorted({len(t.args) for t in _all_types(sig.returns) if t.kind == "tuple"})
        out = []
        for n in arities:
            names = [f"T{i}" for i in range(n)]
            bounds = ", ".join(f"{x}: CodebabelEq" for x in names)
            tup = f"({names[0]},)" if n == 1 else f"({', '.join(names)})"
            body = " && ".join(f"self.{i}.codebabel_eq(&other.{i})" for i in range(n))
            out.append(f"impl<{bounds}> CodebabelEq for {tup} {{\n"
                       f"    fn codebabel_eq(&self, other: &Self) -> bool {{ {body} }}\n}}\n")
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

    def test_harness(self, sig: Signature, tests: Sequence[tuple[str, str]]) -> str:
        lines = ["}", "", _HELPERS + self._tuple_impls(sig) + self._enum_impls(sig) + _CHECK + "fn main() {"]
        lines += [f"    codebabel_check({call}.codebabel_eq(&{expected}), {i});"
                  for i, (call, expected) in enumerate(tests, 1)]
        lines += [f'    println!("{DONE_MARKER}");', "}"]
        return "\n".join(lines)

    def stub(self, sig: Signature) -> str:
        return f"    return {self.default_literal(sig.returns)};\n"

    # -- execution --------------------------------------------------------------------------------------------
    def run_spec(self, program: str) -> RunSpec:
        rustc, ro_paths = _rustc()
        return RunSpec(files={"main.rs": program}, ro_paths=ro_paths, run=["./main"],
                       compile=[rustc, "--edition", "2021", "-C", "opt-level=0", "-A", "warnings", "-o", "main",
                                "main.rs"])

    def classify_compile(self, result: ExecResult) -> Status:
        """By the first error rustc reports (later ones often follow from it)."""
        if result.timed_out:
            return Status.TIMEOUT
        output = result.stderr + result.stdout
        first = next((ln for ln in output.splitlines()
                      if ln.startswith("error") and not ln.startswith("error: aborting due to")), "")
        if any(re.search(p, first) for p in self.syntax_error_patterns):
            return Status.SYNTAX_ERROR
        if any(re.search(p, first) for p in self.type_error_patterns):
            return Status.TYPE_ERROR
        if any(re.search(p, output, re.MULTILINE) for p in self.memory_error_patterns):
            return Status.MEMORY_LIMIT
        return Status.COMPILE_ERROR


def _all_types(t: Type):
    yield t
    for a in t.args:
        yield from _all_types(a)


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
