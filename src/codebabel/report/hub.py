"""``codebabel push FOLDER --repo REPO``: any codebabel output folder to the Hugging Face Hub, its card first.

What the folder is decides the repo type and the card (written or refreshed before the upload, front matter
through huggingface_hub's card classes):

- a training run (``runs/NAME``: its ``adapter/`` or ``model/`` is pushed), an adapter or a fully fine-tuned
  model of one → a model repo, the card from the run's ``recipe.json`` and ``summary.json`` (train/card.py),
  with ``--results`` evaluation runs of that adapter or model as ``model-index`` results (pass@k per language);
- any other model folder (``export --merge``'s, or a PEFT adapter) → a model repo, its card kept, ``codebabel``
  added to its tags;
- a synth run or its ``dataset/`` → a dataset repo (synth/dataset.py ``refresh_card``, from ``funnel.json``);
- a corpus (``corpus build --out``) → a dataset repo (data/card.py);
- an evaluation run (``results/<benchmark>-<lang>-<model>-<hash>/``) or a translation evaluation → a dataset repo
  whose card names the model, the settings and the headline (the samples, results and summary are the files).

``--kind model|dataset`` must agree with what the folder is; a folder of none of these kinds is pushed as it is
only with ``--kind``. ``--card-only`` writes the card and uploads nothing (no token needed). The upload is
hub.py's (``create_repo(..., exist_ok=True)`` + ``upload_folder``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codebabel.cards import CARD, language_tag, read_card, refresh_card, size_category
from codebabel.data.card import is_corpus, refresh_corpus_card
from codebabel.errors import CodebabelError
from codebabel.evaluate.functional import _adapter_identity  # the identity evaluate records for --adapter
from codebabel.hub import REPO_TYPES, HubTarget, push_folder
from codebabel.models.loading import hub_id_of
from codebabel.report.runs import NotARun, Run, expand, language_name, read_run
from codebabel.synth.dataset import refresh_card as refresh_synth_card
from codebabel.train.card import refresh_run_card


@dataclass(frozen=True)
class PushConfig:
    """``codebabel push``: ``folder`` to ``repo`` (``None`` only with ``card_only``), as ``kind`` (model | dataset;
    default what the folder is), ``private`` when the push creates the repo, ``results``: evaluation runs of the
    pushed adapter or model whose pass@k go into its card."""

    folder: str
    repo: str | None = None
    kind: str | None = None
    private: bool = False
    results: tuple[str, ...] = ()
    card_only: bool = False

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in REPO_TYPES:
            raise CodebabelError(f"--kind {self.kind}: use one of {', '.join(REPO_TYPES)}")
        if self.repo is None and not self.card_only:
            raise CodebabelError("codebabel push: pass --repo OWNER/NAME (or --card-only to write the card alone)")
        if self.card_only and self.private:
            raise CodebabelError("--private: nothing is pushed with --card-only")

    @property
    def target(self) -> HubTarget | None:
        return None if self.repo is None else HubTarget(self.repo, self.private)


@dataclass(frozen=True)
class Pushable:
    """What a folder is: ``what`` (run-adapter, run-model, adapter, model, synth, corpus, results, folder), the
    repo type, and the folder that is uploaded (a training run's result, a synth run's ``dataset/``)."""

    what: str
    repo_type: str
    folder: Path


def pushable(folder: str | Path) -> Pushable:
    """What ``folder`` is (see the module's docstring); ``what == "folder"`` for none of the known kinds."""
    p = Path(folder).expanduser()
    if not p.is_dir():
        raise CodebabelError(f"push: '{folder}' is not a folder")
    if (p / "recipe.json").is_file():  # a training run: its result
        for name, what in (("adapter", "run-adapter"), ("model", "run-model")):
            if (p / name).is_dir():
                return Pushable(what, "model", p / name)
        raise CodebabelError(f"push: '{folder}' is a training run without its adapter/ or model/ yet; finish it "
                             "(codebabel train RECIPE --resume)")
    if (p.parent / "recipe.json").is_file() and p.name in ("adapter", "model"):
        return Pushable(f"run-{p.name}", "model", p)
    if (p / "adapter_config.json").is_file():
        return Pushable("adapter", "model", p)
    if (p / "config.json").is_file():
        return Pushable("model", "model", p)
    if (p / "funnel.json").is_file():
        return Pushable("synth", "dataset", p)
    if (p / "dataset" / "funnel.json").is_file():
        return Pushable("synth", "dataset", p / "dataset")
    if is_corpus(p):
        return Pushable("corpus", "dataset", p)
    try:
        run = read_run(p)
    except NotARun:
        return Pushable("folder", "", p)
    if run.kind in ("eval", "translation"):
        return Pushable("results", "dataset", p)
    return Pushable("folder", "", p)


def push(cfg: PushConfig) -> dict[str, Any]:
    """Write or refresh the folder's card, then (unless ``card_only``) upload the folder; returns what was done:
    ``{"what", "folder", "card", "repo_type", "url"}``."""
    item = pushable(cfg.folder)
    repo_type = item.repo_type or cfg.kind
    if not repo_type:
        raise CodebabelError(f"push: '{cfg.folder}' is none of the folders codebabel writes (a training run, "
                             "adapter, model, corpus, synth dataset, evaluation run); pass --kind model|dataset "
                             "to push it as it is")
    if cfg.kind is not None and cfg.kind != repo_type:
        raise CodebabelError(f"--kind {cfg.kind}: '{cfg.folder}' is a {item.what.removeprefix('run-')} folder, "
                             f"pushed as a {repo_type} repo; drop --kind or pass --kind {repo_type}")
    if cfg.results and repo_type != "model":
        raise CodebabelError("--results: evaluation results go into a model's card; this folder is a dataset")
    target = cfg.target  # a bad repo id is refused before the card is touched
    card = _card(item, repo_type, cfg.results)
    out = {"what": item.what, "folder": str(item.folder), "card": str(card), "repo_type": repo_type, "url": None}
    if not cfg.card_only and target is not None:
        out["url"] = push_folder(item.folder, target, repo_type,  # type: ignore[arg-type]
                                 f"codebabel push: {item.what} {item.folder.name}")
    return out


def _card(item: Pushable, repo_type: str, results: tuple[str, ...]) -> Path:
    if item.what in ("run-adapter", "run-model"):
        return refresh_run_card(item.folder, eval_results(results, item.folder))
    if results:
        raise CodebabelError(f"--results: '{item.folder}' is not the result of a `codebabel train` run, whose card "
                             "holds results; push the run's adapter/ or model/")
    if item.what == "synth":
        return refresh_synth_card(item.folder)
    if item.what == "corpus":
        return refresh_corpus_card(item.folder)
    if item.what == "results":
        run = read_run(item.folder)
        metadata, body = results_card(run)
        return refresh_card(item.folder / CARD, "dataset", metadata, body)
    # a model or dataset folder of no run: its card kept and tagged, a title where it has none; a base_model that
    # is a local path (PEFT writes the path it loaded) removed, as the Hub refuses it
    default = f"# {item.folder.name}\n\nPushed by `codebabel push`.\n"
    metadata: dict[str, Any] = {"tags": ["codebabel"]}
    base = read_card(item.folder / CARD)[0].get("base_model")
    if isinstance(base, str) and hub_id_of(base) is None:
        metadata["base_model"] = None
    return refresh_card(item.folder / CARD, repo_type, metadata, default)  # type: ignore[arg-type]


def eval_results(specs: tuple[str, ...], result: Path) -> list:
    """``model-index`` results (huggingface_hub ``EvalResult``s) from evaluation runs of the weights in ``result``:
    pass@k per benchmark and language. A run that measured other weights is a one-line error."""
    from huggingface_hub import EvalResult

    if not specs:
        return []
    runs, _ = expand(specs)
    adapter = (result / "adapter_config.json").is_file()
    mine = _adapter_identity(str(result)).rsplit("@", 1)[1] if adapter else None
    out = []
    for run in runs:
        if run.kind != "eval":
            raise CodebabelError(f"--results {run.path}: a {run.kind} run; pass evaluation runs (results/...)")
        if not run.finished:
            raise CodebabelError(f"--results {run.path}: not finished (no summary.json); finish it first")
        _check_same_weights(run, result, mine)
        lang = str(run.data["language"])
        benchmark = str(run.data["benchmark"])
        for k, v in run.data["pass_at_k"].items():
            out.append(EvalResult(
                task_type="text-generation", dataset_type="openai_humaneval" if benchmark == "humaneval" else benchmark,
                dataset_name=f"{benchmark_title(benchmark)} ({language_name(lang)})", dataset_config=lang,
                dataset_split="test", metric_type=k, metric_name=k, metric_value=round(float(v), 4)))
    return out


def _check_same_weights(run: Run, result: Path, adapter_hash: str | None) -> None:
    settings = run.data["settings"]
    if adapter_hash is not None:
        ident = str(settings.get("adapter") or "")
        if not ident.endswith(f"@{adapter_hash}"):
            raise CodebabelError(f"--results {run.path}: measured "
                                 + (f"the adapter {ident.split('@')[0]}" if ident else "no adapter")
                                 + f", not the weights in {result}; pass evaluation runs of this adapter")
        return
    source = str(settings.get("source") or "")
    if not source.startswith(f"path:{result.resolve()}@"):
        raise CodebabelError(f"--results {run.path}: measured {source.split('@')[0] or 'another model'}, not the "
                             f"model in {result}; pass evaluation runs with --model {result}")


def benchmark_title(benchmark: str) -> str:
    return {"humaneval": "HumanEval"}.get(benchmark, benchmark)


def results_card(run: Run) -> tuple[dict[str, Any], str]:
    """The front matter and text of an evaluation run's dataset card (the run's own files are the data)."""
    folder = run.path
    tags = ["codebabel", "evaluation"]
    if run.kind == "eval":
        tags += [run.data["benchmark"], language_tag(language_name(str(run.data["language"])))]
    files = [f for f in ("results.jsonl", "completions.jsonl") if (folder / f).is_file()]
    rows = _lines(folder / files[0]) if files else 0
    metadata = {"pretty_name": run.name, "language": ["code"], "task_categories": ["text-generation"],
                "size_categories": [size_category(rows)], "tags": tags,
                "configs": [{"config_name": Path(f).stem, "data_files": [{"split": "test", "path": f}]}
                            for f in files] or None}
    body = "\n".join([f"# {run.name}", "", f"`codebabel {'evaluate' if run.kind == 'eval' else 'evaluate translation'}`"
                      f" results: {run.headline}.", "", f"Settings: {run.settings}.", "",
                      "Files: " + ", ".join(f"`{f.name}`" for f in sorted(folder.iterdir()) if f.is_file()
                                            and f.name != CARD) + ".", "",
                      "```json", json.dumps(run.metrics, indent=2, default=str), "```", ""])
    return metadata, body


def _lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)
