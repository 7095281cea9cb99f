"""``codebabel evaluate perplexity``: sliding-window perplexity and bits per byte of a model on corpus splits.

The method is the one in the transformers guide "Perplexity of fixed-length models"
(https://huggingface.co/docs/transformers/perplexity), applied to each document on its own:

- each row's ``text`` is tokenized alone with the tokenizer's own special-token convention
  (``tokenizer(text, add_special_tokens=True)``): a BOS token is prepended exactly when the tokenizer adds one
  by default (Llama-2-style tokenizers do; SmolLM2's and GPT-2's do not), and nothing else is changed;
- windows of at most ``context`` tokens start every ``stride`` tokens (``0, stride, 2*stride, ...``) until a
  window reaches the end of the document; in each window only the tokens not already scored by the previous
  window are labels, the overlap is context only (label -100);
- a label is predicted from the tokens before it in its window (the causal shift), so the first token of the
  document is never scored. With ``stride < context`` every other token is scored exactly once; with
  ``stride == context`` (no overlap) the first token of every window has nothing before it and is not scored
  either, as in the guide;
- the negative log-likelihoods (nats) of the scored tokens are *summed* over all documents and divided by the
  number of scored tokens: perplexity = ``exp(nll / tokens)``; bits per byte = ``nll / ln 2 / bytes`` with
  ``bytes`` the UTF-8 size of the whole documents (tokenizer-independent, so models with different
  vocabularies compare; the unscored first token of each document is a tiny part of it).

Documents are streamed shard by shard (``*.jsonl`` and ``*.jsonl.gz``, in name order), never held in memory
all at once. Windows from consecutive documents are batched (right-padded, so positions are unchanged).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import TextColumn

from codebabel.config import PerplexityConfig
from codebabel.data.corpus import iter_texts, open_split
from codebabel.errors import CodebabelError
from codebabel.models.loading import ModelSource, load_model
from codebabel.progress import progress_bar
from codebabel.store import atomic_write_text

# ------------------------------------------------------------------------------------------------- scoring


@dataclass
class Totals:
    """Sums over documents: negative log-likelihood (nats), scored tokens, documents, UTF-8 bytes."""

    nll: float = 0.0
    tokens: int = 0
    documents: int = 0
    bytes: int = 0

    @property
    def perplexity(self) -> float:
        return math.exp(self.nll / self.tokens) if self.tokens else math.nan

    @property
    def bits_per_byte(self) -> float:
        return self.nll / math.log(2) / self.bytes if self.bytes else math.nan


def windows(n_tokens: int, context: int, stride: int) -> Iterator[tuple[int, int, int]]:
    """``(begin, end, first)`` per window of a ``n_tokens``-token document, as in the transformers guide.

    The window is ``ids[begin:end]``; the scored targets are window positions ``first .. end-begin-1``
    (each predicted from the position before it). Windows with nothing to score are skipped.
    """
    prev_end = 0
    for begin in range(0, n_tokens, stride):
        end = min(begin + context, n_tokens)
        trg_len = end - prev_end  # tokens not scored by an earlier window
        first = max(end - begin - trg_len, 1)
        if first < end - begin:
            yield begin, end, first
        prev_end = end
        if end == n_tokens:
            break


def tokenize(tokenizer, text: str) -> list[int]:
    """The document's ids with the tokenizer's default special tokens (BOS where it adds one)."""
    return list(tokenizer(text, add_special_tokens=True, verbose=False)["input_ids"])


def score_documents(
    model,
    tokenizer,
    texts: Iterable[str],
    context: int,
    stride: int,
    batch_size: int = 4,
    on_document: Callable[[Totals], None] | None = None,
) -> Totals:
    """Sliding-window NLL summed over ``texts`` (see the module docstring). ``on_document`` after each one."""
    import torch
    import torch.nn.functional as F

    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    totals = Totals()
    batch: list[tuple[list[int], int]] = []

    def flush() -> None:
        if not batch:
            return
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, (ids, _) in enumerate(batch):
            input_ids[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask[i, : len(ids)] = 1
        input_ids = input_ids.to(device)
        kwargs: dict[str, Any] = {"input_ids": input_ids}
        if not bool(mask.all()):
            kwargs["attention_mask"] = mask.to(device)
        logits = model(**kwargs).logits
        for i, (ids, first) in enumerate(batch):
            targets = input_ids[i, first: len(ids)]
            totals.nll += F.cross_entropy(logits[i, first - 1: len(ids) - 1].float(), targets,
                                          reduction="sum").item()
            totals.tokens += len(ids) - first
        batch.clear()

    with torch.inference_mode():
        for text in texts:
            ids = tokenize(tokenizer, text)
            for begin, end, first in windows(len(ids), context, stride):
                batch.append((ids[begin:end], first))
                if len(batch) >= batch_size:
                    flush()
            totals.documents += 1
            totals.bytes += len(text.encode("utf-8"))
            if on_document is not None:
                on_document(totals)
        flush()
    return totals


# ---------------------------------------------------------------------------------------------- the command


def evaluate_perplexity(cfg: PerplexityConfig, console: Console | None = None,
                        source: ModelSource | None = None) -> dict[str, Any]:
    """Perplexity and bits per byte of ``cfg.model`` (+ adapter) on ``cfg.split`` of each corpus in ``cfg.data``.
    ``source``: ``cfg.model`` already resolved by the caller (else it is resolved here, once, when it loads).

    Returns ``{"model", "adapter", "split", "context", "stride", "results": [one dict per corpus]}`` and
    writes it to ``cfg.out`` (atomically) when set.
    """

    console = console or Console(stderr=True)
    splits = [open_split(d, cfg.split) for d in cfg.data]  # every input checked before the model loads
    for s in splits:
        if next(iter_texts(s, limit=1), None) is None:
            raise CodebabelError(f"--data {s.path}: split '{cfg.split}' has no rows; rebuild the corpus or "
                                 "pick another --split")

    model, tokenizer = load_model(source or cfg.model, adapter=cfg.adapter, device=cfg.device, dtype=cfg.dtype)
    max_positions = getattr(model.config, "max_position_embeddings", None)
    if isinstance(max_positions, int) and cfg.context > max_positions:
        raise CodebabelError(f"--context {cfg.context}: more than the model's {max_positions} positions; "
                             f"use --context {max_positions} or less")

    results = []
    with progress_bar(console, TextColumn("{task.fields[tokens]}")) as progress:
        for s in splits:
            total = min(x for x in (cfg.limit, s.documents) if x) if (cfg.limit or s.documents) else None
            bar = progress.add_task(f"{s.language} {s.split}", total=total, tokens="")
            t0 = time.monotonic()

            def advance(t: Totals, bar=bar) -> None:
                progress.update(bar, completed=t.documents, tokens=f"{t.tokens:,} tokens")

            totals = score_documents(model, tokenizer, iter_texts(s, cfg.limit), cfg.context, cfg.stride,
                                     cfg.batch_size, on_document=advance)
            if totals.tokens == 0:
                raise CodebabelError(f"--data {s.path}: no token to score in split '{s.split}' (every document "
                                     "is at most one token long)")
            results.append({
                "language": s.language, "corpus": str(s.path), "split": s.split,
                "perplexity": totals.perplexity, "bits_per_byte": totals.bits_per_byte, "nll_nats": totals.nll,
                "tokens": totals.tokens, "documents": totals.documents, "bytes": totals.bytes,
                "time_s": round(time.monotonic() - t0, 3),
            })
            progress.remove_task(bar)

    report = {"model": cfg.model, "adapter": cfg.adapter, "split": cfg.split, "context": cfg.context,
              "stride": cfg.stride, "limit": cfg.limit, "results": results}
    if cfg.out:
        atomic_write_text(Path(cfg.out).expanduser(), json.dumps(report, indent=2) + "\n")
    return report
