"""The web playground of ``codebabel serve``: one static page at ``/`` and the small JSON endpoints it calls.

The page is package data (``static/``: ``index.html``, ``app.js``, ``app.css``, ``examples.json``), read with
``importlib.resources``: no build step, nothing loaded from anywhere but this server (its Content-Security-Policy
says so). The endpoints share the server's model, engine and limits with the OpenAI API:

- ``GET /api/config`` (no key, as ``/health``): the served model, the experts and their router, the languages
  the page offers, whether a key is needed, the run limits.
- ``POST /api/detect`` ``{code, language?}``: the source language and how it was decided, by
  ``codebabel translate``'s rule for a program without a file name (route/translate.py ``detect_language``):
  the language chosen on the page, else with ``--experts`` the experts' router (run on the engine's thread,
  which owns the model), else the n-gram detector fitted on ``data/pairs/``. Python is a language here (the
  page completes and runs Python).
- ``POST /api/translate`` ``{code, language?, max_tokens, temperature, top_p, seed}``: detected, prompted by
  route/translator.py (``instruct`` on the base model; with ``--experts``, ``tag`` to the detected language's
  expert), queued on the engine with the API's requests (so they batch together), the code read out of the reply.
- ``POST /api/complete`` (the same fields): the code continued by the base model, a raw completion.
- ``POST /api/run`` ``{program: {language, code}, source?: {language, code}}``: the program, and for a
  translation its source, run in the sandbox as whole programs (``run_both``: whether they agree), at most
  :data:`RUNS_AT_ONCE` runs at a time and :data:`RUNS_WAITING` waiting (beyond: 429), each program with
  ``--run-timeout`` seconds and :data:`MAX_OUTPUT_KB` of output; the last 2,000 characters of stdout and stderr
  shown (what the runner keeps), and whether there was more.

The API key (``--api-key``), the body limit and the error object are the server's own; every bad input is a
4xx error object naming the field.
"""

from __future__ import annotations

import asyncio
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from codebabel.config import ExecutionConfig, SamplingConfig
from codebabel.data.pairs import source_prompt
from codebabel.errors import CodebabelError
from codebabel.execute.runner import Outcome
from codebabel.languages import all_languages, get_language
from codebabel.route.translate import (
    STDIN,
    Detection,
    check_runnable,
    detect_language,
    known_language,
    run_both,
    run_program,
)
from codebabel.route.translator import default_prompt_format, read_translation, translation_prompt
from codebabel.serve.engine import Engine, Work
from codebabel.serve.model import AUTO, ServedModel
from codebabel.serve.protocol import ApiError, Sampled, parse

#: the page's files, and what each is
STATIC = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "app.css": "text/css; charset=utf-8", "examples.json": "application/json"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
RUNS_AT_ONCE = 2
RUNS_WAITING = 8
MAX_OUTPUT_KB = 256
#: the languages detection tells apart without experts (data/pairs/), named in the page's explanation
NGRAM_LANGUAGES = "C++, Java, C#, JavaScript, PHP, Python"


class CodeRequest(Sampled):
    """``/api/detect``, ``/api/translate``, ``/api/complete``: the code, the language chosen on the page (None:
    detect it) and the sampling settings (greedy unless ``temperature`` says otherwise)."""

    code: str
    language: str | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=256, ge=1)
    n: int = Field(default=1, ge=1, le=1)


class Program(BaseModel):
    language: str
    code: str


class RunRequest(BaseModel):
    program: Program
    source: Program | None = None  # a translation's source: both run, and compared


