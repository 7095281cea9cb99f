"""Stop sequences: detected while generating (so no tokens are wasted) and applied by truncation after.

Both checks look at the *completion only*, never at the prompt: a stop like ``"\\ndef"`` must not fire
because the prompt ended with a newline and the model's first token is ``def``. (transformers'
``stop_strings=`` looks at the tail of prompt+completion, so codebabel uses its own check.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# Tokens llama.cpp treats as end-of-generation when a GGUF does not list them (its vocab loader matches
# these texts). The HF backend stops on the same ones, so both backends end a sample at the same token.
EOG_TOKEN_TEXTS = (
    "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end|>", "<|EOT|>", "<end_of_turn>", "<|end_of_text|>",
    "<｜end▁of▁sentence｜>", "<|file_separator|>", "<EOT>",
)  # fmt: skip


def truncate_at_stop(text: str, stops: Iterable[str]) -> tuple[str, bool]:
    """Cut ``text`` at the earliest occurrence of any stop sequence; ``(text, hit)``."""
    text, which = cut_at_stop(text, stops)
    return text, which is not None


def cut_at_stop(text: str, stops: Iterable[str]) -> tuple[str, str | None]:
    """``(text cut at the earliest stop sequence, that stop sequence)``; ``(text, None)`` where none occurs."""
    cut, which = len(text), None
    for s in stops:
        if s:
            i = text.find(s)
            if i != -1 and i < cut:
                cut, which = i, s
    return text[:cut], which


def eos_token_ids(tokenizer, generation_config=None) -> set[int]:
    """Every token id that ends a sample: the configured EOS id(s) plus known end-of-turn special tokens."""
    ids: set[int] = set()
    for src in (getattr(generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(src, int):
            ids.add(src)
        elif isinstance(src, (list, tuple)):
            ids.update(int(x) for x in src)
    special = set(getattr(tokenizer, "all_special_tokens", []) or [])
    added = getattr(tokenizer, "get_added_vocab", lambda: {})()
    for text in EOG_TOKEN_TEXTS:
        if text in special or text in added:
            tid = tokenizer.convert_tokens_to_ids(text)
            if isinstance(tid, int) and tid >= 0:
                ids.add(tid)
    return ids


class StopChecker:
    """Incremental check of one completion's token ids for a stop sequence.

    Decodes only the last few tokens at each step (enough to contain the longest stop string, as every
    token decodes to at least one character), so the cost per step is constant.
    """

    def __init__(self, tokenizer, stops: Sequence[str]):
        self.tokenizer = tokenizer
        self.stops = [s for s in stops if s]
        self.window = max((len(s) for s in self.stops), default=0) + 2

    def __bool__(self) -> bool:
        return bool(self.stops)

    def hit(self, completion_ids: Sequence[int]) -> bool:
        if not self.stops or not completion_ids:
            return False
        tail = self.tokenizer.decode(list(completion_ids[-self.window :]), skip_special_tokens=True)
        return any(s in tail for s in self.stops)
