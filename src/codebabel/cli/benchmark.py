"""``codebabel benchmark export`` and ``codebabel languages`` (the languages and their HumanEval coverage)."""

from __future__ import annotations

from typing import Annotated

import typer

from codebabel.cli import tables
from codebabel.cli.tables import err, out

app = typer.Typer(help="Inspect and export the benchmarks (HumanEval translated to every language).",
                  no_args_is_help=True)


def languages_cmd(
    apt: Annotated[bool, typer.Option("--apt", help="Only print the Debian packages of every toolchain "
                                                   "(and of the sources `corpus build --from-system` reads).")] = False,
    npm: Annotated[bool, typer.Option("--npm", help="Only print the npm packages of every toolchain.")] = False,
) -> None:
    """List the languages: names, toolchain status, HumanEval problems translated."""
    if apt or npm:
        from codebabel.languages import all_languages

        pkgs = {p: None for lang in all_languages()
                for p in ((*lang.apt_packages, *lang.source_packages) if apt else lang.npm_packages)}
        print(" ".join(pkgs))
        return
    from codebabel.benchmarks import coverage

    out.print(tables.languages(coverage("humaneval")))


@app.command("export", no_args_is_help=True)
def benchmark_export(
    language: Annotated[str, typer.Option(help="Language name/alias/extension, a comma-separated list, or 'all'.")],
    out_path: Annotated[str, typer.Option("--out", help="JSONL file (one language) or folder (several).")],
    benchmark: Annotated[str, typer.Option(help="Benchmark name.")] = "humaneval",
) -> None:
    """Write the translated problems (prompt, tests, stop tokens) as JSONL for other harnesses."""
    from codebabel.benchmarks.export import export_benchmark

    for path, n, skipped in export_benchmark(benchmark, language, out_path):
        err.print(f"{path}: {n} problems ({len(skipped)} not translated)", highlight=False, soft_wrap=True)
        for s in skipped:
            err.print(f"  {s.task_id}: {s.reason}", highlight=False, soft_wrap=True)
