"""`codebabel runs list`: every kind of run found under results/ and runs/ with its readable name, settings,
headline metric and folder; partial runs marked; folders that are no run (or cannot be read) skipped and counted,
never a traceback (report/runs.py)."""

from __future__ import annotations

import json

import pytest

from codebabel.errors import CodebabelError
from codebabel.report.runs import find_runs, read_run
from tests import reportkit
from tests.conftest import needs_bwrap, run_cli


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    return folder, reportkit.fake_runs(folder)


def by_path(found):
    return {r.path.name if r.path.is_dir() else r.path.name: r for r in found.runs}


def test_every_kind_is_found_with_its_headline(tree, monkeypatch):
    folder, made = tree
    monkeypatch.chdir(folder)  # the default roots: results/ and runs/ of the working folder
    found = find_runs()
    runs = {str(r.path): r for r in found.runs}
    kinds = {r.kind for r in found.runs}
    assert kinds == {"eval", "train", "translation", "synth", "route"}

    py = runs[str(made["qwen_py"].relative_to(folder))]
    assert py.name == "humaneval / py / qwen2.5-coder-0.5b (instruct, llamacpp)"
    assert py.headline == "pass@1 56.7% (93/164)" and py.finished
    assert py.settings == "n=1 T=0, max_new_tokens 768, 164 problems, timeout 10 s"
    cpp = runs[str(made["qwen_cpp"].relative_to(folder))]
    assert cpp.metrics["pass@1"] == pytest.approx(67 / 161)
    lua = runs[str(made["qwen_lua_partial"].relative_to(folder))]  # no summary.json: counted from results.jsonl
    assert not lua.finished and lua.headline == "pass@1 40.0% (4/10) (partial)"

    train = runs["runs/train-curriculum"]
    assert train.name == "train / train-curriculum / lora smollm2-135m"
    assert train.headline.startswith("train loss ") and "eval loss 1.500" in train.headline and "7 steps" in train.headline
    assert "lora r8 α16" in train.settings and "batch 4×2" in train.settings and "2 stages" in train.settings
    partial = runs["runs/train-partial"]
    assert not partial.finished and partial.headline == "loss 1.600 at step 5 of stage main (partial)"

    tr = runs["runs/eval/tr-instruct"]
    assert tr.name == "translation / cpp,java,php → py / qwen2.5-coder-0.5b (instruct)"
    assert tr.headline == "exec acc 22.2%, CodeBLEU 0.500 (18 pairs)"
    assert "routing 83.3%" in runs["runs/eval/tr-experts"].headline

    route = runs["runs/x2py"]
    assert route.name == "route / x2py / 3 experts on smollm2-135m"
    assert "gate accuracy without the tag 83.3%" in route.headline
    assert len(route.data["experts"]) == 3 and route.data["reports"][0][0] == "accuracy.json"

    synth = runs["runs/synth/lua-rkt"]
    assert synth.name == "synth / lua-rkt / lua, rkt" and synth.finished
    assert synth.headline == "rows kept 101 (lua 70, rkt 31)"
    part = runs["runs/synth/lua-partial"]
    assert not part.finished and part.headline.startswith("functions kept 60 of 400 candidates (partial: 2-tests-")
    assert "teacher qwen2.5-coder-0.5b (llamacpp)" in part.settings

    # the experts of a routing run are part of it, not runs of their own; the stage folders of a synth run too
    assert not any("experts" in r.path.parts or "-functions-" in str(r.path) for r in found.runs)
    skipped = dict(found.skipped)
    assert skipped["runs/logs"] == "not a run"
    broken = str(made["broken"].relative_to(folder))
    assert "summary.json:2: not valid JSON" in skipped[broken] and len(found.skipped) == 2


@needs_bwrap
def test_runs_made_by_evaluate_are_listed_by_the_command(tmp_path):
    reportkit.real_eval_runs(tmp_path)
    r = run_cli("runs", "list", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    listed = json.loads(r.stdout)
    names = sorted(x["name"] for x in listed["runs"] if not x["name"].startswith("humaneval / lua"))
    assert names == ["humaneval / js / stub", "humaneval / py / base", "humaneval / py / reference",
                     "humaneval / py / tuned"]
    got = {x["name"]: x for x in listed["runs"]}
    summary = json.loads((tmp_path / got["humaneval / py / base"]["path"] / "summary.json").read_text())
    assert got["humaneval / py / base"]["metrics"]["pass@1"] == summary["pass_at_k"]["pass@1"] == 2 / 6
    assert got["humaneval / py / tuned"]["headline"] == "pass@1 66.7% (4/6)"
    assert got["humaneval / js / stub"]["headline"] == "pass@1 0.0% (0/3)"
    assert listed["skipped"] == []  # the combined `--language py,js` file is no folder: not counted

    r = run_cli("runs", "list", "--kind", "eval", cwd=tmp_path, env={"COLUMNS": "250"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "humaneval / py / tuned" in r.stdout and "pass@1 66.7% (4/6)" in r.stdout
    assert f"{len(listed['runs'])} runs" in r.stdout
    r = run_cli("runs", "list", "--kind", "train", "--root", str(tmp_path / "results"), cwd=tmp_path)
    assert r.returncode == 0 and "0 runs" in r.stdout


def test_the_command_counts_what_it_skips_and_filters_by_kind(tree):
    folder, _ = tree
    r = run_cli("runs", "list", "--root", str(folder / "runs"), "--root", str(folder / "results"),
                "--kind", "synth", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    listed = json.loads(r.stdout)
    assert {x["kind"] for x in listed["runs"]} == {"synth"} and len(listed["runs"]) == 2
    assert len(listed["skipped"]) == 2 and "Traceback" not in r.stderr
    r = run_cli("runs", "list", "--root", str(folder / "runs"), "--root", str(folder / "results"),
                env={"COLUMNS": "250"})
    assert r.returncode == 0 and "skipped 2 folder(s)" in r.stderr and "Traceback" not in r.stderr
    assert "route / x2py / 3 experts on smollm2-135m" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["--kind", "sweeps"], "--kind sweeps: unknown; use one of eval, train, translation, synth, route"),
    (["--root", "/no/such/folder"], "--root /no/such/folder: no such folder"),
])
def test_bad_options_are_one_line_errors(args, message):
    r = run_cli("runs", "list", *args)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_read_run_names_what_is_wrong(tmp_path):
    with pytest.raises(CodebabelError, match=r"run '.*nothing': no such file or folder"):
        read_run(tmp_path / "nothing")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x")
    with pytest.raises(CodebabelError, match="not a codebabel run"):
        read_run(tmp_path / "notes")
    run = reportkit.eval_run(tmp_path, "py", 1, {"ok": 1, "timeout": 1}, finished=False)
    with (run / "results.jsonl").open("a") as f:
        f.write('{"task_id": "HumanEval/9", "sam')  # a run killed while writing: its partial last line is dropped
    assert read_run(run).metrics["samples"] == 2
    (run / "results.jsonl").write_text('{"task_id": "HumanEval/0"\n{"task_id": "HumanEval/1", "passed": true}\n')
    with pytest.raises(CodebabelError, match=r"results.jsonl:1: not valid JSON"):
        read_run(run)
