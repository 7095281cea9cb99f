"""``codebabel serve``: its settings (:class:`ServeConfig`) and the server's life — load the model, bind, serve
with uvicorn, and stop gracefully.

- **Binds 127.0.0.1** unless ``--host`` says otherwise; ``--port 0`` takes a free port. The socket is bound
  before serving starts, so the address printed is the one clients reach.
- **Graceful shutdown** on SIGTERM (or Ctrl-C): new requests get a 503 error object at once, the listening
  socket closes, every request already accepted (waiting in the queue or generating) is answered, then the
  worker stops and the command exits 0. A second Ctrl-C forces the exit; whatever was still waiting is then
  refused with an error, never dropped silently.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from codebabel.errors import CodebabelError
from codebabel.serve.app import create_app
from codebabel.serve.engine import Engine
from codebabel.serve.model import load_served

MAX_RUN_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ServeConfig:
    model: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    max_queue: int = 64
    max_body_bytes: int = 1_000_000
    experts: str | None = None
    router: str = "gate"
    backend: str = "auto"
    device: str = "auto"
    batch_size: int = 8
    playground: bool = True  # the web page at / and its /api/* endpoints (serve/playground.py)
    run_timeout: float = 10.0  # the playground's Run: wall-clock seconds per program

    def __post_init__(self) -> None:
        if not 0 < self.run_timeout <= MAX_RUN_TIMEOUT_S:
            raise CodebabelError(f"--run-timeout {self.run_timeout}: must be above 0 and at most {MAX_RUN_TIMEOUT_S} "
                                 "seconds")
        if not self.model and not self.experts:
            raise CodebabelError("codebabel serve: pass --model (a registered name, folder, .gguf file or Hub id) "
                                 "or --experts RUN")
        if not 0 <= self.port <= 65535:
            raise CodebabelError(f"--port {self.port}: must be 0 (any free port) to 65535")
        for flag, value, least in (("--max-queue", self.max_queue, 1), ("--max-body-bytes", self.max_body_bytes, 1024),
                                   ("--batch-size", self.batch_size, 1)):
            if value < least:
                raise CodebabelError(f"{flag} {value}: must be at least {least}")
        if self.api_key is not None and not self.api_key.strip():
            raise CodebabelError("--api-key: empty; pass a key, or leave the flag out for no key")


class Serving:
    """A loaded model, its engine and app, and a bound socket; :meth:`run` serves until stopped."""

    def __init__(self, cfg: ServeConfig, log: Callable[[str], None] = print):
        self.cfg = cfg
        self.socket = _bind(cfg.host, cfg.port)  # first: a taken port fails before the model loads
        try:
            self.served = load_served(cfg.model, cfg.experts, router=cfg.router, backend=cfg.backend,
                                      device=cfg.device, batch_size=cfg.batch_size, log=log)
        except BaseException:
            self.socket.close()
            raise
        self.engine = Engine(self.served, cfg.max_queue, log=log)
        app = create_app(self.served, self.engine, api_key=cfg.api_key, max_body_bytes=cfg.max_body_bytes,
                         playground=cfg.playground, run_timeout=cfg.run_timeout)
        self.port = self.socket.getsockname()[1]
        host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=None)
        self.server = _Server(config, self.engine)

    def run(self) -> dict:
        """Serve until :meth:`stop`, SIGTERM or Ctrl-C (signals only where this runs in the main thread); the
        engine's counts at the end."""
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self.socket.close()
            self.engine.close()
        return self.engine.stats()

    def stop(self) -> None:
        """What SIGTERM does, from any thread."""
        self.server.handle_exit(signal.SIGTERM, None)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise CodebabelError(f"--host {host} --port {port}: cannot listen there ({e.strerror or e}); pick another "
                             "--port, or --port 0 for any free one") from None
    sock.listen(2048)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, whose exit signal first turns new requests away (503), and is not raised again after the
    graceful shutdown (uvicorn's default, which would end the process by the signal instead of exit code 0)."""

    def __init__(self, config, engine: Engine):
        super().__init__(config)
        self.engine = engine

    def handle_exit(self, sig, frame) -> None:
        self.engine.stop_accepting()
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True
