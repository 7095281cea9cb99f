"""``codebabel push FOLDER --repo REPO``: a codebabel output folder to the Hugging Face Hub, its card written first."""

from __future__ import annotations

from typing import Annotated

import typer


def push_cmd(
    folder: Annotated[str, typer.Argument(help="A training run (its adapter/ or model/ is pushed), an adapter, a "
                                               "merged model, a corpus, a synth run or its dataset/, an evaluation "
                                               "run (results/...).")],
    repo: Annotated[str | None, typer.Option(help="The Hub repo, owner/name (created if missing).")] = None,
    kind: Annotated[str | None, typer.Option(help="model | dataset; default: what the folder is (required for "
                                                  "a folder of none of those kinds).")] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the repo private (an existing repo keeps "
                                                            "its visibility).")] = False,
    results: Annotated[list[str] | None, typer.Option("--results", help="An evaluation run of this adapter or "
                                                                        "model (folder or quoted glob; "
                                                                        "repeatable): its pass@k go into the "
                                                                        "model card.")] = None,
    card_only: Annotated[bool, typer.Option("--card-only", help="Write or refresh the card only; upload "
                                                                "nothing.")] = False,
) -> None:
    """Upload a folder to the Hugging Face Hub as a model or dataset repo, its card written first.

    The card's front matter comes from the folder's own files; the token from HF_TOKEN or `hf auth login`.
    docs/hub.md"""
    from codebabel.report.hub import PushConfig, push

    done = push(PushConfig(folder=folder, repo=repo, kind=kind, private=private, results=tuple(results or ()),
                           card_only=card_only))
    print(f"card: {done['card']}", flush=True)
    if done["url"]:
        print(f"pushed: {done['folder']} ({done['what']}) -> {done['url']}", flush=True)
