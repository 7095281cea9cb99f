"""Ruby: MultiPL-E's ``rb`` target, dynamically typed, run with ``ruby``.

Layout as in MultiPL-E: the docstring as ``#`` comments, then ``def f(x, y)`` and a newline; the completion
writes the body and closes it with ``end``. Parameter names are lower-cased where they start with a capital
(``N`` -> ``n``): a capitalised name is a constant in Ruby and may not be a parameter (MultiPL-E lower-cases
the whole list). Values are rendered by their own Python type: lists and tuples become arrays, dicts hashes
(``{"a" => 1}``), ``None`` ``nil``.

The harness compares with its own deep equality (numbers within FLOAT_TOLERANCE, so ``2`` equals ``2.0`` as in
Python; arrays element-wise; hashes by keys and values; everything else with ``==``) instead of MultiPL-E's
Test::Unit ``assert_equal``, which compares floats exactly and costs a gem load per program.

Start-up: ``ruby`` loads RubyGems (and did_you_mean, error_highlight) before every program, about 60 ms of
the 65 ms a trivial program takes. Programs therefore run with ``--disable-gems``; the standard library
(``set``, ``digest``, ``json``, ...) needs no RubyGems, and the two bundled gems a HumanEval solution
plausibly wants, ``prime`` and ``matrix``, are put on the load path directly (``-I``). ``ruby -c`` checks
the syntax first, so a syntax error is its own status, found before any test runs.
"""

from __future__ import annotations

import glob
import os
from functools import cache

from codebabel.languages.base import DONE_MARKER, Param, RunSpec
from codebabel.languages.render import C_ESCAPES, Target, control, harness_code

_HARNESS = harness_code("ruby.rb")["helpers"]

#: bundled gems (installed with Ruby, but loaded through RubyGems) put on the load path of every program
_BUNDLED_GEMS = ("prime", "matrix")


@cache
def _bundled_gem_dirs() -> tuple[str, ...]:
    """The lib folders of the bundled gems in _BUNDLED_GEMS (newest version of each), all under /usr."""
    dirs = []
    for gem in _BUNDLED_GEMS:
        found = sorted(glob.glob(f"/usr/lib/ruby/gems/*/gems/{gem}-*/lib"))
        if found:
            dirs.append(os.path.realpath(found[-1]))
    return tuple(d for d in dirs if d.startswith("/usr/"))


class Ruby(Target):
    name, display_name, aliases, extensions = "rb", "Ruby", ("ruby",), (".rb",)
    fence = tree_sitter = "ruby"
    apt_packages = toolchain = ("ruby",)
    source_query, source_license = ("ruby", "-e", "print RbConfig::CONFIG['rubylibdir']"), "Ruby OR BSD-2-Clause"
    # MultiPL-E's humaneval_to_rb.py, and its terms.csv row for Ruby
    stop_tokens = ("\nclass", "\ndef", "\n#", "\n\n")
    doc_terms = {"list": "array", "lists": "arrays", "tuple": "array", "tuples": "arrays",
                 "dictionary": "hash", "dictionaries": "hashes", "None": "nil", "True": "true", "False": "false"}
    reserved = frozenset({"BEGIN", "END", "alias", "and", "begin", "break", "case", "class", "def", "defined?",
                          "do", "else", "elsif", "end", "ensure", "false", "for", "if", "in", "module", "next",
                          "nil", "not", "or", "redo", "rescue", "retry", "return", "self", "super", "then",
                          "true", "undef", "unless", "until", "when", "while", "yield", "__FILE__", "__LINE__",
                          "__ENCODING__", "__method__"})
    # ``ruby -c`` only parses: everything it reports ("main.rb:3: syntax error, unexpected ...", "unterminated
    # string meets end of file", "formal argument cannot be a constant", ...) is a SyntaxError
    syntax_error_patterns = (r"^main\.rb:\d+: (?!warning:)", r"\(SyntaxError\)$")
    memory_error_patterns = (r"failed to allocate memory", r"\(NoMemoryError\)")

    # dynamically typed: rendered by the value's own Python type, as in MultiPL-E
    by_value, null, entry_format = True, "nil", "{} => {}"
    escapes, code_escapes = {**C_ESCAPES, "#": "\\#"}, control("\\x{:02x}")
    harness_head, harness_tail = (_HARNESS,), (f'$stdout.puts("{DONE_MARKER}")',)
    check_line, stub_format = "__codebabel_check({i}, {call}, {expected})", "  return {value}\nend\n"
    prompt_format, comment_prefix = "{doc}def {name}({params})\n", "#"

    def param(self, p: Param) -> str:
        return self.safe_name(_local(p.name))

    def run_spec(self, program: str) -> RunSpec:
        includes = [f"-I{d}" for d in _bundled_gem_dirs()]
        return RunSpec(files={"main.rb": program}, compile=["ruby", "--disable-gems", "-c", "main.rb"],
                       run=["ruby", "--disable-gems", *includes, "main.rb"])


def _local(name: str) -> str:
    """A parameter name Ruby accepts: a leading capital would make it a constant."""
    return name[:1].lower() + name[1:]
