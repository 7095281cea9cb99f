"""Training data for a recipe's ``data:`` entries → tokenized pieces (train/packing.py).

An entry is one of:

- a **corpus folder** (``codebabel corpus build``; has ``manifest.json``): every split's documents, trained
  on every token;
- a **JSONL file** (``.jsonl`` / ``.jsonl.gz``) with one sample per line, either ``{"text": ...}`` (every
  token trained) or ``{"prompt": ..., "completion": ...}`` (loss on the completion only: the prompt's
  tokens are labelled -100), or ``{"messages": [{"role", "content"}, ...]}`` ending with an assistant turn (the
  conversational format of TRL and the HF chat datasets: rendered with the model's chat template, loss on the
  last assistant turn only, its end-of-turn token included). Write ``{split}`` in the path to give it a validation split (quoted in YAML:
  ``data: ["pairs/{split}.jsonl"]``); a path without it is training data only.

Plain text longer than ``seq_len`` is cut into pieces; a prompt→completion sample longer than ``seq_len`` is
truncated at ``seq_len`` (its completion's tail is lost) and one whose prompt fills ``seq_len`` is dropped;
both are counted in :class:`DataStats`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from codebabel.data.corpus import iter_texts, open_split
from codebabel.errors import CodebabelError
from codebabel.inputs import iter_jsonl
from codebabel.train.packing import Piece, pack, pieces

SUFFIXES = (".jsonl", ".jsonl.gz")


@dataclass
class DataStats:
    samples: int = 0
    tokens: int = 0
    truncated: int = 0
    dropped: int = 0


def iter_records(entry: str, split: str, train_split: str) -> Iterator[tuple[str, int, dict]]:
    """``(where, line, record)`` of one data entry for ``split``; nothing for a split-less file's eval split."""

    path = Path(entry.replace("{split}", split)).expanduser()
    if path.is_dir():
        for i, text in enumerate(iter_texts(open_split(path, split)), 1):
            yield str(path), i, {"text": text}
        return
    if not path.name.endswith(SUFFIXES):
        if not path.exists():
            raise CodebabelError(f"data '{entry}': no such folder; pass a corpus folder (codebabel corpus build) "
                                 "or a .jsonl/.jsonl.gz file")
        raise CodebabelError(f"data '{entry}': not a corpus folder or a .jsonl/.jsonl.gz file; pass one of those")
    if "{split}" not in entry and split != train_split:
        return
    if not path.is_file():
        raise CodebabelError(f"data '{entry}': no such file ({path}); check the path")
    # the one reader of user files: UTF-8 (a BOM dropped), .gz, and a bad byte, line or file in one line
    for lineno, row in iter_jsonl(path, "data", "sample"):
        yield str(path), lineno, row


def _encode(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def sample_pieces(entries: tuple[str, ...], split: str, train_split: str, tokenizer, seq_len: int,
                  stats: DataStats) -> Iterator[Piece]:
    """Every entry's samples for ``split`` as pieces of at most ``seq_len`` tokens, in order."""
    eos = tokenizer.eos_token_id
    for entry in entries:
        for where, lineno, row in iter_records(entry, split, train_split):
            kind = _sample_kind(where, lineno, row)
            if kind == "text":
                stats.samples += 1
                for piece in pieces([_encode(tokenizer, row["text"])], seq_len, eos):
                    stats.tokens += len(piece[0])
                    yield piece
            else:
                if kind == "chat":
                    prompt_text, completion = _render_chat(tokenizer, where, lineno, row["messages"])
                    end = []  # the template ends the assistant turn itself
                else:
                    prompt_text, completion = row["prompt"], row["completion"]
                    end = [eos] if eos is not None else []
                prompt = _encode(tokenizer, prompt_text)
                ids = prompt + _encode(tokenizer, completion) + end
                if len(prompt) >= min(seq_len, len(ids)):
                    stats.dropped += 1  # nothing of the completion would be trained on
                    continue
                if len(ids) > seq_len:
                    stats.truncated += 1
                    ids = ids[:seq_len]
                stats.samples += 1
                stats.tokens += len(ids)
                yield ids, len(prompt)


def _render_chat(tokenizer, where: str, lineno: int, messages: list[dict]) -> tuple[str, str]:
    """``(prompt, completion)`` text of a conversation: everything before the last (assistant) turn with the
    generation prompt, and that turn as the template writes it."""
    if not getattr(tokenizer, "chat_template", None):
        raise CodebabelError(f"{where}:{lineno}: a \"messages\" sample needs a model with a chat template; this "
                             "model's tokenizer has none (use \"text\" or \"prompt\"/\"completion\" samples)")
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full.startswith(prompt):
        raise CodebabelError(f"{where}:{lineno}: the model's chat template renders the conversation without its "
                             "last turn as something other than a prefix of the whole; it cannot be trained on")
    return prompt, full[len(prompt):]


def _is_chat(row: dict) -> bool:
    messages = row.get("messages")
    return (isinstance(messages, list) and len(messages) >= 2
            and all(isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                    for m in messages)
            and messages[-1]["role"] == "assistant")


def _sample_kind(where: str, lineno: int, row) -> str:
    """``text``, ``pair`` or ``chat``; a one-line error for anything else."""
    if isinstance(row, dict) and isinstance(row.get("text"), str):
        return "text"
    if isinstance(row, dict) and isinstance(row.get("prompt"), str) and isinstance(row.get("completion"), str):
        return "pair"
    if isinstance(row, dict) and _is_chat(row):
        return "chat"
    raise CodebabelError(f"{where}:{lineno}: a sample needs a string \"text\", string \"prompt\" and "
                         "\"completion\", or \"messages\" (role/content objects ending with an assistant turn)")


def check_data(entries: tuple[str, ...], split: str, train_split: str) -> int:
    """Check the entries' ``split`` without tokenizing, so a bad input fails before a run writes anything:
    every JSONL file is read through (path, UTF-8, JSON, sample shape), every corpus folder's split is opened
    and its first document read. Returns the samples seen (a corpus folder counts its first document only)."""
    seen = 0
    for entry in entries:
        is_dir = Path(entry.replace("{split}", split)).expanduser().is_dir()
        for where, lineno, row in iter_records(entry, split, train_split):
            _sample_kind(where, lineno, row)
            seen += 1
            if is_dir:
                break
    return seen


def packed_rows(entries: tuple[str, ...], split: str, train_split: str, tokenizer, seq_len: int
                ) -> tuple[list[dict], DataStats]:
    """The split's samples packed into rows (``{"pieces": [...], "masked": [...]}``) and what was read."""
    import numpy as np

    stats = DataStats()
    dtype = np.int32 if len(tokenizer) < 2**31 else np.int64  # a tenth of the memory of lists of Python ints
    rows = [{"pieces": [np.asarray(p, dtype=dtype) for p, _ in row], "masked": [m for _, m in row]}
            for row in pack(sample_pieces(entries, split, train_split, tokenizer, seq_len, stats), seq_len)]
    return rows, stats
