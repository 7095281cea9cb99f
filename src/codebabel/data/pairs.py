"""Translation pairs: XLCoST's tokenized files, a plain JSONL pair format, and prompt→completion training text.

**XLCoST** (``codebabel pairs prepare --from xlcost DIR``): snippet level in ``pair_data_tok_1/``, program level
in ``pair_data_tok_full/``, one folder per language pair (``C++-Python/``), files
``{split}-{A}-{B}-tok.{ext}`` whose line i in one language is the translation of line i in the other (splits
train, val, test), and ``{split}-{A}-map.jsonl`` with one id per line. Code is tokenized onto one line:
tokens separated by spaces, ``NEW_LINE`` / ``INDENT`` / ``DEDENT`` for Python's layout, ``NEW_LINE`` after C-like
preprocessor lines, and inside string literals ``▁`` for a space, ``STRNEWLINE`` for a newline and
``TABSYMBOL`` for a tab. :func:`detokenize` turns a line back into code:

- restored: every string and character literal (its pieces joined, ``▁`` → space, ``STRNEWLINE`` → ``\\n``,
  ``TABSYMBOL`` → ``\\t``, as escapes, valid in any quote style), Python's lines and 4-space indentation (a
  ``DEDENT`` below column 0, as at a snippet's start, stays at column 0), string prefixes (``f"``, ``$"``),
  C-like lines (after ``;`` outside parentheses, ``{`` and ``}``) indented by brace depth, preprocessor lines
  (``#include <bits/stdc++.h>``), PHP's ``<?php`` and ``$name``, and the usual spacing (``f(a[i], b)``,
  ``a.b``, ``i++``, ``-1``, Python's ``x[1:]`` and ``f(end=" ")``);
- not restored: comments (a ``//`` comment would swallow the rest of its line), blank lines, the original's
  line breaks inside long expressions, JavaScript regex literals split into tokens, and the indentation
  XLCoST itself leaves out: a snippet is a piece of a program (``def f ( a ) : NEW_LINE`` alone
  does not parse), and only a whole program is meant to run.

**JSONL pairs** (``--from jsonl FILE``): one object per line keyed by registry short names,
``{"id": "cpp/gcd", "split": "train", "cpp": "...", "py": "..."}``; any registry name, alias or extension
is accepted on read and written as the short name. Besides languages only ``id``, ``split`` and ``name``.

**Training text**: a pair becomes ``{"prompt": "<cpp> SOURCE <py>", "completion": " TARGET"}`` (a tag
``<name>`` for every language in the registry, ``<code>`` when the source language is not given), so that
``codebabel train`` computes the loss on the Python side only (train/samples.py). :func:`prepare_pairs`
keeps the samples at most the 95th percentile of tokens long (prompt + completion, linear interpolation as
numpy's default) and reports how many it dropped.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from codebabel.errors import CodebabelError
from codebabel.languages import all_languages, get_language

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
XLCOST_SPLITS = {"train": "train", "val": "val", "validation": "val", "valid": "val", "test": "test"}
#: keys of a JSONL pair that are not languages
META_KEYS = ("id", "split", "name")
#: the source tag when the source language is hidden
CODE_TAG = "<code>"


@dataclass
class Pair:
    """The same program in several languages: ``code`` maps registry short names to source code."""

    code: dict[str, str]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str | None:
        return self.meta.get("id")

    @property
    def split(self) -> str | None:
        return self.meta.get("split")


# -- XLCoST ----------------------------------------------------------------------------------------------------


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
        sides[xl] = path.read_text(encoding="utf-8").splitlines()
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
    for line in path.read_text(encoding="utf-8").splitlines():
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


# -- the JSONL pair format -------------------------------------------------------------------------------------


def read_pairs(path: str | Path) -> list[Pair]:
    """Pairs from a JSONL file (one object per line; language keys by any registry name)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CodebabelError(f"pair file {path} not found")
    pairs = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise CodebabelError(f"{path}:{lineno}: not valid JSON; each line must be one pair object") from None
        if not isinstance(row, dict):
            raise CodebabelError(f"{path}:{lineno}: a pair must be a JSON object like {{\"cpp\": ..., \"py\": ...}}")
        pairs.append(_pair_from_row(row, f"{path}:{lineno}"))
    return pairs


