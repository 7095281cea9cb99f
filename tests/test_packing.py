"""Packing: no attention across samples, no label crossing a sample boundary, pads inert, prompts unlabelled;
JSONL samples (text and prompt→completion) read with one-line errors."""

import json

import pytest
import torch

from codebabel.errors import CodebabelError
from codebabel.train.packing import PackedCollator, pack, pieces
from codebabel.train.samples import packed_rows


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from transformers import AutoModelForCausalLM

    from tests.tiny import build_tiny_model

    path = build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny")
    return AutoModelForCausalLM.from_pretrained(path).eval(), path


def test_pieces_and_rows_keep_documents_apart_and_fill_rows():
    docs = [list(range(1, 11)), [20, 21, 22], list(range(30, 55))]
    ps = list(pieces(docs, seq_len=8, eos_id=0))
    assert ps[0] == ([1, 2, 3, 4, 5, 6, 7, 8], 0) and ps[1] == ([9, 10, 0], 0) and ps[2] == ([20, 21, 22, 0], 0)
    assert sum(len(p) for p, _ in ps) == sum(len(d) + 1 for d in docs)  # nothing lost, nothing padded
    rows = list(pack(ps, seq_len=8))
    assert all(sum(len(p) for p, _ in r) <= 8 for r in rows)
    assert [p for r in rows for p in r] == ps  # order kept


def test_packed_batch_gives_each_document_the_logits_it_has_alone(tiny):
    model, _ = tiny
    torch.manual_seed(0)
    a, b, c = (torch.randint(3, 300, (n,)).tolist() for n in (13, 9, 6))
    batch = PackedCollator(pad_id=0)([{"pieces": [a, b]}, {"pieces": [c]}])
    assert batch["input_ids"].shape == (2, 22)  # rows kept apart; the short row is filled to the longest
    assert batch["num_real_tokens"].item() == 28
    assert batch["position_ids"][0].tolist() == [*range(13), *range(9)]
    assert batch["position_ids"][1].tolist() == [*range(6), *range(16)]  # the pad run is a block of its own
    assert batch["labels"][0, 13].item() == -100  # no label crosses into the next document
    assert (batch["labels"][1, 6:] == -100).all()  # pads are never trained on
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
        for row, start, doc in ((0, 0, a), (0, 13, b), (1, 0, c)):
            alone = model(input_ids=torch.tensor([doc])).logits[0]
            torch.testing.assert_close(packed[row, start:start + len(doc)], alone, atol=1e-4, rtol=1e-4)
        # the check can fail: without restarting positions, b sees a
        plain = model(input_ids=batch["input_ids"], use_cache=False).logits[0]
        assert not torch.allclose(plain[13:22], model(input_ids=torch.tensor([b])).logits[0], atol=1e-3)


def test_packed_loss_equals_the_token_weighted_loss_of_the_documents(tiny):
    model, _ = tiny
    torch.manual_seed(1)
    docs = [torch.randint(3, 300, (n,)).tolist() for n in (7, 12, 5)]
    batch = PackedCollator()([{"pieces": docs[:2]}, {"pieces": docs[2:]}])
    batch.pop("num_real_tokens")
    with torch.no_grad():
        packed = model(**batch, use_cache=False).loss
        total = sum(model(input_ids=torch.tensor([d]), labels=torch.tensor([d])).loss * (len(d) - 1) for d in docs)
    torch.testing.assert_close(packed, total / sum(len(d) - 1 for d in docs), atol=1e-5, rtol=1e-5)


def test_prompt_tokens_carry_no_loss(tiny):
    model, _ = tiny
    torch.manual_seed(2)
    prompt, completion = torch.randint(3, 300, (8,)).tolist(), torch.randint(3, 300, (5,)).tolist()
    other = torch.randint(3, 300, (6,)).tolist()
    batch = PackedCollator()([{"pieces": [prompt + completion, other], "masked": [len(prompt), 0]}])
    labels = batch["labels"][0].tolist()
    assert labels[:8] == [-100] * 8 and labels[8:13] == completion and labels[13] == -100
    batch.pop("num_real_tokens")
    with torch.no_grad():
        packed = model(**batch, use_cache=False).loss
        ids = torch.tensor([prompt + completion])
        only = model(input_ids=ids, labels=torch.tensor([[-100] * 8 + completion])).loss * 5
        rest = model(input_ids=torch.tensor([other]), labels=torch.tensor([other])).loss * 5
    torch.testing.assert_close(packed, (only + rest) / 10, atol=1e-5, rtol=1e-5)


