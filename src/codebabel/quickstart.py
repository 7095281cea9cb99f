"""``codebabel quickstart``: extend a model to one more language with LoRA, and show what changed.

Every phase calls the library function its own command calls:

1. corpora — ``corpus build --from-system`` for the target language and for Python (to see forgetting),
   each capped at ``max_tokens`` tokens, into ``<out>/corpus/<language>/``;
2. before — perplexity on each corpus's test split (its first documents, until they hold ``ppl_tokens``
   tokens) and greedy pass@1 on every HumanEval problem in each language (or the first ``limit``), with the
   shares of each execution status (a small model learns a language's syntax before it passes tests);
3. train — LoRA for ``steps`` steps on the target corpus: ``<out>/recipe.yaml`` (``codebabel train`` reads
   the same file) into ``<out>/train-<hash>/``;
4. after — the same measurements with the adapter;
then ``<out>/quickstart.md`` and ``quickstart.json``: metric, before, after, change.

Resumable: phases 2-4 write ``<out>/phases/<phase>.json`` (``store.cached``: settings_hash, settings, result)
atomically and are skipped when that file holds the same settings; the corpus builder and the results store skip
finished work themselves, and training resumes from its newest checkpoint. Both measurements generate with the
same backend — llama.cpp on CPU (the adapter converted to a GGUF LoRA adapter, unmerged, several sequences
decoding at once), transformers where llama.cpp cannot run the model — so they differ only in the adapter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from codebabel.config import CorpusConfig, EvalConfig, PerplexityConfig, QuickstartConfig, SamplingConfig
from codebabel.data.build import build_corpus
from codebabel.data.corpus import iter_rows, open_split
from codebabel.data.sources import resolve_sources
from codebabel.errors import CodebabelError
from codebabel.evaluate.functional import evaluate
from codebabel.evaluate.perplexity import evaluate_perplexity
from codebabel.execute.sandbox import Sandbox
from codebabel.inputs import iter_jsonl
from codebabel.languages import Language, get_language
from codebabel.models.loading import ModelSource, resolve
from codebabel.store import atomic_write_text, cached, settings_hash
from codebabel.train.recipe import load_recipe
from codebabel.train.trainer import train

#: the second language measured: what the model already knew, to see whether training made it forget
FORGETTING = "py"
#: corpus files at most this big (~3k tokens), so the document that reaches ``ppl_tokens`` overshoots by little
MAX_FILE_BYTES = 12_000
#: the test split's share of each corpus: twice the builder's default, so a small corpus still has one
TEST_FRACTION = 0.1
#: the LoRA recipe (any field of train/recipe.py); ``model``, ``data``, ``max_steps`` come from the options
RECIPE = {"method": "lora", "lr": 1e-3, "schedule": "cosine", "warmup_ratio": 0.1, "batch_size": 4,
          "seq_len": 256, "save_every": 10, "seed": 0, "lora": {"r": 8, "alpha": 16, "dropout": 0.05}}
PHASES = "phases"


def run_quickstart(cfg: QuickstartConfig, console: Console | None = None) -> dict:
    """Run (or resume) every phase; returns the report, also written to ``quickstart.{md,json}``."""
    console = console or Console(stderr=True)
    t0 = time.monotonic()
    langs, source = _check(cfg)  # every input checked before anything is written; the model resolved once
    identity = source.identity
    root = Path(cfg.out).expanduser()
    (root / PHASES).mkdir(parents=True, exist_ok=True)

    console.rule("[bold]1/4 corpora from this machine's sources")
    corpora = {lang.name: _corpus(cfg, lang, root, console, source) for lang in langs}
    measured = {"model": identity, "limit": cfg.limit, "max_new_tokens": cfg.max_new_tokens,
                "ppl_tokens": cfg.ppl_tokens, "corpora": {k: m["settings_hash"] for k, m in corpora.items()}}
    status: dict[str, str] = {}

    before = _phase(root, "before", "2/4 the base model", measured, status, console,
                    lambda: _measure(cfg, langs, root, None, console, source))
    target = corpora[langs[0].name]
    recipe = {"model": cfg.model, "data": [str(root / "corpus" / langs[0].name)], "output": str(root),
              "max_steps": cfg.steps, **RECIPE}
    train_settings = {"model": identity, "corpus": target["settings_hash"], "recipe": recipe}
    key = settings_hash(train_settings)
    trained = _phase(root, "train", f"3/4 LoRA on {langs[0].display_name}, {cfg.steps} steps", train_settings,
                     status, console, lambda: _train(recipe, key, root, console, source),
                     still_there=lambda r: Path(r["result"], "adapter_config.json").is_file())
    after = _phase(root, "after", "4/4 the model with the adapter", {**measured, "adapter": key},
                   status, console, lambda: _measure(cfg, langs, root, trained["result"], console, source))

    report = _report(cfg, langs, corpora, before, trained, after, status, root)
    report["wall_s"]["this_run"] = round(time.monotonic() - t0, 1)
    atomic_write_text(root / "quickstart.md", markdown(report))
    atomic_write_text(root / "quickstart.json", json.dumps(report, indent=2) + "\n")
    return report


# ------------------------------------------------------------------------------------------------- phases


def _check(cfg: QuickstartConfig) -> tuple[list[Language], ModelSource]:
    """The languages (target first, then Python unless it is the target) and the model, resolved (once: every
    phase takes it); one-line errors for anything that would fail later."""

    out = Path(cfg.out).expanduser()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / PHASES).is_dir())):
        raise CodebabelError(f"--out {cfg.out}: exists and is not a quickstart run folder; choose a new folder")
    target = get_language(cfg.language)
    langs = [target, *([] if target.name == get_language(FORGETTING).name else [get_language(FORGETTING)])]
    for lang in langs:
        resolve_sources([], lang, from_system=True, hf=[], data_dir=None, text_key="content")
        if (why := lang.toolchain_missing()) is not None:
            raise CodebabelError(why)
    source = resolve(cfg.model)
    Sandbox()  # refuses without bubblewrap
    return langs, source


def _corpus(cfg: QuickstartConfig, lang: Language, root: Path, console: Console, source: ModelSource) -> dict:
    """``codebabel corpus build --language L --from-system --max-tokens N``: a no-op once built."""

    manifest = build_corpus(CorpusConfig(language=lang.name, out=str(root / "corpus" / lang.name), from_system=True,
                                         tokenizer=cfg.model, max_tokens=cfg.max_tokens, max_bytes=MAX_FILE_BYTES,
                                         test=TEST_FRACTION, overwrite=True), console=console, source=source)
    for split in ("train", "test"):
        if not manifest["splits"][split]["files"]:
            raise CodebabelError(f"the {lang.display_name} corpus has no {split} files at --max-tokens "
                                 f"{cfg.max_tokens}; raise --max-tokens")
    s = manifest["splits"]
    console.print(f"{lang.display_name}: train {s['train']['files']} files / {s['train']['tokens']:,} tokens, "
                  f"test {s['test']['files']} files / {s['test']['tokens']:,} tokens", highlight=False)
    return manifest


def _phase(root: Path, name: str, title: str, settings: dict, status: dict, console: Console,
           compute: Callable[[], dict], still_there: Callable[[dict], bool] = lambda r: True) -> dict:
    """``compute()``'s result, or the one saved in ``phases/<name>.json`` by a run with the same settings."""
    path = root / PHASES / f"{name}.json"
    console.rule(f"[bold]{title}")

    def timed() -> dict:
        t0 = time.monotonic()
        result = {**compute(), "phase_s": None}
        result["phase_s"] = round(time.monotonic() - t0, 1)
        return result

    result, reused = cached(path, settings, timed, valid=still_there)
    status[name] = "reused" if reused else "ran"
    if reused:
        console.print(f"{name}: finished by an earlier run with these settings ({path})", highlight=False)
    else:
        console.print(f"{name}: done in {result['phase_s']:.0f} s", highlight=False)
    return result


