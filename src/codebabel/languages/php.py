"""PHP: MultiPL-E's ``php`` target, dynamically typed, syntax-checked with ``php -l``, run with ``php``.

Lists, tuples and dicts are all PHP arrays (``array(...)``, as MultiPL-E writes them). The harness compares
deeply: numbers within FLOAT_TOLERANCE (an int result equals an equal float, as in Python), an expected list
by its values in order (so ``array_filter``'s kept keys do not matter), an expected dict by its keys in any
order, everything else with ``===``.
"""

from __future__ import annotations

from codebabel.languages.base import DONE_MARKER, Param
from codebabel.languages.render import C_ESCAPES, Target, control, harness_code

_HARNESS = harness_code("php.php")["helpers"]

#: errors and warnings go to stderr, once (the CLI default logs them there and may also display them)
_INI = ("-d", "display_errors=stderr", "-d", "log_errors=0")


class PHP(Target):
    name, display_name, extensions = "php", "PHP", (".php",)
    fence = tree_sitter = "php"
    apt_packages, toolchain, source_dirs = ("php-cli",), ("php",), ("/usr/share/php",)
    stop_tokens = ("\nfunction", "\n?>", "\n//", "\n#")
    doc_terms = {"list": "array", "lists": "arrays", "dictionary": "associative array",
                 "dictionaries": "associative arrays", "tuple": "array", "tuples": "arrays", "None": "null",
                 "True": "true", "False": "false"}
    #: keywords that cannot name a function (parameters are ``$``-prefixed, only ``$this`` is taken), and
    #: built-in functions a benchmark function might be named after (PHP cannot redeclare them: HumanEval/23
    #: is ``strlen``); function names are case-insensitive, so these are matched lower-case
    reserved = frozenset({
        "__halt_compiler", "abstract", "and", "array", "as", "break", "callable", "case", "catch", "class", "clone",
        "const", "continue", "declare", "default", "die", "do", "echo", "else", "elseif", "empty", "enddeclare",
        "endfor", "endforeach", "endif", "endswitch", "endwhile", "enum", "eval", "exit", "extends", "final",
        "finally", "fn", "for", "foreach", "function", "global", "goto", "if", "implements", "include",
        "include_once", "instanceof", "insteadof", "interface", "isset", "list", "match", "namespace", "new", "or",
        "print", "private", "protected", "public", "readonly", "require", "require_once", "return", "static",
        "switch", "this", "throw", "trait", "try", "unset", "use", "var", "while", "xor", "yield",
        "abs", "array_sum", "array_product", "ceil", "count", "floor", "max", "min", "pow", "round", "sqrt", "sort",
        "strlen", "strrev", "str_repeat", "ucfirst", "ucwords", "lcfirst", "implode", "explode", "levenshtein",
        "similar_text", "soundex", "metaphone", "range", "intdiv", "fmod", "bin2hex", "decbin", "bindec", "dechex",
        "hexdec", "octdec", "decoct", "base_convert", "gcd", "md5", "sha1", "crc32", "strtolower", "strtoupper",
        "str_split", "array_reverse", "array_unique", "in_array", "is_numeric", "ord", "chr", "trim",
    })
    syntax_error_patterns = (r"^(?:PHP )?Parse error: ",)
    memory_error_patterns = (r"Allowed memory size of \d+ bytes exhausted", r"^(?:PHP )?Fatal error: +Out of memory")

    # dynamically typed: a value renders by its own Python type (an int stays an int where the function's type
    # is float), as the Python tests passed it; lists, tuples and dicts are all arrays
    by_value, int_bounds, int_type = True, (1 - 2**63, 2**63 - 1), "PHP's 64-bit int"
    # other characters as UTF-8, the source file's encoding
    escapes = {**C_ESCAPES, "$": "\\$", "\v": "\\v", "\f": "\\f", "\x1b": "\\e"}
    code_escapes, entry_format = control("\\x{:02x}"), "{} => {}"
    list_brackets = dict_brackets = ("array(", ", ", ")")
    prompt_format = "<?php\n{doc}function {name}({params}) {{\n"
    harness_head, harness_tail = (_HARNESS,), (f'echo "{DONE_MARKER}\\n";',)
    check_line, stub_format = "__codebabel_check(__codebabel_eq({call}, {expected}), {i});", "    return {value};\n}}\n"
    # php -l parses (and finds compile-time errors such as redeclared functions) without running
    program_file, compile_command = "main.php", ("php", *_INI, "-l", "main.php")
    run_command = ("php", *_INI, "-d", "memory_limit=1024M", "main.php")

    def safe_name(self, name: str) -> str:
        return f"{name}_" if name.lower() in self.reserved else name

    def param(self, p: Param) -> str:
        return f"${_param(p.name, self.reserved)}"


def _param(name: str, reserved: frozenset[str]) -> str:
    """A parameter's name: ``safe_name`` renamed it for the function's sake (``array`` -> ``array_``), but a
    ``$``-prefixed parameter may be any name except ``$this``, and calls pass arguments by position."""
    base = name[:-1] if name.endswith("_") and name[:-1].lower() in reserved else name
    return name if base == "this" else base
