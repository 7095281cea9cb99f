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

import re
import shutil
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from codebabel.execute.sandbox import Limits
from codebabel.languages.base import (
    ASSERT_MARKER,
    DONE_MARKER,
    FLOAT_TOLERANCE,
    Language,
    RunSpec,
    Signature,
    existing,
)
from codebabel.languages.types import Type, Untranslatable, of_value, union_member

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

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_PUBLIC_CLASS = re.compile(r"^\s*public\s+(?:final\s+|abstract\s+)*class\s+([A-Za-z_]\w*)", re.MULTILINE)


def camel_case(name: str) -> str:
    """MultiPL-E's Java/Scala entry-point names: ``has_close_elements`` -> ``hasCloseElements``."""
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def jvm_adjust_limits(limits: Limits) -> Limits:
    """The JVM's heap is half its address-space limit (HotSpot ergonomics): double the address space so that
    the heap gets the configured memory and everything else the JVM reserves fits beside it. A JVM runs
    14 threads of its own (RLIMIT_NPROC counts threads): at least 64."""
    return replace(limits, memory_mb=2 * limits.memory_mb, max_processes=max(limits.max_processes, 64))


def string_literal(s: str) -> str:
    """A Java/Scala string literal. Non-ASCII characters stay as they are (the source is UTF-8); control
    characters become escapes (never ``\\u000a`` or ``\\u000d``, which both compilers would turn into a line
    break before lexing)."""
    out = []
    for ch in s:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or 0x2028 <= code <= 0x2029:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def comment_safe(line: str) -> str:
    """Both compilers decode ``\\uXXXX`` everywhere, comments included (where a bad one is an error): a run
    of an odd number of backslashes before a ``u`` gets one more, so that it stays text."""
    return re.sub(r"(\\+)(?=u)", lambda m: m.group(1) + "\\" * (len(m.group(1)) % 2), line)


def long_literal(v: int) -> str:
    if not _LONG_MIN <= v <= _LONG_MAX:
        raise Untranslatable(f"integer {v} does not fit a 64-bit long")
    return f"{v}L"


def float_literal(v: int | float) -> str:
    return repr(float(v))  # 1.5, 1e-05, 1e+16: all valid Java and Scala double literals


def value_member(v: Any, t: Type) -> Type:
    """The member of union ``t`` a value is rendered as: the one of its own Python type where there is one
    (an int stays an int where the union also holds float), else the first that fits."""
    own = of_value(v)
    return own if own in t.args else union_member(v, t)


def any_type(v: Any) -> Type:
    """A value of type Any rendered by its own Python type (element types never seen stay Any)."""
    return _unknown_to_any(of_value(v))


def _unknown_to_any(t: Type) -> Type:
    if t.kind == "unknown":
        return Type("any")
    return Type(t.kind, tuple(_unknown_to_any(a) for a in t.args))


_HELPERS = f"""    static boolean __codebabelEq(Object a, Object b) {{
        if (a instanceof Number && b instanceof Number) {{
            if (a instanceof Double || a instanceof Float || b instanceof Double || b instanceof Float) {{
                double x = ((Number) a).doubleValue(), y = ((Number) b).doubleValue();
                return x == y || Math.abs(x - y) < {FLOAT_TOLERANCE};
            }}
            return ((Number) a).longValue() == ((Number) b).longValue();
        }}
        if (a instanceof List && b instanceof List) {{
            List<?> x = (List<?>) a, y = (List<?>) b;
            if (x.size() != y.size()) return false;
            for (int i = 0; i < x.size(); i++) if (!__codebabelEq(x.get(i), y.get(i))) return false;
            return true;
        }}
        if (a instanceof Map && b instanceof Map) {{
            Map<?, ?> x = (Map<?, ?>) a, y = (Map<?, ?>) b;
            if (x.size() != y.size()) return false;
            for (Map.Entry<?, ?> e : y.entrySet()) {{
                if (!x.containsKey(e.getKey()) || !__codebabelEq(x.get(e.getKey()), e.getValue())) return false;
            }}
            return true;
        }}
        if (a instanceof Optional && b instanceof Optional) {{
            Optional<?> x = (Optional<?>) a, y = (Optional<?>) b;
            return x.isPresent() == y.isPresent() && (!x.isPresent() || __codebabelEq(x.get(), y.get()));
        }}
        if (a instanceof Pair && b instanceof Pair) {{
            Pair<?, ?> x = (Pair<?, ?>) a, y = (Pair<?, ?>) b;
            return __codebabelEq(x.getValue0(), y.getValue0()) && __codebabelEq(x.getValue1(), y.getValue1());
        }}
        return Objects.equals(a, b);
    }}
    static void __codebabelCheck(boolean ok, int test) {{
        if (!ok) {{
            System.err.println("{ASSERT_MARKER} test " + test);
            System.exit(1);
        }}
    }}
"""

