"""A PEFT LoRA adapter as llama.cpp's GGUF LoRA adapter (``codebabel export --gguf --adapter``; the llama.cpp
backend's adapters), laid out the way llama.cpp's own ``convert_lora_to_gguf.py`` writes it.

``general.type = "adapter"``, ``adapter.type = "lora"``, ``adapter.lora.alpha``, ``general.architecture`` =
the base's GGUF architecture; per adapted weight ``<gguf name>.lora_a`` (numpy shape ``(r, in)``) and
``<gguf name>.lora_b`` (``(out, r)``), the GGUF name taken from the base layout's tensor-name map
(``models/gguf_layout.py``). llama.cpp scales every adapter by ``alpha / r`` (r read from each ``lora_a``);
PEFT's per-module scale (rsLoRA's ``alpha / sqrt(r)``, ``rank_pattern``, ``alpha_pattern``) is folded into
``lora_b`` wherever it differs, so the product is PEFT's. For the llama architecture the converter permutes
the rows of ``q_proj`` and ``k_proj`` for llama.cpp's rotary layout; since ``ΔW = B·A``, ``lora_b`` of those
gets the same row permutation (``lora_a`` is unchanged). DoRA, LoRA biases, other PEFT types and tensors
outside LoRA's A/B matrices (``modules_to_save``, embedding LoRA) have no llama.cpp form and are refused in
one line. :func:`adapter_gguf` converts an adapter once for the llama.cpp backend, cached under
``$CODEBABEL_HOME/models/adapters/<key>/adapter.gguf`` by the adapter's file digests and the base's layout.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from codebabel.errors import CodebabelError
from codebabel.models.cache import _locked, adapters_dir
from codebabel.models.gguf_layout import BaseLayout, base_layout, first_line, gguf_writer
from codebabel.store import file_digest, settings_hash

ADAPTER_OUTTYPES = ("f32", "f16")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
FORMAT_VERSION = 1  # of the cached adapter conversion: bump when the written file changes
_LORA_KEY = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<ab>[AB])\.weight$")


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
        raise CodebabelError(f"adapter '{adapter}': adapter_config.json is not JSON ({first_line(e)})") from e
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
    with gguf_writer(Path(out), layout.arch) as writer:
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


def adapter_cache_key(adapter: str | os.PathLike, source, outtype: str,
                      version: int = FORMAT_VERSION) -> tuple[Path, BaseLayout, str]:
    """``(adapter folder, base layout, key)``: what a file made from ``adapter`` for ``source`` is cached by (the
    digests of the adapter's config and weights, the base's layout, the file type and the format's version)."""
    apath, _ = _adapter_files(adapter)
    layout = base_layout(source)
    key = settings_hash({name: file_digest(apath / name) for name in ADAPTER_FILES}
                        | {"base": layout.identity, "outtype": outtype, "format": version})
    return apath, layout, key


def adapter_gguf(adapter: str | os.PathLike, source) -> Path:
    """``adapter`` as a GGUF LoRA adapter (f32) for ``source``, converted once and cached under
    ``$CODEBABEL_HOME/models/adapters/`` by :func:`adapter_cache_key`."""
    apath, layout, key = adapter_cache_key(adapter, source, "f32")
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
