"""`codebabel serve` (serve/) on the tiny random model through the hf backend, on 127.0.0.1 and a free port:
the endpoints answer as OpenAI's do and as the model generates in-process, every bad request gets its 4xx error
object while the server keeps serving, a full queue is a 429, a key is checked, SIGTERM answers what was
accepted. `codebabel evaluate --backend openai` against it: tests/test_serve_evaluate.py."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from codebabel.config import SamplingConfig
from codebabel.errors import CodebabelError
from tests.conftest import run_cli

PROMPT = "def add(a, b):\n"
LANGS = ["cpp", "js", "php"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tests.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("serve") / "tiny")


@contextmanager
def running(**fields):
    """A `codebabel serve` in a thread of this process (port 0: a free one); stopped, as by SIGTERM, at the end."""
    from codebabel.serve.server import ServeConfig, Serving

    serving = Serving(ServeConfig(**{"port": 0, "backend": "hf", "device": "cpu", **fields}), log=lambda _: None)
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(serving.run()), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while call(serving.url, "GET", "/health")[0] != 200:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        yield serving
    finally:
        serving.stop()
        thread.join(60)
        assert not thread.is_alive(), "the server did not stop"


#: max_tokens of the requests :func:`held` keeps waiting
LONG = 40


@pytest.fixture
def held(monkeypatch):
    """Requests for ``LONG`` tokens wait, inside the worker, until the test sets the returned event: what a test
    looks at while such a request runs (``running``, ``queued``) holds for as long as it looks, however fast
    the machine decodes."""
    from codebabel.serve.model import ServedModel

    release = threading.Event()
    generate = ServedModel.generate

    def held_generate(self, name, prompts, sampling, *args, **kwargs):
        if sampling.max_new_tokens == LONG:
            assert release.wait(120), "the test never released the held request"
        return generate(self, name, prompts, sampling, *args, **kwargs)

    monkeypatch.setattr(ServedModel, "generate", held_generate)
    yield release
    release.set()


@pytest.fixture(scope="module")
def server(tiny):
    with running(model=str(tiny), max_body_bytes=20_000) as serving:
        yield serving


def call(url: str, method: str, path: str, body=None, headers: dict | None = None, timeout: float = 120):
    """``(status, JSON or text)``; ``body``: an object (sent as JSON) or bytes (sent as they are)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    except OSError:  # not listening (yet, or any more)
        return 0, None
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def events(text: str) -> list:
    """The server-sent events of a streamed answer; the last must be [DONE]."""
    data = [line[len("data: "):] for line in text.split("\n\n") if line.strip()]
    assert all(line.startswith("data: ") for line in text.split("\n\n") if line.strip())
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


def local(tiny, prompts, max_new_tokens, stop=(), adapter=None):
    from codebabel.generate.backends import make_backend

    be = make_backend(str(tiny), adapter=adapter, backend="hf", device="cpu", log=lambda _: None)
    return [s[0] for s in be.generate(prompts, SamplingConfig(max_new_tokens=max_new_tokens), list(stop))]


def test_health_and_models(server, tiny):
    status, health = call(server.url, "GET", "/health")
    assert status == 200 and health["status"] == "ok" and health["model"] == str(tiny)
    assert {"queued", "running", "answered"} <= set(health)
    status, models = call(server.url, "GET", "/v1/models")
    assert status == 200 and models["object"] == "list" and [m["id"] for m in models["data"]] == [str(tiny)]


