"""Padding-free packing: documents → pieces of at most ``seq_len`` tokens → rows of pieces → one flat batch.

Every document gets EOS at its end and is cut into pieces of at most ``seq_len`` tokens; a piece never
spans two documents. Pieces are packed in order into rows of at most ``seq_len`` tokens (a new row starts
when the next piece does not fit), so a row wastes at most one piece's worth of room and nothing is padded.
:class:`PackedCollator` flattens the pieces of a whole batch into one sequence with transformers'
``DataCollatorWithFlattening``: ``position_ids`` restart at 0 for every piece, which transformers turns into
a block-diagonal causal mask (its packed-sequence detection for sdpa/eager; varlen kernels for flash
attention), so no token attends across a document boundary, and the first label of each piece is -100 so no
token is trained to predict the next document. transformers only looks for packed sequences when no KV cache
is in use: train (and score packed batches) with ``use_cache=False``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def pieces(token_lists: Iterable[list[int]], seq_len: int, eos_id: int | None) -> Iterator[list[int]]:
    """Each document's ids (+ EOS), cut into consecutive pieces of at most ``seq_len`` tokens."""
    for ids in token_lists:
        ids = [*ids, eos_id] if eos_id is not None else list(ids)
        for start in range(0, len(ids), seq_len):
            piece = ids[start:start + seq_len]
            if len(piece) > 1:  # a 1-token piece has nothing to predict
                yield piece


def pack(pieces_: Iterable[list[int]], seq_len: int) -> Iterator[list[list[int]]]:
    """Pieces, in order, grouped into rows of at most ``seq_len`` tokens."""
    row: list[list[int]] = []
    used = 0
    for p in pieces_:
        if row and used + len(p) > seq_len:
            yield row
            row, used = [], 0
        row.append(p)
        used += len(p)
    if row:
        yield row


class PackedCollator:
    """Rows (``{"pieces": [[ids], ...]}``) → one flattened batch: ``input_ids``, ``labels``, ``position_ids``
    of shape ``[1, tokens]``, with no padding."""

    def __init__(self):
        from transformers import DataCollatorWithFlattening

        self._flatten = DataCollatorWithFlattening(return_position_ids=True, separator_id=-100)

    def __call__(self, rows: list[dict]) -> dict:
        return self._flatten([{"input_ids": p} for row in rows for p in row["pieces"]])
