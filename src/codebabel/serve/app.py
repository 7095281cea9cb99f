"""The HTTP side of ``codebabel serve``: a FastAPI app with OpenAI's endpoints over the engine.

``GET /health`` (no key needed: liveness, queue depth, counts), ``GET /v1/models``, ``POST /v1/completions``,
``POST /v1/chat/completions`` (the model's chat template applied here), both with ``stream: true`` as
server-sent events (``data: {...}`` chunks, then ``data: [DONE]``); the web playground at ``/`` and its
``/api/*`` endpoints (serve/playground.py) unless ``--no-playground``. Every refusal is OpenAI's error object
``{"error": {"message", "type", "param", "code"}}`` with a 4xx status (5xx only for a failure of the server
itself), and the server keeps serving: 400 malformed JSON or a bad field, 401 a missing or wrong
``Authorization: Bearer`` key (with ``--api-key``), 404 an unknown model or path, 413 a body over
``--max-body-bytes`` (checked against ``Content-Length`` first, then while reading), 429 a full queue, 503
while shutting down. A prompt with no room left in the context for one token is a 400
(``context_length_exceeded``); a longer ``max_tokens`` is cut to the room left, as the llama.cpp backend does.
"""

from __future__ import annotations

import asyncio
import hmac
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from codebabel.serve.engine import Engine, Work
from codebabel.serve.model import ServedModel
from codebabel.serve.playground import add_playground
from codebabel.serve.protocol import (
    SSE_DONE,
    ApiError,
    ChatRequest,
    CompletionRequest,
    chat_body,
    completion_body,
    new_id,
    parse,
    sse,
    stream_chunks,
)

#: max_tokens when a request does not say: OpenAI's for completions, codebabel's --max-new-tokens for chat
DEFAULT_MAX_TOKENS = {"completions": 16, "chat": 512}


def create_app(served: ServedModel, engine: Engine, *, api_key: str | None = None,
               max_body_bytes: int = 1_000_000, playground: bool = True, run_timeout: float = 10.0) -> FastAPI:
    """The app; its lifespan starts the engine's worker and, after the last connection closed, stops it.
    ``playground``: the web page at ``/`` and its ``/api/*`` endpoints (serve/playground.py), whose Run button
    runs programs in the sandbox for ``run_timeout`` seconds at most."""

    @asynccontextmanager
    async def lifespan(_app):
        engine.start()
        try:
            yield
        finally:
            await asyncio.to_thread(engine.close)

    app = FastAPI(title="codebabel serve", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    @app.exception_handler(ApiError)
    async def _api_error(_request, e: ApiError):
        return JSONResponse(e.body(), status_code=e.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, e: StarletteHTTPException):
        what = {404: f"no such endpoint: {request.method} {request.url.path}",
                405: f"method {request.method} is not allowed on {request.url.path}"}.get(e.status_code, str(e.detail))
        return JSONResponse(ApiError(e.status_code, what, code="not_found" if e.status_code == 404 else None).body(),
                            status_code=e.status_code)

    @app.exception_handler(Exception)
    async def _internal(_request, e: Exception):
        return JSONResponse(ApiError(500, f"internal error: {type(e).__name__}: {str(e)[:300]}",
                                     type="server_error").body(), status_code=500)

    def authorize(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
            raise ApiError(401, "missing or wrong API key: send the header 'Authorization: Bearer KEY'",
                           code="invalid_api_key")

    async def read_body(request: Request) -> bytes:
        length = request.headers.get("content-length", "")
        too_big = ApiError(413, f"the request body is over {max_body_bytes} bytes (codebabel serve "
                                "--max-body-bytes); send a shorter prompt", code="request_too_large")
        if length.isdigit() and int(length) > max_body_bytes:
            raise too_big
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                raise too_big
        return bytes(body)

    if playground:
        add_playground(app, served, engine, authorize=authorize, read_body=read_body, key_required=api_key is not None,
                       run_timeout=run_timeout)

    @app.get("/health")
    async def health():
        return {"status": "ok" if engine.accepting else "stopping", "model": served.name, **engine.stats()}

    @app.get("/v1/models")
    async def models(request: Request):
        authorize(request)
        return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "codebabel"}
                                           for n in served.names]}

    @app.post("/v1/completions")
    async def completions(request: Request):
        authorize(request)
        req = parse(CompletionRequest, await read_body(request))
        return await answer(req, req.prompt, chat=False)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        authorize(request)
        req = parse(ChatRequest, await read_body(request))
        name = served.check_name(req.model)  # an unknown model is a 404 before the template is read
        prompt = served.render_chat([m.model_dump() for m in req.messages])
        return await answer(req, prompt, chat=True, name=name)

    async def answer(req, prompt: str, chat: bool, name: str | None = None):
        name = name or served.check_name(req.model)
        n_prompt, room = served.room(prompt, "messages" if chat else "prompt")
        sampling = req.sampling(DEFAULT_MAX_TOKENS["chat" if chat else "completions"], room)
        future = engine.submit(Work(prompt, name, sampling, tuple(req.stop)))
        rid = new_id("chatcmpl" if chat else "cmpl")
        if not req.stream:
            samples, used = await asyncio.wrap_future(future)
            return (chat_body if chat else completion_body)(rid, used, samples, n_prompt)

        async def events():
            try:
                samples, used = await asyncio.wrap_future(future)
            except ApiError as e:  # the stream has begun (status 200): the error is its last event
                yield sse(e.body())
                yield SSE_DONE
                return
            for chunk in stream_chunks(chat, rid, used, samples, n_prompt, req.include_usage):
                yield sse(chunk)
            yield SSE_DONE

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return app
