"""Run many programs through the sandbox in parallel and classify each outcome.

A program is compiled once (if its language compiles) and run once; the language module turns the raw
:class:`ExecResult` into a :class:`Status`. Worker threads only wait on subprocesses, so a pool of
``workers`` threads keeps ``workers`` programs running at once; each worker owns a sandbox slot (its own
uid), so one program's fork bomb cannot starve the others.
"""

from __future__ import annotations

import atexit
import queue
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
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
                # compilers write their messages to either stream (Go's gc and Mono's mcs: stdout); a row's
                # stderr holds both, so a compile error always says why
                return _outcome(job.key, status, replace(result, stdout="", stderr=result.stderr + result.stdout))
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


def ready(cfg: ExecutionConfig) -> Sandbox | None:
    """Before any work, check that programs can run where ``cfg`` says, refusing in one line: the local sandbox
    (returned, its self-test passed) or, with ``--executor ray``, the cluster (connected; each worker checks its
    own sandbox before its first program)."""
    if cfg.executor == "ray":
        from codebabel.execute.ray_pool import connect

        connect(cfg.ray_address)
        return None
    return Sandbox(unsafe=cfg.unsafe_no_sandbox)


class Slot:
    """One worker slot of a sandbox: programs run one at a time under the slot's uid, Python ones in the slot's
    warm server (started on first use). The local pool holds ``workers`` slots; each Ray worker process holds
    one (``execute/ray_pool.py``)."""

    def __init__(self, sandbox: Sandbox, slot: int, warm: bool):
        self.sandbox, self.slot = sandbox, slot
        self.use_warm = warm and sandbox.can_warm
        self.server: WarmPython | None = None

    def run(self, job: Job, limits: Limits) -> Outcome:
        interp = job.language.warm_interpreter() if self.use_warm else None
        if interp is not None and self.server is None:
            self.server = WarmPython(self.sandbox, self.slot, *interp)
        return run_program(self.sandbox, job, limits, self.slot, self.server if interp is not None else None)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


def run_many(jobs: Iterable[Job], cfg: ExecutionConfig, on_done: Callable[[Outcome], None] | None = None,
             sandbox: Sandbox | None = None) -> Iterator[Outcome]:
    """Yield an :class:`Outcome` per job as each finishes (completion order, not input order).

    ``cfg.executor``: ``local``, this machine's pool of ``cfg.workers`` slots; ``ray``, the worker processes of
    a Ray cluster (``cfg.ray_address``), each running its share in the same sandbox with the same limits
    (``sandbox`` is then unused: every worker has its own). Either way the outcomes come back to this process,
    the one writer of the results."""
    if cfg.executor == "ray":
        from codebabel.execute.ray_pool import ray_map  # Ray is imported only for --executor ray

        batches = ray_map(run_batch, _batched(jobs, RAY_BATCH), cfg.ray_address, shared=cfg)
        yield from _pump((o for batch in batches for o in batch), on_done)
        return
    sandbox = sandbox or Sandbox(unsafe=cfg.unsafe_no_sandbox)
    limits = limits_for(cfg)
    slots: queue.SimpleQueue[Slot] = queue.SimpleQueue()
    every = [Slot(sandbox, s, cfg.warm) for s in range(cfg.workers)]
    for slot in every:
        slots.put(slot)

    def work(job: Job) -> Outcome:
        slot = slots.get()
        try:
            return slot.run(job, limits)
        finally:
            slots.put(slot)

    try:
        yield from _pump(bounded_map(jobs, work, cfg.workers, "codebabel-exec"), on_done)
    finally:
        for slot in every:
            slot.close()


#: programs per Ray task: enough that Ray's per-task cost is small beside the programs' run time, few
#: enough that a lost node loses little work and the last tasks balance over the cluster
RAY_BATCH = 8
_ray_slot: dict[tuple, Slot] = {}  # this process's slot, when it is a Ray worker (one task at a time)


def run_batch(jobs: list[Job], cfg: ExecutionConfig) -> list[Outcome]:
    """What a Ray worker process runs (``--executor ray``): ``jobs`` in this process's one slot, the sandbox
    (its self-test) and the warm server kept for the process's later batches."""
    key = (cfg.unsafe_no_sandbox, cfg.warm)
    if key not in _ray_slot:
        _ray_slot[key] = Slot(Sandbox(unsafe=cfg.unsafe_no_sandbox), 0, cfg.warm)
        atexit.register(_ray_slot[key].close)
    limits = limits_for(cfg)
    return [_ray_slot[key].run(job, limits) for job in jobs]


def _batched(items: Iterable, n: int) -> Iterator[list]:
    items = iter(items)
    while batch := list(islice(items, n)):
        yield batch


def _pump(outcomes: Iterable[Outcome], on_done) -> Iterator[Outcome]:
    for outcome in outcomes:
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
