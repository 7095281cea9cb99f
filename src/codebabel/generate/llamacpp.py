"""llama.cpp backend (llama-cpp-python): the fast CPU path for a model that has a GGUF file, with or without a
LoRA adapter.

Choices, and why:
- **Adapters run unmerged, as llama.cpp LoRA adapters.** A PEFT adapter folder is converted once to llama.cpp's
  GGUF adapter format (``models/gguf_export.py``: f32, q/k rows permuted like the base's, PEFT's scale kept)
  and cached by its files' digests under ``$CODEBABEL_HOME/models/adapters/``; llama.cpp adds ``B·A·x`` to each
  adapted layer at scale 1 on top of the base GGUF, as PEFT does on top of the HF weights.
- **Tokens, not text, go in and come out.** The prompt is tokenized with the model's HF tokenizer, which
  transformers builds from the same GGUF's vocabulary, so the ids are llama.cpp's ids; passing ids makes
  the prompt identical across backends by construction (BOS rule, chat special tokens like
  ``<|im_start|>``, which llama.cpp's own text tokenizer parses only with ``special=True``). Completions
  are decoded with the same tokenizer, and stop sequences are checked on the completion only, exactly as
  in the HF backend.
- **n samples per prompt, one after another.** ``Llama.generate`` keeps the KV cache of the previous call
  and reuses the longest common token prefix, so after the first sample of a prompt each further sample
  re-evaluates just one prompt token. Sample ``i`` uses seed ``seed + i``: reproducible and independent of
  how prompts are batched.
- **Same sampling semantics as transformers.** llama-cpp-python's default chain applies top-k, typical,
  top-p and min-p (default 0.05!) *before* temperature; transformers applies temperature first, then
  top-k and top-p. We build the chain temperature → top-k → top-p → sample ourselves, so T=0.8/top_p=0.95
  means the same distribution on both backends. Greedy (T=0) is llama.cpp's greedy sampler (arg-max).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from codebabel.config import SamplingConfig, available_cpus
from codebabel.errors import CodebabelError
from codebabel.generate.base import Completion
from codebabel.generate.prompts import encode_prompt
from codebabel.generate.stopping import StopChecker, eos_token_ids, truncate_at_stop
from codebabel.models.gguf_export import adapter_gguf
from codebabel.models.loading import load_tokenizer


class LlamaCppBackend:
    name = "llamacpp"

    def __init__(
        self,
        source,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        tokenizer=None,
        adapter: str | os.PathLike | None = None,
        **llama_kwargs,
    ):
        """``adapter``: a PEFT LoRA folder, converted to a GGUF adapter once (cached) and applied unmerged.
        ``llama_kwargs`` go to ``llama_cpp.Llama`` (e.g. ``n_gpu_layers``, ``type_k``/``type_v`` for the
        KV-cache type, f16 by default)."""
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise CodebabelError(
                "--backend llamacpp: llama-cpp-python is not installed (pip install 'codebabel[llamacpp]')"
            ) from e

        if getattr(source, "gguf_path", None) is None:
            raise CodebabelError(
                f"model '{getattr(source, 'spec', source)}': no GGUF file, so llama.cpp cannot run it"
            )
        self.source = source
        self.adapter = adapter
        self.adapter_gguf = adapter_gguf(adapter, source) if adapter is not None else None
        self.tokenizer = tokenizer if tokenizer is not None else load_tokenizer(source)
        threads = n_threads or available_cpus()
        lora = {"lora_path": str(self.adapter_gguf), "lora_scale": 1.0} if self.adapter_gguf else {}
        try:
            self.llm = Llama(
                model_path=str(source.gguf_path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
                **lora,
                **llama_kwargs,
            )
        except (RuntimeError, ValueError) as e:
            what = f"model '{source.spec}'" + (f" with adapter '{adapter}'" if adapter is not None else "")
            raise CodebabelError(f"{what}: llama.cpp cannot load it ({str(e).strip().splitlines()[0]})") from e
        self.n_ctx = self.llm.n_ctx()
        self.eos_ids = eos_token_ids(self.tokenizer) | {self.llm.token_eos()}
        with_adapter = f" + adapter {adapter} (GGUF LoRA)" if adapter is not None else ""
        self.description = (
            f"llamacpp (llama.cpp, {source.spec}{with_adapter}, GGUF, cpu, {threads} threads, n_ctx {self.n_ctx})"
        )
        self._chain = None
        self.tokenizer_matches = self._check_tokenizer()
        # Our sampler chain replaces llama-cpp-python's default one (see the module docstring).
        self.llm._init_sampler = lambda **_ignored: self._chain

    def _check_tokenizer(self) -> bool:
        """Warn if llama.cpp would tokenize differently from the HF tokenizer (the model saw llama.cpp's)."""
        probe = (
            'def f(x: int) -> list:\n    """Doc."""\n    return [0.5, 12, x]  # 1990s\n\tif x:\n\n  pass\n'
        )
        ours = self.tokenizer(probe, add_special_tokens=False)["input_ids"]
        theirs = self.llm.tokenize(probe.encode(), add_bos=False, special=True)
        if list(ours) != list(theirs):
            from rich.console import Console

            Console(stderr=True, soft_wrap=True, highlight=False).print(
                f"warning: model '{self.source.spec}': the HF tokenizer converted from the GGUF splits text "
                "differently from llama.cpp; both backends use the HF tokenizer's ids"
            )
            return False
        return True

    def _make_chain(self, sampling: SamplingConfig, seed: int):
        from llama_cpp._internals import LlamaSampler

        chain = LlamaSampler()
        if sampling.greedy:
            chain.add_greedy()
            return chain
        chain.add_temp(sampling.temperature)
        if sampling.top_k > 0:
            chain.add_top_k(sampling.top_k)
        if sampling.top_p < 1.0:
            chain.add_top_p(sampling.top_p, 1)
        chain.add_dist(seed & 0xFFFFFFFF)
        return chain

    def _one(
        self,
        prompt_ids: list[int],
        sampling: SamplingConfig,
        seed: int,
        checker: StopChecker,
        stop: list[str],
    ) -> Completion:
        budget = min(sampling.max_new_tokens, self.n_ctx - len(prompt_ids))
        if budget <= 0:
            raise CodebabelError(
                f"prompt of {len(prompt_ids)} tokens does not fit the llama.cpp context of {self.n_ctx} tokens; "
                "raise n_ctx or use --backend hf"
            )
        self._chain = self._make_chain(sampling, seed)
        out: list[int] = []
        reason = "length"
        for token in self.llm.generate(prompt_ids, reset=True):
            out.append(token)
            if token in self.eos_ids:
                reason = "eos"
                break
            if checker.hit(out):
                reason = "stop"
                break
            if len(out) >= budget:
                break
        n_tokens = len(out)
        if out and out[-1] in self.eos_ids:
            out = out[:-1]
        text, hit = truncate_at_stop(self.tokenizer.decode(out, skip_special_tokens=True), stop)
        return Completion(text=text, n_tokens=n_tokens, finish_reason="stop" if hit else reason)

    def generate(
        self,
        prompts: list[str],
        sampling: SamplingConfig,
        stop: list[str],
        on_progress: Callable[[int], None] | None = None,
        on_result: Callable[[int, list[Completion]], None] | None = None,
    ) -> list[list[Completion]]:
        """Prompt by prompt: ``on_result(i, samples)`` as soon as prompt ``i``'s samples exist."""
        checker = StopChecker(self.tokenizer, stop)
        self.last_stats = {"generated_tokens": 0, "seconds": 0.0}
        t0 = time.perf_counter()
        results: list[list[Completion]] = []
        for prompt in prompts:
            ids = encode_prompt(self.tokenizer, prompt)
            samples = [self._one(ids, sampling, sampling.seed + i, checker, stop) for i in range(sampling.n)]
            self.last_stats["generated_tokens"] += sum(c.n_tokens for c in samples)
            results.append(samples)
            if on_result:
                on_result(len(results) - 1, samples)
            if on_progress:
                on_progress(1)
        self.last_stats["seconds"] = time.perf_counter() - t0
        return results
