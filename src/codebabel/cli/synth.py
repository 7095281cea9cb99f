"""``codebabel synth RECIPE.yaml``: verified synthetic training data (MultiPL-T), stage by stage, resumable."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from codebabel.cli.tables import err, out


def synth_cmd(
    recipe: Annotated[str, typer.Argument(help="Synthesis recipe YAML (sources, languages, teacher, stage "
                                               "settings): docs/synth.md.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a recipe field: key=value, dotted "
                                                                   "(solutions.samples=10, teacher.backend=openai)."
                                                   )] = None,
    until: Annotated[str, typer.Option(help="Stop after this stage: functions | tests | translate | solutions | "
                                            "dataset.")] = "dataset",
) -> None:
    """Make training data for other languages from Python functions, verified by running it (MultiPL-T).

    The teacher writes unit tests and translations; the sandbox keeps what passes. Rerun the same command to
    resume: nothing is generated or run twice."""
    from codebabel.synth import load_synth_recipe, run_synth

    summary = run_synth(load_synth_recipe(recipe, set_ or []), until=until, console=err)
    out.print(funnel_table(summary))
    if "dataset" in summary:
        print(f"dataset: {summary['dataset']}", flush=True)


def funnel_table(summary: dict) -> Table:
    """One row per stage (and language): what went in, what was kept."""
    table = Table(title=f"codebabel synth: {summary['run_dir']}", show_header=True)
    for col in ("stage", "in", "kept", "dropped (top reasons)"):
        table.add_column(col, justify="left" if col in ("stage", "dropped (top reasons)") else "right")
    stages = summary["stages"]

    def top(d: dict) -> str:
        return ", ".join(f"{k} {v}" for k, v in list(d.items())[:4]) or "-"

    f = stages["functions"]
    table.add_row("functions", str(f["candidates"]), f"{f['kept']} ({f['selected']} selected)", top(f["dropped"]))
    if "tests" in stages:
        t = stages["tests"]
        table.add_row("tests", str(t["functions"]), str(t["kept"]), top(t["dropped"]))
    for lang, tr in stages.get("translate", {}).items():
        table.add_row(f"translate {lang}", str(tr["functions"]), str(tr["kept"]), top(tr["dropped"]))
    for lang, so in stages.get("solutions", {}).items():
        table.add_row(f"solutions {lang}", f"{so['samples']} samples", f"{so['kept']} ({so['functions_with_kept']} "
                      "functions)", f"failed {so['samples'] - so['passed']}, duplicates "
                      f"{so['exact_duplicates'] + so['near_duplicates']}")
    for lang, rows in stages.get("dataset", {}).items():
        table.add_row(f"dataset {lang}", "", " / ".join(str(n) for n in rows.values()), "train / validation / test")
    return table
