"""The experts of a routing run loaded on one base model: the one choice between llama.cpp and PEFT.

``evaluate translation`` and ``translate`` (route/translator.py) and ``codebabel serve --experts``
(serve/model.py) load a run's experts through :func:`load_expert_models`, so the three pick the same backend
for the same run: llama.cpp (one base model, each expert a GGUF LoRA adapter switched on per group with
``use_adapter``) only where the base has a GGUF and *every* expert converts to a llama.cpp adapter; else one
``PeftModel`` holding every expert unmerged under its language's name. :meth:`LoadedExperts.router` builds the
router on what is loaded: the gate reads the base model's embeddings (the ``PeftModel`` where it is loaded,
else the base model loaded for it); the n-gram and tag routers read neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codebabel.generate.backends import pick_backend
from codebabel.generate.llamacpp import LlamaCppBackend
from codebabel.models.loading import ModelSource, load_model, pick_device
from codebabel.route.routing import make_router
from codebabel.route.run import expert_adapter, load_experts


@dataclass
class LoadedExperts:
    backend: str  # "llamacpp" | "hf"
    why: str  # why that backend, for the log line
    languages: list[str]
    adapters: dict[str, Path]  # expert name (its language) -> PEFT adapter folder
    tokenizer: Any
    llama: LlamaCppBackend | None = None  # llama.cpp: the base; each adapter switched on with use_adapter
    peft_model: Any = None  # transformers: every expert unmerged on one PeftModel

    def router(self, kind: str, run: Path, source: ModelSource, device: str = "auto", dtype: str = "auto"):
        """The router ``kind`` (gate | ngram | tag) of ``run`` over these experts."""
        model = tokenizer = None
        if kind == "gate":  # the gate reads the base model's embeddings
            if self.peft_model is not None:
                model, tokenizer = self.peft_model, self.tokenizer
            else:
                model, tokenizer = load_model(source, device=device, dtype=dtype)
        return make_router(kind, run, self.languages, model, tokenizer)

    def describe(self) -> str:
        return (f"{self.backend} for {len(self.languages)} experts ({', '.join(self.languages)}) — chosen because: "
                f"{self.why}")


def load_expert_models(run: Path, languages: list[str], source: ModelSource, *, backend: str = "auto",
                       device: str = "auto", dtype: str = "auto", batch_size: int = 8) -> LoadedExperts:
    """Every expert of ``run`` in ``languages`` on the base ``source``, on llama.cpp where it can run every one
    of them (``backend`` auto on CPU, or llamacpp), else on transformers."""
    adapters = {lang: expert_adapter(run, lang) for lang in languages}
    dev = pick_device(device)
    name, why = "hf", ""
    for lang in languages:  # llama.cpp only if it can run every expert
        name, why = pick_backend(source, str(adapters[lang]), dev, backend)
        if name != "llamacpp":
            break
    if name == "llamacpp":
        llama = LlamaCppBackend(source, parallel=batch_size)
        return LoadedExperts(name, why, list(languages), adapters, llama.tokenizer, llama=llama)
    peft_model, tokenizer, _ = load_experts(run, languages, dev, dtype, source)
    return LoadedExperts(name, why, list(languages), adapters, tokenizer, peft_model=peft_model)
