"""Stage 2, ``tests``: the teacher writes unit tests for each function; the ones that pass, with enough coverage,
become the function's tests.

MultiPL-T's settings: the prompt is the function followed by ``# Unit tests for <name>``, a request for
``assert <name>(...) == ...`` lines with positional arguments only, and the start of the first assert; 5 samples
at T=0.2 (top_p 0.95). From every sample the asserts of exactly that form whose arguments and expected value are
literals are taken (with ``ast``; other statements, and a broken tail, are ignored), once each; each runs alone in
the sandbox against the function (synth/harness.py); the passing ones are kept, and the function is kept when they
cover at least ``min_coverage`` % of its body's lines (coverage.py, in the sandbox). The values the function was
called with and returned are recorded by running the asserts, and become the tests in every language (stage 3).

Resumable: every sample is stored as soon as the teacher has it (``generations.jsonl``), every function's verdict
as soon as its program has run (``results.jsonl``); a rerun generates only missing samples and runs only
functions without a verdict.
"""

from __future__ import annotations

import ast
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass

from codebabel.config import SamplingConfig, available_cpus
from codebabel.execute.sandbox import Limits, Sandbox
from codebabel.synth.harness import MAX_REPR, HarnessJob, body_coverage, coverage_package, run_harnesses
from codebabel.synth.recipe import SynthRecipe
from codebabel.synth.stages import StageDir
from codebabel.synth.teacher import Teacher

