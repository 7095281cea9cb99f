"""Padding-free packing: samples → pieces of at most ``seq_len`` tokens → rows of pieces → a batch of rows.

A piece is ``(ids, masked)``: token ids and how many of its first tokens carry no loss (the prompt of a
prompt→completion sample; 0 for plain text). A document gets EOS at its end and is cut into pieces of at
most ``seq_len`` tokens; a piece never spans two samples. Pieces are packed in order into rows of at most
``seq_len`` tokens (a new row starts when the next piece does not fit), so a row wastes at most one piece's
worth of room.

:class:`PackedCollator` lays each row out on its own line of the batch: ``position_ids`` restart at 0 for
every piece, which transformers turns into a block-diagonal causal mask (its packed-sequence detection for
sdpa/eager, when no ``attention_mask`` is given; varlen kernels for flash attention), so no token attends
across a sample boundary; the first label of each piece is -100, so no token is trained to predict the next
sample; masked (prompt) tokens are -100 too. Rows shorter than the batch's longest are filled with a run of
pad tokens that is its own block (positions restart, labels -100): real tokens never see it. Keeping rows
apart, instead of flattening the whole batch into one sequence, keeps attention at ``rows x seq_len²``
instead of ``(rows x seq_len)²``.
``num_real_tokens`` in the batch is the count of non-pad tokens (popped by the trainer before the forward
pass). transformers only looks for packed sequences when no KV cache is in use: train (and score packed
batches) with ``use_cache=False``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

Piece = tuple[list[int], int]


def pieces(token_lists: Iterable[list[int]], seq_len: int, eos_id: int | None) -> Iterator[Piece]:
    """Each document's ids (+ EOS), cut into consecutive pieces of at most ``seq_len`` tokens, none masked."""
    for ids in token_lists:
        ids = [*ids, eos_id] if eos_id is not None else list(ids)
        for start in range(0, len(ids), seq_len):
            piece = ids[start:start + seq_len]
            if len(piece) > 1:  # a 1-token piece has nothing to predict
                yield piece, 0


def pack(pieces_: Iterable[Piece], seq_len: int) -> Iterator[list[Piece]]:
    """Pieces, in order, grouped into rows of at most ``seq_len`` tokens."""
    row: list[Piece] = []
    used = 0
    for p in pieces_:
        if row and used + len(p[0]) > seq_len:
            yield row
            row, used = [], 0
        row.append(p)
        used += len(p[0])
    if row:
        yield row


class PackedCollator:
    """Rows (``{"pieces": [[ids], ...], "masked": [n, ...]}``) → ``input_ids``, ``labels``, ``position_ids`` of
    shape ``[rows, longest row]`` and ``num_real_tokens``."""

    def __init__(self, pad_id: int = 0):
        self.pad_id = pad_id

    def __call__(self, rows: list[dict]) -> dict:
        import torch

        width = max(sum(len(p) for p in row["pieces"]) for row in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        positions = torch.zeros((len(rows), width), dtype=torch.long)
        real = 0
        for r, row in enumerate(rows):
            at = 0
            for piece, masked in zip(row["pieces"], row.get("masked") or [0] * len(row["pieces"]), strict=True):
                n = len(piece)
                t = torch.as_tensor(piece, dtype=torch.long)
                ids[r, at:at + n] = t
                labels[r, at + max(masked, 1):at + n] = t[max(masked, 1):]
                positions[r, at:at + n] = torch.arange(n)
                at += n
            real += at
            positions[r, at:] = torch.arange(width - at)  # the pad run: a block of its own
        return {"input_ids": ids, "labels": labels, "position_ids": positions,
                "num_real_tokens": torch.tensor(real, dtype=torch.long)}
