"""A token n-gram router: multinomial naive Bayes over a code lexer's unigrams and bigrams.

This is the comparison baseline for the learned gate inside the model: given a prompt
``"<cpp> SOURCE <py>"`` (or ``"<code> SOURCE <py>"`` when the source language is hidden) it says which
per-language LoRA expert should handle it, from the code alone.

- :func:`code_tokens` lexes C-like code (C++, Java, C#, JavaScript, PHP) into identifiers and keywords
  (``$x`` and ``@x`` kept whole, as PHP and C# write them), numbers, operators and punctuation (longest match:
  ``->``, ``::``, ``=>``, ``===``, ``.=``, ``<?`` ...). Each string literal becomes one token (``STR`` for
  ``"..."``, ``CHR`` for ``'...'``, ``TPL`` for a JavaScript template, a ``$`` / ``@`` prefix kept: C#'s
  ``$"..."`` is ``$STR``), so what a program prints does not outweigh how it is written; a comment becomes
  its opening marker (``//`` or ``/*``). :func:`comment_spans` gives where the comments are (the gate's
  ``pool: code`` leaves them out).
- :class:`NgramClassifier` counts the 1..n-grams of those tokens per language (the sequence padded with
  ``<s>`` / ``</s>`` for n-grams of 2 and more), smooths them additively (``alpha``) over the vocabulary seen
  at fit time, and scores a text by the sum of its known n-grams' log probabilities (n-grams never seen in
  training are ignored). The class prior is uniform: the training pairs are balanced by design (the same
  number of programs per language), and a prior estimated from the counts would only encode how the
  training set was sampled, not how often each language is asked for.
- By default the prompt's tags (the leading ``<cpp>`` / ``<code>``, the trailing ``<py>``) are dropped before
  lexing (``use_tag=False``): a router that reads the explicit tag is a separate, trivial baseline, and this
  one must route the hidden-language prompts, whose tag is always ``<code>``. With ``use_tag=True`` the tags
  are kept as one token each.

The model is saved as JSON (counts, not probabilities, so a loaded router scores exactly as the saved one).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from codebabel.data.pairs import split_tags
from codebabel.errors import CodebabelError
from codebabel.store import atomic_write_text

#: the ``format`` field of a saved router
FORMAT = "codebabel-ngram-router"
VERSION = 1
#: sequence boundaries, added around a text's tokens for n-grams of 2 and more
BOS, EOS = "<s>", "</s>"

_STRING_KINDS = {'"': "STR", "'": "CHR", "`": "TPL"}
#: operators, longest first so that the alternation matches the longest one
_OPERATORS = sorted(
    ["<?php", "<?=", "<?", "?>", ">>>=", "<<=", ">>=", "**=", "??=", "...", "===", "!==", "<=>", ">>>", "?->",
     "->", "::", "=>", "==", "!=", "<=", ">=", "&&", "||", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=",
     "^=", ".=", "<<", ">>", "?.", "??", "**"],
    key=len, reverse=True)
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<line_comment>//)[^\n]*
      | (?P<block_comment>/\*)[\s\S]*?(?:\*/|\Z)
      | (?P<string>(?P<prefix>[$@]{0,2})(?P<quote>["'`])(?:\\.|\\\n|(?!(?P=quote)).|\n)*?(?:(?P=quote)|\Z))
      | (?P<word>[$@]*[A-Za-z_][A-Za-z0-9_]*)
      | (?P<number>0[xXbB][0-9A-Fa-f_]+[A-Za-z]*|(?:\d[\d_]*(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?[A-Za-z]*)
      | (?P<op>""" + "|".join(re.escape(op) for op in _OPERATORS) + r""")
      | (?P<other>\S)""",
    re.VERBOSE,
)


def code_tokens(text: str) -> list[str]:
    """The tokens of C-like source code (see the module docstring); strings → ``STR``/``CHR``/``TPL``.

    >>> code_tokens('echo "n = $n\\n"; $a->b::c => 1.5; // done')
    ['echo', 'STR', ';', '$a', '->', 'b', '::', 'c', '=>', '1.5', ';', '//']
    """
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup  # the outermost group of the alternative that matched
        if kind == "space":
            continue
        if kind == "string":
            out.append(m.group("prefix") + _STRING_KINDS[m.group("quote")])
        elif kind in ("line_comment", "block_comment"):
            out.append(m.group(kind))
        else:
            out.append(m.group(0))
    return out


