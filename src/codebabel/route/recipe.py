"""Routing recipes: one YAML file → the experts (one LoRA per source language) and the routers.

```yaml
model: smollm2-135m
name: x2py
output: runs
languages: [cpp, java, cs, js, php]
expert:                 # a `codebabel train` recipe without model/name/output; "{lang}" → each language
  lora: {r: 4, alpha: 32, targets: [q_proj, k_proj, v_proj, o_proj, down_proj]}
  data: ["pairs/{lang}-{split}.jsonl"]
gate: {steps: 1000, lr: 5e-5, warmup_steps: 50}   # data: defaults to each expert's last-stage data
ngram: {n: 2, alpha: 1.0}
```

The run folder is ``OUTPUT/NAME/``: ``experts/<lang>/`` (a ``codebabel train`` run each, its adapter in
``adapter/``) and ``router/`` (the gate, the n-gram router, ``router.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codebabel.errors import CodebabelError
from codebabel.languages import get_language
from codebabel.train.recipe import Recipe, build_typed, read_yaml, recipe_from_dict

#: what the gate max-pools over: every real token of the prompt (SteloCoder), or its code only (comments out)
POOLS = ("all", "code")


@dataclass(frozen=True)
class GateSettings:
    """How the gate is trained (SteloCoder: only the gate trains, 1000 steps, lr 5e-5, warmup 50, balanced)."""

    #: JSONL prompt→completion files with "{lang}" (and "{split}"); empty = each expert's last-stage data
    data: tuple[str, ...] = ()
    steps: int = 1000
    lr: float = 5e-5
    warmup_steps: int = 50
    weight_decay: float = 0.0
    #: samples per step, spread evenly over the languages (balanced)
    batch_size: int = 10
    #: prompt + completion tokens kept per sample; the gate itself sees only the prompt
    seq_len: int = 1024
    #: completion tokens that carry the language-model loss (0 = all that fit in seq_len)
    completion_tokens: int = 0
    #: fraction of samples whose tag is replaced by <code>, so the gate learns to route on the code itself
    hide_language_fraction: float = 0.5
    #: weight of a cross-entropy on the gate's logits against the sample's language (0 = SteloCoder's pure
    #: language-model objective through the soft mixture)
    label_weight: float = 0.0
    #: weight of the mixture's language-model loss; 0 skips the mixture (no pass through the backbone): the gate
    #: then learns the source language from ``label_weight`` alone, a classifier over the embedding output that
    #: trains in seconds on a CPU instead of a backward pass through the whole model per step
    lm_weight: float = 1.0
    #: the tokens the gate max-pools: ``all`` of the prompt's (SteloCoder), or ``code``: its comments left out
    #: (a long doc comment is prose, alike in every language, and would otherwise win most of the max)
    pool: str = "all"
    save_every: int = 50
    seed: int = 0


@dataclass(frozen=True)
class NgramSettings:
    n: int = 2
    alpha: float = 1.0


@dataclass(frozen=True)
class RouteRecipe:
    model: str = ""
    name: str = "route"
    output: str = "runs"
    languages: tuple[str, ...] = ()
    expert: dict[str, Any] = field(default_factory=dict)
    gate: GateSettings = field(default_factory=GateSettings)
    ngram: NgramSettings = field(default_factory=NgramSettings)
    device: str = "auto"

    @property
    def run_dir(self) -> Path:
        return Path(self.output).expanduser() / self.name

    def expert_recipe(self, lang: str) -> Recipe:
        """The ``codebabel train`` recipe of one language's expert."""
        data = _substitute(dict(self.expert), lang)
        data.update(model=self.model, name=lang, output=str(self.run_dir / "experts"))
        data.setdefault("device", self.device)
        return recipe_from_dict(data, f"expert {lang}")

    def gate_data(self, lang: str) -> tuple[str, ...]:
        if self.gate.data:
            return tuple(d.replace("{lang}", lang) for d in self.gate.data)
        return self.expert_recipe(lang).stage_list()[-1][1].data


def _substitute(value: Any, lang: str) -> Any:
    if isinstance(value, str):
        return value.replace("{lang}", lang)
    if isinstance(value, list | tuple):
        return [_substitute(v, lang) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, lang) for k, v in value.items()}
    return value


def load_route_recipe(path: str | Path, sets: list[str] | tuple[str, ...] = ()) -> RouteRecipe:
    """Read and validate a routing recipe (``--set`` works as for ``codebabel train``)."""
    data = read_yaml(path, sets)
    where = str(path)
    r = build_typed(RouteRecipe, data, where)
    if not r.model:
        raise CodebabelError(f"recipe '{where}': 'model' is required (a registered name, folder, .gguf or Hub id)")
    if len(r.languages) < 2:
        raise CodebabelError(f"recipe '{where}': 'languages' needs at least two source languages to route between")
    names = [get_language(lang).name for lang in r.languages]  # unknown language → one-line error
    if len(set(names)) != len(names):
        raise CodebabelError(f"recipe '{where}': 'languages' lists a language twice ({', '.join(r.languages)})")
    for key in ("model", "name", "output"):
        if key in r.expert:
            raise CodebabelError(f"recipe '{where}': expert.{key} is set by the routing recipe; remove it")
    g = r.gate
    if g.steps < 1 or g.batch_size < 1 or g.seq_len < 2 or g.save_every < 1:
        raise CodebabelError(f"recipe '{where}': gate needs steps, batch_size, save_every >= 1 and seq_len >= 2")
    if (g.lr <= 0 or g.warmup_steps < 0 or g.weight_decay < 0 or g.label_weight < 0 or g.lm_weight < 0
            or g.completion_tokens < 0):
        raise CodebabelError(f"recipe '{where}': gate needs lr > 0 and warmup_steps, weight_decay, label_weight, "
                             "lm_weight, completion_tokens >= 0")
    if g.label_weight == 0 and g.lm_weight == 0:
        raise CodebabelError(f"recipe '{where}': gate.label_weight and gate.lm_weight are both 0, so nothing trains "
                             "the gate; set one of them above 0")
    if g.pool not in POOLS:
        raise CodebabelError(f"recipe '{where}': gate.pool '{g.pool}' is not one of {', '.join(POOLS)}")
    if not 0 <= g.hide_language_fraction <= 1:
        raise CodebabelError(f"recipe '{where}': gate.hide_language_fraction must be in [0, 1]")
    if r.ngram.n < 1 or r.ngram.alpha <= 0:
        raise CodebabelError(f"recipe '{where}': ngram needs n >= 1 and alpha > 0")
    r = RouteRecipe(**{**r.__dict__, "languages": tuple(names)})
    for lang in r.languages:
        r.expert_recipe(lang)  # every expert's recipe is valid before anything trains
    return r
