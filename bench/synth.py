"""Teacher throughput through ``codebabel synth``'s tests stage: the default teacher backend (llama.cpp on CPU,
several sequences decoded together) vs the same backend one sequence at a time (``teacher.batch_size=1``).

Both runs make the same stage from scratch in a temporary folder: the first ``--functions`` functions kept from
``--source`` (default: this Python's standard library, a folder of .py files), ``--samples`` unit-test samples each
(MultiPL-T: 5 at T=0.2), at most ``--max-new-tokens`` tokens; the generated tests run in the sandbox as in a real
run. Throughput = tokens the teacher generated / seconds spent generating (model loading and the sandbox runs not
counted; the stage records both in its ``summary.json``).

    python bench/synth.py [--model qwen2.5-coder-0.5b] [--functions 4] [--samples 5] [--max-new-tokens 128]
                          [--batch-size 8]

``--batch-size``: samples generated together in the default run (unset: the recipe default, 8); the baseline is
``teacher.batch_size=1`` (llama.cpp decodes one sequence at a time).

Ends with one line: ``RESULT gen_speedup=<default tokens/s ÷ batch_size=1 tokens/s> target=2.0``.
"""

from __future__ import annotations

import argparse
import os
import sysconfig
import tempfile
import time


def run(label: str, args, out: str, parallel: int | None) -> dict:
    from rich.console import Console

    from codebabel.synth import run_synth
    from codebabel.synth.recipe import synth_recipe_from_dict

    teacher = {"model": args.model, "backend": args.backend, "device": "cpu"}
    if parallel is not None:
        teacher["batch_size"] = parallel
    recipe = synth_recipe_from_dict({
        "name": label, "output": out, "sources": [args.source], "languages": ["lua"], "teacher": teacher,
        "functions": {"limit": args.functions},
        "tests": {"samples": args.samples, "max_new_tokens": args.max_new_tokens},
    }, f"bench {label}")
    t0 = time.perf_counter()
    summary = run_synth(recipe, until="tests", console=Console(stderr=True, quiet=True))
    wall = time.perf_counter() - t0
    t = summary["stages"]["tests"]
    g = t["generation"]
    print(f"{label}: {t['functions']} functions, {t['samples']} samples, {g['tokens']} tokens in {g['seconds']:.1f} s "
          f"of generation = {g['tokens_per_s']} tokens/s (stage wall {wall:.1f} s incl. loading and the sandbox); "
          f"teacher {t['teacher']}; {t['kept']} functions kept", flush=True)
    return g


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--backend", default="auto", choices=["auto", "llamacpp", "hf"])
    ap.add_argument("--source", default=sysconfig.get_paths()["stdlib"])
    ap.add_argument("--functions", type=int, default=4)
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--batch-size", dest="parallel", type=int, default=None)
    args = ap.parse_args()
    print(f"model {args.model}; {args.functions} functions x {args.samples} test samples, max_new_tokens "
          f"{args.max_new_tokens}; {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="codebabel-bench-synth-") as tmp:
        default = run("default", args, tmp, args.parallel)
        single = run("batch_size=1", args, tmp, 1)
    speedup = default["tokens_per_s"] / single["tokens_per_s"]
    print(f"default / one sequence at a time: {speedup:.2f}x")
    print(f"RESULT gen_speedup={speedup:.2f} target=2.0")


if __name__ == "__main__":
    main()
