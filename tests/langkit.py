"""Shared checks for language modules: hand-written solutions pass, wrong ones fail with the right status.

A language's test file (tests/languages/test_<name>.py) calls :func:`check_solutions` with at least ten
correct completions and some wrong ones, each wrong one with the status it must get.
"""

from __future__ import annotations

import shutil

import pytest

from codebabel.benchmarks import load_benchmark
from codebabel.config import ExecutionConfig
from codebabel.execute.runner import Job, run_many
from codebabel.execute.status import Status
from codebabel.languages import get_language


def require_toolchain(lang_name: str):
    lang = get_language(lang_name)
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (bwrap) not installed: apt-get install bubblewrap")
    why = lang.toolchain_missing()
    if why is not None:
        pytest.skip(why)
    return lang


def problems_by_id(lang_name: str) -> dict:
    return {p.task_id: p for p in load_benchmark("humaneval", lang_name)}


def run_completions(lang_name: str, completions: dict, timeout_s: float = 20.0) -> dict:
    """{key: (task_id, completion)} -> {key: Outcome}, run in the sandbox."""
    lang = require_toolchain(lang_name)
    problems = problems_by_id(lang_name)
    jobs = [Job(key, lang, problems[task_id].program(completion)) for key, (task_id, completion) in completions.items()]
    cfg = ExecutionConfig(timeout_s=timeout_s, workers=2)
    return {o.key: o for o in run_many(jobs, cfg)}


def check_solutions(lang_name: str, solutions: dict[str, str], wrong: dict[str, tuple[str, Status]]) -> None:
    """Every completion in ``solutions`` (task_id -> completion) passes; every one in ``wrong``
    (task_id -> (completion, status)) gets exactly that status."""
    assert len(solutions) >= 10, "at least ten hand-written correct solutions"
    todo = {("ok", t): (t, c) for t, c in solutions.items()}
    todo |= {("wrong", t): (t, c) for t, (c, _) in wrong.items()}
    outcomes = run_completions(lang_name, todo)
    failures = []
    for (kind, task_id), out in sorted(outcomes.items()):
        want = Status.OK if kind == "ok" else wrong[task_id][1]
        if out.status != want:
            failures.append(f"{task_id} ({kind}): got {out.status.value}, want {want.value}\n"
                            f"stdout: {out.stdout[-600:]}\nstderr: {out.stderr[-1500:]}")
    assert not failures, "\n\n".join(failures)
