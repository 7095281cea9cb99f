"""The gate: which expert translates a prompt, learned through a soft mixture of the experts.

* :class:`Gate` — a linear layer on the backbone's embedding output, max-pooled over the prompt's real tokens
  only (the attention mask: pads never reach the max), softmax over experts. ``pool: code`` also leaves the
  prompt's comments out of the max (:func:`pool_bits`): a long doc comment is prose, the same in every
  language, and its tokens would otherwise win most of the max; a prompt that is all comments pools them all.
* :class:`SoftMixture` — every LoRA layer of a ``PeftModel`` holding all experts outputs
  ``base(x) + Σ_e w[b, e] · s_e · B_e A_e x`` for per-row expert weights ``w``: two matmuls per layer over the
  experts' stacked A and B matrices, the whole batch at once (no Python loop over samples or experts).
* :func:`train_gate` — backbone and experts frozen; the gate's softmax weights the mixture and the language-
  model loss on the Python side (prompt and pads carry none) trains the gate alone; balanced batches
  (the same number of samples of every language per step); resumable; optional label loss (``label_weight``);
  ``lm_weight: 0`` drops the mixture and trains on the label loss alone (no pass through the backbone).

At inference the gate runs once on the prompt and the chosen expert stays for the whole generation
(generate/routed.py), unlike the original, which recomputed the gate at every decoding step (with a KV cache
it then saw only the newest token).
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from codebabel.data.pairs import CODE_TAG, language_tags, split_tags
from codebabel.errors import CodebabelError
from codebabel.route.ngram import comment_spans
from codebabel.route.recipe import POOLS
from codebabel.route.run import expert_fingerprints
from codebabel.store import atomic_write_text
from codebabel.train.loss import chunked_lm_loss
from codebabel.train.samples import iter_records

GATE_FILE = "gate.safetensors"


def pool_bits(text: str, offsets: list[tuple[int, int]]) -> list[int]:
    """``pool: code``: 1 for each token (its character ``offsets`` in ``text``) not inside a comment — unless the
    code between the prompt's tags is nothing but comments, when every token counts (the gate always sees
    something of the source)."""
    spans = comment_spans(text)
    code, last = [], 0
    for start, end in spans:
        code.append(text[last:start])
        last = end
    if not split_tags("".join(code) + text[last:])[1].strip():
        spans = []
    bits, k = [], 0
    for start, end in offsets:  # tokens and spans both in text order: one pass
        while k < len(spans) and spans[k][1] <= start:
            k += 1
        inside = k < len(spans) and spans[k][0] <= start < end <= spans[k][1]
        bits.append(0 if inside else 1)
    return bits


def _tokenize_for_pool(tokenizer, texts: list[str], pool: str, **kw):
    """Tokenize ``texts`` (no special tokens); with ``pool="code"`` also each token's :func:`pool_bits`."""
    if pool == "all":
        return tokenizer(texts, add_special_tokens=False, **kw), None
    if not getattr(tokenizer, "is_fast", False):
        raise CodebabelError(f"gate pool '{pool}' needs a fast tokenizer (token offsets); this model's "
                             f"{type(tokenizer).__name__} has none: set gate.pool to 'all'")
    enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, **kw)
    offsets = enc.pop("offset_mapping")
    offsets = offsets.tolist() if hasattr(offsets, "tolist") else offsets
    return enc, [pool_bits(t, [tuple(o) for o in off]) for t, off in zip(texts, offsets, strict=True)]


