"""Pairs → prompt→completion training samples (JSONL), capped at a percentile of their token length."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from codebabel.data.pairs.format import SPLIT_NAMES, Pair, training_sample, write_jsonl
from codebabel.errors import CodebabelError
from codebabel.languages import get_language
from codebabel.models.loading import load_tokenizer


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
              and (split is None or p.split is None or SPLIT_NAMES.get(p.split, p.split)
                   == SPLIT_NAMES.get(split, split))]
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
        count_tokens = token_counter(load_tokenizer(model))
    lengths = [count_tokens(s["prompt"]) + count_tokens(s["completion"]) for s in samples]
    report.cap_tokens = percentile_cap(lengths, pct)
    kept = [s for s, n in zip(samples, lengths, strict=True) if n <= report.cap_tokens]
    report.dropped_long = len(samples) - len(kept)
    report.written = write_jsonl(Path(out).expanduser(), kept)
    return report
