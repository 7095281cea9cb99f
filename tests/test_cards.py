"""Cards with Hugging Face front matter: the model card `codebabel train` writes (over PEFT's) and `export --merge`'s,
the synth dataset card and the corpus card; each read back with huggingface_hub's ModelCard / DatasetCard."""

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny LoRA run (2 steps, validation measured) on a Python corpus folder."""
    from codebabel.train.recipe import recipe_from_dict
    from codebabel.train.trainer import train
    from tests.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("cards")
    model = build_tiny_model(root / "tiny")
    data = root / "python"
    for split, n in (("train", 12), ("validation", 2)):
        (data / split).mkdir(parents=True)
        (data / split / "00000.jsonl").write_text("".join(
            json.dumps({"id": f"{split}{i}", "text": f"def f{i}(a):\n    return a * {i}\n"}) + "\n" for i in range(n)))
    (data / "manifest.json").write_text(json.dumps({"language": "py", "sources": [
        {"label": "hf-hub:bigcode/the-stack-smol", "kind": "hf-hub", "location": "bigcode/the-stack-smol"}]}))
    recipe = recipe_from_dict({"model": str(model), "data": [str(data)], "output": str(root / "runs"), "name": "card",
                               "max_steps": 2, "batch_size": 2, "seq_len": 64, "eval_every": 2,
                               "lora": {"r": 4, "alpha": 8}}, "test")
    return root, model, train(recipe)


def test_the_adapter_card_has_hub_front_matter_and_keeps_pefts_fields(trained):
    from huggingface_hub import ModelCard

    _, _, summary = trained
    card = ModelCard.load(Path(summary["result"]) / "README.md")
    d = card.data
    assert d.library_name == "peft" and d.pipeline_tag == "text-generation"  # PEFT's fields, kept
    assert d.base_model is None  # a local folder: PEFT's path removed (the Hub refuses a path)
    assert {"lora", "transformers"} <= set(d.tags) and {"codebabel", "python"} <= set(d.tags)
    assert not [t for t in d.tags if t.startswith("base_model:")]
    assert d.datasets == ["bigcode/the-stack-smol"]  # the corpus was built from a Hub dataset
    stage = summary["stages"][0]
    metrics = {e.metric_type: e.metric_value for e in d.eval_results}
    assert metrics == {"loss": pytest.approx(stage["eval_loss"], abs=1e-4),
                       "perplexity": pytest.approx(stage["eval_perplexity"], abs=1e-4)}
    assert {e.dataset_split for e in d.eval_results} == {"validation"}
    assert "Fine-tuned by `codebabel train` (lora)" in card.text and "| perplexity |" in card.text


def test_the_card_names_the_hub_base_of_a_registered_or_hub_model():
    from codebabel.train.card import model_card
    from tests.reportkit import recipe

    meta, body = model_card(recipe("r", "/nowhere"), [], [])
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and meta["license"] == "apache-2.0"
    assert "base_model:adapter:HuggingFaceTB/SmolLM2-135M-Instruct" in meta["tags"]
    assert meta["library_name"] == "peft" and "eval_results" not in meta
    meta, _ = model_card({**recipe("r", "/nowhere", method="full"), "model": "Qwen/Qwen2.5-Coder-0.5B"}, [], [])
    assert meta["base_model"] == "Qwen/Qwen2.5-Coder-0.5B" and meta["library_name"] == "transformers"
    assert "full-fine-tune" in meta["tags"] and "base_model:finetune:Qwen/Qwen2.5-Coder-0.5B" in meta["tags"]
    assert meta["license"] is None  # not known for a Hub id: the key is left out of the card


def test_the_merged_models_card(trained, tmp_path):
    from huggingface_hub import ModelCard

    from codebabel.train.trainer import export_merged

    _, model, summary = trained
    out = export_merged(summary["result"], str(tmp_path / "merged"), str(model))
    d = ModelCard.load(out / "README.md").data
    assert d.library_name == "transformers" and d.base_model is None
    assert {"codebabel", "python", "merged-lora"} <= set(d.tags) and "lora" not in d.tags
    assert d.datasets == ["bigcode/the-stack-smol"]


def test_the_synth_dataset_card_is_refreshed_from_its_funnel_keeping_its_text(tmp_path):
    from huggingface_hub import DatasetCard

    from codebabel.synth.dataset import refresh_card

    folder = tmp_path / "lua-racket"
    shutil.copytree(ROOT / "data" / "synth" / "lua-racket", folder)
    before = (folder / "README.md").read_text()
    refresh_card(folder)
    card = DatasetCard.load(folder / "README.md")
    d = card.data
    assert d.task_categories == ["text-generation"] and d.language == ["code"] and d.size_categories == ["n<1K"]
    assert {"codebabel", "synthetic", "lua", "racket"} <= set(d.tags)
    configs = {c["config_name"]: c["data_files"] for c in d.to_dict()["configs"]}
    assert set(configs) == {"lua", "lua-chat", "rkt", "rkt-chat"}
    assert {f["split"] for f in configs["rkt"]} == {"train", "test"}  # rkt has no validation rows
    assert all((folder / f["path"]).is_file() for files in configs.values() for f in files)
    body = before[before.index("---\n\n") + 5:] if before.startswith("---") else before
    assert card.text.strip() == body.strip()  # the text is kept as it was
    text = (folder / "README.md").read_text()
    refresh_card(folder)
    assert (folder / "README.md").read_text() == text  # refreshing again changes nothing


def test_the_synth_card_licence_comes_from_the_source_corpora(tmp_path):
    from codebabel.synth.dataset import card_metadata

    funnel = json.loads((ROOT / "data" / "synth" / "lua-racket" / "funnel.json").read_text())
    corpora = []
    for i, licenses in enumerate(({"MIT": 3}, {"MIT": 2})):
        (tmp_path / f"c{i}").mkdir()
        (tmp_path / f"c{i}" / "manifest.json").write_text(json.dumps({"licenses": licenses}))
        corpora.append(str(tmp_path / f"c{i}"))
    assert card_metadata({**funnel, "sources": corpora}, tmp_path)["license"] == "mit"
    (tmp_path / "c1" / "manifest.json").write_text(json.dumps({"licenses": {"MIT": 1, "unknown": 4}}))
    assert "license" not in card_metadata({**funnel, "sources": corpora}, tmp_path)


def test_the_corpus_card(tmp_path):
    from huggingface_hub import DatasetCard

    from codebabel.data.card import refresh_corpus_card

    folder = tmp_path / "ruby"
    for split, n in (("train", 3), ("validation", 0), ("test", 1)):
        (folder / split).mkdir(parents=True)
        if n:
            (folder / split / "00000.jsonl").write_text('{"text": "puts 1"}\n' * n)
    manifest = {"language": "rb", "display_name": "Ruby", "licenses": {"Ruby OR BSD-2-Clause": 4}, "steps": [],
                "sources": [{"label": "hf-hub:bigcode/the-stack-dedup", "kind": "hf-hub",
                             "location": "bigcode/the-stack-dedup", "license": None}],
                "splits": {"train": {"files": 3}, "validation": {"files": 0}, "test": {"files": 1}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "README.md").write_text("# Ruby corpus\n\nBuilt by `codebabel corpus build`.\n")
    refresh_corpus_card(folder)
    card = DatasetCard.load(folder / "README.md")
    d = card.data
    assert d.license == "other" and d.to_dict()["license_name"] == "ruby-or-bsd-2-clause"
    assert d.source_datasets == ["bigcode/the-stack-dedup"] and d.size_categories == ["n<1K"]
    assert {"codebabel", "ruby"} <= set(d.tags) and d.task_categories == ["text-generation"]
    assert d.to_dict()["configs"] == [{"config_name": "default", "data_files": [
        {"split": "train", "path": "train/*.jsonl"}, {"split": "test", "path": "test/*.jsonl"}]}]
    assert card.text.strip() == "# Ruby corpus\n\nBuilt by `codebabel corpus build`."
