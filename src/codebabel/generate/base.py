"""What every generation backend returns and promises (generate/backends.py chooses and builds one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from codebabel.config import SamplingConfig

FinishReason = Literal["stop", "length", "eos"]
BackendName = Literal["auto", "hf", "llamacpp"]


@dataclass
class Completion:
    text: str  # the completion only (prompt not included), cut at the first stop sequence
    n_tokens: int  # tokens the model generated for it, the final EOS / stop-completing token included
    finish_reason: FinishReason  # "stop": a stop sequence; "eos": the model ended; "length": max_new_tokens
    stop: str | None = None  # the stop sequence that ended it, where the backend knows (codebabel serve reports it)


@runtime_checkable
class Backend(Protocol):
    name: str
    tokenizer: object  # a transformers tokenizer: used for prompt formatting by every backend
    description: str  # one line: which backend, model, device/threads and why (for logs and run records)

    def generate(
        self,
        prompts: list[str],
        sampling: SamplingConfig,
        stop: list[str],
        on_progress: Callable[[int], None] | None = None,
        on_result: Callable[[int, list[Completion]], None] | None = None,
    ) -> list[list[Completion]]:
        """For each prompt, ``sampling.n`` completions. ``on_progress(k)``: k more prompts are done.
        ``on_result(i, completions)``: prompt ``i``'s completions, as soon as all of them exist (before the
        ``on_progress`` call that counts it), so a caller can store them before the whole call ends."""
        ...
