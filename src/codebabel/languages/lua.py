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

from codebabel.languages.base import DONE_MARKER
from codebabel.languages.render import Target, control, harness_code

_HARNESS = harness_code("lua.lua")["helpers"]


class Lua(Target):
    name, display_name, extensions = "lua", "Lua", (".lua",)
    fence = tree_sitter = "lua"
    apt_packages, toolchain = ("lua5.4",), ("lua5.4", "luac5.4")
    source_dirs = ("/usr/share/lua/5.4", "/usr/share/lua/5.1")
    # MultiPL-E's humaneval_to_lua.py, and its terms.csv row for Lua
    stop_tokens = ("\nlocal", "\nfunction", "\n--", "\n\n")
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

    # dynamically typed: rendered by the value's own Python type, as in MultiPL-E
    by_value, null = True, "nil"
    int_bounds, int_type = (1 - 2**63, 2**63 - 1), "Lua's 64-bit integers"
    # always three digits: a following digit cannot extend it; other characters are UTF-8 (bytes in the string)
    code_escapes = control("\\{:03d}")
    list_brackets, entry_format = ("{", ", ", "}"), "[{}] = {}"
    harness_head, harness_tail = (_HARNESS,), (f'_G.print("{DONE_MARKER}")',)
    check_line, stub_format = "__codebabel_check({i}, {call}, {expected})", "  return {value}\nend\n"
    prompt_format, comment_prefix = "{doc}local function {name}({params})\n", "--"
    program_file, compile_command, run_command = "main.lua", ("luac5.4", "-p", "main.lua"), ("lua5.4", "main.lua")
