"""``codebabel route train-experts`` and ``codebabel route accuracy``: per-language experts behind a router."""

from __future__ import annotations

from typing import Annotated

import typer

from codebabel.cli import tables
from codebabel.cli.tables import err, out

app = typer.Typer(help="Per-language LoRA experts behind a learned router (any language → Python).",
                  no_args_is_help=True)


@app.command("train-experts", no_args_is_help=True)
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


@app.command("accuracy", no_args_is_help=True)
def route_accuracy_cmd(
    experts: Annotated[str, typer.Argument(help="Run folder of `codebabel route train-experts`.")],
    data: Annotated[list[str], typer.Option(help="JSONL pairs (repeat for several files).")],
    split: Annotated[str, typer.Option(help="Pairs of this split field ('all' = every pair).")] = "test",
    router: Annotated[str, typer.Option(help="gate | ngram | tag | all.")] = "all",
    out_path: Annotated[str | None, typer.Option("--out", help="Also write the results to this JSON file.")] = None,
    humaneval: Annotated[bool, typer.Option("--humaneval", help="Also route HumanEval's prompts translated into "
                                                                "each language (161 per language: the problems translated into it).")] = False,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda[:N].")] = "auto",
) -> None:
    """Routing accuracy per language and confusion matrices, with the language tag and with <code>."""
    from codebabel.route.routing import RouteAccuracyConfig, route_accuracy_report

    cfg = RouteAccuracyConfig(experts=experts, data=tuple(data), split=split, router=router, out=out_path,
                              humaneval=humaneval, device=device)
    for table in tables.route_accuracy(route_accuracy_report(cfg), cfg.routers):
        out.print(table)
    if cfg.out:
        print(f"results: {cfg.out}", flush=True)
