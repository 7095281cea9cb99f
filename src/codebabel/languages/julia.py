"""Julia: MultiPL-E's ``jl`` target, with typed signatures, run with ``julia`` where it is installed.

No Debian bookworm package provides Julia (``apt-cache policy julia`` has no candidate), so this language
translates everywhere and its execution tests skip unless ``julia`` is on PATH (install it from
julialang.org; the binary may live outside /usr: its real install folder is made visible to the sandbox).

Types as in MultiPL-E: int -> Int64, float -> Float64, str -> String, bool -> Bool, list -> Vector{T},
tuple -> Tuple{...}, dict -> Dict{K, V}, Optional[T] -> Union{T, Nothing}, unions -> Union{...},
any -> Any. Literals follow the type (an int passed as a float is ``1.0``); a vector or dict whose element
type is not concrete, or that is empty, carries its type (``Int64[]``, ``Dict{String, Int64}()``), since
Julia's parametric types are invariant (a ``Vector{Int64}`` is no ``Vector{Union{Int64, Nothing}}``).
The docstring is a Julia docstring above the function; the harness compares with its own deep equality
(numbers within FLOAT_TOLERANCE, Bool never equal to a number).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from codebabel.execute.sandbox import Limits
from codebabel.languages.base import ASSERT_MARKER, DONE_MARKER, FLOAT_TOLERANCE, Language, RunSpec, Signature
from codebabel.languages.types import NONE, Type, Untranslatable, of_value, settle, union_member

_EQ = f"""__codebabel_eq(a, b) = isequal(a, b)
__codebabel_eq(a::Real, b::Real) = !(a isa Bool) && !(b isa Bool) &&
    (a == b || abs(Float64(a) - Float64(b)) <= {FLOAT_TOLERANCE!r})
__codebabel_eq(a::Bool, b::Bool) = a == b
__codebabel_eq(a::AbstractString, b::AbstractString) = a == b
__codebabel_eq(a::AbstractVector, b::AbstractVector) =
    length(a) == length(b) && all(__codebabel_eq(x, y) for (x, y) in zip(a, b))
__codebabel_eq(a::Tuple, b::Tuple) =
    length(a) == length(b) && all(__codebabel_eq(x, y) for (x, y) in zip(a, b))
__codebabel_eq(a::AbstractDict, b::AbstractDict) =
    length(a) == length(b) && all(haskey(a, k) && __codebabel_eq(a[k], v) for (k, v) in b)
function __codebabel_check(i::Int, ok::Bool)
    if !ok
        println(stderr, "{ASSERT_MARKER} test ", i)
        exit(1)
    end
