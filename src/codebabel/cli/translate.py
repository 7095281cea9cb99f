"""``codebabel translate FILE``: one program → Python; the translation on stdout, everything else on stderr."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from codebabel.cli.evaluate import ApiKeyEnv, ExpertsBaseUrl
from codebabel.cli.tables import err
from codebabel.config import ExecutionConfig
from codebabel.models.registry import DEFAULT_INSTRUCT_MODEL

if TYPE_CHECKING:
    from codebabel.execute.runner import Outcome
    from codebabel.route.translate import RunReport


def translate_cmd(
    file: Annotated[str, typer.Argument(help="The program to translate; - reads standard input.")],
    to: Annotated[str, typer.Option("--to", help="Target language; only py (Python) for now.")] = "py",
    experts: Annotated[str | None, typer.Option(help="Run folder of `codebabel route train-experts`: the "
                                                     "experts' gate detects the language and picks the expert.")] = None,
    model: Annotated[str | None, typer.Option(help="Model (registered name, folder, .gguf, Hub id); default the "
                                                   f"experts' base with --experts, else {DEFAULT_INSTRUCT_MODEL}.")] = None,
    source: Annotated[str | None, typer.Option("--from", help="The source language (name, alias or extension); "
                                                              "skips detection.")] = None,
    prompt_format: Annotated[str | None, typer.Option(help="tag | instruct; default instruct without --experts, "
                                                           "tag with (the format the experts are trained on).")] = None,
    run: Annotated[bool, typer.Option("--run", help="Run the source and the translation in the sandbox and say "
                                                    "whether their outputs agree.")] = False,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens generated at most.")] = 512,
    backend: Annotated[str, typer.Option(help="auto (llama.cpp on CPU where the model has a GGUF) | hf | "
                                              "llamacpp | openai (an OpenAI-compatible endpoint, "
                                              "--base-url).")] = "auto",
    base_url: ExpertsBaseUrl = None,
    api_key_env: ApiKeyEnv = "OPENAI_API_KEY",
    device: Annotated[str, typer.Option(help="auto | cpu | cuda[:N].")] = "auto",
    timeout: Annotated[float, typer.Option(help="--run: wall-clock seconds per program.")] = 10.0,
) -> None:
    """Translate one program to Python and print it on stdout; the source language is detected first.

    The source language (said on stderr, with how it was decided): --from LANG; with --experts, the experts' gate; without, the file's extension where it names a language (.cpp, .java, .cs, .js, .php, .rb, ...), else (standard input, other names) an n-gram detector fitted on the authored pairs in data/pairs/ (C++, Java, C#, JavaScript, PHP, Python).

    With --run, both programs' statuses and outputs go to stderr with one line saying whether they agree; the exit code is 0 either way.
    """
    from codebabel.route.translate import TranslateConfig, translate_file

    cfg = TranslateConfig(file=file, to=to, experts=experts, model=model, source=source,
                          prompt_format=prompt_format, run=run, max_new_tokens=max_new_tokens, backend=backend,
                          device=device, execution=ExecutionConfig.from_flags(timeout_s=timeout, workers=2),
                          base_url=base_url, api_key_env=api_key_env)
    result = translate_file(cfg, log=_note)
    print(result.translation.code, flush=True)  # plain print: the program exactly, never wrapped or styled
    if result.run is not None:
        _report(result.run, result.detection.language)


def _note(line: str) -> None:
    err.print(line, markup=False, highlight=False, soft_wrap=True)


def _outcome(label: str, o: Outcome) -> None:
    _note(f"{label}: {o.status.value}, exit status {o.returncode}, {o.duration_s:.2f} s; stdout:")
    _note(o.stdout.rstrip("\n") or "(nothing)")
    if o.status.value != "ok" and o.stderr.strip():
        _note("stderr (last lines):\n" + "\n".join(o.stderr.rstrip("\n").splitlines()[-5:]))


def _report(report: RunReport, language: str) -> None:
    _outcome(f"source ({language})", report.source)
    _outcome("translation (py)", report.translation)
    _note(f"outputs {'agree' if report.agree else 'differ'}: {report.why}")
