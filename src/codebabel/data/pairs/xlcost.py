"""XLCoST's tokenized parallel files, read back into :class:`~codebabel.data.pairs.format.Pair` objects.

Snippet level in ``pair_data_tok_1/``, program level in ``pair_data_tok_full/``, one folder per language pair
(``C++-Python/``), files ``{split}-{A}-{B}-tok.{ext}`` whose line i in one language is the translation of line
i in the other (splits train, val, test), and ``{split}-{A}-map.jsonl`` with one id per line. Code is
tokenized onto one line; :func:`detokenize` turns a line back into code (what is and is not restored:
the package docstring, ``codebabel.data.pairs``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from codebabel.data.pairs.format import SPLIT_NAMES as XLCOST_SPLITS
from codebabel.data.pairs.format import Pair
from codebabel.errors import CodebabelError
from codebabel.inputs import read_text
from codebabel.languages import get_language

#: XLCoST's language names → (codebabel registry name, file extension, layout: "indent" | "braces")
XLCOST_LANGUAGES: dict[str, tuple[str, str, str]] = {
    "C++": ("cpp", "cpp", "braces"),
    "Java": ("java", "java", "braces"),
    "C#": ("cs", "cs", "braces"),
    "Javascript": ("js", "js", "braces"),
    "PHP": ("php", "php", "braces"),
    "Python": ("py", "py", "indent"),
    "C": ("c", "c", "braces"),  # no codebabel language module yet: get_language("c") names what there is
}
XLCOST_LEVELS = {"snippet": "pair_data_tok_1", "program": "pair_data_tok_full"}


def xlcost_name(language: str) -> str:
    """XLCoST's name of a registry language (``cpp`` → ``C++``)."""
    name = get_language(language).name
    for xl, (reg, _, _) in XLCOST_LANGUAGES.items():
        if reg == name:
            return xl
    known = ", ".join(reg for reg, _, _ in XLCOST_LANGUAGES.values() if reg != "c")
    raise CodebabelError(f"language '{language}' is not in XLCoST; XLCoST pairs these: {known}")


def read_xlcost(root: str | Path, source: str, target: str = "py", level: str = "program",
                split: str = "train") -> list[Pair]:
    """The ``split`` pairs of ``source`` and ``target`` at ``level`` (snippet | program), detokenized.

    ``root`` is XLCoST's ``XLCoST_data`` (or its ``generation/``) folder, a ``pair_data_tok_*`` folder, or one
    language-pair folder. Lines where either side is blank are skipped.
    """
    src_xl, tgt_xl = xlcost_name(source), xlcost_name(target)
    if level not in XLCOST_LEVELS:
        raise CodebabelError(f"XLCoST level '{level}': use snippet or program")
    if split not in XLCOST_SPLITS:
        raise CodebabelError(f"XLCoST split '{split}': use train, val or test")
    folder, a, b = _pair_folder(Path(root).expanduser(), XLCOST_LEVELS[level], src_xl, tgt_xl)
    sp = XLCOST_SPLITS[split]
    sides = {}
    for xl in (src_xl, tgt_xl):
        path = folder / f"{sp}-{a}-{b}-tok.{XLCOST_LANGUAGES[xl][1]}"
        if not path.is_file():
            raise CodebabelError(f"XLCoST file {path} not found; expected {sp}-{a}-{b}-tok.{{ext}} in {folder}")
        sides[xl] = read_text(path, "XLCoST file").splitlines()
    src_lines, tgt_lines = sides[src_xl], sides[tgt_xl]
    if len(src_lines) != len(tgt_lines):
        raise CodebabelError(f"XLCoST {folder.name} {sp}: {len(src_lines)} {src_xl} lines but {len(tgt_lines)} "
                             f"{tgt_xl} lines; the files must be parallel, line by line")
    ids = _map_ids(folder / f"{sp}-{src_xl}-map.jsonl", len(src_lines))
    src_name, tgt_name = XLCOST_LANGUAGES[src_xl][0], XLCOST_LANGUAGES[tgt_xl][0]
    pairs = []
    for i, (s, t) in enumerate(zip(src_lines, tgt_lines, strict=True)):
        if not s.strip() or not t.strip():
            continue
        meta = {"id": f"xlcost/{level}/{src_xl}-{tgt_xl}/{sp}/{ids[i] if ids else i}", "split": sp}
        pairs.append(Pair({src_name: detokenize(s, src_xl), tgt_name: detokenize(t, tgt_xl)}, meta))
    return pairs


def _pair_folder(root: Path, level_dir: str, a: str, b: str) -> tuple[Path, str, str]:
    """The folder of the (a, b) pair, and the pair's order in XLCoST's names (``C++-Python``)."""
    for first, second in ((a, b), (b, a)):
        if root.name == f"{first}-{second}" and root.is_dir():
            return root, first, second
    for base in (root, root / "generation", root / "XLCoST_data", root / "XLCoST_data" / "generation"):
        for first, second in ((a, b), (b, a)):
            for folder in (base / level_dir / f"{first}-{second}",
                           base / f"{first}-{second}" if base.name == level_dir else None):
                if folder is not None and folder.is_dir():
                    return folder, first, second
    if not root.exists():
        raise CodebabelError(f"XLCoST folder {root} not found; pass the XLCoST_data folder")
    raise CodebabelError(f"no {level_dir}/{a}-{b} (or {b}-{a}) folder under {root}; pass the XLCoST_data folder "
                         f"(holding {', '.join(XLCOST_LEVELS.values())})")