def masked_max_pool(embeds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``[batch, tokens, hidden]`` → ``[batch, hidden]``: the max over the tokens where ``mask`` is 1."""
    mask = mask.bool()
    if not bool(mask.any(dim=1).all()):
        raise ValueError("every row needs at least one real token to pool over")
    return embeds.masked_fill(~mask.unsqueeze(-1), torch.finfo(embeds.dtype).min).amax(dim=1)


class Gate(nn.Module):
    """Linear over the max-pooled embedding output; ``forward`` returns logits (softmax = expert weights)."""

    def __init__(self, hidden_size: int, experts: list[str], pool: str = "all"):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool={pool!r}: one of {', '.join(POOLS)}")
        self.experts, self.pool = list(experts), pool
        self.proj = nn.Linear(hidden_size, len(experts))
        nn.init.zeros_(self.proj.weight)  # starts as the even mixture of every expert
        nn.init.zeros_(self.proj.bias)

    def forward(self, embeds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.proj(masked_max_pool(embeds.to(self.proj.weight.dtype), mask))

    def logits(self, model, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Gate logits for token ids, using ``model``'s (frozen) input embeddings."""
        return self(model.get_input_embeddings()(input_ids), mask)

    def save(self, folder: Path, extra: dict[str, Any]) -> None:
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{GATE_FILE}.tmp"
        save_file({k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}, str(tmp),
                  metadata={"experts": json.dumps(self.experts), "pool": self.pool})
        os.replace(tmp, folder / GATE_FILE)
        atomic_write_text(folder / "gate.json",
                          json.dumps({"experts": self.experts, "pool": self.pool, **extra}, indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> Gate:
        from safetensors import safe_open

        path = Path(folder) / GATE_FILE
        if not path.is_file():
            raise CodebabelError(f"gate '{path}': no such file; train it with `codebabel route train-experts RECIPE`")
        with safe_open(str(path), "pt") as f:
            meta = f.metadata()
            state = {k: f.get_tensor(k) for k in f.keys()}
        gate = cls(state["proj.weight"].shape[1], json.loads(meta["experts"]), meta.get("pool", "all"))
        gate.load_state_dict(state)
        return gate.eval()


class SoftMixture:
    """Context manager: inside it, the LoRA layers of ``model`` (a ``PeftModel`` holding every adapter in
    ``experts``, unmerged) output the mixture of all experts weighted per row by :attr:`weights`
    (``[batch, experts]``, set before each forward). Gradients reach :attr:`weights`; nothing else changes."""

    def __init__(self, model, experts: list[str]):
        from peft.tuners.lora import LoraLayer

        self.model, self.experts = model, list(experts)
        self.weights: torch.Tensor | None = None
        self.layers = []
        for module in model.modules():
            if isinstance(module, LoraLayer) and all(e in module.lora_A for e in self.experts):
                a = torch.cat([module.lora_A[e].weight for e in self.experts], dim=0).detach()
                b = torch.cat([module.lora_B[e].weight * module.scaling[e] for e in self.experts], dim=1).detach()
                owner = torch.cat([torch.full((module.lora_A[e].weight.shape[0],), i, dtype=torch.long)
                                   for i, e in enumerate(self.experts)]).to(a.device)
                self.layers.append((module, a, b, owner))
        if not self.layers:
            raise CodebabelError(f"no LoRA layer holds every expert ({', '.join(self.experts)}); train them on "
                                 "the same backbone with the same target modules")
        self._handles: list = []
        self._disabled = None

    def _hook(self, a, b, owner, module, args, output):
        x = args[0]
        w = self.weights[:, owner].to(a.dtype)  # [batch, sum of ranks]: each rank column's expert weight
        h = nn.functional.linear(x.to(a.dtype), a)
        h = h * w.view(w.shape[0], *([1] * (h.dim() - 2)), w.shape[1])
        return output + nn.functional.linear(h, b).to(output.dtype)

    def __enter__(self) -> SoftMixture:
        self._disabled = self.model.disable_adapter()  # the layers' own forward = base only; the hook adds
        self._disabled.__enter__()
        self._handles = [m.register_forward_hook(partial(self._hook, a, b, owner)) for m, a, b, owner in self.layers]
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        self._disabled.__exit__(*exc)


# -- training --------------------------------------------------------------------------------------------------


def gate_rows(recipe) -> dict[str, list[dict]]:
    """Per language: its ``{"prompt", "completion"}`` training samples (the gate's data, train split)."""

    out: dict[str, list[dict]] = {}
    for lang in recipe.languages:
        rows = []
        for entry in recipe.gate_data(lang):
            for where, lineno, row in iter_records(entry, "train", "train"):
                if not (isinstance(row, dict) and isinstance(row.get("prompt"), str)
                        and isinstance(row.get("completion"), str)):
                    raise CodebabelError(f"{where}:{lineno}: the gate trains on prompt→completion samples "
                                         "(codebabel pairs prepare)")
                rows.append(row)
        if not rows:
            raise CodebabelError(f"gate: no training samples for {lang} in {', '.join(recipe.gate_data(lang))}")
        out[lang] = rows
    return out


def _gate_samples(recipe, tokenizer) -> dict[str, list[tuple[list[int], list[int] | None, list[int]]]]:
    """Per language: (prompt tokens without the tag, which of them the gate pools (None: all), completion
    tokens + EOS) of its training samples."""
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    cap = recipe.gate.completion_tokens or None

    def untagged(prompt: str) -> str:  # " SOURCE <py>": the tag goes in per step (its own or <code>)
        _, code, target = split_tags(prompt)
        return f" {code}" + (f" {target}" if target else "")

    out = {}
    for lang, rows in gate_rows(recipe).items():
        prompts = [untagged(row["prompt"]) for row in rows]
        enc, bits = _tokenize_for_pool(tokenizer, prompts, recipe.gate.pool)
        comps = tokenizer([row["completion"] for row in rows], add_special_tokens=False)["input_ids"]
        out[lang] = [(ids, bits[i] if bits else None, (comp + eos)[:cap])
                     for i, (ids, comp) in enumerate(zip(enc["input_ids"], comps, strict=True))]
    return out


def _batch(recipe, samples, tag_ids: dict[str, list[int]], step: int, pad: int):
    """The step's balanced batch: languages in turn, samples drawn by a RNG seeded with (seed, step) — the
    same batch after a resume. Returns input_ids, attention mask, the mask of the prompt tokens the gate pools,
    labels, language index."""
    g, langs = recipe.gate, list(recipe.languages)
    rng = random.Random(f"{g.seed}:{step}")
    rows, masks, labels, targets = [], [], [], []
    for i in range(g.batch_size):
        li = (step * g.batch_size + i) % len(langs)
        body, bits, comp = samples[langs[li]][rng.randrange(len(samples[langs[li]]))]
        tag = tag_ids[CODE_TAG] if rng.random() < g.hide_language_fraction else tag_ids[langs[li]]
        prompt = (tag + body)[: g.seq_len - 1]
        comp = comp[: g.seq_len - len(prompt)]
        rows.append(prompt + comp)
        masks.append(([1] * len(tag) + (bits or [1] * len(body)))[: len(prompt)])
        labels.append([-100] * len(prompt) + comp)
        targets.append(li)
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    prompt_mask = torch.zeros((len(rows), width), dtype=torch.long)
    lab = torch.full((len(rows), width), -100, dtype=torch.long)
    for r, (row, pooled, lb) in enumerate(zip(rows, masks, labels, strict=True)):
        ids[r, : len(row)] = torch.tensor(row)
        attn[r, : len(row)] = 1
        prompt_mask[r, : len(pooled)] = torch.tensor(pooled)
        lab[r, : len(row)] = torch.tensor(lb)
    return ids, attn, prompt_mask, lab, torch.tensor(targets)


def train_gate(recipe, model, tokenizer, folder: Path, console=None) -> dict:
    """Train the gate of ``recipe`` over ``model`` (a PeftModel holding one adapter per language, named by the
    language); write ``folder/gate.safetensors`` + ``gate.json``; resumable from ``gate-checkpoint.pt``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from transformers import get_cosine_schedule_with_warmup

    g, langs = recipe.gate, list(recipe.languages)
    folder.mkdir(parents=True, exist_ok=True)
    samples = _gate_samples(recipe, tokenizer)
    tag_ids = {lang: tokenizer(language_tags()[lang], add_special_tokens=False)["input_ids"] for lang in langs}
    tag_ids[CODE_TAG] = tokenizer(CODE_TAG, add_special_tokens=False)["input_ids"]
    device = next(model.parameters()).device
    for p in model.parameters():
        p.requires_grad_(False)
    model.eval()  # no dropout in the frozen experts
    torch.manual_seed(g.seed)
    gate = Gate(model.get_input_embeddings().weight.shape[1], langs, g.pool).to(device)
    opt = torch.optim.AdamW(gate.parameters(), lr=g.lr, weight_decay=g.weight_decay)
    sched = get_cosine_schedule_with_warmup(opt, g.warmup_steps, g.steps)
    ckpt = folder / "gate-checkpoint.pt"
    metrics = folder / "gate-metrics.jsonl"
    start = 0
    if ckpt.is_file():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        if state.get("settings") == asdict(g) and state.get("experts") == langs:
            gate.load_state_dict(state["gate"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            start = state["step"]
    if start == 0 and metrics.exists():
        metrics.unlink()
    mixture = SoftMixture(model, langs) if g.lm_weight else None
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    counts = {lang: len(s) for lang, s in samples.items()}
    if console:
        console.print(f"gate: {len(langs)} experts, samples per language {counts}; steps {start}→{g.steps}, "
                      f"batch {g.batch_size}, lm_weight {g.lm_weight}, label_weight {g.label_weight}", highlight=False)
    t0 = time.monotonic()
    last: dict = {}
    with Progress(TextColumn("gate"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
                  TimeRemainingColumn(), console=console, disable=console is None) as bar:
        task = bar.add_task("gate", total=g.steps, completed=start, loss="-")
        for step in range(start, g.steps):
            ids, attn, prompt_mask, labels, target = (t.to(device) for t in _batch(recipe, samples, tag_ids, step, pad))
            logits = gate.logits(model, ids, prompt_mask)
            if g.lm_weight:
                mixture.weights = torch.softmax(logits.float(), dim=-1)
                with mixture:
                    inputs = {"input_ids": ids, "attention_mask": attn, "labels": labels}
                    lm = chunked_lm_loss(model, inputs, None, 256)
                    if lm is None:
                        lm = model(**inputs, use_cache=False).loss
            else:  # the label loss alone: no pass through the backbone
                lm = torch.zeros((), device=logits.device)
            label = nn.functional.cross_entropy(logits.float(), target)
            loss = g.lm_weight * lm + g.label_weight * label
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            acc = (logits.argmax(-1) == target).float().mean().item()
            last = {"step": step + 1, "loss": round(loss.item(), 5), "lm_loss": round(lm.item(), 5),
                    "label_loss": round(label.item(), 5), "batch_routing_accuracy": acc,
                    "lr": sched.get_last_lr()[0]}
            with metrics.open("a") as f:
                f.write(json.dumps(last) + "\n")
            bar.update(task, advance=1, loss=f"{lm.item():.3f}")
            if (step + 1) % g.save_every == 0 and step + 1 < g.steps:
                _save_checkpoint(ckpt, gate, opt, sched, step + 1, g, langs)
    summary = {"settings": asdict(g), "steps": g.steps, "resumed_from": start or None,
               "wall_s": round(time.monotonic() - t0, 2), "samples_per_language": counts, "last": last}

    gate.save(folder, {"model": recipe.model, "gate": summary,
                       "expert_weights": expert_fingerprints(recipe.run_dir, langs)})
    if ckpt.exists():
        ckpt.unlink()
    return summary


def _save_checkpoint(path: Path, gate, opt, sched, step: int, settings, langs) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"gate": gate.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "step": step, "settings": asdict(settings), "experts": langs}, tmp)
    os.replace(tmp, path)


def routing_probabilities(gate: Gate, model, tokenizer, prompts: list[str]) -> torch.Tensor:
    """``[prompts, experts]`` softmax of the gate over each prompt's own tokens (one padded batch; with the
    gate's ``pool: code`` its comments left out as in training)."""
    enc, bits = _tokenize_for_pool(tokenizer, list(prompts), gate.pool, padding=True, return_tensors="pt")
    mask = enc["attention_mask"]
    if bits is not None:
        mask = mask * torch.tensor(bits, dtype=mask.dtype)
    device = next(model.parameters()).device
    with torch.inference_mode():
        logits = gate.to(device).logits(model, enc["input_ids"].to(device), mask.to(device))
    return torch.softmax(logits.float(), dim=-1).cpu()