def comment_spans(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` character spans of the comments in C-like ``text`` (``//`` to the end of the line,
    ``/* ... */``), found by the same lexer as :func:`code_tokens` (so ``//`` inside a string is no comment).

    >>> comment_spans('x = "a//b"; // note\\n/* c */ y')
    [(12, 19), (20, 27)]
    """
    return [m.span() for m in _TOKEN.finditer(text) if m.lastgroup in ("line_comment", "block_comment")]


class NgramClassifier:
    """Multinomial naive Bayes over the 1..``n``-grams of :func:`code_tokens`, one class per language.

    ``alpha`` is the additive (Laplace for 1.0) smoothing over the vocabulary built by :meth:`fit`; the class
    prior is uniform (the training data is balanced by design). ``use_tag=False`` drops the prompt's
    ``<lang>`` / ``<code>`` and ``<py>`` tags so that only the code is classified.
    """

    def __init__(self, languages: list[str], n: int = 2, alpha: float = 1.0, use_tag: bool = False) -> None:
        if not languages:
            raise ValueError("NgramClassifier needs at least one language")
        if len(set(languages)) != len(languages):
            raise ValueError(f"languages given twice in {languages}")
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n={n!r}: give a whole number of tokens, 1 or more")
        if not alpha > 0:
            raise ValueError(f"alpha={alpha!r}: the smoothing must be above 0")
        self.languages = list(languages)
        self.n = n
        self.alpha = float(alpha)
        self.use_tag = use_tag
        #: n-gram (tokens joined by one space) → column
        self.vocab: dict[str, int] = {}
        #: ``(E, V)`` n-gram counts per language
        self.counts: np.ndarray | None = None
        self._log_theta: np.ndarray | None = None  # (V, E): log P(n-gram | language)

    # -- features -------------------------------------------------------------------------------------------

    def tokens(self, text: str) -> list[str]:
        """The tokens this router reads from ``text`` (tags dropped unless ``use_tag``)."""
        lead, code, trail = split_tags(text, [f"<{lang}>" for lang in self.languages])
        toks = code_tokens(code)
        if self.use_tag:
            toks = ([lead] if lead else []) + toks + ([trail] if trail else [])
        return toks

    def ngrams(self, text: str) -> Counter[str]:
        """The 1..n-grams of ``text``'s tokens and their counts (n-grams of 2+ padded with ``<s>``/``</s>``)."""
        toks = self.tokens(text)
        grams: Counter[str] = Counter(toks)
        if self.n >= 2:
            padded = [BOS, *toks, EOS]
            for k in range(2, self.n + 1):
                grams.update(" ".join(padded[i:i + k]) for i in range(len(padded) - k + 1))
        return grams

    def _coo(self, grams: Sequence[Counter[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, count) of every n-gram in the vocabulary, of every text's n-gram counts."""
        rows: list[int] = []
        cols: list[int] = []
        vals: list[int] = []
        for r, counter in enumerate(grams):
            for gram, c in counter.items():
                j = self.vocab.get(gram)
                if j is not None:
                    rows.append(r)
                    cols.append(j)
                    vals.append(c)
        return (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64),
                np.asarray(vals, dtype=np.float64))

    # -- training and scoring -------------------------------------------------------------------------------

    def fit(self, texts: list[str], labels: list[str]) -> NgramClassifier:
        """Count the n-grams of ``texts`` per language (``labels``, each one of ``languages``); returns self."""
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels; give one label per text")
        index = {lang: i for i, lang in enumerate(self.languages)}
        for label in labels:
            if label not in index:
                raise ValueError(f"label '{label}' is not one of the router's languages "
                                 f"({', '.join(self.languages)})")
        grams = [self.ngrams(t) for t in texts]
        self.vocab = {}
        for g in grams:
            for gram in g:
                self.vocab.setdefault(gram, len(self.vocab))
        rows, cols, vals = self._coo(grams)
        counts = np.zeros((len(self.languages), len(self.vocab)), dtype=np.float64)
        classes = np.asarray([index[label] for label in labels], dtype=np.int64)
        if len(rows):
            np.add.at(counts, (classes[rows], cols), vals)
        self._set_counts(counts)
        return self

    def _set_counts(self, counts: np.ndarray) -> None:
        self.counts = counts
        smoothed = counts + self.alpha
        self._log_theta = (np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True))).T.copy()

    def log_probs(self, texts: Sequence[str]) -> np.ndarray:
        """``(N, E)`` log posteriors (each row's exp sums to 1), columns in ``languages``' order."""
        if self._log_theta is None:
            raise CodebabelError("the n-gram router is not trained; call fit(texts, labels) or NgramClassifier.load")
        rows, cols, vals = self._coo([self.ngrams(t) for t in texts])
        # log likelihoods: (nnz, E) per-n-gram contributions summed into their text's row. The prior is
        # uniform: log P(language) is the same constant for all, and cancels in the normalisation below.
        scores = np.zeros((len(texts), len(self.languages)), dtype=np.float64)
        if len(rows):
            np.add.at(scores, rows, vals[:, None] * self._log_theta[cols])
        if not len(texts):
            return scores
        top = scores.max(axis=1, keepdims=True)
        return scores - (top + np.log(np.exp(scores - top).sum(axis=1, keepdims=True)))

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable language of each text (ties go to the first in ``languages``)."""
        if not len(texts):
            return []
        return [self.languages[i] for i in self.log_probs(texts).argmax(axis=1)]

    # -- saving and loading ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The router as JSON-ready data: settings, the vocabulary in column order, and the integer counts."""
        if self.counts is None:
            raise CodebabelError("the n-gram router is not trained; call fit(texts, labels) before saving")
        vocab = sorted(self.vocab, key=self.vocab.__getitem__)
        return {"format": FORMAT, "version": VERSION, "languages": self.languages, "n": self.n,
                "alpha": self.alpha, "use_tag": self.use_tag, "vocab": vocab,
                "counts": [[int(c) for c in row] for row in self.counts]}

    def save(self, path: str | Path) -> Path:
        """Write the router as JSON, atomically (a temp file in the same folder, then ``os.replace``)."""

        path = Path(path).expanduser()
        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> NgramClassifier:
        """A router saved by :meth:`save`; a missing or malformed file raises :class:`CodebabelError`."""
        path = Path(path).expanduser()
        redo = "train a router and save it again (NgramClassifier(languages).fit(texts, labels).save(path))"
        if not path.is_file():
            raise CodebabelError(f"n-gram router file {path} not found; {redo}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise CodebabelError(f"n-gram router file {path} is not readable JSON ({type(e).__name__}); "
                                 f"{redo}") from None
        try:
            return cls._from_dict(data)
        except KeyError as e:
            raise CodebabelError(f"n-gram router file {path} is malformed (no {e} field); {redo}") from None
        except (TypeError, ValueError) as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise CodebabelError(f"n-gram router file {path} is malformed ({reason}); {redo}") from None

    @classmethod
    def _from_dict(cls, data: Any) -> NgramClassifier:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"no \"format\": \"{FORMAT}\" field")
        if data.get("version") != VERSION:
            raise ValueError(f"version {data.get('version')!r}, this codebabel reads version {VERSION}")
        languages, vocab, counts = data["languages"], data["vocab"], data["counts"]
        if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
            raise ValueError("\"languages\" must be a list of names")
        if not isinstance(vocab, list) or not all(isinstance(x, str) for x in vocab):
            raise ValueError("\"vocab\" must be a list of n-grams")
        if len(set(vocab)) != len(vocab):
            raise ValueError("\"vocab\" lists an n-gram twice")
        if not isinstance(data["n"], int) or isinstance(data["n"], bool) or not isinstance(data["use_tag"], bool):
            raise ValueError("\"n\" must be a whole number and \"use_tag\" true or false")
        alpha = data["alpha"]
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not math.isfinite(alpha):
            raise ValueError("\"alpha\" must be a number")
        router = cls(languages, n=data["n"], alpha=alpha, use_tag=data["use_tag"])
        if not isinstance(counts, list) or not all(isinstance(row, list) for row in counts):
            raise ValueError("\"counts\" must be a list of rows")
        if len(counts) != len(languages) or any(len(row) != len(vocab) for row in counts):
            raise ValueError(f"\"counts\" must be {len(languages)} rows of {len(vocab)} (languages × vocab)")
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for row in counts for c in row):
            raise ValueError("\"counts\" must hold whole numbers, 0 or more")
        matrix = np.asarray(counts, dtype=np.float64).reshape(len(languages), len(vocab))
        router.vocab = {gram: i for i, gram in enumerate(vocab)}
        router._set_counts(matrix)
        return router
