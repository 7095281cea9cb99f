"""C# (Mono): MultiPL-E's ``cs`` target, compiled with ``mcs`` and run with ``mono``.

The layout is MultiPL-E's: the usual ``using`` lines, ``class Problem {``, the docstring as ``//`` comments and
``public static <T> name(...) {``; the stop token ``"\\n    }\\n"`` cuts the method's closing brace, so the
harness starts with it and then adds ``Main``. Types are MultiPL-E's (long, string, bool, List<T>,
Dictionary<K,V>, Tuple<...>, Nullable<T> for an optional value type, a plain reference type otherwise) except
that Python floats are ``double`` (MultiPL-E's ``float`` cannot meet the 1e-6 tolerance). Union and ``Any``
types, which MultiPL-E rejects, are ``object``: their values are boxed by their own Python type.

Unlike MultiPL-E's ``Debug.Assert`` (a no-op unless compiled with DEBUG), every test really runs: a reflective
deep equality (numbers within FLOAT_TOLERANCE, lists, dictionaries, tuples) prints ASSERT_MARKER and exits 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from codebabel.languages.base import DONE_MARKER
from codebabel.languages.render import INT64, Target, harness_code
from codebabel.languages.types import Type, Untranslatable

_USINGS = """using System;
using System.Numerics;
using System.Diagnostics;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Security.Cryptography;
"""

_INDENT = "    "

#: value types: their optional is Nullable<T>; an optional reference type is the type itself (null allowed)
_VALUE_KINDS = ("int", "float", "bool")

_EQ = harness_code("csharp.cs")["helpers"]


class CSharp(Target):
    name, display_name, aliases, extensions = "cs", "C#", ("csharp", "c#"), (".cs",)
    fence, tree_sitter, stop_tokens = "csharp", "c_sharp", ("\n    }\n",)
    apt_packages, toolchain = ("mono-mcs",), ("mcs", "mono")
    # MultiPL-E's terms.csv row for C#
    doc_terms = {"array": "list", "arrays": "lists", "None": "null", "True": "true", "False": "false"}
    reserved = frozenset({
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
        "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit",
        "extern", "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int",
        "interface", "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out",
        "override", "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed",
        "short", "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try",
        "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile",
        "while",
        # names of the program itself
        "Problem", "Main",
    })
    # mcs: parse errors (unexpected symbol, missing ; } ), newline in constant, unexpected character, ...)
    syntax_error_patterns = (
        r"error CS(1525|1002|1003|1001|1009|1010|1012|1026|1031|1039|1040|1041|1513|1514|1519|1056|1024|1032"
        r"|1038|1733|8025|0116|1022|1520|1529|1644|1037|1043|1055|1519|1018|1013):",
    )
    # mcs: an expression of the wrong type (conversions, operators, arguments, conditional branches, indexing)
    type_error_patterns = (
        r"error CS(0029|0266|1503|1502|0019|0023|0030|0031|0173|0021|0126|0664|1579|0428|1662|0411|0221"
        r"|0131|0200|0165|0815|0828|1510|0119):",
    )
    memory_error_patterns = (r"System\.OutOfMemoryException", r"^Out of memory", r"GC_MAX_HEAP|heap size")

    # union and object values are boxed by their own Python type
    unit, int_bounds, int_type, int_suffix = "null", INT64, "a C# long", "L"
    code_escapes = ((0, 0x20, "\\u{:04x}"), (0x7F, 0x10000, "\\u{:04x}"), (0x10000, 0x110000, "\\U{:08x}"))
    no_literal = "no {lang} literal of type {t}"
    type_names = {"int": "long", "float": "double", "str": "string", "bool": "bool", "union": "object",
                  "any": "object"}
    type_formats = {"list": "List<{0}>", "dict": "Dictionary<{0},{1}>", "tuple": "Tuple<{args}>"}
    dict_brackets, entry_format = ("new {type}(){", ", ", "}"), "{{{}, {}}}"
    prompt_format = _USINGS + "class Problem {{\n{doc}    public static {returns} {name}({params}) {{\n"
    comment_prefix, param_format = "    //", "{type} {name}"
    # the stop token "\n    }\n" cut the method's closing brace: close it, then the helpers and Main
    harness_head = (f"{_INDENT}}}", _EQ.rstrip("\n"), f"{_INDENT}public static void Main(string[] args) {{")
    harness_tail = (f'{_INDENT * 2}Console.WriteLine("{DONE_MARKER}");', f"{_INDENT}}}", "}")
    # -noconfig skips mcs's default reference list (faster); the references the prompt's usings need are named
    # instead. The GC heap is bounded below the run step's address-space limit.
    program_file, run_command, run_env = "Problem.cs", ("mono", "Problem.exe"), {"MONO_GC_PARAMS": "max-heap-size=1g"}
    compile_command = ("mcs", "-noconfig", "-r:System", "-r:System.Core", "-r:System.Numerics", "-warn:0",
                       "-out:Problem.exe", "Problem.cs")
    check_line = f"{_INDENT * 2}__CbCheck(__CbEq({{call}}, {{expected}}), {{i}});"
    stub_format = f"{_INDENT * 2}return {{value}};\n"

    # -- types and literals -----------------------------------------------------------------------------------
    def type_name(self, t: Type) -> str:
        if t.kind == "tuple" and not 1 <= len(t.args) <= 7:
            raise Untranslatable(f"a tuple of {len(t.args)} elements has no C# Tuple type")
        if t.kind == "optional":
            inner = self.type_name(t.elem)
            return f"Nullable<{inner}>" if t.elem.kind in _VALUE_KINDS else inner
        return super().type_name(t)

    def list_literal(self, items: Iterator[str], value: Any, t: Type, ctx: Any) -> str:
        elem = self.type_name(t.elem)
        if not value:
            return f"new List<{elem}>()"
        return f"new List<{elem}>(new {elem}[]{{{', '.join(items)}}})"

    def tuple_literal(self, items: Iterator[str], value: Any, t: Type, ctx: Any) -> str:
        # Tuple.Create infers each element's type: a nullable, union or object element says its type
        items = [f"({self.type_name(u)}){lit}" if u.kind == "optional" and u.elem.kind in _VALUE_KINDS
                 or u.kind in ("union", "any") else lit for lit, u in zip(items, t.args, strict=False)]
        return f"Tuple.Create({', '.join(items)})"
