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

from collections.abc import Sequence
from typing import Any

from codebabel.languages.base import ASSERT_MARKER, DONE_MARKER, FLOAT_TOLERANCE, Language, RunSpec, Signature
from codebabel.languages.types import Type, Untranslatable, of_value, union_member

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

_EQ = f"""    static bool __CbNum(object x) {{
        return x is long || x is int || x is short || x is sbyte || x is byte || x is ulong || x is uint
            || x is ushort || x is double || x is float || x is decimal;
    }}
    static bool __CbEq(object a, object b) {{
        if (a == null || b == null) return a == null && b == null;
        if (__CbNum(a) && __CbNum(b)) {{
            if (a is double || a is float || b is double || b is float) {{
                double x = Convert.ToDouble(a), y = Convert.ToDouble(b);
                return x == y || Math.Abs(x - y) < {FLOAT_TOLERANCE};
            }}
            return Convert.ToDecimal(a) == Convert.ToDecimal(b);
        }}
        if (a is string || b is string || a is bool || b is bool || a is char || b is char) return a.Equals(b);
        var da = a as System.Collections.IDictionary;
        var db = b as System.Collections.IDictionary;
        if (da != null || db != null) {{
            if (da == null || db == null || da.Count != db.Count) return false;
            foreach (System.Collections.DictionaryEntry e in da) {{
                if (!db.Contains(e.Key) || !__CbEq(e.Value, db[e.Key])) return false;
            }}
            return true;
        }}
        var ta = a as System.Runtime.CompilerServices.ITuple;
        var tb = b as System.Runtime.CompilerServices.ITuple;
        if (ta != null || tb != null) {{
            if (ta == null || tb == null || ta.Length != tb.Length) return false;
            for (int i = 0; i < ta.Length; i++) if (!__CbEq(ta[i], tb[i])) return false;
            return true;
        }}
        var la = a as System.Collections.IEnumerable;
        var lb = b as System.Collections.IEnumerable;
        if (la != null || lb != null) {{
            if (la == null || lb == null) return false;
            var ea = la.GetEnumerator();
            var eb = lb.GetEnumerator();
            while (true) {{
                bool ma = ea.MoveNext(), mb = eb.MoveNext();
                if (ma != mb) return false;
                if (!ma) return true;
                if (!__CbEq(ea.Current, eb.Current)) return false;
            }}
        }}
        return a.Equals(b);
    }}
    static void __CbCheck(bool ok, int i) {{
        if (!ok) {{
            Console.Error.WriteLine("{ASSERT_MARKER} test " + i);
            Environment.Exit(1);
        }}
    }}
"""