def _map_ids(path: Path, n: int) -> list[str] | None:
    """The ids of XLCoST's ``{split}-{Lang}-map.jsonl`` (one JSON value per line), if there is one."""
    if not path.is_file():
        return None
    ids = []
    for line in read_text(path, "XLCoST map").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            value = line.strip()
        ids.append(str(value))
    if len(ids) != n:
        raise CodebabelError(f"{path}: {len(ids)} ids for {n} lines of code; the map must have one id per line")
    return ids


# -- detokenizing ------------------------------------------------------------------------------------------------

_QUOTE = re.compile(r"^([A-Za-z$@]{0,3})(\"\"\"|'''|\"|'|`)$")
#: tokens glued to a following string literal: Python's string prefixes, C#'s interpolation/verbatim marks
_PREFIXES = {"indent": {"r", "b", "f", "u", "rb", "br", "fr", "rf"}, "braces": {"$", "@", "$@", "@$"}}
_WORD = re.compile(r"^[A-Za-z_$][\w$]*$")
_OPENERS, _CLOSERS = {"(", "[", "{"}, {")", "]", "}"}
_ATTACH = {".", "::", "->", "?."}
#: keywords after which "(" or "[" keeps its space (``if (x)``, ``return (a + b)``, ``in [1, 2]``)
_KEYWORDS = {"if", "elif", "while", "for", "foreach", "switch", "catch", "return", "and", "or", "not", "in",
             "is", "yield", "assert", "del", "lambda", "else", "await", "throw", "using", "lock",
             "case", "from", "import", "as", "with", "except", "raise", "new", "of"}
#: tokens after which "-" / "+" / "++" are unary (prefix)
_BEFORE_UNARY = {"=", "(", "[", "{", ",", ":", "?", "return", "+", "-", "*", "/", "%", "<", ">", "<=", ">=", "==",
                 "!=", "===", "!==", "&&", "||", "and", "or", "not", "+=", "-=", "*=", "/=", "=>", "<<", ">>",
                 "print", "echo", "case", "in", "yield"}


def detokenize(line: str, language: str) -> str:
    """XLCoST's one-line tokenized code in ``language`` (an XLCoST or registry name) → code, ending in "\\n"."""
    layout = _layout(language)
    tokens = _lex(line, layout)
    text = _indent_layout(tokens) if layout == "indent" else _brace_layout(tokens)
    return text + "\n" if text else ""


def _layout(language: str) -> str:
    if language in XLCOST_LANGUAGES:
        return XLCOST_LANGUAGES[language][2]
    name = get_language(language).name
    for reg, _, layout in XLCOST_LANGUAGES.values():
        if reg == name:
            return layout
    return "braces"


def _lex(line: str, layout: str) -> list[str]:
    """The space-separated tokens, each string literal (``" Hello ▁ world "``) put back into one token."""
    raw = line.split()
    out: list[str] = []
    i = 0
    while i < len(raw):
        m = _QUOTE.match(raw[i])
        close = _index(raw, m.group(2), i + 1) if m else -1
        if m and close > 0:
            prefix = m.group(1)
            if not prefix and out and out[-1] in _PREFIXES[layout]:
                prefix = out.pop()
            body = "".join(raw[i + 1:close])
            body = body.replace("▁", " ").replace("STRNEWLINE", "\\n").replace("TABSYMBOL", "\\t")
            out.append(f"{prefix}{m.group(2)}{body}{m.group(2)}")
            i = close + 1
        else:
            out.append(raw[i])
            i += 1
    return out


def _index(items: list[str], value: str, start: int) -> int:
    try:
        return items.index(value, start)
    except ValueError:
        return -1


def _indent_layout(tokens: list[str]) -> str:
    """Python: a line per ``NEW_LINE``, four spaces per open ``INDENT``."""
    lines: list[str] = []
    level, current, start = 0, [], 0
    for tok in tokens + ["NEW_LINE"]:
        if tok == "NEW_LINE":
            if current:
                lines.append("    " * start + _join(current, python=True))
            current = []
        elif tok == "INDENT":
            level += 1
        elif tok == "DEDENT":
            level = max(0, level - 1)
        elif tok != "TABSYMBOL":
            if not current:
                start = level
            current.append(tok)
    return "\n".join(lines)


