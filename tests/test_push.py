"""--push-to-hub and `codebabel push`: huggingface_hub's real calls (create_repo, upload_folder) over HTTP to a fake
Hub on 127.0.0.1 (tests/fakehub.py), the card written first; every failure a one-line error."""

import json
import shutil
from pathlib import Path

import pytest

from codebabel.errors import CodebabelError
from tests.fakehub import TOKEN, running_hub

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """The fake Hub, this process's huggingface_hub pointed at it, HF_TOKEN set, no saved login read."""
    import huggingface_hub.constants as constants

    with running_hub() as h:
        monkeypatch.setattr(constants, "ENDPOINT", h.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
        monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
        yield h


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def adapter_run(tmp_path_factory):
    from codebabel.train.recipe import recipe_from_dict
    from codebabel.train.trainer import train
    from tests.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("push")
    model = build_tiny_model(root / "tiny")
    data = root / "data.jsonl"
    data.write_text("".join(json.dumps({"text": f"def f{i}(a):\n    return a + {i}\n", "language": "py"}) + "\n"
                            for i in range(12)))
    out = train(recipe_from_dict({"model": str(model), "data": [str(data)], "output": str(root / "runs"),
                                  "name": "tiny-lora", "max_steps": 1, "batch_size": 2, "seq_len": 64,
                                  "lora": {"r": 4, "alpha": 8}}, "test"))
    return root, model, Path(out["run_dir"])


def test_train_push_to_hub_uploads_the_adapter_and_its_card(adapter_run, tmp_path, cli):
    """`codebabel train RECIPE --push-to-hub REPO --private`, a subprocess talking to the fake Hub (HF_ENDPOINT)."""
    from huggingface_hub import ModelCard

    root, model, _ = adapter_run
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"model: {model}\ndata: [{root / 'data.jsonl'}]\noutput: {tmp_path}\nname: pushed\n"
                      "max_steps: 1\nbatch_size: 2\nseq_len: 64\nlora: {r: 4, alpha: 8}\n")
    env = {"HF_TOKEN": TOKEN, "HF_HOME": str(tmp_path / "hf-home"),
           "HF_HUB_DISABLE_XET": "1"}  # LFS files through git-LFS's HTTP API: the fake Hub does not speak Xet
    with running_hub() as h:
        r = cli("train", str(recipe), "--push-to-hub", "me/tiny-lora", "--private", env={**env, "HF_ENDPOINT": h.url})
        assert r.returncode == 0, r.stderr[-3000:]
        assert f"pushed: {h.url}/me/tiny-lora" in r.stdout
        repo = h.repos[("model", "me/tiny-lora")]
    adapter = tmp_path / "pushed" / "adapter"
    assert repo.private and repo.files == files(adapter)  # every file, byte for byte (the weights through LFS)
    assert any(m == "PUT" for m, _ in h.requests) and any("lfs/objects/batch" in p for _, p in h.requests)
    card = ModelCard(repo.files["README.md"].decode())
    assert card.data.library_name == "peft" and {"codebabel", "python", "lora"} <= set(card.data.tags)
    # a bad repo id and no token are one-line errors before anything trains
    r = cli("train", str(recipe), "--set", "name=other", "--push-to-hub", "me/bad repo", env=env)
    assert r.returncode == 2 and "not a Hub repo id" in r.stderr and not (tmp_path / "other").exists()
    r = cli("train", str(recipe), "--set", "name=other", "--push-to-hub", "me/x",
            env={**env, "HF_TOKEN": "", "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert r.returncode == 2 and "no Hugging Face token; set HF_TOKEN" in r.stderr and not (tmp_path / "other").exists()
    assert len(r.stderr.strip().splitlines()) == 1


def test_push_a_synth_dataset_and_a_corpus_as_dataset_repos(hub, tmp_path):
    """Text files only: the default upload path (hf_xet installed) commits them inline, no LFS."""
    from huggingface_hub import DatasetCard

    from codebabel.report.hub import PushConfig, push

    synth = tmp_path / "lua-racket"
    shutil.copytree(ROOT / "data" / "synth" / "lua-racket", synth)
    done = push(PushConfig(str(synth), repo="me/lua-racket"))
    assert done["what"] == "synth" and done["url"] == f"{hub.url}/datasets/me/lua-racket"
    repo = hub.repos[("dataset", "me/lua-racket")]
    assert not repo.private and repo.files == files(synth)
    assert {"synthetic", "lua", "racket"} <= set(DatasetCard(repo.files["README.md"].decode()).data.tags)
    corpus = tmp_path / "corpus"
    (corpus / "train").mkdir(parents=True)
    (corpus / "train" / "00000.jsonl").write_text('{"text": "print(1)"}\n')
    (corpus / "manifest.json").write_text(json.dumps({"language": "py", "display_name": "Python", "steps": [],
                                                      "licenses": {"PSF-2.0": 1}, "splits": {"train": {"files": 1}},
                                                      "sources": []}))
    push(PushConfig(str(corpus), repo="me/py-corpus", kind="dataset", private=True))
    repo = hub.repos[("dataset", "me/py-corpus")]
    assert repo.private and repo.files == files(corpus)
    d = DatasetCard(repo.files["README.md"].decode()).data
    assert d.license == "other" and d.to_dict()["license_name"] == "psf-2.0" and "python" in d.tags


def test_push_a_run_with_its_evaluation_results(adapter_run, hub, monkeypatch):
    from huggingface_hub import ModelCard

    from codebabel.evaluate.functional import _adapter_identity
    from codebabel.report.hub import PushConfig, push
    from tests.reportkit import eval_run

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_XET", True)  # LFS weights: see tests/fakehub.py
    root, _, run = adapter_run
    adapter = run / "adapter"
    mine = eval_run(root / "results", "rb", 3, {"ok": 3, "assertion_failed": 9}, adapter=_adapter_identity(str(adapter)))
    other = eval_run(root / "results", "lua", 1, {"ok": 1, "syntax_error": 3}, key="1")
    with pytest.raises(CodebabelError, match="measured no adapter, not the weights in"):
        push(PushConfig(str(run), repo="me/tiny-lora", results=(str(mine), str(other))))
    assert not hub.repos  # refused before anything was created
    done = push(PushConfig(str(run), repo="me/tiny-lora", results=(str(mine),)))
    assert done["what"] == "run-adapter" and done["folder"] == str(adapter)
    card = ModelCard(hub.repos[("model", "me/tiny-lora")].files["README.md"].decode())
    (result,) = card.data.eval_results
    assert (result.metric_type, result.metric_value, result.dataset_name) == ("pass@1", 0.25, "HumanEval (Ruby)")
    assert hub.repos[("model", "me/tiny-lora")].files == files(adapter)
    # pushing again: the repo exists (409 answered, exist_ok), a second commit
    push(PushConfig(str(adapter), repo="me/tiny-lora", results=(str(mine),)))
    assert len(hub.repos[("model", "me/tiny-lora")].commits) == 2


def test_push_errors_are_one_line(hub, tmp_path, monkeypatch):
    from codebabel.report.hub import PushConfig, push

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("hello\n")

    def one_line(cfg: PushConfig, match: str) -> None:
        with pytest.raises(CodebabelError, match=match) as e:
            push(cfg)
        assert "\n" not in str(e.value)

    one_line(PushConfig(str(plain), repo="me/x"), "none of the folders codebabel writes.*pass --kind")
    one_line(PushConfig(str(tmp_path / "nope"), repo="me/x", kind="model"), "is not a folder")
    with pytest.raises(CodebabelError, match="--kind weights: use one of model, dataset"):
        PushConfig(str(plain), repo="me/x", kind="weights")
    with pytest.raises(CodebabelError, match="pass --repo"):
        PushConfig(str(plain))
    one_line(PushConfig(str(plain), repo="a/b/c", kind="dataset"), "not a Hub repo id")
    synth = tmp_path / "synth"
    shutil.copytree(ROOT / "data" / "synth" / "lua-racket", synth)
    one_line(PushConfig(str(synth), repo="me/x", kind="model"), "is a synth folder, pushed as a dataset repo")
    # the Hub's own refusals: a wrong token (401), a front matter it rejects
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    one_line(PushConfig(str(plain), repo="me/x", kind="dataset"), r"the Hub refused the token \(401\)")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    (plain / "README.md").write_text("---\nlicense: my-own\n---\n\n# notes\n")
    one_line(PushConfig(str(plain), repo="me/x", kind="dataset"), "refused README.md's front matter: \"license\"")
    (plain / "README.md").unlink()
    done = push(PushConfig(str(plain), repo="me/x", kind="dataset"))  # any folder, as it is, with --kind
    assert set(hub.repos[("dataset", "me/x")].files) == {"notes.txt", "README.md"} and done["what"] == "folder"
    # no token at all
    monkeypatch.delenv("HF_TOKEN")
    one_line(PushConfig(str(plain), repo="me/x", kind="dataset"), "no Hugging Face token; set HF_TOKEN")
    # nothing listens: the connection error in one line
    import huggingface_hub.constants as constants

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    one_line(PushConfig(str(plain), repo="me/x", kind="dataset"), "cannot reach the Hub at http://127.0.0.1:9")


def test_push_card_only_writes_the_card_and_needs_no_token(tmp_path, monkeypatch, cli):
    synth = tmp_path / "synth"
    shutil.copytree(ROOT / "data" / "synth" / "lua-racket", synth)
    r = cli("push", str(synth), "--card-only", env={"HF_TOKEN": "", "HF_HOME": str(tmp_path / "hf")})
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == f"card: {synth / 'README.md'}"
    assert (synth / "README.md").read_text().startswith("---\nlanguage:\n- code\n")
    r = cli("push", str(synth), "--card-only", "--private")
    assert r.returncode == 2 and "nothing is pushed with --card-only" in r.stderr


def test_export_merge_push_to_hub(adapter_run, hub, tmp_path, monkeypatch):
    from huggingface_hub import ModelCard

    from codebabel.hub import HubTarget
    from codebabel.train.trainer import export_merged

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_XET", True)  # LFS weights: see tests/fakehub.py
    _, model, run = adapter_run
    out = export_merged(str(run / "adapter"), str(tmp_path / "merged"), str(model), push_to=HubTarget("me/merged"))
    repo = hub.repos[("model", "me/merged")]
    assert repo.files == files(out)
    assert ModelCard(repo.files["README.md"].decode()).data.library_name == "transformers"


def test_the_fake_hub_refuses_what_the_real_one_refuses():
    """The fake's front matter checks, so that a card passing them is not passing by accident."""
    from tests.fakehub import validate_front_matter

    assert validate_front_matter("---\nbase_model: /tmp/tiny\n---\n", "model")
    assert validate_front_matter("---\nlicense: other\n---\n", "model")
    assert validate_front_matter("---\nsize_categories: [lots]\n---\n", "dataset")
    assert not validate_front_matter("---\nbase_model: Qwen/Qwen2.5-Coder-0.5B\nlicense: mit\n---\n", "model")
