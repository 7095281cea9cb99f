"""Training throughput and memory: codebabel's packed LoRA vs the SteloCoder recipe, and LoRA vs full, in one run.

Data: snippet-level samples, as SteloCoder trains on (XLCoST snippets): every ``def ... end`` method of the
Ruby corpus (Ruby's stdlib installed here, built once with ``codebabel corpus build``), one sample each, +EOS.
SteloCoder's recipe keeps the shortest 95% and pads every sample to that 95th-percentile length; both sides
train on exactly those kept samples. Same model, LoRA settings (r=8, alpha 16, every attention + MLP
projection), batch ``--batch`` x p95 tokens, fp32, AdamW:

- **codebabel LoRA**: ``codebabel.train.trainer.train`` on the samples as a JSONL file, ``seq_len`` = p95:
  samples packed into rows, each row its own block-diagonal attention, no padding but a row's tail
  (train/packing.py);
- **SteloCoder LoRA** (baseline): one sample per row padded to p95, plain transformers ``Trainer`` + PEFT;
- **codebabel LoRA and full with gradient checkpointing**, same batch, both with ``release_memory`` (glibc
  gives freed tensor memory back at once; without it the fragmented heap's peak, about twice the live
  tensors, hides the difference) for the peak-memory ratio; both again with the default heap, reported.

Each configuration runs in its own process (peak RSS is per process). Useful tokens are the real (non-pad)
tokens; tokens/s is taken over the steps after the first. FLOP utilisation = achieved FLOP/s of codebabel
LoRA (4 x parameters x tokens/s: forward 2N, backward through activations 2N, no weight gradients but
LoRA's) / this machine's fp32 matmul peak, measured here with 2048x2048 ``torch.matmul``.

    python bench/training.py [--model smollm2-135m] [--steps 6] [--batch 4]

Ends with one line: ``RESULT speedup=<ratio> memory_ratio=<ratio> flop_utilisation=<fraction>``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path


def corpus(home: Path) -> Path:
    out = home / "bench" / "ruby-corpus"
    if not (out / "manifest.json").is_file():
        subprocess.run([sys.executable, "-m", "codebabel", "corpus", "build", "--language", "rb", "--from-system",
                        "--max-tokens", "400000", "--out", str(out)], check=True)
    return out


DEF = re.compile(r"^([ \t]*)def\b")


def snippets(corpus_dir: Path, model: str, out: Path) -> int:
    """Every method of the corpus's train split (a ``def`` line to the ``end`` at its indentation), the
    shortest 95% written to ``out`` as ``{"text": ...}`` lines; returns the 95th-percentile length (+EOS)."""
    import numpy as np

    from codebabel.data.corpus import iter_texts, open_split
    from codebabel.models.loading import load_tokenizer

    found = []
    for text in iter_texts(open_split(corpus_dir, "train")):
        lines, i = text.splitlines(keepends=True), 0
        while i < len(lines):
            m = DEF.match(lines[i])
            if m:
                end = re.compile(rf"^{re.escape(m.group(1))}end\b")
                j = next((j for j in range(i + 1, len(lines)) if end.match(lines[j])), None)
                if j is not None:
                    found.append("".join(lines[i:j + 1]))
                    i = j
            i += 1
    tok = load_tokenizer(model)
    lengths = [len(tok(x, add_special_tokens=False)["input_ids"]) + 1 for x in found]
    p95 = int(np.percentile(lengths, 95))
    with out.open("w", encoding="utf-8") as f:
        for x, n in zip(found, lengths, strict=True):
            if n <= p95:
                f.write(json.dumps({"text": x}) + "\n")
    return p95


def matmul_peak() -> float:
    import torch

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for _ in range(3):
        a @ b
    n, t0 = 20, time.perf_counter()
    for _ in range(n):
        a @ b
    return 2 * 2048**3 * n / (time.perf_counter() - t0)


def run_codebabel(args, method: str, work: Path, checkpointing: bool, release: bool) -> dict:
    from codebabel.train.recipe import load_recipe
    from codebabel.train.trainer import train

    name = f"{method}{'-gc' if checkpointing else ''}{'-release' if release else ''}"
    recipe = work / f"{name}.yaml"
    recipe.write_text(f"model: {args.model}\nname: {name}\noutput: {work}\ndata: [{args.data}]\nmethod: {method}\n"
                      f"batch_size: {args.batch}\nseq_len: {args.seq_len}\nmax_steps: {args.steps}\n"
                      f"save_every: {args.steps + 1}\nlr: 1e-4\nwarmup_ratio: 0\nseed: 0\n"
                      f"gradient_checkpointing: {str(checkpointing).lower()}\nrelease_memory: {str(release).lower()}\n")
    summary = train(load_recipe(recipe))["stages"][0]
    rows = [json.loads(x) for x in (work / name / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[0], rows[-1]
    tok_s = (last["tokens_seen"] - first["tokens_seen"]) / (last["elapsed_s"] - first["elapsed_s"])
    return {"tokens_per_s": tok_s, "peak_rss_mb": summary["peak_memory_mb"], "params": summary["total_params"],
            "trainable": summary["trainable_params"],
            "tokens_per_step": (last["tokens_seen"] - first["tokens_seen"]) / (last["step"] - first["step"])}


def run_stelocoder(args, work: Path) -> dict:
    """The baseline: one sample per row, padded to the 95th-percentile length; plain Trainer + PEFT."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from codebabel.models.loading import load_model
    from codebabel.models.lora import lora_targets
    from codebabel.train.trainer import _peak_memory_mb

    torch.manual_seed(0)
    model, tok = load_model(args.model, device="cpu", dtype="float32")
    model.config.use_cache = False
    texts = [json.loads(x)["text"] for x in Path(args.data).read_text(encoding="utf-8").splitlines()]
    samples = [tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for t in texts]
    width, pad = args.seq_len, tok.pad_token_id

    def collate(batch):
        ids = torch.full((len(batch), width), pad)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, s in enumerate(batch):
            ids[i, :len(s["ids"])] = torch.tensor(s["ids"])
            mask[i, :len(s["ids"])] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": ids.masked_fill(mask == 0, -100)}

    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05,
                                             target_modules=list(lora_targets(model)), task_type="CAUSAL_LM"))
    marks: list[tuple[float, int]] = []
    useful = {"n": 0}

    class Clock(TrainerCallback):
        def on_step_end(self, a, state, control, **kw):
            marks.append((time.monotonic(), useful["n"]))

    def counting(batch):
        out = collate(batch)
        useful["n"] += int(out["attention_mask"].sum())
        return out

    targs = TrainingArguments(output_dir=str(work / "stelo"), per_device_train_batch_size=args.batch,
                              max_steps=args.steps, learning_rate=1e-4, optim="adamw_torch", save_strategy="no",
                              report_to="none", remove_unused_columns=False, use_cpu=True, logging_steps=1,
                              seed=0, data_seed=0, disable_tqdm=True, warmup_steps=0)
    Trainer(model=model, args=targs, train_dataset=[{"ids": s} for s in samples], data_collator=counting,
            callbacks=[Clock()]).train()
    (t1, n1), (t2, n2) = marks[0], marks[-1]
    return {"tokens_per_s": (n2 - n1) / (t2 - t1), "peak_rss_mb": _peak_memory_mb(),
            "tokens_per_step": (n2 - n1) / (len(marks) - 1), "samples": len(samples)}