#: org.javatuples.Pair's API, declared after class Problem (javatuples is not installed)
_PAIR = """final class Pair<A, B> implements Comparable<Pair<A, B>> {
    private final A value0;
    private final B value1;
    public Pair(A value0, B value1) { this.value0 = value0; this.value1 = value1; }
    public static <A, B> Pair<A, B> with(A value0, B value1) { return new Pair<A, B>(value0, value1); }
    public A getValue0() { return value0; }
    public B getValue1() { return value1; }
    public Object getValue(int pos) {
        if (pos == 0) return value0;
        if (pos == 1) return value1;
        throw new IllegalArgumentException("Cannot retrieve position " + pos + " in Pair. Positions are 0 to 1");
    }
    public int getSize() { return 2; }
    public <X> Pair<X, B> setAt0(X value) { return new Pair<X, B>(value, value1); }
    public <X> Pair<A, X> setAt1(X value) { return new Pair<A, X>(value0, value); }
    public List<Object> toList() { return Arrays.asList(value0, value1); }
    @Override public boolean equals(Object o) {
        if (!(o instanceof Pair)) return false;
        Pair<?, ?> p = (Pair<?, ?>) o;
        return Objects.equals(value0, p.value0) && Objects.equals(value1, p.value1);
    }
    @Override public int hashCode() { return Objects.hash(value0, value1); }
    @Override public String toString() { return "[" + value0 + ", " + value1 + "]"; }
    @SuppressWarnings("unchecked")
    @Override public int compareTo(Pair<A, B> o) {
        int c = ((Comparable<Object>) value0).compareTo(o.value0);
        return c != 0 ? c : ((Comparable<Object>) value1).compareTo(o.value1);
    }
}"""

_IMPORTS = ("import java.util.*;\nimport java.lang.reflect.*;\nimport java.security.*;\nimport java.math.*;\n"
            "import java.io.*;\nimport java.util.stream.*;\n")

_PRIMITIVE = {"int": "long", "float": "double", "bool": "boolean"}
_BOXED = {"int": "Long", "float": "Double", "bool": "Boolean"}


