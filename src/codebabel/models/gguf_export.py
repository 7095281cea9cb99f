"""Fine-tuned models as GGUF files for llama.cpp (``codebabel export --gguf``; the llama.cpp backend's adapters).

Two things are written, both with the ``gguf`` package's ``GGUFWriter``, the way llama.cpp's own
``convert_lora_to_gguf.py`` / ``convert_hf_to_gguf.py`` lay them out:

- **A LoRA adapter** (:func:`write_adapter_gguf`): ``general.type = "adapter"``, ``adapter.type = "lora"``,
  ``adapter.lora.alpha``, ``general.architecture`` = the base's GGUF architecture; per adapted weight
  ``<gguf name>.lora_a`` (numpy shape ``(r, in)``) and ``<gguf name>.lora_b`` (``(out, r)``), the GGUF name
  taken from the gguf package's tensor-name map (``model.layers.0.self_attn.q_proj`` → ``blk.0.attn_q.weight``).
  llama.cpp scales every adapter by ``alpha / r`` (r read from each ``lora_a``); PEFT's per-module scale
  (rsLoRA's ``alpha / sqrt(r)``, ``rank_pattern``, ``alpha_pattern``) is folded into ``lora_b`` wherever it
  differs, so the product is PEFT's. For the llama architecture the converter permutes the rows of ``q_proj``
  and ``k_proj`` for llama.cpp's rotary layout; since ``ΔW = B·A``, ``lora_b`` of those gets the same row
  permutation (``lora_a`` is unchanged). DoRA, LoRA biases, other PEFT types and tensors outside LoRA's A/B
  matrices (``modules_to_save``, embedding LoRA) have no llama.cpp form and are refused in one line.
  :func:`adapter_gguf` converts an adapter once for the llama.cpp backend, cached under
  ``$CODEBABEL_HOME/models/adapters/<key>/adapter.gguf`` by the adapter's file digests and the base's layout.
- **A full (or merged) model** (:func:`write_model_gguf`): every metadata and tokenizer field copied from a
  base GGUF of the same architecture (but ``general.file_type`` and the quantization version), the weights
  taken from the HF model mapped through the same name map (+ the same q/k permutation), each checked
  against the base tensor's shape. ``f32``, ``f16`` and ``q8_0`` are written by the gguf package (1-D tensors
  stay F32, as in llama.cpp's converter); the gguf package cannot quantize Q4_K in Python, so ``q4_k`` is an
  f16 file quantized by llama.cpp's own quantizer (``llama_model_quantize``, Q4_K_M) from llama-cpp-python,
  and refused where that is not installed.

The base layout (architecture, heads, KV heads, blocks, tensor shapes) is read from the base model's GGUF
where one exists (a registered model, a ``.gguf`` spec, or a folder codebabel converted from a GGUF), else
from its ``config.json``.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from codebabel.errors import CodebabelError
from codebabel.models.cache import CONVERTED_MARKER, _locked, adapters_dir
from codebabel.store import file_digest, settings_hash

#: GGUF architectures this export knows -> whether llama.cpp's converter permutes q/k rows (rotary layout)
ARCHS: dict[str, bool] = {"llama": True, "qwen2": False, "qwen3": False}
#: HF ``config.model_type`` -> GGUF architecture (convert_hf_to_gguf registers Mistral as a llama model)
HF_ARCHS = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "qwen3": "qwen3"}
#: what ``--outtype`` may name: an adapter f32|f16, a model any of these
OUTTYPES = ("f32", "f16", "q8_0", "q4_k")
ADAPTER_OUTTYPES = ("f32", "f16")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
FORMAT_VERSION = 1  # of the cached adapter conversion: bump when the written file changes
_LORA_KEY = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<ab>[AB])\.weight$")
_SKIP_KV = ("general.architecture", "general.file_type", "general.quantization_version")


# --------------------------------------------------------------------------------------------- the base


@dataclass(frozen=True)
class BaseLayout:
    """What a GGUF export needs to know of the base model: its GGUF architecture, attention heads (for the
    q/k permutation), blocks (for the name map), and where known (from a GGUF) every tensor's numpy shape."""

    arch: str
    n_head: int
    n_head_kv: int
    n_blocks: int
    gguf: str | None = None
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def identity(self) -> dict:
        return {"arch": self.arch, "n_head": self.n_head, "n_head_kv": self.n_head_kv, "n_blocks": self.n_blocks}

    def tensor_name(self, hf_name: str) -> str | None:
        """The GGUF name of an HF weight (``model.layers.0.self_attn.q_proj.weight`` → ``blk.0.attn_q.weight``)
        or module (``...q_proj`` → ``blk.0.attn_q.weight``); None where the map has none."""
        name_map = _name_map(self.arch, self.n_blocks)
        if hf_name.endswith((".weight", ".bias")):
            return name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        found = name_map.get_name(hf_name)
        return None if found is None else found + ".weight"

    def permute_rows(self, gguf_name: str, rows):
        """``rows`` (a q/k weight, or a LoRA B of one) in llama.cpp's rotary layout where the converter does."""
        if not ARCHS[self.arch]:
            return rows
        if re.fullmatch(r"blk\.\d+\.attn_q\.(weight|bias)", gguf_name):
            return permute_qk(rows, self.n_head, self.n_head)
        if re.fullmatch(r"blk\.\d+\.attn_k\.(weight|bias)", gguf_name):
            return permute_qk(rows, self.n_head, self.n_head_kv)
        return rows


