"""``codebabel translate FILE``: one program → Python, its source language detected first; ``--run`` runs both.

The source language (the rule ``--help`` and docs/translation.md state):

1. ``--from LANG`` names it (any registry name, alias or extension).
2. With ``--experts RUN``: the experts' gate, the router that also picks the expert, reads the program
   (``<code> SOURCE <py>``) and names one of the experts' languages. A file whose extension names a language
   the experts do not cover is refused before the model loads.
3. Without experts: the file's extension, where it names a registry language (``.cpp``, ``.java``, ``.cs``,
   ``.js``, ``.php``, ``.rb`` ...); else (standard input, ``.txt``, no extension) an n-gram router
   (route/ngram.py) fitted on first use on the authored pairs ``data/pairs/*.jsonl`` of the checkout, both sides:
   it knows C++, Java, C#, JavaScript, PHP and Python, and needs no training run.

A program detected as Python is refused (there is nothing to translate). The model is ``--model``, else the
experts' base, else the registered instruct model (``DEFAULT_INSTRUCT_MODEL``); the prompt format is
``--prompt-format``, else ``tag`` with experts (what they are trained on) and ``instruct`` without
(route/translator.py). ``--run`` runs the source and the translation in the sandbox as whole programs
(``Job(standalone=True)``, as ``evaluate translation`` does) and compares them with ``same_behaviour``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from codebabel.config import ExecutionConfig, check_endpoint
from codebabel.data.pairs import read_pairs, source_prompt
from codebabel.errors import CodebabelError
from codebabel.execute.runner import Job, Outcome, run_many, same_behaviour
from codebabel.generate.openai_backend import Endpoint
from codebabel.inputs import read_text_or_stdin
from codebabel.languages import all_languages, get_language
from codebabel.models.registry import DEFAULT_INSTRUCT_MODEL
from codebabel.route.ngram import NgramClassifier
from codebabel.route.run import run_languages, run_model
from codebabel.route.translator import Translation, Translator, check_prompt_format, default_prompt_format

STDIN = "-"
#: target languages ``--to`` takes
TARGETS = ("py",)
#: the authored pairs of the checkout (src/codebabel/route/ → the repository's data/pairs/)
PAIRS_DIR = Path(__file__).resolve().parents[3] / "data" / "pairs"
BACKEND_NAMES = ("auto", "hf", "llamacpp", "openai")


def known_language(name: str, flag: str) -> str:
    """The registry name of the language ``name`` (a name, alias or extension), else a one-line error naming
    ``flag`` and listing the languages."""
    try:
        return get_language(name).name
    except CodebabelError:
        known = ", ".join(sorted(lang.name for lang in all_languages()))
        raise CodebabelError(f"{flag} {name!r}: unknown language; use one of {known} (or an alias or "
                             "extension)") from None


@dataclass(frozen=True)
class TranslateConfig:
    """``codebabel translate``: flags map 1:1 onto fields (``source`` is ``--from``)."""

    file: str
    to: str = "py"
    experts: str | None = None
    model: str | None = None
    source: str | None = None
    prompt_format: str | None = None  # None: instruct without experts, tag with
    run: bool = False
    max_new_tokens: int = 512
    backend: str = "auto"
    device: str = "auto"
    dtype: str = "auto"
    execution: ExecutionConfig = field(default_factory=lambda: ExecutionConfig(workers=2))
    base_url: str | None = None  # --backend openai: the endpoint
    api_key_env: str = "OPENAI_API_KEY"

    def __post_init__(self) -> None:
        check_endpoint(self.backend, self.base_url, device=self.device, dtype=self.dtype)
        try:
            to = get_language(self.to).name
        except CodebabelError:
            to = None
        if to not in TARGETS:
            raise CodebabelError(f"--to {self.to}: only py (Python) is supported as the target for now")
        object.__setattr__(self, "to", to)
        if self.source is not None:
            object.__setattr__(self, "source", known_language(self.source, "--from"))
        if self.prompt_format is not None:
            check_prompt_format(self.prompt_format)
        if self.max_new_tokens < 1:
            raise CodebabelError(f"--max-new-tokens {self.max_new_tokens}: must be at least 1")
        if self.backend not in BACKEND_NAMES:
            raise CodebabelError(f"--backend {self.backend!r}: use one of {', '.join(BACKEND_NAMES)}")

    @property
    def format(self) -> str:
        """The prompt format: ``--prompt-format``, else ``tag`` with experts and ``instruct`` without."""
        return self.prompt_format or default_prompt_format(bool(self.experts))


@dataclass(frozen=True)
class Detection:
    language: str  # registry short name
    how: str  # how it was decided, for the user
    by: str = ""  # which rule decided: choice (--from), extension, ngram, experts (their router)


@dataclass(frozen=True)
class RunReport:
    source: Outcome
    translation: Outcome
    agree: bool
    why: str


@dataclass(frozen=True)
class TranslateResult:
    detection: Detection
    model: str
    prompt_format: str
    expert: str | None
    translation: Translation
    run: RunReport | None


def _name(file: str) -> str:
    return "standard input" if file == STDIN else file


def read_program(file: str) -> str:
    """The program in ``file`` (``-``: standard input) through the one reader of user files; an empty input, or
    one holding NUL bytes (not source text), is a one-line error."""
    code = read_text_or_stdin(file, "FILE")
    if not code.strip():
        raise CodebabelError(f"{_name(file)}: empty; pass a program to translate")
    if "\x00" in code:
        raise CodebabelError(f"{_name(file)}: holds NUL bytes, so it is not source code; pass a program's text")
    return code


def extension_language(file: str) -> str | None:
    """The registry language the file's extension names (``.cpp`` → ``cpp``), else None (``-``: None)."""
    suffix = Path(file).suffix if file != STDIN else ""
    if not suffix:
        return None
    try:
        return get_language(suffix).name
    except CodebabelError:
        return None


