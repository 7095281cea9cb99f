"""What every GGUF export shares: the base model's layout, the tensor-name map, and the one way a file is written.

The base layout (architecture, heads, KV heads, blocks, tensor shapes) is read from the base model's GGUF
where one exists (a registered model, a ``.gguf`` spec, or a folder codebabel converted from a GGUF), else
from its ``config.json``. HF weight names map onto GGUF names through the ``gguf`` package's tensor-name map
(``model.layers.0.self_attn.q_proj.weight`` → ``blk.0.attn_q.weight``); for the llama architecture
llama.cpp's converter permutes the rows of ``q_proj`` and ``k_proj`` for its rotary layout, and so does
:meth:`BaseLayout.permute_rows`. :func:`gguf_writer` writes a file with the package's ``GGUFWriter`` on a temp
file beside the target, so a failed export leaves nothing. Adapters: ``models/gguf_adapter.py``; full models
and ``codebabel export --gguf``: ``models/gguf_export.py``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from codebabel.errors import CodebabelError
from codebabel.models.cache import CONVERTED_MARKER

#: GGUF architectures this export knows -> whether llama.cpp's converter permutes q/k rows (rotary layout)
ARCHS: dict[str, bool] = {"llama": True, "qwen2": False, "qwen3": False}
#: HF ``config.model_type`` -> GGUF architecture (convert_hf_to_gguf registers Mistral as a llama model)
HF_ARCHS = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "qwen3": "qwen3"}


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
        return gguf_layout(gguf_file)
    return _config_layout(source)


def gguf_layout(path: str | Path) -> BaseLayout:
    """The layout of the GGUF model file ``path`` (read once while the file is unchanged)."""
    st = Path(path).stat()
    return _gguf_layout(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=8)
def _gguf_layout(path: str, _size: int, _mtime: int) -> BaseLayout:
    reader = gguf_reader(path)

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


def gguf_reader(path: str | Path):
    """The gguf package's reader of a base GGUF; a file it cannot read is a one-line error."""
    import gguf

    try:
        return gguf.GGUFReader(str(path))
    except Exception as e:  # not a GGUF, truncated
        raise CodebabelError(f"base GGUF {path}: cannot read it ({first_line(e)})") from e


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


@contextmanager
def gguf_writer(out: Path, arch: str, finish: Callable[[Path, Path], object] = os.replace) -> Iterator[Any]:
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
