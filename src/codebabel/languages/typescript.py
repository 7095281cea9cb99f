"""TypeScript: MultiPL-E's ``ts`` target, type-checked and compiled with ``tsc``, run with ``node``.

Types map as MultiPL-E maps them (int and float -> ``number``, ``T[]``, tuples as ``[A, B]``, dicts as
``{[key: K]: V}``, Optional[T] -> ``T | undefined``), and the union/any problems that other typed targets
skip are plain TS union types and ``any``. ``tsc`` runs with the settings MultiPL-E's numbers were taken
with (``strict`` off, as TypeScript before 6 defaulted to): type errors are still errors (TS2xxx, and
TS7xxx where an option asks for them) and become ``type_error``; grammar errors (TS1xxx) ``syntax_error``.
Only the ES library is loaded (no DOM: a sixth of the start-up), and the harness declares the three Node
globals it and a completion may use (``require``, ``process``, ``console``), as MultiPL-E declares
``require``, so no ``@types/node`` is needed.
"""

from __future__ import annotations

import json
import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

from codebabel.languages.base import RunSpec
from codebabel.languages.javascript import JavaScript
from codebabel.languages.render import harness_code
from codebabel.languages.types import Type, Untranslatable

_PRELUDE = harness_code("typescript.ts")["prelude"]

#: compiler options: ES2022 output for Node 20, ES2023 library only (no DOM), declaration files unchecked
_TSC_FLAGS = ("--target", "es2022", "--lib", "es2023", "--skipLibCheck", "--strict", "false", "--pretty", "false")


@cache
def _tsc() -> tuple[str, tuple[str, ...]]:
    """(the compiler to run, read-only paths it needs). TypeScript 7's ``tsc`` is a Node script that
    starts a native binary from its platform package; call that binary directly (one Node start-up less
    per program). Older (JavaScript) TypeScripts run through ``tsc`` itself."""
    found = shutil.which("tsc")
    if found is None:
        return "tsc", ()
    package = Path(os.path.realpath(found)).parent.parent  # .../node_modules/typescript
    ro = () if package.parts[1:2] == ("usr",) else (str(package.parent),)
    # the platform package sits in typescript's own node_modules, or beside it where npm hoisted it
    for folder in (package / "node_modules", package.parent):
        for native in sorted(folder.glob("@typescript/typescript-*/lib/tsc")):
            if os.access(native, os.X_OK):
                native = native.resolve()
                extra = () if native.parts[1:2] == ("usr",) else (str(native.parent.parent),)
                return str(native), (*ro, *extra)
    return found, ro


class TypeScript(JavaScript):
    """JavaScript's literals (every number is a ``number``: values render by their own Python type, the types
    only decide how dict keys are written), harness and stub, with types."""

    name, display_name, aliases, extensions = "ts", "TypeScript", ("typescript",), (".ts",)
    fence = tree_sitter = "typescript"
    npm_packages, toolchain, source_license = ("typescript",), ("tsc", "node"), "Apache-2.0"
    source_query, source_subdir, source_dirs = ("npm", "root", "-g"), "/typescript/lib", ()
    stop_tokens = ("\nfunction ", "\n/*", "\n//", "\nclass")
    reserved = frozenset({"arguments", "await", "break", "case", "catch", "class", "const", "continue", "debugger",
                          "default", "delete", "do", "else", "enum", "eval", "export", "extends", "false", "finally",
                          "for", "function", "if", "implements", "import", "in", "instanceof", "interface", "let",
                          "new", "null", "package", "private", "protected", "public", "return", "static", "super",
                          "switch", "this", "throw", "true", "try", "typeof", "var", "void", "while", "with", "yield",
                          # declared by the harness
                          "require", "process", "console"})
    #: TS1xxx are the parser's (grammar) diagnostics; TS2xxx the checker's, TS7xxx implicit-any, TS18xxx
    #: the newer checker codes (possibly undefined, ...). A name that resolves to nothing (TS2304 "Cannot
    #: find name", TS2552 "... Did you mean", TS2580-2584 "... install type definitions") is a compile
    #: error, not a type error.
    syntax_error_patterns = (r"error TS1\d{3}:", r"^SyntaxError: ")
    type_error_patterns = (r"error TS(?!2304:|2552:|258[0-4]:)(?:2|7)\d{3}:", r"error TS18\d{3}:")
    harness_head = (_PRELUDE,)
    prompt_format, param_format = "{doc}function {name}({params}): {returns} {{\n", "{name}: {type}"
    type_names = {"int": "number", "float": "number", "str": "string", "bool": "boolean", "none": "undefined",
                  "any": "any"}
    type_formats = {"tuple": "[{args}]", "optional": "{0} | undefined"}
    no_type = "no {lang} type for {t}"

    def type_name(self, t: Type) -> str:
        if t.kind == "list":
            elem = self.type_name(t.elem)
            return f"({elem})[]" if t.elem.kind in ("optional", "union") else f"{elem}[]"
        if t.kind == "dict":
            return f"{{[key: {self._key_type(t.key)}]: {self.type_name(t.value)}}}"
        if t.kind == "union":  # int and float are both number
            return " | ".join(dict.fromkeys(self.type_name(a) for a in t.args))
        return super().type_name(t)

    def _key_type(self, t: Type) -> str:
        if t.kind in ("str", "int", "float") or t.kind == "union" and all(a.kind in ("str", "int", "float")
                                                                           for a in t.args):
            return self.type_name(t)
        raise Untranslatable(f"object keys of type {t} (TypeScript index signatures take string or number keys)")

    def key_literal(self, key: Any, t: Type, ctx: Any) -> str:
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise Untranslatable(f"object key {key!r}")
        return json.dumps(key) if isinstance(key, str) else str(key)

    def run_spec(self, program: str) -> RunSpec:
        tsc, ro = _tsc()  # node runs the main.js tsc writes, as JavaScript's does
        return RunSpec(files={"main.ts": program}, compile=[tsc, *_TSC_FLAGS, "main.ts"], run=list(self.run_command),
                       ro_paths=ro)
