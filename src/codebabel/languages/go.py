"""Go: MultiPL-E's ``go`` target, compiled with the gc toolchain (``compile`` + ``link``) and run natively.

The layout follows MultiPL-E's (``func name(params) T {`` after the docstring as ``//`` comments, stop tokens
``"\\nfunc"``, ``"struct"``, ``"\\n// "``, a completion ends with the function's closing brace) but the program
is ``package main`` with its tests in ``main()``. Types are MultiPL-E's: ``int``, ``float64``, ``string``,
``bool``, ``[]T``, ``map[K]V``, tuples as ``[]interface{}``. Where MultiPL-E gives up we go on: an optional
is a pointer ``*T`` (``nil`` for None), and union and ``Any`` types are ``interface{}`` holding a value of its
own Python type.

A model cannot add imports after the prompt, so the prompt imports what HumanEval solutions commonly need
(``math``, ``sort``, ``strconv``, ``strings``, ``unicode``; ``crypto/md5`` and ``encoding/hex`` where the
docstring asks for an MD5 hash); the harness keeps each import in use, so Go's "imported and not used"
error never comes from the prompt. The harness compares with a reflective deep equality (pointers and
interfaces are looked through, numbers compare within FLOAT_TOLERANCE, nil and empty slices are equal).

Compiling calls the gc ``compile`` and ``link`` tools directly (the Debian Go ships compiled standard
packages): about half the time of ``go build`` with a cold build cache, which every sandbox has. A Go without
compiled standard packages (1.20+) falls back to ``go build`` with its cache under /tmp.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from functools import cache
from typing import Any

from codebabel.execute.sandbox import Limits
from codebabel.languages.base import DONE_MARKER, RunSpec, Signature
from codebabel.languages.render import INT64, Target, harness_code
from codebabel.languages.types import Type, Untranslatable

#: imported by every prompt; each one is kept in use by the harness (``var _ = pkg.Name``)
_IMPORTS = {"fmt": None, "math": "math.Abs", "os": None, "reflect": None, "sort": "sort.Ints",
            "strconv": None, "strings": "strings.Contains", "unicode": "unicode.IsUpper"}
#: imported as well when the docstring mentions an MD5 hash (HumanEval/162)
_MD5_IMPORTS = {"crypto/md5": "md5.Sum", "encoding/hex": "hex.EncodeToString"}

_HELPERS = harness_code("go.go")["helpers"]


def _no_surrogate(code: int) -> str:
    raise Untranslatable("a string with a lone surrogate has no Go literal")


class Go(Target):
    name, display_name, aliases, extensions = "go", "Go", ("golang",), (".go",)
    fence = tree_sitter = "go"
    apt_packages, toolchain, source_license = ("golang-go",), ("go",), "BSD-3-Clause"
    source_query, source_subdir = ("go", "env", "GOROOT"), "/src"
    stop_tokens = ("\nfunc", "struct", "\n// ")
    # MultiPL-E's terms.csv row for Go
    doc_terms = {"array": "list", "arrays": "lists", "tuple": "list", "tuples": "lists", "dictionary": "map",
                 "dictionaries": "maps", "None": "nil", "True": "true", "False": "false"}
    reserved = frozenset({
        # keywords
        "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for", "func",
        "go", "goto", "if", "import", "interface", "map", "package", "range", "return", "select", "struct",
        "switch", "type", "var",
        # predeclared names a parameter would shadow in the body
        "bool", "byte", "complex64", "complex128", "error", "float32", "float64", "int", "int8", "int16",
        "int32", "int64", "rune", "string", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "any",
        "true", "false", "iota", "nil", "append", "cap", "clear", "close", "complex", "copy", "delete", "imag",
        "len", "make", "max", "min", "new", "panic", "print", "println", "real", "recover",
        # the packages the prompt imports, and the program's own entry point
        "fmt", "math", "os", "reflect", "sort", "strconv", "strings", "unicode", "md5", "hex", "main", "init",
    })
    syntax_error_patterns = (r"syntax error", r"newline in string", r"string literal not terminated",
                             r"rune literal not terminated", r"invalid character .* in", r"illegal character")
    type_error_patterns = (
        r"cannot use .+ as (type )?\S+ (value )?in ", r"mismatched types", r"non-boolean condition",
        r"cannot range over", r"cannot convert", r"invalid argument: .*\(.*type .*\)",
        r"invalid operation: .*\((operator|variable|value) .*type",
        r"\(untyped \w+ constant( \S+)?\) (truncated|overflows)", r"cannot index", r"invalid composite literal type",
    )
    memory_error_patterns = (r"fatal error: runtime: out of memory", r"runtime: out of memory",
                             r"runtime: cannot allocate memory", r"fatal error: stack overflow",
                             r"goroutine stack exceeds")

    # union and Any values are held in an interface{}, rendered by their own Python type
    null = unit = "nil"
    int_bounds, int_type = INT64, "a Go int"
    code_escapes = ((0, 0x20, "\\x{:02x}"), (0x7F, 0x80, "\\x{:02x}"), (0xD800, 0xE000, _no_surrogate),
                    (0x80, 0x10000, "\\u{:04x}"), (0x10000, 0x110000, "\\U{:08x}"))
    no_literal = "no {lang} literal of type {t}"
    type_names = {"int": "int", "float": "float64", "str": "string", "bool": "bool", "tuple": "[]interface{}",
                  "union": "interface{}", "any": "interface{}"}
    type_formats = {"list": "[]{0}", "dict": "map[{0}]{1}"}
    list_brackets = dict_brackets = ("{type}{", ", ", "}")
    tuple_brackets = ("[]interface{}{", ", ", "}")
    check_line, harness_tail = "\t__cb_check({call}, {expected}, {i})", (f'\tfmt.Println("{DONE_MARKER}")', "}")
    stub_format = "\treturn {value}\n}}\n"

    # -- types and literals -----------------------------------------------------------------------------------
    def type_name(self, t: Type) -> str:
        if t.kind == "optional":
            inner = self.type_name(t.elem)
            return inner if inner == "interface{}" else f"*{inner}"
        return super().type_name(t)

    def _lit(self, value: Any, t: Type, typed: bool) -> str:
        """``typed``: the literal must have exactly type ``t`` (an argument or a container's element); an
        expected value (or a docstring example) shows an optional as nil or its plain value, which the harness's
        equality compares through the pointer."""
        return self.render(value, t, typed)

    def argument_literal(self, value: Any, t: Type) -> str:
        return self.render(value, t, True)  # exactly the parameter's type (a pointer for an optional)

    def child_ctx(self, t: Type, ctx: Any) -> Any:
        return t.kind in ("list", "dict")  # a union's member and a tuple's items are held in an interface{}

    def optional_literal(self, value: Any, t: Type, ctx: Any) -> str:
        if value is None:
            return "nil"
        inner = self.render(value, t.elem, ctx)
        if ctx and self.type_name(t).startswith("*"):
            return f"__cb_ptr[{self.type_name(t.elem)}]({inner})"
        return inner

    # -- translation ------------------------------------------------------------------------------------------
    def _imports(self, sig: Signature) -> dict[str, str | None]:
        if any("md5" in line.lower() for line in sig.doc):
            return {**_IMPORTS, **_MD5_IMPORTS}
        return _IMPORTS

    def prompt(self, sig: Signature) -> str:
        imports = "".join(f'\t"{path}"\n' for path in sorted(self._imports(sig)))
        params = ", ".join(f"{p.name} {self.type_name(p.type)}" for p in sig.params)
        return (f"package main\n\nimport (\n{imports})\n\n{self.comment(sig.doc, '//')}"
                f"func {sig.name}({params}) {self.type_name(sig.returns)} {{\n")

    def harness_start(self, sig: Signature) -> tuple[list[str], dict[str, str]]:
        keep = "".join(f"var _ = {use}\n" for use in self._imports(sig).values() if use)
        return [keep, _HELPERS, "func main() {"], {}

    # -- execution --------------------------------------------------------------------------------------------
    def adjust_limits(self, limits: Limits) -> Limits:
        # the Go runtime reserves its heap arenas up front: under about 700 MiB of address space a program
        # cannot even start
        return replace(limits, memory_mb=max(limits.memory_mb, 1024))

    def run_spec(self, program: str) -> RunSpec:
        env = {"GOMAXPROCS": "2", "GOCACHE": "/tmp/.gocache", "GOPATH": "/tmp/.gopath", "GO111MODULE": "off",
               "GOTOOLCHAIN": "local", "GOTELEMETRY": "off", "GOFLAGS": ""}
        tools = _gc_tools()
        if tools is not None:
            compile_, link = tools
            build = ["sh", "-c", f"{compile_} -p main -complete -o main.o main.go && {link} -s -w -o main main.o"]
        else:
            build = ["go", "build", "-ldflags=-s -w", "-o", "main", "main.go"]
        return RunSpec(files={"main.go": program}, compile=build, run=["./main"], env=env)


@cache
def _gc_tools() -> tuple[str, str] | None:
    """The gc ``compile`` and ``link`` executables, where the standard library is installed compiled
    (GOROOT/pkg/<os>_<arch>/*.a, Go up to 1.19); None otherwise (then ``go build`` is used)."""
    go = shutil.which("go")
    if go is None:
        return None
    try:
        out = subprocess.run([go, "env", "GOROOT", "GOTOOLDIR", "GOOS", "GOARCH"], capture_output=True,
                             text=True, timeout=30, env={**os.environ, "GOTOOLCHAIN": "local"})
        goroot, tooldir, goos, goarch = out.stdout.split()
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    compile_, link = os.path.join(tooldir, "compile"), os.path.join(tooldir, "link")
    ok = (os.path.exists(os.path.join(goroot, "pkg", f"{goos}_{goarch}", "fmt.a"))
          and os.access(compile_, os.X_OK) and os.access(link, os.X_OK))
    return (compile_, link) if ok else None
