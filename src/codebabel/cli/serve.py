"""``codebabel serve``: an OpenAI-compatible server over codebabel's backends (docs in serve/)."""

from __future__ import annotations

from typing import Annotated

import typer

from codebabel.cli.tables import err


def serve_cmd(
    model: Annotated[str | None, typer.Option(help="Registered name (codebabel models list), local HF folder, "
                                                   ".gguf file, or Hugging Face Hub id; served under this name. "
                                                   "With --experts: default the experts' own base.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free one, printed).")] = 8000,
    api_key: Annotated[str | None, typer.Option(envvar="CODEBABEL_SERVE_API_KEY",
                                                help="Require 'Authorization: Bearer KEY' on /v1/* and the "
                                                     "playground's /api/* (also from "
                                                     "$CODEBABEL_SERVE_API_KEY).")] = None,
    max_queue: Annotated[int, typer.Option(help="Requests waiting at most; beyond, 429.")] = 64,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body; beyond, 413.")] = 1_000_000,
    experts: Annotated[str | None, typer.Option(help="Run folder of `codebabel route train-experts`: each expert "
                                                     "served by its language's name, and 'auto' (routed).")] = None,
    router: Annotated[str, typer.Option(help="With --experts, what picks the expert for 'auto': gate | ngram | "
                                             "tag.")] = "gate",
    backend: Annotated[str, typer.Option(help="auto | hf | llamacpp (auto: llama.cpp on CPU where it "
                                              "applies).")] = "auto",
    device: Annotated[str, typer.Option(help="auto | cpu | cuda[:N].")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Requests generated together: sequences decoding at once on "
                                                 "llama.cpp, one padded batch on transformers.")] = 8,
    playground: Annotated[bool, typer.Option("--playground/--no-playground",
                                             help="The web playground at / (translate, complete, run in the "
                                                  "sandbox) and its /api/* endpoints.")] = True,
    run_timeout: Annotated[float, typer.Option(help="The playground's Run: wall-clock seconds per program (at "
                                                    "most 60).")] = 10.0,
) -> None:
    """Serve a model over HTTP, OpenAI-style: /v1/models, /v1/completions, /v1/chat/completions, /health; and a
    web playground at /."""
    from codebabel.serve.server import ServeConfig, Serving

    cfg = ServeConfig(model=model, host=host, port=port, api_key=api_key, max_queue=max_queue,
                      max_body_bytes=max_body_bytes, experts=experts, router=router, backend=backend, device=device,
                      batch_size=batch_size, playground=playground, run_timeout=run_timeout)
    log = lambda line: err.print(line, highlight=False, soft_wrap=True)  # noqa: E731
    serving = Serving(cfg, log=log)
    if host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        log(f"warning: listening on {host} without --api-key: anyone who reaches this port can use the model")
    # plain print on stdout, one line: scripts read the address from it
    print(f"serving {', '.join(serving.served.names)} at {serving.url}/v1 (stop: Ctrl-C or SIGTERM)", flush=True)
    if playground:
        log(f"playground: {serving.url}/")
    stats = serving.run()
    print(f"stopped: {stats['answered']} requests answered, {stats['failed']} refused or failed, {stats['gone']} "
          "clients gone before their answer", flush=True)