class Java(Language):
    name = "java"
    display_name = "Java"
    extensions = (".java",)

    source_packages = ("openjdk-17-source",)

    source_license = "GPL-2.0-only WITH Classpath-exception-2.0"

    def system_sources(self) -> list[str]:
        import os

        javac = shutil.which("javac")
        home = os.path.dirname(os.path.dirname(os.path.realpath(javac))) if javac else None
        return existing(home and f"{home}/lib/src.zip")
    fence = "java"
    stop_tokens = ("\n    }\n",)
    apt_packages = ("openjdk-17-jdk-headless",)
    toolchain = ("javac", "java")
    tree_sitter = "java"
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
    memory_error_patterns = JVM_MEMORY_ERRORS

    # -- types and literals -----------------------------------------------------------------------------------
    def type_name(self, t: Type, boxed: bool = False) -> str:
        k = t.kind
        if k in _PRIMITIVE:
            return _BOXED[k] if boxed else _PRIMITIVE[k]
        if k == "str":
            return "String"
        if k == "list":
            return f"ArrayList<{self.type_name(t.elem, True)}>"
        if k == "dict":
            return f"HashMap<{self.type_name(t.key, True)},{self.type_name(t.value, True)}>"
        if k == "tuple":
            if len(t.args) != 2:
                raise Untranslatable(f"a tuple of {len(t.args)} elements (Java has only Pair)")
            return f"Pair<{', '.join(self.type_name(a, True) for a in t.args)}>"
        if k == "optional":
            return f"Optional<{self.type_name(t.elem, True)}>"
        if k in ("union", "any", "unknown"):
            return "Object"
        raise Untranslatable(f"type {t} has no Java equivalent")

    def literal(self, value: Any, t: Type) -> str:
        k = t.kind
        if k == "optional":
            return "Optional.empty()" if value is None else f"Optional.of({self.literal(value, t.elem)})"
        if k == "union":
            return self.literal(value, value_member(value, t))
        if k in ("any", "unknown"):
            if value is None:
                return "null"
            return self.literal(value, any_type(value))
        if k == "bool":
            return "true" if value else "false"
        if k == "int":
            return long_literal(value)
        if k == "float":
            return float_literal(value)
        if k == "str":
            return string_literal(value)
        if k == "list":
            if not value:
                return f"new {self.type_name(t)}()"
            items = ", ".join(self.literal(v, t.elem) for v in value)
            return f"new {self.type_name(t)}(Arrays.asList({items}))"
        if k == "dict":
            if not value:
                return f"new {self.type_name(t)}()"
            pairs = [(self.literal(a, t.key), self.literal(b, t.value)) for a, b in value.items()]
            if len(pairs) <= 10:
                inner = "Map.of(" + ", ".join(f"{a}, {b}" for a, b in pairs) + ")"
            else:  # Map.of takes at most ten pairs
                inner = "Map.ofEntries(" + ", ".join(f"Map.entry({a}, {b})" for a, b in pairs) + ")"
            return f"new {self.type_name(t)}({inner})"
        if k == "tuple":
            self.type_name(t)  # only pairs
            return f"Pair.with({', '.join(self.literal(v, u) for v, u in zip(value, t.args, strict=True))})"
        raise Untranslatable(f"no Java literal for {value!r} of type {t}")

    def safe_name(self, name: str) -> str:
        # MultiPL-E turns the entry point into camelCase; the shared code renames parameters with the same
        # hook, so they are camelCase too (paren_string -> parenString), as Java code would name them
        name = camel_case(name)
        return f"{name}_" if name in self.reserved else name

    # -- translation ------------------------------------------------------------------------------------------
    def prompt(self, sig: Signature) -> str:
        params = ", ".join(f"{self.type_name(p.type)} {p.name}" for p in sig.params)
        doc = self.comment([comment_safe(ln) for ln in sig.doc], "    //")
        return (f"{_IMPORTS}class Problem {{\n{doc}"
                f"    public static {self.type_name(sig.returns)} {sig.name}({params}) {{\n")

    def test_harness(self, sig: Signature, tests: Sequence[tuple[str, str]]) -> str:
        lines = ["    }", _HELPERS + "    public static void main(String[] args) {"]
        lines += [f"        __codebabelCheck(__codebabelEq({call}, {expected}), {i});"
                  for i, (call, expected) in enumerate(tests, 1)]
        lines += [f'        System.out.println("{DONE_MARKER}");', "    }", "}", _PAIR]
        return "\n".join(lines)

    def stub(self, sig: Signature) -> str:
        return f"        return {self.default_literal(sig.returns)};"

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

    def adjust_limits(self, limits: Limits) -> Limits:
        return jvm_adjust_limits(limits)
