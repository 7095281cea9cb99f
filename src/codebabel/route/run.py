"""The folder of a routing run (``codebabel route train-experts``) and what is read back from it.

``RUN/experts/<lang>/`` is one ordinary ``codebabel train`` run per language (its LoRA in ``adapter/``);
``RUN/router/`` holds the gate, the n-gram router and ``router.json``. :func:`load_experts` puts every adapter
on one base model (a ``PeftModel`` whose adapter names are the language names), unmerged.
"""

from __future__ import annotations

import json
from pathlib import Path

from codebabel.errors import CodebabelError
from codebabel.models.loading import ModelSource, load_model
from codebabel.store import file_digest

ROUTER_DIR = "router"


def expert_adapter(run: Path, lang: str) -> Path:
    return run / "experts" / lang / "adapter"


def expert_fingerprints(run: Path, languages) -> dict[str, str]:
    """The sha256 of each expert's weights: a retrained expert means a new gate."""
    return {lang: file_digest(expert_adapter(run, lang) / "adapter_model.safetensors") for lang in languages}


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
                 dtype: str = "auto", model_spec: str | ModelSource | None = None):
    """``(peft_model, tokenizer, languages)``: the base model (``model_spec``, a spec or an already resolved
    source; default the experts' own) with every expert attached under its language name (unmerged, eval
    mode)."""
    from peft import PeftModel

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
