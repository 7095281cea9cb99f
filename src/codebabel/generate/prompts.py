"""From a benchmark prompt to the text a model is fed, for the "raw" and "chat" prompt formats.

"raw": the benchmark prompt as is (a function signature + docstring the model continues).
"chat": the instruct model's chat template with a request to complete the function, followed by a
*prefilled* assistant turn that opens a code block and repeats the prompt, so the model continues the
function body exactly as in "raw" and the completion can be appended to the original benchmark prompt.
The closing code fence is an extra stop sequence.
"""

from __future__ import annotations

from typing import Literal

from codebabel.errors import CodebabelError
from codebabel.languages import get_language
from codebabel.models.registry import DEFAULT_CHAT_INSTRUCTION


def format_prompt(
    tokenizer,
    prompt: str,
    language_display_name: str,
    fmt: Literal["raw", "chat"] = "raw",
    instruction: str = DEFAULT_CHAT_INSTRUCTION,
    fence: str | None = None,
) -> tuple[str, list[str]]:
    """``(text to feed the model, extra stop sequences)``. The completion continues ``prompt``."""
    if fmt == "raw":
        return prompt, []
    if fmt != "chat":
        raise CodebabelError(f"--prompt-format {fmt}: use raw or chat")
    if not getattr(tokenizer, "chat_template", None):
        raise CodebabelError(
            "--prompt-format chat: this model's tokenizer has no chat template; use --prompt-format raw"
        )
    fence = fence or get_language(language_display_name).fence  # the language module knows its fence tag
    ask = instruction.format(language=language_display_name, fence=fence)
    user = f"{ask}\n```{fence}\n{prompt}```"
    head = tokenizer.apply_chat_template(
        [{"role": "user", "content": user}], add_generation_prompt=True, tokenize=False
    )
    return f"{head}```{fence}\n{prompt}", ["```"]


def encode_prompt(tokenizer, text: str) -> list[int]:
    """Token ids for a formatted prompt, identical for every backend.

    The tokenizer's own special-token rule applies (BOS for Llama-style models, none for Qwen/SmolLM2),
    except that a chat-rendered text that already starts with the BOS text does not get a second BOS.
    """
    ids = tokenizer(text, add_special_tokens=True)["input_ids"]
    bos = tokenizer.bos_token_id
    if (
        bos is not None
        and len(ids) >= 2
        and ids[0] == bos
        and ids[1] == bos
        and tokenizer.bos_token
        and text.startswith(tokenizer.bos_token)
    ):
        ids = ids[1:]
    return list(ids)
