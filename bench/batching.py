"""llama.cpp decoding several sequences at once (generate/slots.py) vs one at a time, in one run.

The same backend (``LlamaCppBackend``) at each ``--widths`` value: the first ``--problems`` HumanEval prompts,
greedy, ``--max-new-tokens`` tokens each, no stop sequences (every prompt decodes the full budget unless the
model ends it). Throughput = generated tokens / seconds of the ``generate`` call, reading the prompts included.

    python bench/batching.py [--model qwen2.5-coder-0.5b] [--problems 16] [--max-new-tokens 128] [--widths 1,8,16]

Ends with one line: ``RESULT speedup=<tok/s at the widest ÷ tok/s at width 1> ...`` with each width's tok/s.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--widths", default="1,8,16")
    args = ap.parse_args()

    from codebabel.benchmarks import load_benchmark
    from codebabel.config import SamplingConfig, available_cpus
    from codebabel.generate.llamacpp import LlamaCppBackend
    from codebabel.models.loading import resolve

    widths = [int(w) for w in args.widths.split(",")]
    prompts = [p.prompt for p in load_benchmark("humaneval", "py")[: args.problems]]
    source = resolve(args.model)
    sampling = SamplingConfig(temperature=0.0, max_new_tokens=args.max_new_tokens)
    print(f"model {args.model}; {len(prompts)} HumanEval prompts, greedy, max_new_tokens={args.max_new_tokens}; "
          f"{available_cpus()} CPUs", flush=True)
    rates = {}
    for width in widths:
        backend = LlamaCppBackend(source, parallel=width)
        t0 = time.perf_counter()
        backend.generate(prompts, sampling, [])
        secs = time.perf_counter() - t0
        tokens = backend.last_stats["generated_tokens"]
        rates[width] = tokens / secs
        print(f"width {width}: {tokens} tokens in {secs:.1f} s = {rates[width]:.1f} tok/s", flush=True)
        del backend
    widest = max(widths)
    print(f"RESULT speedup={rates[widest] / rates[min(widths)]:.2f} "
          + " ".join(f"tok_s_width_{w}={r:.1f}" for w, r in rates.items()))


if __name__ == "__main__":
    main()
