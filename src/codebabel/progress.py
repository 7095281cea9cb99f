"""Progress of long jobs, on a terminal and off one.

On a terminal: rich's live bars. Where stderr is not a terminal (nohup, Slurm, CI, a pipe) rich draws nothing
until the end, so a job of an hour would say nothing for an hour; there :class:`LogProgress` takes the same
calls and prints one plain line per task every ``every_s`` seconds and when a task finishes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

#: seconds between two progress lines of one task when stderr is not a terminal
LOG_EVERY_S = 30.0


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@dataclass
class _Task:
    description: str
    total: float | None
    completed: float = 0.0
    started: float = field(default_factory=time.monotonic)
    last_log: float = 0.0
    fields: dict = field(default_factory=dict)
    finished_logged: bool = False


class LogProgress:
    """rich ``Progress``'s calls used here (``add_task``, ``advance``, ``update``, a context manager), printed
    as lines: ``generate: 40/164 (24%) 0:02:31 elapsed, ~0:07:50 left``."""

    def __init__(self, console: Console, every_s: float = LOG_EVERY_S):
        self.console = console
        self.every_s = every_s
        self._tasks: dict[int, _Task] = {}

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc) -> None:
        for task_id, task in self._tasks.items():
            if not task.finished_logged and task.completed:
                self._log(task_id, force=True)

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        task_id = len(self._tasks)
        self._tasks[task_id] = _Task(description, total, fields=fields)
        return task_id

    def advance(self, task_id: int, advance: float = 1) -> None:
        self._tasks[task_id].completed += advance
        self._log(task_id)

    def update(self, task_id: int, *, total: float | None = None, completed: float | None = None,
               advance: float | None = None, description: str | None = None, **fields: Any) -> None:
        task = self._tasks[task_id]
        if total is not None:
            task.total = total
        if completed is not None:
            task.completed = completed
        if advance is not None:
            task.completed += advance
        if description is not None:
            task.description = description
        task.fields.update(fields)
        self._log(task_id)

    def remove_task(self, task_id: int) -> None:
        """The task is over: its last line is printed (a live bar would vanish)."""
        self._log(task_id, force=True)
        self._tasks[task_id].finished_logged = True

    def _log(self, task_id: int, force: bool = False) -> None:
        task = self._tasks[task_id]
        now = time.monotonic()
        done = task.total is not None and task.completed >= task.total
        if task.finished_logged or not (force or done or now - task.last_log >= self.every_s):
            return
        task.last_log = now
        task.finished_logged = done
        elapsed = now - task.started
        if task.total:
            pct = 100 * task.completed / task.total
            left = elapsed / task.completed * (task.total - task.completed) if task.completed else None
            text = f"{task.description}: {task.completed:g}/{task.total:g} ({pct:.0f}%) {_clock(elapsed)} elapsed"
            if left is not None and not done:
                text += f", ~{_clock(left)} left"
        else:
            text = f"{task.description}: {task.completed:g} {_clock(elapsed)} elapsed"
        extra = " ".join(f"{k} {v}" for k, v in task.fields.items())
        self.console.print(f"{text}{' ' + extra if extra else ''}", highlight=False, soft_wrap=True)


def progress_bar(console: Console | None, *columns: ProgressColumn | str) -> Progress | LogProgress:
    """Live bars on a terminal (``columns`` after the default ones), progress lines elsewhere."""
    console = console or Console(stderr=True)
    if not console.is_terminal:
        return LogProgress(console)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), *columns,
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True)