RUNS = {"lora": ("lora", False, False), "stelocoder": None, "lora-gc": ("lora", True, True),
        "full-gc": ("full", True, True), "lora-gc-heap": ("lora", True, False), "full-gc-heap": ("full", True, False)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--corpus", default=None, help="a Ruby corpus folder (default: built from the system's Ruby)")
    ap.add_argument("--only", choices=list(RUNS), default=None, help=argparse.SUPPRESS)
    ap.add_argument("--work", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--data", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--seq-len", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.only:  # one configuration, in its own process
        work = Path(args.work)
        if args.only == "stelocoder":
            res = run_stelocoder(args, work)
        else:
            res = run_codebabel(args, *RUNS[args.only][:1], work, *RUNS[args.only][1:])
        print("JSON " + json.dumps(res), flush=True)
        return

    import tempfile

    from codebabel.config import home

    corpus_dir = Path(args.corpus) if args.corpus else corpus(home())
    results = {}
    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "snippets.jsonl"
        p95 = snippets(corpus_dir, args.model, data)
        kept = sum(1 for _ in data.open())
        print(f"{kept} Ruby methods of at most p95 = {p95} tokens (+EOS) from {corpus_dir}", flush=True)
        for name in RUNS:
            cmd = [sys.executable, __file__, "--only", name, "--work", work, "--model", args.model, "--steps",
                   str(args.steps), "--batch", str(args.batch), "--seq-len", str(p95), "--data", str(data)]
            out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
            line = next((x for x in out.stdout.splitlines() if x.startswith("JSON ")), None)
            if out.returncode != 0 or line is None:
                sys.exit(f"{name} failed:\n{out.stderr[-3000:]}")
            results[name] = json.loads(line[5:])
            print(f"{name}: {results[name]}", flush=True)
    peak = matmul_peak()
    lora, stelo, lgc, fgc, lheap, fheap = (results[k] for k in RUNS)
    speedup = lora["tokens_per_s"] / stelo["tokens_per_s"]
    memory_ratio = lgc["peak_rss_mb"] / fgc["peak_rss_mb"]
    flops = 4 * lora["params"] * lora["tokens_per_s"]
    print(f"useful tokens/s: codebabel LoRA {lora['tokens_per_s']:.1f} ({lora['tokens_per_step']:.0f} per step) vs "
          f"SteloCoder recipe {stelo['tokens_per_s']:.1f} ({stelo['tokens_per_step']:.0f} of {args.batch * p95} "
          f"per step); peak RSS with gradient checkpointing and release_memory: LoRA {lgc['peak_rss_mb']:.0f} MiB "
          f"({lgc['tokens_per_s']:.1f} tok/s) vs full {fgc['peak_rss_mb']:.0f} MiB ({fgc['tokens_per_s']:.1f} tok/s); "
          f"with glibc's default heap: LoRA {lheap['peak_rss_mb']:.0f} vs full {fheap['peak_rss_mb']:.0f} MiB; "
          f"without checkpointing: LoRA {lora['peak_rss_mb']:.0f} MiB, SteloCoder {stelo['peak_rss_mb']:.0f} MiB; "
          f"fp32 matmul peak {peak / 1e9:.1f} GFLOP/s, LoRA achieves "
          f"{flops / 1e9:.1f} GFLOP/s")
    print(f"RESULT speedup={speedup:.2f} memory_ratio={memory_ratio:.2f} flop_utilisation={flops / peak:.3f}")


if __name__ == "__main__":
    main()
