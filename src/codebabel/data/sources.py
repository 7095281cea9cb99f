"""Where corpus documents come from: local trees (and ``.zip`` archives), JSONL/parquet files, Hugging Face
datasets (a local ``save_to_disk`` folder or a Hub id), and the source code installed on this machine.

Every reader is a datatrove pipeline step yielding ``Document(text, id, metadata)``. A tree reader yields the
file's raw bytes (``metadata["raw"]``) and leaves decoding to the ``Decode`` step, so binary and non-UTF-8
files are counted there like every other removal. Files are read in sorted order, sharded by index across
datatrove ranks (``index % world_size == rank``): the same inputs give the same documents in the same order.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from codebabel.errors import CodebabelError
from codebabel.inputs import iter_jsonl
from codebabel.languages import Language, get_language
from codebabel.models.loading import hub_reachable

#: folder names never read under a tree (version control, caches, vendored dependencies of a project)
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".tox", ".venv"})


@dataclass(frozen=True)
class Source:
    """One input of a corpus build: ``kind`` is tree | jsonl | parquet | hf-disk | hf-hub | system."""

    kind: str
    location: str
    language: str
    text_key: str = "content"
    data_dir: str | None = None
    split: str = "train"
    license: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.location}" + (f"/{self.data_dir}" if self.data_dir else "")


def resolve_sources(paths: list[str], language: Language, *, from_system: bool, hf: list[str],
                    data_dir: str | None, text_key: str) -> list[Source]:
    """Turn the command line's inputs into sources, checking each exists (one-line error otherwise)."""
    sources: list[Source] = []
    for p in paths:
        path = Path(p).expanduser()
        if not path.exists():
            raise CodebabelError(f"corpus source '{p}': no such file or folder")
        if path.is_dir() and ((path / "dataset_info.json").is_file() or (path / "state.json").is_file()
                              or (path / "dataset_dict.json").is_file()):
            sources.append(Source("hf-disk", str(path), language.name, text_key=text_key))
        elif path.is_dir() or path.suffix == ".zip":
            sources.append(Source("tree", str(path), language.name))
        elif path.name.endswith((".jsonl", ".jsonl.gz", ".json")):
            sources.append(Source("jsonl", str(path), language.name, text_key=text_key))
        elif path.suffix == ".parquet":
            sources.append(Source("parquet", str(path), language.name, text_key=text_key))
        else:
            raise CodebabelError(f"corpus source '{p}': not a folder, .zip, .jsonl[.gz] or .parquet file")
    for hub_id in hf:
        check_hub_dataset(hub_id, data_dir)
        sources.append(Source("hf-hub", hub_id, language.name, text_key=text_key, data_dir=data_dir))
    if from_system:
        roots = language.system_sources()
        if not roots:
            hint = (f"install {' '.join(language.source_packages)} (or run scripts/setup.sh)"
                    if language.source_packages else "pass source folders instead")
            why = language.toolchain_missing()
            raise CodebabelError(f"--from-system {language.name}: no {language.display_name} sources installed "
                                 f"here; {why or hint}")
        sources += [Source("system", r, language.name, license=language.source_license) for r in roots]
    if not sources:
        raise CodebabelError("corpus build: no sources; pass folders/files, --hf ID or --from-system LANG")
    return sources


def check_hub_dataset(hub_id: str, data_dir: str | None) -> None:
    """Fail early, in one line, when a Hub dataset cannot be opened (offline, gated, misspelt)."""
    import datasets

    if not hub_reachable():
        raise CodebabelError(f"--hf {hub_id}: the Hugging Face Hub is not reachable from here (offline?); pass a "
                             "local copy instead (a save_to_disk folder, JSONL or parquet)")
    try:
        datasets.load_dataset_builder(hub_id, **({"data_dir": data_dir} if data_dir else {}))
    except Exception as e:  # ConnectionError, DatasetNotFoundError, gated-repo errors, ...
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CodebabelError(f"--hf {hub_id}: cannot open it on the Hugging Face Hub ({msg}); check the id, "
                             "your network and `huggingface-cli login` for gated datasets, or pass a local copy "
                             "(a save_to_disk folder, JSONL or parquet)") from e


def readers(sources: list[Source], excludes: tuple[str, ...] = ()) -> list[PipelineStep]:
    return [_reader(s, excludes) for s in sources]


def _reader(src: Source, excludes: tuple[str, ...]) -> PipelineStep:
    if src.kind in ("tree", "system"):
        return TreeReader(src, excludes=excludes)
    if src.kind in ("jsonl", "parquet", "hf-disk"):
        return RowsReader(src)
    if src.kind == "hf-hub":
        from datatrove.pipeline.readers import HuggingFaceDatasetReader

        options = {"split": src.split, **({"data_dir": src.data_dir} if src.data_dir else {})}
        return _Tagged(HuggingFaceDatasetReader(src.location, dataset_options=options, streaming=True,
                                                text_key=src.text_key), src)
    raise CodebabelError(f"corpus source kind {src.kind!r} is unknown")


