"""Perl 5: MultiPL-E's ``pl`` target, dynamically typed, run with ``perl``.

Layout as in MultiPL-E: the docstring as ``#`` comments, then ``sub f {`` and ``    my($x, $y) = @_;``; the
completion writes the rest of the body and closes it with ``}``. Values are rendered by their own Python
type, as MultiPL-E does: lists and tuples become array references ``[1, 2]``, dicts hash references
``{"a" => 1}``, ``None`` ``undef``, ``True`` ``1`` and ``False`` ``""`` (Perl's own true and false).

Parameters called ``a`` or ``b`` are renamed ``$a_`` / ``$b_``: ``my($a, $b) = @_;`` (MultiPL-E's prompt
for HumanEval/11, /97, /154, ...) silently breaks every ``sort { $a <=> $b }`` in the body, which then
compares the parameters instead of the elements.

Each call runs in scalar context (``scalar(f(...))``): a bare ``return;`` is ``undef`` there, and a list
return cannot spill into the harness's arguments. The harness's deep equality follows the function's return
type, because Perl values do not say what they are:

* int / float: both defined numbers (``looks_like_number``) within FLOAT_TOLERANCE, so ``2`` equals
  ``2.0`` and ``"2"``;
* str: a defined non-reference, compared with ``eq``;
* bool: by truthiness, as Perl code tests it (``1``, ``!!1`` and ``"yes"`` are true; ``""``, ``0``,
  ``"0"`` and ``undef`` are false);
* list / tuple: array references of the same length, element by element with the element types;
* dict: hash references with the same keys, values compared with the value type;
* optional: ``undef`` where ``None`` is expected, else the inner type;
* union / any (HumanEval/22, /95, /103, /125, /137): by the expected value's shape — numbers numerically when
  both sides look like numbers, other scalars with ``eq``, references recursively.

``perl -c`` compiles first (it runs ``BEGIN`` blocks and ``use``, as the real run would): "syntax error at",
unterminated strings and unbalanced brackets are syntax errors; anything else it rejects (a missing module,
``use strict`` violations, a ``die`` in ``BEGIN``) is a compile error.
"""

from __future__ import annotations

from codebabel.languages.base import DONE_MARKER, Signature
from codebabel.languages.render import C_ESCAPES, Target, harness_code, spell

_HARNESS = harness_code("perl.pl")["helpers"]

#: the return type as the Perl value the harness's __codebabel_eq reads (unions and Any: "any")
_SPEC = {"int": '"int"', "float": '"float"', "str": '"str"', "bool": '"bool"', "none": '"none"', "union": '"any"',
         "any": '"any"', "unknown": '"any"'}
_SPEC_FORMATS = {"list": '["list", {0}]', "optional": '["optional", {0}]', "tuple": '["tuple", {args}]',
                 "dict": '["dict", {args}]'}


class Perl(Target):
    name, display_name, aliases, extensions = "pl", "Perl", ("perl",), (".pl", ".pm")
    fence = tree_sitter = "perl"
    apt_packages = toolchain = ("perl",)
    source_query = ("perl", "-e", "print join(chr(10), grep { m{^/} } @INC)")
    source_license = "Artistic-1.0-Perl OR GPL-1.0-or-later"
    # MultiPL-E's humaneval_to_pl.py, and its terms.csv row for Perl
    stop_tokens = ("\nsub", "\n#", "\n\n")
    doc_terms = {"list": "array", "lists": "arrays", "tuple": "array", "tuples": "arrays", "dictionary": "hash",
                 "dictionaries": "hashes", "None": "undef", "True": "1", "False": "''"}
    # $a and $b are sort's variables (see the module docstring); the rest cannot name a sub. Quote-like
    # operators (q, qq, qw, qr, m, s, tr, y) would break a sub of that name too, but they are fine as
    # parameters ($s, $m, $y are HumanEval parameters), so they are not renamed.
    reserved = frozenset({"a", "b", "if", "elsif", "else", "unless", "while", "until", "for", "foreach", "do",
                          "sub", "my", "our", "local", "state", "return", "last", "next", "redo", "goto",
                          "package", "use", "no", "require", "BEGIN", "END", "INIT", "CHECK", "UNITCHECK",
                          "DESTROY", "AUTOLOAD", "and", "or", "not", "xor", "eq", "ne", "lt", "gt", "le", "ge",
                          "cmp", "__END__", "__DATA__"})
    syntax_error_patterns = (r"\bsyntax error at ", r"^Can't find string terminator ",
                             r"^Missing right curly or square bracket", r"^Unmatched right curly bracket",
                             r"^Unmatched right square bracket", r"^Missing \$ on loop variable",
                             r"^Illegal declaration of ")
    memory_error_patterns = (r"^Out of memory", r"^panic: .*(?:malloc|realloc|memory)")

    # dynamically typed: rendered by the value's own Python type, as in MultiPL-E; keys are strings in Perl (an
    # int key is written as a number, which Perl stringifies the same way)
    by_value, null, true, false, entry_format = True, "undef", "1", '""', "{} => {}"
    int_bounds, int_type = (1 - 2**63, 2**63 - 1), "Perl's 64-bit integers"
    escapes = {**C_ESCAPES, "$": "\\$", "@": "\\@"}
    code_escapes = ((0, 0x20, "\\x{{{:x}}}"), (0x7F, 0x110000, "\\x{{{:x}}}"))
    check_line = "__codebabel_check({i}, scalar({call}), {expected}, {spec});"
    harness_tail, stub_format = (f'print "{DONE_MARKER}\\n";',), "    return {value};\n}}\n"
    program_file, compile_command, run_command = "main.pl", ("perl", "-c", "main.pl"), ("perl", "main.pl")

    def prompt(self, sig: Signature) -> str:
        params = ", ".join(f"${p.name}" for p in sig.params)
        unpack = f"    my({params}) = @_;\n" if sig.params else ""
        return f"{self.comment(sig.doc, '#')}sub {sig.name} {{\n{unpack}"

    def harness_start(self, sig: Signature) -> tuple[list[str], dict[str, str]]:
        return [_HARNESS], {"spec": spell(sig.returns, _SPEC, _SPEC_FORMATS)}
