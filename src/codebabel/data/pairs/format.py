"""The JSONL pair format and the prompt tags: one program in several languages, keyed by registry names.

``{"id": "cpp/gcd", "split": "train", "cpp": "...", "py": "..."}`` per line; any registry name, alias or
extension is accepted on read and written as the short name. Besides languages only ``id``, ``split``,
``name`` and ``tests`` (code in the target language run after a translation: a pair of functions, which print
nothing, is judged by its tests instead of by comparing outputs). A pair becomes ``{"prompt": "<cpp> SOURCE <py>", "completion": " TARGET"}`` for training (a tag
``<name>`` for every registry language, ``<code>`` when the source language is not given).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from codebabel.errors import CodebabelError
from codebabel.inputs import iter_jsonl
from codebabel.languages import all_languages, get_language
from codebabel.store import atomic_write_text

#: split names as written in pair files and XLCoST → the split they mean
SPLIT_NAMES = {"train": "train", "val": "val", "validation": "val", "valid": "val", "test": "test"}
#: keys of a JSONL pair that are not languages
META_KEYS = ("id", "split", "name", "tests")
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

    @property
    def tests(self) -> str | None:
        """Target-language code run after a translation (a pair of functions); None for whole programs."""
        return self.meta.get("tests")


# -- XLCoST ----------------------------------------------------------------------------------------------------


# -- the JSONL pair format -------------------------------------------------------------------------------------


def read_pairs(path: str | Path) -> list[Pair]:
    """Pairs from a JSONL file (one object per line; language keys by any registry name)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CodebabelError(f"pair file {path} not found")
    return [_pair_from_row(row, f"{path}:{lineno}")
            for lineno, row in iter_jsonl(path, "pair file", 'pair object like {"cpp": ..., "py": ...}')]


def _pair_from_row(row: dict[str, Any], where: str) -> Pair:
    code: dict[str, str] = {}
    meta: dict[str, Any] = {}
    for key, value in row.items():
        if key in META_KEYS:
            if key == "tests" and not isinstance(value, str):
                raise CodebabelError(f"{where}: 'tests' must be a string of code run after the translation")
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
    return write_jsonl(Path(path).expanduser(), [pair_row(p) for p in pairs])


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> int:
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
    return {"prompt": source_prompt(pair.code[src], None if hide_language or source is None else src, tgt),
            "completion": f" {_clean(pair.code[tgt])}"}


def source_prompt(code: str, source: str | None, target: str = "py") -> str:
    """``<cpp> SOURCE <py>``: the prompt the experts are trained on (``<code> SOURCE <py>`` when ``source`` is
    None: the language not given)."""
    tag = CODE_TAG if source is None else language_tags()[get_language(source).name]
    return f"{tag} {_clean(code)} {language_tags()[get_language(target).name]}"


def _clean(code: str) -> str:
    return code.lstrip("\n").rstrip()
