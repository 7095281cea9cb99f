"""What every generation backend returns and promises, and how one is chosen."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from codebabel.config import SamplingConfig
from codebabel.errors import CodebabelError

FinishReason = Literal["stop", "length", "eos"]
BackendName = Literal["auto", "hf", "llamacpp"]


@dataclass
class Completion:
    text: str  # the completion only (prompt not included), cut at the first stop sequence
    n_tokens: int  # tokens the model generated for it, the final EOS / stop-completing token included
    finish_reason: FinishReason  # "stop": a stop sequence; "eos": the model ended; "length": max_new_tokens


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
    ) -> list[list[Completion]]:
        """For each prompt, ``sampling.n`` completions. ``on_progress(k)``: k more prompts are done."""
        ...


def llama_cpp_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def choose_backend(
    has_gguf: bool, adapter: str | None, device: str, backend: BackendName = "auto"
) -> tuple[str, str]:
    """``(backend name, why)`` — llama.cpp only when it can run this exact model faster on CPU."""
    if backend not in ("auto", "hf", "llamacpp"):
        raise CodebabelError(f"--backend {backend}: use auto, hf or llamacpp")
    if backend == "hf":
        return "hf", "requested with --backend hf"
    if backend == "llamacpp":
        if not llama_cpp_available():
            raise CodebabelError(
                "--backend llamacpp: llama-cpp-python is not installed (pip install 'codebabel[llamacpp]')"
            )
        if not has_gguf:
            raise CodebabelError(
                "--backend llamacpp: this model has no GGUF file; pass a registered name or a .gguf file"
            )
        if adapter:
            raise CodebabelError("--backend llamacpp: adapters run on the hf backend only; use --backend hf")
        return "llamacpp", "requested with --backend llamacpp"
    if adapter:
        return "hf", "an adapter is attached (served unmerged by PEFT)"
    if device != "cpu":
        return "hf", f"device is {device}"
    if not has_gguf:
        return "hf", "the model has no GGUF file"
    if not llama_cpp_available():
        return (
            "hf",
            "llama-cpp-python is not installed (pip install 'codebabel[llamacpp]' for faster CPU sampling)",
        )
    return "llamacpp", "CPU, GGUF available, no adapter"


def make_backend(
    source_spec,
    adapter: str | None = None,
    backend: BackendName = "auto",
    device: str = "auto",
    *,
    dtype: str = "auto",
    batch_size: int = 8,
    n_ctx: int = 4096,
    n_threads: int | None = None,
    log: Callable[[str], None] | None = None,
) -> Backend:
    """The backend for a model: llama.cpp on CPU when it has a GGUF and no adapter, else transformers.

    ``source_spec`` is anything :func:`codebabel.models.loading.resolve` accepts (or a ModelSource).
    One line saying which backend and why goes to ``log`` (default: stderr).
    """
    from codebabel.models.loading import pick_device, resolve

    source = resolve(source_spec)
    dev = pick_device(device)
    name, why = choose_backend(source.gguf_path is not None, adapter, dev, backend)
    if name == "llamacpp":
        from codebabel.generate.llamacpp import LlamaCppBackend

        be: Backend = LlamaCppBackend(source, n_ctx=n_ctx, n_threads=n_threads)
    else:
        from codebabel.generate.hf import HFBackend

        be = HFBackend.from_source(source, adapter=adapter, device=dev, dtype=dtype, batch_size=batch_size)
    be.description = f"{be.description} — chosen because: {why}"
    if log is None:
        from rich.console import Console

        Console(stderr=True, soft_wrap=True, highlight=False).print(f"generation backend: {be.description}")
    else:
        log(f"generation backend: {be.description}")
    return be
