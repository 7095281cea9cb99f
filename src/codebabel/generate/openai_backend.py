"""Generation through any OpenAI-compatible endpoint (vLLM, llama.cpp's ``llama-server``, llama-cpp-python's
server, TGI, ``codebabel serve``): the way to point codebabel at a bigger model on a GPU machine
(``codebabel evaluate``, ``evaluate translation`` and ``translate`` with ``--backend openai --base-url URL``,
``codebabel synth``'s teacher; :class:`Endpoint`: the URL, its key, the model name it serves).

Choices, and why:
- **The completions API, raw prompts.** codebabel's prompts are code to continue (a function header, a test
  block); the chat API would wrap them in a template the caller cannot see. A chat format, where wanted, is
  rendered by the caller (generate/prompts.py) into the raw prompt.
- **One request per sample**, ``seed + i`` for sample ``i`` (as the local backends do), ``n=1``: the server's
  ``usage.completion_tokens`` is then exactly that sample's token count, and a failed request costs one sample.
- **Bounded concurrency**: at most ``concurrency`` requests in flight (a thread pool; the server batches them).
  ``on_result`` and ``on_progress`` are called from the calling thread, as a prompt's last sample arrives.
- **Retries with exponential backoff** (1 s, 2 s, 4 s ... at most 30 s) on what goes away by itself: connection
  errors, timeouts, 429 and 5xx; ``max_retries`` tries after the first. Any other error (a 400: a prompt longer
  than the server's context, an unknown model) is one line at once.
- **Stop sequences** are sent to the server and applied again to the text (a server that returns the stop
  string, or none of them, gives the same completion). ``finish_reason``: ``length`` from the server; ``stop``
  where a stop sequence was found or the server says which one ended the sample (vLLM's ``stop_reason``);
  ``eos`` where the server reports it ended on its own. Servers that report both as ``stop`` without saying which
  (llama.cpp's) give ``stop``.
- ``top_k`` (0 = off) goes in the request body as ``top_k``, which vLLM and llama.cpp read; OpenAI ignores it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

from codebabel.config import SamplingConfig
from codebabel.errors import CodebabelError
from codebabel.generate.base import Completion
from codebabel.generate.stopping import cut_at_stop

#: seconds before the first retry; doubled each time, at most BACKOFF_MAX_S
BACKOFF_S = 1.0
BACKOFF_MAX_S = 30.0


class OpenAIBackend:
    name = "openai"

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, concurrency: int = 8,
                 max_retries: int = 5, timeout_s: float = 600.0, tokenizer=None, client=None):
        """``tokenizer``: an HF tokenizer for callers that format prompts with it (None: raw prompts only)."""
        if not base_url:
            raise CodebabelError("the openai backend needs a base_url, e.g. http://127.0.0.1:8000/v1")
        if concurrency < 1:
            raise CodebabelError(f"concurrency {concurrency}: must be at least 1")
        if client is None:
            try:
                from openai import OpenAI
            except ImportError:
                raise CodebabelError("the openai backend needs the openai package: pip install openai (or run "
                                     "scripts/setup.sh)") from None
            client = OpenAI(base_url=base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none",
                            max_retries=0, timeout=timeout_s)
        self.client = client
        self.base_url = base_url
        self.model = model
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.tokenizer = tokenizer
        self.description = (f"openai (OpenAI-compatible endpoint {base_url}, model {model}, "
                            f"{concurrency} requests at a time)")
        self.last_stats = {"generated_tokens": 0, "seconds": 0.0}

    # -- one request ------------------------------------------------------------------------------------------------
    def _request(self, prompt: str, sampling: SamplingConfig, seed: int, stop: list[str]):
        import openai

        body = {"top_k": sampling.top_k} if sampling.top_k > 0 else None
        kwargs = dict(model=self.model, prompt=prompt, max_tokens=sampling.max_new_tokens, n=1, seed=seed,
                      temperature=0.0 if sampling.greedy else sampling.temperature,
                      top_p=1.0 if sampling.greedy else sampling.top_p, stop=[s for s in stop if s] or None,
                      extra_body=body)
        transient = (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError,
                     openai.InternalServerError)
        delay = BACKOFF_S
        for attempt in range(self.max_retries + 1):
            try:
                return self.client.completions.create(**kwargs)
            except transient as e:
                if attempt == self.max_retries:
                    raise CodebabelError(f"endpoint {self.base_url}: {_one_line(e)} (after "
                                         f"{self.max_retries + 1} tries); check that the server is up") from None
                time.sleep(delay)
                delay = min(2 * delay, BACKOFF_MAX_S)
            except openai.APIStatusError as e:
                raise CodebabelError(f"endpoint {self.base_url} refused the request (HTTP {e.status_code}: "
                                     f"{_one_line(e)}); check the model name and the prompt length") from None
        raise AssertionError("unreachable")

    def _one(self, prompt: str, sampling: SamplingConfig, seed: int, stop: list[str]) -> Completion:
        r = self._request(prompt, sampling, seed, stop)
        if not r.choices:
            raise CodebabelError(f"endpoint {self.base_url}: a response without choices")
        choice = r.choices[0]
        text, hit = cut_at_stop(choice.text or "", stop)
        server_reason = choice.finish_reason
        stop_reason = getattr(choice, "stop_reason", None)  # vLLM: the stop string (or token id); None at EOS
        if hit is not None or isinstance(stop_reason, str):
            reason = "stop"
        elif server_reason == "length":
            reason = "length"
        elif server_reason == "stop" and "stop_reason" in (getattr(choice, "model_extra", None) or {}):
            reason = "eos"  # the server says which stop ended it, and none did: the model ended
        elif server_reason == "stop":
            reason = "stop" if stop else "eos"
        else:
            reason = "eos"
        n_tokens = getattr(r.usage, "completion_tokens", None) if r.usage is not None else None
        which = hit if hit is not None else (stop_reason if isinstance(stop_reason, str) else None)
        return Completion(text=text, n_tokens=int(n_tokens or 0), finish_reason=reason, stop=which)

    # -- the Backend protocol ---------------------------------------------------------------------------------------
    def generate(
        self,
        prompts: list[str],
        sampling: SamplingConfig,
        stop: list[str],
        on_progress: Callable[[int], None] | None = None,
        on_result: Callable[[int, list[Completion]], None] | None = None,
    ) -> list[list[Completion]]:
        """``sampling.n`` completions per prompt, ``concurrency`` requests at a time; ``on_result(i, samples)`` as
        soon as prompt ``i``'s last sample arrives (from this thread), then ``on_progress(1)``."""
        t0 = time.perf_counter()
        self.last_stats = {"generated_tokens": 0, "seconds": 0.0}
        n = sampling.n
        results: list[list[Completion | None]] = [[None] * n for _ in prompts]
        left = [n] * len(prompts)
        jobs = iter([(i, s) for i in range(len(prompts)) for s in range(n)])
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="codebabel-openai") as pool:
            running = {}

            def submit() -> None:
                job = next(jobs, None)
                if job is not None:
                    i, s = job
                    running[pool.submit(self._one, prompts[i], sampling, sampling.seed + s, stop)] = job

            for _ in range(self.concurrency):
                submit()
            try:
                while running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i, s = running.pop(fut)
                        completion = fut.result()
                        results[i][s] = completion
                        self.last_stats["generated_tokens"] += completion.n_tokens
                        left[i] -= 1
                        if left[i] == 0:
                            if on_result:
                                on_result(i, list(results[i]))
                            if on_progress:
                                on_progress(1)
                        submit()
            except BaseException:
                for fut in running:
                    fut.cancel()
                raise
        self.last_stats["seconds"] = time.perf_counter() - t0
        return [list(r) for r in results]  # type: ignore[arg-type]


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible endpoint as the commands name it: ``--base-url URL`` (a trailing ``/`` dropped) and
    ``--api-key-env NAME``, the environment variable holding its key (``evaluate``, ``evaluate translation``,
    ``translate``)."""

    base_url: str
    api_key_env: str = "OPENAI_API_KEY"

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    def api_key(self) -> str | None:
        """The key from ``$api_key_env``; the default OPENAI_API_KEY may be unset (a local server without a key),
        a variable named by ``--api-key-env`` may not."""
        key = os.environ.get(self.api_key_env)
        if key is None and self.api_key_env != "OPENAI_API_KEY":
            raise CodebabelError(f"--api-key-env {self.api_key_env}: no such environment variable; export it with "
                                 "the endpoint's API key")
        return key

    def models(self) -> list[str]:
        return served_models(self.base_url, self.api_key())

    def model_name(self, model: str | None) -> str:
        """``model`` (``--model``), else the one model the endpoint lists; a one-line error where it lists
        several or none."""
        if model:
            return model
        names = self.models()
        if len(names) != 1:
            raise CodebabelError(f"--base-url {self.base_url} serves {len(names)} models "
                                 f"({', '.join(names[:8]) or 'none'}); pass --model NAME")
        return names[0]

    def backend(self, model: str, *, concurrency: int = 8, tokenizer=None) -> OpenAIBackend:
        return OpenAIBackend(self.base_url, model, api_key=self.api_key(), concurrency=concurrency,
                             tokenizer=tokenizer)


def served_models(base_url: str, api_key: str | None = None, timeout_s: float = 30.0) -> list[str]:
    """The model names the endpoint lists (``GET {base_url}/models``); a one-line error where it cannot."""
    try:
        import openai
    except ImportError:
        raise CodebabelError("the openai backend needs the openai package: pip install openai (or run "
                             "scripts/setup.sh)") from None
    client = openai.OpenAI(base_url=base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none",
                           max_retries=2, timeout=timeout_s)
    try:
        return [m.id for m in client.models.list()]
    except openai.OpenAIError as e:
        raise CodebabelError(f"endpoint {base_url}: cannot list its models ({_one_line(e)}); check that the server "
                             "is up, or pass --model NAME") from None


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:300] if text else type(e).__name__
