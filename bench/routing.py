"""Routed generation speed: 5 LoRA experts (one per source language) vs the base model, merged vs unmerged.

Prompts: the held-out authored pairs (``data/pairs/*.jsonl``, split ``test``: 6 per language, 30 in all),
as ``<lang> SOURCE <py>``. Each prompt is routed to its expert (the run's gate, or the language tag when no
run is given); generation is greedy, ``--max-new-tokens`` at most, batches of ``--batch``, one process:

- **base**: the model with no adapters (``load_model``), all 30 prompts;
- **routed, merged** (codebabel's default): the prompts grouped by expert; each group's expert merged into
  the weights for its batches (``merge_adapter``), then unmerged — the base model's matmuls plus one merge;
- **routed, unmerged**: the same groups on PEFT's usual path (base matmul + ``B·A·x`` per LoRA layer).

All three generate the same prompts with the same settings; the three are run in turn ``--rounds`` times and
each one's best tokens/s is kept (the machine is shared). Tokens/s = generated tokens / wall time, merges
included.

``--backend llamacpp`` measures the CPU fast path instead (what ``evaluate translation --experts`` uses on a CPU
where the model has a GGUF): **base** = llama.cpp with the base GGUF, **routed** = llama.cpp with every expert
converted to a GGUF LoRA adapter on the same loaded model (route/expert_models.py), each group of prompts
generated with its expert's adapter applied; ``speed_vs_unmerged`` is then not measured. ``--experts RUN`` uses a trained run (``codebabel route train-experts``) and also reports the gate's
routing accuracy on the held-out pairs (min over languages, with the tag and with ``<code>``); without it,
five experts with random weights (speed does not depend on the values) are made on the fly and
routing_accuracy is the tag router's.

    python bench/routing.py [--experts runs/x2py] [--model smollm2-135m] [--max-new-tokens 64] [--rounds 2]
                            [--backend hf|llamacpp]

Ends with one line: ``RESULT speed_vs_base=<ratio> speed_vs_unmerged=<ratio> routing_accuracy=<min>``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LANGS = ["cpp", "java", "cs", "js", "php"]
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "down_proj"]


def random_experts(model: str, folder: Path) -> Path:
    """A run folder with 5 random-weight experts (r=4, SteloCoder's targets) on ``model``."""
    import torch
    from peft import LoraConfig, get_peft_model

    from codebabel.models.loading import load_model

    for k, lang in enumerate(LANGS):
        torch.manual_seed(k)
        base, _ = load_model(model, device="cpu")
        cfg = LoraConfig(r=4, lora_alpha=32, target_modules=TARGETS, init_lora_weights=False)
        get_peft_model(base, cfg).save_pretrained(folder / "experts" / lang / "adapter")
        (folder / "experts" / lang / "recipe.json").write_text(json.dumps({"model": model}))
    return folder


def held_out_and_run(args) -> tuple[list[str], list, Path, str, tempfile.TemporaryDirectory | None]:
    """The authored pairs' files, their held-out (test) pairs, and the experts run with its model: ``--experts``,
    or random experts on ``--model`` made in a temporary folder (returned, for the caller to clean up)."""
    from codebabel.data.pairs import read_pairs
    from codebabel.route.run import run_model

    data = [str(ROOT / "data" / "pairs" / f"{lang}.jsonl") for lang in LANGS]
    pairs = [p for d in data for p in read_pairs(d) if p.split == "test"]
    if args.experts:
        return data, pairs, Path(args.experts), run_model(Path(args.experts)), None
    tmp = tempfile.TemporaryDirectory()
    return data, pairs, random_experts(args.model, Path(tmp.name)), args.model, tmp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--experts", default=None, help="a `codebabel route train-experts` run folder")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--backend", choices=["hf", "llamacpp"], default="hf")
    args = ap.parse_args()
    if args.backend == "llamacpp":
        return llamacpp_bench(args)

    from codebabel.config import SamplingConfig
    from codebabel.generate.hf import HFBackend
    from codebabel.generate.routed import RoutedBackend
    from codebabel.models.loading import load_model
    from codebabel.route.routing import make_router, route_accuracy, routing_prompts
    from codebabel.route.run import load_experts

    data, pairs, run, model_spec, tmp = held_out_and_run(args)
    peft, tok, langs = load_experts(run, device="cpu", model_spec=model_spec)
    prompts, labels, _ = routing_prompts(pairs, langs, hide_language=False)
    kind = "gate" if (run / "router" / "gate.safetensors").is_file() else "tag"
    experts = make_router(kind, run, langs, peft, tok).route(prompts)
    base_model, _ = load_model(model_spec, device="cpu")
    sampling = SamplingConfig(max_new_tokens=args.max_new_tokens)
    arms = {
        "base": HFBackend(base_model, tok, batch_size=args.batch),
        "merged": RoutedBackend(peft, tok, batch_size=args.batch, mode="merge"),
        "unmerged": RoutedBackend(peft, tok, batch_size=args.batch, mode="unmerged"),
    }
    best: dict[str, float] = {}
    texts: dict[str, list[str]] = {}
    for rnd in range(args.rounds):
        for name, backend in arms.items():
            t0 = time.perf_counter()
            if name == "base":
                out = backend.generate(prompts, sampling, stop=[])
            else:
                out = backend.generate(prompts, experts, sampling, stop=[])
            wall = time.perf_counter() - t0
            n = sum(c[0].n_tokens for c in out)
            best[name] = max(best.get(name, 0.0), n / wall)
            texts[name] = [c[0].text for c in out]
            print(f"round {rnd + 1} {name:9s} {n} tokens in {wall:6.1f} s = {n / wall:6.1f} tokens/s", flush=True)
    same = sum(a == b for a, b in zip(texts["merged"], texts["unmerged"], strict=True))
    print(f"merged and unmerged give the same text for {same}/{len(prompts)} prompts")
    if kind == "gate":
        acc = route_accuracy(run, data, "test", ["gate"], device="cpu")["gate"]
        routing = min(acc["tagged"]["min_accuracy"], acc["hidden"]["min_accuracy"])
        print(f"gate routing accuracy (held out, min over languages): tagged {acc['tagged']['min_accuracy']:.3f}, "
              f"<code> {acc['hidden']['min_accuracy']:.3f}")
    else:
        routing = sum(e == t for e, t in zip(experts, labels, strict=True)) / len(labels)
        print("no gate in this run: routed by the language tag")
    print(json.dumps({"tokens_per_s": {k: round(v, 2) for k, v in best.items()}, "prompts": len(prompts),
                      "max_new_tokens": args.max_new_tokens, "batch": args.batch, "router": kind}))
    print(f"RESULT speed_vs_base={best['merged'] / best['base']:.3f} "
          f"speed_vs_unmerged={best['merged'] / best['unmerged']:.3f} routing_accuracy={routing:.3f}")
    if tmp:
        tmp.cleanup()


