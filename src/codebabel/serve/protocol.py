"""The OpenAI wire format ``codebabel serve`` speaks: requests (pydantic models, validated into one-line 400s),
responses and stream chunks, and the error object ``{"error": {"message", "type", "param", "code"}}``.

Request fields: ``model``, ``prompt`` (a string, or a list of one string) or ``messages``, ``max_tokens``
(``max_completion_tokens`` too for chat), ``temperature`` (0 = greedy), ``top_p``, ``top_k`` (0 or -1 = off),
``stop`` (a string or a list), ``seed`` (0 to 2³²-1; absent = 0: a request repeated gives the same sample),
``n`` (1 to 16 samples), ``stream``, ``stream_options.include_usage``. Defaults as OpenAI's: ``temperature`` 1, ``top_p`` 1,
``max_tokens`` 16 for completions; chat defaults to 512 (codebabel's ``--max-new-tokens``). Fields that would
change what is sampled and that codebabel's backends do not implement (``logprobs``, ``echo``, ``suffix``,
``best_of`` > 1, ``logit_bias``, non-zero penalties) are refused; any other unknown field is ignored, as
OpenAI-compatible servers do.

Responses follow OpenAI's, plus vLLM's ``stop_reason`` per choice (the stop sequence that ended the sample,
``null`` where the model ended it or the token budget did): codebabel's own openai backend reads it back, so
a completion's ``finish_reason`` (``stop``/``eos``/``length``) survives the trip.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from codebabel.config import SamplingConfig
from codebabel.generate.base import Completion

MAX_N = 16
#: translation's tag format stops at any language tag: 20 of them (evaluate translation --backend openai)
MAX_STOPS = 32


class ApiError(Exception):
    """A request the server answers with an OpenAI-style error object and ``status``."""

    def __init__(self, status: int, message: str, type: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class StreamOptions(BaseModel):
    include_usage: bool = False


class Sampled(BaseModel):
    """What completions and chat completions share."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None  # None: the base model
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    top_k: int = Field(default=0, ge=-1)
    stop: list[str] = Field(default_factory=list)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)  # llama.cpp's samplers take 32 bits
    n: int = Field(default=1, ge=1, le=MAX_N)
    stream: bool = False
    stream_options: StreamOptions | None = None
    # refused unless left at their defaults (the backends do not implement them)
    logprobs: Any = None
    echo: bool = False
    best_of: int | None = None
    logit_bias: dict | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0

    @field_validator("stop", mode="before")
    @classmethod
    def _stops(cls, v):
        if v is None:
            return []
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            raise ValueError("must be a string or a list of strings")
        if len(v) > MAX_STOPS:
            raise ValueError(f"at most {MAX_STOPS} stop sequences")
        return [s for s in v if s]

    @model_validator(mode="after")
    def _supported(self):
        unsupported = {"logprobs": self.logprobs not in (None, False, 0), "echo": self.echo,
                       "best_of": (self.best_of or 1) > 1, "logit_bias": bool(self.logit_bias),
                       "presence_penalty": self.presence_penalty != 0,
                       "frequency_penalty": self.frequency_penalty != 0}
        for name, used in unsupported.items():  # ApiError passes through pydantic: it names its field
            if used:
                raise ApiError(400, f"{name}: not supported by codebabel serve; leave it out", param=name)
        if self.n > 1 and self.temperature == 0:
            raise ApiError(400, f"n: {self.n} samples with temperature 0 (greedy) would be identical; set a "
                           "temperature or n 1", param="n")
        return self

    def sampling(self, default_max_tokens: int, room: int) -> SamplingConfig:
        """The backend's sampling settings; ``room``: tokens left in the context after the prompt (the budget is
        cut to it, as the llama.cpp backend does). Greedy requests keep only what greedy decoding reads, so they
        batch together whatever their seeds or top_p."""
        budget = min(self.max_tokens or default_max_tokens, room)
        if self.temperature == 0:
            return SamplingConfig(n=self.n, temperature=0.0, max_new_tokens=budget)
        return SamplingConfig(n=self.n, temperature=self.temperature, top_p=self.top_p, top_k=max(0, self.top_k),
                              max_new_tokens=budget, seed=self.seed or 0)

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class CompletionRequest(Sampled):
    prompt: str
    suffix: str | None = None

    @field_validator("prompt", mode="before")
    @classmethod
    def _one_prompt(cls, v):
        if isinstance(v, list) and len(v) == 1:
            v = v[0]
        if not isinstance(v, str):
            raise ValueError("must be a string or a list of one string (send one request per prompt; token-id "
                             "prompts are not supported)")
        return v

    @field_validator("suffix")
    @classmethod
    def _no_suffix(cls, v):
        if v:
            raise ApiError(400, "suffix: not supported by codebabel serve; leave it out", param="suffix")
        return v


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    content: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _text(cls, v):
        """OpenAI's content parts: only text parts, joined."""
        if isinstance(v, list):
            if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                       for p in v):
                raise ValueError("only text content parts ({'type': 'text', 'text': ...}) are supported")
            return "".join(p["text"] for p in v)
        return v


