"""``codebabel evaluate translation``: X → Python translation judged by running it.

For every pair of the data (JSONL pairs, ``--split``, default ``test``) and every source language it holds,
the program is prompted in ``--prompt-format`` (route/translator.py): ``tag`` (default), ``<lang> SOURCE <py>``
(``<code> SOURCE <py>`` with ``--hide-language``), exactly as the experts were trained, or ``instruct``, a chat
message asking for the Python translation in a code block, the code read out of the reply. The base model
alone, or the routed experts (``--experts RUN``: the router picks one expert per program from its ``tag``
prompt before generation, fixed for the whole sequence), translate greedily — here, or through an
OpenAI-compatible endpoint (``--backend openai --base-url URL``: the model it serves, or each expert by its name
as ``codebabel serve --experts`` serves them; the URL and the model name are generation settings); then:

* **execution accuracy**: the source program and the translation both run in the sandbox (whole programs,
  ``Job(standalone=True)``); a translation is correct when its exit status and stdout equal the source's. A pair
  with ``tests`` (functions, as ``codebabel synth`` writes them) is judged by its tests instead: the translation
  followed by the tests must exit 0;
* **CodeBLEU** (the ``codebleu`` package; its data-flow convention in evaluate/codematch.py), **BLEU**
  (CodeBLEU's n-gram component) and **exact match** (after whitespace normalisation) against the reference;
* the routing accuracy of the router used.

Results per language and overall go to ``OUT/summary.json`` (+ a table); every sample to
``OUT/results.jsonl``. Generations are kept in ``OUT/generations.json`` with the settings that made them
(``store.cached``; the prompt format is one of them), so a rerun with the same settings only recomputes the
scores.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console

from codebabel.config import ExecutionConfig, check_endpoint
from codebabel.data.pairs import Pair, read_pairs
from codebabel.errors import CodebabelError
from codebabel.evaluate.codematch import DATAFLOW_CONVENTION, codebleu_scores, exact_match
from codebabel.execute.runner import Job, ready, run_many, same_behaviour
from codebabel.execute.status import Status
from codebabel.generate.openai_backend import Endpoint
from codebabel.generate.routed import MODES
from codebabel.inputs import ensure_dir
from codebabel.languages import get_language
from codebabel.models.loading import ModelSource
from codebabel.progress import progress_bar
from codebabel.route.routing import ROUTERS, routing_prompts, routing_report
from codebabel.route.run import run_languages, run_model
from codebabel.route.translator import INSTRUCTION, Translator, check_prompt_format, read_translation
from codebabel.store import atomic_write_text, cached, provenance, settings_hash

#: the generations and the settings that made them (``store.cached``)
GENERATIONS = "generations.json"


@dataclass(frozen=True)
class TranslationConfig:
    data: tuple[str, ...]
    out: str
    model: str | None = None
    experts: str | None = None
    router: str = "gate"
    mode: str = "merge"
    split: str | None = "test"
    hide_language: bool = False
    prompt_format: str = "tag"  # tag | instruct (route/translator.py)
    target: str = "py"
    max_new_tokens: int = 512
    batch_size: int = 8
    device: str = "auto"
    dtype: str = "auto"
    backend: str = "auto"  # auto | hf | llamacpp (generate/backends.py) | openai (an endpoint: base_url)
    limit: int | None = None
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"

    def __post_init__(self) -> None:
        check_endpoint(self.backend, self.base_url, device=self.device, dtype=self.dtype)
        if self.mode not in MODES:
            raise CodebabelError(f"--mode {self.mode!r} is unknown; use one of {', '.join(MODES)}")
        check_prompt_format(self.prompt_format)
        if self.split == "all":  # --split all: every pair
            object.__setattr__(self, "split", None)


def _settings(cfg: TranslationConfig, model: str, languages: list[str], prompts: list[str]) -> dict:
    digest = settings_hash(prompts)
    experts = None
    if cfg.experts:
        gate = Path(cfg.experts) / "router" / "gate.safetensors"
        experts = {"run": str(Path(cfg.experts).resolve()), "router": cfg.router,
                   "gate_mtime": gate.stat().st_mtime if gate.is_file() else None}
    return {"model": model, "experts": experts, "languages": languages, "prompts_sha": digest,
            "max_new_tokens": cfg.max_new_tokens, "hide_language": cfg.hide_language, "mode": cfg.mode,
            "backend": cfg.backend, "prompt_format": cfg.prompt_format,
            "instruction": INSTRUCTION if cfg.prompt_format == "instruct" else None,
            **({"base_url": _endpoint(cfg).base_url} if cfg.base_url else {})}


def _endpoint(cfg: TranslationConfig) -> Endpoint | None:
    return Endpoint(cfg.base_url, cfg.api_key_env) if cfg.base_url else None


def evaluate_translation(cfg: TranslationConfig, console: Console | None = None,
                         source: ModelSource | None = None) -> dict:
    """Translate, run and score ``cfg``'s pairs; returns the summary (also written to ``OUT/summary.json``).
    ``source``: the base model already resolved by the caller; else ``cfg.model`` (or the experts' own base) is
    resolved once, when the generations are not cached and the model loads."""
    console = console or Console(stderr=True)
    if cfg.router not in ROUTERS:
        raise CodebabelError(f"--router {cfg.router!r} is unknown; use one of {', '.join(ROUTERS)}")
    if not cfg.model and not cfg.experts and not cfg.base_url:
        raise CodebabelError("evaluate translation: pass --model, --experts RUN, or both (or --backend openai "
                             "--base-url URL: the one model it serves)")
    ensure_dir(cfg.out, "--out")
    pairs = keyed_pairs(cfg)
    run = Path(cfg.experts).expanduser() if cfg.experts else None
    if run is not None:
        if not run.is_dir():
            raise CodebabelError(f"--experts '{cfg.experts}': no such folder; pass a `codebabel route "
                                 "train-experts` run folder")
        languages = run_languages(run)
        model_spec = cfg.model or run_model(run)
    else:
        languages = sorted({k for p in pairs for k in p.code if k != cfg.target})
        model_spec = cfg.model
    if cfg.base_url:  # the name the endpoint serves the model under: part of the settings, with the URL
        model_spec = _endpoint(cfg).model_name(model_spec)
    prompts, labels, ids = routing_prompts(pairs, languages, cfg.hide_language)
    if cfg.limit:
        prompts, labels, ids = prompts[: cfg.limit], labels[: cfg.limit], ids[: cfg.limit]
    if not prompts:
        raise CodebabelError(f"--data {', '.join(cfg.data)}: no pair of split {cfg.split!r} holds both "
                             f"{cfg.target} and one of {', '.join(languages)}")
    by_id = {p.id: p for p in pairs}
    ready(cfg.execution)  # the sandbox, or the Ray cluster, refused before anything is generated
    # ``out`` is made by the first file written (generations.json, after generating): a model or router that
    # fails to load leaves no folder behind
    out = Path(cfg.out).expanduser()
    settings = _settings(cfg, model_spec, languages, prompts)
    gen_file = out / GENERATIONS
    rows, reused = cached(gen_file, settings,
                          lambda: _generate(cfg, run, source or model_spec, languages, labels, ids, by_id, console))
    if reused:
        console.print(f"generation: reusing {gen_file} (same settings)", highlight=False)
        for r in rows:  # replies are read again: a fixed reading applies to stored generations
            if "reply" in r:
                r["completion"] = read_translation(cfg.prompt_format, r["reply"])
    executed = _execute(rows, by_id, cfg, console)
    summary = _score(rows, executed, by_id, languages, cfg)
    if run is not None:
        summary["routing"] = routing_report([r["expert"] for r in rows], labels, languages)
    summary.update(settings=settings, data=list(cfg.data), split=cfg.split,
                   provenance=provenance())  # not in the settings: the generations stay reusable
    atomic_write_text(out / "results.jsonl", "".join(json.dumps(r) + "\n" for r in executed))
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def keyed_pairs(cfg: TranslationConfig) -> list[Pair]:
    """The pairs of ``cfg.data`` in ``cfg.split``, each with an id of its own: its ``id``, else
    ``<file name>#<n>`` for the file's n-th pair (stable across runs). An id given twice is a one-line error: every result row
    is scored against the source and reference of its own pair."""
    pairs: list[Pair] = []
    seen: dict[str, str] = {}
    for path in cfg.data:
        for n, p in enumerate(read_pairs(path), 1):
            key = p.id or f"{Path(path).name}#{n}"
            if key in seen:
                raise CodebabelError(f"{path}: pair id {key!r} is also in {seen[key]}; give every pair its own id")
            seen[key] = str(path)
            if cfg.split is None or p.split in (None, cfg.split):
                pairs.append(p if p.id else Pair(code=p.code, meta={**p.meta, "id": key}))
    return pairs


def _generate(cfg, run, model_spec, languages, labels, ids, by_id, console) -> list[dict]:
    """Greedy translations of every (pair, source language) through :class:`Translator` (the base model, or the
    routed experts: the router runs once, before decoding, on the ``tag`` prompts)."""
    log = lambda line: console.print(line, highlight=False)  # noqa: E731
    translator = Translator(model_spec, run, languages, router=cfg.router, mode=cfg.mode, backend=cfg.backend,
                            device=cfg.device, dtype=cfg.dtype, batch_size=cfg.batch_size, endpoint=_endpoint(cfg),
                            log=log)
    codes = [by_id[i].code[lang] for i, lang in zip(ids, labels, strict=True)]
    shown = [None if cfg.hide_language else lang for lang in labels]
    with progress_bar(console) as bar:
        task = bar.add_task(f"translating {len(codes)} programs", total=len(codes))
        done = translator.translate(codes, shown, cfg.prompt_format, cfg.max_new_tokens,
                                    on_progress=lambda k: bar.advance(task, k))
    return [{"id": i, "source": lang, "expert": t.expert, "prompt": t.prompt, "completion": t.code,
             **({"reply": t.reply} if cfg.prompt_format == "instruct" else {}),
             "finish_reason": t.finish_reason, "n_tokens": t.n_tokens}
            for i, lang, t in zip(ids, labels, done, strict=True)]


def _execute(rows: list[dict], by_id: dict, cfg: TranslationConfig, console) -> list[dict]:
    """Run every source program once and every translation; correct = same exit status and stdout. A pair with
    ``tests`` (functions, which print nothing: ``codebabel synth``'s pairs) is judged by its tests instead: the
    translation followed by the tests must exit 0; its source is not run (the pair's maker tested it)."""
    jobs = {}
    for k, r in enumerate(rows):
        pair = by_id[r["id"]]
        if pair.tests is None:
            jobs[("src", r["id"], r["source"])] = Job(("src", r["id"], r["source"]), get_language(r["source"]),
                                                      pair.code[r["source"]], standalone=True)
            program = r["completion"]
        else:
            program = f"{r['completion'].rstrip()}\n\n\n{pair.tests.strip()}\n"
        jobs[("py", k)] = Job(("py", k), get_language(cfg.target), program, standalone=True)
    outcomes = {}
    with progress_bar(console) as bar:
        task = bar.add_task(f"running {len(jobs)} programs", total=len(jobs))
        for o in run_many(jobs.values(), cfg.execution):
            outcomes[o.key] = o
            bar.advance(task)
    done = []
    for k, r in enumerate(rows):
        src, py = outcomes.get(("src", r["id"], r["source"])), outcomes[("py", k)]
        ref = by_id[r["id"]].code[cfg.target]
        judged = ({"judged_by": "outputs", "source_status": src.status.value, "source_returncode": src.returncode,
                   "correct": same_behaviour(src, py)[0]} if src is not None else
                  {"judged_by": "tests", "source_status": None, "source_returncode": None,
                   "correct": py.status is Status.OK})
        done.append({**{x: r[x] for x in ("id", "source", "expert", "completion", "reply", "finish_reason",
                                          "n_tokens") if x in r},
                     **judged, "status": py.status.value, "returncode": py.returncode, "reference": ref})
    return done


def _score(rows, executed, by_id, languages, cfg) -> dict:
    per: dict[str, dict] = {}
    for lang in [*languages, "all"]:
        sel = [r for r in executed if lang == "all" or r["source"] == lang]
        if not sel:
            continue
        refs = [r["reference"] for r in sel]
        preds = [r["completion"] for r in sel]
        cb = codebleu_scores(refs, preds, "python")
        per[lang] = {"n": len(sel), "execution_accuracy": sum(r["correct"] for r in sel) / len(sel),
                     "codebleu": cb["codebleu"], "bleu": cb["ngram_match"],
                     "exact_match": sum(exact_match(a, b) for a, b in zip(refs, preds, strict=True)) / len(sel),
                     "syntax_match": cb["syntax_match"], "dataflow_match": cb["dataflow_match"],
                     "source_ok": sum(r["source_status"] == "ok" for r in sel),
                     "judged_by_tests": sum(r["judged_by"] == "tests" for r in sel)}
    return {"per_language": per, "dataflow_convention": DATAFLOW_CONVENTION, "config": _plain(cfg)}


def _plain(cfg: TranslationConfig) -> dict:
    d = asdict(cfg)
    d["data"] = list(cfg.data)
    return d
