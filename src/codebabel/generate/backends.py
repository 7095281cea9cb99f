"""The generation backends by name, and the choice between them: llama.cpp on CPU where it can run the exact
model (a GGUF, and an adapter only where it converts to a llama.cpp GGUF adapter), transformers everywhere
else. A new backend is one entry in :data:`BACKENDS`."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from rich.console import Console

from codebabel.errors import CodebabelError
from codebabel.generate.base import Backend, BackendName
from codebabel.generate.hf import HFBackend
from codebabel.generate.llamacpp import LlamaCppBackend
from codebabel.generate.openai_backend import OpenAIBackend
from codebabel.models.gguf_export import adapter_problem
from codebabel.models.loading import pick_device, resolve


def _hf(source, *, adapter, device, dtype, batch_size, **_) -> Backend:
    return HFBackend.from_source(source, adapter=adapter, device=device, dtype=dtype, batch_size=batch_size)


def _llamacpp(source, *, adapter, n_ctx, n_threads, batch_size, merge_adapter=None, **_) -> Backend:
    return LlamaCppBackend(source, adapter=adapter, n_ctx=n_ctx, n_threads=n_threads, parallel=batch_size,
                           merge_adapter=merge_adapter)


def _openai(source, *, base_url=None, model_name=None, concurrency=8, max_retries=5, timeout_s=600.0,
            api_key=None, tokenizer=None, **_) -> Backend:
    """An OpenAI-compatible endpoint (``base_url``) serving ``model_name`` (default: ``source`` as given); built by
    name (``codebabel evaluate --backend openai``, ``codebabel synth``'s teacher), never picked by ``auto``."""
    return OpenAIBackend(base_url, model_name or str(getattr(source, "spec", source)), api_key=api_key,
                         concurrency=concurrency, max_retries=max_retries, timeout_s=timeout_s, tokenizer=tokenizer)


#: name -> factory(source, adapter=, device=, dtype=, batch_size=, n_ctx=, n_threads=); "llamacpp" also takes
#: merge_adapter= (a GGUF type to merge the adapter into; transformers keeps PEFT's adapter unmerged); "openai" takes
#: base_url=, model_name=, concurrency=, max_retries=, timeout_s=, api_key=
BACKENDS: dict[str, Callable[..., Backend]] = {"hf": _hf, "llamacpp": _llamacpp, "openai": _openai}


def llama_cpp_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def choose_backend(
    has_gguf: bool,
    adapter: str | None,
    device: str,
    backend: BackendName = "auto",
    adapter_issue: str | None = None,
) -> tuple[str, str]:
    """``(backend name, why)`` — llama.cpp only when it can run this exact model faster on CPU.
    ``adapter_issue``: why the adapter cannot become a llama.cpp adapter (None: it can; see
    :func:`pick_backend`, which works it out)."""
    if backend != "auto" and backend not in BACKENDS:
        raise CodebabelError(f"--backend {backend}: use auto, {', '.join(BACKENDS)}")
    if backend == "openai":
        raise CodebabelError("--backend openai needs an endpoint's URL, which `codebabel evaluate --base-url` and "
                             "synth's teacher.base_url take; this command runs the model itself: use auto, hf or "
                             "llamacpp")
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
        if adapter and adapter_issue:
            raise CodebabelError(f"--backend llamacpp: {adapter_issue}; use --backend hf")
        return "llamacpp", "requested with --backend llamacpp"
    if device != "cpu":
        return "hf", f"device is {device}"
    if not has_gguf:
        return "hf", "the model has no GGUF file"
    if not llama_cpp_available():
        return (
            "hf",
            "llama-cpp-python is not installed (pip install 'codebabel[llamacpp]' for faster CPU sampling)",
        )
    if adapter:
        if adapter_issue:
            return "hf", f"the adapter has no llama.cpp form, so PEFT serves it ({adapter_issue})"
        return "llamacpp", "CPU, GGUF available, adapter converted to GGUF"
    return "llamacpp", "CPU, GGUF available, no adapter"


def pick_backend(source, adapter: str | None, device: str, backend: BackendName = "auto") -> tuple[str, str]:
    """:func:`choose_backend` for a resolved model: checks (reading the adapter's config and tensor names and
    the base GGUF's header) whether the adapter can run on llama.cpp where that decides the choice."""
    has_gguf = source.gguf_path is not None
    issue = None
    if adapter and has_gguf and (backend == "llamacpp" or (backend == "auto" and device == "cpu")):
        issue = adapter_problem(adapter, source)
    return choose_backend(has_gguf, adapter, device, backend, issue)


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
    merge_adapter: str | None = None,
    log: Callable[[str], None] | None = None,
) -> Backend:
    """The backend for a model: llama.cpp on CPU when it has a GGUF (and the adapter, if any, converts to a
    llama.cpp adapter), else transformers.

    ``source_spec`` is anything :func:`codebabel.models.loading.resolve` accepts (or a ModelSource).
    ``merge_adapter``: on llama.cpp, merge the adapter into a GGUF model of this type (q8_0, q4_k, f16, f32) instead
    of applying it unmerged (``LlamaCppBackend``). One line saying which backend and why goes to ``log``
    (default: stderr).
    """
    source = resolve(source_spec)
    dev = pick_device(device)
    name, why = pick_backend(source, adapter, dev, backend)
    extra = {"merge_adapter": merge_adapter} if name == "llamacpp" and adapter and merge_adapter else {}
    be = BACKENDS[name](source, adapter=adapter, device=dev, dtype=dtype, batch_size=batch_size, n_ctx=n_ctx,
                        n_threads=n_threads, **extra)
    be.description = f"{be.description} — chosen because: {why}"
    if log is None:
        Console(stderr=True, soft_wrap=True, highlight=False).print(f"generation backend: {be.description}")
    else:
        log(f"generation backend: {be.description}")
    return be
