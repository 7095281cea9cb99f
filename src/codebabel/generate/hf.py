"""transformers backend: batched, left-padded, ``n`` samples per prompt in one ``generate`` call.

Works with any model ``load_model`` returns, including a ``PeftModel`` with an unmerged adapter, on CPU or
GPU. Prompts are sorted by length so a batch holds prompts of similar length (less padding), and a
batch holds at most ``max_batch_sequences`` sequences (``prompts × n``) to bound memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch
from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

from codebabel.config import SamplingConfig
from codebabel.generate.base import Completion
from codebabel.generate.prompts import encode_prompt
from codebabel.generate.stopping import StopChecker, cut_at_stop, eos_token_ids
from codebabel.models.loading import load_model


class _FinishTracker(StoppingCriteria):
    """Per-sequence stop check on the *generated* tokens only; records when and why each row finished.

    Returns a per-row bool tensor, which ``generate`` ANDs into its unfinished-sequences mask (finished
    rows are then filled with pad tokens while the others continue).
    """

    def __init__(self, prompt_len: int, n_rows: int, eos_ids: set[int], checker: StopChecker):
        self.prompt_len = prompt_len
        self.eos_ids = eos_ids
        self.checker = checker
        self.finished_at: list[int | None] = [None] * n_rows
        self.reason: list[str | None] = [None] * n_rows

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        gen = input_ids[:, self.prompt_len :]
        length = gen.shape[1]
        last = gen[:, -1].tolist()
        done = [False] * len(last)
        rows = None
        for r, tok in enumerate(last):
            if self.finished_at[r] is not None:
                done[r] = True
                continue
            if tok in self.eos_ids:
                self.finished_at[r], self.reason[r], done[r] = length, "eos", True
            elif self.checker:
                if rows is None:
                    rows = gen[:, -self.checker.window :].tolist()
                if self.checker.hit(rows[r]):
                    self.finished_at[r], self.reason[r], done[r] = length, "stop", True
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class HFBackend:
    name = "hf"

    def __init__(
        self, model, tokenizer, batch_size: int = 8, max_batch_sequences: int = 64, description: str = ""
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_batch_sequences = max(1, max_batch_sequences)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        self.eos_ids = eos_token_ids(tokenizer, getattr(model, "generation_config", None))
        self.device = next(model.parameters()).device
        self.description = (
            description or f"hf ({type(model).__name__}, {self.device}, {next(model.parameters()).dtype})"
        )

    @classmethod
    def from_source(
        cls, source, adapter=None, device="auto", dtype="auto", batch_size=8, max_batch_sequences=None
    ):
        model, tokenizer = load_model(source, adapter=adapter, device=device, dtype=dtype)
        dev = next(model.parameters()).device
        if max_batch_sequences is None:
            max_batch_sequences = 256 if dev.type == "cuda" else 64
        name = getattr(source, "spec", source) + (f" + adapter {adapter}" if adapter else "")
        dtype_name = str(next(model.parameters()).dtype).replace("torch.", "")
        threads = f", {torch.get_num_threads()} threads" if dev.type == "cpu" else ""
        desc = f"hf (transformers, {name}, {dev}, {dtype_name}{threads})"
        return cls(
            model, tokenizer, batch_size=batch_size, max_batch_sequences=max_batch_sequences, description=desc
        )

    def _generation_config(self, sampling: SamplingConfig, n: int) -> GenerationConfig:
        # Every knob set explicitly, so a model's own generation_config.json (repetition_penalty, top_k, ...)
        # cannot leak into a benchmark run: transformers fills unset fields from it.
        kw = dict(
            max_new_tokens=sampling.max_new_tokens,
            num_return_sequences=n,
            num_beams=1,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=sorted(self.eos_ids) or None,
            use_cache=True,
        )
        if sampling.greedy:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kw.update(
                do_sample=True,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                top_k=sampling.top_k,  # 0 = off
                min_p=None,
                typical_p=1.0,
            )
        return GenerationConfig(**kw)

    def _plan(self, lengths: Sequence[int], n: int) -> list[tuple[list[int], int]]:
        """Batches as (prompt indices, samples per prompt in this call); longest prompts first."""
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        cap = self.max_batch_sequences
        plan: list[tuple[list[int], int]] = []
        if n >= cap:  # one prompt per call, its n samples split into calls of <= cap
            for i in order:
                left = n
                while left > 0:
                    plan.append(([i], min(cap, left)))
                    left -= cap
            return plan
        per = max(1, min(self.batch_size, cap // n))
        for k in range(0, len(order), per):
            plan.append((order[k : k + per], n))
        return plan

    @torch.inference_mode()
    def generate(
        self,
        prompts: list[str],
        sampling: SamplingConfig,
        stop: list[str],
        on_progress: Callable[[int], None] | None = None,
        row_kwargs: dict[str, list] | None = None,
        on_result: Callable[[int, list[Completion]], None] | None = None,
    ) -> list[list[Completion]]:
        """``row_kwargs``: extra ``generate`` arguments given per prompt (e.g. PEFT's ``adapter_names``), laid
        out per row of each batch (a prompt's ``n`` samples are consecutive rows). ``on_result(i, samples)``:
        each prompt's samples once they are all generated, i.e. after the batch holding its last ones."""
        tok = self.tokenizer
        encoded = [encode_prompt(tok, p) for p in prompts]
        results: list[list[Completion]] = [[] for _ in prompts]
        checker = StopChecker(tok, stop)
        self.last_stats = {"generated_tokens": 0, "seconds": 0.0}
        t0 = time.perf_counter()
        torch.manual_seed(sampling.seed)  # reproducible for the same prompts, sampling and batch settings
        pad = tok.pad_token_id
        for idxs, n_call in self._plan([len(e) for e in encoded], sampling.n):
            width = max(len(encoded[i]) for i in idxs)
            input_ids = torch.full((len(idxs), width), pad, dtype=torch.long)
            attention = torch.zeros((len(idxs), width), dtype=torch.long)
            for row, i in enumerate(idxs):
                ids = encoded[i]
                input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
                attention[row, width - len(ids) :] = 1
            tracker = _FinishTracker(width, len(idxs) * n_call, self.eos_ids, checker)
            extra = {k: [v[i] for i in idxs for _ in range(n_call)] for k, v in (row_kwargs or {}).items()}
            out = self.model.generate(
                **extra,
                input_ids=input_ids.to(self.device),
                attention_mask=attention.to(self.device),
                generation_config=self._generation_config(sampling, n_call),
                stopping_criteria=StoppingCriteriaList([tracker]),
            )
            gen = out[:, width:].tolist()
            done_prompts = 0
            for r, row_ids in enumerate(gen):
                i = idxs[r // n_call]  # generate() repeats each prompt n_call times, consecutively
                n_tok = tracker.finished_at[r] or len(row_ids)
                ids = row_ids[:n_tok]
                if ids and ids[-1] in self.eos_ids:
                    ids = ids[:-1]
                text, hit = cut_at_stop(tok.decode(ids, skip_special_tokens=True), stop)
                reason = "stop" if hit is not None else (tracker.reason[r] or "length")
                results[i].append(Completion(text=text, n_tokens=n_tok, finish_reason=reason, stop=hit))
                self.last_stats["generated_tokens"] += n_tok
                if len(results[i]) == sampling.n:
                    done_prompts += 1
                    if on_result:
                        on_result(i, results[i])
            if on_progress and done_prompts:
                on_progress(done_prompts)
        self.last_stats["seconds"] = time.perf_counter() - t0
        return results