class TreeReader(PipelineStep):
    """Files under a folder (or in a ``.zip``) whose extension the registry maps to the source's language."""

    name = "📂 files"
    type = "📖 - READER"

    def __init__(self, src: Source, excludes: tuple[str, ...] = ()):
        super().__init__()
        self.src = src
        self.language = get_language(src.language)
        self.excludes = SKIP_DIRS | frozenset(excludes)

    def _wanted(self, rel: str) -> bool:
        parts = rel.split("/")
        if any(p in self.excludes for p in parts[:-1]):
            return False
        name = parts[-1]
        return any(name.endswith(ext) for ext in self.language.extensions)

    def files(self) -> list[str]:
        """Relative paths of the wanted files, sorted (names only: memory stays small)."""
        root = self.src.location
        if root.endswith(".zip"):
            with zipfile.ZipFile(root) as z:
                return sorted(n for n in z.namelist() if not n.endswith("/") and self._wanted(n))
        out: list[str] = []
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in self.excludes)
            rel_dir = os.path.relpath(dirpath, root)
            for f in filenames:
                rel = f if rel_dir == "." else f"{rel_dir}/{f}"
                if self._wanted(rel) and os.path.isfile(os.path.join(dirpath, f)):
                    out.append(rel)
        return sorted(out)

    def _read(self, rels: list[str]) -> Iterator[tuple[str, bytes]]:
        root = self.src.location
        if root.endswith(".zip"):
            with zipfile.ZipFile(root) as z:
                for rel in rels:
                    yield rel, z.read(rel)
        else:
            for rel in rels:
                try:
                    yield rel, Path(root, rel).read_bytes()
                except OSError as e:
                    self.stat_update("unreadable")
                    del e

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        mine = [rel for i, rel in enumerate(self.files()) if i % world_size == rank]
        # ids name the file by the root folder's own name, not by how the root was spelled: stable splits
        base = Path(self.src.location).resolve().name
        for rel, raw in self._read(mine):
            self.stat_update("documents")
            yield Document(text="", id=f"{base}/{rel}", metadata=_meta(self.src, rel, raw=raw))


class RowsReader(PipelineStep):
    """Rows of JSONL (``.gz`` too), parquet, or a ``datasets.save_to_disk`` folder; text from ``text_key``."""

    name = "📄 rows"
    type = "📖 - READER"

    def __init__(self, src: Source):
        super().__init__()
        self.src = src

    def rows(self) -> Iterator[dict]:
        loc = self.src.location
        if self.src.kind == "jsonl":  # a bad byte or line: one error naming it (the build leaves nothing behind)
            for _, row in iter_jsonl(loc, "corpus source", "row (a JSON object)"):
                yield row
        elif self.src.kind == "parquet":
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(loc).iter_batches(batch_size=256):
                yield from batch.to_pylist()
        else:
            import datasets

            ds = datasets.load_from_disk(loc)
            if isinstance(ds, datasets.DatasetDict):
                ds = ds[self.src.split] if self.src.split in ds else ds[next(iter(ds))]
            yield from ds

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        key = self.src.text_key
        for i, row in enumerate(self.rows()):
            if i % world_size != rank:
                continue
            if key not in row:
                raise CodebabelError(f"corpus source '{self.src.location}' row {i + 1}: no field '{key}'; "
                                     f"pass --text-key with the field that holds the code")
            self.stat_update("documents")
            text = row[key]
            rid = str(row.get("id") or row.get("path") or row.get("max_stars_repo_path") or i)
            meta = _meta(self.src, rid, license=_row_license(row))
            if isinstance(text, bytes):
                meta["raw"] = text
                text = ""
            yield Document(text=text or "", id=f"{self.src.location}#{rid}", metadata=meta)


class _Tagged(PipelineStep):
    """A datatrove reader whose documents get this source's metadata (Hub datasets)."""

    name = "🤗 hub"
    type = "📖 - READER"

    def __init__(self, reader: PipelineStep, src: Source):
        super().__init__()
        self.reader, self.src = reader, src

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        for doc in self.reader.run(None, rank, world_size):
            self.stat_update("documents")
            path = str(doc.metadata.get("path") or doc.metadata.get("max_stars_repo_path") or doc.id)
            doc.metadata = _meta(self.src, path, license=_row_license(doc.metadata))
            doc.id = f"{self.src.label}#{doc.id}"
            yield doc


def _meta(src: Source, path: str, raw: bytes | None = None, license: str | None = None) -> dict:
    meta = {"language": src.language, "source": src.label, "path": path,
            "license": license or src.license}
    if raw is not None:
        meta["raw"] = raw
    return meta


def _row_license(row: dict) -> str | None:
    for key in ("license", "licenses", "max_stars_repo_licenses"):
        v = row.get(key)
        if isinstance(v, str) and v:
            return v
        if isinstance(v, list | tuple) and v:
            return ",".join(map(str, v))
    return None
