"""Training throughput and memory: codebabel's packed LoRA vs the SteloCoder recipe, and LoRA vs full, in one run.

Same model, same Ruby corpus (Ruby's stdlib installed here, built once with `codebabel corpus build`), same
pieces of at most ``--seq-len`` tokens, batch ``--batch`` x ``--seq-len``, fp32, AdamW:

- **codebabel LoRA**: ``codebabel.train.trainer.train`` — pieces packed into rows, one flattened batch, no
  padding (train/packing.py);
- **SteloCoder LoRA** (baseline): each piece is one sample padded to the 95th-percentile piece length, plain
  transformers ``Trainer`` + PEFT with the same LoRA settings;
- **codebabel full**: as the first, every weight trained (for the memory ratio).

Each configuration runs in its own process (peak RSS is per process). Useful tokens are the real (non-pad)
tokens; tokens/s is taken over the steps after the first. FLOP utilisation = achieved FLOP/s of codebabel
LoRA (4 x parameters x tokens/s: forward 2N, backward through activations 2N, no weight gradients but
LoRA's) / this machine's fp32 matmul peak, measured here with 2048x2048 ``torch.matmul``.

    python bench/training.py [--model smollm2-135m] [--steps 6] [--batch 4] [--seq-len 256]

Ends with one line: ``RESULT speedup=<ratio> memory_ratio=<ratio> flop_utilisation=<fraction>``.
"""

from __future__ import annotations

import argparse
import json
import os
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


def matmul_peak() -> float:
    import torch

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for _ in range(3):
        a @ b
    n, t0 = 20, time.perf_counter()
    for _ in range(n):
        a @ b
    return 2 * 2048**3 * n / (time.perf_counter() - t0)


def run_codebabel(args, method: str, work: Path) -> dict:
    from codebabel.train.recipe import load_recipe
    from codebabel.train.trainer import train

    recipe = work / f"{method}.yaml"
    recipe.write_text(f"model: {args.model}\nname: {method}\noutput: {work}\ndata: [{args.corpus}]\nmethod: {method}\n"
                      f"batch_size: {args.batch}\nseq_len: {args.seq_len}\nmax_steps: {args.steps}\n"
                      f"save_every: {args.steps + 1}\nlr: 1e-4\nwarmup_ratio: 0\nseed: 0\n")
    summary = train(load_recipe(recipe))["stages"][0]
    rows = [json.loads(x) for x in (work / method / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[0], rows[-1]
    tok_s = (last["tokens_seen"] - first["tokens_seen"]) / (last["elapsed_s"] - first["elapsed_s"])
    return {"tokens_per_s": tok_s, "peak_rss_mb": summary["peak_memory_mb"], "params": summary["total_params"],
            "trainable": summary["trainable_params"]}


def run_stelocoder(args, work: Path) -> dict:
    """The baseline: one piece per sample, padded to the 95th-percentile length; plain Trainer + PEFT."""
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from codebabel.evaluate.perplexity import iter_texts, open_split
    from codebabel.models.loading import load_model
    from codebabel.models.lora import lora_targets
    from codebabel.train.packing import pieces
    from codebabel.train.trainer import _peak_memory_mb

    torch.manual_seed(0)
    model, tok = load_model(args.model, device="cpu", dtype="float32")
    model.config.use_cache = False
    docs = (tok(t, add_special_tokens=False)["input_ids"] for t in iter_texts(open_split(args.corpus, "train")))
    ps = list(pieces(docs, args.seq_len, tok.eos_token_id))
    p95 = int(np.percentile([len(p) for p in ps], 95))
    samples = [p[:p95] for p in ps]
    pad = tok.pad_token_id

    def collate(batch):
        n = max(p95, 1)
        ids = torch.full((len(batch), n), pad)
        mask = torch.zeros((len(batch), n), dtype=torch.long)
        for i, s in enumerate(batch):
            ids[i, :len(s["ids"])] = torch.tensor(s["ids"])
            mask[i, :len(s["ids"])] = 1
        labels = ids.masked_fill(mask == 0, -100)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

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
                              seed=0, data_seed=0, disable_tqdm=True)
    Trainer(model=model, args=targs, train_dataset=[{"ids": s} for s in samples], data_collator=counting,
            callbacks=[Clock()]).train()
    (t1, n1), (t2, n2) = marks[0], marks[-1]
    return {"tokens_per_s": (n2 - n1) / (t2 - t1), "peak_rss_mb": _peak_memory_mb(), "p95": p95,
            "mean_piece": float(np.mean([len(p) for p in ps]))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--only", choices=["lora", "full", "stelocoder"], default=None, help=argparse.SUPPRESS)
    ap.add_argument("--work", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.only:  # one configuration, in its own process
        work = Path(args.work)
        res = run_stelocoder(args, work) if args.only == "stelocoder" else run_codebabel(args, args.only, work)
        print("JSON " + json.dumps(res), flush=True)
        return

    import tempfile

    from codebabel.config import home

    args.corpus = args.corpus or str(corpus(home()))
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for name in ("lora", "stelocoder", "full"):
            cmd = [sys.executable, __file__, "--only", name, "--work", work, "--model", args.model, "--steps",
                   str(args.steps), "--batch", str(args.batch), "--seq-len", str(args.seq_len), "--corpus",
                   args.corpus]
            out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
            line = next((x for x in out.stdout.splitlines() if x.startswith("JSON ")), None)
            if out.returncode != 0 or line is None:
                sys.exit(f"{name} failed:\n{out.stderr[-3000:]}")
            results[name] = json.loads(line[5:])
            print(f"{name}: {results[name]}", flush=True)
    peak = matmul_peak()
    lora, stelo, full = results["lora"], results["stelocoder"], results["full"]
    speedup = lora["tokens_per_s"] / stelo["tokens_per_s"]
    memory_ratio = lora["peak_rss_mb"] / full["peak_rss_mb"]
    flops = 4 * lora["params"] * lora["tokens_per_s"]
    print(f"codebabel LoRA {lora['tokens_per_s']:.1f} useful tok/s vs SteloCoder recipe {stelo['tokens_per_s']:.1f} "
          f"(pieces padded to p95 = {stelo['p95']} tokens, mean piece {stelo['mean_piece']:.0f}); peak RSS LoRA "
          f"{lora['peak_rss_mb']:.0f} MiB vs full {full['peak_rss_mb']:.0f} MiB; fp32 matmul peak "
          f"{peak / 1e9:.1f} GFLOP/s, LoRA achieves {flops / 1e9:.1f} GFLOP/s")
    print(f"RESULT speedup={speedup:.2f} memory_ratio={memory_ratio:.2f} flop_utilisation={flops / peak:.3f}")


if __name__ == "__main__":
    main()
