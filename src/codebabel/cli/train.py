"""``codebabel train`` (a recipe, stage by stage) and ``codebabel export --merge``."""

from __future__ import annotations

from typing import Annotated

import typer

from codebabel.cli import tables
from codebabel.cli.tables import err, out
from codebabel.config import ExportConfig


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
    out.print(tables.train(summary))
    print(f"result: {summary['result']}", flush=True)


def export_cmd(
    adapter: Annotated[str, typer.Option(help="PEFT adapter folder (e.g. runs/NAME/adapter).")],
    out_dir: Annotated[str, typer.Option("--out", help="Folder for the merged Hugging Face model.")],
    merge: Annotated[bool, typer.Option("--merge", help="Merge the adapter into the base weights.")] = False,
    model: Annotated[str | None, typer.Option(help="Base model (default: the adapter's own base).")] = None,
) -> None:
    """Write a merged model: base weights + LoRA adapter, as a plain Hugging Face folder."""
    cfg = ExportConfig(adapter=adapter, out=out_dir, merge=merge, model=model)
    from codebabel.train.trainer import export_merged

    print(f"merged: {export_merged(cfg.adapter, cfg.out, cfg.model)}", flush=True)
