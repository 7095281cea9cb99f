"""A failed or killed command leaves nothing that blocks or spoils the next one (issue 14, items 5, 6, 8):
empty corpus builds, training and evaluation with bad inputs, sandboxes of killed runs, interrupted generation."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codebabel.config import CorpusConfig, EvalConfig, ExecutionConfig, SamplingConfig
from codebabel.errors import CodebabelError
from tests.conftest import ROOT, needs_bwrap, run_cli


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tests.tiny import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("tiny") / "model"))


LUA = "".join(f"local function f{i}(a, b)\n  return a + {i} * b\nend\n" for i in range(12))


# -- item 5: corpus build with nothing to build from ---------------------------------------------------------
@pytest.mark.parametrize("case", ["empty", "binary", "wrong_language"])
def test_corpus_build_with_no_usable_file_is_one_line_and_a_rerun_after_adding_one_works(tmp_path, tiny, case):
    from codebabel.data.build import build_corpus

    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    language = "lua"
    if case == "binary":
        (src / "blob.lua").write_bytes(b"\x00\x01\x02\x03 not text")
        expected = r"all 1 Lua file\(s\) under .* were dropped \(decode: binary 1\)"
    elif case == "wrong_language":
        (src / "main.lua").write_text(LUA)
        language, expected = "rb", r"no Ruby files \(\.rb\) under .*src'; check --language"
    else:
        expected = r"no Lua files \(\.lua\) under .*src'; check --language"
    cfg = CorpusConfig(language=language, out=str(out), sources=(str(src),), tokenizer=tiny)
    with pytest.raises(CodebabelError, match=expected):
        build_corpus(cfg)
    assert not out.exists()  # no .work/, no half-written output
    # an existing (empty) --out folder is left as it was found
    out.mkdir()
    with pytest.raises(CodebabelError, match=expected):
        build_corpus(cfg)
    assert list(out.iterdir()) == []
    # the same command after adding a usable file builds (stage 1 was not recorded as finished)
    if case == "wrong_language":
        (src / "main.rb").write_text(LUA.replace("local function", "def"))  # the same code, in Ruby
    else:
        (src / "main.lua").write_text(LUA)
    manifest = build_corpus(cfg)
    assert sum(s["files"] for s in manifest["splits"].values()) == 1
    assert not (out / ".work").exists()


def test_corpus_build_with_no_files_through_the_cli_is_one_line(tmp_path, tiny):
    (tmp_path / "empty").mkdir()
    r = run_cli("corpus", "build", "--language", "lua", "--out", str(tmp_path / "out"), "--tokenizer", tiny,
                str(tmp_path / "empty"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: corpus build: no Lua files (.lua) under") and "check --language" in last
    assert not (tmp_path / "out").exists()


# -- item 6: train and evaluate create their outputs only after the inputs validate ----------------------------
def _recipe(tmp_path: Path, tiny: str, data: str) -> Path:
    p = tmp_path / "r.yaml"
    p.write_text(textwrap.dedent(f"""
        model: {tiny}
        output: {tmp_path}/runs
        name: r
        data: ["{data}"]
        batch_size: 2
        seq_len: 32
        max_steps: 1
        lora: {{r: 2, alpha: 4}}
        """))
    return p


def test_train_with_bad_data_leaves_no_run_and_the_corrected_run_needs_no_resume(tmp_path, tiny):
    from codebabel.train.recipe import load_recipe
    from codebabel.train.trainer import train

    run = tmp_path / "runs" / "r"
    data = tmp_path / "data.jsonl"
    with pytest.raises(CodebabelError, match="no such file"):
        train(load_recipe(_recipe(tmp_path, tiny, str(data))))
    assert not run.exists()
    data.write_bytes(b'{"text": "def f(a):\\n    return a\\n"}\n{"text": "caf\xe9"}\n')  # latin-1 on line 2
    with pytest.raises(CodebabelError, match=r"data.jsonl:2: not UTF-8"):
        train(load_recipe(_recipe(tmp_path, tiny, str(data))))
    assert not run.exists()
    data.write_text("".join(json.dumps({"text": f"def f{i}(a):\n    return a + {i}\n"}) + "\n" for i in range(8)))
    out = train(load_recipe(_recipe(tmp_path, tiny, str(data))))  # no --resume needed
    assert Path(out["result"]).name == "adapter" and (run / "recipe.json").is_file()


@needs_bwrap
def test_evaluate_with_a_bad_adapter_leaves_no_results_folder(tmp_path, tiny):
    from codebabel.evaluate.functional import evaluate

    results = tmp_path / "results"
    bad = tmp_path / "not-an-adapter"
    bad.mkdir()
    r = run_cli("evaluate", "--model", tiny, "--adapter", str(bad), "--backend", "hf", "--limit", "1",
                "--max-new-tokens", "4", "--results-dir", str(results))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "no adapter_config.json" in r.stderr.strip().splitlines()[-1]
    assert not results.exists() or not any(results.iterdir())
    # an adapter folder that looks right but does not load: the failure comes later, still nothing is left
    (bad / "adapter_config.json").write_text("{}")
    cfg = EvalConfig(model=tiny, adapter=str(bad), backend="hf", limit=1, results_dir=str(results),
                     sampling=SamplingConfig(max_new_tokens=4))
    with pytest.raises(CodebabelError):
        evaluate(cfg)
    assert not results.exists() or not any(results.iterdir())


# -- item 8a: sandboxes of a killed run are swept by the next -------------------------------------------------
KILLED = """
import json, sys, time
from codebabel.execute.sandbox import Limits, Sandbox, bwrap_path
from codebabel.execute.warm import WarmPython
from codebabel.languages import get_language