def _measure(cfg: QuickstartConfig, langs: list[Language], root: Path, adapter: str | None,
             console: Console, source: ModelSource) -> dict:
    """Perplexity on the test split (``ppl_tokens``) and greedy pass@1 (first ``limit`` problems), per language."""

    backends: dict = {}  # one generation model for every language
    out = {}
    for lang in langs:
        corpus = root / "corpus" / lang.name
        ppl = evaluate_perplexity(PerplexityConfig(model=cfg.model, adapter=adapter, data=(str(corpus),),
                                                   limit=_documents_reaching(corpus, cfg.ppl_tokens)),
                                  console=console, source=source)["results"][0]
        console.print(f"{lang.display_name} perplexity {ppl['perplexity']:.3f} ({ppl['tokens']:,} tokens, "
                      f"{ppl['time_s']:.0f} s)", highlight=False)
        ev = evaluate(EvalConfig(model=cfg.model, adapter=adapter, language=lang.name, limit=cfg.limit,
                                 results_dir=str(root / "results"), prompt_format=_completion_format(source),
                                 sampling=SamplingConfig(max_new_tokens=cfg.max_new_tokens)),
                      console=console, backends=backends, model=source)
        console.print(f"{lang.display_name} pass@1 {ev['passed']}/{ev['problems']} "
                      f"({ev['time']['total_s']:.0f} s)", highlight=False)
        out[lang.name] = {"perplexity": ppl["perplexity"], "bits_per_byte": ppl["bits_per_byte"],
                          "tokens": ppl["tokens"], "documents": ppl["documents"],
                          "pass@1": ev["pass_at_k"]["pass@1"], "passed": ev["passed"], "problems": ev["problems"],
                          "status_counts": ev["status_counts"], "results": ev["results_path"],
                          "backend": ev.get("backend")}
    return {"languages": out}