def permute_qk(w, n_head: int, n_head_kv: int | None = None):
    """convert_hf_to_gguf.py's ``LlamaModel.permute``: q/k rows from HF's rotary halves to llama.cpp's
    interleaved pairs (transformers' GGUF loader undoes it)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


@lru_cache(maxsize=8)
def _name_map(arch: str, n_blocks: int):
    import gguf

    by_name = {name: enum for enum, name in gguf.MODEL_ARCH_NAMES.items()}
    return gguf.get_tensor_name_map(by_name[arch], n_blocks)


def base_gguf(source) -> Path | None:
    """The GGUF file holding ``source``'s weights and tokenizer: its own (registered model, ``.gguf``), or the
    one a folder was converted from by codebabel (``codebabel.json``'s ``source_gguf``, while it exists)."""
    if getattr(source, "gguf_path", None):
        return Path(source.gguf_path)
    marker = Path(source.hf_path) / CONVERTED_MARKER
    if marker.is_file():
        try:
            src = json.loads(marker.read_text()).get("source_gguf")
        except (OSError, ValueError):
            return None
        if src and Path(src).is_file():
            return Path(src)
    return None


def base_layout(source) -> BaseLayout:
    """The base's layout, from its GGUF where it has one, else from its ``config.json``."""
    gguf_file = base_gguf(source)
    if gguf_file is not None:
        st = gguf_file.stat()
        return _gguf_layout(str(gguf_file), st.st_size, st.st_mtime_ns)
    return _config_layout(source)


@lru_cache(maxsize=8)
def _gguf_layout(path: str, _size: int, _mtime: int) -> BaseLayout:
    reader = _reader(path)

    def value(key: str):
        f = reader.fields.get(key)
        return None if f is None else f.contents()

    arch = value("general.architecture")
    _check_arch(arch, f"base GGUF {path}")
    n_head = value(f"{arch}.attention.head_count")
    n_blocks = value(f"{arch}.block_count")
    if not isinstance(n_head, int) or not isinstance(n_blocks, int):
        raise CodebabelError(f"base GGUF {path}: no {arch}.attention.head_count or {arch}.block_count; "
                             "not a model GGUF")
    n_kv = value(f"{arch}.attention.head_count_kv")
    shapes = {t.name: tuple(int(d) for d in reversed(t.shape.tolist())) for t in reader.tensors}
    return BaseLayout(arch, n_head, n_kv if isinstance(n_kv, int) else n_head, n_blocks, path, shapes)


def _config_layout(source) -> BaseLayout:
    cfg_path = Path(source.hf_path) / "config.json"
    if not cfg_path.is_file():
        raise CodebabelError(f"model '{source.spec}': no local config.json and no GGUF, so its layout is unknown; "
                             "pass a registered name, a .gguf file or a local model folder")
    cfg = json.loads(cfg_path.read_text())
    model_type = cfg.get("model_type")
    arch = HF_ARCHS.get(model_type)
    if arch is None:
        raise CodebabelError(f"model '{source.spec}': architecture '{model_type}' has no GGUF export here; "
                             f"codebabel exports {', '.join(sorted(HF_ARCHS))} models")
    n_head = int(cfg["num_attention_heads"])
    return BaseLayout(arch, n_head, int(cfg.get("num_key_value_heads") or n_head), int(cfg["num_hidden_layers"]))


def _check_arch(arch, where: str) -> None:
    if arch not in ARCHS:
        raise CodebabelError(f"{where}: architecture '{arch}' has no GGUF export here; codebabel exports "
                             f"{', '.join(ARCHS)} GGUFs")


def _reader(path: str | Path):
    import gguf

    try:
        return gguf.GGUFReader(str(path))
    except Exception as e:  # not a GGUF, truncated
        raise CodebabelError(f"base GGUF {path}: cannot read it ({_first_line(e)})") from e


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


# --------------------------------------------------------------------------------------------- adapters


@dataclass(frozen=True)
class _LoraTensor:
    gguf_name: str  # the adapted weight's GGUF name, e.g. blk.0.attn_q.weight
    a_key: str
    b_key: str
    rank: int
    b_factor: float  # PEFT's scale / llama.cpp's (alpha / r): 1.0 for plain LoRA


@dataclass(frozen=True)
class _LoraPlan:
    alpha: float
    tensors: tuple[_LoraTensor, ...]


def _adapter_files(adapter: str | os.PathLike) -> tuple[Path, dict]:
    apath = Path(adapter).expanduser()
    if not (apath / "adapter_config.json").is_file():
        raise CodebabelError(f"adapter '{adapter}': no adapter_config.json there; pass a PEFT adapter folder")
    if not (apath / "adapter_model.safetensors").is_file():
        raise CodebabelError(f"adapter '{adapter}': no adapter_model.safetensors (an old .bin adapter?); "
                             "load it with PEFT and save_pretrained it again")
    try:
        config = json.loads((apath / "adapter_config.json").read_text())
    except ValueError as e:
        raise CodebabelError(f"adapter '{adapter}': adapter_config.json is not JSON ({_first_line(e)})") from e
    return apath, config


def adapter_base(adapter: str | os.PathLike) -> str:
    """The base model an adapter names (``base_model_name_or_path``)."""
    _, config = _adapter_files(adapter)
    base = config.get("base_model_name_or_path")
    if not base:
        raise CodebabelError(f"adapter '{adapter}': it does not name its base model; pass --model")
    return base


def _pattern_value(patterns: dict, module: str, default):
    """PEFT's ``get_pattern_key``: the first pattern that matches the module name's tail."""
    for key, value in (patterns or {}).items():
        if re.match(rf"(.*\.)?({key})$", module):
            return value
    return default


def _plan_adapter(apath: Path, config: dict, layout: BaseLayout) -> _LoraPlan:
    """Check that llama.cpp can run the adapter as it is and say how each tensor is written; one-line errors."""
    from safetensors import safe_open

    where = f"adapter '{apath}'"
    peft_type = str(config.get("peft_type", "")).upper()
    if peft_type != "LORA":
        raise CodebabelError(f"{where}: a {peft_type or 'non-LoRA'} adapter; llama.cpp runs LoRA adapters only")
    if config.get("use_dora"):
        raise CodebabelError(f"{where}: DoRA has no llama.cpp adapter form; merge it (export --merge --gguf)")
    if config.get("lora_bias"):
        raise CodebabelError(f"{where}: LoRA biases have no llama.cpp adapter form; merge it "
                             "(export --merge --gguf)")
    if config.get("target_parameters"):
        raise CodebabelError(f"{where}: LoRA on parameters (target_parameters) has no llama.cpp adapter form")
    if config.get("fan_in_fan_out"):
        raise CodebabelError(f"{where}: fan_in_fan_out (Conv1D) adapters have no GGUF export here")
    alpha = float(config.get("lora_alpha") or config.get("r") or 8)
    r_default = int(config.get("r") or 8)
    rslora = bool(config.get("use_rslora"))
    with safe_open(str(apath / "adapter_model.safetensors"), framework="np") as f:
        keys = list(f.keys())
        shapes = {k: tuple(f.get_slice(k).get_shape()) for k in keys}
    pairs: dict[str, dict[str, str]] = {}
    for key in keys:
        m = _LORA_KEY.match(key)
        if m is None:
            raise CodebabelError(f"{where}: tensor {key} is not a LoRA A/B matrix (modules_to_save, embedding "
                                 "LoRA or another extra); llama.cpp adapters hold LoRA matrices only: merge it "
                                 "(export --merge --gguf)")
        pairs.setdefault(m["module"], {})[m["ab"]] = key
    if not pairs:
        raise CodebabelError(f"{where}: adapter_model.safetensors holds no LoRA matrices")
    tensors = []
    for module, ab in sorted(pairs.items()):
        if set(ab) != {"A", "B"}:
            raise CodebabelError(f"{where}: module {module} has lora_{'A' if 'A' in ab else 'B'} only")
        gguf_name = layout.tensor_name(module)
        if gguf_name is None:
            raise CodebabelError(f"{where}: module {module} has no {layout.arch} GGUF tensor name, so llama.cpp "
                                 "cannot apply a LoRA there; merge it (export --merge --gguf)")
        a_shape, b_shape = shapes[ab["A"]], shapes[ab["B"]]
        if len(a_shape) != 2 or len(b_shape) != 2 or a_shape[0] != b_shape[1]:
            raise CodebabelError(f"{where}: module {module}: lora_A {a_shape} and lora_B {b_shape} are not "
                                 "(r, in) and (out, r)")
        want = layout.shapes.get(gguf_name) if layout.shapes else None
        if layout.shapes and want is None:
            raise CodebabelError(f"{where}: module {module} → {gguf_name}, which the base GGUF does not have; "
                                 "is this the adapter's base model?")
        if want is not None and (len(want) != 2 or (b_shape[0], a_shape[1]) != want):
            raise CodebabelError(f"{where}: module {module} adapts a {b_shape[0]}×{a_shape[1]} weight but the "
                                 f"base's {gguf_name} is {'×'.join(map(str, want))}; is this the adapter's base "
                                 "model?")
        rank = a_shape[0]
        r_m = int(_pattern_value(config.get("rank_pattern"), module, r_default))
        alpha_m = float(_pattern_value(config.get("alpha_pattern"), module, alpha))
        if r_m != rank:
            raise CodebabelError(f"{where}: module {module} has rank {rank} but the config says {r_m}")
        peft_scale = alpha_m / math.sqrt(rank) if rslora else alpha_m / rank
        tensors.append(_LoraTensor(gguf_name, ab["A"], ab["B"], rank, peft_scale / (alpha / rank)))
    return _LoraPlan(alpha, tuple(tensors))


def adapter_problem(adapter: str | os.PathLike, source) -> str | None:
    """Why llama.cpp cannot run ``adapter`` on ``source`` (one line), or None when it can."""
    try:
        apath, config = _adapter_files(adapter)
        _plan_adapter(apath, config, base_layout(source))
    except CodebabelError as e:
        return str(e)
    return None


def write_adapter_gguf(adapter: str | os.PathLike, out: str | os.PathLike, source=None,
                       outtype: str = "f16", layout: BaseLayout | None = None) -> Path:
    """Write ``adapter`` (a PEFT LoRA folder) as a llama.cpp GGUF LoRA adapter at ``out`` (atomically).
    The base is ``source`` (a ModelSource; default the adapter's own base) or a known ``layout``."""
    import gguf
    import numpy as np
    from safetensors import safe_open

    if outtype not in ADAPTER_OUTTYPES:
        raise CodebabelError(f"--outtype {outtype}: an adapter is written as {' or '.join(ADAPTER_OUTTYPES)}")
    apath, config = _adapter_files(adapter)
    if layout is None:
        if source is None:
            from codebabel.models.loading import resolve

            source = resolve(adapter_base(apath))
        layout = base_layout(source)
    plan = _plan_adapter(apath, config, layout)
    dtype = np.float32 if outtype == "f32" else np.float16
    with _writing(Path(out), layout.arch) as writer:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, plan.alpha)
        writer.add_name(f"{apath.resolve().name} (LoRA, codebabel export --gguf)")
        with safe_open(str(apath / "adapter_model.safetensors"), framework="pt") as f:
            for t in plan.tensors:
                a = f.get_tensor(t.a_key).float().numpy()
                b = f.get_tensor(t.b_key).float().numpy()
                if t.b_factor != 1.0:
                    b = b * np.float32(t.b_factor)
                b = layout.permute_rows(t.gguf_name, b)
                writer.add_tensor(f"{t.gguf_name}.lora_a", np.ascontiguousarray(a, dtype=dtype))
                writer.add_tensor(f"{t.gguf_name}.lora_b", np.ascontiguousarray(b, dtype=dtype))
    return Path(out)


