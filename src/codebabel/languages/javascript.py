"""JavaScript (Node.js): MultiPL-E's ``js`` target, dynamically typed, run with ``node``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

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
from codebabel.languages.types import Type

_EQ = f"""function __codebabel_eq(a, b) {{
  if (typeof a === "number" && typeof b === "number") return a === b || Math.abs(a - b) < {FLOAT_TOLERANCE};
  if (Array.isArray(a) || Array.isArray(b)) {{
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length
      && a.every((x, i) => __codebabel_eq(x, b[i]));
  }}
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {{
    const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
    return __codebabel_eq(ka, kb) && ka.every((k) => __codebabel_eq(a[k], b[k]));
  }}
  return a === b;
}}
function __codebabel_assert(ok, i) {{
  if (!ok) {{
    process.stderr.write("{ASSERT_MARKER} test " + i + "\\n");
    process.exit(1);
  }}
}}
"""


class JavaScript(Language):
    name = "js"
    display_name = "JavaScript"
    aliases = ("javascript", "node", "nodejs")
    extensions = (".js", ".mjs", ".cjs")

    def system_sources(self) -> list[str]:
        return existing(ask_toolchain("npm", "root", "-g"), "/usr/share/nodejs", "/usr/lib/node_modules")
    fence = "javascript"
    stop_tokens = ("\nfunction ", "\n/*", "\n//", "\nconsole.log")
    apt_packages = ("nodejs",)
    toolchain = ("node",)
    tree_sitter = "javascript"
    doc_terms = {"list": "array", "lists": "arrays", "dictionary": "object", "dictionaries": "objects",
                 "tuple": "array", "tuples": "arrays", "None": "undefined", "True": "true", "False": "false"}
    reserved = frozenset({"arguments", "await", "break", "case", "catch", "class", "const", "continue", "default",
                          "delete", "do", "else", "enum", "eval", "export", "extends", "false", "finally", "for",
                          "function", "if", "import", "in", "instanceof", "let", "new", "null", "return", "static",
                          "super", "switch", "this", "throw", "true", "try", "typeof", "var", "void", "while",
                          "with", "yield"})
    syntax_error_patterns = (r"^SyntaxError: ",)
    memory_error_patterns = (r"JavaScript heap out of memory", r"RangeError: Array buffer allocation failed",
                             r"RangeError: Invalid array length")

    # -- translation ------------------------------------------------------------------------------------------
    def prompt(self, sig: Signature) -> str:
        params = ", ".join(p.name for p in sig.params)
        return f"{self.comment(sig.doc, '//')}function {sig.name}({params}){{\n"

    def test_harness(self, sig: Signature, tests: Sequence[tuple[str, str]]) -> str:
        lines = [_EQ]
        lines += [f"__codebabel_assert(__codebabel_eq({call}, {expected}), {i});"
                  for i, (call, expected) in enumerate(tests, 1)]
        lines.append(f'console.log("{DONE_MARKER}");')
        return "\n".join(lines)

    def stub(self, sig: Signature) -> str:
        return f"  return {self.default_literal(sig.returns)};\n}}\n"

    def literal(self, value: Any, t: Type) -> str:
        # dynamically typed: each value is rendered by its own Python type (an int stays an int even
        # where the function's type is float), so the program sees what the Python tests passed
        if value is None:
            return "undefined"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return repr(value)
        if isinstance(value, str):
            return json.dumps(value)
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(self.literal(v, t) for v in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{json.dumps(str(k))}: {self.literal(v, t)}" for k, v in value.items()) + "}"
        raise TypeError(f"no JavaScript literal for {value!r}")

    # -- execution --------------------------------------------------------------------------------------------
    def run_spec(self, program: str) -> RunSpec:
        # --check parses without running: syntax errors become their own status, found before any test runs
        return RunSpec(files={"main.js": program}, compile=["node", "--check", "main.js"],
                       run=["node", "--max-old-space-size=1024", "--stack-size=4000", "main.js"])
