"""``codebabel evaluate``: completions (generated, reference, or from a file) → sandbox → pass@k.

Generation and execution go problem-chunk by problem-chunk and every sample is appended to the run's
store as soon as it exists, so a run killed at any point resumes where it stopped: samples already
generated are executed without being generated again, samples already executed are not run again.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console

from codebabel.benchmarks import Problem, load_benchmark_with_skips
from codebabel.config import EvalConfig
from codebabel.errors import CodebabelError
from codebabel.evaluate.passk import mean_pass_at_k
from codebabel.evaluate.sources import CompletionSource, completion_source, missing_given
from codebabel.execute.runner import Job, ready, run_many
from codebabel.execute.sandbox import Sandbox
from codebabel.execute.status import Status
from codebabel.generate.instruct import sanitise
from codebabel.inputs import ensure_dir
from codebabel.languages import get_language, languages_of
from codebabel.models.loading import ModelSource, resolve
from codebabel.progress import progress_bar
from codebabel.store import RunStore, atomic_write_text, file_digest, provenance, settings_hash

Key = tuple[str, int]
#: execution settings that decide where and how fast programs run, not their results: outside the settings hash
_WHERE_NOT_WHAT = ("workers", "warm", "executor", "ray_address")


def benchmark_digest(problems: list[Problem]) -> str:
    """A hash of every problem's prompt and tests: a changed translation never reuses old results."""
    return settings_hash([[p.task_id, p.prompt, p.tests] for p in problems])


def run_settings(cfg: EvalConfig, language: str, source_identity: str, backend: str | None,
                 prompt_format: str | None, digest: str | None = None, runtime: dict | None = None,
                 prompts: str | None = None) -> dict:
    """Every setting that changes a result, and nothing that does not (``limit`` only selects problems).

    ``language`` is the canonical name, so ``py``, ``python`` and ``.py`` share one run. ``digest``: the
    benchmark's contents (:func:`benchmark_digest`), so results of an older translation are not resumed;
    ``prompts``: what the model is fed, stop sequences included (``CompletionSource.prompt_digest``).
    """
    s: dict[str, Any] = {
        "benchmark": cfg.benchmark.lower(),
        "language": language,
        "source": source_identity,
        "execution": {k: v for k, v in asdict(cfg.execution).items() if k not in _WHERE_NOT_WHAT},
    }
    if digest is not None:
        s["benchmark_digest"] = digest
    if cfg.generates:
        s.update(
            adapter=cfg.adapter and _adapter_identity(cfg.adapter),
            backend=backend,
            prompt_format=prompt_format,
            prompts=prompts,
            sampling=asdict(cfg.sampling),
            runtime=runtime,
        )
        if cfg.adapter and cfg.merge_adapter and backend == "llamacpp":
            s["merge_adapter"] = cfg.merge_adapter  # re-quantized weights: other numbers than the unmerged adapter
    return s


def _adapter_identity(adapter: str) -> str:
    p = Path(adapter)
    if not p.is_dir():
        raise CodebabelError(f"--adapter {adapter}: no such folder (expected a PEFT adapter folder)")
    if not (p / "adapter_config.json").is_file():
        raise CodebabelError(f"--adapter {adapter}: no adapter_config.json there, so it is not a PEFT adapter "
                             "folder; pass the adapter/ folder of a `codebabel train` run")
    return f"{p.resolve()}@{settings_hash({f.name: file_digest(f) for f in sorted(p.glob('adapter_*'))})}"


