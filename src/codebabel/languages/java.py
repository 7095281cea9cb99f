"""Java (OpenJDK 17): MultiPL-E's ``java`` target, compiled with ``javac`` and run with ``java``.

MultiPL-E's layout: the standard imports, ``class Problem {``, the docstring as ``//`` comments and
``public static R f(...) {``; the stop token ``"\\n    }\\n"`` cuts the method's closing brace, so the
harness starts with it, adds the equality helper and ``main``, and closes the class. Types as in MultiPL-E
(long, String, boolean, ArrayList, HashMap, Optional, Pair) except that Python floats are ``double``.
MultiPL-E imports ``org.javatuples.Pair``, which is not installed here: the harness declares a small
``Pair`` class with the javatuples API (``Pair.with``, ``getValue0``, ``getValue1``) after ``Problem``.
Unions and ``Any`` are ``Object`` (compared with ``equals``, numbers by value).

The JVM reserves address space far beyond what it uses (heap, class space, code cache, thread stacks), and
the sandbox limits address space (RLIMIT_AS): the JVM flags bound every reservation but the heap, which
HotSpot sizes to half the address-space limit (its ergonomics: ``MaxVirtMemFraction`` = 2), and
:meth:`adjust_limits` doubles the address space so that the heap gets the configured memory. The JVM
settings here are shared with Scala (``languages/scala.py``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from codebabel.execute.sandbox import Limits
from codebabel.languages.base import DONE_MARKER, RunSpec, existing
from codebabel.languages.render import C_ESCAPES, INT64, Target, harness_code, own_type
from codebabel.languages.types import Type, Untranslatable

#: JVM options for every JVM started in the sandbox: bounded non-heap reservations (the heap is sized by
#: HotSpot to half the address-space limit), serial GC (no GC worker threads), no /tmp/hsperfdata files.
#: The VM's own messages ("Error occurred during initialization of VM", thread-creation warnings) go to stderr,
#: not HotSpot's default stdout: they never mix into a program's output, and a failed start is not an
#: empty-stderr error.
JVM_OPTIONS = ("-XX:+UseSerialGC", "-XX:CompressedClassSpaceSize=128m",
               "-XX:ReservedCodeCacheSize=64m", "-XX:CICompilerCount=2", "-XX:-UsePerfData", "-Xss16m",
               "-XX:+DisplayVMOutputToStderr", "-Xlog:disable", "-Xlog:all=warning:stderr")
#: extra options for compilers (javac, scalac): short-lived, so C1 only starts them fastest
JVM_COMPILER_OPTIONS = (*JVM_OPTIONS, "-XX:TieredStopAtLevel=1")
#: glibc's per-thread malloc arenas reserve 64 MiB of address space each: keep two
JVM_ENV = {"MALLOC_ARENA_MAX": "2"}
#: what the JVM says when the program (or the JVM itself) runs out of memory
JVM_MEMORY_ERRORS = (r"java\.lang\.OutOfMemoryError", r"Could not reserve enough space",
                     r"Could not allocate compressed class space", r"There is insufficient memory")

_PUBLIC_CLASS = re.compile(r"^\s*public\s+(?:final\s+|abstract\s+)*class\s+([A-Za-z_]\w*)", re.MULTILINE)


def camel_case(name: str) -> str:
    """MultiPL-E's Java/Scala entry-point names: ``has_close_elements`` -> ``hasCloseElements``."""
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def comment_safe(line: str) -> str:
    """Both compilers decode ``\\uXXXX`` everywhere, comments included (where a bad one is an error): a run
    of an odd number of backslashes before a ``u`` gets one more, so that it stays text."""
    return re.sub(r"(\\+)(?=u)", lambda m: m.group(1) + "\\" * (len(m.group(1)) % 2), line)