def adapter_gguf(adapter: str | os.PathLike, source) -> Path:
    """``adapter`` as a GGUF LoRA adapter (f32) for ``source``, converted once and cached under
    ``$CODEBABEL_HOME/models/adapters/`` by the digests of its config and weights and the base's layout."""
    apath, _ = _adapter_files(adapter)
    layout = base_layout(source)
    key = settings_hash({name: file_digest(apath / name) for name in ADAPTER_FILES}
                        | {"base": layout.identity, "outtype": "f32", "format": FORMAT_VERSION})
    folder = adapters_dir() / key
    target = folder / "adapter.gguf"
    if target.is_file():
        return target
    with _locked(folder):
        if not target.is_file():
            write_adapter_gguf(apath, target, outtype="f32", layout=layout)
            (folder / "source.json").write_text(json.dumps(
                {"adapter": str(apath.resolve()), "base": layout.gguf, **layout.identity}, indent=2) + "\n")
    return target


# --------------------------------------------------------------------------------------------- full models


def _hf_tensors(folder: str | Path) -> Iterator[tuple[str, Any]]:
    """``(name, float32 numpy array)`` of every tensor in an HF folder's safetensors files."""
    from safetensors import safe_open

    files = sorted(Path(folder).glob("*.safetensors"))
    if not files:
        raise CodebabelError(f"model folder {folder}: no .safetensors weights; save it with safe_serialization")
    for path in files:
        with safe_open(str(path), framework="pt") as f:
            for name in f.keys():
                yield name, f.get_tensor(name).float().numpy()