def evaluate(cfg: EvalConfig, console: Console | None = None, backends: dict | None = None,
             model: ModelSource | None = None) -> dict:
    """Run the evaluation described by ``cfg``; return the summary (also written to ``summary.json``).

    ``backends``: a cache of loaded generation backends shared by several calls (``--language all``);
    ``model``: ``cfg.model`` already resolved by the caller (else it is resolved here, once).
    """
    console = console or Console(stderr=True)
    t0 = time.monotonic()
    ensure_dir(cfg.results_dir, "--results-dir")
    language = get_language(cfg.language)
    problems, skipped = load_benchmark_with_skips(cfg.benchmark, language)
    if (why := language.toolchain_missing()) is not None:
        raise CodebabelError(why)
    selected = problems[: cfg.limit] if cfg.limit else problems
    sandbox = ready(cfg.execution)  # refuse early, before any generation
    source = completion_source(cfg, language, problems, selected, backends, model)
    store = RunStore(
        Path(cfg.results_dir),
        run_settings(cfg, language.name, source.identity, source.backend, source.prompt_format,
                     benchmark_digest(problems), source.runtime, source.prompt_digest(problems)),
        f"{cfg.benchmark}-{language.name}-{source.label}",
        rerun=cfg.rerun,
    )
    if store.results.dropped_partial or store.completions.dropped_partial:
        console.print("[yellow]note:[/] dropped a partial last line left by an interrupted run")
    wanted = source.keys(selected)
    if source.prompt_format == "instruct" and (redo := _resanitise(store, {p.task_id: p for p in selected})):
        console.print(f"[yellow]note:[/] {redo} stored replies read differently by this version's sanitiser: "
                      "their programs run again (nothing is generated again)")
    try:
        with progress_bar(console) as progress:
            new_results, gen_s, exec_s = _complete(store, source, selected, wanted, cfg, sandbox, progress)
    except BaseException:
        store.close()
        store.discard_if_unused()  # e.g. the model failed to load: no results folder left behind
        raise
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
        source=source.label,
        backend=source.backend,
        prompt_format=source.prompt_format,
        new_samples=new_results,
        time={"generation_s": round(gen_s, 2), "execution_s": round(exec_s, 2),
              "total_s": round(time.monotonic() - t0, 2)},
        provenance=provenance(),  # beside the settings, not in their hash: the run stays reusable
    )
    store.write_summary(summary)
    return summary


def _complete(store: RunStore, source: CompletionSource, selected: list[Problem], wanted: list[Key],
              cfg: EvalConfig, sandbox: Sandbox | None, progress) -> tuple[int, float, float]:
    """Execute the stored samples that have no result yet, then, chunk by chunk, store the samples the run
    lacks and execute them; returns ``(new results, generation s, execution s)``."""
    by_id = {p.task_id: p for p in selected}
    todo = [p for p in selected if any(k not in store.completions for k in source.keys([p]))]
    generates = todo and source.backend is not None  # given samples are stored at once, without a bar
    bar_gen = progress.add_task("generate", total=len(todo)) if generates else None
    bar_exec = progress.add_task("execute", total=sum(1 for k in wanted if k not in store.results))
    # pending executions from earlier runs (generated, not executed) go first
    ts = time.monotonic()
    new = _execute(store, by_id, [k for k in wanted if k in store.completions and k not in store.results], cfg,
                   sandbox, progress, bar_exec)
    gen_s, exec_s = 0.0, time.monotonic() - ts
    for start in range(0, len(todo), source.chunk):
        part = todo[start:start + source.chunk]
        ts = time.monotonic()
        # each problem's samples are stored as soon as they exist (an interrupted chunk keeps what it generated);
        # the returned list adds nothing already stored (JsonlLog.append skips known keys)
        for record in source.samples(part, on_progress=lambda k: progress.advance(bar_gen, k),
                                     on_record=store.completions.append):
            store.completions.append(record)
        gen_s += time.monotonic() - ts
        ts = time.monotonic()
        new += _execute(store, by_id, [k for k in source.keys(part) if k not in store.results], cfg, sandbox,
                        progress, bar_exec)
        exec_s += time.monotonic() - ts
    return new, gen_s, exec_s


