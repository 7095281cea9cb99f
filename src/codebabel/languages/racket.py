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

import re
import signal
from collections.abc import Sequence
from typing import Any

from codebabel.execute.sandbox import ExecResult
from codebabel.execute.status import Status
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

_HARNESS = f"""(define (__codebabel-eq a b)
  (cond [(and (real? a) (real? b)) (or (= a b) (< (abs (- a b)) {FLOAT_TOLERANCE}))]
        [(and (pair? a) (pair? b))
         (and (__codebabel-eq (car a) (car b)) (__codebabel-eq (cdr a) (cdr b)))]
        [(and (vector? a) (vector? b)) (__codebabel-eq (vector->list a) (vector->list b))]
        [(and (hash? a) (hash? b))
         (and (= (hash-count a) (hash-count b))
              (for/and ([(k v) (in-hash a)])
                (and (hash-has-key? b k) (__codebabel-eq v (hash-ref b k)))))]
        [else (equal? a b)]))
(define (__codebabel-check i actual expected)
  (unless (__codebabel-eq actual expected)
    (eprintf "{ASSERT_MARKER} test ~a: got ~s, expected ~s\\n" i actual expected)
    (exit 1)))
"""

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class Racket(Language):
    name = "rkt"
    display_name = "Racket"
    aliases = ("racket",)
    extensions = (".rkt",)

    source_license = "MIT OR Apache-2.0"

    def system_sources(self) -> list[str]:
        return existing(ask_toolchain("racket", "-e", "(display (find-system-path 'collects-dir))"),
                        "/usr/share/racket/collects", "/usr/share/racket/pkgs")
    fence = "racket"
    stop_tokens = ("\n(define ", "\n#|", "\n;", "\n(")
    apt_packages = ("racket",)
    toolchain = ("racket",)
    tree_sitter = "racket"
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

    # -- translation ------------------------------------------------------------------------------------------
    def prompt(self, sig: Signature) -> str:
        params = "".join(f" {p.name}" for p in sig.params)
        return f"#lang racket\n\n{self.comment(sig.doc, ';;')}(define ({sig.name}{params})\n"

    def call(self, name: str, args: Sequence[str]) -> str:
        return "(" + " ".join([name, *args]) + ")"

    def test_harness(self, sig: Signature, tests: Sequence[tuple[str, str]]) -> str:
        lines = [_HARNESS]
        lines += [f"(__codebabel-check {i} {call} {expected})" for i, (call, expected) in enumerate(tests, 1)]
        lines.append(f'(displayln "{DONE_MARKER}")')
        return "\n".join(lines)

    def stub(self, sig: Signature) -> str:
        return f"  {self.default_literal(sig.returns)})\n"

    def literal(self, value: Any, t: Type) -> str:
        # dynamically typed: rendered by the value's own Python type, as in MultiPL-E
        if value is None:
            return "#f"
        if isinstance(value, bool):
            return "#t" if value else "#f"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return repr(value)
        if isinstance(value, str):
            return _string(value)
        if isinstance(value, (list, tuple)):
            return "(list" + "".join(" " + self.literal(v, t) for v in value) + ")"
        if isinstance(value, dict):
            return "(hash" + "".join(f" {self.literal(k, t)} {self.literal(v, t)}" for k, v in value.items()) + ")"
        raise TypeError(f"no Racket literal for {value!r}")

    # -- execution --------------------------------------------------------------------------------------------
    def run_spec(self, program: str) -> RunSpec:
        return RunSpec(files={"main.rkt": program}, run=["racket", "main.rkt"])

    def classify(self, result: ExecResult) -> Status:
        # Racket CS reports an exhausted address space as "out of memory" and aborts (SIGABRT)
        if result.signal == signal.SIGABRT and _matches(self.memory_error_patterns, result.stderr):
            return Status.MEMORY_LIMIT
        common = self.common_status(result)
        if common is not None:
            return common
        if result.returncode == 0 and DONE_MARKER in result.stdout:
            return Status.OK
        if ASSERT_MARKER in result.stderr:
            return Status.ASSERTION_FAILED
        if _matches(self.memory_error_patterns, result.stderr):
            return Status.MEMORY_LIMIT
        if _matches(self.syntax_error_patterns, result.stderr):
            return Status.SYNTAX_ERROR
        if _matches(self.compile_error_patterns, result.stderr):
            return Status.COMPILE_ERROR
        return Status.RUNTIME_ERROR


def _matches(patterns: Sequence[str], text: str) -> bool:
    return any(re.search(p, text, re.MULTILINE) for p in patterns)
