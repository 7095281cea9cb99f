"""Exact and near deduplication (BigCode's recipe, with datasketch).

- ``MinHashSignature`` (parallel stage): MinHash of each document's 5-gram shingles, tokens split on
  ``[^A-Za-z_0-9]``, 256 permutations; stored in ``metadata["minhash"]`` for the single-task stage.
- ``ExactDedup``: the first document with a given content hash is kept.
- ``NearDedup``: a document whose estimated Jaccard similarity to an already kept one is >= 0.7 (MinHash LSH)
  is dropped; documents with fewer than 5 tokens are dropped (no shingle to compare). The LSH index stores
  one 8-byte hash per band (datasketch's ``hashfunc``), so its memory grows by ~0.5 KB per kept document.

datatrove's own MinHash dedup (four stages of signature/bucket/cluster/filter files) is built for many
machines; it shingles with per-language word tokenizers rather than the identifier regex above and is tuned
by bucket counts rather than a Jaccard threshold, so the single-machine steps here use datasketch directly.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from codebabel.config import MinHashConfig
from codebabel.data.filters import CountingFilter

TOKEN_SPLIT = re.compile(r"[^A-Za-z_0-9]+")




def shingles(text: str, n: int = 5) -> set[bytes]:
    """The set of n-grams of identifier-ish tokens (``[^A-Za-z_0-9]`` splits), as bytes."""
    toks = [t for t in TOKEN_SPLIT.split(text) if t]
    if len(toks) < n:
        return {" ".join(toks).encode()} if toks else set()
    return {" ".join(toks[i:i + n]).encode() for i in range(len(toks) - n + 1)}


def n_words(text: str) -> int:
    return sum(1 for t in TOKEN_SPLIT.split(text) if t)


class Signer:
    """MinHash signatures with one shared set of permutations (made once, not per document)."""

    def __init__(self, cfg: MinHashConfig = MinHashConfig(), batch: int = 4096):
        self.cfg = cfg
        self.batch = batch
        self.scheme = "affine32"
        self._perms = MinHash(num_perm=cfg.num_perm, seed=cfg.seed, scheme=self.scheme).permutations

    def minhash(self, text: str) -> MinHash:
        m = MinHash(num_perm=self.cfg.num_perm, seed=self.cfg.seed, permutations=self._perms, scheme=self.scheme)
        sh = list(shingles(text, self.cfg.ngram))
        # datasketch hashes a batch as one (num_perm x batch) uint64 matrix: 256 x 100k shingles of a 1 MB file
        # would be 200 MB at once, so feed it in slices (the minimum over slices is the same signature)
        for i in range(0, len(sh), self.batch):
            m.update_batch(sh[i:i + self.batch])
        return m

    def of(self, doc: Document) -> MinHash | LeanMinHash:
        """The document's signature: the one stage 1 stored (``metadata["minhash"]``), else computed now."""
        values = doc.metadata.get("minhash")
        if values is None:
            return self.minhash(doc.text)
        return LeanMinHash(seed=self.cfg.seed, hashvalues=np.asarray(values, dtype=np.uint64), scheme=self.scheme)


def _band_hash(b: bytes) -> bytes:
    return hashlib.blake2b(b, digest_size=8).digest()


def new_lsh(threshold: float, num_perm: int) -> MinHashLSH:
    return MinHashLSH(threshold=threshold, num_perm=num_perm, hashfunc=_band_hash)


class MinHashSignature(PipelineStep):
    """``metadata["minhash"]``: the document's 256 MinHash values (computed where documents are read)."""

    name = "#️⃣ minhash"
    type = "🫂 - DEDUP"

    def __init__(self, cfg: MinHashConfig = MinHashConfig()):
        super().__init__()
        self.cfg = cfg
        self._signer: Signer | None = None

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._signer = self._signer or Signer(self.cfg)
        for doc in data:
            with self.track_time():
                doc.metadata["minhash"] = self._signer.minhash(doc.text).hashvalues.tolist()
            yield doc


class ExactDedup(CountingFilter):
    """The first document with a given content (sha256 of the text) is kept; later copies are dropped."""

    name = "🎯 exact dedup"

    def __init__(self):
        super().__init__()
        self.seen: set[bytes] = set()

    def reason(self, doc: Document) -> str | None:
        h = hashlib.sha256(doc.text.encode("utf-8")).digest()[:16]
        if h in self.seen:
            return "exact_duplicate"
        self.seen.add(h)
        return None


class NearDedup(CountingFilter):
    """MinHash LSH near-dedup at Jaccard >= threshold against the documents kept so far."""

    name = "🫂 near dedup"

    def __init__(self, cfg: MinHashConfig = MinHashConfig()):
        super().__init__()
        self.cfg = cfg
        self.signer = Signer(cfg)
        self.lsh = new_lsh(cfg.threshold, cfg.num_perm)
        self.count = 0

    def reason(self, doc: Document) -> str | None:
        if n_words(doc.text) < self.cfg.min_tokens:
            return "under_5_tokens"
        m = self.signer.of(doc)
        if self.lsh.query(m):
            return "near_duplicate"
        self.lsh.insert(str(self.count), m, check_duplication=False)
        self.count += 1
        return None