class JvmTarget(Target):
    """What Java and Scala share: ``long``/``double``/``String`` literals, ``Any`` by the value's own type
    (``null`` for None), camelCase names, the JVM's limits and memory errors."""

    stop_tokens = ("\n    }\n",)  # MultiPL-E's: the method's closing brace, which the harness supplies
    null, int_bounds, int_type, int_suffix = "null", INT64, "a 64-bit long", "L"
    # non-ASCII characters stay as they are (the source is UTF-8); control characters become escapes (never
    # \u000a or \u000d, which both compilers would turn into a line break before lexing)
    escapes = {**C_ESCAPES, "\b": "\\b", "\f": "\\f"}
    code_escapes = ((0, 0x20, "\\u{:04x}"), (0x7F, 0xA0, "\\u{:04x}"), (0x2028, 0x202A, "\\u{:04x}"))
    memory_error_patterns, comment_prefix = JVM_MEMORY_ERRORS, "    //"

    def doc_comment(self, lines: Sequence[str]) -> str:
        return self.comment([comment_safe(ln) for ln in lines], self.comment_prefix)

    def value_type(self, value: Any) -> Type:
        return own_type(value)  # element types never seen stay Any

    def unknown_literal(self, value: Any, t: Type, ctx: Any) -> str:
        return self.any_literal(value, t, ctx)

    def safe_name(self, name: str) -> str:
        # MultiPL-E turns the entry point into camelCase; the shared code renames parameters with the same
        # hook, so they are camelCase too (paren_string -> parenString), as Java code would name them
        name = camel_case(name)
        return f"{name}_" if name in self.reserved else name

    def adjust_limits(self, limits: Limits) -> Limits:
        """The JVM's heap is half its address-space limit (HotSpot ergonomics): double the address space so that
        the heap gets the configured memory and everything else the JVM reserves fits beside it. A JVM runs
        14 threads of its own (RLIMIT_NPROC counts threads): at least 64."""
        return replace(limits, memory_mb=2 * limits.memory_mb, max_processes=max(limits.max_processes, 64))


_HELPERS = harness_code("java.java")["helpers"]

#: org.javatuples.Pair's API, declared after class Problem (javatuples is not installed)
_PAIR = harness_code("java.java")["pair"].rstrip("\n")

_IMPORTS = ("import java.util.*;\nimport java.lang.reflect.*;\nimport java.security.*;\nimport java.math.*;\n"
            "import java.io.*;\nimport java.util.stream.*;\n")

_BOXED = {"int": "Long", "float": "Double", "bool": "Boolean"}


