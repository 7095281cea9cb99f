"""Decontamination: drop corpus documents that contain a benchmark problem.

Two checks, as BigCode does for The Stack / StarCoder (../shared/REFERENCE.md):

- **Substring**: the document contains a HumanEval docstring, a canonical solution, or a translated prompt of
  any language codebabel translates HumanEval to. Texts are compared case-insensitively and with everything
  but letters and digits removed, so comment markers (``#``, ``//``, ``;;``, `` * ``) and re-indentation do
  not hide a copy. Needles under ``min_chars`` such normalised characters (``return a + b``) are allowed:
  trivial solutions occur in real code. All needles are matched in one pass (Aho–Corasick, pyahocorasick).
- **Near match**: MinHash LSH at Jaccard >= 0.58 between the document and a benchmark program (Python prompt +
  solution; each translated prompt), with the same shingles as near-dedup.
"""

from __future__ import annotations

import ast
import re

from datatrove.data import Document

from codebabel.benchmarks import load_benchmark
from codebabel.config import DecontamConfig, MinHashConfig
from codebabel.data.dedup import Signer, new_lsh
from codebabel.data.filters import CountingFilter
from codebabel.languages import all_languages

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    return _NOT_ALNUM.sub("", text.lower())




def benchmark_texts(benchmarks: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """(needles, programs): substrings that mark a copy, and whole programs for the near match, each keyed
    by ``benchmark/language/task_id/what``."""

    needles: dict[str, str] = {}
    programs: dict[str, str] = {}
    for bench in benchmarks:
        for lang in all_languages():
            for p in load_benchmark(bench, lang):
                key = f"{bench}/{lang.name}/{p.task_id}"
                if p.canonical_solution is not None:  # the original (Python) problem
                    doc = _docstring(p.prompt, p.entry_point)
                    if doc:
                        needles[f"{key}/docstring"] = doc
                    needles[f"{key}/solution"] = p.canonical_solution
                    programs[key] = p.prompt + p.canonical_solution
                else:
                    needles[f"{key}/prompt"] = p.prompt
                    programs[key] = p.prompt
    return needles, programs


def _docstring(prompt: str, entry_point: str) -> str | None:
    try:
        tree = ast.parse(prompt + "    pass\n")
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == entry_point:
            return ast.get_docstring(node)
    return None


class Decontaminate(CountingFilter):
    """Drop documents holding a benchmark docstring, solution or prompt (substring), or close to a
    benchmark program (MinHash)."""

    name = "🧹 decontaminate"

    def __init__(self, cfg: DecontamConfig = DecontamConfig(), minhash: MinHashConfig = MinHashConfig()):
        super().__init__()
        self.cfg = cfg
        self.minhash_cfg = minhash
        self._automaton = None
        self._lsh = None
        self._signer = None
        self.n_needles = 0

    def _build(self) -> None:
        import ahocorasick

        needles, programs = benchmark_texts(self.cfg.benchmarks)
        automaton = ahocorasick.Automaton()
        for key, text in needles.items():
            norm = normalise(text)
            if len(norm) >= self.cfg.min_chars:
                automaton.add_word(norm, key)
                self.n_needles += 1
        automaton.make_automaton()
        self._signer = Signer(self.minhash_cfg)
        lsh = new_lsh(self.cfg.threshold, self.minhash_cfg.num_perm)
        for key, text in programs.items():
            lsh.insert(key, self._signer.minhash(text), check_duplication=False)
        self._automaton, self._lsh = automaton, lsh

    def reason(self, doc: Document) -> str | None:
        if self._automaton is None:
            self._build()
        for _end, key in self._automaton.iter(normalise(doc.text)):
            doc.metadata["contaminated_by"] = key
            return "benchmark_substring"
        hits = self._lsh.query(self._signer.of(doc))
        if hits:
            doc.metadata["contaminated_by"] = sorted(hits)[0]
            return "benchmark_near_match"
        return None