def test_jsonl_samples_text_and_prompt_completion(tiny, tmp_path):
    from transformers import AutoTokenizer

    _, path = tiny
    tok = AutoTokenizer.from_pretrained(path)
    rows = [{"prompt": "def add(a, b):\n", "completion": "    return a + b\n"},
            {"text": "x = 1\n" * 3},
            {"prompt": "p " * 200, "completion": "c"},  # the prompt alone fills seq_len: dropped
            {"prompt": "q", "completion": " long" * 100}]  # truncated at seq_len
    for split in ("train", "validation"):
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:2 if split != "train" else 4]))
    train, stats = packed_rows((str(tmp_path / "{split}.jsonl"),), "train", "train", tok, seq_len=32)
    assert (stats.samples, stats.truncated, stats.dropped) == (3, 1, 1)
    first = train[0]
    n_prompt = len(tok("def add(a, b):\n", add_special_tokens=False)["input_ids"])
    assert first["masked"][0] == n_prompt and first["masked"][1] == 0
    assert all(sum(map(len, r["pieces"])) <= 32 for r in train)
    val, vstats = packed_rows((str(tmp_path / "{split}.jsonl"),), "validation", "train", tok, seq_len=32)
    assert vstats.samples == 2 and val
    # a path without {split} is training data only
    none, _ = packed_rows((str(tmp_path / "train.jsonl"),), "validation", "train", tok, seq_len=32)
    assert none == []


def test_chat_samples_train_on_the_last_assistant_turn_only(tiny, tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny[1])
    messages = [{"role": "user", "content": "Write add."}, {"role": "assistant", "content": "def add(a, b): ..."}]
    (tmp_path / "c.jsonl").write_text(json.dumps({"messages": messages, "id": "x"}) + "\n")
    rows, stats = packed_rows((str(tmp_path / "c.jsonl"),), "train", "train", tok, seq_len=256)
    prompt = tok.apply_chat_template(messages[:1], add_generation_prompt=True, tokenize=False)
    whole = tok.apply_chat_template(messages, tokenize=False)
    ids = [int(t) for t in rows[0]["pieces"][0]]
    assert stats.samples == 1 and ids == tok(whole, add_special_tokens=False)["input_ids"]  # no extra EOS
    n_prompt = rows[0]["masked"][0]
    assert n_prompt == len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert "def add" in tok.decode(ids[n_prompt:]) and "def add" not in tok.decode(ids[:n_prompt])
    # a model without a chat template, or a conversation that does not end with the assistant: one line
    tok.chat_template = None
    with pytest.raises(CodebabelError, match="c.jsonl:1: .*needs a model with a chat template"):
        packed_rows((str(tmp_path / "c.jsonl"),), "train", "train", tok, seq_len=256)
    (tmp_path / "u.jsonl").write_text(json.dumps({"messages": messages[:1]}) + "\n")
    with pytest.raises(CodebabelError, match='u.jsonl:1: a sample needs .*"messages"'):
        packed_rows((str(tmp_path / "u.jsonl"),), "train", "train", tok, seq_len=256)


@pytest.mark.parametrize(("content", "message"), [
    ('{"text": "a"}\nnot json\n', ":2: not valid JSON"),
    ('{"prompt": "a"}\n', ':1: a sample needs a string "text"'),
])
def test_bad_jsonl_is_a_one_line_error_naming_the_line(tiny, tmp_path, content, message):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny[1])
    (tmp_path / "d.jsonl").write_text(content)
    with pytest.raises(CodebabelError, match=message):
        packed_rows((str(tmp_path / "d.jsonl"),), "train", "train", tok, seq_len=32)
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(CodebabelError, match="not a corpus folder or a .jsonl"):
        packed_rows((str(tmp_path / "d.txt"),), "train", "train", tok, seq_len=32)


def test_chunked_loss_matches_the_models_loss_and_gradients(tiny):
    from peft import LoraConfig, get_peft_model

    from codebabel.train.loss import chunked_lm_loss

    model, path = tiny
    from transformers import AutoModelForCausalLM

    torch.manual_seed(3)
    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(path),
                                LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.train()
    docs = [torch.randint(3, 300, (n,)).tolist() for n in (9, 14, 5)]
    batch = PackedCollator()([{"pieces": docs[:2], "masked": [4, 0]}, {"pieces": docs[2:]}])
    batch.pop("num_real_tokens")

    def grads(loss):
        peft_model.zero_grad()
        loss.backward()
        return [p.grad.clone() for p in peft_model.parameters() if p.requires_grad]

    reference = peft_model(**batch, use_cache=False).loss
    g_ref = grads(reference)
    ours = chunked_lm_loss(peft_model, batch, None, chunk=7)  # chunks smaller than a row
    torch.testing.assert_close(ours, reference.detach(), atol=1e-5, rtol=1e-5)
    for a, b in zip(grads(ours), g_ref, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    # a LoRA on the output head changes the logits: the chunked path declines
    on_head = get_peft_model(AutoModelForCausalLM.from_pretrained(path), LoraConfig(r=2, target_modules=["lm_head"]))
    assert chunked_lm_loss(on_head, batch, None, chunk=7) is None
