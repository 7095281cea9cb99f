"""Near-duplicate removal within one function's bucket of passing translations (MultiPL-T: ROUGE-L at 0.6).

In sample order, a translation is dropped when it equals a kept one after whitespace normalisation (exact
duplicate), or when its ROUGE-Lsum F-measure with a kept one is above the threshold (near duplicate): the
``rouge-score`` package (Google's reimplementation of ROUGE-1.5.5), Porter stemming on, as MultiPL-T scored it.
The texts compared are the completions (the bodies the teacher wrote): every translation of a function shares the
prompt (the doc comment and the header), which would only add the same words to each (MultiPL-T stripped the
comments before scoring for the same reason).

Without ``rouge-score`` the score is ROUGE-L F1 computed here: the longest common subsequence of the two token
lists (rouge-score's tokenisation: lowercase, runs of letters and digits; no stemming, the texts as one sequence
rather than per line), F1 = 2PR/(P+R).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

_TOKEN = re.compile(r"[a-z0-9]+")


def normalise(code: str) -> str:
    """Whitespace-insensitive form for exact duplicates: lines stripped, blank lines dropped."""
    return "\n".join(ln.strip() for ln in code.strip().splitlines() if ln.strip())


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l_lcs(a: str, b: str) -> float:
    """ROUGE-L F1 by the longest common subsequence of rouge-score-style tokens (the fallback scorer)."""
    ta, tb = _TOKEN.findall(a.lower()), _TOKEN.findall(b.lower())
    if not ta or not tb:
        return 0.0
    lcs = _lcs(ta, tb)
    if not lcs:
        return 0.0
    p, r = lcs / len(tb), lcs / len(ta)
    return 2 * p * r / (p + r)


def scorer() -> tuple[str, Callable[[str, str], float]]:
    """``(name, score(kept, candidate))``: rouge-score's ROUGE-Lsum with stemming where installed, else
    :func:`rouge_l_lcs`."""
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        return "rouge_l_lcs (rouge-score not installed)", rouge_l_lcs
    s = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True)
    return "rouge-score rougeLsum, stemmer", lambda a, b: s.score(a, b)["rougeLsum"].fmeasure


def dedup(texts: Sequence[str], threshold: float, score: Callable[[str, str], float] | None = None
          ) -> list[tuple[int, str | None]]:
    """For each text in order, ``(index of the kept text it duplicates, "exact" | "near")`` or ``(-1, None)`` when
    kept; a text is compared with the kept ones only."""
    score = score or scorer()[1]
    kept: list[int] = []
    norms = [normalise(t) for t in texts]
    out: list[tuple[int, str | None]] = []
    for i, text in enumerate(texts):
        verdict: tuple[int, str | None] = (-1, None)
        for k in kept:
            if norms[k] == norms[i]:
                verdict = (k, "exact")
                break
        if verdict[1] is None:
            for k in kept:
                if score(texts[k], text) > threshold:
                    verdict = (k, "near")
                    break
        if verdict[1] is None:
            kept.append(i)
        out.append(verdict)
    return out
