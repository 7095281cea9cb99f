"""The results store: one folder per run, named by a hash of every setting that changes a result.

``<results_dir>/<benchmark>-<language>-<model>-<hash12>/`` holds

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
import re
import tempfile
from pathlib import Path
from typing import Any

from codebabel.errors import CodebabelError

Key = tuple[str, int]


def settings_hash(settings: dict[str, Any]) -> str:
    blob = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


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


class RunStore:
    def __init__(self, results_dir: Path, settings: dict[str, Any], label: str):
        self.settings = settings
        self.hash = settings_hash(settings)
        self.dir = Path(results_dir) / f"{_slug(label)}-{self.hash[:12]}"
        self.dir.mkdir(parents=True, exist_ok=True)
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
