"""codebabel synth: kill -9 in the middle of every stage, rerun, and nothing is lost, generated twice or run twice.

Each test runs one stage in a subprocess (the stages before it already done), kills it with SIGKILL as soon as the
stage's log has a line, checks the run was cut short, reruns the stage here, and checks that every item is in the
logs exactly once, that the scripted teacher (tests/test_synth.py) generated every sample exactly once over both
runs (its counter file), and that the result is the one an uninterrupted run gives.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.test_synth import ScriptedTeacher, many_functions, read_jsonl, recipe_dict

ROOT = Path(__file__).resolve().parents[1]
N = 60  # functions of the generated family: each passes its tests and has a right Lua translation

pytestmark = [pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) not installed"),
              pytest.mark.skipif(shutil.which("lua") is None, reason="lua not installed")]

CHILD = """
import json, sys
from codebabel.synth import run_synth
from codebabel.synth.recipe import synth_recipe_from_dict
from tests.test_synth import ScriptedTeacher
recipe = synth_recipe_from_dict(json.loads(sys.argv[1]), "t")
run_synth(recipe, until=sys.argv[2], teacher=ScriptedTeacher(sys.argv[3], float(sys.argv[4])))
"""


def kill_when(path_glob: str, root: Path, recipe: dict, until: str, counter: Path, delay_s: float) -> Path:
    """Start the run in a subprocess; SIGKILL it as soon as a file matching ``root/path_glob`` has a full line.
    Returns that file."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(recipe), until, str(counter), str(delay_s)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            hits = [p for p in root.glob(path_glob) if p.is_file() and b"\n" in p.read_bytes()]
            if hits:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                return hits[0]
            if proc.poll() is not None:
                pytest.fail(f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.01)
        pytest.fail(f"no line in {path_glob} after 240 s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    raise AssertionError("unreachable")


def keys(path: Path) -> Counter:
    return Counter((r["task_id"], r["sample"]) for r in read_jsonl(path))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A corpus of N known functions, and a run folder with the functions and tests stages done."""
    from codebabel.synth import run_synth
    from codebabel.synth.recipe import synth_recipe_from_dict

    base = tmp_path_factory.mktemp("synth-resume")
    corpus = many_functions(base / "corpus", N)
    d = recipe_dict(base, corpus)
    run_synth(synth_recipe_from_dict(d, "t"), until="tests", teacher=ScriptedTeacher())
    return base, corpus, d


def fresh(prepared, tmp_path, copy_runs: bool, **over) -> tuple[dict, Path]:
    base, corpus, _ = prepared
    d = recipe_dict(tmp_path, corpus, **over)
    if copy_runs:
        shutil.copytree(base / "runs", tmp_path / "runs")
    return d, tmp_path / "runs" / "t"


@pytest.mark.parametrize("trigger", ["candidates", "functions"])
def test_kill_in_functions_stage(tmp_path, trigger):
    from codebabel.synth import run_synth
    from codebabel.synth.recipe import synth_recipe_from_dict

    corpus = many_functions(tmp_path / "corpus", 600, per_file=1)  # 1200 candidates, type checked 200 at a time
    d = recipe_dict(tmp_path, corpus)
    run = tmp_path / "runs" / "t"
    log = kill_when(f"1-functions-*/{trigger}.jsonl", run, d, "functions", tmp_path / "count", 0)
    stage = log.parent
    assert not (stage / "summary.json").exists(), "the stage finished before the kill: nothing was tested"
    s = run_synth(synth_recipe_from_dict(d, "t"), until="functions")["stages"]["functions"]
    assert s["documents"] == 600 and s["candidates"] == 1200 and s["kept"] == 600
    assert s["dropped"] == {"type_check": 600}
    for name, n in (("documents", 600), ("candidates", 1200), ("functions", 1200)):
        counts = keys(stage / f"{name}.jsonl")
        assert len(counts) == n and set(counts.values()) == {1}, name
    verdicts = read_jsonl(stage / "functions.jsonl")
    assert [v["task_id"].split("-")[0] for v in verdicts] == [f"{p}_{k}" for k in range(600) for p in ("add", "glob")]


@pytest.mark.parametrize("trigger", ["generations", "results"])
def test_kill_in_tests_stage(prepared, tmp_path, trigger):
    from codebabel.synth import run_synth
    from codebabel.synth.recipe import synth_recipe_from_dict

    d, run = fresh(prepared, tmp_path, copy_runs=False, teacher={"chunk": 2})
    counter = tmp_path / "count"
    log = kill_when(f"2-tests-*/{trigger}.jsonl", run, d, "tests", counter, 0.05)
    stage = log.parent
    assert not (stage / "summary.json").exists()
    before = len(counter.read_text().splitlines())
    assert 0 < before < N * 2
    s = run_synth(synth_recipe_from_dict(d, "t"), until="tests", teacher=ScriptedTeacher(counter))["stages"]["tests"]
    generated = Counter(counter.read_text().splitlines())
    assert len(generated) == N * 2 and set(generated.values()) == {1}  # every sample once, over both runs
    assert len(keys(stage / "generations.jsonl")) == N * 2 and set(keys(stage / "generations.jsonl").values()) == {1}
    results = keys(stage / "results.jsonl")
    assert len(results) == N and set(results.values()) == {1}
    assert s["kept"] == N and s["samples"] == N * 2


@pytest.mark.parametrize("trigger", ["translations"])
def test_kill_in_translate_stage(prepared, tmp_path, trigger):
    from codebabel.synth import run_synth
    from codebabel.synth.recipe import synth_recipe_from_dict

    d, run = fresh(prepared, tmp_path, copy_runs=True, execution={"workers": 1})
    log = kill_when(f"3-translate-lua-*/{trigger}.jsonl", run, d, "translate", tmp_path / "count", 0)
    stage = log.parent
    assert not (stage / "summary.json").exists()
    assert len(read_jsonl(log)) < N
    s = run_synth(synth_recipe_from_dict(d, "t"), until="translate", teacher=ScriptedTeacher())
    tr = s["stages"]["translate"]["lua"]
    counts = keys(stage / "translations.jsonl")
    assert len(counts) == N and set(counts.values()) == {1} and tr["kept"] == N
    assert all(r["stub_status"] in ("ok", "assertion_failed") for r in read_jsonl(stage / "translations.jsonl"))


@pytest.mark.parametrize("trigger", ["generations", "results"])
def test_kill_in_solutions_stage(prepared, tmp_path, trigger):
    from codebabel.synth import run_synth
    from codebabel.synth.recipe import synth_recipe_from_dict

    samples = 3
    d, run = fresh(prepared, tmp_path, copy_runs=True, teacher={"chunk": 2}, solutions={"samples": samples})
    run_synth(synth_recipe_from_dict(d, "t"), until="translate", teacher=ScriptedTeacher())
    counter = tmp_path / "count"
    log = kill_when(f"4-solutions-lua-*/{trigger}.jsonl", run, d, "solutions", counter, 0.03)
    stage = log.parent
    assert not (stage / "summary.json").exists()
    s = run_synth(synth_recipe_from_dict(d, "t"), until="solutions", teacher=ScriptedTeacher(counter))
    generated = Counter(counter.read_text().splitlines())
    assert len(generated) == N * samples and set(generated.values()) == {1}
    for name in ("generations", "results"):
        counts = keys(stage / f"{name}.jsonl")
        assert len(counts) == N * samples and set(counts.values()) == {1}, name
    so = s["stages"]["solutions"]["lua"]
    assert so["samples"] == N * samples and so["passed"] == 2 * N + 1  # "return x" is right for add_0 only
    assert so["functions_with_kept"] == N


def test_kill_in_dataset_stage(prepared, tmp_path):
    """The dataset files are replaced atomically: a kill leaves each one whole (old or new), and a rerun writes
    them all."""
    from codebabel.synth import run_synth
    from codebabel.synth.recipe import synth_recipe_from_dict

    d, run = fresh(prepared, tmp_path, copy_runs=True, solutions={"samples": 2})
    run_synth(synth_recipe_from_dict(d, "t"), until="solutions", teacher=ScriptedTeacher())
    kill_when("dataset/*.jsonl", run, d, "dataset", tmp_path / "count", 0)
    for p in (run / "dataset").rglob("*.jsonl"):
        read_jsonl(p)  # every line whole
    s = run_synth(synth_recipe_from_dict(d, "t"), teacher=ScriptedTeacher())
    rows = s["stages"]["dataset"]["lua"]
    assert sum(rows.values()) == s["stages"]["solutions"]["lua"]["kept"]
    assert (run / "dataset" / "README.md").is_file() and (run / "dataset" / "pairs" / "lua.jsonl").is_file()