@cache
def pairs_router(folder: Path = PAIRS_DIR) -> NgramClassifier:
    """The n-gram router over both sides of every authored pair in ``folder`` (route/ngram.py's defaults)."""
    files = sorted(Path(folder).glob("*.jsonl"))
    if not files:
        raise CodebabelError(f"language detection: no authored pairs in {folder} (data/pairs/*.jsonl of a codebabel "
                             "checkout); pass --from LANG, a file whose extension names its language, or --experts RUN")
    texts, labels = [], []
    for path in files:
        for pair in read_pairs(path):
            for lang, code in pair.code.items():
                texts.append(code)
                labels.append(lang)
    return NgramClassifier(sorted(set(labels))).fit(texts, labels)


def detect_language(code: str, file: str, source: str | None = None, experts: Sequence[str] | None = None,
                    run: str | None = None, *, flag: str = "--from", python: bool = False) -> Detection | None:
    """The source language by the rule of the module docstring, without a model: None where the experts' gate
    decides (``experts`` given, no ``--from``). A language the experts do not cover is an error, and so is
    Python unless ``python`` (the playground, which also completes and runs Python). ``flag``: what named
    ``source`` (``--from``; the playground's language field)."""
    ext = extension_language(file)
    suffix = Path(file).suffix
    if source == "py" and not python:
        raise CodebabelError(f"{flag} {source}: Python is the target; name the language the program is written in")
    if source is not None:
        found = Detection(source, flag, "choice")
    elif ext == "py":
        raise CodebabelError(f"{file}: a Python file by its extension; `codebabel translate` turns another "
                             "language into Python (pass --from LANG if it is not Python)")
    elif experts is not None:
        if ext is not None and ext not in experts:
            raise CodebabelError(f"{file}: a {get_language(ext).display_name} file by its extension, and the experts "
                                 f"in {run} cover {', '.join(experts)}; leave out --experts to translate it with "
                                 "the base model, or pass --from LANG")
        return None
    elif ext is not None:
        found = Detection(ext, f"the file extension {suffix}", "extension")
    else:
        found = Detection(pairs_router().predict([code])[0], "the n-gram detector fitted on data/pairs/ (no "
                          "extension names a language; --from LANG overrides it)", "ngram")
        if found.language == "py" and not python:
            raise CodebabelError(f"{_name(file)}: Python, says the n-gram detector; `codebabel translate` turns "
                                 "another language into Python (pass --from LANG if it is not Python)")
    if experts is not None and found.language not in experts and not (python and found.language == "py"):
        raise CodebabelError(f"{flag} {source}: the experts in {run} cover {', '.join(experts)}; pass one of them, "
                             "or leave out --experts to translate with the base model")
    return found


