"""Reading a built corpus folder (``codebabel corpus build``): its splits and their rows, lazily, with
one-line errors for anything that is not a corpus. Perplexity, training and the quickstart read corpora here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from codebabel.errors import CodebabelError
from codebabel.inputs import iter_jsonl

SHARD_SUFFIXES = (".jsonl", ".jsonl.gz")


@dataclass(frozen=True)
class CorpusSplit:
    """One split of a corpus folder: its language (from manifest.json) and its shards in name order.

    ``documents`` is the split's row count when the manifest has it (``splits.<split>.files``; only used for
    the progress bar), else None.
    """

    path: Path
    language: str
    split: str
    shards: tuple[Path, ...]
    documents: int | None = None


def open_split(corpus: str | Path, split: str) -> CorpusSplit:
    """Check ``corpus`` is a corpus folder with a non-empty ``split``; one-line errors otherwise."""
    path = Path(corpus).expanduser()
    if not path.is_dir():
        raise CodebabelError(f"--data {corpus}: no such folder; pass a corpus folder (with manifest.json)")
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise CodebabelError(f"--data {corpus}: no manifest.json there, so it is not a corpus folder; "
                             "pass the folder that holds manifest.json")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CodebabelError(f"{manifest_path}: not readable JSON ({e}); rebuild the corpus") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("language"), str):
        raise CodebabelError(f"{manifest_path}: no \"language\" field; rebuild the corpus")
    split_dir = path / split
    if not split_dir.is_dir():
        have = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
        raise CodebabelError(f"--data {corpus}: no '{split}' split folder (has: {', '.join(have) or 'none'}); "
                             "pick one with --split")
    shards = tuple(sorted((p for p in split_dir.iterdir() if p.is_file() and p.name.endswith(SHARD_SUFFIXES)),
                          key=lambda p: p.name))
    if not shards:
        raise CodebabelError(f"--data {corpus}: split '{split}' has no *.jsonl or *.jsonl.gz shards; "
                             "rebuild the corpus or pick another --split")
    counts = manifest.get("splits")
    entry = counts.get(split) if isinstance(counts, dict) else None
    files = entry.get("files") if isinstance(entry, dict) else None
    return CorpusSplit(path=path, language=manifest["language"], split=split, shards=shards,
                       documents=files if isinstance(files, int) and files > 0 else None)


def iter_rows(corpus: CorpusSplit, limit: int | None = None) -> Iterator[dict]:
    """Each row (a JSON object with a string ``text``), shard by shard, line by line (lazily); at most
    ``limit`` rows."""
    n = 0
    for shard in corpus.shards:
        if limit is not None and n >= limit:
            return
        for lineno, row in iter_jsonl(shard, "corpus shard", 'row (a JSON object with a string "text")'):
            if not isinstance(row.get("text"), str):
                raise CodebabelError(f"{shard}:{lineno}: malformed row (expected a JSON object with a "
                                     "string \"text\"); rebuild the corpus")
            n += 1
            yield row
            if limit is not None and n >= limit:
                return


def iter_texts(corpus: CorpusSplit, limit: int | None = None) -> Iterator[str]:
    """The ``text`` of each row (:func:`iter_rows`)."""
    return (row["text"] for row in iter_rows(corpus, limit))
