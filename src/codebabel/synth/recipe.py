"""Synthesis recipes: one YAML file → a typed, validated :class:`SynthRecipe` (``codebabel synth RECIPE.yaml``).

```yaml
name: lua-racket                 # the run folder is OUTPUT/NAME/
output: runs/synth
sources: [runs/corpus/py]        # corpus folders, .jsonl[.gz] files, folders or .py files
languages: [lua, rkt]
teacher: {model: qwen2.5-coder-0.5b, backend: auto}   # or backend: openai, base_url: http://host:8000/v1
functions: {limit: 300}
tests: {samples: 5, temperature: 0.2, min_coverage: 90}
solutions: {samples: 50, temperature: 0.8, rouge_threshold: 0.6}
```

``--set key=value`` overrides any field with a dotted path (``solutions.samples=10``,
``teacher.backend=openai``), as for ``codebabel train``. Every unknown key and bad value is a one-line error naming
the recipe and the key. The defaults are MultiPL-T's settings where it has one (../shared/REFERENCE.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from codebabel.config import EXECUTORS
from codebabel.errors import CodebabelError
from codebabel.languages import get_language
from codebabel.train.recipe import build_typed, read_yaml

TEACHER_BACKENDS = ("auto", "hf", "llamacpp", "openai")
PROMPT_FORMATS = ("raw", "chat")
TYPE_CHECKERS = ("mypy", "none")
DATASET_FORMATS = ("text", "prompt_completion")


@dataclass(frozen=True)
class TeacherSettings:
    """The model that writes the unit tests and the translations."""

    #: a registered name, a local folder, a .gguf file or a Hub id (local backends); the served model's name (openai)
    model: str = "qwen2.5-coder-0.5b"
    #: auto (llama.cpp on CPU where the model has a GGUF, else transformers) | hf | llamacpp | openai
    backend: str = "auto"
    #: the OpenAI-compatible endpoint (vLLM, llama.cpp's server, TGI), e.g. http://127.0.0.1:8000/v1
    base_url: str | None = None
    #: environment variable holding the endpoint's API key (none needed for a local server)
    api_key_env: str = "OPENAI_API_KEY"
    device: str = "auto"
    dtype: str = "auto"
    #: samples generated together: one padded batch on transformers, sequences decoding at once on llama.cpp
    batch_size: int = 8
    #: llama.cpp: context length of one sequence
    n_ctx: int = 4096
    #: openai: requests in flight at once
    concurrency: int = 8
    #: openai: tries per request (connection errors, timeouts, 429, 5xx), with exponential backoff
    max_retries: int = 5
    #: openai: seconds one request may take
    request_timeout_s: float = 600.0
    #: raw (a completion of the code) | chat (the model's chat template, the assistant turn prefilled)
    prompt_format: str = "raw"
    #: prompts handed to the backend per call (each prompt's samples are stored as soon as they exist)
    chunk: int = 16


@dataclass(frozen=True)
class FunctionSettings:
    """Stage 1: which Python functions are kept (MultiPL-T: docstring, returns a value, passes a type check)."""

    #: the first N functions kept (in corpus order) go on to the tests stage; unset = all
    limit: int | None = None
    #: read at most this many documents of the sources (unset = all)
    max_documents: int | None = None
    #: longest function kept, in lines (the prompts must fit the teacher's context)
    max_lines: int = 60
    #: mypy (--check-untyped-defs; the function alone, so it must be self-contained) | none
    type_check: str = "mypy"
    #: drop functions that hold a HumanEval docstring, solution or translated prompt, or are near one
    decontaminate: bool = True


@dataclass(frozen=True)
class TestSettings:
    """Stage 2: the teacher's unit tests (MultiPL-T: 5 samples at T=0.2, top_p 0.95; coverage >= 90)."""

    __test__ = False  # not a pytest class

    samples: int = 5
    temperature: float = 0.2
    top_p: float = 0.95
    max_new_tokens: int = 512
    seed: int = 0
    #: least line coverage (percent) of the function's body by its passing asserts
    min_coverage: float = 90.0
    #: seconds one assert may run
    assert_timeout_s: float = 2.0
    #: distinct asserts run per function at most (the first ones, in sample order)
    max_asserts: int = 100
    #: seconds the whole test program of one function may run
    timeout_s: float = 60.0


