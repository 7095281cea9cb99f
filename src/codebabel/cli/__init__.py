"""The ``codebabel`` command line: parse flags into a typed config, call one library function, print a summary.

One module per command group (``evaluate``, ``models``, ``corpus``, ``pairs``, ``route``, ``train`` with
``export``, ``benchmark`` with ``languages``, ``quickstart``, ``synth``, ``sweep``, ``translate``, ``serve``, ``report``,
``runs``), every table in ``tables``; this module holds the root app, registers the commands and groups, and
:func:`main`. Heavy libraries are imported inside the commands, so ``codebabel --help`` stays fast.

Every bad input raises :class:`~codebabel.errors.CodebabelError`; :func:`main` prints it as one line on
stderr and exits non-zero.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from codebabel import __version__
from codebabel.cli import (
    benchmark,
    corpus,
    evaluate,
    models,
    pairs,
    push,
    quickstart,
    report,
    route,
    runs,
    serve,
    sweep,
    synth,
    train,
    translate,
)
from codebabel.cli.tables import err
from codebabel.errors import CodebabelError

app = typer.Typer(
    name="codebabel",
    help="Make a small code model good at more programming languages, and measure it by running its code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"codebabel {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                 help="Print the version and exit.")] = False) -> None:
    pass


# `codebabel --help` lists the commands, then the groups, each in the order registered here
app.command("languages")(benchmark.languages_cmd)
app.command("train", no_args_is_help=True)(train.train_cmd)
app.command("quickstart")(quickstart.quickstart_cmd)
app.command("export", no_args_is_help=True)(train.export_cmd)
app.command("synth", no_args_is_help=True)(synth.synth_cmd)
app.command("sweep", no_args_is_help=True)(sweep.sweep_cmd)
app.command("serve", no_args_is_help=True)(serve.serve_cmd)
app.command("translate", no_args_is_help=True)(translate.translate_cmd)
app.command("report", no_args_is_help=True)(report.report_cmd)
app.command("push", no_args_is_help=True)(push.push_cmd)
app.add_typer(models.app, name="models")
app.add_typer(benchmark.app, name="benchmark")
app.add_typer(evaluate.app, name="evaluate")
app.add_typer(corpus.app, name="corpus")
app.add_typer(pairs.app, name="pairs")
app.add_typer(route.app, name="route")
app.add_typer(runs.app, name="runs")


def main() -> None:
    try:
        app(prog_name="codebabel", standalone_mode=True)
    except CodebabelError as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
