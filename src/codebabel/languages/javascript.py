"""JavaScript (Node.js): MultiPL-E's ``js`` target, dynamically typed, run with ``node``."""

from __future__ import annotations

import json
from typing import Any

from codebabel.languages.base import DONE_MARKER
from codebabel.languages.render import Target, harness_code
from codebabel.languages.types import Type

_EQ = harness_code("javascript.js")["helpers"]


class JavaScript(Target):
    name, display_name, extensions = "js", "JavaScript", (".js", ".mjs", ".cjs")
    aliases = ("javascript", "node", "nodejs")
    fence = tree_sitter = "javascript"
    apt_packages, toolchain = ("nodejs",), ("node",)
    source_query, source_dirs = ("npm", "root", "-g"), ("/usr/share/nodejs", "/usr/lib/node_modules")
    stop_tokens = ("\nfunction ", "\n/*", "\n//", "\nconsole.log")
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

    # dynamically typed: each value is rendered by its own Python type (an int stays an int even where the
    # function's type is float), so the program sees what the Python tests passed
    by_value, null = True, "undefined"
    harness_head, harness_tail = (_EQ,), (f'console.log("{DONE_MARKER}");',)
    check_line, stub_format = "__codebabel_assert(__codebabel_eq({call}, {expected}), {i});", "  return {value};\n}}\n"
    prompt_format = "{doc}function {name}({params}){{\n"
    # --check parses without running: syntax errors become their own status, found before any test runs
    program_file, compile_command = "main.js", ("node", "--check", "main.js")
    run_command = ("node", "--max-old-space-size=1024", "--stack-size=4000", "main.js")

    def string_literal(self, value: str, ctx: Any) -> str:
        return json.dumps(value)

    def key_literal(self, key: Any, t: Type, ctx: Any) -> str:
        return json.dumps(str(key))