def _pair_from_row(row: dict[str, Any], where: str) -> Pair:
    code: dict[str, str] = {}
    meta: dict[str, Any] = {}
    for key, value in row.items():
        if key in META_KEYS:
            meta[key] = value
            continue
        try:
            name = get_language(key).name
        except CodebabelError:
            raise CodebabelError(f"{where}: key '{key}' is neither a language in the registry nor one of "
                                 f"{', '.join(META_KEYS)}") from None
        if not isinstance(value, str):
            raise CodebabelError(f"{where}: the {key} code must be a string")
        if name in code:
            raise CodebabelError(f"{where}: language {name} given twice ('{key}')")
        code[name] = value
    if not code:
        raise CodebabelError(f"{where}: no code; a pair needs language keys like \"cpp\" and \"py\"")
    return Pair(code, meta)


def pair_row(pair: Pair) -> dict[str, Any]:
    """A pair as one JSON object: its metadata, then its code keyed by registry short names."""
    return {**{k: pair.meta[k] for k in META_KEYS if k in pair.meta},
            **{get_language(k).name: v for k, v in pair.code.items()}}


def write_pairs(path: str | Path, pairs: Iterable[Pair]) -> int:
    """Write pairs as JSONL, atomically; returns how many."""
    return _write_jsonl(Path(path).expanduser(), [pair_row(p) for p in pairs])


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> int:
    from codebabel.evaluate.results import atomic_write_text

    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return len(rows)


# -- training text -----------------------------------------------------------------------------------------------


def language_tags() -> dict[str, str]:
    """The tag of every language in the registry: ``{"cpp": "<cpp>", ...}``."""
    return {lang.name: f"<{lang.name}>" for lang in all_languages()}


@cache
def _known_tags() -> frozenset[str]:
    """Every prompt tag: one per registry language (``<cpp>``, ``<py>`` ...) and ``<code>``."""
    return frozenset([*language_tags().values(), CODE_TAG])


_LEADING_TAG = re.compile(r"\A\s*(<[A-Za-z0-9_+#-]+>)(?=\s|\Z)")
_TRAILING_TAG = re.compile(r"(?<=\s)(<[A-Za-z0-9_+#-]+>)\s*\Z")


def split_tags(text: str, extra: Sequence[str] = ()) -> tuple[str | None, str, str | None]:
    """``"<cpp> SOURCE <py>"`` → ``("<cpp>", "SOURCE", "<py>")``; a tag is only taken off when it is a known
    prompt tag (a registry language's, ``<code>``, or one in ``extra``), so code is never cut."""
    known = _known_tags() | frozenset(extra)
    lead = trail = None
    m = _LEADING_TAG.match(text)
    if m and m.group(1) in known:
        lead, text = m.group(1), text[m.end():]
    m = _TRAILING_TAG.search(text)
    if m and m.group(1) in known:
        trail, text = m.group(1), text[:m.start()]
    return lead, text.strip(), trail


def training_sample(pair: Pair, source: str | None, target: str = "py", hide_language: bool = False
                    ) -> dict[str, str]:
    """``{"prompt": "<cpp> SOURCE <py>", "completion": " TARGET"}``; the tag is ``<code>`` when ``source``
    is None (a pair with one language besides the target) or ``hide_language``."""
    tgt = get_language(target).name
    if source is None:
        others = [k for k in pair.code if k != tgt]
        if len(others) != 1:
            raise CodebabelError(f"pair {pair.id or ''}: name the source language (it has {', '.join(others)})")
        src = others[0]
    else:
        src = get_language(source).name
    for name in (src, tgt):
        if name not in pair.code:
            raise CodebabelError(f"pair {pair.id or ''} has no {name} code (it has {', '.join(pair.code)})")
    tag = CODE_TAG if hide_language or source is None else language_tags()[src]
    return {"prompt": f"{tag} {_clean(pair.code[src])} {language_tags()[tgt]}",
            "completion": f" {_clean(pair.code[tgt])}"}