def _completion_format(model: ModelSource) -> str:
    """The prompt format of the demo's short evaluation (``--max-new-tokens``, 128 by default): the model's own,
    except ``instruct``, whose replies repeat the whole function (297 tokens on average for Qwen2.5-Coder on
    HumanEval) and would be cut; ``chat`` continues the prompted function instead."""
    own = model.default_prompt_format
    return "chat" if own == "instruct" else own


def _documents_reaching(corpus: Path, tokens: int) -> int:
    """How many test documents, in the order perplexity reads them, it takes to hold ``tokens`` tokens (the
    ``n_tokens`` the corpus builder wrote); all of them if they hold fewer."""

    n = total = 0
    for row in iter_rows(open_split(corpus, "test")):
        total += int(row.get("n_tokens", 0))
        n += 1
        if total >= tokens:
            break
    return n


def _train(recipe: dict, key: str, root: Path, console: Console, source: ModelSource) -> dict:
    """Write ``recipe.yaml``, load it as ``codebabel train`` does, train (resuming a killed run)."""
    import yaml

    path = root / "recipe.yaml"
    atomic_write_text(path, yaml.safe_dump({"name": f"train-{key}", **recipe}, sort_keys=False))
    return train(load_recipe(path), resume=True, console=console, source=source)


# ------------------------------------------------------------------------------------------------- report


def _report(cfg: QuickstartConfig, langs: list[Language], corpora: dict, before: dict, trained: dict,
            after: dict, status: dict, root: Path) -> dict:
    rows = []
    for lang in langs:
        b, a = before["languages"][lang.name], after["languages"][lang.name]
        n = b["problems"]
        rows.append({"metric": f"{lang.display_name} perplexity", "language": lang.name, "kind": "perplexity",
                     "detail": f"test split, {b['tokens']:,} tokens", "before": b["perplexity"],
                     "after": a["perplexity"], "change": a["perplexity"] / b["perplexity"] - 1})
        which = f"all {n} problems" if cfg.limit is None else f"first {n} problem{'s' * (n != 1)}"
        rows.append({"metric": f"{lang.display_name} pass@1", "language": lang.name, "kind": "pass@1",
                     "detail": f"HumanEval, {which}, greedy", "before": b["pass@1"],
                     "after": a["pass@1"], "change": a["pass@1"] - b["pass@1"],
                     "passed": {"before": b["passed"], "after": a["passed"], "of": b["problems"]}})
        shares = [(label, _share(b["status_counts"], st), _share(a["status_counts"], st)) for label, st in SHARES]
        # an empty completion leaves the prompt's docstring-only function, which parses: say how many there are
        shares.append(("empty completions", _empty_share(b["results"]), _empty_share(a["results"])))
        for label, before_share, after_share in shares:
            rows.append({"metric": f"{lang.display_name} {label}", "language": lang.name, "kind": "share",
                         "detail": f"share of the {n} completions", "before": before_share,
                         "after": after_share, "change": after_share - before_share})
    stage = trained["stages"][-1]
    return {
        "model": cfg.model, "language": langs[0].name, "display_name": langs[0].display_name,
        "backend": a.get("backend"),
        "settings": asdict(cfg), "metrics": rows,
        "train": {"steps": stage["steps"], "tokens": stage["tokens"], "train_loss": stage["train_loss"],
                  "tokens_per_s": stage["tokens_per_s"], "adapter": trained["result"], "run_dir": trained["run_dir"]},
        "corpora": {k: {"path": str(root / "corpus" / k), **m["splits"]} for k, m in corpora.items()},
        "phases": status,
        "wall_s": {"before": before["phase_s"], "train": trained["phase_s"], "after": after["phase_s"]},
        "paths": {"markdown": str(root / "quickstart.md"), "json": str(root / "quickstart.json"),
                  "recipe": str(root / "recipe.yaml")},
    }


