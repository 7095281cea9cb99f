"""The translator: programs → Python with the base model or routed experts, in one of two prompt formats.

``evaluate translation`` and ``translate`` both translate through :class:`Translator`, so a program is prompted,
routed, generated and read back the same way in both.

Prompt formats (``--prompt-format``, :data:`PROMPT_FORMATS`):

* ``tag``: SteloCoder's ``<cpp> SOURCE <py>`` (``<code> SOURCE <py>`` with the language hidden), the format
  the experts are trained on (data/pairs/format.py ``source_prompt``); the translation is the completion, up to
  EOS or the next language tag.
* ``instruct``: how a user runs an instruct model: one user message asking for the Python translation of the
  given C++ (Java, ...) program in a markdown code block (``program`` without the language where it is hidden),
  rendered with the tokenizer's chat template; the assistant's reply starts with a ```` ```python ```` fence,
  so it is code up to the closing fence (the stop sequence); the code is read out of the reply with
  ``extract_code`` (generate/instruct.py). A tokenizer without a chat template is a one-line error.

With experts, the router decides the expert from the source code whatever the format: it reads the ``tag``
prompt (the format the gate was trained on), and the expert then generates from the prompt in the chosen format.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from codebabel.config import SamplingConfig
from codebabel.data.pairs import CODE_TAG, language_tags, source_prompt
from codebabel.errors import CodebabelError
from codebabel.generate.backends import make_backend
from codebabel.generate.base import Completion
from codebabel.generate.instruct import extract_code
from codebabel.generate.openai_backend import Endpoint
from codebabel.generate.prompts import chat_prompt
from codebabel.generate.routed import EndpointRouted, LlamaCppRouted, RoutedBackend
from codebabel.languages import get_language
from codebabel.models.loading import ModelSource, load_model, load_tokenizer, pick_device, resolve
from codebabel.route.expert_models import LoadedExperts, load_expert_models
from codebabel.route.routing import make_router

PROMPT_FORMATS = ("tag", "instruct")
#: the user message of the ``instruct`` format; {what} is "C++ program" (or "program" with the language hidden)
INSTRUCTION = ("Translate the following {what} into Python 3. The Python program must print exactly what the "
               "original prints. Return the complete Python program in a markdown code block.")


def check_prompt_format(fmt: str) -> str:
    """``fmt`` if it is one of :data:`PROMPT_FORMATS`, else a one-line error listing them."""
    if fmt not in PROMPT_FORMATS:
        raise CodebabelError(f"--prompt-format {fmt!r} is unknown; use one of {', '.join(PROMPT_FORMATS)}")
    return fmt


def default_prompt_format(with_experts: bool) -> str:
    """``tag`` for experts (what they are trained on), ``instruct`` for a base model (how a user runs an instruct
    model): ``translate``'s and the playground's default."""
    return "tag" if with_experts else "instruct"


def instruct_request(code: str, language: str | None) -> str:
    """The user message of the ``instruct`` format: the program in a fence, its language named unless None."""
    lang = get_language(language) if language else None
    what, fence = (f"{lang.display_name} program", lang.fence) if lang else ("program", "")
    body = code.strip("\n")
    return f"{INSTRUCTION.format(what=what)}\n```{fence}\n{body}\n```\n"


def translation_prompt(fmt: str, tokenizer, code: str, language: str | None) -> tuple[str, list[str]]:
    """``(text to feed the model, stop sequences)`` for ``code`` in ``language`` (None: not named)."""
    if check_prompt_format(fmt) == "tag":
        return source_prompt(code, language), [*language_tags().values(), CODE_TAG]
    return chat_prompt(tokenizer, instruct_request(code, language), f"```{get_language('py').fence}\n",
                       "instruct", fallback="tag")


#: a reply's first line that only repeats the opened fence's language: Qwen2.5-Coder-0.5B writes ```` ```python ````
#: then ``python`` again on 8 of 30 held-out programs (docs/translation.md)
_FENCE_WORD = re.compile(r"\s*(?:python3?|py)\s*\n")


def read_translation(fmt: str, reply: str) -> str:
    """The Python program in a model's reply: the completion itself (``tag``) or its code block (``instruct``,
    without a first line that only names the language again)."""
    if fmt != "instruct":
        return reply.strip("\n").strip()
    code = extract_code(reply)
    return code[m.end():].strip("\n").strip() if (m := _FENCE_WORD.match(code)) else code.strip("\n").strip()


@dataclass(frozen=True)
class Translation:
    expert: str | None  # the expert that generated it (None: the base model)
    prompt: str  # what the model was fed
    code: str  # the Python program (read_translation)
    reply: str  # the model's whole output
    finish_reason: str
    n_tokens: int


class Translator:
    """The base model (``run`` None) or the experts of a routing run on their base, loaded once.

    Backends as everywhere: the base model through ``make_backend`` (llama.cpp on CPU where it has a GGUF); the
    experts through :func:`~codebabel.route.expert_models.load_expert_models` (llama.cpp where every expert
    converts, else PEFT, ``mode``: merge, unmerged or mixed). With ``endpoint`` (``--backend openai --base-url
    URL``) nothing generates here: the prompts, rendered here as for a local run, go to the endpoint's
    completions API, for the model ``model`` (default: the one model it lists) or, with experts, for each
    expert's name, as ``codebabel serve --experts RUN`` serves them (checked against the models it lists); the
    router still runs here. The router is built on first use (``route``), so a caller that names the expert
    itself never loads the gate."""

    def __init__(self, model: str | ModelSource | None, run: Path | None = None, languages: Sequence[str] = (), *,
                 router: str = "gate", mode: str = "merge", backend: str = "auto", device: str = "auto",
                 dtype: str = "auto", batch_size: int = 8, endpoint: Endpoint | None = None,
                 log: Callable[[str], None] = lambda _: None):
        self.run, self.languages, self.router_kind, self.dtype = run, list(languages), router, dtype
        self.endpoint = endpoint
        self._router = None
        self._loaded: LoadedExperts | None = None  # the experts loaded here (the gate may read their model)
        if endpoint is not None:
            self._on_endpoint(endpoint, model, batch_size, log)
            return
        self.source = resolve(model)
        self.model_name = str(model if isinstance(model, str) else self.source.spec)
        self.device = pick_device(device)
        if run is None:
            self.backend = make_backend(self.source, backend=backend, device=device, dtype=dtype,
                                        batch_size=batch_size, log=log)
            self.tokenizer = self.backend.tokenizer
            return
        self._loaded = load_expert_models(run, self.languages, self.source, backend=backend, device=device,
                                          dtype=dtype, batch_size=batch_size)
        self.tokenizer = self._loaded.tokenizer
        if self._loaded.llama is not None:
            self.backend = LlamaCppRouted(self._loaded.llama, self._loaded.adapters)
        else:
            self.backend = RoutedBackend(self._loaded.peft_model, self.tokenizer, batch_size, mode)
        log(f"generation backend: {self._loaded.describe()}")

    def _on_endpoint(self, endpoint: Endpoint, model, batch_size: int, log: Callable[[str], None]) -> None:
        endpoint.api_key()  # an --api-key-env that is not set is refused before anything else
        self.model_name = endpoint.model_name(None if model is None else str(getattr(model, "spec", model)))
        self.source, self.device, self.tokenizer = None, "cpu", None  # resolved on first need (tokenizer, gate)
        be = endpoint.backend(self.model_name, concurrency=batch_size)
        if self.run is None:
            self.backend = be
        else:
            served = endpoint.models()
            missing = [lang for lang in self.languages if lang not in served]
            if missing:
                raise CodebabelError(f"--base-url {endpoint.base_url} does not serve the experts {', '.join(missing)} "
                                     f"(it serves {', '.join(served[:12]) or 'nothing'}); serve them there with "
                                     f"`codebabel serve --experts {self.run}`, which names each by its language")
            self.backend = EndpointRouted(be, self.model_name)
        log(f"generation backend: {be.description}" + (", each expert by its name" if self.run else ""))

    def _local_source(self, why: str) -> ModelSource:
        """The model resolved here; through an endpoint only where ``why`` needs it (a chat template, the gate)."""
        if self.source is None:
            try:
                self.source = resolve(self.model_name)
            except CodebabelError as e:
                raise CodebabelError(f"{why} with --backend openai needs the model here, but {e}") from None
        return self.source

    def _tokenizer(self, fmt: str):
        if self.tokenizer is None and fmt == "instruct":  # an endpoint's model: its chat template is read here
            self.tokenizer = load_tokenizer(self._local_source("--prompt-format instruct (its chat template)"))
        return self.tokenizer

    def route(self, prompts: Sequence[str]) -> list[str | None]:
        """The expert of each ``tag`` prompt (None for every prompt without experts)."""
        if self.run is None:
            return [None] * len(prompts)
        if self._router is None:
            if self._loaded is not None:
                self._router = self._loaded.router(self.router_kind, self.run, self.source, self.device, self.dtype)
            else:  # an endpoint: the router runs here, the gate on the base model loaded for it
                model = tokenizer = None
                if self.router_kind == "gate":
                    model, tokenizer = load_model(self._local_source("the gate router"), device=self.device)
                self._router = make_router(self.router_kind, self.run, self.languages, model, tokenizer)
        return self._router.route(list(prompts))

    def translate(self, codes: Sequence[str], languages: Sequence[str | None], fmt: str, max_new_tokens: int,
                  experts: Sequence[str | None] | None = None,
                  on_progress: Callable[[int], None] | None = None) -> list[Translation]:
        """Greedy translations of ``codes`` (each in ``languages[i]``, None: not named in the prompt). With experts,
        each program goes to ``experts[i]``, or, without ``experts``, where the router sends its ``tag`` prompt."""
        if experts is None:
            experts = self.route([source_prompt(c, lang) for c, lang in zip(codes, languages, strict=True)])
        tokenizer = self._tokenizer(fmt)
        built = [translation_prompt(fmt, tokenizer, c, lang) for c, lang in zip(codes, languages, strict=True)]
        prompts, stop = [p for p, _ in built], (built[0][1] if built else [])
        sampling = SamplingConfig(max_new_tokens=max_new_tokens)
        done: list[list[Completion]]
        if self.run is None:
            done = self.backend.generate(prompts, sampling, stop, on_progress)
        else:
            done = self.backend.generate(prompts, list(experts), sampling, stop, on_progress)
        return [Translation(e, p, read_translation(fmt, c[0].text), c[0].text, c[0].finish_reason, c[0].n_tokens)
                for e, p, c in zip(experts, prompts, done, strict=True)]