def _clean(code: str) -> str:
    return code.lstrip("\n").rstrip()


def percentile_cap(lengths: Sequence[int], pct: float = 95.0) -> int:
    """The ``pct``-th percentile of ``lengths`` (linear interpolation, numpy's default), rounded down: the
    longest length kept. Of 20 distinct lengths the 95th percentile keeps 19, of 18 it keeps 17."""
    import numpy as np

    if not lengths:
        return 0
    return math.floor(round(float(np.percentile(lengths, pct)), 6))  # round: float noise below an integer


@dataclass
class PrepareReport:
    out: str
    read: int = 0
    #: pairs without the source or target language (JSONL holding other languages), or of another split
    skipped: int = 0
    #: samples longer than the cap (tokens of prompt + completion), and the cap
    dropped_long: int = 0
    cap_tokens: int = 0
    hidden: int = 0
    written: int = 0


def token_counter(tokenizer) -> Callable[[str], int]:
    """Tokens of a text as the trainer counts them (no special tokens)."""
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def prepare_pairs(pairs: Sequence[Pair], source: str, out: str | Path,
                  count_tokens: Callable[[str], int] | None = None, model: str = "smollm2-135m",
                  target: str = "py", split: str | None = None, hide_language_fraction: float = 0.0,
                  pct: float = 95.0, seed: int = 0) -> PrepareReport:
    """Pairs → prompt→completion JSONL at ``out``: the ``split`` pairs (those without a split field too) that
    hold ``source`` and ``target``, a seeded ``hide_language_fraction`` of them tagged ``<code>``, capped at
    the ``pct``-th percentile of tokens (:func:`percentile_cap`), prompt + completion, counted by ``count_tokens`` or
    else by ``model``'s tokenizer (loaded once the inputs are checked)."""
    if not 0.0 <= hide_language_fraction <= 1.0:
        raise CodebabelError(f"--hide-language-fraction {hide_language_fraction}: give a number from 0 to 1")
    if not 0.0 < pct <= 100.0:
        raise CodebabelError(f"--percentile {pct}: give a number above 0, at most 100")
    src, tgt = get_language(source).name, get_language(target).name
    if src == tgt:
        raise CodebabelError(f"source and target are both {src}; translate between two languages")
    report = PrepareReport(out=str(out), read=len(pairs))
    wanted = [p for p in pairs if src in p.code and tgt in p.code
              and (split is None or p.split is None or XLCOST_SPLITS.get(p.split, p.split)
                   == XLCOST_SPLITS.get(split, split))]
    report.skipped = len(pairs) - len(wanted)
    if not wanted:
        raise CodebabelError(f"none of the {len(pairs)} pairs has both {src} and {tgt} code"
                             + (f" in split '{split}'" if split else ""))
    rng = random.Random(seed)
    samples = []
    for p in wanted:
        hide = rng.random() < hide_language_fraction
        report.hidden += hide
        samples.append(training_sample(p, src, tgt, hide_language=hide))
    if count_tokens is None:
        from codebabel.models.loading import load_tokenizer

        count_tokens = token_counter(load_tokenizer(model))
    lengths = [count_tokens(s["prompt"]) + count_tokens(s["completion"]) for s in samples]
    report.cap_tokens = percentile_cap(lengths, pct)
    kept = [s for s, n in zip(samples, lengths, strict=True) if n <= report.cap_tokens]
    report.dropped_long = len(samples) - len(kept)
    report.written = _write_jsonl(Path(out).expanduser(), kept)
    return report


def load_pairs(kind: str, path: str, source: str, target: str = "py", level: str = "program",
               split: str | None = "train") -> list[Pair]:
    """``--from xlcost DIR`` or ``--from jsonl FILE``."""
    if kind == "xlcost":
        return read_xlcost(path, source, target, level=level, split=split or "train")
    if kind == "jsonl":
        return read_pairs(path)
    raise CodebabelError(f"--from {kind}: use 'xlcost DIR' or 'jsonl FILE'")
