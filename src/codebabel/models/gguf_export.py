"""Fine-tuned models as GGUF files for llama.cpp: ``codebabel export --gguf`` (:func:`export_gguf`).

Three things are exported, each with the ``gguf`` package's ``GGUFWriter``, the way llama.cpp's own
``convert_lora_to_gguf.py`` / ``convert_hf_to_gguf.py`` lay them out:

- **A LoRA adapter** as llama.cpp's GGUF LoRA adapter: ``models/gguf_adapter.py`` (:func:`write_adapter_gguf`;
  :func:`adapter_gguf` and :func:`adapter_problem`, the llama.cpp backend's conversion and check, are
  importable from here too).
- **A full (or merged) model** (:func:`write_model_gguf`): every metadata and tokenizer field copied from a
  base GGUF of the same architecture (but ``general.file_type`` and the quantization version), the weights
  taken from the HF model mapped through the base layout's name map (+ the q/k permutation;
  ``models/gguf_layout.py``), each checked against the base tensor's shape. ``f32``, ``f16`` and ``q8_0``
  are written by the gguf package (1-D tensors stay F32, as in llama.cpp's converter); the gguf package
  cannot quantize Q4_K in Python, so ``q4_k`` is an f16 file quantized by llama.cpp's own quantizer
  (``llama_model_quantize``, Q4_K_M) from llama-cpp-python, and refused where that is not installed.
- **An adapter merged into its base**: the merged weights, written as a full model.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from codebabel.config import MERGE_OUTTYPES
from codebabel.errors import CodebabelError
from codebabel.models.gguf_adapter import adapter_base, adapter_gguf, adapter_problem, write_adapter_gguf
from codebabel.models.gguf_layout import base_gguf, gguf_layout, gguf_reader, gguf_writer

__all__ = ["MERGE_OUTTYPES", "OUTTYPES", "adapter_gguf", "adapter_problem", "export_gguf", "merged_gguf",
           "write_adapter_gguf", "write_merged_gguf", "write_model_gguf"]

#: what ``--outtype`` may name: an adapter f32|f16, a model any of these
OUTTYPES = ("f32", "f16", "q8_0", "q4_k")
_SKIP_KV = ("general.architecture", "general.file_type", "general.quantization_version")


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
    layout = gguf_layout(like)
    reader = gguf_reader(like)
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
    with gguf_writer(Path(out), layout.arch, finish) as writer:
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
    from codebabel.models.loading import resolve

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
    return write_merged_gguf(adapter, source, like, target, outtype)


def write_merged_gguf(adapter: str | os.PathLike, source, like: str | Path, out: str | Path,
                      outtype: str) -> Path:
    """``adapter`` merged into its base ``source`` (PEFT's ``merge_and_unload`` on the fp32 weights), written
    as a GGUF model at ``out`` with the metadata and tokenizer of the GGUF ``like``."""
    from codebabel.models.loading import attach_adapter, load_model

    base_model, _ = load_model(source, device="cpu", dtype="float32")
    merged = attach_adapter(base_model, str(adapter)).merge_and_unload()
    tensors = ((name, t.detach().float().numpy()) for name, t in merged.state_dict().items())
    return write_model_gguf(tensors, like, out, outtype)


def merged_gguf(adapter: str | os.PathLike, source, outtype: str = "q8_0") -> Path:
    """``adapter`` merged into ``source``'s weights as a GGUF model of type ``outtype``, for the llama.cpp
    backend's ``--merge-adapter``: written once and cached under ``$CODEBABEL_HOME/models/merged/<key>/`` by
    ``adapter_cache_key`` (the adapter's file digests, the base's layout, the type). Decodes at the base model's
    speed (no ``B·A·x`` per layer), at the price of re-quantizing the merged weights."""
    from codebabel.models.cache import _locked, models_dir
    from codebabel.models.gguf_adapter import adapter_cache_key

    if outtype not in MERGE_OUTTYPES:
        raise CodebabelError(f"--merge-adapter {outtype}: choose one of {', '.join(MERGE_OUTTYPES)}")
    like = base_gguf(source)
    if like is None:
        raise CodebabelError(f"model '{source.spec}': no GGUF to merge adapter '{adapter}' into")
    apath, layout, key = adapter_cache_key(adapter, source, outtype, version=1)
    folder = models_dir() / "merged" / key
    target = folder / "model.gguf"
    if target.is_file():
        return target
    with _locked(folder):
        if not target.is_file():
            write_merged_gguf(apath, source, like, target, outtype)
            (folder / "source.json").write_text(json.dumps(
                {"adapter": str(apath.resolve()), "base": str(like), "outtype": outtype, **layout.identity},
                indent=2) + "\n")
    return target
