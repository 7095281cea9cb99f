"""``codebabel sweep SWEEP.yaml``: a grid or list of training and sampling settings, each point a resumable run."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from codebabel.cli.tables import err, out


def sweep_cmd(
    sweep: Annotated[str, typer.Argument(help="Sweep YAML: recipe, grid (key: list of values) or points, set, evaluate, "
                                              "output (docs/report.md, configs/sweeps/).")],
    no_evaluate: Annotated[bool, typer.Option("--no-evaluate", help="Train every point, evaluate none this time "
                                                                    "(the summary keeps earlier measurements).")
                           ] = False,
) -> None:
    """Train (and evaluate) every point of a sweep; rerun to resume: finished points are not trained again."""
    from codebabel.report.sweeps import table_rows
    from codebabel.sweep import load_sweep, run_sweep

    summary = run_sweep(load_sweep(sweep), console=err, only_train=no_evaluate)
    headers, rows = table_rows(summary)
    table = Table(title=f"codebabel sweep: {summary['sweep']}", show_header=True)
    for h in headers:
        table.add_column(h, justify="left" if h == "run" else "right")
    for row in rows:
        table.add_row(*row)
    out.print(table)
    print(f"summary: {summary['summary_path']}", flush=True)
