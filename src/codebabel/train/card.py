"""The model card of a training run: ``adapter/README.md`` or ``model/README.md``, with Hub front matter.

``codebabel train`` writes it when a run finishes (over PEFT's own card, whose ``library_name``,
``pipeline_tag`` and tags are kept); ``codebabel push`` rewrites it from the run folder's ``recipe.json`` and
``summary.json`` before uploading, adding evaluation results where given. The front matter:

- ``base_model``: the Hub repo of the base where known (a registered model's source repo, or a Hub id; a local
  folder or ``.gguf`` has none, and PEFT's local path is removed: the Hub refuses a path there);
- ``library_name``: ``peft`` for an adapter, ``transformers`` for a full fine-tune; ``pipeline_tag``;
- ``license``: the registered base model's licence, where known;
- ``tags``: ``codebabel``, ``lora`` or ``full-fine-tune``, the programming languages of the training data (a
  corpus folder's ``manifest.json``, a synth dataset's rows), ``base_model:adapter:<id>`` /
  ``base_model:finetune:<id>``;
- ``datasets``: the Hub datasets a corpus was built from (``corpus build --hf ID``), where any;
- ``model-index``: the validation loss and perplexity of each stage that measured them, and the evaluation results
  handed in (pass@k per benchmark and language).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from codebabel.cards import CARD, language_tag, read_card, write_card
from codebabel.errors import CodebabelError
from codebabel.languages import get_language
from codebabel.models.loading import hub_id_of
from codebabel.models.registry import get_registered


def write_model_card(target: str | Path, recipe: dict, stages: list[dict], results: list | None = None) -> Path:
    """Write ``target/README.md`` for a run's result folder: ``recipe`` is the run's ``recipe.json``, ``stages``
    its ``summary.json`` stages (or ``done.json`` files), ``results`` huggingface_hub ``EvalResult``s to add."""
    metadata, body = model_card(recipe, stages, results or [])
    return write_card(Path(target) / CARD, "model", metadata, body)


def refresh_run_card(result: str | Path, results: list | None = None) -> Path:
    """Rewrite the card of a finished run's ``adapter/`` or ``model/`` folder from the run folder beside it."""
    result = Path(result)
    run = result.parent
    recipe_path, summary_path = run / "recipe.json", run / "summary.json"
    if not recipe_path.is_file():
        raise CodebabelError(f"'{result}': no recipe.json beside it, so not the result of `codebabel train`")
    try:
        recipe = json.loads(recipe_path.read_text(encoding="utf-8"))
        summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
    except json.JSONDecodeError as e:
        raise CodebabelError(f"'{run}': recipe.json or summary.json is not valid JSON ({e.msg})") from None
    return write_model_card(result, recipe, list(summary.get("stages") or []), results)


def model_card(recipe: dict, stages: list[dict], results: list) -> tuple[dict[str, Any], str]:
    """The front matter and the body of a run's card (see the module's docstring)."""
    from huggingface_hub import EvalResult

    method = _last_method(recipe)
    spec = str(recipe.get("model", ""))
    base = hub_id_of(spec)
    entry = get_registered(spec)
    languages, datasets = data_origins(recipe)
    tags = ["codebabel", "lora" if method == "lora" else "full-fine-tune", *languages]
    if base:
        tags.append(f"base_model:{'adapter' if method == 'lora' else 'finetune'}:{base}")
    evals = []
    for st in stages:
        if st.get("eval_loss") is None:
            continue
        where = dict(task_type="text-generation", dataset_type=_dataset_type(recipe, st.get("stage")),
                     dataset_name=f"{st.get('stage')}: " + ", ".join(_stage_data(recipe, st.get("stage"))),
                     dataset_split=str(recipe.get("eval_split", "validation")))
        evals.append(EvalResult(**where, metric_type="loss", metric_value=round(float(st["eval_loss"]), 4)))
        if st.get("eval_perplexity") is not None:
            evals.append(EvalResult(**where, metric_type="perplexity",
                                    metric_value=round(float(st["eval_perplexity"]), 4)))
    evals += list(results)
    metadata: dict[str, Any] = {
        "base_model": base, "library_name": "peft" if method == "lora" else "transformers",
        "pipeline_tag": "text-generation", "tags": tags, "datasets": datasets or None,
        "license": entry.license if entry and entry.license else None,
    }
    if evals:
        metadata.update(model_name=str(recipe.get("name", "model")), eval_results=evals)
    return metadata, _body(recipe, stages, method, spec, base, evals)


def _body(recipe: dict, stages: list[dict], method: str, spec: str, base: str | None, evals: list) -> str:
    lines = [f"# {recipe.get('name', 'model')}", "",
             f"Fine-tuned by `codebabel train` ({method}) from `{spec}`"
             + (f" (`{base}` on the Hub)" if base and base != spec else "") + "."]
    if method == "lora":
        lines.append("Load with `PeftModel.from_pretrained(base, this_folder)`.")
    lines += ["", "## Data", ""]
    for name, data, split in _stages(recipe):
        lines.append(f"- stage `{name}`: {', '.join(data)} ({split})")
    if stages:
        lines += ["", "| stage | steps | tokens | train loss | wall s |", "|---|---|---|---|---|",
                  *(f"| {s.get('stage')} | {s.get('steps')} | {s.get('tokens')} | {_num(s.get('train_loss'))} | "
                    f"{s.get('wall_s')} |" for s in stages)]
    if evals:
        lines += ["", "## Results", "", "| dataset | split | metric | value |", "|---|---|---|---|"]
        lines += [f"| {e.dataset_name} | {e.dataset_split or '-'} | {e.metric_type} | {e.metric_value:g} |"
                  for e in evals]
    lines += ["", "## Recipe", "", "```json", json.dumps(recipe, indent=2), "```", "",
              "Metrics per step: `metrics.jsonl` next to this folder; per stage: `summary.json`.", ""]
    return "\n".join(lines)


