"""``codebabel route train-experts RECIPE``: one LoRA expert per source language on one frozen backbone, then
the routers (the gate and the n-gram baseline).

Each expert is an ordinary ``codebabel train`` run (``RUN/experts/<lang>/``, adapter in ``adapter/``), so it
resumes and reports like any other; a finished expert is never trained again. The gate is retrained whenever
the set of experts or its settings change: adding a language is a new expert plus a new gate, nothing else.
:func:`load_experts` puts every adapter on one base model (a ``PeftModel`` whose adapter names are the
language names), unmerged.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from codebabel.errors import CodebabelError
from codebabel.evaluate.results import atomic_write_text
from codebabel.route.recipe import RouteRecipe

ROUTER_DIR = "router"


def expert_adapter(run: Path, lang: str) -> Path:
    return run / "experts" / lang / "adapter"


def train_experts(recipe: RouteRecipe, console: Console | None = None) -> dict:
    """Train the missing experts, then the gate (if its experts or settings changed) and the n-gram router."""
    from codebabel.train.trainer import train

    console = console or Console(stderr=True)
    run = recipe.run_dir
    run.mkdir(parents=True, exist_ok=True)
    experts = {}
    for lang in recipe.languages:
        folder = run / "experts" / lang
        if (folder / "summary.json").is_file() and expert_adapter(run, lang).is_dir():
            console.print(f"expert {lang}: already trained ({expert_adapter(run, lang)})", highlight=False)
            experts[lang] = json.loads((folder / "summary.json").read_text())
            continue
        console.print(f"expert {lang}: training", highlight=False)
        experts[lang] = train(recipe.expert_recipe(lang), resume=True, console=console)
    router = run / ROUTER_DIR
    gate_info = _current_gate(router, recipe)
    if gate_info is None:
        from codebabel.route.gate import train_gate

        model, tokenizer, _ = load_experts(run, recipe.languages, device=recipe.device, model_spec=recipe.model)
        gate_info = train_gate(recipe, model, tokenizer, router, console=console)
        del model
    else:
        console.print("gate: already trained for these experts and settings", highlight=False)
    ngram = fit_ngram(recipe, router / "ngram.json")
    summary = {"run_dir": str(run), "model": recipe.model, "languages": list(recipe.languages),
               "experts": {lang: str(expert_adapter(run, lang)) for lang in recipe.languages},
               "expert_wall_s": {lang: e.get("wall_s") for lang, e in experts.items()},
               "gate": gate_info, "ngram": ngram}
    atomic_write_text(router / "router.json", json.dumps(summary, indent=2) + "\n")
    return summary


def expert_fingerprints(run: Path, languages) -> dict[str, str]:
    """sha256 (first 16 hex digits) of each expert's weights: a retrained expert means a new gate."""
    import hashlib

    return {lang: hashlib.sha256((expert_adapter(run, lang) / "adapter_model.safetensors").read_bytes()
                                 ).hexdigest()[:16] for lang in languages}


def _current_gate(router: Path, recipe: RouteRecipe) -> dict | None:
    info = router / "gate.json"
    if not info.is_file():
        return None
    data = json.loads(info.read_text())
    same = (data.get("experts") == list(recipe.languages) and data.get("model") == recipe.model
            and data.get("gate", {}).get("settings") == json.loads(json.dumps(asdict(recipe.gate)))
            and data.get("expert_weights") == expert_fingerprints(recipe.run_dir, recipe.languages))
    return data["gate"] if same else None


def fit_ngram(recipe: RouteRecipe, path: Path) -> dict:
    """Fit the n-gram router on the gate's training prompts (the code only; tags are ignored)."""
    from codebabel.route.gate import gate_rows
    from codebabel.route.ngram import NgramRouter

    texts, labels = [], []
    for lang, rows in gate_rows(recipe).items():
        texts += [row["prompt"] for row in rows]
        labels += [lang] * len(rows)
    NgramRouter(list(recipe.languages), n=recipe.ngram.n, alpha=recipe.ngram.alpha).fit(texts, labels).save(path)
    return {"path": str(path), "samples": len(texts), **asdict(recipe.ngram)}


def run_languages(run: Path) -> list[str]:
    """The experts of a routing run, in the gate's order when it has one."""
    gate = run / ROUTER_DIR / "gate.json"
    if gate.is_file():
        return json.loads(gate.read_text())["experts"]
    found = sorted(p.parent.name for p in (run / "experts").glob("*/adapter") if p.is_dir())
    if not found:
        raise CodebabelError(f"experts '{run}': no experts/<lang>/adapter folders; train them with "
                             "`codebabel route train-experts RECIPE` and pass its run folder")
    return found


def run_model(run: Path) -> str:
    """The base model the experts of ``run`` were trained on."""
    for lang in run_languages(run):
        recipe = run / "experts" / lang / "recipe.json"
        if recipe.is_file():
            return json.loads(recipe.read_text())["model"]
    raise CodebabelError(f"experts '{run}': no experts/<lang>/recipe.json; pass --model")


def load_experts(run: str | Path, languages: list[str] | tuple[str, ...] | None = None, device: str = "auto",
                 dtype: str = "auto", model_spec: str | None = None):
    """``(peft_model, tokenizer, languages)``: the base model with every expert attached under its language
    name (unmerged, eval mode)."""
    from peft import PeftModel

    from codebabel.models.loading import load_model

    run = Path(run).expanduser()
    if not run.is_dir():
        raise CodebabelError(f"experts '{run}': no such folder; pass a `codebabel route train-experts` run folder")
    langs = list(languages) if languages else run_languages(run)
    for lang in langs:
        if not (expert_adapter(run, lang) / "adapter_config.json").is_file():
            raise CodebabelError(f"experts '{run}': no adapter for {lang} in {expert_adapter(run, lang)}; train it "
                                 "with `codebabel route train-experts RECIPE`")
    base, tokenizer = load_model(model_spec or run_model(run), device=device, dtype=dtype)
    model = PeftModel.from_pretrained(base, str(expert_adapter(run, langs[0])), adapter_name=langs[0],
                                      is_trainable=False)
    for lang in langs[1:]:
        model.load_adapter(str(expert_adapter(run, lang)), adapter_name=lang, is_trainable=False)
    model.eval()
    return model, tokenizer, langs
