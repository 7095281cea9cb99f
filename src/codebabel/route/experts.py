"""``codebabel route train-experts RECIPE``: one LoRA expert per source language on one frozen backbone, then
the routers (the gate and the n-gram baseline).

Each expert is an ordinary ``codebabel train`` run (``RUN/experts/<lang>/``, adapter in ``adapter/``), so it
resumes and reports like any other; a finished expert is never trained again. The gate is retrained whenever
the set of experts, their weights or its settings change (``store.cached`` in ``router/gate-settings.json``):
adding a language is a new expert plus a new gate, nothing else.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from codebabel.models.loading import ModelSource, resolve
from codebabel.route.gate import gate_rows, train_gate
from codebabel.route.ngram import NgramClassifier
from codebabel.route.recipe import RouteRecipe
from codebabel.route.run import ROUTER_DIR, expert_adapter, expert_fingerprints, load_experts
from codebabel.store import atomic_write_text, cached
from codebabel.train.trainer import check_recipe_data, train

#: the settings the gate was trained with and its training summary (``store.cached``)
GATE_SETTINGS = "gate-settings.json"


def train_experts(recipe: RouteRecipe, console: Console | None = None, source: ModelSource | None = None) -> dict:
    """Train the missing experts, then the gate (if its experts or settings changed) and the n-gram router.
    The base model (``recipe.model``, or ``source``: it already resolved) is resolved once, for all of them."""

    console = console or Console(stderr=True)
    run = recipe.run_dir
    missing = [lang for lang in recipe.languages
               if not ((run / "experts" / lang / "summary.json").is_file() and expert_adapter(run, lang).is_dir())]
    # every input is checked before the run folder is made: a bad path or file never leaves a run behind
    for lang in missing:
        check_recipe_data(recipe.expert_recipe(lang))
    gate_rows(recipe)
    source = resolve(source or recipe.model)
    run.mkdir(parents=True, exist_ok=True)
    experts = {}
    for lang in recipe.languages:
        folder = run / "experts" / lang
        if lang not in missing:
            console.print(f"expert {lang}: already trained ({expert_adapter(run, lang)})", highlight=False)
            experts[lang] = json.loads((folder / "summary.json").read_text())
            continue
        console.print(f"expert {lang}: training", highlight=False)
        experts[lang] = train(recipe.expert_recipe(lang), resume=True, console=console, source=source)
    router = run / ROUTER_DIR
    gate_info = _gate(recipe, router, console, source)
    ngram = fit_ngram(recipe, router / "ngram.json")
    summary = {"run_dir": str(run), "model": recipe.model, "languages": list(recipe.languages),
               "experts": {lang: str(expert_adapter(run, lang)) for lang in recipe.languages},
               "expert_wall_s": {lang: e.get("wall_s") for lang, e in experts.items()},
               "gate": gate_info, "ngram": ngram}
    atomic_write_text(router / "router.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _gate(recipe: RouteRecipe, router: Path, console: Console, source: ModelSource) -> dict:
    """Train the gate unless ``router/gate-settings.json`` says it was trained on these experts (their weights'
    digests) with these settings, and ``gate.json`` is still there."""

    def train() -> dict:
        model, tokenizer, _ = load_experts(recipe.run_dir, recipe.languages, device=recipe.device,
                                           model_spec=source)
        return train_gate(recipe, model, tokenizer, router, console=console)

    settings = {"experts": list(recipe.languages), "model": recipe.model, "gate": asdict(recipe.gate),
                "expert_weights": expert_fingerprints(recipe.run_dir, recipe.languages)}
    info, reused = cached(router / GATE_SETTINGS, settings, train, valid=lambda _: (router / "gate.json").is_file())
    if reused:
        console.print("gate: already trained for these experts and settings", highlight=False)
    return info


def fit_ngram(recipe: RouteRecipe, path: Path) -> dict:
    """Fit the n-gram router on the gate's training prompts (the code only; tags are ignored)."""

    texts, labels = [], []
    for lang, rows in gate_rows(recipe).items():
        texts += [row["prompt"] for row in rows]
        labels += [lang] * len(rows)
    NgramClassifier(list(recipe.languages), n=recipe.ngram.n, alpha=recipe.ngram.alpha).fit(texts, labels).save(path)
    return {"path": str(path), "samples": len(texts), **asdict(recipe.ngram)}
