"""Where models live on this machine: ``$CODEBABEL_HOME/models/``, and whether a model is there yet.

    <name>/model.gguf        the verified GGUF of a registered model (for llama.cpp)
    <name>/hf/               safetensors + tokenizer + chat template (for transformers / PEFT / training)
    gguf-<sha16>/hf/         the HF folder converted from an arbitrary local .gguf, keyed by its sha256
    adapters/<key>/adapter.gguf  a PEFT LoRA adapter converted for llama.cpp (models/gguf_adapter.py), keyed by
                             its files' digests and the base's layout

A folder is finished when its marker file is written (last); work on one folder holds a file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from codebabel.config import home
from codebabel.models.registry import get_registered

CHUNK = 1 << 20
GGUF_MAGIC = b"GGUF"
CONVERTED_MARKER = "codebabel.json"  # written last into a finished HF folder


@dataclass(frozen=True)
class ModelPaths:
    name: str
    root: Path
    gguf: Path
    hf: Path | None  # None when pulled with convert=False
    sha256: str

    @property
    def hf_dir(self) -> Path | None:
        return self.hf


def models_dir() -> Path:
    return home() / "models"


def adapters_dir() -> Path:
    return models_dir() / "adapters"


def model_dir(name: str) -> Path:
    return models_dir() / name


def _console(progress: bool):
    from rich.console import Console

    return Console(stderr=True, quiet=not progress, soft_wrap=True, highlight=False)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Serialize pulls/conversions of one model across processes."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _is_converted(hf: Path) -> bool:
    return (hf / CONVERTED_MARKER).is_file() and (hf / "config.json").is_file()


def local_paths(name: str) -> ModelPaths | None:
    """Paths of a registered model if it is already pulled (and converted), else ``None``."""
    entry = get_registered(name)
    if entry is None:
        return None
    root = model_dir(entry.name)
    gguf, hf = root / "model.gguf", root / "hf"
    if not gguf.is_file():
        return None
    return ModelPaths(entry.name, root, gguf, hf if _is_converted(hf) else None, entry.sha256)


def is_pulled(name: str) -> bool:
    """Whether a registered model is downloaded, verified and converted in ``$CODEBABEL_HOME``."""
    paths = local_paths(name)
    return paths is not None and paths.hf is not None