def evaluate_languages(cfg: EvalConfig, console: Console | None = None, model: ModelSource | None = None) -> dict:
    """``--language all`` (or a list): one evaluation per language, one combined summary; ``cfg.model`` is
    resolved once, for all of them (or ``model``: it already resolved).

    Languages whose toolchain is missing are listed with the reason instead of failing the whole run.
    The combined summary is written to ``<results_dir>/<benchmark>-languages-<source>-<hash>.json``.
    """
    from dataclasses import replace

    console = console or Console(stderr=True)
    ensure_dir(cfg.results_dir, "--results-dir")
    langs = languages_of(cfg.language)
    if cfg.completions is not None and len(langs) > 1:
        raise CodebabelError("--completions holds one language's samples: pass a single --language with it")
    backends: dict = {}
    rows: list[dict] = []
    for lang in langs:
        why = lang.toolchain_missing()
        if why is None and (cfg.reference or cfg.stub):
            why = missing_given(cfg, lang, load_benchmark_with_skips(cfg.benchmark, lang)[0])
        if why is not None:
            rows.append({"language": lang.name, "display_name": lang.display_name, "not_run": why})
            console.print(f"[yellow]skip[/] {lang.display_name}: {why}", highlight=False, soft_wrap=True)
            continue
        console.print(f"[bold]{lang.display_name}[/]")
        if cfg.model is not None and cfg.backend != "openai":  # an endpoint's model is served, not loaded
            model = resolve(model or cfg.model)  # once: resolving a ModelSource returns it
        summary = evaluate(replace(cfg, language=lang.name), console=console, backends=backends, model=model)
        rows.append({"display_name": lang.display_name, **summary})
    ran = [r for r in rows if "not_run" not in r]
    source = ran[0]["source"] if ran else "none"
    key = settings_hash([r.get("run_dir", r["language"]) for r in rows])
    path = Path(cfg.results_dir) / f"{cfg.benchmark}-languages-{source}-{key}.json"
    combined = {"benchmark": cfg.benchmark, "source": source, "languages": rows, "summary_path": str(path),
                "provenance": provenance()}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(combined, indent=2) + "\n")
    return combined


def _resanitise(store: RunStore, by_id: dict[str, Problem]) -> int:
    """Re-read the stored instruct replies with this version's :func:`sanitise` (the generation is what costs;
    the sanitiser may have been fixed since), and drop every result whose program is no longer the stored
    sample's, so it runs again; returns how many results were dropped."""
    changed = False
    for key, rec in store.completions.records.items():
        if key[0] in by_id and "reply" in rec:
            new = sanitise(by_id[key[0]], rec["reply"])
            if (new["completion"], bool(new.get("whole_program"))) != (rec["completion"],
                                                                         bool(rec.get("whole_program"))):
                rec.pop("whole_program", None)
                rec.update(new)
                changed = True
    if changed:
        store.completions.rewrite()
    stale = {key for key, row in store.results.records.items()
             if (rec := store.completions.records.get(key)) is not None
             and (row["completion"], bool(row.get("whole_program"))) != (rec["completion"],
                                                                         bool(rec.get("whole_program")))}
    if stale:
        store.results.rewrite(drop=stale)
    return len(stale)


def _execute(store: RunStore, by_id: dict[str, Problem], keys: list[Key], cfg: EvalConfig, sandbox: Sandbox | None,
             progress, bar) -> int:
    jobs = []
    for task_id, sample in keys:
        rec = store.completions.records[(task_id, sample)]
        p = by_id[task_id]
        program = p.program(rec["completion"], whole=bool(rec.get("whole_program")))
        jobs.append(Job((task_id, sample), p.language, program))
    for out in run_many(jobs, cfg.execution, sandbox=sandbox):
        task_id, sample = out.key
        rec = store.completions.records[out.key]
        store.results.append({
            "task_id": task_id, "sample": sample, "completion": rec["completion"],
            **({"whole_program": True} if rec.get("whole_program") else {}),
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