def write_model_gguf(tensors: Iterable[tuple[str, Any]], like: str | Path, out: str | Path,
                     outtype: str = "f16") -> Path:
    """Write HF weights ``tensors`` (``(name, array)``) as a GGUF model at ``out`` with every metadata and
    tokenizer field of the GGUF ``like`` (its architecture and shapes; only the file type changes)."""
    import gguf
    import numpy as np

    if outtype not in OUTTYPES:
        raise CodebabelError(f"--outtype {outtype}: use {', '.join(OUTTYPES)}")
    if outtype == "q4_k":
        quantize = _llama_quantizer()  # refuse before any work where llama.cpp's quantizer is missing
    like = Path(like)
    st = like.stat()
    layout = _gguf_layout(str(like), st.st_size, st.st_mtime_ns)
    reader = _reader(like)
    base_tensors = {t.name: t for t in reader.tensors}

    mapped: dict[str, Any] = {}
    for name, data in tensors:
        if name.endswith("rotary_emb.inv_freq"):
            continue  # computed, not stored (llama.cpp computes it from the rope metadata)
        gguf_name = layout.tensor_name(name)
        if gguf_name is None:
            raise CodebabelError(f"tensor {name}: no {layout.arch} GGUF name for it; this model is not laid out "
                                 f"like {like.name}")
        mapped[gguf_name] = layout.permute_rows(gguf_name, np.asarray(data, dtype=np.float32))
    if "output.weight" in mapped and "output.weight" not in base_tensors:
        if "token_embd.weight" in mapped and np.array_equal(mapped["output.weight"], mapped["token_embd.weight"]):
            del mapped["output.weight"]  # tied embeddings: llama.cpp reuses token_embd
        else:
            raise CodebabelError(f"the model has its own output head but {like.name} ties it to the embeddings; "
                                 "pass a --gguf-base with an output.weight")
    extra = sorted(set(mapped) - set(base_tensors))
    if extra:
        raise CodebabelError(f"tensor {extra[0]}: {like.name} has no such tensor; this model is not laid out "
                             f"like it (pass the GGUF of the model it was fine-tuned from as --gguf-base)")
    for name in base_tensors:
        want = layout.shapes[name]
        if name not in mapped:
            if not name.startswith("rope_"):
                raise CodebabelError(f"tensor {name} of {like.name} is missing from the model")
            continue
        if mapped[name].shape != want:
            raise CodebabelError(f"tensor {name}: {tuple(mapped[name].shape)} in the model, {want} in "
                                 f"{like.name}; pass the GGUF of the model it was fine-tuned from as --gguf-base")

    write_type = "f16" if outtype == "q4_k" else outtype
    file_type = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
                 "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[write_type]
    finish = quantize if outtype == "q4_k" else os.replace  # q4_k: llama.cpp quantizes the f16 file
    with _writing(Path(out), layout.arch, finish) as writer:
        for key, f in reader.fields.items():
            if key.startswith("GGUF.") or key in _SKIP_KV:
                continue
            _copy_field(writer, key, f)
        if "general.type" not in reader.fields:
            writer.add_type(gguf.GGUFType.MODEL)
        writer.add_file_type(file_type)
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        for name, t in base_tensors.items():
            if name not in mapped:  # generated tensors (rope_freqs): copied as they are
                writer.add_tensor(name, np.array(t.data), raw_dtype=t.tensor_type)
                continue
            data = mapped.pop(name)
            if data.ndim <= 1 or write_type == "f32":
                writer.add_tensor(name, np.ascontiguousarray(data, dtype=np.float32))
            elif write_type == "q8_0" and data.shape[-1] % 32 == 0:
                q = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
                writer.add_tensor(name, q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
            else:
                writer.add_tensor(name, np.ascontiguousarray(data, dtype=np.float16))
    return Path(out)


@contextmanager
def _writing(out: Path, arch: str, finish: Callable[[Path, Path], object] = os.replace) -> Iterator[Any]:
    """A ``GGUFWriter`` on a temp file beside ``out``: when the block ends the file is written and
    ``finish(tmp, out)`` makes ``out`` (a rename, or llama.cpp's quantizer); on any error no file is left."""
    import gguf

    tmp = out.with_name(f".{out.name}.partial")
    writer = gguf.GGUFWriter(str(tmp), arch)
    try:
        yield writer
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        finish(tmp, out)
    except BaseException:
        writer.close()
        raise
    finally:
        tmp.unlink(missing_ok=True)


def _copy_field(writer, key: str, f) -> None:
    import gguf

    vtype = f.types[0]
    if vtype == gguf.GGUFValueType.ARRAY:
        if len(f.types) != 2:
            raise CodebabelError(f"GGUF field {key}: nested arrays cannot be copied")
        writer.add_key_value(key, f.contents(), vtype, sub_type=f.types[1])
    else:
        writer.add_key_value(key, f.contents(), vtype)


def _llama_quantizer():
    """llama.cpp's quantizer (Q4_K_M) from llama-cpp-python: ``quantize(f16_gguf, out)``."""
    try:
        import llama_cpp
    except ImportError:
        raise CodebabelError("--outtype q4_k: the gguf package cannot quantize Q4_K in Python and llama.cpp's "
                             "quantizer comes with llama-cpp-python, which is not installed (pip install "
                             "'codebabel[llamacpp]'); use --outtype q8_0 or f16") from None

    def quantize(src: Path, dst: Path) -> None:
        import tempfile

        from codebabel.models.cache import _console

        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
        params.nthread = os.cpu_count() or 1
        partial = dst.with_name(f".{dst.name}.q4k.partial")
        # llama.cpp writes a line per tensor to fd 2, past Python's logging: kept aside, summed up below
        with tempfile.TemporaryFile() as log:
            saved = os.dup(2)
            os.dup2(log.fileno(), 2)
            try:
                rc = llama_cpp.llama_model_quantize(str(src).encode(), str(partial).encode(), params)
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            log.seek(0)
            lines = log.read().decode("utf-8", "replace").splitlines()
        if rc != 0:
            partial.unlink(missing_ok=True)
            last = next((line.strip() for line in reversed(lines) if line.strip()), "no message")
            raise CodebabelError(f"--outtype q4_k: llama.cpp's quantizer failed (code {rc}: {last})")
        os.replace(partial, dst)
        fallback = next((line for line in lines if "required fallback quantization" in line), None)
        if fallback:
            m = re.search(r"(\d+) of (\d+) tensor", fallback)
            count = f"{m[1]} of {m[2]} tensors" if m else "some tensors"
            _console(True).print(f"note: llama.cpp wrote {count} in another type than Q4_K (Q5_0/Q8_0): their "
                                 "rows are not a multiple of 256, which K-quants need")

    return quantize


# --------------------------------------------------------------------------------------------- export


def export_gguf(out: str | os.PathLike, *, adapter: str | None = None, model: str | None = None,
                merge: bool = False, outtype: str = "f16", gguf_base: str | None = None) -> Path:
    """``codebabel export --gguf``: a LoRA adapter as a llama.cpp adapter (``adapter``), the adapter merged
    into its base (``merge``), or a full model (``model`` alone), written to the ``.gguf`` file ``out``.
    ``model`` is the adapter's base (default its ``base_model_name_or_path``) or the model to export;
    ``gguf_base`` the GGUF whose metadata and tokenizer a model export reuses (default the base's own)."""
    from codebabel.models.loading import attach_adapter, load_model, resolve

    target = Path(out).expanduser()
    if target.suffix.lower() != ".gguf":
        raise CodebabelError(f"--out {out}: name a .gguf file for --gguf")
    if target.exists():
        raise CodebabelError(f"--out {out}: exists; choose a new file")
    if not target.parent.is_dir():
        raise CodebabelError(f"--out {out}: no folder {target.parent}")
    if adapter is not None and not merge:
        source = resolve(model or adapter_base(adapter))
        return write_adapter_gguf(adapter, target, source=source, outtype=outtype)

    spec = model if adapter is None else (model or adapter_base(adapter))
    if spec is None:
        raise CodebabelError("--gguf: pass --adapter (a LoRA adapter) or --model (a full model)")
    source = resolve(spec)
    like = Path(gguf_base).expanduser() if gguf_base else base_gguf(source)
    if gguf_base:
        if not like.is_file():
            from codebabel.models.cache import local_paths

            paths = local_paths(gguf_base)
            if paths is None:
                raise CodebabelError(f"--gguf-base {gguf_base}: not a .gguf file or a pulled registered model")
            like = paths.gguf
    if like is None:
        raise CodebabelError(f"model '{spec}': no GGUF to take the metadata and tokenizer from; pass --gguf-base "
                             "(the .gguf or registered name of the model it was fine-tuned from)")
    if outtype == "q4_k":
        _llama_quantizer()
    if adapter is None:
        return write_model_gguf(_hf_tensors(source.hf_path), like, target, outtype)
    base_model, _ = load_model(source, device="cpu", dtype="float32")
    merged = attach_adapter(base_model, adapter).merge_and_unload()
    tensors = ((name, t.detach().float().numpy()) for name, t in merged.state_dict().items())
    return write_model_gguf(tensors, like, target, outtype)
