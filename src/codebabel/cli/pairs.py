"""``codebabel pairs prepare``: translation pairs → prompt→completion training data."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Translation pairs (XLCoST or JSONL) → prompt→completion training data.",
                  no_args_is_help=True)


@app.command("prepare", no_args_is_help=True)
def pairs_prepare(
    from_: Annotated[tuple[str, str], typer.Option("--from", help="'xlcost DIR' (the XLCoST_data folder) or "
                                                                  "'jsonl FILE' (one pair object per line).")],
    source: Annotated[str, typer.Option(help="Source language (name, alias or extension), e.g. cpp.")],
    out_path: Annotated[str, typer.Option("--out", help="Prompt→completion JSONL written here (codebabel train "
                                                        "reads it).")],
    target: Annotated[str, typer.Option(help="Target language.")] = "py",
    level: Annotated[str, typer.Option(help="XLCoST level: snippet | program.")] = "program",
    split: Annotated[str, typer.Option(help="train | val | test (JSONL: pairs with this split field, and "
                                            "pairs without one).")] = "train",
    model: Annotated[str, typer.Option(help="Model whose tokenizer measures the 95th-percentile cap.")]
        = "smollm2-135m",
    hide_language_fraction: Annotated[float, typer.Option(help="Fraction of samples (seeded) whose source tag "
                                                               "is <code>.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of which samples hide their language.")] = 0,
    percentile: Annotated[float, typer.Option(help="Keep samples up to this percentile of token length (100: "
                                                   "all, e.g. for a test split).")] = 95.0,
) -> None:
    """Write translation pairs as {"prompt": "<cpp> SOURCE <py>", "completion": " TARGET"}, longest 5% dropped."""
    from codebabel.data.pairs import prepare_pairs_from

    kind, path = from_
    r = prepare_pairs_from(kind, path, source, out_path, target=target, level=level, split=split, model=model,
                           hide_language_fraction=hide_language_fraction, seed=seed, pct=percentile)
    print(f"{r.written} samples written to {r.out} (read {r.read}, skipped {r.skipped} without {source}/{target} "
          f"or of another split, dropped {r.dropped_long} over the {percentile:g}th-percentile cap of "
          f"{r.cap_tokens} tokens, "
          f"{r.hidden} tagged <code>)", flush=True)