@dataclass(frozen=True)
class TranslateSettings:
    """Stage 3: the tests (and prompt) in each target language, by the benchmark translator."""

    #: put the Python function, commented, above the target's prompt (MultiPL-T's "canonical solution" prompt)
    canonical_in_prompt: bool = True
    #: run each translated harness with a stub body first: a harness that cannot end in ok or assertion_failed
    #: is broken, and its function is dropped before anything is generated for it
    check_stub: bool = True


@dataclass(frozen=True)
class SolutionSettings:
    """Stage 4: the teacher's translations (MultiPL-T: 50 samples at T=0.8; ROUGE-L near-dedup at 0.6)."""

    samples: int = 50
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 512
    seed: int = 0
    #: a passing translation is dropped when its ROUGE-Lsum F-measure with one kept before it (same function,
    #: same language) is above this
    rouge_threshold: float = 0.6


@dataclass(frozen=True)
class DatasetSettings:
    """Stage 5: the training files, split by function (all samples of a function in one split)."""

    validation: float = 0.05
    test: float = 0.05
    #: text ({"text": prompt + translation}) | prompt_completion ({"prompt", "completion"}: loss on the body only)
    format: str = "text"
    #: also ``<lang>-chat-{split}.jsonl``: the rows as instruct-format conversations ({"messages": [...]})
    chat: bool = True


@dataclass(frozen=True)
class ExecutionSettings:
    """Limits of one program in the sandbox (stage 2's test programs have their own ``tests.timeout_s``)."""

    timeout_s: float = 10.0
    memory_mb: int = 2048
    #: programs run in parallel (unset = one per CPU)
    workers: int | None = None
    unsafe_no_sandbox: bool = False
    #: where stages 3 and 4 run their programs: local | ray (a Ray cluster, ``ray_address``; docs/scaling.md)
    executor: str = "local"
    ray_address: str | None = None


@dataclass(frozen=True)
class SynthRecipe:
    name: str = "synth"
    output: str = "runs/synth"
    sources: tuple[str, ...] = ()
    #: the field holding the code in JSONL sources that are not corpus folders
    text_key: str = "text"
    languages: tuple[str, ...] = ()
    teacher: TeacherSettings = field(default_factory=TeacherSettings)
    functions: FunctionSettings = field(default_factory=FunctionSettings)
    tests: TestSettings = field(default_factory=TestSettings)
    translate: TranslateSettings = field(default_factory=TranslateSettings)
    solutions: SolutionSettings = field(default_factory=SolutionSettings)
    dataset: DatasetSettings = field(default_factory=DatasetSettings)
    execution: ExecutionSettings = field(default_factory=ExecutionSettings)

    @property
    def run_dir(self) -> Path:
        return Path(self.output).expanduser() / self.name


def load_synth_recipe(path: str | Path, sets: list[str] | tuple[str, ...] = ()) -> SynthRecipe:
    """Read, override (``key=value``) and validate a synthesis recipe; one-line errors."""
    return synth_recipe_from_dict(read_yaml(path, sets), str(path))


