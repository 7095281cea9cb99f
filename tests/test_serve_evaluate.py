"""`codebabel evaluate --backend openai --base-url URL` (evaluate/sources.py, ``ModelCompletions.for_endpoint``):
its flags checked in one line, and against `codebabel serve` the same completions, token counts, finish reasons
and pass@1 as the in-process evaluation of the same model with the same settings (the tiny model through hf on
both sides; the real SmolLM2 through llama.cpp on both sides, ``slow``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codebabel.config import EvalConfig, ExecutionConfig, SamplingConfig
from codebabel.errors import CodebabelError
from tests.conftest import needs_bwrap, run_cli
from tests.test_serve import call, running


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tests.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("serve-eval") / "tiny")


@pytest.fixture(scope="module")
def server(tiny):
    with running(model=str(tiny)) as serving:
        yield serving


def test_evaluate_openai_flags_are_checked_in_one_line(tmp_path):
    for fields, needle in (({"model": "m", "backend": "openai"}, "pass --base-url"),
                           ({"model": "m", "base_url": "http://x/v1"}, "only with --backend openai"),
                           ({"model": "m", "backend": "openai", "base_url": "x:80"}, "http:// or https://"),
                           ({"model": "m", "adapter": "a", "backend": "openai", "base_url": "http://x/v1"},
                            "--adapter a"),
                           ({"backend": "openai", "base_url": "http://x/v1", "reference": True}, "exactly one")):
        with pytest.raises(CodebabelError, match=needle):
            EvalConfig(**fields)
    r = run_cli("evaluate", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                "--api-key-env", "CODEBABEL_NO_SUCH_KEY", "--limit", "1", "--results-dir", str(tmp_path), timeout=120)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "--api-key-env CODEBABEL_NO_SUCH_KEY" in lines[0], r.stderr


def read_rows(path: Path) -> list[dict]:
    return sorted((json.loads(x) for x in path.read_text().splitlines()), key=lambda r: (r["task_id"], r["sample"]))


@needs_bwrap
@pytest.mark.parametrize("prompt_format", ["auto", "chat"])
def test_evaluate_through_the_server_equals_evaluate_in_process(server, tiny, tmp_path, prompt_format):
    """The key one: same model, same settings, greedy → the same completions, token counts, finish reasons and
    pass@1 through `codebabel serve` as in-process; the run is another run (its hash holds URL and model)."""
    from codebabel.evaluate.functional import evaluate

    args = ["--limit", "3", "--temperature", "0", "--max-new-tokens", "16", "--prompt-format", prompt_format,
            "--workers", "2"]
    # without --model (auto): the one model the server lists; with chat, --model names it (its chat template
    # renders the prompts here)
    model = ["--model", str(tiny)] if prompt_format == "chat" else []
    r = run_cli("evaluate", "--backend", "openai", "--base-url", f"{server.url}/v1", *model, *args,
                "--results-dir", str(tmp_path / "remote"), timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    remote_run = Path(r.stdout.split("results:")[-1].split()[0]).parent
    here = evaluate(EvalConfig(model=str(tiny), backend="hf", device="cpu", limit=3, prompt_format=prompt_format,
                               results_dir=str(tmp_path / "local"), sampling=SamplingConfig(max_new_tokens=16),
                               execution=ExecutionConfig(workers=2)))
    keep = ("task_id", "sample", "completion", "n_tokens", "finish_reason")
    remote = [{k: row[k] for k in keep} for row in read_rows(remote_run / "completions.jsonl")]
    mine = [{k: row[k] for k in keep} for row in read_rows(Path(here["run_dir"]) / "completions.jsonl")]
    assert len(remote) == 3 and remote == mine
    summary = json.loads((remote_run / "summary.json").read_text())
    assert summary["pass_at_k"] == here["pass_at_k"] and summary["backend"] == "openai"
    settings = json.loads((remote_run / "settings.json").read_text())
    assert f"{server.url}/v1" in settings["source"] and f"model={tiny}" in settings["source"]
    assert settings["prompt_format"] == ("raw" if prompt_format == "auto" else "chat")


@pytest.mark.slow
@needs_bwrap
def test_evaluate_through_the_server_equals_in_process_on_smollm2(tmp_path):
    """The same on the real SmolLM2-135M, llama.cpp on both sides; one sequence at a time on both (a batched
    llama.cpp matmul may sum in another order and flip a near-tied greedy token: generate/slots.py)."""
    from codebabel.evaluate.functional import evaluate

    with running(model="smollm2-135m", backend="auto", batch_size=1) as s:
        r = run_cli("evaluate", "--backend", "openai", "--base-url", f"{s.url}/v1", "--model", "smollm2-135m",
                    "--limit", "3", "--temperature", "0", "--max-new-tokens", "64", "--batch-size", "1",
                    "--results-dir", str(tmp_path / "remote"), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    remote_run = Path(r.stdout.split("results:")[-1].split()[0]).parent
    here = evaluate(EvalConfig(model="smollm2-135m", backend="llamacpp", batch_size=1, limit=3,
                               results_dir=str(tmp_path / "local"), sampling=SamplingConfig(max_new_tokens=64)))
    keep = ("task_id", "completion", "n_tokens", "finish_reason")
    assert ([{k: x[k] for k in keep} for x in read_rows(remote_run / "completions.jsonl")]
            == [{k: x[k] for k in keep} for x in read_rows(Path(here["run_dir"]) / "completions.jsonl")])
    assert json.loads((remote_run / "summary.json").read_text())["pass_at_k"] == here["pass_at_k"]


# -- evaluate translation and translate through an endpoint ----------------------------------------------------

PAIRS = str(Path(__file__).resolve().parents[1] / "data" / "pairs" / "php.jsonl")


def test_translation_endpoint_flags_are_checked_in_one_line(server, tiny, tmp_path):
    from codebabel.evaluate.translation import TranslationConfig, evaluate_translation
    from codebabel.route.translate import TranslateConfig
    from tests.test_serve import random_experts

    for make in (lambda **kw: TranslationConfig(data=(PAIRS,), out=str(tmp_path), **kw),
                 lambda **kw: TranslateConfig(file="x.js", **kw)):
        for fields, needle in (({"backend": "openai"}, "pass --base-url"),
                               ({"base_url": "http://x/v1"}, "only with --backend openai"),
                               ({"backend": "openai", "base_url": "x:80"}, "http:// or https://"),
                               ({"backend": "openai", "base_url": "http://x/v1", "device": "cuda"}, "--device cuda"),
                               ({"backend": "openai", "base_url": "http://x/v1", "dtype": "bf16"}, "--dtype bf16")):
            with pytest.raises(CodebabelError, match=needle):
                make(**fields)
    # experts the endpoint does not serve (this server has the base model alone): refused before generating
    run = random_experts(tiny, tmp_path / "run")
    cfg = TranslationConfig(data=(PAIRS,), out=str(tmp_path / "ev"), experts=str(run), router="tag", limit=1,
                            backend="openai", base_url=f"{server.url}/v1")
    with pytest.raises(CodebabelError, match=r"does not serve the experts cpp, js, php \(it serves .*tiny\); serve"):
        evaluate_translation(cfg)
    (tmp_path / "one.js").write_text("console.log(1);\n")
    r = run_cli("translate", str(tmp_path / "one.js"), "--backend", "openai", "--base-url", f"{server.url}/v1",
                "--api-key-env", "CODEBABEL_NO_SUCH_KEY", timeout=120)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "--api-key-env CODEBABEL_NO_SUCH_KEY" in lines[0], r.stderr


def _generations(out: Path) -> list[dict]:
    keep = ("id", "source", "expert", "prompt", "completion", "reply", "finish_reason", "n_tokens")
    rows = json.loads((out / "generations.json").read_text())["result"]
    return [{k: row.get(k) for k in keep} for row in rows]


@needs_bwrap
@pytest.mark.parametrize("prompt_format", ["tag", "instruct"])
def test_evaluate_translation_through_the_server_equals_in_process(server, tiny, tmp_path, prompt_format):
    """The base model: the same prompts, translations, token counts and finish reasons through `codebabel serve`
    as in-process; the generations' settings hold the URL and the model name. Without --model the endpoint's one
    model; instruct renders the chat template here, with the tokenizer of --model."""
    from codebabel.evaluate.translation import TranslationConfig, evaluate_translation
    from tests.langkit import require_toolchain

    require_toolchain("php")
    model = ["--model", str(tiny)] if prompt_format == "instruct" else []
    r = run_cli("evaluate", "translation", "--data", PAIRS, "--out", str(tmp_path / "remote"), "--backend", "openai",
                "--base-url", f"{server.url}/v1", *model, "--prompt-format", prompt_format, "--limit", "3",
                "--max-new-tokens", "12", "--workers", "2", timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    here = evaluate_translation(TranslationConfig(
        data=(PAIRS,), out=str(tmp_path / "local"), model=str(tiny), backend="hf", device="cpu",
        prompt_format=prompt_format, limit=3, max_new_tokens=12, execution=ExecutionConfig(workers=2)))
    remote = _generations(tmp_path / "remote")
    assert len(remote) == 3 and remote == _generations(tmp_path / "local")
    summary = json.loads((tmp_path / "remote" / "summary.json").read_text())
    assert summary["per_language"] == here["per_language"]
    settings = summary["settings"]
    assert settings["backend"] == "openai" and settings["base_url"] == f"{server.url}/v1"
    assert settings["model"] == str(tiny) and settings["prompt_format"] == prompt_format


@needs_bwrap
def test_evaluate_translation_with_experts_names_each_expert_at_the_endpoint(tiny, tmp_path):
    """--experts through `codebabel serve --experts RUN`: the router runs here, each program's request names
    its expert; the same generations as the experts in-process (unmerged, as the server applies them)."""
    from codebabel.evaluate.translation import TranslationConfig, evaluate_translation
    from tests.langkit import require_toolchain
    from tests.test_serve import random_experts

    require_toolchain("php")
    run = random_experts(tiny, tmp_path / "run")
    with running(experts=str(run), router="tag") as s:
        r = run_cli("evaluate", "translation", "--data", PAIRS, "--out", str(tmp_path / "remote"), "--experts",
                    str(run), "--router", "tag", "--backend", "openai", "--base-url", f"{s.url}/v1", "--limit", "2",
                    "--max-new-tokens", "10", "--workers", "2", timeout=300)
        health = call(s.url, "GET", "/health")[1]
    assert r.returncode == 0, r.stderr[-3000:]
    assert health["answered"] == 2
    evaluate_translation(TranslationConfig(
        data=(PAIRS,), out=str(tmp_path / "local"), experts=str(run), router="tag", mode="unmerged", backend="hf",
        device="cpu", limit=2, max_new_tokens=10, execution=ExecutionConfig(workers=2)))
    remote = _generations(tmp_path / "remote")
    assert [row["expert"] for row in remote] == ["php", "php"] and remote == _generations(tmp_path / "local")


def test_translate_through_the_server_prints_the_in_process_translation(server, tiny, tmp_path):
    program = tmp_path / "add.js"
    program.write_text("function add(a, b) { return a + b; }\nconsole.log(add(1, 2));\n")
    remote = run_cli("translate", str(program), "--backend", "openai", "--base-url", f"{server.url}/v1",
                     "--max-new-tokens", "12", timeout=300)
    here = run_cli("translate", str(program), "--model", str(tiny), "--backend", "hf", "--device", "cpu",
                   "--max-new-tokens", "12", timeout=300)
    assert remote.returncode == here.returncode == 0, remote.stderr[-3000:] + here.stderr[-3000:]
    assert remote.stdout == here.stdout
    assert f"translating with {tiny} (prompt format instruct)" in remote.stderr  # the one model the server lists
