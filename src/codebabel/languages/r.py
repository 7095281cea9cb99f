"""R: MultiPL-E's ``r`` target, dynamically typed, run with ``Rscript``.

Values follow MultiPL-E's R translator: a list whose elements are scalars of one R mode (numbers, strings or
booleans) is an atomic vector ``c(...)``; any other list or tuple (nested, mixed, holding NULL) is a
``list(...)``; a dict is a named list ``list("key" = value)``; None is ``NULL``. Numbers are doubles, as
in MultiPL-E (``1``, not ``1L``).

The harness compares with its own deep equality rather than ``all.equal`` (whose tolerance is relative):
numbers (integer or double) within FLOAT_TOLERANCE, strings and booleans exactly, vectors and lists element
by element (an atomic vector and a list with equal elements are equal), named lists by name in any order,
names the expectation lacks ignored (``sapply`` adds them), and ``NULL`` equal to any empty vector or list
(``c()`` *is* ``NULL`` in R, so an empty result and None cannot be told apart there).

The program is parsed whole before anything runs (``parse`` in the run step, so one R start-up per program):
a parse error is reported with its own line and becomes ``syntax_error``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from codebabel.languages.base import DONE_MARKER
from codebabel.languages.render import Target, control, harness_code
from codebabel.languages.types import Type

#: printed (to stderr) by the run step's bootstrap when main.R does not parse
PARSE_ERROR = "codebabel: R parse error:"

#: parses main.R whole (a syntax error anywhere stops it before any code runs), then evaluates it
#: expression by expression in the global environment, like ``Rscript main.R`` would
_BOOTSTRAP = (
    "local({"
    " exprs <- tryCatch(parse('main.R', keep.source = FALSE), error = function(e) {"
    f" cat('{PARSE_ERROR}', conditionMessage(e), '\\n', file = stderr());"
    " quit(save = 'no', status = 1) });"
    " for (expr in exprs) eval(expr, globalenv()) })"
)

_EQ = harness_code("r.R")["helpers"]

#: the "mode" of a scalar in an atomic vector: numbers (ints and floats) share one
_MODES = {bool: "logical", int: "numeric", float: "numeric", str: "character"}


class R(Target):
    name, display_name, extensions = "r", "R", (".r", ".R")
    fence = tree_sitter = "r"
    apt_packages, toolchain = ("r-base-core",), ("Rscript",)
    stop_tokens = ("\n#", "\n```")
    # MultiPL-E's terms.csv row for R
    doc_terms = {"array": "vector", "arrays": "vectors", "tuple": "list", "tuples": "lists",
                 "dictionary": "named list", "dictionaries": "named lists",
                 "None": "NULL", "True": "TRUE", "False": "FALSE"}
    # R's reserved words, plus base/stats functions a HumanEval entry point would otherwise shadow in the
    # global environment: `unique <- function(l)` makes the natural `sort(unique(l))` recurse forever
    reserved = frozenset({"if", "else", "repeat", "while", "function", "for", "next", "break", "in", "TRUE",
                          "FALSE", "NULL", "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_",
                          "NA_complex_", "T", "F", "unique", "median"})
    syntax_error_patterns = (rf"^{re.escape(PARSE_ERROR)}",)
    memory_error_patterns = (r"cannot allocate vector of size", r"vector memory (?:exhausted|limit)",
                             r"cannot allocate memory block")

    # dynamically typed: rendered by the value's own Python type, as MultiPL-E does
    by_value, null, true, false = True, "NULL", "TRUE", "FALSE"
    code_escapes = (*control("\\x{:02x}"), (0x80, 0x110000, "\\u{{{:x}}}"))
    dict_brackets, entry_format = ("list(", ", ", ")"), "{} = {}"
    prompt_format, comment_prefix = "{doc}{name} <- function({params}) {{\n", "#"
    harness_head, harness_tail = (_EQ,), (f'cat("{DONE_MARKER}\\n")',)
    check_line, stub_format = ".__codebabel_check({i}, {call}, {expected})", "  return({value})\n}}\n"
    # --vanilla: no site/user profiles or saved workspace; only base, utils and stats attached (methods,
    # graphics, grDevices and datasets would double start-up, ~0.13 s -> ~0.25 s; `pkg::f` still works)
    program_file = "main.R"
    run_command = ("Rscript", "--vanilla", "--default-packages=base,utils,stats", "-e", _BOOTSTRAP)

    def list_literal(self, items: Iterator[str], value: Any, t: Type, ctx: Any) -> str:
        body = ", ".join(items)
        modes = {_MODES.get(type(v)) for v in value}
        return f"c({body})" if len(modes) <= 1 and None not in modes else f"list({body})"

    def key_literal(self, key: Any, t: Type, ctx: Any) -> str:
        return self.string_literal(str(key), ctx)