def synth_recipe_from_dict(data: dict, where: str) -> SynthRecipe:
    r = build_typed(SynthRecipe, data, where)
    at = f"recipe '{where}'"
    if not r.sources:
        raise CodebabelError(f"{at}: 'sources' is required: corpus folders (codebabel corpus build --language py), "
                             ".jsonl files, folders or .py files of Python code")
    if not r.languages:
        raise CodebabelError(f"{at}: 'languages' is required: the target languages, e.g. [lua, rkt]")
    try:
        names = [get_language(lang).name for lang in r.languages]
    except CodebabelError as e:
        raise CodebabelError(f"{at}: languages: {e}") from None
    if len(set(names)) != len(names):
        raise CodebabelError(f"{at}: 'languages' lists a language twice ({', '.join(r.languages)})")
    if get_language("py").name in names:
        raise CodebabelError(f"{at}: 'languages' holds Python, the source language; list the targets only")
    if not r.name.strip() or "/" in r.name or r.name.startswith("."):
        raise CodebabelError(f"{at}: name {r.name!r}: a folder name (no '/'), e.g. lua-racket")
    t = r.teacher
    if t.backend not in TEACHER_BACKENDS:
        raise CodebabelError(f"{at}: teacher.backend {t.backend!r} is unknown; use one of {', '.join(TEACHER_BACKENDS)}")
    if t.backend == "openai" and not t.base_url:
        raise CodebabelError(f"{at}: teacher.backend openai needs teacher.base_url (e.g. http://127.0.0.1:8000/v1)")
    if t.base_url and t.backend != "openai":
        raise CodebabelError(f"{at}: teacher.base_url is for teacher.backend openai (it is {t.backend})")
    if t.prompt_format not in PROMPT_FORMATS:
        raise CodebabelError(f"{at}: teacher.prompt_format {t.prompt_format!r} is unknown; use one of "
                             f"{', '.join(PROMPT_FORMATS)}")
    if t.backend == "openai" and t.prompt_format != "raw":
        raise CodebabelError(f"{at}: teacher.prompt_format chat: the openai backend sends raw prompts "
                             "(completions API); use raw")
    for key in ("batch_size", "n_ctx", "concurrency", "chunk"):
        _at_least(at, f"teacher.{key}", getattr(t, key), 1)
    _at_least(at, "teacher.max_retries", t.max_retries, 0)
    if t.request_timeout_s <= 0:
        raise CodebabelError(f"{at}: teacher.request_timeout_s must be > 0")
    f = r.functions
    if f.limit is not None:
        _at_least(at, "functions.limit", f.limit, 1)
    if f.max_documents is not None:
        _at_least(at, "functions.max_documents", f.max_documents, 1)
    _at_least(at, "functions.max_lines", f.max_lines, 2)
    if f.type_check not in TYPE_CHECKERS:
        raise CodebabelError(f"{at}: functions.type_check {f.type_check!r} is unknown; use one of "
                             f"{', '.join(TYPE_CHECKERS)}")
    for stage in ("tests", "solutions"):
        s = getattr(r, stage)
        _at_least(at, f"{stage}.samples", s.samples, 1)
        _at_least(at, f"{stage}.max_new_tokens", s.max_new_tokens, 1)
        if s.temperature <= 0 and s.samples > 1:
            raise CodebabelError(f"{at}: {stage}.temperature {s.temperature} with {s.samples} samples gives identical "
                                 "samples; set a temperature > 0 (MultiPL-T: tests 0.2, solutions 0.8)")
        if s.temperature < 0 or not 0 < s.top_p <= 1:
            raise CodebabelError(f"{at}: {stage} needs temperature >= 0 and top_p in (0, 1]")
    ts = r.tests
    if not 0 <= ts.min_coverage <= 100:
        raise CodebabelError(f"{at}: tests.min_coverage must be a percentage in [0, 100]")
    if ts.assert_timeout_s <= 0 or ts.timeout_s <= 0:
        raise CodebabelError(f"{at}: tests.assert_timeout_s and tests.timeout_s must be > 0 seconds")
    _at_least(at, "tests.max_asserts", ts.max_asserts, 1)
    if not 0 < r.solutions.rouge_threshold <= 1:
        raise CodebabelError(f"{at}: solutions.rouge_threshold must be in (0, 1] (1 keeps every distinct translation)")
    d = r.dataset
    if d.validation < 0 or d.test < 0 or d.validation + d.test >= 1:
        raise CodebabelError(f"{at}: dataset.validation and dataset.test must be >= 0 and leave a train split")
    if d.format not in DATASET_FORMATS:
        raise CodebabelError(f"{at}: dataset.format {d.format!r} is unknown; use one of {', '.join(DATASET_FORMATS)}")
    e = r.execution
    if e.timeout_s <= 0:
        raise CodebabelError(f"{at}: execution.timeout_s must be > 0 seconds")
    _at_least(at, "execution.memory_mb", e.memory_mb, 64)
    if e.workers is not None:
        _at_least(at, "execution.workers", e.workers, 1)
    if e.executor not in EXECUTORS:
        raise CodebabelError(f"{at}: execution.executor {e.executor!r} is unknown; use one of {', '.join(EXECUTORS)}")
    return replace(r, languages=tuple(names))


def _at_least(at: str, key: str, value: int, least: int) -> None:
    if value < least:
        raise CodebabelError(f"{at}: {key} must be at least {least} (got {value})")
