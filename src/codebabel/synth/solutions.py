"""Stage 4, ``solutions``: the teacher translates each function into the target language; the translations that
pass the translated tests in the sandbox are kept, near duplicates removed.

``solutions.samples`` completions of the stage-3 prompt at ``solutions.temperature`` (MultiPL-T: 50 at 0.8, top_p
0.95), stopped at the language's stop tokens; each one runs as prompt + completion + the translated tests, exactly
as ``codebabel evaluate`` runs a benchmark sample (execute/runner.py, the sandbox), and passes when the harness ends
in ``ok``. The passing ones of each function go through synth/dedup.py (exact, then ROUGE-L above
``rouge_threshold``), in sample order.

Resumable like ``codebabel evaluate``: each prompt's samples are stored as soon as the teacher has them
(``generations.jsonl``), each sample's outcome as soon as it has run (``results.jsonl``); a rerun runs the stored
samples that have no outcome first, then generates only the missing ones. The dedup is recomputed from those logs
at the end of every run (``kept.jsonl``), so ``rouge_threshold`` is not part of the stage's settings.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass

from codebabel.benchmarks.problem import Problem
from codebabel.config import SamplingConfig
from codebabel.execute.runner import Job, run_many
from codebabel.execute.sandbox import Sandbox
from codebabel.languages import Language
from codebabel.store import atomic_write_text
from codebabel.synth.dedup import dedup, scorer
from codebabel.synth.recipe import SynthRecipe
from codebabel.synth.stages import StageDir
from codebabel.synth.teacher import Teacher
from codebabel.synth.transtests import execution_config

VERSION = 1


def stage_settings(r: SynthRecipe, lang: Language, translate_hash: str, teacher: Teacher) -> dict:
    e = r.execution
    sol = {k: v for k, v in asdict(r.solutions).items() if k != "rouge_threshold"}
    return {"stage": "solutions", "version": VERSION, "language": lang.name, "translate_stage": translate_hash,
            "teacher": teacher.identity, "solutions": sol, "stop_tokens": list(lang.stop_tokens),
            "execution": {"timeout_s": e.timeout_s, "memory_mb": e.memory_mb, "unsafe_no_sandbox": e.unsafe_no_sandbox}}


@dataclass
class SolutionsResult:
    language: Language
    stage: StageDir
    kept: list[dict]  # {"function", "sample", "completion", ...} in function then sample order
    summary: dict


def run_solutions(r: SynthRecipe, lang: Language, translate_hash: str, functions: list[dict], teacher: Teacher,
                  sandbox: Sandbox, progress, log: Callable[[str], None] = lambda _: None) -> SolutionsResult:
    stage = StageDir(r.run_dir, f"4-solutions-{lang.name}", stage_settings(r, lang, translate_hash, teacher))
    gens, results = stage.log("generations"), stage.log("results")
    stage.note_partial(log)
    s = r.solutions
    n = s.samples
    sampling = SamplingConfig(n=n, temperature=s.temperature, top_p=s.top_p, max_new_tokens=s.max_new_tokens,
                              seed=s.seed)
    problems = {f["id"]: Problem(task_id=f["id"], prompt=f["prompt"], tests=f["tests"], entry_point=f["entry_point"],
                                 language=lang) for f in functions}
    keys = [(f["id"], i) for f in functions for i in range(n)]
    missing = [f for f in functions if any((f["id"], i) not in gens.records for i in range(n))]
    bar_gen = progress.add_task(f"solutions: generate {lang.name}", total=len(missing)) if missing else None
    bar_run = progress.add_task(f"solutions: run {lang.name}", total=sum(k not in results.records for k in keys))
    t0 = time.monotonic()
    gen_s = 0.0
    try:
        _execute(r, problems, [k for k in keys if k in gens.records and k not in results.records], gens, results,
                 sandbox, progress, bar_run)
        chunk = max(1, r.teacher.chunk)
        for start in range(0, len(missing), chunk):
            part = missing[start:start + chunk]
            prompts, stops = [], list(lang.stop_tokens)
            for f in part:
                text, extra = teacher.format(f["prompt"], lang.display_name, lang.fence)
                prompts.append(text)
                stops = [*lang.stop_tokens, *extra]

            def on_result(i: int, samples, part=part) -> None:
                fid = part[i]["id"]
                for k, c in enumerate(samples):
                    gens.append({"task_id": fid, "sample": k, "completion": c.text, "n_tokens": c.n_tokens,
                                 "finish_reason": c.finish_reason})

            tg = time.monotonic()
            teacher.generate(prompts, sampling, stops, on_result, lambda k: progress.advance(bar_gen, k))
            gen_s += time.monotonic() - tg
            _execute(r, problems, [(f["id"], i) for f in part for i in range(n) if (f["id"], i) not in results.records],
                     gens, results, sandbox, progress, bar_run)
    finally:
        stage.close()
    kept, summary = _keep(r, lang, stage, functions, gens, results)
    old = stage.read_summary()
    tokens = sum(gens.records[k]["n_tokens"] for k in keys if k in gens.records)
    secs = old.get("generation", {}).get("seconds", 0.0) + gen_s
    summary.update(generation={"tokens": tokens, "seconds": round(secs, 2),
                               "tokens_per_s": round(tokens / secs, 2) if secs else None},
                   seconds=round(old.get("seconds", 0.0) + time.monotonic() - t0, 2))
    stage.write_summary(summary)
    log(f"solutions ({lang.name}): {summary['kept']} translations of {summary['functions_with_kept']} functions kept "
        f"({summary['passed']} of {summary['samples']} samples passed)")
    return SolutionsResult(lang, stage, kept, summary)


def _execute(r: SynthRecipe, problems: dict[str, Problem], keys: list[tuple[str, int]], gens, results,
             sandbox: Sandbox, progress, bar) -> None:
    jobs = [Job(key, problems[key[0]].language, problems[key[0]].program(gens.records[key]["completion"]))
            for key in keys]
    for out in run_many(jobs, execution_config(r), sandbox=sandbox):
        fid, sample = out.key
        results.append({"task_id": fid, "sample": sample, "status": out.status.value, "passed": out.passed,
                        "duration_s": out.duration_s, "stderr": out.stderr[-300:]})
        progress.advance(bar)


def _keep(r: SynthRecipe, lang: Language, stage: StageDir, functions: list[dict], gens, results
          ) -> tuple[list[dict], dict]:
    name, score = scorer()
    kept: list[dict] = []
    statuses: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    with_kept = 0
    for f in functions:
        passing = []
        for i in range(r.solutions.samples):
            res = results.records.get((f["id"], i))
            if res is None:
                continue
            counts["samples"] += 1
            statuses[res["status"]] += 1
            if res["passed"]:
                passing.append(i)
        counts["passed"] += len(passing)
        verdicts = dedup([gens.records[(f["id"], i)]["completion"] for i in passing], r.solutions.rouge_threshold,
                         score)
        n_kept = 0
        for i, (_, why) in zip(passing, verdicts, strict=True):
            if why is not None:
                counts[f"{why}_duplicates"] += 1
                continue
            n_kept += 1
            g = gens.records[(f["id"], i)]
            kept.append({"function": f["id"], "sample": i, "completion": g["completion"], "n_tokens": g["n_tokens"]})
        with_kept += n_kept > 0
    atomic_write_text(stage.dir / "kept.jsonl", "".join(json.dumps(k) + "\n" for k in kept))
    summary = {"stage": "solutions", "language": lang.name, "dir": str(stage.dir), "functions": len(functions),
               "samples": counts["samples"], "passed": counts["passed"], "status_counts": dict(statuses.most_common()),
               "exact_duplicates": counts["exact_duplicates"], "near_duplicates": counts["near_duplicates"],
               "kept": len(kept), "functions_with_kept": with_kept, "dedup_scorer": name,
               "rouge_threshold": r.solutions.rouge_threshold}
    return kept, summary