def llamacpp_bench(args) -> None:
    """Base GGUF vs the routed experts as GGUF LoRA adapters, both on llama.cpp (the experts routed by the run's
    gate, or by the tag without a run, before timing)."""
    from codebabel.route.routing import routing_prompts
    from codebabel.route.translator import Translator

    _, pairs, run, model_spec, tmp = held_out_and_run(args)
    prompts, labels, ids = routing_prompts(pairs, LANGS, hide_language=False)
    by_id = {p.id: p for p in pairs}
    codes = [by_id[i].code[lang] for i, lang in zip(ids, labels, strict=True)]
    arms = {"base": Translator(model_spec, backend="llamacpp", batch_size=args.batch, log=print),
            "routed": Translator(model_spec, run, LANGS, backend="llamacpp", batch_size=args.batch, log=print)}
    router = "gate" if (run / "router" / "gate.safetensors").is_file() else "tag"
    experts = arms["routed"].route(prompts) if router == "gate" else list(labels)
    routing = sum(e == t for e, t in zip(experts, labels, strict=True)) / len(labels)
    best: dict[str, float] = {}
    for rnd in range(args.rounds):
        for name, tr in arms.items():
            t0 = time.perf_counter()
            out = tr.translate(codes, labels, "tag", args.max_new_tokens,
                               experts=None if name == "base" else experts)
            wall = time.perf_counter() - t0
            n = sum(t.n_tokens for t in out)
            best[name] = max(best.get(name, 0.0), n / wall)
            print(f"round {rnd + 1} {name:7s} {n} tokens in {wall:6.1f} s = {n / wall:6.1f} tokens/s", flush=True)
    print(json.dumps({"tokens_per_s": {k: round(v, 2) for k, v in best.items()}, "prompts": len(prompts),
                      "max_new_tokens": args.max_new_tokens, "batch": args.batch, "router": router,
                      "backend": "llamacpp"}))
    print(f"RESULT speed_vs_base={best['routed'] / best['base']:.3f} routing_accuracy={routing:.3f}")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