def _brace_layout(tokens: list[str]) -> str:
    """C-like: preprocessor lines as they were; a line after ``;`` (outside parentheses), ``{`` and ``}``."""
    tokens = _php_tags(tokens)
    lines: list[str] = []
    depth = parens = 0
    outer: list[int] = []  # the parentheses open outside each open brace (a lambda's body inside f(...))
    current: list[str] = []

    def flush(indent: int) -> None:
        if current:
            lines.append("    " * indent + _join(current, python=False))
            current.clear()

    segments = _split(tokens, "NEW_LINE")
    for segment in segments:
        if segment and segment[0].startswith("#"):
            flush(depth)
            lines.append(_preprocessor(segment))
            continue
        for i, tok in enumerate(segment):
            nxt = segment[i + 1] if i + 1 < len(segment) else None
            if tok == "{":
                current.append(tok)
                flush(depth)
                depth += 1
                outer.append(parens)
                parens = 0
            elif tok == "}":
                flush(depth)
                depth = max(0, depth - 1)
                parens = outer.pop() if outer else 0
                current.append(tok)
                if nxt not in ("else", "while", "catch", "finally", ";", ")", ",", "]"):
                    flush(depth)
            elif tok == ";" and parens == 0:
                current.append(tok)
                flush(depth)
            else:
                parens += (tok == "(") - (tok == ")")
                parens = max(parens, 0)
                current.append(tok)
        flush(depth)
    return "\n".join(lines)


def _split(tokens: list[str], sep: str) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for tok in tokens:
        if tok == sep:
            out.append([])
        else:
            out[-1].append(tok)
    return [s for s in out if s]


def _php_tags(tokens: list[str]) -> list[str]:
    """``< ? php`` → ``<?php``, ``? >`` → ``?>`` (an XLCoST PHP program starts with the tag split up)."""
    if tokens[:3] == ["<", "?", "php"]:
        tokens = ["<?php", "NEW_LINE", *tokens[3:]]
    elif tokens[:1] == ["<?php"]:
        tokens = ["<?php", "NEW_LINE", *tokens[1:]]
    if tokens[-2:] == ["?", ">"]:
        tokens = [*tokens[:-2], "NEW_LINE", "?>"]
    return tokens


def _preprocessor(tokens: list[str]) -> str:
    """``# include < bits / stdc ++ . h >`` → ``#include <bits/stdc++.h>``; other directives spaced."""
    if tokens[0] == "#" and len(tokens) > 1:
        tokens = ["#" + tokens[1], *tokens[2:]]
    if len(tokens) > 1 and tokens[1] == "<" and ">" in tokens:
        end = tokens.index(">")
        return f"{tokens[0]} <{''.join(tokens[2:end])}>" + "".join(f" {t}" for t in tokens[end + 1:])
    if len(tokens) > 1 and tokens[0] == "#define":
        return f"#define {tokens[1]} {_join(tokens[2:], python=False)}".rstrip()
    return _join(tokens, python=False)


def _join(tokens: Sequence[str], python: bool) -> str:
    """Tokens of one line → text, spaced the usual way (every choice keeps the code valid)."""
    if not tokens:
        return ""
    out = [tokens[0]]
    stack: list[str] = [tokens[0]] if tokens[0] in _OPENERS else []
    for i in range(1, len(tokens)):
        prev, tok = tokens[i - 1], tokens[i]
        before = tokens[i - 2] if i >= 2 else None
        if _space(before, prev, tok, stack[-1] if stack else None, python):
            out.append(" ")
        out.append(tok)
        if tok in _OPENERS:
            stack.append(tok)
        elif tok in _CLOSERS and stack:
            stack.pop()
    return "".join(out)


def _space(before: str | None, prev: str, tok: str, bracket: str | None, python: bool) -> bool:
    """Whether a space goes between ``prev`` and ``tok`` (``before`` precedes ``prev``; ``bracket``: the
    innermost open bracket)."""
    if prev == "$" and _WORD.match(tok):
        return False  # PHP's $ name
    if prev in _OPENERS or tok in _CLOSERS or tok in (",", ";"):
        return False
    if prev in ("from", "import") or tok == "import":
        return True  # Python's relative imports: from . import x
    if tok in _ATTACH or prev in _ATTACH:
        # a number next to PHP's "." concatenation would read as a float
        return (tok == "." and prev[-1:].isdigit()) or (prev == "." and tok[:1].isdigit())
    if prev in ("-", "+", "!", "~", "++", "--") and (before is None or before in _BEFORE_UNARY
                                                     or before in _OPENERS):
        return False  # unary -1, !x, ++i
    if tok in ("(", "["):
        return prev not in _CLOSERS and not _is_string(prev) and (not _WORD.match(prev) or prev in _KEYWORDS)
    if tok in ("++", "--"):
        return not (_WORD.match(prev) or prev in _CLOSERS)  # postfix i++ / a[i]++
    if python and tok == ":":
        return False
    if python and prev == ":" and bracket == "[":
        return False  # slices: a[1:], a[::2]
    if python and (tok == "=" or prev == "=") and bracket == "(":
        return False  # keyword arguments: f(end=" ")
    return True


def _is_string(tok: str) -> bool:
    return bool(tok) and tok[-1] in "\"'`" and len(tok) >= 2
