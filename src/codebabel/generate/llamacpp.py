"""llama.cpp backend (llama-cpp-python): the fast CPU path for a model that has a GGUF file, with or without a
LoRA adapter.

Choices, and why:
- **Adapters run unmerged, as llama.cpp LoRA adapters.** A PEFT adapter folder is converted once to llama.cpp's
  GGUF adapter format (``models/gguf_export.py``: f32, q/k rows permuted like the base's, PEFT's scale kept)
  and cached by its files' digests under ``$CODEBABEL_HOME/models/adapters/``; llama.cpp adds ``B·A·x`` to each
  adapted layer at scale 1 on top of the base GGUF, as PEFT does on top of the HF weights.
- **Or merged** (``merge_adapter="q8_0"|"q4_k"|"f16"|"f32"``, ``--merge-adapter``): the adapter merged into the
  base weights (PEFT's ``merge_and_unload``) and written as a GGUF model of that type once, cached under
  ``$CODEBABEL_HOME/models/merged/`` by the same digests: the file a user ships, evaluated as it is. It decodes at
  the base model's speed (the unmerged adapter's extra matmuls cost Qwen2.5-Coder-0.5B 4-13 % on one 2-core
  machine and half its batched throughput on another: docs/performance.md), but quantized types re-quantize
  the weights, so greedy output can differ from the unmerged adapter's on some prompts, and one loaded model
  holds one adapter (routed experts stay unmerged).
- **Tokens, not text, go in and come out.** The prompt is tokenized with the model's HF tokenizer, which
  transformers builds from the same GGUF's vocabulary, so the ids are llama.cpp's ids; passing ids makes
  the prompt identical across backends by construction (BOS rule, chat special tokens like
  ``<|im_start|>``, which llama.cpp's own text tokenizer parses only with ``special=True``). Completions
  are decoded with the same tokenizer, and stop sequences are checked on the completion only, exactly as
  in the HF backend.
- **Several sequences at once** (``generate/slots.py``): up to ``parallel`` samples decode together in one
  context with a unified KV cache (continuous batching, as llama.cpp's server does), 3-4x the tokens/s of
  one at a time on 2 cores; the ``n`` samples of a prompt read it once. Sample ``i`` of a prompt uses seed
  ``seed + i``: reproducible and independent of how prompts are batched. ``generate`` decodes one call's
  prompts (one sampling setting, one stop list); ``generate_stream`` (codebabel serve) keeps one loop running
  while requests arrive: each request brings its own sampling settings, seed, stop sequences and result
  callback and joins the running loop as soon as a slot is free. Only the LoRA adapter is the whole
  context's, so a loop serves one adapter (or the base).
- **Same sampling semantics as transformers.** llama-cpp-python's default chain applies top-k, typical,
  top-p and min-p (default 0.05!) *before* temperature; transformers applies temperature first, then
  top-k and top-p. We build the chain temperature → top-k → top-p → sample ourselves, so T=0.8/top_p=0.95
  means the same distribution on both backends. Greedy (T=0) is llama.cpp's greedy sampler (arg-max).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from codebabel.config import SamplingConfig, available_cpus
from codebabel.errors import CodebabelError
from codebabel.generate.base import Completion
from codebabel.generate.prompts import encode_prompt
from codebabel.generate.slots import Job, run_jobs
from codebabel.generate.stopping import StopChecker, cut_at_stop, eos_token_ids
from codebabel.models.gguf_export import adapter_gguf
from codebabel.models.loading import load_tokenizer

#: llama.cpp settings a caller may pass (tests use f32 KV: type_k=type_v=0); anything else is refused
_MODEL_KWARGS = {"n_gpu_layers", "use_mmap"}
_CONTEXT_KWARGS = {"type_k", "type_v", "n_batch"}


class LlamaCppBackend:
    name = "llamacpp"

    def __init__(
        self,
        source,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        tokenizer=None,
        adapter: str | os.PathLike | None = None,
        parallel: int = 8,
        kv_tokens: int | None = None,
        merge_adapter: str | None = None,
        **llama_kwargs,
    ):
        """``n_ctx``: the longest prompt + completion of one sample. ``parallel``: samples decoded together
        (1 = one at a time). ``kv_tokens``: KV cache cells shared by them (default ``n_ctx * parallel``, at
        most 16384 and the model's trained context, at least ``n_ctx``). ``adapter``: a PEFT LoRA folder, converted
        to a GGUF adapter once (cached) and applied unmerged, or, with ``merge_adapter`` (a GGUF type: q8_0, q4_k,
        f16, f32), merged into a model of that type (cached) which is loaded instead of the base.
        ``llama_kwargs``: ``n_gpu_layers``, ``use_mmap``, ``type_k``/``type_v`` (KV-cache type, f16 by default),
        ``n_batch``."""
        try:
            import llama_cpp
            from llama_cpp._internals import LlamaBatch, LlamaContext, LlamaModel
            from llama_cpp._logger import set_verbose
        except ImportError as e:
            raise CodebabelError(
                "--backend llamacpp: llama-cpp-python is not installed (pip install 'codebabel[llamacpp]')"
            ) from e

        if getattr(source, "gguf_path", None) is None:
            raise CodebabelError(
                f"model '{getattr(source, 'spec', source)}': no GGUF file, so llama.cpp cannot run it"
            )
        unknown = set(llama_kwargs) - _MODEL_KWARGS - _CONTEXT_KWARGS
        if unknown:
            raise CodebabelError(f"llama.cpp backend: unknown setting(s) {', '.join(sorted(unknown))}")
        if parallel < 1:
            raise CodebabelError(f"--batch-size {parallel}: must be at least 1")
        self.source = source
        self.tokenizer = tokenizer if tokenizer is not None else load_tokenizer(source)
        threads = n_threads or available_cpus()
        self.parallel = parallel
        self.n_ctx = n_ctx
        self.n_batch = max(int(llama_kwargs.get("n_batch", 512)), parallel)

        mparams = llama_cpp.llama_model_default_params()
        if "n_gpu_layers" in llama_kwargs:
            n = llama_kwargs["n_gpu_layers"]
            mparams.n_gpu_layers = 0x7FFFFFFF if n == -1 else n
        mparams.use_mmap = bool(llama_kwargs.get("use_mmap", True))
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_batch = cparams.n_ubatch = self.n_batch
        cparams.n_seq_max = parallel
        cparams.kv_unified = True
        # flash attention changes the summation order: off, one sequence decodes as llama_cpp.Llama does (12/12
        # greedy completions identical; on, 9/12)
        cparams.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        cparams.n_threads = cparams.n_threads_batch = threads
        for key in ("type_k", "type_v"):
            if key in llama_kwargs:
                setattr(cparams, key, llama_kwargs[key])
        set_verbose(False)  # llama.cpp logs every load step to stderr; only errors reach it now, as with
        # llama_cpp.Llama(verbose=False)
        self.merged = None  # (adapter, merged GGUF, its type) when the adapter is merged into the loaded model
        model_path = source.gguf_path
        if adapter is not None and merge_adapter is not None:
            from codebabel.models.gguf_export import merged_gguf

            model_path = merged_gguf(adapter, source, merge_adapter)
            self.merged = (adapter, model_path, merge_adapter)
        try:
            self.model = LlamaModel(path_model=str(model_path), params=mparams, verbose=False)
            # one pool of cells for all sequences: at most the model's trained context (llama.cpp warns
            # past it, though every sequence's positions stay below n_ctx)
            self.kv_tokens = kv_tokens or max(n_ctx, min(n_ctx * parallel, 16384, self.model.n_ctx_train()))
            cparams.n_ctx = self.kv_tokens
            self.ctx = LlamaContext(model=self.model, params=cparams, verbose=False)
        except (RuntimeError, ValueError) as e:
            raise CodebabelError(f"model '{source.spec}': llama.cpp cannot load it "
                                 f"({str(e).strip().splitlines()[0]})") from e
        self.batch = LlamaBatch(n_tokens=self.n_batch, embd=0, n_seq_max=1, verbose=False)
        self._adapters: dict[str, object] = {}  # GGUF adapter path -> llama_adapter_lora_p, loaded once
        self.adapter = None
        self.adapter_gguf = None
        if self.merged is None:
            self.use_adapter(adapter)
        else:
            self.adapter = adapter
        self.eos_ids = eos_token_ids(self.tokenizer) | {self.model.token_eos()}
        self._threads = threads
        self.tokenizer_matches = self._check_tokenizer()

    @property
    def description(self) -> str:
        with_adapter = f" + adapter {self.adapter} (GGUF LoRA)" if self.adapter is not None else ""
        if self.merged is not None:
            with_adapter = f" + adapter {self.adapter} (merged into a {self.merged[2]} GGUF)"
        return self._description or (
            f"llamacpp (llama.cpp, {self.source.spec}{with_adapter}, GGUF, cpu, {self._threads} threads, "
            f"{self.parallel} sequences at once, n_ctx {self.n_ctx})"
        )

    @description.setter
    def description(self, text: str) -> None:
        self._description = text

    _description = ""

    def use_adapter(self, adapter: str | os.PathLike | None) -> None:
        """Decode with this PEFT LoRA adapter from now on (None: the base model). Each adapter is converted
        (cached) and loaded once; switching between loaded adapters costs nothing, so one base model in memory
        serves several experts."""
        import ctypes

        import llama_cpp

        if self.merged is not None:
            if adapter is not None and str(adapter) == str(self.merged[0]):
                return
            raise CodebabelError(f"adapter '{self.merged[0]}' is merged into this llama.cpp model; it cannot "
                                 f"switch to {adapter or 'the base model'} (load it without --merge-adapter)")
        gguf = adapter_gguf(adapter, self.source) if adapter is not None else None
        if gguf is not None and str(gguf) not in self._adapters:
            with _silenced():  # one "fallback to CPU" line per adapted tensor otherwise
                ptr = llama_cpp.llama_adapter_lora_init(self.model.model, str(gguf).encode())
            if not ptr:
                raise CodebabelError(f"adapter '{adapter}': llama.cpp cannot load its GGUF form ({gguf})")
            self._adapters[str(gguf)] = ptr
        if gguf is None:
            rc = llama_cpp.llama_set_adapters_lora(self.ctx.ctx, None, 0, None)
        else:
            arr = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(self._adapters[str(gguf)])
            rc = llama_cpp.llama_set_adapters_lora(self.ctx.ctx, arr, 1, (ctypes.c_float * 1)(1.0))
        if rc != 0:
            raise CodebabelError(f"adapter '{adapter}': llama.cpp refused it for model '{self.source.spec}'")
        self.adapter, self.adapter_gguf = adapter, gguf

    def _check_tokenizer(self) -> bool:
        """Warn if llama.cpp would tokenize differently from the HF tokenizer (the model saw llama.cpp's)."""
        probe = (
            'def f(x: int) -> list:\n    """Doc."""\n    return [0.5, 12, x]  # 1990s\n\tif x:\n\n  pass\n'
        )
        ours = self.tokenizer(probe, add_special_tokens=False)["input_ids"]
        theirs = self.model.tokenize(probe.encode(), add_bos=False, special=True)
        if list(ours) != list(theirs):
            from rich.console import Console

            Console(stderr=True, soft_wrap=True, highlight=False).print(
                f"warning: model '{self.source.spec}': the HF tokenizer converted from the GGUF splits text "
                "differently from llama.cpp; both backends use the HF tokenizer's ids"
            )
            return False
        return True

    @staticmethod
    def _make_chain(sampling: SamplingConfig, seed: int):
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

    def generate(
        self,
        prompts: list[str],
        sampling: SamplingConfig,
        stop: list[str],
        on_progress: Callable[[int], None] | None = None,
        on_result: Callable[[int, list[Completion]], None] | None = None,
    ) -> list[list[Completion]]:
        """Every sample of every prompt through the slots; ``on_result(i, samples)`` as soon as prompt ``i``'s
        samples all exist (prompts may finish out of order); sample ``k`` of every prompt uses seed
        ``sampling.seed + k``. A prompt past the context is an error before anything decodes."""
        checker = StopChecker(self.tokenizer, stop)
        self.last_stats = {"generated_tokens": 0, "seconds": 0.0}
        t0 = time.perf_counter()
        results: list[list[Completion] | None] = [None] * len(prompts)

        def deliver_for(i: int) -> Callable[[list[Completion]], None]:
            def deliver(samples: list[Completion]) -> None:
                results[i] = samples
                if on_result:
                    on_result(i, samples)
                if on_progress:
                    on_progress(1)
            return deliver

        encoded: dict[str, list[int]] = {}  # a prompt given twice is read once, like the samples of one prompt
        jobs: list[Job] = []
        for i, prompt in enumerate(prompts):
            ids = encoded.setdefault(prompt, encode_prompt(self.tokenizer, prompt))
            jobs += self._jobs(i, ids, sampling, sampling.seed, stop, checker, deliver_for(i))
        run_jobs(self.ctx, self.batch, jobs, self.parallel, self.kv_tokens, self.n_batch)
        self.last_stats["seconds"] = time.perf_counter() - t0
        return results  # type: ignore[return-value]

    def generate_stream(self, requests: list[Request], refill: Callable[[], list[Request]]) -> None:
        """Continuous batching (codebabel serve): ``requests`` and whatever ``refill()`` (non-blocking) returns
        while they decode share one decoding loop, each with its own sampling settings, seed, stop sequences and
        ``on_result``; a request joins as soon as a slot is free.
        Returns when no request is left and ``refill()`` has none. A request that cannot run (its prompt past the
        context) gets ``on_error``, the others go on; a failed decode raises (the caller answers the requests it
        handed in and not yet answered)."""
        self.last_stats = {"generated_tokens": 0, "seconds": 0.0}
        t0 = time.perf_counter()
        counter = itertools.count()

        def jobs_of(reqs: list[Request]) -> list[Job]:
            jobs: list[Job] = []
            for r in reqs:
                try:
                    ids = encode_prompt(self.tokenizer, r.prompt)
                    jobs += self._jobs(next(counter), ids, r.sampling, r.sampling.seed, r.stop,
                                       StopChecker(self.tokenizer, r.stop), r.on_result)
                except CodebabelError as e:
                    r.on_error(e)
            return jobs

        def more() -> list[Job]:
            while reqs := refill():  # requests that all failed are not the end of the loop: ask again
                if jobs := jobs_of(reqs):
                    return jobs
            return []

        run_jobs(self.ctx, self.batch, jobs_of(requests), self.parallel, self.kv_tokens, self.n_batch, refill=more)
        self.last_stats["seconds"] = time.perf_counter() - t0

    def _jobs(self, i: int, ids: list[int], sampling: SamplingConfig, seed: int, stop: list[str],
              checker: StopChecker, deliver: Callable[[list[Completion]], None]) -> list[Job]:
        """The ``sampling.n`` jobs of one prompt (token ids ``ids``, shared by its samples; sample ``k`` seeded
        ``seed + k``); ``deliver(samples)`` once they all exist."""
        budget = min(sampling.max_new_tokens, self.n_ctx - len(ids))
        if budget <= 0:
            raise CodebabelError(
                f"prompt of {len(ids)} tokens does not fit the llama.cpp context of {self.n_ctx} tokens; "
                "raise n_ctx or use --backend hf"
            )
        samples: list[Completion | None] = [None] * sampling.n
        left = [sampling.n]

        def finished(out: list[int]) -> str | None:
            if out[-1] in self.eos_ids:
                return "eos"
            return "stop" if checker.hit(out) else None

        def done_for(k: int, sampler):
            def done(out: list[int], reason: str) -> None:
                sampler.close()
                n_tokens = len(out)
                kept = out[:-1] if out and out[-1] in self.eos_ids else out
                text, hit = cut_at_stop(self.tokenizer.decode(kept, skip_special_tokens=True), stop)
                samples[k] = Completion(text=text, n_tokens=n_tokens, finish_reason="stop" if hit else reason,
                                        stop=hit)
                self.last_stats["generated_tokens"] += n_tokens
                left[0] -= 1
                if left[0] == 0:
                    deliver(samples)  # type: ignore[arg-type]
            return done

        jobs = []
        for k in range(sampling.n):
            sampler = self._make_chain(sampling, seed + k)
            jobs.append(Job((i, k), ids, budget, sampler, done_for(k, sampler), finished))
        return jobs


@dataclass(eq=False)
class Request:
    """One prompt of :meth:`LlamaCppBackend.generate_stream`: its own sampling settings (``sampling.n`` samples,
    sample ``k`` seeded ``sampling.seed + k``) and stop sequences; ``on_result(samples)`` once all its samples
    exist, ``on_error(error)`` where it cannot run."""

    prompt: str
    sampling: SamplingConfig
    stop: list[str]
    on_result: Callable[[list[Completion]], None] = field(repr=False)
    on_error: Callable[[CodebabelError], None] = field(repr=False)


def _silenced():
    """llama-cpp-python's stdout/stderr redirection where the streams are real files (not under an in-process
    runner that replaced them, e.g. typer's CliRunner): there it does nothing."""
    import sys

    from llama_cpp._utils import suppress_stdout_stderr

    try:
        sys.stdout.fileno(), sys.stderr.fileno()
        real = True
    except (AttributeError, OSError, ValueError):
        real = False
    return suppress_stdout_stderr(disable=not real)