def check_runnable(language: str, flag: str = "--run") -> None:
    """``--run``: a one-line error where the language's toolchain is not installed here."""
    lang = get_language(language)
    why = lang.toolchain_missing()
    if why:
        raise CodebabelError(f"{flag}: cannot run {lang.display_name} programs here: {why}")


def run_program(code: str, language: str, execution: ExecutionConfig) -> Outcome:
    """One whole program in ``language`` run in the sandbox (the playground's Run on a single program)."""
    [outcome] = run_many([Job("program", get_language(language), code, standalone=True)], execution)
    return outcome


def run_both(code: str, language: str, translation: str, execution: ExecutionConfig) -> RunReport:
    """The source (in ``language``) and its Python ``translation`` run in the sandbox as whole programs, and
    whether they agree (``same_behaviour``: the same exit status and the same non-empty stdout)."""
    jobs = [Job("source", get_language(language), code, standalone=True),
            Job("translation", get_language("py"), translation, standalone=True)]
    done = {o.key: o for o in run_many(jobs, execution)}
    agree, why = same_behaviour(done["source"], done["translation"])
    return RunReport(done["source"], done["translation"], agree, why)


def translate_file(cfg: TranslateConfig, log: Callable[[str], None] = lambda _: None) -> TranslateResult:
    """Read ``cfg.file``, detect its language (said on ``log`` with how it was decided), translate it to Python
    and, with ``cfg.run``, run both and compare them. Every bad input is a one-line error, raised before the
    model loads where it can be."""
    code = read_program(cfg.file)
    run = Path(cfg.experts).expanduser() if cfg.experts else None
    if run is not None and not run.is_dir():
        raise CodebabelError(f"--experts '{cfg.experts}': no such folder; pass a `codebabel route train-experts` "
                             "run folder")
    experts = run_languages(run) if run is not None else None
    endpoint = Endpoint(cfg.base_url, cfg.api_key_env) if cfg.base_url else None
    if endpoint is not None:
        endpoint.api_key()  # an --api-key-env that is not set is refused before anything else
    found = detect_language(code, cfg.file, cfg.source, experts, cfg.experts)
    if found is not None:
        _said(found, log)
        if cfg.run:
            check_runnable(found.language)
    if cfg.run:
        check_runnable("py")
    model = cfg.model or (run_model(run) if run is not None else None if cfg.base_url else DEFAULT_INSTRUCT_MODEL)
    translator = Translator(model, run, experts or (), backend=cfg.backend, device=cfg.device, dtype=cfg.dtype,
                            batch_size=1, endpoint=endpoint, log=log)
    model = translator.model_name  # an endpoint's: --model, else the one model it lists
    if found is None:  # the experts' gate decides
        lang = translator.route([source_prompt(code, None)])[0]
        ext = extension_language(cfg.file)
        note = f"; the file extension says {ext}" if ext and ext != lang else ""
        found = Detection(lang, f"the experts' gate of {cfg.experts}{note}", "experts")
        _said(found, log)
        if cfg.run:
            check_runnable(found.language)
    expert = found.language if run is not None else None
    log(f"translating with {model} (prompt format {cfg.format}" + (f", expert {expert})" if expert else ")"))
    [translation] = translator.translate([code], [found.language], cfg.format, cfg.max_new_tokens,
                                         experts=[expert] if run is not None else None)
    report = run_both(code, found.language, translation.code, cfg.execution) if cfg.run else None
    return TranslateResult(found, model, cfg.format, expert, translation, report)


def _said(found: Detection, log: Callable[[str], None]) -> None:
    log(f"source language: {found.language} ({get_language(found.language).display_name}), by {found.how}")
