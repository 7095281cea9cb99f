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

from pathlib import Path

from codebabel.data.pairs.format import (
    CODE_TAG,
    META_KEYS,
    Pair,
    language_tags,
    pair_row,
    read_pairs,
    source_prompt,
    split_tags,
    training_sample,
    write_pairs,
)
from codebabel.data.pairs.prepare import PrepareReport, percentile_cap, prepare_pairs, token_counter
from codebabel.data.pairs.xlcost import (
    XLCOST_LANGUAGES,
    XLCOST_LEVELS,
    XLCOST_SPLITS,
    detokenize,
    read_xlcost,
    xlcost_name,
)
from codebabel.errors import CodebabelError

__all__ = ["CODE_TAG", "META_KEYS", "XLCOST_LANGUAGES", "XLCOST_LEVELS", "XLCOST_SPLITS", "Pair",
           "PrepareReport", "detokenize", "language_tags", "load_pairs", "pair_row", "percentile_cap",
           "prepare_pairs", "prepare_pairs_from", "read_pairs", "read_xlcost", "source_prompt", "split_tags",
           "token_counter", "training_sample", "write_pairs", "xlcost_name"]


def load_pairs(kind: str, path: str, source: str, target: str = "py", level: str = "program",
               split: str | None = "train") -> list[Pair]:
    """``--from xlcost DIR`` or ``--from jsonl FILE``."""
    if kind == "xlcost":
        return read_xlcost(path, source, target, level=level, split=split or "train")
    if kind == "jsonl":
        return read_pairs(path)
    raise CodebabelError(f"--from {kind}: use 'xlcost DIR' or 'jsonl FILE'")


def prepare_pairs_from(kind: str, path: str, source: str, out: str | Path, target: str = "py",
                       level: str = "program", split: str = "train", model: str = "smollm2-135m",
                       hide_language_fraction: float = 0.0, seed: int = 0, pct: float = 95.0) -> PrepareReport:
    """``codebabel pairs prepare``: the pairs of ``--from KIND PATH`` (:func:`load_pairs`) written as
    prompt→completion samples (:func:`prepare_pairs`)."""
    pairs = load_pairs(kind, path, source, target, level=level, split=split)
    return prepare_pairs(pairs, source, out, model=model, target=target, split=split,
                         hide_language_fraction=hide_language_fraction, seed=seed, pct=pct)
