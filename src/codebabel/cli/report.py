"""``codebabel report RUN... --out DIR``: a static HTML page and Markdown with figures, from finished runs."""

from __future__ import annotations

from typing import Annotated

import typer

from codebabel.cli.tables import err


def report_cmd(
    runs: Annotated[list[str], typer.Argument(help="Run folders (or globs, quoted): evaluate, evaluate "
                                                   "translation, train, route and synth runs; codebabel runs list "
                                                   "shows them.")],
    out_dir: Annotated[str, typer.Option("--out", help="The report folder (new, empty, or an earlier report: "
                                                       "replaced atomically).")],
    formats: Annotated[str, typer.Option(help="Figure files: png, svg or png,svg.")] = "png,svg",
    title: Annotated[str | None, typer.Option(help="The page's title.")] = None,
) -> None:
    """A static HTML page and Markdown with figures, from run folders: DIR/index.html, report.md, figures/.

    Figures, each where the runs have the data: pass@k per language (published numbers beside), execution
    statuses, before/after, training curves, translation accuracy vs CodeBLEU, routing confusion matrices, the
    synth funnel; every figure's numbers in a table too. docs/report.md"""
    from codebabel.report.build import ReportConfig, write_report

    cfg = ReportConfig(runs=tuple(runs), out=out_dir,
                       formats=tuple(f.strip() for f in formats.split(",") if f.strip()), title=title)
    done = write_report(cfg, log=lambda line: err.print(line, highlight=False, soft_wrap=True))
    err.print(f"{done['runs']} runs, {len(done['figures'])} figure files", highlight=False)
    print(f"report: {done['index']}", flush=True)
    print(f"markdown: {done['markdown']}", flush=True)