class CSharp(Language):
    name = "cs"
    display_name = "C#"
    aliases = ("csharp", "c#")
    extensions = (".cs",)
    fence = "csharp"
    stop_tokens = ("\n    }\n",)
    apt_packages = ("mono-mcs",)
    toolchain = ("mcs", "mono")
    tree_sitter = "c_sharp"
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

    # -- types and literals -----------------------------------------------------------------------------------
    def type_name(self, t: Type) -> str:
        k = t.kind
        if k == "int":
            return "long"
        if k == "float":
            return "double"
        if k == "str":
            return "string"
        if k == "bool":
            return "bool"
        if k == "list":
            return f"List<{self.type_name(t.elem)}>"
        if k == "dict":
            return f"Dictionary<{self.type_name(t.key)},{self.type_name(t.value)}>"
        if k == "tuple":
            if not 1 <= len(t.args) <= 7:
                raise Untranslatable(f"a tuple of {len(t.args)} elements has no C# Tuple type")
            return f"Tuple<{', '.join(self.type_name(a) for a in t.args)}>"
        if k == "optional":
            inner = self.type_name(t.elem)
            return f"Nullable<{inner}>" if t.elem.kind in _VALUE_KINDS else inner
        if k in ("union", "any"):
            return "object"
        raise Untranslatable(f"type {t} has no C# equivalent")

    def literal(self, value: Any, t: Type) -> str:
        k = t.kind
        if k in ("union", "any"):
            return self._boxed(value, t)
        if k in ("optional", "none"):
            if value is None:
                return "null"
            return self.literal(value, t.elem)
        if k == "bool":
            return "true" if value else "false"
        if k == "int":
            return _int(value)
        if k == "float":
            return _float(value)
        if k == "str":
            return _string(value)
        if k == "list":
            elem = self.type_name(t.elem)
            if not value:
                return f"new List<{elem}>()"
            items = ", ".join(self.literal(v, t.elem) for v in value)
            return f"new List<{elem}>(new {elem}[]{{{items}}})"
        if k == "dict":
            items = ", ".join(f"{{{self.literal(a, t.key)}, {self.literal(b, t.value)}}}" for a, b in value.items())
            return f"new {self.type_name(t)}(){{{items}}}"
        if k == "tuple":
            return self._tuple(value, t)
        raise Untranslatable(f"no C# literal of type {t}")

    def _tuple(self, value: Sequence[Any], t: Type) -> str:
        items = []
        for v, u in zip(value, t.args, strict=True):
            lit = self.literal(v, u)
            if u.kind == "optional" and u.elem.kind in _VALUE_KINDS or u.kind in ("union", "any"):
                lit = f"({self.type_name(u)}){lit}"  # Tuple.Create infers each element's type
            items.append(lit)
        return f"Tuple.Create({', '.join(items)})"

    def _boxed(self, value: Any, t: Type) -> str:
        """A value of a union or ``object`` type, rendered by its own Python type."""
        if t.kind == "union":
            own = of_value(value)
            return self.literal(value, own if own in t.args else union_member(value, t))
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return _int(value)
        if isinstance(value, float):
            return _float(value)
        if isinstance(value, str):
            return _string(value)
        if isinstance(value, list):
            if not value:
                return "new List<object>()"
            return f"new List<object>(new object[]{{{', '.join(self._boxed(v, Type('any')) for v in value)}}})"
        if isinstance(value, tuple):
            return f"Tuple.Create({', '.join('(object)' + self._boxed(v, Type('any')) for v in value)})"
        if isinstance(value, dict):
            items = ", ".join(f"{{{self._boxed(a, Type('any'))}, {self._boxed(b, Type('any'))}}}"
                              for a, b in value.items())
            return f"new Dictionary<object,object>(){{{items}}}"
        raise Untranslatable(f"no C# literal for {value!r}")

    # -- translation ------------------------------------------------------------------------------------------
    def prompt(self, sig: Signature) -> str:
        params = ", ".join(f"{self.type_name(p.type)} {p.name}" for p in sig.params)
        header = f"{_INDENT}public static {self.type_name(sig.returns)} {sig.name}({params}) {{\n"
        return f"{_USINGS}class Problem {{\n{self.comment(sig.doc, _INDENT + '//')}{header}"

    def test_harness(self, sig: Signature, tests: Sequence[tuple[str, str]]) -> str:
        # the stop token "\n    }\n" cut the method's closing brace: close it, then the helpers and Main
        lines = [f"{_INDENT}}}", _EQ.rstrip("\n"), f"{_INDENT}public static void Main(string[] args) {{"]
        lines += [f"{_INDENT * 2}__CbCheck(__CbEq({call}, {expected}), {i});"
                  for i, (call, expected) in enumerate(tests, 1)]
        lines += [f'{_INDENT * 2}Console.WriteLine("{DONE_MARKER}");', f"{_INDENT}}}", "}"]
        return "\n".join(lines)

    def stub(self, sig: Signature) -> str:
        return f"{_INDENT * 2}return {self.default_literal(sig.returns)};\n"

    # -- execution --------------------------------------------------------------------------------------------
    def run_spec(self, program: str) -> RunSpec:
        # -noconfig skips mcs's default reference list (faster); the references the prompt's usings need
        # are named instead. The GC heap is bounded below the run step's address-space limit.
        return RunSpec(
            files={"Problem.cs": program},
            compile=["mcs", "-noconfig", "-r:System", "-r:System.Core", "-r:System.Numerics", "-warn:0",
                     "-out:Problem.exe", "Problem.cs"],
            run=["mono", "Problem.exe"],
            env={"MONO_GC_PARAMS": "max-heap-size=1g"},
        )


def _int(value: int) -> str:
    if not -(2**63) <= value < 2**63:
        raise Untranslatable(f"integer {value} does not fit a C# long")
    return f"{value}L"


def _float(value: float) -> str:
    return repr(float(value))


def _string(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif 32 <= o < 127:
            out.append(ch)
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)
