"""The teacher: the generation backend that writes the tests and the translations, loaded on first use.

Local models go through ``make_backend`` (llama.cpp on CPU where the model has a GGUF, else transformers; the
default model is qwen2.5-coder-0.5b, the strongest coder reachable offline); ``backend: openai`` is any
OpenAI-compatible endpoint, built by name from the ``BACKENDS`` registry. What goes into the stages' settings
hashes is the teacher's identity (the model's content identity, the backend, device and dtype, or the endpoint and
model name), known without loading the model, so a finished stage is reused without loading anything.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from codebabel.config import SamplingConfig
from codebabel.synth.recipe import TeacherSettings


@dataclass
class Teacher:
    settings: TeacherSettings
    identity: dict
    log: Callable[[str], None] = lambda _: None
    backend_obj: object | None = None  # a loaded Backend (or one handed in)
    stats: dict = field(default_factory=lambda: {"generated_tokens": 0, "seconds": 0.0, "samples": 0})

    @property
    def backend(self):
        if self.backend_obj is None:
            self.backend_obj = _load(self.settings, self.log)
        return self.backend_obj

    def format(self, prompt: str, display_name: str, fence: str) -> tuple[str, list[str]]:
        """The text fed to the model for ``prompt`` (raw, or the chat template with the answer prefilled) and
        the extra stop sequences of that format."""
        if self.settings.prompt_format == "raw":
            return prompt, []
        from codebabel.generate.prompts import format_prompt

        return format_prompt(self.backend.tokenizer, prompt, display_name, "chat", fence=fence)

    def generate(self, prompts: list[str], sampling: SamplingConfig, stop: list[str],
                 on_result: Callable[[int, list], None], on_progress: Callable[[int], None]) -> None:
        """Generate, counting tokens and seconds (the speed measured by bench/synth.py)."""
        t0 = time.perf_counter()
        done: list = []

        def result(i: int, samples: list) -> None:
            done.append(samples)
            on_result(i, samples)

        self.backend.generate(prompts, sampling, stop, on_progress=on_progress, on_result=result)
        self.stats["seconds"] += time.perf_counter() - t0
        self.stats["generated_tokens"] += sum(c.n_tokens for samples in done for c in samples)
        self.stats["samples"] += sum(len(samples) for samples in done)


def make_teacher(settings: TeacherSettings, backend=None, log: Callable[[str], None] = lambda _: None) -> Teacher:
    """The teacher of a recipe; ``backend``: an already built Backend to use instead (its ``identity``
    attribute, else its description, stands for it in the settings hashes)."""
    if backend is not None:
        return Teacher(settings, {"backend": getattr(backend, "name", "custom"),
                                  "identity": getattr(backend, "identity", backend.description),
                                  "prompt_format": settings.prompt_format}, log, backend)
    if settings.backend == "openai":
        identity = {"backend": "openai", "base_url": settings.base_url, "model": settings.model}
    else:
        from codebabel.generate.backends import pick_backend
        from codebabel.models.loading import pick_device, pick_dtype, resolve

        source = resolve(settings.model)
        device = pick_device(settings.device)
        name, _ = pick_backend(source, None, device, settings.backend)
        dtype = "gguf" if name == "llamacpp" else str(pick_dtype(settings.dtype, device)).replace("torch.", "")
        # how many sequences are decoded together can change the numerics, so the samples
        identity = {"backend": name, "model": source.identity, "device": device, "dtype": dtype,
                    "batch_size": settings.batch_size}
    identity["prompt_format"] = settings.prompt_format
    return Teacher(settings, identity, log)


def _load(s: TeacherSettings, log: Callable[[str], None]):
    if s.backend == "openai":
        from codebabel.generate.backends import BACKENDS

        be = BACKENDS["openai"](s.model, base_url=s.base_url, model_name=s.model, concurrency=s.concurrency,
                                max_retries=s.max_retries, timeout_s=s.request_timeout_s,
                                api_key=os.environ.get(s.api_key_env))
        log(f"teacher: {be.description}")
        return be
    from codebabel.generate.backends import make_backend

    return make_backend(s.model, backend=s.backend, device=s.device, dtype=s.dtype, n_ctx=s.n_ctx,
                        batch_size=s.batch_size, log=lambda line: log(f"teacher: {line}"))
