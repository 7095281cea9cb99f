"""``codebabel corpus build`` and ``codebabel corpus stats``."""

from __future__ import annotations

from typing import Annotated

import typer

from codebabel.cli import tables
from codebabel.cli.tables import err, out
from codebabel.config import CorpusConfig

app = typer.Typer(help="Build code corpora (filters, dedup, decontamination, splits) and inspect them.",
                  no_args_is_help=True)


@app.command("build", no_args_is_help=True)
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
    executor: Annotated[str, typer.Option(help="Where datatrove runs the stages: local | ray (a Ray cluster, "
                                               "--ray-address) | slurm (sbatch job arrays; run the same command "
                                               "again once they finish). docs/scaling.md")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="--executor ray: the cluster's head, HOST:PORT (default: "
                                                         "$RAY_ADDRESS, else a Ray instance on this machine).")] = None,
    slurm_partition: Annotated[str | None, typer.Option(help="--executor slurm: the partition the jobs go "
                                                             "to.")] = None,
    slurm_time: Annotated[str, typer.Option(help="--executor slurm: time limit of each task "
                                                 "(HH:MM:SS).")] = "24:00:00",
) -> None:
    """Build a corpus: decode, size and quality filters, exact + near dedup, decontamination, splits."""
    from codebabel.data.build import build_corpus

    cfg = CorpusConfig(language=language, out=out_dir, sources=tuple(sources or ()), hf=tuple(hf or ()),
                       data_dir=data_dir, text_key=text_key, from_system=from_system, tokenizer=tokenizer,
                       max_bytes=max_bytes, validation=validation, test=test, max_tokens=max_tokens, tasks=tasks,
                       overwrite=overwrite, executor=executor, ray_address=ray_address,
                       slurm_partition=slurm_partition, slurm_time=slurm_time)
    manifest = build_corpus(cfg, console=err)
    if "submitted" in manifest:  # --executor slurm: the jobs are queued, the corpus is written by a later run
        s = manifest["submitted"]
        print(f"submitted: Slurm job(s) {', '.join(map(str, s['jobs'])) or '(none left to run)'}; logs in "
              f"{s['logs']}; when they have finished, run the same command again to write the corpus", flush=True)
        return
    _print(manifest, out_dir)


@app.command("stats", no_args_is_help=True)
def corpus_stats_cmd(
    folder: Annotated[str, typer.Argument(help="A corpus folder built by `codebabel corpus build`.")],
) -> None:
    """Files and tokens after each step, and per split, of a built corpus."""
    from codebabel.data.build import corpus_stats

    _print(corpus_stats(folder), folder)


def _print(manifest: dict, folder: str) -> None:
    out.print(tables.corpus_steps(manifest))
    out.print(tables.corpus_splits(manifest))
    print(f"corpus: {folder}", flush=True)
