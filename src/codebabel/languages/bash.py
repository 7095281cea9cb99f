"""Bash: MultiPL-E's ``sh`` target, where every value is a string, run with ``bash``.

Encoding (MultiPL-E's): the function reads its arguments as strings ``$1 $2 ...`` and echoes its result.
Numbers are decimal strings, booleans ``true``/``false``, None ``None``; a list or tuple is a space-separated
string (``"1 2 3"``, empty: ``""``), a list of lists or tuples is newline-separated rows of space-separated
items, and a dict is a two-column CSV, one ``key,value`` line per entry. A value with no such encoding (a
list element that is empty or holds whitespace, deeper nesting, a dict inside a list, a dict value with a
newline or a key with a comma) raises Untranslatable, so the problem is skipped with that reason (MultiPL-E
skips the same problems).

The prompt ends inside ``name() {`` and the stop token ``\\n}`` cuts the closing brace, which the harness
supplies. Each test runs ``out=$(name args)`` (a subshell: ``exit`` in the function cannot skip the tests)
and compares the output by the return type: strings, numbers and booleans exactly; lists by their words,
so spaces and newlines between items are alike; nested lists row by row; dicts as sorted lines; anything
holding a float token by token, numbers within FLOAT_TOLERANCE (awk). A wrong output is an assertion failure,
or a runtime error where the function also exited non-zero. ``bash -n`` checks the syntax first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from codebabel.execute.sandbox import ExecResult
from codebabel.execute.status import Status
from codebabel.languages.base import DONE_MARKER, Signature
from codebabel.languages.render import Target, control, harness_code, quote
from codebabel.languages.types import Type, Untranslatable

#: the harness's shell functions (languages/harness/bash.sh): a value's words and lines with their whitespace
#: normalised, and the comparison of each mode: ``__codebabel_eq actual expected`` succeeds when they are equal
_PARTS = harness_code("bash.sh")
_WORDS = _PARTS["words"]
_LINES = _WORDS + _PARTS["lines"]
_EQ = {"exact": _PARTS["eq_exact"], "words": _WORDS + _PARTS["eq_words"], "lines": _LINES + _PARTS["eq_lines"],
       "dict": _LINES + _PARTS["eq_dict"], "float": _PARTS["eq_float"]}
_CHECK = _PARTS["check"]

_WHITESPACE = (" ", "\t", "\n", "\r", "\v", "\f")


def _quote(s: str) -> str:
    """``s`` as one shell word: double-quoted, or ANSI-C quoted ($'...') where it holds control characters."""
    if any(ord(c) < 32 or ord(c) == 127 for c in s):
        escapes = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
        return quote(s, escapes, control("\\x{:02x}"), "$'", "'")
    return quote(s, {c: "\\" + c for c in '\\"$`'})


def _scalar(v: Any) -> str:
    if v is None:
        return "None"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return repr(v) if isinstance(v, float) else str(v)
    raise Untranslatable(f"no Bash encoding for a value of Python type {type(v).__name__}")


def _item(v: Any, where: str, any_elems: bool, in_tuple: bool) -> str:
    """A list or tuple element: a scalar (or, in a list of Python "any" values, a container's str())."""
    if isinstance(v, (list, tuple, dict)):
        s = str(v) if any_elems else None
        if s is None or any(w in s for w in _WHITESPACE):
            raise Untranslatable(f"{where} holds a {type(v).__name__}, which a flat list cannot encode")
        return s
    s = _scalar(v)
    if s == "" and not in_tuple:
        raise Untranslatable(f"{where} has an empty string element, which a space-separated list loses")
    if "\n" in s:
        raise Untranslatable(f"{where} has an element with a newline, which a separated list cannot keep")
    return s


def _holds_any_list(t: Type) -> bool:
    """Whether ``t`` is (or, through optional/union, holds) a list of Python "any" values."""
    if t.kind == "list":
        return t.elem.kind == "any"
    return t.kind in ("optional", "union") and any(_holds_any_list(a) for a in t.args)


def encode(value: Any, t: Type) -> str:
    """A Python value as the string MultiPL-E's sh target passes or echoes for it (see the module doc)."""
    if isinstance(value, (list, tuple)):
        any_elems = _holds_any_list(t)
        if not any_elems and any(isinstance(v, (list, tuple)) for v in value):
            if not all(isinstance(v, (list, tuple)) for v in value):
                raise Untranslatable("a list mixing lists and scalars has no newline/space-separated encoding")
            rows = [[_item(x, "a nested list", False, isinstance(row, tuple)) for x in row] for row in value]
            if any(w in x for row in rows for x in row for w in _WHITESPACE):
                raise Untranslatable("a nested list has an element with whitespace, which its rows cannot keep")
            return "\n".join(" ".join(row) for row in rows)
        items = [_item(v, "a list", any_elems, isinstance(value, tuple)) for v in value]
        # MultiPL-E's space-separated list, except where an item holds whitespace: one item per line
        return ("\n" if any(w in x for x in items for w in _WHITESPACE) else " ").join(items)
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            if isinstance(v, (list, tuple, dict)):
                raise Untranslatable("a dict whose values are containers has no two-column CSV encoding")
            key, val = _scalar(k), _scalar(v)
            if "," in key or "\n" in key or "\n" in val:
                raise Untranslatable(f"dict entry {k!r}: {v!r} does not fit one key,value CSV line")
            lines.append(f"{key},{val}")
        return "\n".join(lines)
    return _scalar(value)


def _mode(t: Type) -> str:
    if t.contains("float"):
        return "float"
    if t.contains("dict"):
        return "dict"
    if t.contains("list") or t.contains("tuple"):
        inner = [a for a in t.args if a.kind in ("list", "tuple")] if t.kind in ("list", "tuple") else []
        return "lines" if inner else "words"
    return "exact"


def _describe(t: Type) -> str:
    if t.kind == "list" and t.elem.kind in ("list", "tuple"):
        return "a newline-separated, space-separated list"
    if t.kind in ("list", "tuple"):
        return "a space-separated list"
    if t.kind == "dict":
        return "a two column CSV in key,value order"
    return {"int": "an integer", "float": "a floating point", "str": "a string",
            "bool": 'a boolean ("true" or "false")'}.get(t.kind, "an argument")


class Bash(Target):
    name, display_name, aliases, extensions = "sh", "Bash", ("bash", "shell"), (".sh", ".bash")
    fence = tree_sitter = "bash"
    apt_packages, toolchain = ("bash", "mawk", "coreutils"), ("bash", "awk")
    stop_tokens = ("\n}",)
    # MultiPL-E's terms.csv row for Bash
    doc_terms = {"tuple": "list", "tuples": "lists", "dictionary": "CSV", "dictionaries": "CSVs",
                 "True": "true", "False": "false"}
    reserved = frozenset({"if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until",
                          "do", "done", "in", "function", "time", "coproc", "echo", "printf", "read", "test",
                          "local", "return", "exit", "set", "shift", "eval", "exec", "source", "true", "false",
                          "declare", "export", "unset", "let", "type", "command", "builtin", "trap", "wait"})
    syntax_error_patterns = (r"syntax error near unexpected token", r"syntax error: unexpected end of file",
                             r"unexpected EOF while looking for matching")

    check_line = '__codebabel_out={call}; __codebabel_check {i} $? "$__codebabel_out" {expected}'
    harness_tail, stub_format = (f'echo "{DONE_MARKER}"',), "    echo {value}\n"
    # bash -n parses the whole script without running it: syntax errors get their own status
    program_file, compile_command, run_command = "main.sh", ("bash", "-n", "main.sh"), ("bash", "main.sh")

    # -- translation ------------------------------------------------------------------------------------------
    def prompt(self, sig: Signature) -> str:
        doc = self.comment(sig.doc, "#")
        params = "".join(f"# ${i} is {_describe(p.type)}\n" for i, p in enumerate(sig.params, 1))
        if params:
            params = "#\n" + params
        return f"#!/bin/bash\n{doc}{params}{sig.name}() {{\n"

    def call(self, name: str, args: Sequence[str]) -> str:
        return f"$({' '.join((name, *args))})"

    def harness_start(self, sig: Signature) -> tuple[list[str], dict[str, str]]:
        return ["}", "", _EQ[_mode(sig.returns)] + _CHECK], {}

    def literal(self, value: Any, t: Type) -> str:
        # everything is a string: rendered by the value's own Python type, as MultiPL-E does
        return _quote(encode(value, t))

    def classify(self, result: ExecResult) -> Status:
        # bash -n already found the syntax errors: at run time, "syntax error" is an arithmetic expression's
        # runtime failure (`(( 1 + ))`), so only the markers and the exit decide
        status = self.marker_status(result)
        return Status.RUNTIME_ERROR if status is None else status