class Java(JvmTarget):
    name, display_name, extensions = "java", "Java", (".java",)
    fence = tree_sitter = "java"
    apt_packages, toolchain = ("openjdk-17-jdk-headless",), ("javac", "java")
    source_packages, source_license = ("openjdk-17-source",), "GPL-2.0-only WITH Classpath-exception-2.0"
    doc_terms = {"list": "array list", "lists": "array lists", "array": "array list", "arrays": "array lists", "dictionary": "hash map",
                 "dictionaries": "hash maps", "tuple": "pair", "tuples": "pairs", "None": "null",
                 "True": "true", "False": "false"}
    reserved = frozenset({
        "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "class", "const",
        "continue", "default", "do", "double", "else", "enum", "extends", "final", "finally", "float", "for",
        "goto", "if", "implements", "import", "instanceof", "int", "interface", "long", "native", "new",
        "package", "private", "protected", "public", "return", "short", "static", "strictfp", "super",
        "switch", "synchronized", "this", "throw", "throws", "transient", "try", "void", "volatile", "while",
        "true", "false", "null", "var", "yield", "record", "sealed", "permits", "_",
        "main", "Problem", "Pair"})
    syntax_error_patterns = (
        r"error: .* expected$", r"error: illegal start of ", r"error: not a statement",
        r"error: reached end of file while parsing", r"error: unclosed (string|character|comment|text block)",
        r"error: illegal (character|escape character|unicode escape|line end|text block open)",
        r"error: 'else' without 'if'", r"error: 'catch' without 'try'", r"error: 'try' without ",
        r"error: orphaned ", r"error: empty character literal", r"error: malformed floating-point literal",
        r"error: integer number too large", r"error: variable declaration not allowed here",
    )
    type_error_patterns = (
        r"error: incompatible types", r"error: bad operand types? ", r"error: incomparable types",
        r"error: inconvertible types", r"error: unexpected type", r"error: .* cannot be dereferenced",
        r"error: .* cannot be applied to ", r"error: no suitable (method|constructor) found",
        r"error: array required, but ", r"error: .* cannot be converted to ",
    )
    type_names = {"int": "long", "float": "double", "bool": "boolean", "str": "String", "union": "Object",
                  "any": "Object", "unknown": "Object"}
    type_formats = {"list": "ArrayList<{0}>", "dict": "HashMap<{0},{1}>", "tuple": "Pair<{args}>",
                    "optional": "Optional<{0}>"}
    prompt_format = _IMPORTS + "class Problem {{\n{doc}    public static {returns} {name}({params}) {{\n"
    param_format = "{type} {name}"
    harness_head = ("    }", _HELPERS + "    public static void main(String[] args) {")
    harness_tail = (f'        System.out.println("{DONE_MARKER}");', "    }", "}", _PAIR)
    check_line = "        __codebabelCheck(__codebabelEq({call}, {expected}), {i});"
    stub_format = "        return {value};"

    def system_sources(self) -> list[str]:
        javac = shutil.which("javac")
        home = os.path.dirname(os.path.dirname(os.path.realpath(javac))) if javac else None
        return existing(home and f"{home}/lib/src.zip")

    def type_name(self, t: Type) -> str:
        if t.kind == "tuple" and len(t.args) != 2:
            raise Untranslatable(f"a tuple of {len(t.args)} elements (Java has only Pair)")
        return super().type_name(t)

    def arg_type_name(self, t: Type) -> str:
        return _BOXED.get(t.kind) or self.type_name(t)

    def optional_literal(self, value: Any, t: Type, ctx: Any) -> str:
        return "Optional.empty()" if value is None else f"Optional.of({self.render(value, t.elem, ctx)})"

    def list_literal(self, items: Iterator[str], value: Any, t: Type, ctx: Any) -> str:
        if not value:
            return f"new {self.type_name(t)}()"
        return f"new {self.type_name(t)}(Arrays.asList({', '.join(items)}))"

    def dict_literal(self, entries: Iterator[tuple[str, str]], value: Any, t: Type, ctx: Any) -> str:
        if not value:
            return f"new {self.type_name(t)}()"
        pairs = list(entries)
        if len(pairs) <= 10:
            inner = "Map.of(" + ", ".join(f"{a}, {b}" for a, b in pairs) + ")"
        else:  # Map.of takes at most ten pairs
            inner = "Map.ofEntries(" + ", ".join(f"Map.entry({a}, {b})" for a, b in pairs) + ")"
        return f"new {self.type_name(t)}({inner})"

    def tuple_literal(self, items: Iterator[str], value: Any, t: Type, ctx: Any) -> str:
        self.type_name(t)  # only pairs
        return f"Pair.with({', '.join(items)})"

    # -- execution --------------------------------------------------------------------------------------------
    def run_spec(self, program: str) -> RunSpec:
        javac = ["javac", *(f"-J{o}" for o in JVM_COMPILER_OPTIONS), "-encoding", "UTF-8", "-g:none",
                 "-proc:none", "-Xlint:none", "-nowarn", "Problem.java"]
        return RunSpec(files={"Problem.java": program}, compile=javac,
                       run=["java", *JVM_OPTIONS, "-cp", ".", "Problem"], env=dict(JVM_ENV))

    def program_spec(self, program: str) -> RunSpec:
        """A whole program: its public class (``public class Main``) names the file and the class run."""
        m = _PUBLIC_CLASS.search(program)
        name = m.group(1) if m else "Main"
        spec = self.run_spec(program)
        return replace(spec, files={f"{name}.java": program},
                       compile=[*spec.compile[:-1], f"{name}.java"] if spec.compile else None,
                       run=[*spec.run[:-1], name])
