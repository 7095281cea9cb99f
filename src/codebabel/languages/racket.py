"""Racket: MultiPL-E's ``rkt`` target, dynamically typed, run with ``racket``.

Layout as in MultiPL-E: ``#lang racket``, the docstring as ``;;`` comments, then ``(define (f x y)`` and a
newline; the completion closes the ``define``. Values are rendered by their own Python type, as MultiPL-E
does: lists and tuples become ``(list ...)``, dicts immutable ``equal?``-based hash tables ``(hash k v ...)``,
``None`` becomes ``#f`` (MultiPL-E's choice: Racket idiom for "no value"), booleans ``#t``/``#f``.

The harness compares with its own deep equality: numbers within FLOAT_TOLERANCE (so ``2`` equals ``2.0``
as in Python), pairs and vectors element-wise, hash tables by keys and values whatever their mutability or
kind, everything else with ``equal?``.

Start-up: ``#lang racket`` costs about 0.4 s per program (``racket/base`` 0.12 s, ``racket/base`` plus
``racket/list``, ``racket/string`` and ``racket/math`` 0.24 s), but completions written for MultiPL-E's
prompts use all of ``racket`` (``match``, sets, ``string-split``, ``~a``, ...), so the prompt keeps
``#lang racket``. There is no separate compile step: ``racket main.rkt`` reads, expands and runs the module
in one process (``raco make`` first would pay the start-up twice); read errors (``read-syntax:``) are
syntax errors and expansion errors (unbound identifiers, bad syntax), which stop the module before any test
runs, are compile errors.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator, Sequence
from typing import Any

from codebabel.execute.sandbox import ExecResult
from codebabel.execute.status import Status
from codebabel.languages.base import DONE_MARKER, matches
from codebabel.languages.render import Target, control, harness_code
from codebabel.languages.types import Type

_HARNESS = harness_code("racket.rkt")["helpers"]


class Racket(Target):
    name, display_name, aliases, extensions = "rkt", "Racket", ("racket",), (".rkt",)
    fence = tree_sitter = "racket"
    apt_packages = toolchain = ("racket",)
    source_query = ("racket", "-e", "(display (find-system-path 'collects-dir))")
    source_dirs, source_license = ("/usr/share/racket/collects", "/usr/share/racket/pkgs"), "MIT OR Apache-2.0"
    stop_tokens = ("\n(define ", "\n#|", "\n;", "\n(")
    # MultiPL-E's terms.csv row for Racket
    doc_terms = {"array": "list", "arrays": "lists", "tuple": "list", "tuples": "lists",
                 "dictionary": "hash", "dictionaries": "hashes", "None": "#f", "True": "#t", "False": "#f"}
    # a function or parameter may shadow almost anything in Racket; these would break the prompt or the
    # harness (which builds values with list and hash)
    reserved = frozenset({"define", "lambda", "λ", "if", "cond", "else", "let", "let*", "letrec", "begin",
                          "when", "unless", "and", "or", "quote", "case", "do", "set!", "list", "hash",
                          "exit", "void", "require", "provide", "module"})
    syntax_error_patterns = (r"\bread-syntax: ",)
    #: expansion (compile-time) errors, which stop the module before it runs: Racket prefixes them with the
    #: source location ("main.rkt:3:5: y: unbound identifier"), runtime errors have none ("car: contract
    #: violation")
    compile_error_patterns = (r"^(?:\S*/)?main\.rkt:\d+:\d+: ", r": unbound identifier\b", r": bad syntax\b",
                              r"duplicate definition for identifier", r"duplicate binding name",
                              r"not allowed in an expression context", r"not allowed as an expression",
                              r"not at module level", r"#%app: missing procedure expression")
    memory_error_patterns = (r"^out of memory", r"memory limit exceeded")

    # dynamically typed: rendered by the value's own Python type, as in MultiPL-E
    by_value, null, true, false, code_escapes = True, "#f", "#t", "#f", control("\\u{:04x}")
    list_brackets, dict_brackets, entry_format = ("(list", "", ")"), ("(hash", "", ")"), " {} {}"
    prompt_format, comment_prefix = "#lang racket\n\n{doc}(define ({name}{params})\n", ";;"
    param_format, param_separator = " {name}", ""
    harness_head, harness_tail = (_HARNESS,), (f'(displayln "{DONE_MARKER}")',)
    check_line, stub_format = "(__codebabel-check {i} {call} {expected})", "  {value})\n"
    program_file, run_command = "main.rkt", ("racket", "main.rkt")

    def list_literal(self, items: Iterator[str], value: Any, t: Type, ctx: Any) -> str:
        return super().list_literal((f" {x}" for x in items), value, t, ctx)  # (list), (list 1 2)

    def call(self, name: str, args: Sequence[str]) -> str:
        return "(" + " ".join([name, *args]) + ")"

    def classify(self, result: ExecResult) -> Status:
        # Racket CS reports an exhausted address space as "out of memory" and aborts (SIGABRT)
        if result.signal == signal.SIGABRT and matches(self.memory_error_patterns, result.stderr):
            return Status.MEMORY_LIMIT
        status = self.marker_status(result)
        if status is not None:
            return status
        if matches(self.memory_error_patterns, result.stderr):
            return Status.MEMORY_LIMIT
        if matches(self.syntax_error_patterns, result.stderr):
            return Status.SYNTAX_ERROR
        if matches(self.compile_error_patterns, result.stderr):
            return Status.COMPILE_ERROR
        return Status.RUNTIME_ERROR
