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
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codebabel.config import home
from codebabel.languages.base import DONE_MARKER, RunSpec, Signature
from codebabel.languages.render import INT64, Target, control, harness_code, own_type
from codebabel.languages.types import INT, Type, Untranslatable

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

_LONG_MIN = -(2**63)

_HELPERS = harness_code("cpp.cpp")["helpers"]


class Cpp(Target):
    name, display_name, aliases = "cpp", "C++", ("c++", "cxx", "cplusplus")
    extensions = (".cpp", ".cc", ".cxx", ".hpp")
    fence = tree_sitter = "cpp"
    apt_packages = toolchain = ("g++",)
    stop_tokens = ("\n}",)
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
    first_error_pattern = r": (fatal )?error: "  # later errors often follow from the first

    null, int_bounds, int_type = "std::nullopt", INT64, "a 64-bit long"
    # other control characters become 3-digit octal escapes (a hex escape would swallow the hex digits after
    # it); the source is UTF-8, and so is a std::string of it
    code_escapes = control("\\{:03o}")
    type_names = {"int": "long", "float": "double", "str": "std::string", "bool": "bool", "any": "std::any"}
    type_formats = {"list": "std::vector<{0}>", "dict": "std::map<{0}, {1}>", "tuple": "std::tuple<{args}>",
                    "optional": "std::optional<{0}>", "union": "std::variant<{args}>"}
    list_brackets, tuple_brackets = ("{type}{", ", ", "}"), ("{type}(", ", ", ")")
    dict_brackets, entry_format = ("{type}{", ", ", "}"), "{{{}, {}}}"
    prompt_format = "".join(f"#include <{h}>\n" for h in HEADERS) + "{doc}{returns} {name}({params}) {{\n"
    param_format = "{type} {name}"
    check_line = "    codebabel::check(codebabel::Eq<{ret}>::eq({call}, {expected}), {i});"
    harness_tail = (f'    std::cout << "{DONE_MARKER}" << std::endl;', "    return 0;", "}")
    stub_format = "    return {value};\n"

    # -- types and literals -----------------------------------------------------------------------------------
    # ``ctx``: None (an argument or expected value: it converts to the parameter's or the return type, but a
    # string is a std::string so that no overload for ``const char*`` is picked), "elem" (a container's element,
    # converted to the element type) or "exact" (a union member or std::any content: it has the type itself)
    def child_ctx(self, t: Type, ctx: Any) -> Any:
        return "elem"

    def union_literal(self, value: Any, t: Type, ctx: Any) -> str:
        return f"{self.type_name(t)}({self.render(value, self.member(value, t), 'exact')})"

    def any_literal(self, value: Any, t: Type, ctx: Any) -> str:
        if value is None:
            return "std::any()"
        # its own type: element types never seen are int, as elsewhere; a list of mixed types is of std::any
        return f"std::any({self.render(value, own_type(value, INT, mixed=True), 'exact')})"

    def int_literal(self, value: int, ctx: Any) -> str:
        lit = super().int_literal(value, ctx)
        if value == _LONG_MIN:
            lit = f"({value + 1} - 1)"  # 9223372036854775808 itself is no long literal
        return f"{lit}L" if ctx == "exact" and lit.lstrip("-").isdigit() else lit

    def string_literal(self, value: str, ctx: Any) -> str:
        lit = super().string_literal(value, ctx)
        return lit if ctx == "elem" else f"std::string({lit})"

    # -- translation ------------------------------------------------------------------------------------------
    def comment(self, lines: Sequence[str], prefix: str) -> str:
        # a // comment whose line ends in a backslash continues onto the next line (the function header)
        safe = [f"{ln}." if ln.rstrip().endswith("\\") else ln for ln in lines]
        return super().comment(safe, prefix)

    def prompt(self, sig: Signature) -> str:
        if sig.returns.contains("any"):
            raise Untranslatable("a return type holding Any (std::any has no equality)")
        return super().prompt(sig)

    def harness_start(self, sig: Signature) -> tuple[list[str], dict[str, str]]:
        return ["}", _HELPERS, "int main() {"], {"ret": self.type_name(sig.returns)}

    # -- execution --------------------------------------------------------------------------------------------
    def run_spec(self, program: str) -> RunSpec:
        header = precompiled_header()
        if header is None:
            return RunSpec(files={"main.cpp": program}, compile=["g++", *FLAGS, "-pipe", "-o", "main", "main.cpp"],
                           run=["./main"])
        return RunSpec(files={"main.cpp": program}, ro_paths=(os.path.dirname(header),), run=["./main"],
                       compile=["g++", *FLAGS, "-pipe", "-include", header, "-o", "main", "main.cpp"])


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
