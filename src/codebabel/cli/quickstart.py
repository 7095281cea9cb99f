"""``codebabel quickstart``: extend a model to one more language with LoRA and measure before / after."""

from __future__ import annotations

from typing import Annotated

import typer

from codebabel.cli.tables import err, out
from codebabel.config import QuickstartConfig

QS = QuickstartConfig()  # the defaults


def quickstart_cmd(
    model: Annotated[str, typer.Option(help="Base model: registered name, HF folder, .gguf or Hub id.")] = QS.model,
    language: Annotated[str, typer.Option(help="Language to extend the model to (name, alias or extension); "
                                               "its corpus comes from the sources installed here.")] = QS.language,
    out_dir: Annotated[str, typer.Option("--out", help="Run folder (corpora, adapter, results, report); re-running "
                                                       "the same command reuses finished phases.")] = QS.out,
    steps: Annotated[int, typer.Option(help="LoRA optimizer steps (batch 4 x 256 tokens).")] = QS.steps,
    limit: Annotated[int | None, typer.Option(help="Only the first N HumanEval problems per language (default: "
                                                   "all of them).")] = QS.limit,
    max_tokens: Annotated[int, typer.Option(help="Tokens kept per corpus built from system sources.")] = QS.max_tokens,
    ppl_tokens: Annotated[int, typer.Option(help="Test tokens scored per perplexity measurement (whole documents, "
                                                 "in order, until they hold this many).")] = QS.ppl_tokens,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens generated per problem at most.")] = QS.max_new_tokens,
) -> None:
    """Extend a model to one more language with LoRA (default: SmolLM2-135M to Ruby) and show before / after:
    perplexity and pass@1 in that language and in Python."""
    from codebabel.quickstart import run_quickstart, table  # the table shares its cells with quickstart.md

    cfg = QuickstartConfig(model=model, language=language, out=out_dir, steps=steps, limit=limit,
                           max_tokens=max_tokens, ppl_tokens=ppl_tokens, max_new_tokens=max_new_tokens)
    report = run_quickstart(cfg, console=err)
    out.print(table(report))
    print(f"report: {report['paths']['markdown']}", flush=True)
