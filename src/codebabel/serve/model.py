"""What ``codebabel serve`` generates with: one base model in memory, through codebabel's own backends, and
optionally a routing run's experts on it.

- **The base model** through :func:`~codebabel.generate.backends.make_backend`: llama.cpp on CPU where the
  model has a GGUF (``--batch-size`` sequences decoding at once), else transformers; ``--backend`` forces one.
- **Experts** (``--experts RUN``, a ``codebabel route train-experts`` folder): every expert is a LoRA adapter on
  the same base, switched on for the requests that name it. On llama.cpp (where every expert converts to a GGUF
  LoRA adapter) the adapters are loaded once and switched per group (``use_adapter``); on transformers the
  experts sit unmerged on one ``PeftModel`` (``set_adapter``; the base with ``disable_adapter``). On llama.cpp a
  name's requests decode in one continuous loop that new requests for the same name join while it runs
  (:meth:`ServedModel.generate_stream`); transformers generates fixed batches. Model names:
  the base's, each expert's (its language), and ``auto``: the router (``--router``, as ``evaluate translation``)
  picks the expert once per prompt, before decoding; a prompt routed to no expert goes to the base model.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from pathlib import Path

from codebabel.config import SamplingConfig
from codebabel.errors import CodebabelError
from codebabel.generate.backends import make_backend
from codebabel.generate.base import Completion
from codebabel.generate.hf import HFBackend
from codebabel.generate.llamacpp import LlamaCppBackend, Request
from codebabel.generate.prompts import encode_prompt
from codebabel.models.loading import resolve
from codebabel.route.expert_models import load_expert_models
from codebabel.route.routing import ROUTERS
from codebabel.route.run import run_languages, run_model
from codebabel.serve.protocol import ApiError

AUTO = "auto"


class ServedModel:
    def __init__(self, name: str, backend, *, adapters: dict[str, object] | None = None, peft_model=None,
                 router=None, run: Path | None = None, router_kind: str | None = None):
        """``backend``: a loaded Backend; ``adapters``: expert name -> adapter folder (llama.cpp: switched with
        ``use_adapter``); ``peft_model``: the transformers ``PeftModel`` holding the experts under their names;
        ``router``: picks an expert per prompt for ``auto``; ``run``, ``router_kind``: where the experts and the
        router come from (said to the playground's users)."""
        self.name, self.backend, self.adapters = name, backend, adapters
        self.peft_model, self.router = peft_model, router
        self.run, self.router_kind = run, router_kind
        self.experts = list(adapters or {})
        # the HTTP side counts prompt tokens and renders chat templates while the worker thread generates: a
        # fast tokenizer must not be used from two threads at once, so it gets its own copy
        self.tokenizer = copy.deepcopy(backend.tokenizer)
        self.context = _context_length(backend)
        self.description = getattr(backend, "description", name)

    @property
    def names(self) -> list[str]:
        """What ``/v1/models`` lists: the base model, each expert, ``auto`` where there are experts."""
        return [self.name, *self.experts, *([AUTO] if self.experts else [])]

    def check_name(self, model: str | None) -> str:
        """The served name a request's ``model`` means (absent: the base), or a 404."""
        if model is None or model == self.name:
            return self.name
        if model in self.experts or (model == AUTO and self.experts):
            return model
        raise ApiError(404, f"model '{model}' is not served here; GET /v1/models lists {', '.join(self.names)}",
                       param="model", code="model_not_found")

    def count_tokens(self, text: str) -> int:
        return len(encode_prompt(self.tokenizer, text))

    def room(self, prompt: str, param: str) -> tuple[int, int]:
        """``(prompt tokens, tokens left in the context)``; a 400 naming ``param`` where no token is left."""
        n_prompt = self.count_tokens(prompt)
        room = self.context - n_prompt
        if room < 1:
            raise ApiError(400, f"the prompt is {n_prompt} tokens and the model's context {self.context}: no room to "
                                "generate; shorten the prompt", param=param, code="context_length_exceeded")
        return n_prompt, room

    def render_chat(self, messages: list[dict]) -> str:
        """The chat template with the assistant turn opened (raw text: the backends read it as a prompt)."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise ApiError(400, f"model '{self.name}' has no chat template; use /v1/completions", param="messages")
        try:
            return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        except Exception as e:  # jinja's TemplateError (e.g. roles out of order) and the like
            raise ApiError(400, f"messages: the chat template refused them ({str(e).strip()[:200]})",
                           param="messages") from None

    def route(self, prompts: list[str]) -> list[str | None]:
        """The expert for each prompt (None: the base model)."""
        return list(self.router.route(prompts)) if prompts else []

    def generate(self, name: str, prompts: list[str], sampling: SamplingConfig, stop: list[str],
                 on_result: Callable[[int, list[Completion]], None]) -> list[list[Completion]]:
        """One fixed batch (transformers; llama.cpp serves through :meth:`generate_stream`). ``name``: the base or
        an expert (never ``auto``: routed before)."""
        with self._using(None if name == self.name else name):
            return self.backend.generate(prompts, sampling, stop, on_result=on_result)

    @property
    def continuous(self) -> bool:
        """Whether the backend keeps one decoding loop open to requests that arrive while it runs (llama.cpp:
        :meth:`generate_stream`); transformers generates fixed batches (:meth:`generate`)."""
        return isinstance(self.backend, LlamaCppBackend)

    def generate_stream(self, name: str, requests: list[Request], refill: Callable[[], list[Request]]) -> None:
        """llama.cpp: ``requests``, then whatever ``refill()`` returns while they decode, in one continuous loop
        on ``name``'s adapter (the base or an expert, never ``auto``); each request has its own sampling settings,
        seed, stop sequences and callbacks (``LlamaCppBackend.generate_stream``)."""
        with self._using(None if name == self.name else name):
            self.backend.generate_stream(requests, refill)

    @contextlib.contextmanager
    def _using(self, expert: str | None):
        if self.peft_model is not None:  # transformers: the experts unmerged on one PeftModel
            if expert is None:
                with self.peft_model.disable_adapter():
                    yield
            else:
                self.peft_model.set_adapter(expert)
                yield
        elif self.adapters is not None:  # llama.cpp: the expert's GGUF LoRA adapter switched on
            self.backend.use_adapter(None if expert is None else self.adapters[expert])
            try:
                yield
            finally:
                self.backend.use_adapter(None)
        else:
            yield


def _context_length(backend) -> int:
    n_ctx = getattr(backend, "n_ctx", None)  # llama.cpp: the context each sequence gets
    if n_ctx:
        return int(n_ctx)
    config = getattr(getattr(backend, "model", None), "config", None)
    n = getattr(config, "max_position_embeddings", None) or getattr(backend.tokenizer, "model_max_length", None)
    return int(n) if n and n < 10**7 else 4096


def load_served(model: str | None, experts: str | None = None, *, router: str = "gate", backend: str = "auto",
                device: str = "auto", batch_size: int = 8, log: Callable[[str], None] = print) -> ServedModel:
    """The served model: ``model`` (default, with ``experts``: the experts' own base) through ``make_backend``,
    or with the experts of the routing run ``experts``."""
    if backend not in ("auto", "hf", "llamacpp"):
        raise CodebabelError(f"--backend {backend}: codebabel serve runs the model itself; use auto, hf or llamacpp")
    if experts is None:
        if not model:
            raise CodebabelError("codebabel serve: pass --model (a registered name, folder, .gguf file or Hub id) or "
                                 "--experts RUN")
        be = make_backend(model, backend=backend, device=device, batch_size=batch_size, log=log)
        return ServedModel(model, be)
    if router not in ROUTERS:
        raise CodebabelError(f"--router {router!r} is unknown; use one of {', '.join(ROUTERS)}")
    run = Path(experts).expanduser()
    if not run.is_dir():
        raise CodebabelError(f"--experts '{experts}': no such folder; pass a `codebabel route train-experts` run "
                             "folder")
    languages = run_languages(run)
    spec = model or run_model(run)
    source = resolve(spec)
    loaded = load_expert_models(run, languages, source, backend=backend, device=device, batch_size=batch_size)
    routing = loaded.router(router, run, source, device)
    where = {"adapters": loaded.adapters, "router": routing, "run": run, "router_kind": router}
    if loaded.llama is not None:
        served = ServedModel(spec, loaded.llama, **where)
    else:
        served = ServedModel(spec, HFBackend(loaded.peft_model, loaded.tokenizer, batch_size=batch_size),
                             peft_model=loaded.peft_model, **where)
    log(f"generation backend: {loaded.describe()}, {router} router for 'auto'")
    return served