class ChatRequest(Sampled):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _max(self):
        if self.max_tokens is None:
            self.max_tokens = self.max_completion_tokens
        return self


def parse(cls: type[Sampled], body: bytes) -> Sampled:
    """The request in ``body``, or an :class:`ApiError` (400) naming the field and what is wrong."""
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, f"the request body is not valid JSON ({e}); send a JSON object",
                       code="invalid_json") from None
    if not isinstance(obj, dict):
        raise ApiError(400, "the request body must be a JSON object", code="invalid_json")
    try:
        return cls.model_validate(obj)
    except ValidationError as e:
        first = e.errors()[0]
        param = ".".join(str(x) for x in first["loc"]) or None
        msg = first["msg"].removeprefix("Value error, ")
        got = f" (got {json.dumps(first['input'])[:80]})" if "input" in first and param else ""
        raise ApiError(400, f"{param + ': ' if param else ''}{msg}{got}", param=param) from None


# ----------------------------------------------------------------------------------------------- responses


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def finish_reason(c: Completion) -> str:
    return "length" if c.finish_reason == "length" else "stop"


def usage(prompt_tokens: int, completions: list[Completion]) -> dict:
    out = sum(c.n_tokens for c in completions)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": out, "total_tokens": prompt_tokens + out}


def completion_body(rid: str, model: str, completions: list[Completion], prompt_tokens: int) -> dict:
    return {"id": rid, "object": "text_completion", "created": int(time.time()), "model": model,
            "choices": [{"index": i, "text": c.text, "logprobs": None, "finish_reason": finish_reason(c),
                         "stop_reason": c.stop} for i, c in enumerate(completions)],
            "usage": usage(prompt_tokens, completions)}


def chat_body(rid: str, model: str, completions: list[Completion], prompt_tokens: int) -> dict:
    return {"id": rid, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": i, "message": {"role": "assistant", "content": c.text}, "logprobs": None,
                         "finish_reason": finish_reason(c), "stop_reason": c.stop}
                        for i, c in enumerate(completions)],
            "usage": usage(prompt_tokens, completions)}


def stream_chunks(chat: bool, rid: str, model: str, completions: list[Completion], prompt_tokens: int,
                  include_usage: bool) -> list[dict]:
    """The chunks of a streamed answer: per choice its text (chat: the role first), then its finish; the usage
    chunk (no choices) where asked for. The backends hand over whole samples, so a choice's text is one chunk."""
    created = int(time.time())
    obj = "chat.completion.chunk" if chat else "text_completion"

    def chunk(choices: list[dict], **extra) -> dict:
        return {"id": rid, "object": obj, "created": created, "model": model, "choices": choices, **extra}

    out = []
    for i, c in enumerate(completions):
        if chat:
            out.append(chunk([{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]))
            if c.text:
                out.append(chunk([{"index": i, "delta": {"content": c.text}, "finish_reason": None}]))
            out.append(chunk([{"index": i, "delta": {}, "finish_reason": finish_reason(c), "stop_reason": c.stop}]))
        else:
            if c.text:
                out.append(chunk([{"index": i, "text": c.text, "logprobs": None, "finish_reason": None}]))
            out.append(chunk([{"index": i, "text": "", "logprobs": None, "finish_reason": finish_reason(c),
                               "stop_reason": c.stop}]))
    if include_usage:
        out.append(chunk([], usage=usage(prompt_tokens, completions)))
    return out


def sse(obj: dict) -> str:
    return f"data: {json.dumps(obj)}\n\n"


SSE_DONE = "data: [DONE]\n\n"
