"""Training recipes: a YAML file → a typed, validated :class:`Recipe` (``codebabel train RECIPE.yaml``).

A recipe names the base model, the data (corpus folders or JSONL sample files, train/samples.py), the method (``lora`` | ``full``) and the
hyperparameters; ``stages:`` is a curriculum, each stage with its own data and overrides of any top-level
training field, run in order. ``--set key=value`` overrides any field after the file is read, with dotted
paths (``lora.r=16``, ``stages.1.max_steps=50``); values are YAML (``true``, ``1e-4``, ``[q_proj, v_proj]``).

Every bad key or value is a one-line error naming the file, the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from codebabel.errors import CodebabelError
from codebabel.inputs import read_yaml_mapping

METHODS = ("lora", "full")
SCHEDULES = ("linear", "cosine", "constant", "constant_with_warmup")
OPTIMIZERS = ("adamw_torch", "adamw_torch_fused", "adafactor", "sgd")
DTYPES = ("auto", "float32", "bfloat16", "float16")
#: ``report_to`` names → the package each needs (``none``: no tracker; metrics.jsonl is always written)
TRACKERS = {"tensorboard": "tensorboard", "wandb": "wandb"}


@dataclass(frozen=True)
class LoraSettings:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    #: module names to adapt; empty = detected from the architecture (models/lora.py)
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hyper:
    """The fields a stage may override."""

    method: str = "lora"
    lr: float = 2e-4
    schedule: str = "cosine"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    optimizer: str = "adamw_torch"
    batch_size: int = 4
    grad_accum: int = 1
    seq_len: int = 512
    epochs: float = 1.0
    #: when set, stop after this many optimizer steps (overrides epochs)
    max_steps: int | None = None
    #: validation perplexity every N steps (None: at the end of each stage only)
    eval_every: int | None = None
    save_every: int = 100
    gradient_checkpointing: bool = False
    #: train the loss in chunks of this many tokens without full logits (train/loss.py); 0 = the model's own
    loss_chunk_tokens: int = 256
    dtype: str = "auto"
    split: str = "train"
    eval_split: str = "validation"
    data: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stage:
    name: str
    data: tuple[str, ...] = ()
    #: top-level training fields this stage changes (e.g. lr, max_steps, seq_len)
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe(Hyper):
    model: str = ""
    name: str = "run"
    output: str = "runs"
    seed: int = 0
    device: str = "auto"
    lora: LoraSettings = field(default_factory=LoraSettings)
    stages: tuple[Stage, ...] = ()
    #: trackers, besides metrics.jsonl: tensorboard (event files in RUN/tensorboard/<stage>/), wandb (an offline run
    #: in RUN/wandb/ unless WANDB_MODE is set), or none; a tracker whose package is missing is an error
    report_to: tuple[str, ...] = ()
    #: CPU (glibc): give freed tensor memory back to the OS at once; peak RSS about halves, steps slower (bench/training.py)
    release_memory: bool = False

    def stage_list(self) -> list[tuple[str, Hyper]]:
        """The stages to run in order, each as its effective hyperparameters (one implicit stage if none)."""
        base = Hyper(**{f.name: getattr(self, f.name) for f in fields(Hyper)})
        if not self.stages:
            return [("main", base)]
        out = []
        for st in self.stages:
            hyper = _build(Hyper, {**_as_plain(base), **st.overrides, **({"data": list(st.data)} if st.data else {})},
                           f"stages.{st.name}")
            out.append((st.name, hyper))
        return out


def load_recipe(path: str | Path, sets: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Read, override (``key=value``) and validate a recipe; one-line :class:`CodebabelError` on any problem."""
    return recipe_from_dict(read_yaml(path, sets), str(path))


def recipe_from_dict(data: dict, where: str) -> Recipe:
    """A validated :class:`Recipe` from a recipe mapping (``where`` names it in errors)."""
    recipe = _build(Recipe, data, where)
    _check(recipe, where)
    return recipe


