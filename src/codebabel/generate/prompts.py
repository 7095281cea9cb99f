"""From a benchmark prompt to the text a model is fed, for the "raw" and "chat" prompt formats.

"raw": the benchmark prompt as is (a function signature + docstring the model continues).
"chat": the instruct model's chat template with a request to complete the function, followed by a
*prefilled* assistant turn that opens a code block and repeats the prompt, so the model continues the
function body exactly as in "raw" and the completion can be appended to the original benchmark prompt.
The closing code fence is an extra stop sequence. :func:`chat_prompt` is that rendering (a user message, the
chat template, the start of the reply opening a fence), shared with every format that uses the chat template.
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
    fence = fence or get_language(language_display_name).fence  # the language module knows its fence tag
    ask = instruction.format(language=language_display_name, fence=fence)
    return chat_prompt(tokenizer, f"{ask}\n```{fence}\n{prompt}```", f"```{fence}\n{prompt}", "chat")


def chat_prompt(tokenizer, user: str, reply_start: str, fmt: str, fallback: str = "raw") -> tuple[str, list[str]]:
    """``(text, ["```"])``: one ``user`` message rendered with the tokenizer's chat template and the generation
    prompt, then ``reply_start``, the start of the assistant's reply, which opens a code fence: the model's reply
    is code up to the closing fence (the stop sequence). Used by the ``chat`` and ``instruct`` formats
    (generate/instruct.py) and by translation's ``instruct`` format (route/translator.py). A tokenizer without a
    chat template is a one-line error naming ``--prompt-format fmt`` and the ``fallback`` format to use."""
    if not getattr(tokenizer, "chat_template", None):
        raise CodebabelError(f"--prompt-format {fmt}: this model's tokenizer has no chat template; use "
                             f"--prompt-format {fallback}")
    head = tokenizer.apply_chat_template([{"role": "user", "content": user}], add_generation_prompt=True,
                                         tokenize=False)
    return f"{head}{reply_start}", ["```"]


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
