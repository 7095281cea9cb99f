"""C++ (g++, C++17): MultiPL-E's ``cpp`` target, compiled with ``g++ -std=c++17 -O0`` and run natively.

MultiPL-E's layout: includes, the docstring as ``//`` comments, then ``R f(params) {``; the stop token
``"\\n}"`` cuts the function's closing brace, so the harness starts with it. Types as in MultiPL-E (``long``,
``std::string``, ``bool``, ``std::vector``, ``std::map``, ``std::tuple``, ``std::optional``) except that
Python floats are ``double`` (a 32-bit float cannot meet FLOAT_TOLERANCE). Where MultiPL-E gives up we go
on: a union is a ``std::variant`` and ``Any`` a ``std::any`` holding a value of its own Python type.

MultiPL-E's prompts include ``<bits/stdc++.h>``; parsing it is about twice the work of the standard headers
HumanEval solutions use, so the prompt includes those by name (the completion cannot add includes once the
function has begun, so the list is broad). Parsing them is still most of a compile (about 0.9 of 1.1 CPU
seconds here; with <bits/stdc++.h> about 2.3), so they are also precompiled once (a compile then takes
about 0.25 CPU seconds): a GCC precompiled header of exactly these includes, built outside
the sandbox from the system's own headers into ``$CODEBABEL_HOME/cpp-pch/<key>/`` (the key hashes the
compiler's version, the flags and the preprocessed headers, so any change builds a new one), mounted
read-only and passed with ``-include``; the program's own ``#include`` lines then find their headers already
included. Where it cannot be built (no writable cache) or g++ finds it unusable, g++ reads the headers
themselves: the same program, only slower. The harness compares with ``codebabel::Eq<R>``, a deep equality
specialised per type (doubles within FLOAT_TOLERANCE, variants by alternative then value).

An uncaught exception or a crash ends a C++ program with a signal (SIGABRT from ``std::terminate``,
SIGSEGV, SIGFPE): those are the program's runtime errors here (``std::bad_alloc`` is a memory limit), not
the sandbox's ``killed``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codebabel.config import home
from codebabel.execute.sandbox import ExecResult
from codebabel.execute.status import Status
from codebabel.languages.base import ASSERT_MARKER, DONE_MARKER, FLOAT_TOLERANCE, Language, RunSpec, Signature
from codebabel.languages.types import INT, Type, Untranslatable, of_value, union_member

#: standard headers every prompt includes: what HumanEval solutions use, about half the parse time of
#: <bits/stdc++.h> (which is everything, <regex> and <filesystem> included)
HEADERS = ("algorithm", "any", "array", "bitset", "cassert", "cctype", "climits", "cmath", "cstdint", "cstdlib",
           "cstring", "deque", "functional", "iomanip", "iostream", "iterator", "limits", "list", "map",
           "numeric", "optional", "queue", "set", "sstream", "stack", "string", "tuple", "unordered_map",
           "unordered_set", "utility", "variant", "vector")

#: flags of every compile (a precompiled header is only used by a compile with the flags it was built with)
FLAGS = ("-std=c++17", "-O0")
#: the PATH inside the sandbox: the g++ that compiles the programs
_SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1

_HELPERS = f"""namespace codebabel {{
template <class T> struct Eq {{
    static bool eq(const T& a, const T& b) {{ return a == b; }}
}};
template <> struct Eq<double> {{
    static bool eq(const double& a, const double& b) {{ return a == b || std::fabs(a - b) < {FLOAT_TOLERANCE}; }}
}};
template <class T> struct Eq<std::vector<T>> {{
    static bool eq(const std::vector<T>& a, const std::vector<T>& b) {{
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); i++)
            if (!Eq<T>::eq(a[i], b[i])) return false;
        return true;
    }}
}};
template <class K, class V> struct Eq<std::map<K, V>> {{
    static bool eq(const std::map<K, V>& a, const std::map<K, V>& b) {{
        if (a.size() != b.size()) return false;
        for (const auto& kv : b) {{
            auto it = a.find(kv.first);
            if (it == a.end() || !Eq<V>::eq(it->second, kv.second)) return false;
        }}
        return true;
    }}
}};
template <class T> struct Eq<std::optional<T>> {{
    static bool eq(const std::optional<T>& a, const std::optional<T>& b) {{
        return a.has_value() == b.has_value() && (!a.has_value() || Eq<T>::eq(*a, *b));
    }}
}};
template <class... Ts> struct Eq<std::tuple<Ts...>> {{
    template <std::size_t... I>
    static bool each(const std::tuple<Ts...>& a, const std::tuple<Ts...>& b, std::index_sequence<I...>) {{
        return (true && ... && Eq<Ts>::eq(std::get<I>(a), std::get<I>(b)));
    }}
    static bool eq(const std::tuple<Ts...>& a, const std::tuple<Ts...>& b) {{
        return each(a, b, std::index_sequence_for<Ts...>{{}});
    }}
}};
template <class... Ts> struct Eq<std::variant<Ts...>> {{
    template <std::size_t... I>
    static bool each(const std::variant<Ts...>& a, const std::variant<Ts...>& b, std::index_sequence<I...>) {{
        return (false || ... || (a.index() == I && Eq<Ts>::eq(std::get<I>(a), std::get<I>(b))));
    }}
    static bool eq(const std::variant<Ts...>& a, const std::variant<Ts...>& b) {{
        return a.index() == b.index() && each(a, b, std::index_sequence_for<Ts...>{{}});
    }}
}};
inline void check(bool ok, int test) {{
    if (!ok) {{
        std::cerr << "{ASSERT_MARKER} test " << test << std::endl;
        std::exit(1);
    }}
}}
}}  // namespace codebabel
"""

_SCALARS = {"int": "long", "float": "double", "str": "std::string", "bool": "bool"}

#: C++ string-literal escapes; other control characters become 3-digit octal escapes (a hex escape would
#: swallow the hex digits after it)
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}



def string_literal(s: str) -> str:
    out = []
    for ch in s:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\{code:03o}")
        else:
            out.append(ch)  # the source is UTF-8, and so is a std::string of it
    return '"' + "".join(out) + '"'


def long_literal(v: int) -> str:
    if not _LONG_MIN <= v <= _LONG_MAX:
        raise Untranslatable(f"integer {v} does not fit a 64-bit long")
    if v == _LONG_MIN:
        return f"({v + 1} - 1)"  # 9223372036854775808 itself is no long literal
    return str(v)


def value_member(v: Any, t: Type) -> Type:
    """The union member a value is rendered as: the one of its own Python type where the union has it (an
    int stays an int where the union also holds float), else the first that fits."""
    own = of_value(v)
    return own if own in t.args else union_member(v, t)


def any_type(v: Any) -> Type:
    """The type a value of Python type Any is rendered as: its own (element types never seen are int, as
    elsewhere; a list of mixed types is a list of std::any)."""
    return _settle_any(of_value(v))


def _settle_any(t: Type) -> Type:
    if t.kind == "unknown":
        return INT
    if t.kind in ("union", "optional"):
        return Type("any")
    return Type(t.kind, tuple(_settle_any(a) for a in t.args))


class Cpp(Language):
    name = "cpp"
    display_name = "C++"
    aliases = ("c++", "cxx", "cplusplus")
    extensions = (".cpp", ".cc", ".cxx", ".hpp")
    fence = "cpp"
    stop_tokens = ("\n}",)
    apt_packages = ("g++",)
    toolchain = ("g++",)
    tree_sitter = "cpp"
    doc_terms = {"list": "vector", "lists": "vectors", "array": "vector", "arrays": "vectors",
                 "dictionary": "map", "dictionaries": "maps", "dict": "map", "None": "std::nullopt",
                 "True": "true", "False": "false"}
    reserved = frozenset({
        "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch",
        "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept", "const", "consteval", "constexpr",
        "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype", "default",
        "delete", "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false",
        "float", "for", "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept",
        "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
        "reinterpret_cast", "requires", "return", "short", "signed", "sizeof", "static", "static_assert",
        "static_cast", "struct", "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef",
        "typeid", "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while",
        "xor", "xor_eq",
        # macros of the included headers, and the harness's own names
        "assert", "errno", "EOF", "NULL", "main", "std", "codebabel"})
    syntax_error_patterns = (
        r": error: expected ", r": error: stray ", r": error: missing terminating ",
        r": error: unterminated ", r": error: '.*' without a previous ", r": error: unmatched ",
        r": error: extended character .* is not valid in an identifier",
    )
    type_error_patterns = (
        r": error: cannot convert ", r": error: could not convert ", r": error: invalid conversion from ",
        r": error: conversion from .* to .* requested", r": error: no match for 'operator",
        r": error: invalid operands (of types|to binary expression)", r": error: no matching function for call to ",
        r": error: invalid initialization of ", r": error: request for member .* which is of non-class type",
        r": error: invalid (user-defined )?conversion ", r": error: cannot bind ",
        r": error: wrong type argument to ", r": error: invalid types .* for array subscript",
        r": error: subscripted value is neither array nor pointer", r": error: invalid type argument of ",
        r": error: inconsistent deduction for auto return type", r": error: incompatible types ",
        r": error: static assertion failed",
    )
    memory_error_patterns = (r"std::bad_alloc", r"virtual memory exhausted", r"out of memory allocating",
                             r"Cannot allocate memory")

    # -- types and literals -----------------------------------------------------------------------------------
    def type_name(self, t: Type) -> str:
        k = t.kind
        if k in _SCALARS:
            return _SCALARS[k]
        if k == "list":
            return f"std::vector<{self.type_name(t.elem)}>"
        if k == "dict":
            return f"std::map<{self.type_name(t.key)}, {self.type_name(t.value)}>"
        if k == "tuple":
            return f"std::tuple<{', '.join(self.type_name(a) for a in t.args)}>"
        if k == "optional":
            return f"std::optional<{self.type_name(t.elem)}>"
        if k == "union":
            return f"std::variant<{', '.join(self.type_name(a) for a in t.args)}>"
        if k == "any":
            return "std::any"
        raise Untranslatable(f"type {t} has no C++ equivalent")

    def literal(self, value: Any, t: Type) -> str:
        return self._literal(value, t, "top")

    def _literal(self, value: Any, t: Type, ctx: str) -> str:
        """``ctx``: "top" (an argument or expected value: it converts to the parameter's or the return
        type, but a string is a std::string so that no overload for ``const char*`` is picked), "elem" (a
        container's element, converted to the element type) or "exact" (a union member or std::any
        content: the literal must have the type itself)."""
        k = t.kind
        if k == "optional":
            return "std::nullopt" if value is None else self._literal(value, t.elem, ctx)
        if k == "union":
            return f"{self.type_name(t)}({self._literal(value, value_member(value, t), 'exact')})"
        if k == "any":
            if value is None:
                return "std::any()"
            return f"std::any({self._literal(value, any_type(value), 'exact')})"
        if k == "bool":
            return "true" if value else "false"
        if k == "int":
            lit = long_literal(value)
            return f"{lit}L" if ctx == "exact" and lit.lstrip("-").isdigit() else lit
        if k == "float":
            return repr(float(value))  # 1.5, 1e-05, 1e+16: all double literals
        if k == "str":
            return string_literal(value) if ctx == "elem" else f"std::string({string_literal(value)})"
        if k == "list":
            items = ", ".join(self._literal(v, t.elem, "elem") for v in value)
            return f"{self.type_name(t)}{{{items}}}"
        if k == "dict":
            pairs = ", ".join(f"{{{self._literal(a, t.key, 'elem')}, {self._literal(b, t.value, 'elem')}}}"
                              for a, b in value.items())
            return f"{self.type_name(t)}{{{pairs}}}"
        if k == "tuple":
            items = ", ".join(self._literal(v, u, "elem") for v, u in zip(value, t.args, strict=True))
            return f"{self.type_name(t)}({items})"
        raise Untranslatable(f"no C++ literal for {value!r} of type {t}")

    # -- translation ------------------------------------------------------------------------------------------
    def comment(self, lines: Sequence[str], prefix: str) -> str:
        # a // comment whose line ends in a backslash continues onto the next line (the function header)
        safe = [f"{ln}." if ln.rstrip().endswith("\\") else ln for ln in lines]
        return super().comment(safe, prefix)

    def prompt(self, sig: Signature) -> str:
        if sig.returns.contains("any"):
            raise Untranslatable("a return type holding Any (std::any has no equality)")
        includes = "".join(f"#include <{h}>\n" for h in HEADERS)
        params = ", ".join(f"{self.type_name(p.type)} {p.name}" for p in sig.params)
        return f"{includes}{self.comment(sig.doc, '//')}{self.type_name(sig.returns)} {sig.name}({params}) {{\n"

    def test_harness(self, sig: Signature, tests: Sequence[tuple[str, str]]) -> str:
        ret = self.type_name(sig.returns)
        lines = ["}", _HELPERS, "int main() {"]
        lines += [f"    codebabel::check(codebabel::Eq<{ret}>::eq({call}, {expected}), {i});"
                  for i, (call, expected) in enumerate(tests, 1)]
        lines += [f'    std::cout << "{DONE_MARKER}" << std::endl;', "    return 0;", "}"]
        return "\n".join(lines)

    def stub(self, sig: Signature) -> str:
        return f"    return {self.default_literal(sig.returns)};\n"

    # -- execution --------------------------------------------------------------------------------------------
    def run_spec(self, program: str) -> RunSpec:
        header = precompiled_header()
        if header is None:
            return RunSpec(files={"main.cpp": program}, compile=["g++", *FLAGS, "-pipe", "-o", "main", "main.cpp"],
                           run=["./main"])
        return RunSpec(files={"main.cpp": program}, ro_paths=(os.path.dirname(header),), run=["./main"],
                       compile=["g++", *FLAGS, "-pipe", "-include", header, "-o", "main", "main.cpp"])

    def classify_compile(self, result: ExecResult) -> Status:
        """By the first error g++ reports (later ones often follow from it)."""
        if result.timed_out:
            return Status.TIMEOUT
        output = result.stderr + result.stdout
        first = next((ln for ln in output.splitlines() if ": error: " in ln or ": fatal error: " in ln), "")
        if any(re.search(p, first) for p in self.syntax_error_patterns):
            return Status.SYNTAX_ERROR
        if any(re.search(p, first) for p in self.type_error_patterns):
            return Status.TYPE_ERROR
        if any(re.search(p, output) for p in self.memory_error_patterns):
            return Status.MEMORY_LIMIT
        return Status.COMPILE_ERROR


#: where the sandbox mounts its own: a precompiled header there would be hidden from the compiler
_HIDDEN = ("/tmp", "/proc", "/dev")
_PCH_LOCK = threading.Lock()
_PCH: dict[str, str | None] = {}


def precompiled_header() -> str | None:
    """The header to ``-include`` (its ``.gch`` beside it) for the prompt's standard headers, built on first
    use; None where there is none (no g++, no writable cache, a failed build)."""
    root = Path(os.path.abspath(home() / "cpp-pch"))  # mounted in the sandbox at this path: absolute
    if any(root.is_relative_to(hidden) for hidden in _HIDDEN):
        return None  # the sandbox's own /tmp (its working directory) would hide it
    with _PCH_LOCK:
        if str(root) not in _PCH:
            _PCH[str(root)] = _build_pch(root)
        header = _PCH[str(root)]
    if header is not None and not os.path.isfile(header + ".gch"):
        return None  # removed since: compile without it
    return header


def _build_pch(root: Path) -> str | None:
    gxx = shutil.which("g++", path=_SANDBOX_PATH)
    if gxx is None:
        return None
    source = "".join(f"#include <{h}>\n" for h in HEADERS)
    try:
        version = subprocess.run([gxx, "-v"], capture_output=True, text=True, timeout=60)
        expanded = subprocess.run([gxx, *FLAGS, "-E", "-x", "c++", "-"], input=source, capture_output=True,
                                  text=True, timeout=120)
        if version.returncode != 0 or expanded.returncode != 0:
            return None
        key = hashlib.sha256("\0".join((version.stderr, " ".join(FLAGS), source, expanded.stdout)).encode())
        folder = root / key.hexdigest()[:20]
        header, gch = folder / "codebabel_std.h", folder / "codebabel_std.h.gch"
        if gch.is_file():
            return str(header)
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o755)  # read by the sandbox's unprivileged uid
        with open(root / ".lock", "w") as lock:  # one build at a time, across processes too
            fcntl.flock(lock, fcntl.LOCK_EX)
            if gch.is_file():
                return str(header)
            header.write_text(source)
            os.chmod(header, 0o644)
            tmp = folder / f"codebabel_std.h.gch.{os.getpid()}.tmp"
            built = subprocess.run([gxx, *FLAGS, "-x", "c++-header", "-o", str(tmp), str(header)],
                                   capture_output=True, text=True, timeout=600)
            if built.returncode != 0:
                tmp.unlink(missing_ok=True)
                return None
            os.chmod(tmp, 0o644)
            os.replace(tmp, gch)
        return str(header)
    except (OSError, subprocess.SubprocessError):
        return None