def read_yaml(path: str | Path, sets: list[str] | tuple[str, ...] = ()) -> dict:
    """A YAML mapping from ``path`` with ``--set key=value`` overrides applied (dotted paths, YAML values)."""
    import yaml

    data = read_yaml_mapping(path, "recipe", "pass a YAML recipe (see configs/)", "a mapping of settings")
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise CodebabelError(f"--set {item!r}: write it as key=value (e.g. lr=1e-4 or lora.r=16)")
        _set_path(data, key.strip(), yaml.safe_load(raw) if raw.strip() else "", item)
    return data


# -- validation -----------------------------------------------------------------------------------------------
def _check(r: Recipe, where: str) -> None:
    if not r.model:
        raise CodebabelError(f"recipe '{where}': 'model' is required (a registered name, folder, .gguf or Hub id)")
    names = [s.name for s in r.stages]
    if len(set(names)) != len(names):
        raise CodebabelError(f"recipe '{where}': stage names must be unique (got {names})")
    for name, h in r.stage_list():
        at = f"recipe '{where}'" + (f" stage '{name}'" if r.stages else "")
        if h.method not in METHODS:
            raise CodebabelError(f"{at}: method {h.method!r} is unknown; use one of {', '.join(METHODS)}")
        if h.schedule not in SCHEDULES:
            raise CodebabelError(f"{at}: schedule {h.schedule!r} is unknown; use one of {', '.join(SCHEDULES)}")
        if h.optimizer not in OPTIMIZERS:
            raise CodebabelError(f"{at}: optimizer {h.optimizer!r} is unknown; use one of {', '.join(OPTIMIZERS)}")
        if h.dtype not in DTYPES:
            raise CodebabelError(f"{at}: dtype {h.dtype!r} is unknown; use one of {', '.join(DTYPES)}")
        for key in ("batch_size", "grad_accum", "seq_len", "save_every"):
            if getattr(h, key) < 1:
                raise CodebabelError(f"{at}: {key} must be at least 1 (got {getattr(h, key)})")
        if h.loss_chunk_tokens < 0:
            raise CodebabelError(f"{at}: loss_chunk_tokens must be >= 0 (0 = the model's own loss)")
        if h.lr <= 0 or not 0 <= h.warmup_ratio < 1 or h.weight_decay < 0:
            raise CodebabelError(f"{at}: lr must be > 0, warmup_ratio in [0, 1), weight_decay >= 0")
        if h.max_steps is None and h.epochs <= 0:
            raise CodebabelError(f"{at}: set epochs > 0 or max_steps")
        if h.max_steps is not None and h.max_steps < 1:
            raise CodebabelError(f"{at}: max_steps must be at least 1 (got {h.max_steps})")
        if not h.data:
            raise CodebabelError(f"{at}: no data; give 'data:' corpus folders (codebabel corpus build) or "
                                 "JSONL sample files")
    if r.lora.r < 1 or r.lora.alpha < 1 or not 0 <= r.lora.dropout < 1:
        raise CodebabelError(f"recipe '{where}': lora needs r >= 1, alpha >= 1, dropout in [0, 1)")
    trackers(r, where)


def trackers(r: Recipe, where: str = "recipe") -> list[str]:
    """The recipe's ``report_to`` trackers (``none`` dropped), each known and its package installed; else a
    one-line error naming the key and the ``pip install`` that fixes it."""
    import importlib.util

    names = [n.strip().lower() for n in r.report_to]
    for name in names:
        if name != "none" and name not in TRACKERS:
            raise CodebabelError(f"recipe '{where}': report_to {name!r} is unknown; use "
                                 f"{', '.join(TRACKERS)} or none")
    if "none" in names and len(names) > 1:
        raise CodebabelError(f"recipe '{where}': report_to lists none with {', '.join(n for n in names if n != 'none')}"
                             "; keep one")
    out = [n for n in names if n != "none"]
    for name in out:
        if importlib.util.find_spec(TRACKERS[name]) is None:
            raise CodebabelError(f"recipe '{where}': report_to {name} needs the {TRACKERS[name]} package, which is "
                                 f"not installed; pip install {TRACKERS[name]} (or 'codebabel[trackers]'), or "
                                 "drop it from report_to")
    return out