def test_completions_as_the_model_generates_in_process(server, tiny):
    want = local(tiny, [PROMPT], 12, stop=["\n\n"])[0]
    status, r = call(server.url, "POST", "/v1/completions", {"model": str(tiny), "prompt": [PROMPT],
                                                              "max_tokens": 12, "temperature": 0, "stop": "\n\n"})
    assert status == 200, r
    assert r["object"] == "text_completion" and r["model"] == str(tiny) and len(r["choices"]) == 1
    choice = r["choices"][0]
    assert choice["text"] == want.text and choice["finish_reason"] == ("length" if want.finish_reason == "length"
                                                                       else "stop")
    assert r["usage"]["completion_tokens"] == want.n_tokens
    assert r["usage"]["total_tokens"] == r["usage"]["prompt_tokens"] + want.n_tokens > want.n_tokens

    status, s = call(server.url, "POST", "/v1/completions", {"prompt": PROMPT, "max_tokens": 12, "temperature": 0,
                                                             "stop": ["\n\n"], "stream": True,
                                                             "stream_options": {"include_usage": True}})
    assert status == 200
    chunks = events(s)
    assert all(c["object"] == "text_completion" for c in chunks)
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == want.text
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == choice["finish_reason"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == r["usage"]


def test_a_stop_sequence_ends_the_sample_and_is_reported(server, tiny):
    """A stop string taken from the middle of the greedy text: the server stops there, says which stop ended it
    (vLLM's stop_reason), and codebabel's own openai backend reads back the local backend's exact Completion."""
    from codebabel.generate.openai_backend import OpenAIBackend

    text = local(tiny, [PROMPT], 16)[0].text
    stop = next(text[k:k + 2] for k in range(3, len(text) - 2)
                if "\ufffd" not in text[k:k + 2] and text[k:k + 2].strip())
    want = local(tiny, [PROMPT], 16, stop=[stop])[0]
    assert want.finish_reason == "stop" and want.stop == stop and len(want.text) < len(text)
    status, r = call(server.url, "POST", "/v1/completions", {"prompt": PROMPT, "max_tokens": 16, "temperature": 0,
                                                             "stop": [stop, "never-seen"]})
    assert status == 200 and r["choices"][0]["text"] == want.text
    assert r["choices"][0]["finish_reason"] == "stop" and r["choices"][0]["stop_reason"] == stop
    got = OpenAIBackend(f"{server.url}/v1", str(tiny)).generate([PROMPT], SamplingConfig(max_new_tokens=16), [stop])
    assert got == [[want]]


def test_chat_completions_apply_the_chat_template(server, tiny):
    from codebabel.models.loading import load_tokenizer

    messages = [{"role": "user", "content": "Write add in Python."}]
    text = load_tokenizer(str(tiny)).apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    want = local(tiny, [text], 10)[0]
    status, r = call(server.url, "POST", "/v1/chat/completions", {"messages": messages, "max_tokens": 10,
                                                                  "temperature": 0})
    assert status == 200, r
    assert r["object"] == "chat.completion" and r["choices"][0]["message"] == {"role": "assistant",
                                                                               "content": want.text}
    status, s = call(server.url, "POST", "/v1/chat/completions",
                     {"messages": [{"role": "user", "content": [{"type": "text", "text": "Write add in Python."}]}],
                      "max_completion_tokens": 10, "temperature": 0, "stream": True})
    chunks = events(s)
    assert status == 200 and all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == want.text
    assert chunks[-1]["choices"][0]["finish_reason"] == r["choices"][0]["finish_reason"]


@pytest.mark.parametrize("body,status,param", [
    (b'{"prompt": "def f(", "max_tokens": ', 400, None),  # malformed JSON
    (b'["def f("]', 400, None),  # JSON, but not an object
    ({"model": "gpt-4", "prompt": PROMPT}, 404, "model"),
    ({"prompt": "x = 1\n" * 1100, "max_tokens": 4}, 400, "prompt"),  # past the tiny model's 1024 positions
    ({"prompt": PROMPT, "max_tokens": 0}, 400, "max_tokens"),
    ({"prompt": PROMPT, "max_tokens": -3}, 400, "max_tokens"),
    ({"prompt": PROMPT, "temperature": -1}, 400, "temperature"),
    ({"prompt": [PROMPT, PROMPT]}, 400, "prompt"),
    ({"prompt": PROMPT, "logprobs": 5}, 400, "logprobs"),
    ({"prompt": "#" * 30_000}, 413, None),  # over --max-body-bytes 20000
    ({"messages": []}, 400, "messages"),
])
def test_a_bad_request_gets_its_error_and_the_server_keeps_serving(server, body, status, param):
    path = "/v1/chat/completions" if isinstance(body, dict) and "messages" in body else "/v1/completions"
    got, r = call(server.url, "POST", path, body)
    assert got == status, r
    assert set(r) == {"error"} and set(r["error"]) == {"message", "type", "param", "code"}
    assert r["error"]["param"] == param and r["error"]["message"] and "\n" not in r["error"]["message"]
    ok, r = call(server.url, "POST", "/v1/completions", {"prompt": PROMPT, "max_tokens": 2, "temperature": 0})
    assert ok == 200 and r["usage"]["completion_tokens"] == 2


def test_unknown_paths_and_methods_are_error_objects(server):
    for method, path, status in (("GET", "/v1/nothing", 404), ("GET", "/v1/completions", 405)):
        got, r = call(server.url, method, path)
        assert got == status and set(r["error"]) == {"message", "type", "param", "code"}


def test_concurrent_clients_share_batches_and_a_full_queue_is_a_429(tiny, held):
    """One long request keeps the worker busy, one more waits in the queue of one: the third gets a 429 at once;
    the first two are answered; then queued requests from several clients are generated as one batch."""
    with running(model=str(tiny), max_queue=1) as s:
        answers: dict[str, tuple] = {}

        def send(key: str, max_tokens: int) -> None:
            answers[key] = call(s.url, "POST", "/v1/completions", {"prompt": PROMPT, "max_tokens": max_tokens,
                                                                   "temperature": 0})

        def wait_for(**want) -> None:
            deadline = time.monotonic() + 30
            while any(call(s.url, "GET", "/health")[1][k] != v for k, v in want.items()):
                assert time.monotonic() < deadline, f"never reached {want}"
                time.sleep(0.01)

        first = threading.Thread(target=send, args=("long", LONG))  # held until the 429 is seen
        first.start()
        wait_for(running=1)
        second = threading.Thread(target=send, args=("queued", 3))
        second.start()
        wait_for(queued=1)
        status, r = call(s.url, "POST", "/v1/completions", {"prompt": PROMPT, "max_tokens": 3})
        assert status == 429 and r["error"]["type"] == "rate_limit_error" and r["error"]["code"] == "queue_full"
        held.set()
        first.join(60)
        second.join(60)
        assert answers["long"][0] == 200 and answers["long"][1]["usage"]["completion_tokens"] == LONG
        assert answers["queued"][0] == 200 and answers["queued"][1]["usage"]["completion_tokens"] == 3
        health = call(s.url, "GET", "/health")[1]
        assert health["answered"] == 2 and health["failed"] == 0 and health["queued"] == health["running"] == 0


def test_requests_waiting_together_are_one_batch(tiny, held):
    with running(model=str(tiny), max_queue=16) as s:
        blocker = threading.Thread(target=call, args=(s.url, "POST", "/v1/completions",
                                                      {"prompt": PROMPT, "max_tokens": LONG, "temperature": 0}))
        blocker.start()
        while call(s.url, "GET", "/health")[1]["running"] != 1:
            time.sleep(0.01)
        prompts = [f"def f{i}(x):\n" for i in range(4)]
        out: dict = {}
        clients = [threading.Thread(target=lambda i=i: out.update({i: call(s.url, "POST", "/v1/completions", {
            "prompt": prompts[i], "max_tokens": 6, "temperature": 0})})) for i in range(4)]
        for c in clients:
            c.start()
        deadline = time.monotonic() + 30
        while call(s.url, "GET", "/health")[1]["queued"] != 4:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        held.set()
        for c in [blocker, *clients]:
            c.join(60)
        health = call(s.url, "GET", "/health")[1]
        assert health["batches"] == 2 and health["answered"] == 5  # the blocker's batch, then the four together
        want = local(tiny, prompts, 6)
        assert [out[i][1]["choices"][0]["text"] for i in range(4)] == [w.text for w in want]


def test_api_key(tiny):
    with running(model=str(tiny), api_key="s3cret") as s:
        body = {"prompt": PROMPT, "max_tokens": 2}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            status, r = call(s.url, "POST", "/v1/completions", body, headers)
            assert status == 401 and r["error"]["code"] == "invalid_api_key"
        assert call(s.url, "GET", "/v1/models")[0] == 401
        assert call(s.url, "GET", "/health")[0] == 200  # liveness needs no key
        status, r = call(s.url, "POST", "/v1/completions", body, {"Authorization": "Bearer s3cret"})
        assert status == 200 and r["usage"]["completion_tokens"] == 2


def test_serve_flags_are_checked_in_one_line(tmp_path):
    from codebabel.serve.server import ServeConfig

    for fields, needle in (({}, "pass --model"), ({"model": "m", "max_queue": 0}, "--max-queue 0"),
                           ({"model": "m", "port": 70000}, "--port 70000"),
                           ({"model": "m", "api_key": " "}, "--api-key")):
        with pytest.raises(CodebabelError, match=needle):
            ServeConfig(**fields)
    r = run_cli("serve", "--model", str(tmp_path / "nope"), "--port", "0", timeout=120)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "nope" in lines[0], r.stderr


def test_sigterm_answers_every_accepted_request_then_exits(tiny):
    proc = subprocess.Popen([sys.executable, "-m", "codebabel", "serve", "--model", str(tiny), "--backend", "hf",
                             "--device", "cpu", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert " at http://127.0.0.1:" in line, line + proc.stderr.read()
        url = line.split(" at ")[1].split("/v1")[0]
        answers: dict = {}
        clients = [threading.Thread(target=lambda i=i: answers.update({i: call(url, "POST", "/v1/completions", {
            "prompt": PROMPT, "max_tokens": 200 + i, "temperature": 0})})) for i in range(3)]
        for c in clients:
            c.start()
        deadline = time.monotonic() + 60
        while (h := call(url, "GET", "/health")[1])["queued"] + h["running"] != 3:
            assert time.monotonic() < deadline, h
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        for c in clients:
            c.join(120)
        assert [answers[i][0] for i in range(3)] == [200] * 3
        assert [answers[i][1]["usage"]["completion_tokens"] for i in range(3)] == [200, 201, 202]
        assert proc.wait(60) == 0
        assert "stopped: 3 requests answered, 0 refused or failed" in proc.stdout.read()
        assert call(url, "GET", "/health")[0] == 0  # no longer listening
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_experts_by_name_and_auto(tiny, tmp_path):
    """--experts: each expert by its language's name generates as the base + that adapter does in-process;
    `auto` routes (the tag router here) and answers with the expert it chose; the base stays the base."""
    run = random_experts(tiny, tmp_path / "run")
    prompt = "<php> <?php echo 1; <py>"
    with running(experts=str(run), router="tag") as s:
        assert [m["id"] for m in call(s.url, "GET", "/v1/models")[1]["data"]] == [str(tiny), *LANGS, "auto"]
        body = {"prompt": prompt, "max_tokens": 8, "temperature": 0}
        by_name = call(s.url, "POST", "/v1/completions", {**body, "model": "php"})[1]
        routed = call(s.url, "POST", "/v1/completions", {**body, "model": "auto"})[1]
        base = call(s.url, "POST", "/v1/completions", body)[1]
    php = local(tiny, [prompt], 8, adapter=str(run / "experts" / "php" / "adapter"))[0]
    assert by_name["choices"][0]["text"] == php.text == routed["choices"][0]["text"]
    assert routed["model"] == "php" and base["model"] == str(tiny)
    assert base["choices"][0]["text"] == local(tiny, [prompt], 8)[0].text != php.text


def test_llamacpp_base_and_experts(tiny, tmp_path):
    """The CPU default: llama.cpp on the tiny model's GGUF, each expert a GGUF LoRA adapter switched on for its
    requests; answers equal the llama.cpp backend's in-process samples."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install 'codebabel[llamacpp]')")
    from codebabel.generate.llamacpp import LlamaCppBackend
    from codebabel.models.loading import resolve
    from tests.tiny import write_tiny_gguf

    gguf = write_tiny_gguf(tiny, tmp_path / "tiny.gguf")
    run = random_experts(tiny, tmp_path / "run")
    prompt, sampling = "<php> <?php echo 1; <py>", SamplingConfig(max_new_tokens=8)
    with running(model=str(gguf), experts=str(run), router="tag", backend="auto") as s:
        assert s.served.backend.name == "llamacpp"
        body = {"prompt": prompt, "max_tokens": 8, "temperature": 0}
        got = {m: call(s.url, "POST", "/v1/completions", {**body, "model": m})[1] for m in (str(gguf), "php", "auto")}
    source = resolve(str(gguf))
    base = LlamaCppBackend(source).generate([prompt], sampling, [])[0][0]
    php_be = LlamaCppBackend(source, adapter=str(run / "experts" / "php" / "adapter"))
    php = php_be.generate([prompt], sampling, [])[0][0]
    assert got[str(gguf)]["choices"][0]["text"] == base.text != php.text
    assert got["php"]["choices"][0]["text"] == got["auto"]["choices"][0]["text"] == php.text
    assert got["auto"]["model"] == "php"


def test_llamacpp_batches_requests_with_their_own_seeds(tiny, tmp_path):
    """Sampled requests with different seeds waiting together are one batch on llama.cpp (each sample seeded
    with its request's seed), and each is the sample the llama.cpp backend draws for that seed in-process."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install 'codebabel[llamacpp]')")
    from codebabel.generate.llamacpp import LlamaCppBackend
    from codebabel.models.loading import resolve
    from codebabel.serve.engine import Engine, Work
    from codebabel.serve.model import ServedModel
    from tests.tiny import write_tiny_gguf

    source = resolve(str(write_tiny_gguf(tiny, tmp_path / "tiny.gguf")))
    engine = Engine(ServedModel("tiny", LlamaCppBackend(source)), max_queue=8)
    works = [Work(PROMPT, "tiny", SamplingConfig(temperature=0.9, max_new_tokens=10, seed=seed), ())
             for seed in (1, 2, 3)]
    for w in works:  # queued before the worker starts: it finds all of them waiting
        engine.submit(w)
    engine.start()
    try:
        got = [w.future.result(60)[0][0].text for w in works]
    finally:
        engine.close()
    assert engine.stats()["batches"] == 1 and engine.stats()["answered"] == 3
    alone = LlamaCppBackend(source, parallel=1)
    want = [alone.generate([PROMPT], w.sampling, [])[0][0].text for w in works]
    assert got == want and len(set(got)) == 3  # three seeds, three samples


@pytest.fixture(scope="module")
def tiny_gguf_source(tiny, tmp_path_factory):
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install 'codebabel[llamacpp]')")
    from codebabel.models.loading import resolve
    from tests.tiny import write_tiny_gguf

    return resolve(str(write_tiny_gguf(tiny, tmp_path_factory.mktemp("gguf") / "tiny.gguf")))


def arriving(engine, at: dict[int, list]) -> list[int]:
    """Requests that arrive while the engine's llama.cpp loop runs: ``at[k]`` submitted just before the loop's
    ``k``-th look for new requests (one per step while a slot is free), so they come in mid-loop, at a known
    step, from no timing. The steps' count so far is returned (a list, filled as the loops run)."""
    served, steps = engine.served, []
    stream = served.generate_stream

    def spied(name, requests, refill):
        def counted():
            steps.append(name)
            for w in at.pop(len(steps), []):
                engine.submit(w)
            return refill()
        stream(name, requests, counted)

    served.generate_stream = spied
    return steps


def test_llamacpp_a_request_arriving_mid_decode_joins_the_running_loop(tiny_gguf_source):
    """Continuous batching: a request submitted while a long one decodes joins its loop at once (a slot is free)
    and is answered while the long one still decodes, not after it; one loop served both."""
    from codebabel.generate.llamacpp import LlamaCppBackend
    from codebabel.serve.engine import Engine, Work
    from codebabel.serve.model import ServedModel

    engine = Engine(ServedModel("tiny", LlamaCppBackend(tiny_gguf_source, n_ctx=1024)), max_queue=4)
    long = Work(PROMPT, "tiny", SamplingConfig(max_new_tokens=600), ())
    short = Work("def f(x):\n", "tiny", SamplingConfig(max_new_tokens=3), ())
    order: list[str] = []
    for key, w in (("long", long), ("short", short)):  # called on the worker thread as each future is set
        w.future.add_done_callback(lambda _, key=key: order.append(key))
    arriving(engine, {20: [short]})
    engine.submit(long)
    engine.start()
    try:
        long_samples, short_samples = long.future.result(120)[0], short.future.result(120)[0]
    finally:
        engine.close()
    assert order == ["short", "long"]
    assert short_samples[0].n_tokens == 3 and long_samples[0].n_tokens == 600
    stats = engine.stats()
    assert stats["batches"] == 1 and stats["joined"] == 1 and stats["answered"] == 2 and stats["running"] == 0


def test_llamacpp_requests_with_their_own_settings_share_a_loop(tiny_gguf_source):
    """One llama.cpp loop serves requests with different sampling settings, seeds, n, budgets and stop sequences,
    some waiting at the start, some arriving mid-loop: each gets what it gets alone (f32 KV cache, so
    greedy choices match exactly); one the backend refuses (a prompt past the context) fails alone."""
    from codebabel.generate.llamacpp import LlamaCppBackend
    from codebabel.serve.engine import Engine, Work
    from codebabel.serve.model import ServedModel
    from codebabel.serve.protocol import ApiError

    alone = LlamaCppBackend(tiny_gguf_source, n_ctx=256, parallel=1, type_k=0, type_v=0)
    greedy = SamplingConfig(max_new_tokens=20)
    full = alone.generate(["def g(y):\n"], greedy, [])[0][0].text
    works = [
        Work(PROMPT, "tiny", SamplingConfig(max_new_tokens=12), ()),
        Work("def g(y):\n", "tiny", greedy, (full[6:9],)),  # stops mid-way
        Work(PROMPT, "tiny", SamplingConfig(n=2, temperature=0.9, max_new_tokens=10, seed=5), ()),
        Work("class A:\n", "tiny", SamplingConfig(temperature=0.7, top_k=20, top_p=0.9, max_new_tokens=16, seed=9),
             ("\n\n\n",)),
        Work("x = [", "tiny", SamplingConfig(max_new_tokens=8), ("]",)),
    ]
    engine = Engine(ServedModel("tiny", LlamaCppBackend(tiny_gguf_source, n_ctx=256, parallel=4, type_k=0,
                                                        type_v=0)), max_queue=8)
    too_long = Work("word " * 300, "tiny", greedy, ())
    arriving(engine, {3: works[2:4], 7: [too_long, *works[4:]]})
    for w in works[:2]:
        engine.submit(w)
    engine.start()
    try:
        got = [w.future.result(120)[0] for w in works]
    finally:
        engine.close()
    want = [alone.generate([w.prompt], w.sampling, list(w.stop))[0] for w in works]
    assert [[(c.text, c.n_tokens, c.finish_reason) for c in g] for g in got] == \
        [[(c.text, c.n_tokens, c.finish_reason) for c in r] for r in want]
    assert got[1][0].finish_reason == "stop" and len(got[2]) == 2
    with pytest.raises(ApiError, match="does not fit the llama.cpp context of 256 tokens") as refused:
        too_long.future.result(0)
    assert refused.value.status == 400
    stats = engine.stats()
    assert stats["batches"] == 1 and stats["joined"] == 4 and stats["answered"] == 5 and stats["failed"] == 1


def test_llamacpp_a_request_for_another_name_waits_for_the_loop_and_keeps_its_turn(tiny, tmp_path):
    """A request for an expert arriving while the base's loop runs is held back: base requests arriving after it
    no longer join the base's loop, they wait for the expert's; every answer is what its model gives alone."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install 'codebabel[llamacpp]')")
    from codebabel.generate.llamacpp import LlamaCppBackend
    from codebabel.models.loading import resolve
    from codebabel.serve.engine import Engine, Work
    from codebabel.serve.model import ServedModel
    from tests.tiny import write_tiny_gguf

    source = resolve(str(write_tiny_gguf(tiny, tmp_path / "tiny.gguf")))
    run = random_experts(tiny, tmp_path / "run")
    adapters = {lang: run / "experts" / lang / "adapter" for lang in LANGS}
    served = ServedModel("tiny", LlamaCppBackend(source, n_ctx=256, type_k=0, type_v=0), adapters=adapters)
    engine = Engine(served, max_queue=8)
    sampling = SamplingConfig(max_new_tokens=8)
    first = Work(PROMPT, "tiny", SamplingConfig(max_new_tokens=40), ())
    php, joins, after = (Work(PROMPT, m, sampling, ()) for m in ("php", "tiny", "tiny"))
    order: list[str] = []
    for key, w in (("first", first), ("php", php), ("joins", joins), ("after", after)):
        w.future.add_done_callback(lambda _, key=key: order.append(key))
    steps = arriving(engine, {2: [joins], 4: [php, after]})
    engine.submit(first)
    engine.start()
    try:
        got = {key: w.future.result(120) for key, w in (("first", first), ("php", php), ("joins", joins),
                                                        ("after", after))}
    finally:
        engine.close()
    assert order.index("php") < order.index("after") and order.index("first") < order.index("php")
    assert {key: name for key, (_, name) in got.items()} == {"first": "tiny", "php": "php", "joins": "tiny",
                                                              "after": "tiny"}
    assert set(steps) == {"tiny", "php"} and engine.stats()["batches"] == 3 and engine.stats()["joined"] == 1
    base = LlamaCppBackend(source, n_ctx=256, parallel=1, type_k=0, type_v=0)
    expert = LlamaCppBackend(source, n_ctx=256, parallel=1, type_k=0, type_v=0, adapter=str(adapters["php"]))
    assert got["php"][0][0].text == expert.generate([PROMPT], sampling, [])[0][0].text
    assert got["joins"][0][0].text == got["after"][0][0].text == base.generate([PROMPT], sampling, [])[0][0].text


def random_experts(tiny: Path, run: Path) -> Path:
    """A routing run folder with three random (non-zero) LoRA experts on the tiny model (as tests/test_route.py)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    for k, lang in enumerate(LANGS):
        torch.manual_seed(100 + k)
        cfg = LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj", "o_proj", "down_proj"],
                         init_lora_weights=False)
        get_peft_model(AutoModelForCausalLM.from_pretrained(tiny), cfg).save_pretrained(
            run / "experts" / lang / "adapter")
        (run / "experts" / lang / "recipe.json").write_text(json.dumps({"model": str(tiny)}))
    return run