#: the status shares the report shows, each a row: (label, statuses counted)
SHARES = (("parses/compiles", "not:syntax_error,compile_error,type_error"),
          ("runtime errors", "runtime_error"),
          ("failed tests", "assertion_failed"))


def _share(counts: dict, statuses: str) -> float:
    """The share of samples with one of ``statuses`` (comma-separated; ``not:`` = any other status)."""
    total = sum(counts.values())
    negate = statuses.startswith("not:")
    names = set(statuses.removeprefix("not:").split(","))
    hit = sum(v for k, v in counts.items() if (k in names) != negate)
    return hit / total if total else 0.0


def _empty_share(results_path: str) -> float:
    """The share of a run's samples whose completion is blank (``completions.jsonl`` beside ``results.jsonl``)."""
    rows = [rec for _, rec in iter_jsonl(Path(results_path).with_name("completions.jsonl"), "completions")]
    return sum(not str(r.get("completion", "")).strip() for r in rows) / len(rows) if rows else 0.0


def _cells(row: dict) -> tuple[str, str, str]:
    if row["kind"] == "perplexity":
        return f"{row['before']:.3f}", f"{row['after']:.3f}", f"{100 * row['change']:+.1f}%"
    if row["kind"] == "share":
        return f"{100 * row['before']:.1f}%", f"{100 * row['after']:.1f}%", f"{100 * row['change']:+.1f} pp"
    n = row["passed"]
    return (f"{n['before']}/{n['of']} ({100 * row['before']:.1f}%)",
            f"{n['after']}/{n['of']} ({100 * row['after']:.1f}%)", f"{100 * row['change']:+.1f} pp")


def _title(report: dict) -> str:
    return (f"{report['model']} before / after {report['train']['steps']} LoRA steps on "
            f"{report['display_name']} ({report['train']['tokens']:,} tokens)")


def table(report: dict) -> Table:
    t = Table(title=_title(report), show_header=True)
    for col, justify in (("metric", "left"), ("measured on", "left"), ("before", "right"), ("after", "right"),
                         ("change", "right")):
        t.add_column(col, justify=justify, no_wrap=col == "metric")
    for row in report["metrics"]:
        t.add_row(row["metric"], row["detail"], *_cells(row))
    return t


def markdown(report: dict) -> str:
    s = report["settings"]
    lines = [f"# {_title(report)}", "", "| metric | measured on | before | after | change |", "|---|---|---|---|---|"]
    lines += [f"| {r['metric']} | {r['detail']} | " + " | ".join(_cells(r)) + " |" for r in report["metrics"]]
    w = report["wall_s"]
    lines += ["", "Perplexity: lower is better (change relative); pass@1 and the status shares: greedy, the same "
              f"generation backend before and after ({report.get('backend') or 'see the run'}; change in "
              "percentage points).",
              f"Train loss {report['train']['train_loss']:.4f}; adapter: `{report['train']['adapter']}`; recipe: "
              f"`{report['paths']['recipe']}`.",
              f"Phase times when they ran: before {w['before']:.0f} s, train {w['train']:.0f} s, after "
              f"{w['after']:.0f} s; this invocation {w['this_run']:.0f} s (it reuses finished phases).", "",
              "Reproduce: `codebabel quickstart " + " ".join(
                  f"--{k.replace('_', '-')} {v}" for k, v in s.items() if v is not None) + "`", ""]
    return "\n".join(lines)
