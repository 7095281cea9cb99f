"""The generation worker of ``codebabel serve``: one thread, one bounded queue, batches.

Requests from every client share the one model: the HTTP side puts each request (a :class:`Work`) on a queue
of at most ``max_queue`` waiting requests and awaits its future; a full queue is a 429 at once. The worker
thread takes the first waiting request, then everything else that is waiting. Each request's future is set as
soon as the backend has its samples (``on_result``), not when the others it decodes with end.

- **llama.cpp: continuous batching.** The worker runs one decoding loop (``LlamaCppBackend.generate_stream``,
  generate/slots.py) per adapter, the base model's or one expert's: the requests taken for that name start it,
  and every request for the same name that arrives while it runs joins it as soon as one of the ``--batch-size``
  slots is free (each request keeps its own sampling settings, seed and stop sequences: they are per sequence
  in the loop). So clients that send their next request as soon as they get an answer keep the slots full
  instead of waiting for a batch to end. A request for another name (or ``auto``, routed first, or a
  ``route_only`` one) is held back, and from then on the loop takes nothing more: it drains, the held requests
  are served next, in order (requests already waiting together are grouped by name), so none waits behind ones
  that came after it. A request taken into a loop no longer counts as queued (the 429 bound is on waiting
  requests).
- **transformers: batches.** What was taken is split into groups that one ``generate`` call can serve: the same
  model or expert, the same sampling settings but the seed (a batch draws from one generator, seeded with its
  first request's) and the same stop sequences — the usual case, one client program sending the same settings,
  is one group — and padded into one batch. Requests that arrive while a batch generates wait for the next one.

``auto`` requests are routed first (the router runs once on all the requests taken together), then go with
their expert's requests. Errors fail only their group (transformers) or loop (llama.cpp; a request the backend
refuses, e.g. a prompt past the context, only that request). Counts (``/health``): ``running`` — taken off the
queue and not answered yet (held requests included); ``batches`` — transformers batches, or llama.cpp loops
started; ``joined`` — llama.cpp requests that joined a loop already running.

Shutdown: :meth:`Engine.stop_accepting` (new requests get a 503 error object), then :meth:`Engine.close` once
the HTTP side has answered every accepted request; the worker serves everything taken or held before it stops,
and whatever a forced exit left waiting is refused with an error, never dropped.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field, replace

from codebabel.config import SamplingConfig
from codebabel.errors import CodebabelError
from codebabel.generate.base import Completion
from codebabel.generate.llamacpp import Request
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
        self.batches = 0  # transformers: batches taken off the queue; llama.cpp: decoding loops started
        self.joined = 0  # llama.cpp: requests that joined a loop already running
        self._held: deque[tuple[Work, str | None]] = deque()  # llama.cpp: taken, waiting for the next loop
        self._stopping = False  # the stop marker was taken: serve what is held, then stop
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="codebabel-serve-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stats(self) -> dict:
        with self._lock:
            return {"queued": self.queue.qsize(), "running": self.running, "answered": self.answered,
                    "failed": self.failed, "gone": self.gone, "batches": self.batches, "joined": self.joined}

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
        if not self._thread.is_alive():
            while self._held:  # held back for a loop that never came (a worker that failed): refused
                self._fail(self._held.popleft()[0], ApiError(503, "the server stopped before generating this "
                                                             "request", type="server_error", code="shutting_down"))
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
            batch = self._take()
            if batch is None:
                return
            try:
                if self.served.continuous:
                    self._stream(batch)
                else:
                    with self._lock:
                        self.batches += 1
                    self._serve([w for w, _ in batch])
            except BaseException as e:  # never leave a client waiting: every unanswered future gets the error
                err = _as_api_error(e)
                for work, _ in batch:
                    self._fail(work, err)

    def _take(self) -> list[tuple[Work, str | None]] | None:
        """What to serve next, each with its served name where routing already chose it: the requests held back
        from the last loop (in order), else the first waiting request (blocking) and everything else waiting;
        None once the stop marker was taken and nothing is held."""
        if self._held:
            batch = list(self._held)
            self._held.clear()
            return batch
        if self._stopping:
            return None
        first = self.queue.get()
        if first is _STOP:
            return None
        with self._lock:
            self.running += 1
        batch: list[tuple[Work, str | None]] = [(first, None)]
        while (more := self._next_waiting()) is not None:
            batch.append((more, None))
        return batch

    def _next_waiting(self) -> Work | None:
        """The next waiting request, taken off the queue (from now on it counts as running), or None: none is
        waiting, or the stop marker (then nothing more is taken)."""
        if self._stopping:
            return None
        try:
            work = self.queue.get_nowait()
        except queue.Empty:
            return None
        if work is _STOP:
            self._stopping = True
            return None
        with self._lock:
            self.running += 1
        return work

    def _route(self, batch: list[tuple[Work, str | None]]) -> list[tuple[Work, str]]:
        """Each request with the name that generates it (``auto``: routed here, the router once for all of them;
        no expert: the base); ``route_only`` requests are answered here and left out."""
        autos = [w for w, name in batch if name is None and w.model == AUTO]
        chosen = dict(zip(autos, self.served.route([w.prompt for w in autos]), strict=True))
        routed = []
        for w, name in batch:
            if w.route_only:
                self._settle(w, ([], chosen[w]), None)
            elif name is not None:
                routed.append((w, name))
            else:
                routed.append((w, (chosen[w] or self.served.name) if w.model == AUTO else w.model))
        return routed

    def _serve(self, batch: list[Work]) -> None:
        """transformers: the batch in groups of one name, sampling settings (but the seed) and stop sequences."""
        groups: dict[tuple, list[Work]] = {}
        for w, name in self._route([(w, None) for w in batch]):
            # a batch draws from one generator, seeded with its first request's: the seed does not split it
            groups.setdefault((name, replace(w.sampling, seed=0), w.stop), []).append(w)
        for (name, _, stop), works in groups.items():
            try:
                def on_result(i: int, samples: list[Completion], works=works, name=name) -> None:
                    self._done(works[i], list(samples), name)

                outs = self.served.generate(name, [w.prompt for w in works], works[0].sampling, list(stop),
                                            on_result)
                for w, samples in zip(works, outs, strict=True):  # a backend that never called on_result
                    self._done(w, list(samples), name)
            except Exception as e:  # this group fails; the others still run
                err = _as_api_error(e)
                for w in works:
                    self._fail(w, err)

    def _stream(self, batch: list[tuple[Work, str | None]]) -> None:
        """llama.cpp: one continuous loop for the first request's name with every request of that name in
        ``batch``; the others are held back, in order, for the next loops."""
        routed = self._route(batch)
        if not routed:
            return
        name = routed[0][1]
        self._held.extend((w, n) for w, n in routed if n != name)
        self._continuous(name, [w for w, n in routed if n == name])

    def _continuous(self, name: str, works: list[Work]) -> None:
        """``works`` decode in one loop on ``name``'s adapter; while it runs, every request that arrives for
        ``name`` joins it (a slot free: at once). The first request for another name (or ``auto``, routed
        first, or ``route_only``) is held back, and from then on nothing more joins: this loop drains, the
        held request is next, and no request waits behind ones that came after it."""
        taken = list(works)  # every request of this loop, answered or failed before this returns
        with self._lock:
            self.batches += 1

        def request(w: Work) -> Request:
            return Request(w.prompt, w.sampling, list(w.stop),
                           on_result=lambda samples: self._done(w, list(samples), name),
                           on_error=lambda e: self._fail(w, _as_api_error(e)))

        def refill() -> list[Request]:
            joined: list[Work] = []
            while not self._held and (w := self._next_waiting()) is not None:
                if w.model == name and not w.route_only:
                    joined.append(w)
                else:
                    self._held.append((w, None))
            if joined:
                taken.extend(joined)
                with self._lock:
                    self.joined += len(joined)
            return [request(w) for w in joined]

        try:
            self.served.generate_stream(name, [request(w) for w in works], refill)
        except BaseException as e:  # this loop's requests fail; the held ones are served next
            err = _as_api_error(e)
            for w in taken:
                self._fail(w, err)
        for w in taken:  # a backend that never answered one (a bug): never leave its client waiting
            self._fail(w, ApiError(500, "generation ended without a result for this request", type="server_error",
                                   code="internal_error"))

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
