"""Deterministic train/validation/test split by a hash of the document id.

A document's split depends only on its id (blake2b → a number in [0, 1)), never on the other documents or
their order: the same build gives the same splits, and a file keeps its split when others are added.
"""

from __future__ import annotations

import hashlib

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

SPLITS = ("train", "validation", "test")


def split_of(doc_id: str, validation: float = 0.05, test: float = 0.05, salt: str = "codebabel") -> str:
    x = int.from_bytes(hashlib.blake2b(f"{salt}\0{doc_id}".encode(), digest_size=8).digest(), "big") / 2**64
    if x < test:
        return "test"
    if x < test + validation:
        return "validation"
    return "train"


class Split(PipelineStep):
    """``metadata["split"]`` from the document id (see :func:`split_of`)."""

    name = "🔀 split"
    type = "🔀 - SPLIT"

    def __init__(self, validation: float = 0.05, test: float = 0.05):
        super().__init__()
        self.validation, self.test = validation, test

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            doc.metadata["split"] = split_of(doc.id, self.validation, self.test)
            self.stat_update(doc.metadata["split"])
            self.stat_update(f"{doc.metadata['split']}_tokens", value=int(doc.metadata.get("n_tokens", 0)))
            yield doc
