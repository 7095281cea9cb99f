"""The per-document steps of a corpus build: decode, count tokens, size limits, the BigCode quality filters,
a token budget. Each is a datatrove filter (``filter(doc) -> True | (False, reason)``) that also counts the
tokens it removes (stat ``removed_tokens``), so the dataset card can say what every step cost.

Thresholds are The Stack / StarCoder's (../shared/REFERENCE.md): a line over 1000 characters, mean line
length over 100, alphanumeric fraction under 0.25, or an auto-generated marker in the first 5 lines.
"""

from __future__ import annotations

import re

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter

from codebabel.config import QualityConfig
from codebabel.models.loading import ModelSource, load_tokenizer


class CountingFilter(BaseFilter):
    """A filter that counts the tokens of what it drops (``doc.metadata["n_tokens"]``, once counted)."""

    def reason(self, doc: Document) -> str | None:
        """None to keep the document, else the reason it is dropped."""
        raise NotImplementedError

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        why = self.reason(doc)
        if why is None:
            return True
        self.stat_update("removed_tokens", value=int(doc.metadata.get("n_tokens", 0)))
        return False, why


class Decode(CountingFilter):
    """Raw bytes → text: binary files (a NUL byte in the first 8 KiB) and non-UTF-8 files are dropped."""

    name = "🔤 decode"

    def reason(self, doc: Document) -> str | None:
        raw = doc.metadata.pop("raw", None)
        if raw is None:
            return None
        if b"\0" in raw[:8192]:
            return "binary"
        try:
            doc.text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return "not_utf8"
        if doc.text.startswith("\ufeff"):
            doc.text = doc.text[1:]
        return None


class CountTokens(PipelineStep):
    """``metadata["n_tokens"]`` by the model's tokenizer. Batches of at most ``batch_chars`` characters go to
    the fast tokenizer's Rust side, which returns only lengths to Python: memory stays flat whatever the
    file sizes (a list of Python ints per token would cost ~36 bytes a token)."""

    name = "🔢 tokens"
    type = "🔢 - TOKENIZER"

    def __init__(self, tokenizer_spec: str | ModelSource, batch_docs: int = 64, batch_chars: int = 1_000_000):
        super().__init__()
        self.tokenizer_spec = tokenizer_spec
        self.batch_docs, self.batch_chars = batch_docs, batch_chars
        self._tok = None

    @property
    def tokenizer(self):
        if self._tok is None:
            self._tok = load_tokenizer(self.tokenizer_spec)
        return self._tok

    def lengths(self, texts: list[str]) -> list[int]:
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is not None:
            return [len(e) for e in backend.encode_batch(texts, add_special_tokens=False)]
        return [len(self.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        batch: list[Document] = []
        chars = 0
        for doc in data:
            batch.append(doc)
            chars += len(doc.text)
            if len(batch) >= self.batch_docs or chars >= self.batch_chars:
                yield from self._count(batch)
                batch, chars = [], 0
        yield from self._count(batch)

    def _count(self, batch: list[Document]) -> list[Document]:
        if not batch:
            return batch
        for doc, n in zip(batch, self.lengths([d.text for d in batch]), strict=True):
            doc.metadata["n_tokens"] = n
            self.stat_update("tokens", value=n)
        return batch


class Size(CountingFilter):
    """Files over ``max_bytes`` (The Stack: 1 MB) or with under ``min_chars`` of non-space text."""

    name = "📏 size"

    def __init__(self, max_bytes: int = 1_000_000, min_chars: int = 10):
        super().__init__()
        self.max_bytes, self.min_chars = max_bytes, min_chars

    def reason(self, doc: Document) -> str | None:
        if len(doc.text.encode("utf-8")) > self.max_bytes:
            return "too_large"
        if len(doc.text.strip()) < self.min_chars:
            return "too_small"
        return None


class Quality(CountingFilter):
    """The Stack's line-length and alphanumeric-fraction filters."""

    name = "✨ quality"

    def __init__(self, cfg: QualityConfig = QualityConfig()):
        super().__init__()
        self.cfg = cfg

    def reason(self, doc: Document) -> str | None:
        lines = doc.text.splitlines() or [""]
        if max(map(len, lines)) > self.cfg.max_line_length:
            return "long_line"
        if sum(map(len, lines)) / len(lines) > self.cfg.max_mean_line_length:
            return "mean_line_length"
        if alphanum_fraction(doc.text) < self.cfg.min_alphanum_fraction:
            return "alphanum_fraction"
        return None


class AutoGenerated(CountingFilter):
    """Files whose first lines say they were generated ("do not edit", "generated by", ...)."""

    name = "🤖 auto-generated"

    def __init__(self, cfg: QualityConfig = QualityConfig()):
        super().__init__()
        self.cfg = cfg
        self._re = re.compile("|".join(re.escape(m) for m in cfg.autogen_markers), re.IGNORECASE)

    def reason(self, doc: Document) -> str | None:
        head = "\n".join(doc.text.splitlines()[: self.cfg.autogen_lines])
        return "auto_generated" if self._re.search(head) else None


class TokenBudget(CountingFilter):
    """Keep documents until ``max_tokens`` are kept, in input order (deterministic); drop the rest."""

    name = "💰 token budget"

    def __init__(self, max_tokens: int | None):
        super().__init__()
        self.max_tokens = max_tokens
        self.kept = 0

    def reason(self, doc: Document) -> str | None:
        if self.max_tokens is None:
            return None
        n = int(doc.metadata.get("n_tokens", 0))
        if self.kept + n > self.max_tokens:
            return "over_budget"
        self.kept += n
        return None


def alphanum_fraction(text: str) -> float:
    return sum(c.isalnum() for c in text) / len(text) if text else 0.0
