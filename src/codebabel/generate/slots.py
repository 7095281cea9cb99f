"""Continuous batching on one llama.cpp context: several sequences decoded together, one token each per step.

Single-sequence decoding on a CPU is memory-bound: every token reads all the weights once. Decoding ``k``
sequences in one ``llama_decode`` call reads them once for ``k`` tokens, so throughput grows with ``k`` until
the cores are busy (Qwen2.5-Coder-0.5B on 2 cores: 27 tokens/s alone, 92 with 8 sequences, 122 with 16).
This is what llama.cpp's own server does with ``--parallel``; llama-cpp-python exposes only the primitives
(a batch, sequence ids, per-sequence KV removal and copy), so the scheduler is here.

- **Slots.** Up to ``n_slots`` jobs (one job = one sample of one prompt) hold a sequence id each. A step puts
  the pending token of every decoding slot in the batch (logits on) and fills the rest of the batch with
  prompt tokens of slots still reading their prompt (logits only on a prompt's last token), so new prompts
  are read while others decode. A finished slot's sequence is removed from the KV cache and the next queued
  job takes it.
- **Shared prompts.** The ``n`` samples of a prompt (jobs holding the same ``ids`` list) read it once: a
  sibling job copies the first ``L - 1``
  prompt positions from a slot that has read them (``llama_memory_seq_cp``, cells shared, no compute) and
  feeds only the last prompt token itself, which gives it its own logits.
- **KV budget.** The cache is unified (one pool of ``kv_tokens`` cells for all sequences); a job is admitted
  only while the prompt + token budgets of the running jobs fit in it, so a decode never runs out of cells.
- **Jobs that arrive while it runs** (``refill``, codebabel serve): whenever a slot is free and no job is left
  waiting, the loop asks ``refill()`` (non-blocking) for more and admits them at once (same KV rule), so a new
  request starts decoding at the next step instead of after the running ones; the loop ends only when no job
  is waiting, none is decoding and ``refill()`` has nothing. Each job brings its own sampler and stop rule, so
  jobs with different sampling settings and stop sequences share the loop.
- **Errors.** A failed decode (or a raising callback) ends the loop: the KV cache is cleared, so the context is
  clean for the next call, and the error propagates to the caller.
- **Sampling** is each job's own llama.cpp sampler chain on its row of logits (seeded per sample), so a
  sample does not depend on which other jobs share its steps — up to floating-point: a batched matmul may sum
  in another order than a single-row one, which can flip a near-tied greedy choice.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from codebabel.errors import CodebabelError


@dataclass(eq=False)
class Job:
    key: tuple[int, int]  # (prompt index, sample index)
    ids: list[int]  # the prompt's token ids: jobs holding the same list object share the prompt's KV cells
    budget: int  # new tokens allowed
    sampler: object  # llama_cpp._internals.LlamaSampler: the sample's own chain
    done: Callable[[list[int], str], None] = field(repr=False)  # (generated ids, "eos" | "stop" | "length")
    finished: Callable[[list[int]], str | None] = field(repr=False)  # generated ids -> reason to stop, or None


@dataclass(eq=False)
class _Slot:
    seq: int
    job: Job
    read: int = 0  # prompt tokens in the KV cache
    source: _Slot | None = None  # a sibling whose prompt prefix this slot copies once it has read it
    out: list[int] = field(default_factory=list)
    logits_at: int = -1  # the batch row holding this slot's logits in the current step

    @property
    def decoding(self) -> bool:
        return self.read == len(self.job.ids)


def run_jobs(ctx, batch, jobs: list[Job], n_slots: int, kv_tokens: int, n_batch: int,
             refill: Callable[[], list[Job]] | None = None) -> None:
    """Decode every job to its end on ``ctx`` (a ``LlamaContext`` created with ``n_seq_max >= n_slots`` and
    a unified KV cache of ``kv_tokens`` cells), ``batch`` a ``LlamaBatch`` of at least ``n_batch`` tokens.
    ``refill()``: more jobs, without blocking (``[]``: none now); called at every step where a slot is free and
    no job waits, and before the loop ends, whose jobs are decoded too."""
    import llama_cpp

    mem = llama_cpp.llama_get_memory(ctx.ctx)
    try:
        _run(ctx, batch.batch, mem, deque(jobs), n_slots, kv_tokens, n_batch, refill)
    except BaseException:
        llama_cpp.llama_memory_clear(mem, True)  # the unfinished sequences' cells: the next call starts clean
        raise


def _run(ctx, b, mem, queue: deque[Job], n_slots: int, kv_tokens: int, n_batch: int,
         refill: Callable[[], list[Job]] | None) -> None:
    import llama_cpp

    free = list(range(n_slots - 1, -1, -1))
    active: list[_Slot] = []
    reserved = 0

    def need(job: Job) -> int:
        return len(job.ids) + job.budget

    while True:
        if refill is not None and free and not queue:
            queue.extend(refill())
        if not queue and not active:
            return
        while queue and free and (not active or reserved + need(queue[0]) <= kv_tokens):
            job = queue.popleft()
            slot = _Slot(free.pop(), job)
            slot.source = next((s for s in active if s.job.ids is job.ids and s.source is None), None)
            active.append(slot)
            reserved += need(job)

        b.n_tokens = 0
        for s in active:  # decoding slots first: one token each
            s.logits_at = -1
            if s.decoding:
                s.logits_at = _put(b, s.out[-1], len(s.job.ids) + len(s.out) - 1, s.seq, True)
        for s in active:  # then prompt tokens, as many as fit
            if s.decoding or s.source is not None or b.n_tokens >= n_batch:
                continue
            end = min(len(s.job.ids), s.read + n_batch - b.n_tokens)
            for pos in range(s.read, end):
                row = _put(b, s.job.ids[pos], pos, s.seq, pos == len(s.job.ids) - 1)
            if end == len(s.job.ids):
                s.logits_at = row
            s.read = end
        if b.n_tokens:
            rc = llama_cpp.llama_decode(ctx.ctx, b)
            if rc != 0:
                raise CodebabelError(f"llama.cpp could not decode a batch of {b.n_tokens} tokens (llama_decode "
                                     f"returned {rc}); lower --batch-size")

        for s in active:  # siblings whose source has now read the shared prefix copy it, then read one token
            src = s.source
            if src is not None and src.read >= len(src.job.ids) - 1 and src in active:
                llama_cpp.llama_memory_seq_cp(mem, src.seq, s.seq, 0, len(s.job.ids) - 1)
                s.read, s.source = len(s.job.ids) - 1, None
            elif src is not None and src not in active:
                s.source = None  # its source is gone: read the prompt itself

        still: list[_Slot] = []
        for s in active:
            if s.logits_at < 0:
                still.append(s)
                continue
            s.out.append(s.job.sampler.sample(ctx, s.logits_at))
            reason = s.job.finished(s.out)
            if reason is None and len(s.out) >= s.job.budget:
                reason = "length"
            if reason is None:
                still.append(s)
                continue
            llama_cpp.llama_memory_seq_rm(mem, s.seq, -1, -1)
            free.append(s.seq)
            reserved -= need(s.job)
            s.job.done(s.out, reason)
        active = still


def _put(b, token: int, pos: int, seq: int, logits: bool) -> int:
    """Append one token of sequence ``seq`` at position ``pos`` to the ``llama_batch`` ``b``; its row."""
    n = b.n_tokens
    b.token[n], b.pos[n], b.n_seq_id[n], b.logits[n] = token, pos, 1, logits
    b.seq_id[n][0] = seq
    b.n_tokens = n + 1
    return n