def add_playground(app: FastAPI, served: ServedModel, engine: Engine, *, authorize, read_body, key_required: bool,
                   run_timeout: float = 10.0) -> None:
    """The page and its endpoints on ``app``; ``authorize`` and ``read_body`` are the app's own checks."""
    files = {name: resources.files("codebabel.serve").joinpath("static", name).read_bytes() for name in STATIC}
    execution = ExecutionConfig(timeout_s=run_timeout, workers=2, warm=False, max_output_kb=MAX_OUTPUT_KB)
    runs = asyncio.Semaphore(RUNS_AT_ONCE)
    waiting = [0]  # runs accepted and not finished

    @app.get("/", include_in_schema=False)
    async def page():
        return Response(files["index.html"], media_type=STATIC["index.html"], headers={"Content-Security-Policy": CSP})

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str):
        if name not in STATIC:
            raise ApiError(404, f"no such file: /static/{name}", code="not_found")
        return Response(files[name], media_type=STATIC[name], headers={"Cache-Control": "no-cache"})

    @app.get("/api/config")
    async def config():
        return {"model": served.name, "experts": served.experts, "router": served.router_kind,
                "prompt_format": default_prompt_format(bool(served.experts)), "key_required": key_required,
                "run_timeout_s": run_timeout, "languages": [{"name": lang.name, "display_name": lang.display_name}
                                                            for lang in sorted(all_languages(),
                                                                               key=lambda x: x.display_name)]}

    async def detect(req: CodeRequest, translating: bool = False) -> Detection:
        """``translating``: a language chosen on the page must be one of the experts' (the expert translates)."""
        code = _code(req.code, "code")
        choice = _known(req.language, "language") if req.language else None
        experts = served.experts if served.experts and (translating or choice is None) else None
        try:
            found = detect_language(code, STDIN, choice, experts, str(served.run), flag="language", python=True)
        except CodebabelError as e:
            raise ApiError(400, str(e), param="language") from None
        if found is None:  # the experts' router decides, on the engine's thread (it owns the model)
            future = engine.submit(Work(source_prompt(code, None), AUTO, SamplingConfig(), (), route_only=True))
            _, expert = await asyncio.wrap_future(future)
            if expert is None:
                raise ApiError(400, f"the experts' {served.router_kind} router names no expert for this program; "
                                    "choose its language", param="language")
            return Detection(expert, f"the experts' {served.router_kind} router ({served.run})", "experts")
        if found.by == "choice":
            return Detection(found.language, "your choice in the language list", "choice")
        return Detection(found.language, f"the n-gram detector fitted on data/pairs/ ({NGRAM_LANGUAGES})", found.by)

    async def generate(req: CodeRequest, prompt: str, name: str, stop) -> tuple[dict, str]:
        n_prompt, room = served.room(prompt, "code")
        future = engine.submit(Work(prompt, name, req.sampling(req.max_tokens or 256, room), tuple(stop)))
        samples, used = await asyncio.wrap_future(future)
        c = samples[0]
        return {"model": used, "prompt_tokens": n_prompt, "n_tokens": c.n_tokens,
                "finish_reason": c.finish_reason, "reply": c.text}, c.text

    @app.post("/api/detect")
    async def detect_endpoint(request: Request):
        authorize(request)
        return {"detection": _detection(await detect(parse(CodeRequest, await read_body(request))))}

    @app.post("/api/translate")
    async def translate(request: Request):
        authorize(request)
        req = parse(CodeRequest, await read_body(request))
        found = await detect(req, translating=True)
        if found.language == "py":
            raise ApiError(400, f"the program is Python (by {found.how}); translation turns another language into "
                                "Python: choose its language, or use Complete", param="language")
        fmt = default_prompt_format(bool(served.experts))
        expert = found.language if served.experts else None
        try:
            prompt, stop = translation_prompt(fmt, served.tokenizer, req.code, found.language)
        except CodebabelError as e:
            raise ApiError(400, str(e), param="code") from None
        info, reply = await generate(req, prompt, expert or served.name, stop)
        return {"detection": _detection(found), "prompt_format": fmt, "expert": expert, **info,
                "translation": read_translation(fmt, reply)}

    @app.post("/api/complete")
    async def complete(request: Request):
        authorize(request)
        req = parse(CodeRequest, await read_body(request))
        found = await detect(req)
        info, text = await generate(req, req.code, served.name, ())
        return {"detection": _detection(found), **info, "completion": text, "program": req.code + text}

    @app.post("/api/run")
    async def run(request: Request):
        authorize(request)
        req = parse(RunRequest, await read_body(request))
        program, source = _runnable(req.program, "program"), req.source and _runnable(req.source, "source")
        if source and program.language != "py":
            raise ApiError(400, f"program.language: {program.language}; a translation (with a source) is Python",
                           param="program.language")
        if waiting[0] >= RUNS_AT_ONCE + RUNS_WAITING:
            raise ApiError(429, f"{waiting[0]} runs are running or waiting; retry later", type="rate_limit_error",
                           code="runs_full")
        waiting[0] += 1
        try:
            async with runs:
                if source:
                    report = await asyncio.to_thread(run_both, source.code, source.language, program.code, execution)
                    return {"program": _outcome(report.translation, "py"),
                            "source": _outcome(report.source, source.language), "agree": report.agree,
                            "why": report.why}
                done = await asyncio.to_thread(run_program, program.code, program.language, execution)
                return {"program": _outcome(done, program.language), "source": None, "agree": None, "why": None}
        except CodebabelError as e:  # the sandbox could not start: the server's problem, not the request's
            raise ApiError(503, f"cannot run programs here: {e}", type="server_error", code="sandbox_unavailable"
                           ) from None
        finally:
            waiting[0] -= 1


def _code(code: str, param: str) -> str:
    if not code.strip():
        raise ApiError(400, f"{param}: empty; paste a program", param=param)
    if "\x00" in code:
        raise ApiError(400, f"{param}: holds NUL bytes, so it is not source code; paste a program's text",
                       param=param)
    return code


def _known(name: str, param: str) -> str:
    try:
        return known_language(name, param)
    except CodebabelError as e:
        raise ApiError(400, str(e), param=param) from None


def _runnable(p: Program, param: str) -> Program:
    language = _known(p.language, f"{param}.language")
    try:
        check_runnable(language, flag=f"{param}.language {language}")
    except CodebabelError as e:
        raise ApiError(400, str(e), param=f"{param}.language", code="toolchain_missing") from None
    return Program(language=language, code=_code(p.code, f"{param}.code"))


def _detection(found: Detection) -> dict:
    return {"language": found.language, "display_name": get_language(found.language).display_name,
            "how": found.how, "by": found.by}


def _outcome(o: Outcome, language: str) -> dict:
    """A program's run for the page: stdout and stderr as the runner keeps them (their last 2,000 characters)."""
    return {"language": language, "display_name": get_language(language).display_name, "status": o.status.value,
            "exit_status": o.returncode, "seconds": round(o.duration_s, 3), "stdout": o.stdout,
            "stdout_truncated": o.cut[0], "stderr": o.stderr, "stderr_truncated": o.cut[1]}
