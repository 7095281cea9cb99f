"""The openai teacher backend (generate/openai_backend.py) against a real OpenAI-compatible server: llama-cpp-python's
``python -m llama_cpp.server`` serving the real SmolLM2-135M GGUF on a free local port (``slow``), and the synth
tests stage through it. Without a server: retries end in one line, a refused request is one line at once.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from codebabel.config import SamplingConfig
from codebabel.errors import CodebabelError
from codebabel.generate.backends import BACKENDS
from codebabel.generate.base import Backend

HAS_SERVER = all(importlib.util.find_spec(m) is not None
                 for m in ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings"))
STOPS = ["\ndef", "\n#", "\nif", "\nclass"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_registered_and_a_backend():
    be = BACKENDS["openai"]("m", base_url="http://127.0.0.1:9/v1", model_name="served", concurrency=3)
    assert isinstance(be, Backend) and be.name == "openai" and be.model == "served" and be.concurrency == 3
    with pytest.raises(CodebabelError, match="needs a base_url"):
        BACKENDS["openai"]("m")


def test_unreachable_endpoint_is_one_line_after_the_retries(monkeypatch):
    from codebabel.generate import openai_backend

    monkeypatch.setattr(openai_backend, "BACKOFF_S", 0.05)
    be = openai_backend.OpenAIBackend(f"http://127.0.0.1:{free_port()}/v1", "m", max_retries=2, timeout_s=5)
    t0 = time.monotonic()
    with pytest.raises(CodebabelError, match=r"after 3 tries\); check that the server is up") as e:
        be.generate(["def f():\n"], SamplingConfig(max_new_tokens=4), STOPS)
    assert "\n" not in str(e.value) and time.monotonic() - t0 < 30


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not HAS_SERVER:
        pytest.skip("llama-cpp-python[server] is not installed (scripts/setup.sh installs it)")
    from codebabel.models.loading import resolve

    gguf = resolve("smollm2-135m").gguf_path
    port = free_port()
    log = open(tmp_path_factory.mktemp("server") / "server.log", "w")  # closed below
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", gguf, "--model_alias", "smollm2",
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2",
                             "--seed", "0", "--verbose", "False"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not start: {Path(log.name).read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.slow
def test_generate_through_a_real_server(server):
    be = BACKENDS["openai"]("smollm2", base_url=server, concurrency=2, max_retries=1)
    prompts = ["def add(a, b):\n", 'def is_even(n: int) -> bool:\n    """Return True if n is even."""\n']
    events = []
    out = be.generate(prompts, SamplingConfig(n=2, temperature=0.8, max_new_tokens=24, seed=1), STOPS,
                      on_progress=lambda k: events.append(("progress", k)),
                      on_result=lambda i, samples: events.append(("result", i, len(samples))))
    assert [len(r) for r in out] == [2, 2]
    assert sorted(e for e in events if e[0] == "result") == [("result", 0, 2), ("result", 1, 2)]
    assert [e[0] for e in events] == ["result", "progress", "result", "progress"]  # stored before counted
    for samples in out:
        for c in samples:
            assert 0 < c.n_tokens <= 24 and c.finish_reason in ("stop", "length", "eos")
            assert not any(s in c.text for s in STOPS)
    assert be.last_stats["generated_tokens"] == sum(c.n_tokens for r in out for c in r)
    # the same seed gives the same sample (one request per sample, seed + i)
    again = be.generate(prompts[:1], SamplingConfig(n=1, temperature=0.8, max_new_tokens=24, seed=1), STOPS)
    assert again[0][0].text == out[0][0].text
    with pytest.raises(CodebabelError, match=r"refused the request \(HTTP 4\d\d"):
        be.generate(["x " * 5000], SamplingConfig(max_new_tokens=8), STOPS)  # longer than the server's context


@pytest.mark.slow
def test_synth_tests_stage_with_the_openai_teacher(server, tmp_path):
    import shutil

    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (bwrap) not installed")
    from codebabel.synth import run_synth
    from codebabel.synth.recipe import synth_recipe_from_dict
    from tests.test_synth import recipe_dict, write_corpus

    corpus = write_corpus(tmp_path / "corpus")
    r = synth_recipe_from_dict(recipe_dict(tmp_path, corpus, teacher={"backend": "openai", "base_url": server,
                                                                      "model": "smollm2", "concurrency": 2},
                                           tests={"max_new_tokens": 48}, functions={"limit": 2}), "t")
    s = run_synth(r, until="tests")["stages"]["tests"]
    assert s["functions"] == 2 and s["samples"] == 4 and s["teacher"]["backend"] == "openai"
    assert s["generation"]["tokens"] > 0
