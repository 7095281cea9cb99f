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
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from codebabel.execute.sandbox import Limits
from codebabel.languages.base import DONE_MARKER, RunSpec
from codebabel.languages.render import C_ESCAPES, Target, control, harness_code, kind_member, paren_tuple
from codebabel.languages.types import NONE, Type, of_value, settle

_EQ = harness_code("julia.jl")["helpers"]

#: the GC's heap target (``--heap-size-hint``, Julia >= 1.9); the address-space limit is raised above it
HEAP_HINT_MB = 1536


def _concrete(t: Type) -> bool:
    """Whether a literal of type ``t`` infers exactly ``t`` in Julia (no Any, Union or Nothing inside)."""
    return t.kind not in ("any", "union", "optional", "none", "unknown") and all(_concrete(a) for a in t.args)


class Julia(Target):
    name, display_name, aliases, extensions = "jl", "Julia", ("julia",), (".jl",)
    fence = tree_sitter = "julia"
    toolchain, install_hint = ("julia",), "https://julialang.org/downloads/"
    stop_tokens = ("\nfunction", '\n"""', "\nmacro", "\n#")
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

    null = unit = "nothing"
    escapes, code_escapes = {**C_ESCAPES, "$": "\\$"}, control("\\x{:02x}")
    no_literal = "no {lang} literal for {value!r} as {t}"
    type_names = {"int": "Int64", "float": "Float64", "str": "String", "bool": "Bool", "none": "Nothing", "any": "Any"}
    type_formats = {"list": "Vector{{{0}}}", "dict": "Dict{{{0}, {1}}}", "tuple": "Tuple{{{args}}}",
                    "union": "Union{{{args}}}"}
    prompt_format, param_format = "{doc}function {name}({params})::{returns}\n", "{name}::{type}"
    harness_head, harness_tail = (_EQ,), (f'println("{DONE_MARKER}")',)
    check_line, stub_format = "__codebabel_check({i}, __codebabel_eq({call}, {expected}))", "    return {value}\nend\n"

    def type_name(self, t: Type) -> str:
        if t.kind == "optional":  # Union{T, Nothing}, a union's members flattened into it
            members = t.elem.args if t.elem.kind == "union" else (t.elem,)
            return self.type_name(Type("union", (*members, NONE)))
        return super().type_name(t)

    def doc_comment(self, lines: Sequence[str]) -> str:
        doc = "\n".join(lines).replace("\\", "\\\\").replace("$", "\\$").replace('"""', '\\"""')
        return f'"""\n{doc}\n"""\n' if doc.strip() else ""

    def member(self, value: Any, t: Type) -> Type:
        return kind_member(value, t, fits=False)  # its own kind first: an int stays Int64 beside Float64

    def any_literal(self, value: Any, t: Type, ctx: Any) -> str:
        # a Python value of no declared type: empty containers are Julia's untyped ones (Vector{Any},
        # Dict{Any, Any}); others take the type of the value
        if isinstance(value, (list, dict)) and not value:
            return "[]" if isinstance(value, list) else "Dict()"
        return self.render(value, settle(of_value(value)), ctx)

    def unknown_literal(self, value: Any, t: Type, ctx: Any) -> str:
        return self.any_literal(value, t, ctx)

    def int_literal(self, value: int, ctx: Any) -> str:
        return str(int(value))

    def list_literal(self, items: Iterator[str], value: Any, t: Type, ctx: Any) -> str:
        body = ", ".join(items)
        prefix = "" if value and _concrete(t.elem) else self.type_name(t.elem)
        return f"{prefix}[{body}]"

    def tuple_literal(self, items: Iterator[str], value: Any, t: Type, ctx: Any) -> str:
        return paren_tuple(items)

    def dict_literal(self, entries: Iterator[tuple[str, str]], value: Any, t: Type, ctx: Any) -> str:
        body = ", ".join(f"{a} => {b}" for a, b in entries)
        prefix = "Dict" if value and _concrete(t) else self.type_name(t)
        return f"{prefix}({body})"

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
