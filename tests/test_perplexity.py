"""`codebabel evaluate perplexity`: sliding-window NLL against direct transformers computations on a tiny model."""

import gzip
import json
import math
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from codebabel.cli import app
from codebabel.config import PerplexityConfig
from codebabel.data.corpus import iter_texts, open_split
from codebabel.errors import CodebabelError
from codebabel.evaluate.perplexity import (
    evaluate_perplexity,
    score_documents,
    tokenize,
    windows,
)
from codebabel.models.loading import load_model
from tests.conftest import run_cli
from tests.tiny import build_tiny_model

SHORT = "def add(a, b):\n    return a + b\n"
DOCS = [
    "def is_even(n: int) -> bool:\n    return n % 2 == 0\n" * 6,
    "for i in range(10):\n    print(i)\n" * 9 + "# é ünïcödé ✓\n",
    "public static int max(int[] xs) { return xs[0]; }\n" * 4,
    SHORT,
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def loaded(tiny):
    return load_model(str(tiny), device="cpu", dtype="fp32")


def write_corpus(root: Path, language: str, docs: list[str], splits=("train", "validation", "test"),
                 gz: bool = False, per_shard: int = 2) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    manifest = {"language": language, "splits": {s: {"files": len(docs)} for s in splits}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    for split in splits:
        (root / split).mkdir()
        for k in range(0, len(docs), per_shard):
            rows = "".join(json.dumps({"id": f"{split}-{i}", "text": t}) + "\n"
                           for i, t in enumerate(docs[k: k + per_shard], k))
            name = root / split / f"shard-{k // per_shard:05d}.jsonl"
            if gz:
                with gzip.open(str(name) + ".gz", "wt", encoding="utf-8") as f:
                    f.write(rows)
            else:
                name.write_text(rows)
    return root


def direct_sum(model, ids: list[int]) -> tuple[float, int]:
    """Summed NLL of ``ids`` in one forward pass, from transformers' own (mean) loss."""
    x = torch.tensor([ids])
    with torch.no_grad():
        loss = model(x, labels=x).loss.item()
    return loss * (len(ids) - 1), len(ids) - 1


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def test_windows_score_every_token_once():
    for n in range(0, 40):
        for context in (2, 3, 5, 8, 16):
            for stride in range(1, context + 1):
                scored = [b + j for b, e, f in windows(n, context, stride) for j in range(f, e - b)]
                assert all(e - b <= context for b, e, _ in windows(n, context, stride))
                if stride < context:
                    assert scored == list(range(1, n)), (n, context, stride)
                else:  # no overlap: the first token of each window has no context, as in the HF guide
                    assert scored == [i for i in range(n) if i % context], (n, context, stride)


def test_short_text_matches_the_models_own_loss(loaded):
    model, tok = loaded
    ids = tokenize(tok, SHORT)
    assert 2 < len(ids) < 64
    x = torch.tensor([ids])
    with torch.no_grad():
        loss = model(x, labels=x).loss.item()
    t = score_documents(model, tok, [SHORT], context=64, stride=16)
    assert t.tokens == len(ids) - 1 and t.documents == 1 and t.bytes == len(SHORT.encode())
    assert rel(t.perplexity, math.exp(loss)) < 1e-5


def test_stride_equal_to_context_is_consecutive_blocks(loaded):
    model, tok = loaded
    context = 16
    nll = tokens = 0
    for doc in DOCS:
        ids = tokenize(tok, doc)
        for k in range(0, len(ids), context):
            block = ids[k: k + context]
            if len(block) > 1:
                s, n = direct_sum(model, block)
                nll, tokens = nll + s, tokens + n
    for batch_size in (1, 3, 64):  # batching (with right padding) changes nothing
        t = score_documents(model, tok, DOCS, context=context, stride=context, batch_size=batch_size)
        assert t.tokens == tokens
        assert rel(t.nll, nll) < 1e-5 and rel(t.perplexity, math.exp(nll / tokens)) < 1e-5


def test_overlapping_windows_score_every_token_once(loaded):
    model, tok = loaded
    lengths = [len(tokenize(tok, d)) for d in DOCS]
    assert max(lengths) > 100  # several windows per long document
    long = score_documents(model, tok, DOCS, context=max(lengths), stride=7)
    for context, stride in ((32, 8), (32, 31), (17, 5), (64, 1)):
        t = score_documents(model, tok, DOCS, context=context, stride=stride, batch_size=5)
        assert t.tokens == sum(n - 1 for n in lengths) == long.tokens
        assert t.documents == len(DOCS) and t.bytes == sum(len(d.encode()) for d in DOCS)
        assert math.isfinite(t.nll) and t.nll > 0
    # with the window as long as every document the stride does not matter: one window per document
    direct = [direct_sum(model, tokenize(tok, d)) for d in DOCS]
    want = sum(s for s, _ in direct)
    assert rel(long.nll, want) < 1e-5
    for stride in (1, 50, max(lengths)):
        assert rel(score_documents(model, tok, DOCS, context=max(lengths), stride=stride).nll, want) < 1e-5
    # more context never scores a token twice, and a longer window is a different (close) number
    short_ctx = score_documents(model, tok, DOCS, context=48, stride=24)
    assert short_ctx.tokens == long.tokens and short_ctx.nll != long.nll


def test_corpora_results_and_bits_per_byte(tiny, loaded, tmp_path):
    model, tok = loaded
    ruby = write_corpus(tmp_path / "ruby", "rb", DOCS)
    go = write_corpus(tmp_path / "go", "go", DOCS[:2], gz=True, per_shard=1)
    (go / "manifest.json").write_text(json.dumps({"language": "go"}))  # no split counts: fine
    out = tmp_path / "out" / "ppl.json"
    report = evaluate_perplexity(PerplexityConfig(model=str(tiny), data=(str(ruby), str(go)), context=32,
                                                  stride=16, device="cpu", dtype="fp32", out=str(out)))
    assert json.loads(out.read_text()) == report
    r_rb, r_go = report["results"]
    assert [r["language"] for r in report["results"]] == ["rb", "go"]
    assert r_rb["corpus"] == str(ruby) and r_rb["split"] == "test" and r_rb["documents"] == len(DOCS)
    assert r_go["documents"] == 2 and r_go["bytes"] == sum(len(d.encode()) for d in DOCS[:2])
    want = score_documents(model, tok, DOCS, context=32, stride=16)
    assert r_rb["tokens"] == want.tokens and rel(r_rb["nll_nats"], want.nll) < 1e-6
    for r in report["results"]:
        assert r["perplexity"] == pytest.approx(math.exp(r["nll_nats"] / r["tokens"]), rel=1e-12)
        assert r["bits_per_byte"] == pytest.approx(r["nll_nats"] / math.log(2) / r["bytes"], rel=1e-12)
        assert r["time_s"] >= 0
    # --limit takes the first N documents in shard order, train split reads its own folder
    limited = evaluate_perplexity(PerplexityConfig(model=str(tiny), data=(str(ruby),), split="train", limit=3,
                                                   context=32, stride=16, device="cpu", dtype="fp32"))
    assert limited["results"][0]["documents"] == 3 and limited["results"][0]["split"] == "train"
    assert list(iter_texts(open_split(ruby, "train"), limit=3)) == DOCS[:3]


def test_bad_inputs_are_one_line_errors(tiny, tmp_path):
    good = write_corpus(tmp_path / "good", "py", DOCS[:1])
    no_test = write_corpus(tmp_path / "no_test", "py", DOCS[:1], splits=("train",))
    empty = write_corpus(tmp_path / "empty", "py", [])  # split folders without shards
    blank = write_corpus(tmp_path / "blank", "py", [""])
    (blank / "test" / "shard-00000.jsonl").write_text("\n")
    no_manifest = tmp_path / "no_manifest"
    no_manifest.mkdir()
    cases = [
        (dict(data=(str(tmp_path / "nope"),)), "no such folder"),
        (dict(data=(str(no_manifest),)), "manifest.json"),
        (dict(data=(str(no_test),)), "no 'test' split folder (has: train)"),
        (dict(data=(str(empty),)), "no *.jsonl"),
        (dict(data=(str(blank),)), "no rows"),
        (dict(data=(str(good),), stride=0), "--stride 0"),
        (dict(data=(str(good),), context=8, stride=9), "--stride 9"),
        (dict(data=(str(good),), context=1, stride=1), "--context 1"),
        (dict(data=()), "--data"),
        (dict(data=(str(good),), limit=0), "--limit 0"),
        (dict(data=(str(good),), context=4096, stride=512), "--context 4096"),  # the tiny model has 1024
    ]
    for kwargs, needle in cases:
        with pytest.raises(CodebabelError) as e:
            evaluate_perplexity(PerplexityConfig(model=str(tiny), device="cpu", **kwargs))
        assert needle in str(e.value) and "\n" not in str(e.value), (kwargs, str(e.value))
    (good / "test" / "shard-00001.jsonl").write_text('{"id": "x"}\n')
    with pytest.raises(CodebabelError, match=r"shard-00001.jsonl:1: malformed row"):
        evaluate_perplexity(PerplexityConfig(model=str(tiny), data=(str(good),), device="cpu"))


def test_cli_table_and_out_json(tiny, tmp_path):
    ruby = write_corpus(tmp_path / "ruby", "rb", DOCS[:2])
    go = write_corpus(tmp_path / "go", "go", DOCS[2:])
    out = tmp_path / "ppl.json"
    r = CliRunner().invoke(app, ["evaluate", "perplexity", "--model", str(tiny), "--data", str(ruby), "--data",
                                 str(go), "--context", "32", "--stride", "16", "--device", "cpu", "--out", str(out)])
    assert r.exit_code == 0, r.output
    report = json.loads(out.read_text())
    assert [x["language"] for x in report["results"]] == ["rb", "go"]
    assert report["context"] == 32 and report["stride"] == 16 and report["split"] == "test"
    for col in ("language", "perplexity", "bits/byte", "rb", "go"):
        assert col in r.output
    assert f"{report['results'][0]['perplexity']:.4f}" in r.output


def test_cli_errors_are_one_line(tmp_path):
    r = run_cli("evaluate", "perplexity", "--model", "x", "--data", str(tmp_path / "nope"), timeout=120)
    assert r.returncode == 2 and r.stderr.strip().startswith("error:") and len(r.stderr.strip().splitlines()) == 1
    assert "nope" in r.stderr
    r = run_cli("evaluate", "--model", "x", "perplexity", "--data", "y", timeout=120)
    assert r.returncode == 2 and "go after its name" in r.stderr


def test_adapter_changes_the_result_like_peft_itself(tiny, loaded, tmp_path):
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(str(tiny), dtype=torch.float32)
    lora = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                           init_lora_weights=False))
    lora.save_pretrained(str(tmp_path / "adapter"))
    corpus = write_corpus(tmp_path / "c", "py", DOCS)

    def run(adapter, context=32, stride=16):
        cfg = PerplexityConfig(model=str(tiny), adapter=adapter, data=(str(corpus),), context=context,
                               stride=stride, device="cpu", dtype="fp32")
        return evaluate_perplexity(cfg)["results"][0]

    plain, adapted = run(None), run(str(tmp_path / "adapter"))
    assert adapted["tokens"] == plain["tokens"] and rel(adapted["nll_nats"], plain["nll_nats"]) > 1e-3
    peft_model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(tiny), dtype=torch.float32),
                                           str(tmp_path / "adapter")).eval()
    _, tok = loaded
    want = score_documents(peft_model, tok, DOCS, context=32, stride=16, batch_size=1)
    assert rel(adapted["nll_nats"], want.nll) < 1e-5
    # and, one window per document, the PeftModel's own loss
    whole = run(str(tmp_path / "adapter"), context=1024, stride=1024)
    direct = sum(direct_sum(peft_model, tokenize(tok, d))[0] for d in DOCS)
    assert rel(whole["nll_nats"], direct) < 1e-5


def test_a_tokenizer_that_adds_bos_gets_every_text_token_scored(loaded):
    from tokenizers.processors import TemplateProcessing

    model, tok = loaded
    text_ids = tokenize(tok, SHORT)
    bos = tok.bos_token_id
    with_bos = type(tok).from_pretrained(tok.name_or_path)
    with_bos.backend_tokenizer.post_processor = TemplateProcessing(
        single=f"{tok.bos_token} $A", special_tokens=[(tok.bos_token, bos)])
    ids = tokenize(with_bos, SHORT)
    assert ids == [bos, *text_ids]
    t = score_documents(model, with_bos, [SHORT], context=64, stride=16)
    assert t.tokens == len(text_ids)  # the BOS is context; every token of the text is scored
    assert rel(t.nll, direct_sum(model, ids)[0]) < 1e-5
