"""Run many programs through the sandbox in parallel and classify each outcome.

A program is compiled once (if its language compiles) and run once; the language module turns the raw
:class:`ExecResult` into a :class:`Status`. Worker threads only wait on subprocesses, so a pool of
``workers`` threads keeps ``workers`` programs running at once; each worker owns a sandbox slot (its own
uid), so one program's fork bomb cannot starve the others.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from codebabel.config import ExecutionConfig
from codebabel.execute.sandbox import ExecResult, Limits, Sandbox
from codebabel.execute.status import Status
from codebabel.execute.warm import WarmPython

if TYPE_CHECKING:  # a job's language is only called here; languages/ sits beside execute/ and imports it
    from codebabel.languages.base import Language

_TAIL = 2000  # characters of stdout/stderr kept in results


@dataclass(frozen=True)
class Job:
    key: Any
    language: Language
    program: str
    #: a whole program (``Language.program_spec``), not a benchmark harness: ok = it exited 0
    standalone: bool = False


@dataclass
class Outcome:
    key: Any
    status: Status
    returncode: int | None
    duration_s: float
    stdout: str  # the last _TAIL characters
    stderr: str
    cut: tuple[bool, bool] = (False, False)  # whether stdout, stderr were longer (only their tails are kept)

    @property
    def passed(self) -> bool:
        return self.status.passed


def same_behaviour(source: Outcome, other: Outcome) -> tuple[bool, str]:
    """``(agree, why)``: whether ``other`` (a translation) behaves as ``source`` did, both run as whole programs
    (``Job(standalone=True)``): the same exit status and the same stdout, which must not be empty (a program that
    prints nothing cannot be judged by its output). The one criterion of ``evaluate translation``'s execution
    accuracy and ``translate --run``."""
    if other.returncode != source.returncode:
        return False, f"exit status {source.returncode} vs {other.returncode} ({other.status.value})"
    if source.stdout == "":
        return False, "the source printed nothing: no output to compare"
    if other.stdout != source.stdout:
        a, b = source.stdout.splitlines(), other.stdout.splitlines()
        if a == b:
            return False, "stdout differs only in line endings or the final newline"
        line = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))) + 1
        return False, f"stdout differs from line {line} ({len(a)} vs {len(b)} lines)"
    n = len(source.stdout.splitlines())
    return True, f"the same exit status ({source.returncode}) and stdout ({n} line{'' if n == 1 else 's'})"


def limits_for(cfg: ExecutionConfig) -> Limits:
    return Limits(
        timeout_s=cfg.timeout_s,
        memory_mb=cfg.memory_mb,
        max_processes=cfg.max_processes,
        max_file_mb=cfg.max_file_mb,
        max_output_kb=cfg.max_output_kb,
    )


def run_program(sandbox: Sandbox, job: Job, limits: Limits, slot: int = 0, warm: WarmPython | None = None
                ) -> Outcome:
    """Compile (if needed) and run one program; never raises for anything the program does.

    ``warm``: this slot's warm Python server, used for programs whose language allows it.
    """
    lang = job.language
    spec = lang.program_spec(job.program) if job.standalone else lang.run_spec(job.program)
    classify = _classify_standalone(lang) if job.standalone else lang.classify
    limits = lang.adjust_limits(limits)
    if spec.warm and warm is not None:
        result = warm.run(spec.files["main.py"], limits)
        return _outcome(job.key, classify(result), result)
    with sandbox.open(slot) as box:
        box.write(spec.files)
        result: ExecResult
        if spec.compile:
            result = box.run(spec.compile, lang.compile_limits(limits), spec.ro_paths, env=spec.env)
            if result.returncode != 0 or result.timed_out:
                status = lang.classify_compile(result)
                return _outcome(job.key, status, result)
        result = box.run(spec.run, limits, spec.ro_paths, env=spec.env)
        return _outcome(job.key, classify(result), result)


def _classify_standalone(lang: Language) -> Callable[[ExecResult], Status]:
    """A whole program has no harness markers: ok when it exits 0, else the language's reading of the failure."""
    def classify(result: ExecResult) -> Status:
        common = lang.common_status(result)
        if common is None and result.returncode == 0:
            return Status.OK
        status = common or lang.classify(result)
        return Status.RUNTIME_ERROR if status is Status.OK else status
    return classify


def _outcome(key: Any, status: Status, r: ExecResult) -> Outcome:
    return Outcome(key, status, r.returncode, round(r.duration_s, 4), r.stdout[-_TAIL:], r.stderr[-_TAIL:],
                   (len(r.stdout) > _TAIL, len(r.stderr) > _TAIL))


def run_many(jobs: Iterable[Job], cfg: ExecutionConfig, on_done: Callable[[Outcome], None] | None = None,
             sandbox: Sandbox | None = None) -> Iterator[Outcome]:
    """Yield an :class:`Outcome` per job as each finishes (completion order, not input order)."""
    sandbox = sandbox or Sandbox(unsafe=cfg.unsafe_no_sandbox)
    limits = limits_for(cfg)
    slots: queue.SimpleQueue[int] = queue.SimpleQueue()
    for s in range(cfg.workers):
        slots.put(s)
    warm: dict[int, WarmPython] = {}  # one warm Python server per slot, started on first use
    use_warm = cfg.warm and sandbox.can_warm

    def work(job: Job) -> Outcome:
        slot = slots.get()
        try:
            server = None
            interp = job.language.warm_interpreter() if use_warm else None
            if interp is not None:
                server = warm.get(slot) or warm.setdefault(slot, WarmPython(sandbox, slot, *interp))
            return run_program(sandbox, job, limits, slot, server)
        finally:
            slots.put(slot)

    jobs_iter = iter(jobs)
    try:
        yield from _pump(jobs_iter, work, cfg.workers, on_done)
    finally:
        for server in warm.values():
            server.close()


def _pump(jobs_iter, work, workers: int, on_done) -> Iterator[Outcome]:
    for outcome in bounded_map(jobs_iter, work, workers, "codebabel-exec"):
        if on_done:
            on_done(outcome)
        yield outcome


def bounded_map(items: Iterable, work: Callable, workers: int, name: str = "codebabel") -> Iterator:
    """``work(item)`` for every item on ``workers`` threads, results in completion order; at most ``2 * workers``
    items are submitted at a time, so a huge (lazy) item list is never materialised at once."""
    items = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        pending = {pool.submit(work, item) for item in islice(items, 2 * workers)}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
                nxt = next(items, None)
                if nxt is not None:
                    pending.add(pool.submit(work, nxt))
