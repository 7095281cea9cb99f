"""Lua 5.4: MultiPL-E's ``lua`` target, dynamically typed, run with ``lua5.4``.

Layout as in MultiPL-E: the docstring as ``--`` comments, then ``local function f(x, y)`` and a newline; the
completion writes the body and closes it with ``end``. Values are rendered by their own Python type, as
MultiPL-E does: lists and tuples become sequence tables ``{1, 2}``, dicts tables with explicit keys
(``{["a"] = 1, [5] = "x"}``), ``None`` is ``nil``, booleans ``true``/``false``.

``None`` inside a list or tuple: Lua tables cannot hold ``nil``, so ``(None, 1)`` becomes ``{nil, 1}``, a
table with only the key 2 (``#t`` is unreliable on it). The harness compares tables by their keys and
values, never by length, so a solution that returns ``{nil, 1}`` (or builds the same table with
``t[2] = 1``) passes, and ``{nil, nil}`` equals ``{}``. Only HumanEval/136 has such values. An empty list
and an empty dict are both ``{}``.

The harness's deep equality: numbers within FLOAT_TOLERANCE (``2`` equals ``2.0``, as in Python), tables by
keys and values both ways, everything else with ``==``. It reaches the standard library through ``_G`` so a
benchmark function or parameter that shadows a global (``string``, ``type``) cannot break it.

``luac5.4 -p`` parses first: its errors carry "near <token>" for syntax errors (syntax_error); the few
others it reports ("no visible label 'x' for <goto>", "attempt to assign to const variable") are compile
errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from codebabel.languages.base import (
    ASSERT_MARKER,
    DONE_MARKER,
    FLOAT_TOLERANCE,
    Language,
    RunSpec,
    Signature,
    existing,
)
from codebabel.languages.types import Type, Untranslatable

_HARNESS = f"""local function __codebabel_eq(a, b)
  local ta, tb = _G.type(a), _G.type(b)
  if ta == "number" and tb == "number" then
    return a == b or _G.math.abs(a - b) < {FLOAT_TOLERANCE}
  end
  if ta == "table" and tb == "table" then
    for k, v in _G.pairs(a) do
      if not __codebabel_eq(v, b[k]) then return false end
    end
    for k, _ in _G.pairs(b) do
      if a[k] == nil then return false end
    end
    return true
  end
  return a == b
end

local function __codebabel_check(i, got, expected)
  if not __codebabel_eq(got, expected) then
    _G.io.stderr:write("{ASSERT_MARKER} test " .. _G.tostring(i) .. "\\n")
    _G.os.exit(1)
  end
end
"""

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_INT64 = 2**63


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):03d}")  # always three digits: a following digit cannot extend it
        else:
            out.append(ch)  # UTF-8 in the source, bytes in the string
    return '"' + "".join(out) + '"'


class Lua(Language):
    name = "lua"
    display_name = "Lua"
    extensions = (".lua",)

    def system_sources(self) -> list[str]:
        return existing("/usr/share/lua/5.4", "/usr/share/lua/5.1")
    fence = "lua"
    # MultiPL-E's humaneval_to_lua.py
    stop_tokens = ("\nlocal", "\nfunction", "\n--", "\n\n")
    apt_packages = ("lua5.4",)
    toolchain = ("lua5.4", "luac5.4")
    tree_sitter = "lua"
    # MultiPL-E's terms.csv row for Lua
    doc_terms = {"array": "table", "arrays": "tables", "list": "table", "lists": "tables", "tuple": "table",
                 "tuples": "tables", "dictionary": "table", "dictionaries": "tables", "None": "nil",
                 "True": "true", "False": "false"}
    # keywords, and the two names the harness reaches the standard library through
    reserved = frozenset({"and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
                          "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
                          "_G", "_ENV"})
    # parse errors name the token they stopped at: "main.lua:3: unexpected symbol near 'end'",
    # "'end' expected near <eof>", "unfinished string near '\"abc'"
    # (only luac's: a run-time error() message may say "near" too)
    syntax_error_patterns = (r"^luac[\d.]*: main\.lua:\d+: .*\bnear\b",)
    memory_error_patterns = (r"\bnot enough memory\b",)

    # -- translation ------------------------------------------------------------------------------------------
    def prompt(self, sig: Signature) -> str:
        params = ", ".join(p.name for p in sig.params)
        return f"{self.comment(sig.doc, '--')}local function {sig.name}({params})\n"

    def test_harness(self, sig: Signature, tests: Sequence[tuple[str, str]]) -> str:
        lines = [_HARNESS]
        lines += [f"__codebabel_check({i}, {call}, {expected})" for i, (call, expected) in enumerate(tests, 1)]
        lines.append(f'_G.print("{DONE_MARKER}")')
        return "\n".join(lines)

    def stub(self, sig: Signature) -> str:
        return f"  return {self.default_literal(sig.returns)}\nend\n"

    def literal(self, value: Any, t: Type) -> str:
        # dynamically typed: rendered by the value's own Python type, as in MultiPL-E
        if value is None:
            return "nil"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            if not -_INT64 < value < _INT64:
                raise Untranslatable(f"integer {value} does not fit Lua's 64-bit integers")
            return str(value)
        if isinstance(value, float):
            return repr(value)
        if isinstance(value, str):
            return _string(value)
        if isinstance(value, (list, tuple)):
            return "{" + ", ".join(self.literal(v, t) for v in value) + "}"
        if isinstance(value, dict):
            return "{" + ", ".join(f"[{self.literal(k, t)}] = {self.literal(v, t)}" for k, v in value.items()) + "}"
        raise TypeError(f"no Lua literal for {value!r}")

    # -- execution --------------------------------------------------------------------------------------------
    def run_spec(self, program: str) -> RunSpec:
        return RunSpec(files={"main.lua": program}, compile=["luac5.4", "-p", "main.lua"],
                       run=["lua5.4", "main.lua"])
