"""A stage's folder: named by the hash of its settings, append-only JSONL logs keyed by item, a summary.

``RUN/<n>-<stage>[-<lang>]-<settings_hash>/`` holds

- ``settings.json`` — what the hash covers (written once; a folder whose settings differ is refused);
- one or more ``*.jsonl`` logs (:class:`~codebabel.store.JsonlLog`): a line per item, keyed by a stable id (a
  function's content hash) and a sample number, appended with one ``write`` as soon as the item exists. A kill
  at any point leaves at worst a partial last line, which the next run drops; an item already in a log is never
  generated or run again;
- ``summary.json`` — the stage's counts, replaced atomically at the end of each run of the stage.

Changed settings give another folder (the old one stays, and is reused when the settings come back); a later
stage's settings include the hash of the stage it reads, so a change flows downstream.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codebabel.errors import CodebabelError
from codebabel.store import JsonlLog, atomic_write_text, settings_hash


class StageDir:
    def __init__(self, run_dir: Path, label: str, settings: dict[str, Any]):
        self.settings = json.loads(json.dumps(settings, default=str))
        self.hash = settings_hash(self.settings)
        self.dir = Path(run_dir) / f"{label}-{self.hash}"
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / "settings.json"
        if path.exists():
            try:
                old = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                raise CodebabelError(f"{path}: not valid JSON; delete the folder {self.dir} to redo the stage") from None
            if settings_hash(old) != self.hash:
                raise CodebabelError(f"{path}: settings differ from this run's although the folder name matches; "
                                     f"delete the folder {self.dir} to redo the stage")
        else:
            atomic_write_text(path, json.dumps(self.settings, indent=2, sort_keys=True) + "\n")
        self._logs: dict[str, JsonlLog] = {}
        self.dropped_partial = False

    def log(self, name: str) -> JsonlLog:
        """The append-only log ``<name>.jsonl`` (records need ``task_id`` and ``sample``)."""
        if name not in self._logs:
            log = JsonlLog(self.dir / f"{name}.jsonl")
            self.dropped_partial |= log.dropped_partial
            self._logs[name] = log
        return self._logs[name]

    def note_partial(self, log) -> None:
        """Say so where a log's partial last line (left by a kill) was dropped."""
        if self.dropped_partial:
            log(f"note: {self.dir.name}: dropped a partial last line left by an interrupted run")

    def read_summary(self) -> dict:
        try:
            data = json.loads((self.dir / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_summary(self, summary: dict) -> None:
        atomic_write_text(self.dir / "summary.json", json.dumps(summary, indent=2) + "\n")

    def close(self) -> None:
        for log in self._logs.values():
            log.close()