def _num(x: Any) -> str:
    return f"{x:.4f}" if isinstance(x, int | float) else "-"


def _last_method(recipe: dict) -> str:
    stages = recipe.get("stages") or []
    if stages:
        over = stages[-1].get("overrides") or {}
        if "method" in over:
            return str(over["method"])
    return str(recipe.get("method", "lora"))


def _stages(recipe: dict) -> list[tuple[str, list[str], str]]:
    """``(name, data, split)`` of each stage, as ``Recipe.stage_list`` would give them."""
    top = [str(d) for d in recipe.get("data") or []]
    split = str(recipe.get("split", "train"))
    if not recipe.get("stages"):
        return [("main", top, split)]
    return [(str(st.get("name")), [str(d) for d in st.get("data") or []] or top,
             str((st.get("overrides") or {}).get("split", split))) for st in recipe["stages"]]


def _stage_data(recipe: dict, stage: Any) -> list[str]:
    for name, data, _ in _stages(recipe):
        if name == stage:
            return data
    return [str(d) for d in recipe.get("data") or []]


def _dataset_type(recipe: dict, stage: Any) -> str:
    """A dataset ``type`` for a stage's results: its Hub dataset where its data came from one, else the name of
    its first data folder or file (local data have no Hub id)."""
    data = _stage_data(recipe, stage)
    hub = [d for entry in data for d in _origin(entry, str(recipe.get("split", "train")))[1]]
    if hub:
        return hub[0]
    if not data:
        return "local"
    return re.sub(r"\.jsonl(\.gz)?$", "", Path(data[0].replace("{split}", "")).name).rstrip("-_.") or "local"


def data_origins(recipe: dict) -> tuple[list[str], list[str]]:
    """The language tags and Hub dataset ids of every stage's data (in order, once each); what cannot be read
    is left out (the card never fails a finished run)."""
    langs: list[str] = []
    hub: list[str] = []
    for _, data, split in _stages(recipe):
        for entry in data:
            ls, hs = _origin(entry, split)
            langs += [x for x in ls if x not in langs]
            hub += [x for x in hs if x not in hub]
    return langs, hub


def _origin(entry: str, split: str) -> tuple[list[str], list[str]]:
    path = Path(entry.replace("{split}", split)).expanduser()
    codes: list[str] = []
    hub: list[str] = []
    try:
        if path.is_dir() and (path / "manifest.json").is_file():
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            codes.append(str(manifest.get("language", "")))
            hub += [str(s["location"]) for s in manifest.get("sources") or []
                    if isinstance(s, dict) and s.get("kind") == "hf-hub"]
        elif path.is_file():
            with path.open(encoding="utf-8") as f:
                first = f.readline()
            row = json.loads(first) if first.strip() else {}
            if isinstance(row, dict) and row.get("language"):
                codes.append(str(row["language"]))
    except (OSError, ValueError, KeyError, TypeError):
        return [], []
    tags = []
    for code in codes:
        try:
            tags.append(language_tag(get_language(code).display_name))
        except CodebabelError:
            continue
    return tags, hub


def write_merged_card(folder: str | Path, adapter: Path, base: str, model: str | None) -> Path:
    """The card of ``codebabel export --merge``'s folder: a plain transformers model whose ``base_model`` is the
    Hub repo of the base (``--model``, else the adapter card's ``base_model``, else the adapter's base where it is
    a Hub id), with the adapter card's licence, datasets and tags (language tags among them)."""
    old = read_card(adapter / CARD)[0]
    hub = hub_id_of(model) if model else (old.get("base_model") or hub_id_of(base))
    tags = [t for t in old.get("tags") or [] if isinstance(t, str) and not t.startswith("base_model:")
            and t not in ("transformers", "lora")]
    metadata = {"base_model": hub or None, "library_name": "transformers", "pipeline_tag": "text-generation",
                "tags": ["codebabel", *[t for t in tags if t != "codebabel"], "merged-lora"],
                "license": old.get("license"), "datasets": old.get("datasets")}
    name = adapter.parent.name if adapter.name == "adapter" else adapter.name  # runs/NAME/adapter: the run's name
    on_hub = f" (`{hub}` on the Hub)" if hub and hub != base else ""
    body = (f"# {name} (merged)\n\n`{base}`{on_hub} with the LoRA adapter `{adapter}` merged into its weights by "
            "`codebabel export --merge`: a plain transformers model "
            "(`AutoModelForCausalLM.from_pretrained(this_folder)`).\n")
    return write_card(Path(folder) / CARD, "model", metadata, body, keep=False)
