"""``codebabel runs list``: every run under the usual output folders, one row each."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from codebabel.cli import tables
from codebabel.cli.tables import err, out

app = typer.Typer(help="The runs on disk: evaluations, translations, training, routing and synth runs.",
                  no_args_is_help=True)


@app.command("list")
def runs_list(
    kind: Annotated[str | None, typer.Option(help="Only runs of this kind: eval | train | translation | synth | "
                                                  "route | perplexity | sweep.")] = None,
    root: Annotated[list[str] | None, typer.Option("--root", help="Folder to look in (repeatable; default: "
                                                                  "results/ and runs/).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (runs, skipped folders) instead of a "
                                                         "table.")] = False,
) -> None:
    """List every finished or partial run: a readable name, its settings, its headline metric, its folder.

    Folders that are no run (or cannot be read) are skipped and counted."""
    from codebabel.report.runs import find_runs

    found = find_runs(root or None, kind)
    if as_json:
        print(json.dumps(found.to_json(), indent=2), flush=True)
        return
    out.print(tables.runs(found.runs))
    if found.skipped:
        names = ", ".join(p for p, _ in found.skipped[:5]) + (" ..." if len(found.skipped) > 5 else "")
        err.print(f"skipped {len(found.skipped)} folder(s) that are no run or cannot be read: {names} "
                  "(--json lists why)", highlight=False, soft_wrap=True)
