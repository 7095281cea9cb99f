"""Packing: no padding, no attention across documents, no label crossing a document boundary."""

import torch

from codebabel.train.packing import PackedCollator, pack, pieces


def test_pieces_and_rows_keep_documents_apart_and_fill_rows():
    docs = [list(range(1, 11)), [20, 21, 22], list(range(30, 55))]
    ps = list(pieces(docs, seq_len=8, eos_id=0))
    assert ps[0] == [1, 2, 3, 4, 5, 6, 7, 8] and ps[1] == [9, 10, 0] and ps[2] == [20, 21, 22, 0]
    assert sum(map(len, ps)) == sum(len(d) + 1 for d in docs)  # nothing lost, nothing padded
    rows = list(pack(ps, seq_len=8))
    assert all(sum(map(len, r)) <= 8 for r in rows)
    assert [p for r in rows for p in r] == ps  # order kept


def test_packed_batch_gives_each_document_the_logits_it_has_alone(tmp_path):
    from transformers import AutoModelForCausalLM

    from codebabel.models.tiny import build_tiny_model

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(build_tiny_model(tmp_path / "tiny")).eval()
    a = torch.randint(3, 300, (13,)).tolist()
    b = torch.randint(3, 300, (9,)).tolist()
    c = torch.randint(3, 300, (6,)).tolist()
    batch = PackedCollator()([{"pieces": [a, b]}, {"pieces": [c]}])
    assert batch["input_ids"].shape == (1, 28)  # one row, no padding
    assert batch["position_ids"][0].tolist() == [*range(13), *range(9), *range(6)]
    assert batch["labels"][0, 13].item() == -100 and batch["labels"][0, 22].item() == -100  # no cross-document label
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        starts = [0, 13, 22]
        for doc, s in zip((a, b, c), starts, strict=True):
            alone = model(input_ids=torch.tensor([doc])).logits[0]
            torch.testing.assert_close(packed[s:s + len(doc)], alone, atol=1e-5, rtol=1e-5)
        # the check can fail: concatenated without restarting positions, b sees a
        plain = model(input_ids=batch["input_ids"], use_cache=False).logits[0]
        assert not torch.allclose(plain[13:22], model(input_ids=torch.tensor([b])).logits[0], atol=1e-3)


def test_packed_loss_equals_the_token_weighted_loss_of_the_documents(tmp_path):
    from transformers import AutoModelForCausalLM

    from codebabel.models.tiny import build_tiny_model

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(build_tiny_model(tmp_path / "tiny")).eval()
    docs = [torch.randint(3, 300, (n,)).tolist() for n in (7, 12, 5)]
    batch = PackedCollator()([{"pieces": docs}])
    with torch.no_grad():
        packed = model(**batch, use_cache=False).loss
        total = sum(model(input_ids=torch.tensor([d]), labels=torch.tensor([d])).loss * (len(d) - 1) for d in docs)
    torch.testing.assert_close(packed, total / sum(len(d) - 1 for d in docs), atol=1e-5, rtol=1e-5)
