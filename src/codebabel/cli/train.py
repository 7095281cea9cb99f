"""``codebabel train`` (a recipe, stage by stage) and ``codebabel export --merge`` / ``--gguf``."""

from __future__ import annotations

from typing import Annotated

import typer

from codebabel.cli import tables
from codebabel.cli.tables import err, out
from codebabel.config import ExportConfig
from codebabel.errors import CodebabelError


def train_cmd(
    recipe: Annotated[str, typer.Argument(help="Recipe YAML (model, data, method lora|full, hyperparameters, "
                                               "stages).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a recipe field: key=value, dotted "
                                                                   "(lora.r=16, stages.1.max_steps=50).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run from its newest checkpoint.")] = False,
    push_to_hub: Annotated[str | None, typer.Option("--push-to-hub", metavar="REPO",
                                                    help="Then upload the adapter or model, with its card, to this "
                                                         "Hub repo (owner/name; token: HF_TOKEN or `hf auth "
                                                         "login`).")] = None,
    private: Annotated[bool, typer.Option("--private", help="With --push-to-hub: create the repo private.")
                       ] = False,
) -> None:
    """Fine-tune a model (LoRA or full) on corpus folders, stage by stage; resumable."""
    from codebabel.hub import HubTarget
    from codebabel.train.recipe import load_recipe
    from codebabel.train.trainer import train

    summary = train(load_recipe(recipe, set_ or []), resume=resume, console=err,
                    push_to=HubTarget.from_flags(push_to_hub, private))
    out.print(tables.train(summary))
    print(f"result: {summary['result']}", flush=True)
    if summary.get("pushed"):
        print(f"pushed: {summary['pushed']}", flush=True)


def export_cmd(
    out_dir: Annotated[str, typer.Option("--out", help="Folder for the merged Hugging Face model, or the .gguf "
                                                       "file with --gguf.")],
    adapter: Annotated[str | None, typer.Option(help="PEFT adapter folder (e.g. runs/NAME/adapter).")] = None,
    merge: Annotated[bool, typer.Option("--merge", help="Merge the adapter into the base weights.")] = False,
    gguf: Annotated[bool, typer.Option("--gguf", help="Write a GGUF file for llama.cpp: the adapter as a "
                                                      "llama.cpp LoRA adapter; with --merge the merged model; "
                                                      "with --model alone that full model.")] = False,
    model: Annotated[str | None, typer.Option(help="Base model (default: the adapter's own base); without "
                                                   "--adapter, the model to export with --gguf.")] = None,
    outtype: Annotated[str, typer.Option(help="GGUF weight type: f32 | f16 (adapters and models), q8_0 | q4_k "
                                              "(models; the gguf package cannot quantize Q4_K in Python, so "
                                              "q4_k is llama.cpp's Q4_K_M quantizer from llama-cpp-python).")
                       ] = "f16",
    gguf_base: Annotated[str | None, typer.Option(help="GGUF (file or registered name) whose metadata and "
                                                       "tokenizer a model export reuses (default: the base's "
                                                       "own GGUF).")] = None,
    push_to_hub: Annotated[str | None, typer.Option("--push-to-hub", metavar="REPO",
                                                    help="With --merge (a folder): then upload it, with its card, "
                                                         "to this Hub repo (owner/name).")] = None,
    private: Annotated[bool, typer.Option("--private", help="With --push-to-hub: create the repo private.")
                       ] = False,
) -> None:
    """Write a merged model (base weights + LoRA adapter, a plain Hugging Face folder) or a GGUF for llama.cpp."""
    from codebabel.hub import HubTarget

    cfg = ExportConfig(adapter=adapter, out=out_dir, merge=merge, model=model, gguf=gguf, outtype=outtype,
                       gguf_base=gguf_base)
    target = HubTarget.from_flags(push_to_hub, private)
    if cfg.gguf:
        if target is not None:
            raise CodebabelError("--push-to-hub: only with --merge alone (a model folder); push a .gguf with "
                                 "`hf upload REPO FILE`")
        from codebabel.models.gguf_export import export_gguf

        path = export_gguf(cfg.out, adapter=cfg.adapter, model=cfg.model, merge=cfg.merge, outtype=cfg.outtype,
                           gguf_base=cfg.gguf_base)
        kind = "LoRA adapter" if cfg.adapter is not None and not cfg.merge else "model"
        print(f"gguf ({kind}, {cfg.outtype}): {path}", flush=True)
        return
    from codebabel.train.trainer import export_merged

    path = export_merged(cfg.adapter, cfg.out, cfg.model, push_to=target)
    print(f"merged: {path}", flush=True)
    if target is not None:
        print(f"pushed: {path} -> {target.repo}", flush=True)