# -- dict → dataclass ------------------------------------------------------------------------------------------
def build_typed(cls, data: Any, where: str):
    """A dataclass ``cls`` from a mapping: unknown keys and wrongly typed values are one-line errors."""
    return _build(cls, data, where)


def _build(cls, data: Any, where: str):
    if not isinstance(data, dict):
        raise CodebabelError(f"recipe '{where}': expected a mapping for {cls.__name__}, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CodebabelError(f"recipe '{where}': unknown key '{unknown[0]}'; known keys: {', '.join(sorted(known))}")
    values = {k: _convert(hints[k], v, f"{where}: {k}") for k, v in data.items()}
    return cls(**values)


def _convert(t: Any, v: Any, where: str) -> Any:
    origin = typing.get_origin(t)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(t) if a is not type(None)]
        if v is None:
            return None
        return _convert(args[0], v, where)
    if dataclasses.is_dataclass(t):
        return _build(t, v, where)
    if origin is tuple:
        item = typing.get_args(t)[0]
        seq = [v] if isinstance(v, str | dict) else v
        if not isinstance(seq, list | tuple):
            raise CodebabelError(f"recipe {where}: expected a list, got {v!r}")
        if item is Stage:
            return tuple(_stage(s, f"{where}.{i}") for i, s in enumerate(seq))
        return tuple(_convert(item, x, where) for x in seq)
    if origin is dict or t is dict:
        if not isinstance(v, dict):
            raise CodebabelError(f"recipe {where}: expected a mapping, got {v!r}")
        return dict(v)
    if t is bool:
        if not isinstance(v, bool):
            raise CodebabelError(f"recipe {where}: expected true or false, got {v!r}")
        return v
    if t is int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise CodebabelError(f"recipe {where}: expected an integer, got {v!r}")
        return v
    if t is float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            try:
                return float(v)  # YAML reads 1e-4 (no dot) as a string
            except (TypeError, ValueError):
                raise CodebabelError(f"recipe {where}: expected a number, got {v!r}") from None
        return float(v)
    if t is str:
        if not isinstance(v, str | int | float) or isinstance(v, bool):
            raise CodebabelError(f"recipe {where}: expected a string, got {v!r}")
        return str(v)
    return v


def _stage(v: Any, where: str) -> Stage:
    if not isinstance(v, dict) or "name" not in v:
        raise CodebabelError(f"recipe {where}: a stage is a mapping with at least 'name' (and data, overrides)")
    hyper = {f.name for f in fields(Hyper)}
    extra = {k: x for k, x in v.items() if k not in ("name", "data")}
    unknown = sorted(set(extra) - hyper)
    if unknown:
        raise CodebabelError(f"recipe {where}: '{unknown[0]}' cannot be set per stage; stages may set "
                             f"{', '.join(sorted(hyper))}")
    data = v.get("data", ())
    return Stage(name=str(v["name"]), data=tuple([data] if isinstance(data, str) else data), overrides=extra)


def _as_plain(h: Hyper) -> dict:
    d = {f.name: getattr(h, f.name) for f in fields(h)}
    d["data"] = list(d["data"])
    return d


def _set_path(data: dict, key: str, value: Any, item: str) -> None:
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        nxt_is_index = parts[i + 1].isdigit()
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise CodebabelError(f"--set {item!r}: no item {part} in '{'.'.join(parts[:i])}'")
            node = node[int(part)]
            continue
        if part not in node or node[part] is None:
            if nxt_is_index:
                raise CodebabelError(f"--set {item!r}: '{'.'.join(parts[:i + 1])}' is not a list in the recipe")
            node[part] = {}
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise CodebabelError(f"--set {item!r}: no item {last} in '{'.'.join(parts[:-1])}'")
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise CodebabelError(f"--set {item!r}: '{'.'.join(parts[:-1])}' is not a mapping")
