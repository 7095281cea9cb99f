"""GGUF → a Hugging Face folder (safetensors, tokenizer, chat template), once per file, with transformers'
GGUF loader; any local ``.gguf`` is converted on first use and cached by its sha256 (:func:`hf_from_gguf`)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from codebabel.errors import CodebabelError
from codebabel.models.cache import (
    CONVERTED_MARKER,
    GGUF_MAGIC,
    _console,
    _is_converted,
    _locked,
    models_dir,
)
from codebabel.store import file_digest


def _silence_gguf_tqdm():
    """transformers' GGUF de-quantization bar is a plain tqdm that ignores its progress-bar switch."""
    try:
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        return lambda: None
    original = getattr(gguf_utils, "tqdm", None)
    if original is None:
        return lambda: None
    gguf_utils.tqdm = lambda iterable=None, *args, **kwargs: iterable

    def restore() -> None:
        gguf_utils.tqdm = original

    return restore


def convert_gguf(gguf_path: Path, hf_dir: Path, progress: bool = True, sha256: str | None = None) -> Path:
    """Convert a GGUF file to a safetensors HF folder (de-quantized, fp32) at ``hf_dir``; atomic.

    transformers de-quantizes GGUF tensors while loading and marks the model as quantized with a
    ``GgufHfQuantizer``; ``save_pretrained`` then refuses ("not serializable") until the quantizer's
    ``remove_quantization_config(model)`` strips that marker. The tokenizer built from the GGUF metadata
    carries the chat template and special tokens, and ``save_pretrained`` writes them (chat_template.jinja).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    gguf_path = Path(gguf_path)
    console = _console(progress)
    tmp = hf_dir.with_name(hf_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if not progress:
        hf_logging.disable_progress_bar()
        restore_tqdm = _silence_gguf_tqdm()
    t0 = time.perf_counter()
    try:
        with console.status(
            f"converting {gguf_path.name} to a Hugging Face folder (once; ~1 min per 500 MB)"
        ):
            # Load from a folder holding only a link to the file: a config.json or tokenizer files next to
            # the user's GGUF must not leak into the conversion.
            with tempfile.TemporaryDirectory(prefix="codebabel-gguf-") as iso:
                (Path(iso) / "model.gguf").symlink_to(gguf_path.resolve())
                try:
                    tokenizer = AutoTokenizer.from_pretrained(iso, gguf_file="model.gguf")
                    model = AutoModelForCausalLM.from_pretrained(
                        iso, gguf_file="model.gguf", dtype=torch.float32
                    )
                except Exception as e:  # unsupported architecture / quantization type, corrupt file
                    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                    raise CodebabelError(
                        f"model '{gguf_path}': transformers cannot load this GGUF file ({msg}); "
                        "use an architecture and quantization transformers supports, or an HF folder"
                    ) from e
            repaired = _repair_tokenizer(tokenizer, gguf_path)
            quantizer = getattr(model, "hf_quantizer", None)
            if quantizer is not None:
                quantizer.remove_quantization_config(model)
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            meta = {
                "source_gguf": str(gguf_path),
                "sha256": sha256,
                "transformers": __import__("transformers").__version__,
                "dtype": "float32",
                "has_chat_template": bool(getattr(tokenizer, "chat_template", None)),
                "tokenizer_repaired": repaired,
                "seconds": round(time.perf_counter() - t0, 1),
            }
            (tmp / CONVERTED_MARKER).write_text(json.dumps(meta, indent=2) + "\n")
            del model
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if not progress:
            hf_logging.enable_progress_bar()
            restore_tqdm()
    shutil.rmtree(hf_dir, ignore_errors=True)
    os.replace(tmp, hf_dir)
    console.print(f"converted {gguf_path.name} → {hf_dir} in {time.perf_counter() - t0:.0f}s")
    return hf_dir


# GGUF pre-tokenizer names whose original HF tokenizer splits digits one by one *before* the byte-level
# regex (llama.cpp does too). transformers' GGUF → tokenizer conversion drops that Digits step, so e.g.
# "\n    0" becomes "\n   " " " "0" instead of "\n    " "0" — a token sequence the model never saw.
_DIGIT_SPLIT_PRE = {"smollm", "starcoder", "refact"}


def _gguf_string(path: Path, key: str) -> str | None:
    from gguf import GGUFReader

    field = GGUFReader(str(path)).fields.get(key)
    if field is None:
        return None
    return bytes(field.parts[field.data[0]]).decode("utf-8", errors="replace")


def _repair_tokenizer(tokenizer, gguf_path: Path) -> str | None:
    """Make the converted tokenizer match the original (and llama.cpp) where transformers' conversion differs."""
    pre = _gguf_string(gguf_path, "tokenizer.ggml.pre")
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if pre in _DIGIT_SPLIT_PRE and backend is not None:
        from tokenizers import pre_tokenizers

        current = backend.pre_tokenizer
        if type(current).__name__ == "ByteLevel":
            backend.pre_tokenizer = pre_tokenizers.Sequence(
                [pre_tokenizers.Digits(individual_digits=True), current]
            )
            return (
                f"pre-tokenizer '{pre}': digits split one by one, as in llama.cpp and the original tokenizer"
            )
    return None


def _index_path() -> Path:
    return models_dir() / "gguf-index.json"


def gguf_sha256(path: Path) -> str:
    """sha256 of a local file, remembered by (realpath, size, mtime) so big files are hashed once."""
    real = os.path.realpath(path)
    st = os.stat(real)
    key = f"{real}|{st.st_size}|{st.st_mtime_ns}"
    index_file = _index_path()
    try:
        index = json.loads(index_file.read_text())
    except (OSError, ValueError):
        index = {}
    if key in index:
        return index[key]
    sha = file_digest(real)
    index[key] = sha
    index_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = index_file.with_name(f"{index_file.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(index, indent=1))
    os.replace(tmp, index_file)
    return sha


def hf_from_gguf(path: str | Path, progress: bool = True) -> tuple[Path, str]:
    """The HF folder converted from any local GGUF file (converted on first use), and the file's sha256.

    Cached at ``$CODEBABEL_HOME/models/gguf-<sha256[:16]>/hf`` so a second load is as fast as a folder.
    """
    path = Path(path)
    if not path.is_file():
        raise CodebabelError(f"model '{path}': no such GGUF file")
    with open(path, "rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            raise CodebabelError(f"model '{path}': not a GGUF file (bad magic bytes)")
    sha = gguf_sha256(path)
    root = models_dir() / f"gguf-{sha[:16]}"
    hf = root / "hf"
    if _is_converted(hf):
        return hf, sha
    with _locked(root):
        if not _is_converted(hf):
            convert_gguf(path, hf, progress=progress, sha256=sha)
    return hf, sha