end
"""

#: the GC's heap target (``--heap-size-hint``, Julia >= 1.9); the address-space limit is raised above it
HEAP_HINT_MB = 1536

_KIND_OF = {bool: "bool", int: "int", float: "float", str: "str", type(None): "none", list: "list",
            tuple: "tuple", dict: "dict"}


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\$':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _concrete(t: Type) -> bool:
    """Whether a literal of type ``t`` infers exactly ``t`` in Julia (no Any, Union or Nothing inside)."""
    return t.kind not in ("any", "union", "optional", "none", "unknown") and all(_concrete(a) for a in t.args)


def _member(v: Any, t: Type) -> Type:
    """The member of union ``t`` that value ``v`` is rendered as: its own kind first (an int stays Int64
    where the union has Int64 and Float64), else the first member it fits."""
    own = _KIND_OF.get(type(v))
    for u in t.args:
        if u.kind == own:
            return u
    return union_member(v, t)


class Julia(Language):
    name = "jl"
    display_name = "Julia"
    aliases = ("julia",)
    extensions = (".jl",)
    fence = "julia"
    stop_tokens = ("\nfunction", '\n"""', "\nmacro", "\n#")
    apt_packages = ()
    install_hint = "https://julialang.org/downloads/"
    toolchain = ("julia",)
    tree_sitter = "julia"
    # MultiPL-E's terms.csv row for Julia
    doc_terms = {"array": "vector", "arrays": "vectors", "list": "vector", "lists": "vectors",
                 "None": "nothing", "True": "true", "False": "false"}
    # keywords, plus Base functions a HumanEval entry point would otherwise shadow in Main: `unique(l)`
    # defined there makes the natural `sort(unique(l))` recurse forever (likewise maximum, digits)
    reserved = frozenset({"baremodule", "begin", "break", "catch", "const", "continue", "do", "else", "elseif",
                          "end", "export", "false", "finally", "for", "function", "global", "if", "import",
                          "let", "local", "macro", "module", "quote", "return", "struct", "true", "try",
                          "using", "while", "abstract", "mutable", "primitive", "type", "in", "isa", "where",
                          "outer", "nothing", "missing", "unique", "maximum", "digits"})
    syntax_error_patterns = (r"ParseError:", r"LoadError: syntax:", r"^ERROR: syntax:")
    type_error_patterns = (r"MethodError: Cannot `convert` an object of type", r"TypeError: in typeassert")
    memory_error_patterns = (r"OutOfMemoryError\(\)",)

    # -- translation ------------------------------------------------------------------------------------------
    def type_name(self, t: Type) -> str:
        k = t.kind
        if k in ("int", "float", "str", "bool", "none", "any"):
            return {"int": "Int64", "float": "Float64", "str": "String", "bool": "Bool", "none": "Nothing",
                    "any": "Any"}[k]
        if k == "list":
            return f"Vector{{{self.type_name(t.elem)}}}"
        if k == "dict":
            return f"Dict{{{self.type_name(t.key)}, {self.type_name(t.value)}}}"
        if k == "tuple":
            return f"Tuple{{{', '.join(self.type_name(a) for a in t.args)}}}"
        if k in ("optional", "union"):
            members = (*t.elem.args, NONE) if k == "optional" and t.elem.kind == "union" else \
                (t.elem, NONE) if k == "optional" else t.args
            return f"Union{{{', '.join(self.type_name(a) for a in members)}}}"
        raise Untranslatable(f"type {t} has no Julia equivalent")

    def prompt(self, sig: Signature) -> str:
        params = ", ".join(f"{p.name}::{self.type_name(p.type)}" for p in sig.params)
        doc = "\n".join(sig.doc).replace("\\", "\\\\").replace("$", "\\$").replace('"""', '\\"""')
        doc = f'"""\n{doc}\n"""\n' if doc.strip() else ""
        return f"{doc}function {sig.name}({params})::{self.type_name(sig.returns)}\n"

    def test_harness(self, sig: Signature, tests: Sequence[tuple[str, str]]) -> str:
        lines = [_EQ]
        lines += [f"__codebabel_check({i}, __codebabel_eq({call}, {expected}))"
                  for i, (call, expected) in enumerate(tests, 1)]
        lines.append(f'println("{DONE_MARKER}")')
        return "\n".join(lines)

    def stub(self, sig: Signature) -> str:
        return f"    return {self.default_literal(sig.returns)}\nend\n"

    def literal(self, value: Any, t: Type) -> str:
        k = t.kind
        if k == "any" or k == "unknown":
            # a Python value of no declared type: empty containers are Julia's untyped ones (Vector{Any},
            # Dict{Any, Any}); others take the type of the value
            if isinstance(value, (list, dict)) and not value:
                return "[]" if isinstance(value, list) else "Dict()"
            return self.literal(value, settle(of_value(value)))
        if k == "optional":
            return "nothing" if value is None else self.literal(value, t.elem)
        if k == "union":
            return self.literal(value, _member(value, t))
        if value is None:
            return "nothing"
        if k == "bool":
            return "true" if value else "false"
        if k == "int":
            return str(int(value))
        if k == "float":
            return repr(float(value))
        if k == "str":
            return _string(value)
        if k == "list":
            items = ", ".join(self.literal(v, t.elem) for v in value)
            prefix = "" if value and _concrete(t.elem) else self.type_name(t.elem)
            return f"{prefix}[{items}]"
        if k == "tuple":
            items = [self.literal(v, a) for v, a in zip(value, t.args, strict=True)]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if k == "dict":
            items = ", ".join(f"{self.literal(a, t.key)} => {self.literal(b, t.value)}" for a, b in value.items())
            prefix = "Dict" if value and _concrete(t) else self.type_name(t)
            return f"{prefix}({items})"
        raise Untranslatable(f"no Julia literal for {value!r} as {t}")

    # -- execution --------------------------------------------------------------------------------------------
    def _julia(self) -> tuple[str, tuple[str, ...]]:
        """The real julia binary and the folders the sandbox must show for it (an install outside /usr)."""
        exe = shutil.which("julia") or "julia"
        real = os.path.realpath(exe)
        root = os.path.dirname(os.path.dirname(real))  # <prefix>/bin/julia -> <prefix>
        visible = ("/usr/", "/bin/", "/lib", "/etc/")
        return real, (() if real.startswith(visible) else (root,))

    def run_spec(self, program: str) -> RunSpec:
        exe, ro = self._julia()
        # one thread and one BLAS thread: the sandbox allows few processes, and OpenBLAS would start one per
        # core; the heap hint keeps the GC's target within the address space adjust_limits grants
        return RunSpec(files={"main.jl": program},
                       run=[exe, "--startup-file=no", "--history-file=no", "--threads=1",
                            f"--heap-size-hint={HEAP_HINT_MB}M", "main.jl"],
                       ro_paths=ro,
                       env={"JULIA_DEPOT_PATH": "/tmp/.julia", "OPENBLAS_NUM_THREADS": "1",
                            "JULIA_NUM_THREADS": "1"})

    def adjust_limits(self, limits: Limits) -> Limits:
        # Julia maps its system image, LLVM's JIT and GC pools beside the heap, and starts a few threads of its
        # own (libuv, signals, GC): more address space and processes than a plain program, the heap bounded by
        # --heap-size-hint instead
        return replace(limits, memory_mb=max(limits.memory_mb, 2 * HEAP_HINT_MB + 1024),
                       max_processes=max(limits.max_processes, 128))