sandbox = Sandbox(unsafe=bwrap_path() is None)
box = sandbox.open(0)
box.write({"note.txt": "left behind"})
r = box.run(["/bin/sh", "-c", "cat note.txt"], Limits(timeout_s=20))
assert r.stdout == "left behind", r
paths = [str(box.path)]
if sandbox.can_warm:
    warm = WarmPython(sandbox, 1, *get_language("py").warm_interpreter())
    assert warm.run("print('warm')", Limits(timeout_s=20)).stdout == "warm\\n"
    paths.append(str(warm.tmp))
print(json.dumps(paths), flush=True)
time.sleep(120)
"""

NEXT = """
from codebabel.execute.sandbox import Sandbox, bwrap_path
Sandbox(unsafe=bwrap_path() is None)
"""


def test_folders_of_a_run_killed_with_sigkill_are_swept_by_the_next_sandbox(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"}
    proc = subprocess.Popen([sys.executable, "-c", KILLED], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()[-2000:]
        paths = [Path(p) for p in json.loads(line)]
        assert all(p.is_dir() and str(p).startswith(str(tmp_path / f"codebabel-{os.geteuid()}")) for p in paths)
    finally:
        proc.kill()  # SIGKILL: no cleanup runs
        proc.wait()
    assert proc.returncode == -9 and all(p.is_dir() for p in paths)
    r = subprocess.run([sys.executable, "-c", NEXT], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not any(p.exists() for p in paths)
    root = tmp_path / f"codebabel-{os.geteuid()}"
    assert list(root.iterdir()) == []  # the next run's own folder went at its normal exit


def test_a_live_sandboxs_folder_is_never_swept():
    from codebabel.execute.sandbox import Sandbox, bwrap_path, sweep_dead_owners

    with Sandbox(unsafe=bwrap_path() is None).open() as box:
        sweep_dead_owners()
        assert box.path.is_dir()
    assert not box.path.exists()


# -- item 8b: an interrupted generation keeps every finished prompt's samples ---------------------------------
@needs_bwrap
def test_generation_interrupted_after_the_first_prompt_keeps_its_samples(tmp_path, tiny, monkeypatch):
    from codebabel.evaluate.functional import evaluate
    from codebabel.generate.hf import HFBackend

    # n = 33 samples: over half the 64 sequences of a CPU batch, so each prompt is a generate call of its own
    cfg = EvalConfig(model=tiny, backend="hf", limit=2, batch_size=2, results_dir=str(tmp_path / "runs"),
                     sampling=SamplingConfig(n=33, temperature=0.8, max_new_tokens=4),
                     execution=ExecutionConfig(workers=2, timeout_s=5))
    original = HFBackend.generate
    calls: list[int] = []

    def interrupted(self, prompts, sampling, stop, on_progress=None, **kw):
        calls.append(len(prompts))

        def progress(k):  # Ctrl-C as the first prompt is done
            on_progress(k)
            raise KeyboardInterrupt

        return original(self, prompts, sampling, stop, progress, **kw)

    monkeypatch.setattr(HFBackend, "generate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        evaluate(cfg)
    (run,) = (tmp_path / "runs").iterdir()
    stored = [json.loads(x) for x in (run / "completions.jsonl").read_text().splitlines()]
    assert len(stored) == 33 and len({r["task_id"] for r in stored}) == 1
    first = stored[0]["task_id"]
    monkeypatch.setattr(HFBackend, "generate", lambda self, prompts, *a, **k: calls.append(len(prompts))
                        or original(self, prompts, *a, **k))
    summary = evaluate(cfg)
    assert calls == [2, 1]  # the rerun generated only the second problem
    assert summary["samples"] == 66 and summary["run_dir"] == str(run)
    again = [json.loads(x) for x in (run / "completions.jsonl").read_text().splitlines()]
    assert again[:33] == stored and {r["task_id"] for r in again[33:]} - {first}