VERSION = 1
#: where a test block ends: the next top-level definition or script code
TEST_STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n```")


def unit_test_prompt(source: str, name: str) -> str:
    """The function, then the request for asserts, ending inside the first one (the completion continues it)."""
    return (f"{source.rstrip()}\n\n\n# Unit tests for {name}\n"
            f"# Every test is one line, `assert {name}(...) == ...`, with positional arguments only (no keyword "
            f"arguments).\nassert {name}(")



def _literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def is_unit_test(node: ast.AST, name: str) -> bool:
    """``assert name(<literals>) == <literal>``, positional arguments only."""
    if not (isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare)):
        return False
    t = node.test
    call = t.left
    return (len(t.ops) == 1 and isinstance(t.ops[0], ast.Eq) and isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name) and call.func.id == name and not call.keywords
            and not any(isinstance(a, ast.Starred) for a in call.args)
            and all(_literal(a) for a in call.args) and _literal(t.comparators[0]))


def _parse(text: str) -> list[ast.stmt] | None:
    try:
        return ast.parse(text).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def extract_asserts(name: str, completion: str) -> list[str]:
    """The unit tests in one sample (the prompt's ``assert name(`` + the completion), normalised by ``ast`` and each
    once, in order: statements of the longest prefix that parses, then any single line that parses on its own."""
    lines = (f"assert {name}(" + completion).splitlines()
    found: list[ast.stmt] = []
    for k in range(len(lines), 0, -1):
        body = _parse("\n".join(lines[:k]))
        if body is not None:
            found.extend(body)
            break
    for line in lines:
        if line.startswith("assert "):
            found.extend(_parse(line) or [])
    out: list[str] = []
    for node in found:
        if is_unit_test(node, name):
            text = ast.unparse(ast.Assert(test=node.test, msg=None))
            if text not in out:
                out.append(text)
    return out


def record_cases(calls_repr: str | None) -> list[tuple]:
    """The (arguments, returned value) pairs of one passing assert, from the harness's ``repr`` (read with
    ``literal_eval``, never executed); [] where it is missing or not made of literals."""
    if not calls_repr:
        return []
    try:
        calls = ast.literal_eval(calls_repr)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return []
    if not isinstance(calls, list) or len(calls) != 1:
        return []
    args, value = calls[0]
    return [(tuple(args), value)] if isinstance(args, tuple) else []


def stage_settings(r: SynthRecipe, teacher: Teacher) -> dict:
    e = r.execution
    return {"stage": "tests", "version": VERSION, "teacher": teacher.identity, "tests": asdict(r.tests),
            "prompt": unit_test_prompt("def f(x):\n    pass\n", "f"), "stops": list(TEST_STOPS),
            "execution": {"memory_mb": e.memory_mb, "unsafe_no_sandbox": e.unsafe_no_sandbox}}


@dataclass
class TestsResult:
    __test__ = False

    stage: StageDir
    kept: list[dict]  # {"id", "name", "source", "origin", "tests", "cases", "coverage"}, in the input order
    summary: dict


def run_tests(r: SynthRecipe, teacher: Teacher, functions: list[dict], sandbox: Sandbox, progress,
              log: Callable[[str], None] = lambda _: None) -> TestsResult:
    stage = StageDir(r.run_dir, "2-tests", stage_settings(r, teacher))
    gens, results = stage.log("generations"), stage.log("results")
    stage.note_partial(log)
    s = r.tests
    sampling = SamplingConfig(n=s.samples, temperature=s.temperature, top_p=s.top_p,
                              max_new_tokens=s.max_new_tokens, seed=s.seed)
    by_id = {f["id"]: f for f in functions}
    missing = [f for f in functions if any((f["id"], i) not in gens.records for i in range(s.samples))]
    to_run = [f["id"] for f in functions if (f["id"], 0) not in results.records]
    bar_gen = progress.add_task("tests: generate", total=len(missing)) if missing else None
    bar_run = progress.add_task("tests: run", total=len(to_run))
    t0 = time.monotonic()
    gen_s = 0.0
    try:
        ready = [fid for fid in to_run if all((fid, i) in gens.records for i in range(s.samples))]
        _execute(r, by_id, ready, gens, results, sandbox, progress, bar_run)
        chunk = max(1, r.teacher.chunk)
        for start in range(0, len(missing), chunk):
            part = missing[start:start + chunk]
            prompts, stops = [], None
            for f in part:
                text, extra = teacher.format(unit_test_prompt(f["source"], f["name"]), "Python", "python")
                prompts.append(text)
                stops = [*TEST_STOPS, *extra]

            def on_result(i: int, samples, part=part) -> None:
                fid = part[i]["id"]
                for k, c in enumerate(samples):
                    gens.append({"task_id": fid, "sample": k, "completion": c.text, "n_tokens": c.n_tokens,
                                 "finish_reason": c.finish_reason})

            tg = time.monotonic()
            teacher.generate(prompts, sampling, stops or list(TEST_STOPS), on_result,
                             lambda k: progress.advance(bar_gen, k))
            gen_s += time.monotonic() - tg
            _execute(r, by_id, [f["id"] for f in part if (f["id"], 0) not in results.records], gens, results,
                     sandbox, progress, bar_run)
    finally:
        stage.close()
    kept = []
    reasons: Counter[str] = Counter()
    n_asserts = n_passing = 0
    for f in functions:
        rec = results.records.get((f["id"], 0))
        if rec is None:
            continue
        n_asserts += len(rec["asserts"])
        n_passing += len(rec["passing"])
        if rec["kept"]:
            kept.append({"id": f["id"], "name": f["name"], "source": f["source"], "origin": f.get("origin"),
                         "tests": rec["passing"], "cases": rec["cases"], "coverage": rec["coverage"]})
        else:
            reasons[rec["reason"]] += 1
    old = stage.read_summary()
    summary = {"stage": "tests", "dir": str(stage.dir), "functions": len(functions),
               "samples": sum(1 for f in functions for i in range(s.samples) if (f["id"], i) in gens.records),
               "asserts": n_asserts, "asserts_passing": n_passing, "dropped": dict(reasons.most_common()),
               "kept": len(kept), "teacher": teacher.identity,
               "generation": _generation_stats(functions, gens, s.samples, gen_s, old.get("generation")),
               "seconds": round(old.get("seconds", 0.0) + time.monotonic() - t0, 2)}
    stage.write_summary(summary)
    log(f"tests: {len(kept)} of {len(functions)} functions kept ({n_passing} of {n_asserts} asserts pass)")
    return TestsResult(stage, kept, summary)


def _generation_stats(functions, gens, n: int, seconds: float, old: dict | None) -> dict:
    """Tokens generated and seconds spent generating, over the runs of this stage (this run's add to the old)."""
    tokens = sum(gens.records[(f["id"], i)]["n_tokens"] for f in functions for i in range(n)
                 if (f["id"], i) in gens.records)
    secs = (old or {}).get("seconds", 0.0) + seconds
    return {"tokens": tokens, "seconds": round(secs, 2), "tokens_per_s": round(tokens / secs, 2) if secs else None,
            "this_run_seconds": round(seconds, 2)}


def _execute(r: SynthRecipe, by_id: dict, fids: list[str], gens, results, sandbox: Sandbox, progress, bar) -> None:
    s = r.tests
    jobs = []
    for fid in fids:
        f = by_id[fid]
        asserts: list[str] = []
        for i in range(s.samples):
            for a in extract_asserts(f["name"], gens.records[(fid, i)]["completion"]):
                if a not in asserts:
                    asserts.append(a)
        asserts = asserts[:s.max_asserts]
        if not asserts:
            results.append({"task_id": fid, "sample": 0, "name": f["name"], "asserts": [], "passing": [],
                            "failed": {}, "cases": [], "coverage": None, "kept": False, "reason": "no_asserts",
                            "error": None})
            progress.advance(bar)
            continue
        jobs.append(HarnessJob(fid, f["name"], f["source"], tuple(asserts), s.assert_timeout_s))
    if not jobs:
        return
    coverage_package()  # one line before any program runs where coverage.py is missing
    e = r.execution
    limits = Limits(timeout_s=s.timeout_s, memory_mb=e.memory_mb,
                    max_output_kb=64 + s.max_asserts * (MAX_REPR // 1024 + 1))
    tests_of = {j.key: j.tests for j in jobs}
    for out in run_harnesses(jobs, limits, e.workers or available_cpus(), sandbox):
        f = by_id[out.key]
        job_tests = tests_of[out.key]
        passing, cases, failed = [], [], Counter()
        for test, row in zip(job_tests, out.tests, strict=True):
            if row.get("ok"):
                passing.append(test)
                for case in record_cases(row.get("calls")):
                    text = repr(case)
                    if text not in cases:
                        cases.append(text)
            else:
                failed[str(row.get("why"))] += 1
        cov = (body_coverage(f["source"], f["name"], out.statements, out.missing)
               if out.statements is not None and out.missing is not None else None)
        if not passing:
            reason = f"harness_{out.error.split(':')[0]}" if out.error else "no_passing_asserts"
        elif cov is None:
            reason = "coverage_not_measured"
        elif cov < s.min_coverage:
            reason = "low_coverage"
        elif not cases:
            reason = "no_recordable_values"
        else:
            reason = None
        results.append({"task_id": out.key, "sample": 0, "name": f["name"], "asserts": list(job_tests),
                        "passing": passing, "failed": dict(failed), "cases": cases,
                        "coverage": None if cov is None else round(cov, 2), "kept": reason is None,
                        "reason": reason, "error": out.error, "duration_s": round(out.duration_s, 3)})
        progress.advance(bar)
