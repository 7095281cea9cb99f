"""The generation worker of ``codebabel serve``: one thread, one bounded queue, batches.

Requests from every client share the one model: the HTTP side puts each request (a :class:`Work`) on a queue
of at most ``max_queue`` waiting requests and awaits its future; a full queue is a 429 at once. The worker
thread takes the first waiting request, then everything else that is waiting, and hands them to the backend's
batched ``generate`` together — llama.cpp decodes up to ``--batch-size`` sequences at once (generate/slots.py),
transformers pads them into one batch —, so N concurrent clients are served in one batch instead of N turns.
Each request's future is set as soon as the backend has its samples (``on_result``), not at the batch's end.

A batch is split into groups that one ``generate`` call can serve: the same model or expert, the same sampling
settings but the seed (llama.cpp seeds each request's samples with its own seed; transformers draws a batch
from one generator, seeded with its first request's) and the same stop sequences — the usual case, one client
program sending the same settings, is one group. ``auto`` requests are routed first (the router runs
once on all of them), then join the group of their expert. Requests that arrive while a batch generates wait
for the next one: the batch is not extended while it runs (that would need per-request settings inside the
backends' decoding loops).

Shutdown: :meth:`Engine.stop_accepting` (new requests get a 503 error object), then :meth:`Engine.close` once
the HTTP side has answered every accepted request; whatever a forced exit left waiting is refused with an error,
never dropped.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field, replace

from codebabel.config import SamplingConfig
from codebabel.errors import CodebabelError
from codebabel.generate.base import Completion
from codebabel.serve.model import AUTO, ServedModel
from codebabel.serve.protocol import ApiError

_STOP = object()


@dataclass(eq=False)
class Work:
    """One request: its prompt (rendered), which served name, how to sample, where to stop. The future's result
    is ``(samples, the name that generated them)`` (``auto``: the expert the router chose, or the base).
    ``route_only`` (``auto``): only routed, never generated; the result is ``([], the expert or None)`` (the
    playground's language detection by the experts' router, on this thread, which owns the model)."""

    prompt: str
    model: str
    sampling: SamplingConfig
    stop: tuple[str, ...]
    future: Future = field(default_factory=Future)
    settled: bool = False  # answered, refused, or its client went away
    route_only: bool = False


class Engine:
    def __init__(self, served: ServedModel, max_queue: int = 64, log: Callable[[str], None] = lambda _: None):
        if max_queue < 1:
            raise CodebabelError(f"--max-queue {max_queue}: must be at least 1")
        self.served, self.log = served, log
        self.queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self.accepting = True
        self.running = 0  # requests taken off the queue and not answered yet
        self.answered = 0
        self.failed = 0
        self.gone = 0  # clients that disconnected before their answer
        self.batches = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="codebabel-serve-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stats(self) -> dict:
        with self._lock:
            return {"queued": self.queue.qsize(), "running": self.running, "answered": self.answered,
                    "failed": self.failed, "gone": self.gone, "batches": self.batches}

    def submit(self, work: Work) -> Future:
        """Queue ``work``; a full queue (429) or a server shutting down (503) is an :class:`ApiError` at once."""
        if not self.accepting:
            raise ApiError(503, "the server is shutting down; retry against another server", type="server_error",
                           code="shutting_down")
        try:
            self.queue.put_nowait(work)
        except queue.Full:
            raise ApiError(429, f"the queue is full ({self.queue.maxsize} requests waiting); retry later",
                           type="rate_limit_error", code="queue_full") from None
        return work.future

    def stop_accepting(self) -> None:
        self.accepting = False

    def close(self, timeout: float | None = None) -> None:
        """Stop the worker after the requests already queued (the HTTP side waits for them first)."""
        self.accepting = False
        if self._thread.is_alive():
            self.queue.put(_STOP)
            self._thread.join(timeout)
        while True:  # only after a forced exit: refused, not dropped
            try:
                work = self.queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(work, Work):
                self._fail(work, ApiError(503, "the server stopped before generating this request",
                                          type="server_error", code="shutting_down"), taken=False)

    # -- the worker thread -----------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            first = self.queue.get()
            if first is _STOP:
                return
            batch, stop = [first], False
            while True:
                try:
                    more = self.queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                batch.append(more)
            with self._lock:
                self.running += len(batch)
                self.batches += 1
            try:
                self._serve(batch)
            except BaseException as e:  # never leave a client waiting: every unanswered future gets the error
                err = _as_api_error(e)
                for work in batch:
                    self._fail(work, err)
            if stop:
                return

    def _serve(self, batch: list[Work]) -> None:
        autos = [w for w in batch if w.model == AUTO]
        chosen = dict(zip(autos, self.served.route([w.prompt for w in autos]), strict=True))
        groups: dict[tuple, list[Work]] = {}
        for w in batch:
            if w.route_only:
                self._settle(w, ([], chosen[w]), None)
                continue
            name = chosen.get(w, w.model) if w.model == AUTO else w.model
            # the seed is each request's own (llama.cpp seeds each sample): not a reason to split the batch
            groups.setdefault((name or self.served.name, replace(w.sampling, seed=0), w.stop), []).append(w)
        for (name, sampling, stop), works in groups.items():
            try:
                def on_result(i: int, samples: list[Completion], works=works, name=name) -> None:
                    self._done(works[i], list(samples), name)

                outs = self.served.generate(name, [w.prompt for w in works], sampling, list(stop), on_result,
                                            seeds=[w.sampling.seed for w in works])
                for w, samples in zip(works, outs, strict=True):  # a backend that never called on_result
                    self._done(w, list(samples), name)
            except Exception as e:  # this group fails; the others still run
                err = _as_api_error(e)
                for w in works:
                    self._fail(w, err)

    def _done(self, work: Work, samples: list[Completion], name: str) -> None:
        self._settle(work, (samples, name), None)

    def _fail(self, work: Work, err: ApiError, taken: bool = True) -> None:
        """``taken``: the worker had taken ``work`` off the queue (it counts as running)."""
        if self._settle(work, None, err, taken):
            self.log(f"request failed: {err.message}")

    def _settle(self, work: Work, result, err: ApiError | None, taken: bool = True) -> bool:
        with self._lock:
            if work.settled:
                return False
            work.settled = True
            self.running -= 1 if taken else 0
            try:
                if err is None:
                    work.future.set_result(result)
                    self.answered += 1
                else:
                    work.future.set_exception(err)
                    self.failed += 1
            except InvalidStateError:  # cancelled: the client disconnected while it waited
                self.gone += 1
                return False
            return True


def _as_api_error(e: BaseException) -> ApiError:
    if isinstance(e, ApiError):
        return e
    if isinstance(e, CodebabelError):  # a bad input the backend found (e.g. a prompt past its context)
        return ApiError(400, str(e), code="generation_refused")
    return ApiError(500, f"generation failed: {type(e).__name__}: {str(e).strip()[:300]}", type="server_error",
                    code="internal_error")
