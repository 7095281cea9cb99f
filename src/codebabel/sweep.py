"""``codebabel sweep SWEEP.yaml``: a grid or a list of points over training settings (any recipe key, dotted as
for ``--set``) and sampling settings of the evaluation, each point a normal resumable run.

A sweep file names a base recipe (``recipe:``), the points (``grid:`` key → list of values, their cartesian
product; or ``points:`` a list of mappings), settings every point shares (``set:``), and optionally an
evaluation (``evaluate:``: benchmark, language, limit, sampling, ...). Keys ``temperature``, ``top_p``, ``top_k``,
``n``, ``max_new_tokens`` (or any ``evaluate.<key>``) are evaluation settings; any other key is a recipe key.

Each point is a ``codebabel train`` run of the base recipe with the point's training keys as ``--set`` overrides,
named after them (``<output>/<sweep>/runs/<point>/``; points that differ only in evaluation settings share it),
then ``codebabel evaluate`` of its adapter (or model) with the point's sampling settings
(``<output>/<sweep>/results/``). A rerun resumes: a finished run with the same recipe is not trained again, an
evaluation with the same settings reuses its stored results (its settings hash), an unfinished run continues
from its newest checkpoint. ``<output>/<sweep>/sweep.json`` (every point: its settings, run, final losses,
pass@k) and ``sweep.md`` (the same as a table) are rewritten after each point; ``codebabel report`` reads the
folder as a sweep section.

Every bad key or value is a one-line error naming the sweep file and the key, given before anything trains.
"""

from __future__ import annotations

import itertools
import json
import re
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from rich.console import Console

from codebabel.config import EvalConfig, ExecutionConfig, SamplingConfig
from codebabel.errors import CodebabelError
from codebabel.evaluate.functional import evaluate
from codebabel.inputs import read_yaml_mapping
from codebabel.report.sweeps import markdown, value_text
from codebabel.store import atomic_write_text, provenance
from codebabel.train.recipe import Recipe, load_recipe
from codebabel.train.trainer import run_dir, train

SUMMARY = "sweep.json"
#: grid keys that set the evaluation's sampling without the ``evaluate.`` prefix
SAMPLING_KEYS = ("temperature", "top_p", "top_k", "n", "max_new_tokens")
#: recipe keys a sweep sets itself
RESERVED = ("name", "output")


@dataclass(frozen=True)
class SweepEval:
    """The evaluation of every point: ``codebabel evaluate``'s flags, by the same names."""

    benchmark: str = "humaneval"
    language: str = "py"
    limit: int | None = None
    k: str = "1"
    n: int = SamplingConfig.n  # the sampling defaults are SamplingConfig's, as in `codebabel evaluate`
    temperature: float = SamplingConfig.temperature
    top_p: float = SamplingConfig.top_p
    top_k: int = SamplingConfig.top_k
    max_new_tokens: int = SamplingConfig.max_new_tokens
    seed: int = SamplingConfig.seed
    prompt_format: str = "auto"
    backend: str = "auto"
    device: str = "auto"
    batch_size: int = 8
    timeout: float = ExecutionConfig.timeout_s
    memory_mb: int = ExecutionConfig.memory_mb
    workers: int | None = None
    warm: bool = ExecutionConfig.warm


@dataclass(frozen=True)
class Point:
    """One point: its settings (``key: value`` as written), the training ones as ``--set`` items, the name of its
    training run, and its evaluation settings (``None``: not evaluated)."""

    index: int
    settings: dict[str, Any]
    sets: tuple[str, ...]
    run_name: str
    recipe: Recipe
    evaluation: SweepEval | None


@dataclass(frozen=True)
class SweepConfig:
    path: str
    name: str
    recipe: str
    output: str = "runs/sweeps"
    #: the keys that vary between points, in the order written
    keys: tuple[str, ...] = ()
    points: tuple[Point, ...] = ()
    evaluation: SweepEval | None = None
    shared: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return Path(self.output).expanduser() / self.name


# -- reading -------------------------------------------------------------------------------------------------------


def load_sweep(path: str | Path) -> SweepConfig:
    """Read and validate a sweep file: every point's recipe and evaluation settings are checked here, before
    anything trains; one-line :class:`CodebabelError` naming the file and the key."""
    p = Path(path).expanduser()
    where = f"sweep '{path}'"
    data = read_yaml_mapping(path, "sweep", "pass a sweep YAML (see configs/sweeps/)",
                             "a mapping (recipe, grid or points, evaluate, output)")
    known = ("name", "recipe", "output", "grid", "points", "set", "evaluate")
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise CodebabelError(f"{where}: unknown key '{unknown[0]}'; known keys: {', '.join(known)}")
    recipe = data.get("recipe")
    if not isinstance(recipe, str) or not recipe.strip():
        raise CodebabelError(f"{where}: 'recipe' is required: the base training recipe (a YAML path)")
    recipe_path = _recipe_path(recipe, p)
    name = data.get("name", p.stem)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", name):
        raise CodebabelError(f"{where}: name {name!r}: letters, digits and . _ + - only (a folder name)")
    output = data.get("output", "runs/sweeps")
    if not isinstance(output, str) or not output.strip():
        raise CodebabelError(f"{where}: output {output!r}: a folder path")
    shared = data.get("set") or {}
    if not isinstance(shared, dict):
        raise CodebabelError(f"{where}: set: a mapping of recipe keys (dotted) to values, got {shared!r}")
    ev_data = data.get("evaluate")
    if ev_data is not None and not isinstance(ev_data, dict):
        raise CodebabelError(f"{where}: evaluate: a mapping of evaluate settings (benchmark, language, limit, ...)")
    settings_list, keys = _points(data, where)
    for key in [*keys, *map(str, shared)]:
        if _train_key(key) in RESERVED:
            raise CodebabelError(f"{where}: key '{key}': the sweep names and places its runs itself (name, "
                                 "output of the sweep file)")
    for key in shared:
        if _eval_key(str(key)) is not None:
            raise CodebabelError(f"{where}: set: '{key}' is an evaluation setting; put it under evaluate:")
    evaluation = _typed(SweepEval, ev_data, f"{where}: evaluate") if ev_data is not None else None
    folder = Path(output).expanduser() / name
    points = []
    names: dict[str, int] = {}
    for i, settings in enumerate(settings_list):
        points.append(_point(i, settings, shared, recipe_path, folder, evaluation, where))
    for pt in points:
        first = names.setdefault(pt.run_name, pt.index)
        other = points[first]
        if first != pt.index and other.sets != pt.sets:
            raise CodebabelError(f"{where}: points {first} and {pt.index} give the same run name "
                                 f"'{pt.run_name}'; make their values differ in more than punctuation")
    return SweepConfig(path=str(path), name=name, recipe=str(recipe_path), output=output, keys=tuple(keys),
                       points=tuple(points), evaluation=evaluation, shared=dict(shared))


def _recipe_path(recipe: str, sweep: Path) -> Path:
    """The base recipe: as written (from the working folder), else beside the sweep file."""
    p = Path(recipe).expanduser()
    if p.is_file() or p.is_absolute():
        return p
    beside = sweep.parent / p
    return beside if beside.is_file() else p


def _points(data: dict, where: str) -> tuple[list[dict[str, Any]], list[str]]:
    grid, listed = data.get("grid"), data.get("points")
    if (grid is None) == (listed is None):
        raise CodebabelError(f"{where}: give exactly one of 'grid' (key: [values], every combination) or 'points' "
                             "(a list of key: value mappings)")
    if grid is not None:
        if not isinstance(grid, dict) or not grid:
            raise CodebabelError(f"{where}: grid: a mapping of keys (dotted, as for --set) to lists of values")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise CodebabelError(f"{where}: grid: {key}: a non-empty list of values, got {values!r}")
            if len({json.dumps(v, sort_keys=True, default=str) for v in values}) != len(values):
                raise CodebabelError(f"{where}: grid: {key}: a value is listed twice ({values!r})")
        keys = [str(k) for k in grid]
        combos = itertools.product(*grid.values())
        return [dict(zip(keys, combo, strict=True)) for combo in combos], keys
    if not isinstance(listed, list) or not listed:
        raise CodebabelError(f"{where}: points: a non-empty list of key: value mappings")
    keys: list[str] = []
    out = []
    for i, pt in enumerate(listed):
        if not isinstance(pt, dict) or not pt:
            raise CodebabelError(f"{where}: points.{i}: a mapping of keys (dotted) to values, got {pt!r}")
        out.append({str(k): v for k, v in pt.items()})
        keys += [str(k) for k in pt if str(k) not in keys]
    # keys every point gives the same value are settings of the sweep, not what it varies
    varied = [k for k in keys if len({json.dumps(p.get(k), sort_keys=True, default=str) for p in out}) > 1]
    return out, varied or keys


def _eval_key(key: str) -> str | None:
    """The evaluation setting a point key names (``temperature``, ``evaluate.limit``), or ``None``."""
    if key.startswith("evaluate."):
        return key.removeprefix("evaluate.")
    return key if key in SAMPLING_KEYS else None


def _train_key(key: str) -> str:
    return key.split(".")[0]


def _point(i: int, settings: dict[str, Any], shared: dict, recipe_path: Path, folder: Path,
           evaluation: SweepEval | None, where: str) -> Point:
    at = f"{where}: point {i} ({_describe(settings)})"
    train_items = {**{str(k): v for k, v in shared.items()},
                   **{k: v for k, v in settings.items() if _eval_key(k) is None}}
    ev_items = {_eval_key(k): v for k, v in settings.items() if _eval_key(k) is not None}
    if ev_items and evaluation is None:
        raise CodebabelError(f"{at}: '{next(k for k in settings if _eval_key(k))}' is an evaluation setting but the "
                             "sweep has no 'evaluate:' section")
    varied = {k: v for k, v in settings.items() if _eval_key(k) is None}
    run_name = _slug(varied) if varied else "base"
    sets = tuple(f"{k}={_set_value(v)}" for k, v in train_items.items())
    placed = (f"name={json.dumps(run_name)}", f"output={json.dumps(str(folder / 'runs'))}")
    try:
        recipe = load_recipe(recipe_path, [*sets, *placed])
    except CodebabelError as e:
        raise CodebabelError(f"{at}: {e}") from None
    ev = None
    if evaluation is not None:
        ev = _typed(SweepEval, {**asdict(evaluation), **ev_items}, at)
        eval_config(ev, recipe, folder, at)  # its checks (k <= n, sampling ranges), before anything trains
    return Point(i, dict(settings), sets, run_name, recipe, ev)


def _set_value(v: Any) -> str:
    """A value as ``--set`` reads it (YAML): a string that YAML reads back as itself (``1e-4``) stays bare."""
    import yaml

    if isinstance(v, str):
        try:
            if yaml.safe_load(v) == v:
                return v
        except yaml.YAMLError:
            pass
    return json.dumps(v)


def _describe(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={value_text(v)}" for k, v in settings.items())


def _slug(settings: dict[str, Any]) -> str:
    """A folder name for a point's training settings: ``lr-1e-4_lora.r-8``."""
    parts = [f"{k}-{re.sub(r'[^A-Za-z0-9.+-]+', '-', value_text(v)).strip('-') or 'x'}" for k, v in settings.items()]
    return "_".join(parts)[:120]


def _typed(cls, data: dict, where: str):
    """A dataclass of plain fields from a mapping; unknown keys and wrongly typed values are one-line errors."""
    hints = typing.get_type_hints(cls)
    known = [f.name for f in fields(cls)]
    for key in data:
        if key not in known:
            raise CodebabelError(f"{where}: unknown key '{key}'; known keys: {', '.join(known)}")
    values = {}
    for key, v in data.items():
        t = hints[key]
        if typing.get_origin(t) in (typing.Union, types.UnionType):
            if v is None:
                values[key] = None
                continue
            t = next(a for a in typing.get_args(t) if a is not type(None))
        ok = (isinstance(v, bool) if t is bool else
              isinstance(v, int) and not isinstance(v, bool) if t is int else
              isinstance(v, int | float | str) and not isinstance(v, bool) if t is float else
              isinstance(v, str | int) and not isinstance(v, bool))
        if ok and t is float:
            try:
                v = float(v)  # YAML reads 1e-4 (no dot) as a string
            except ValueError:
                ok = False
        if not ok:
            kind = {bool: "true or false", int: "an integer", float: "a number"}.get(t, "a string")
            raise CodebabelError(f"{where}: {key}: expected {kind}, got {v!r}")
        values[key] = str(v) if t is str else v
    return cls(**values)


def eval_config(ev: SweepEval, recipe: Recipe, folder: Path, where: str = "sweep") -> EvalConfig:
    """The point's ``codebabel evaluate`` settings: the run's adapter on the recipe's model (or the run's full
    model), into the sweep's ``results/``."""
    root = run_dir(recipe)
    lora = recipe.stage_list()[-1][1].method == "lora"
    try:
        return EvalConfig.from_flags(
            model=recipe.model if lora else str(root / "model"), adapter=str(root / "adapter") if lora else None,
            benchmark=ev.benchmark, language=ev.language, prompt_format=ev.prompt_format, backend=ev.backend,
            device=ev.device, batch_size=ev.batch_size, limit=ev.limit, k=ev.k, results_dir=str(folder / "results"),
            n=ev.n, temperature=ev.temperature, top_p=ev.top_p, top_k=ev.top_k, max_new_tokens=ev.max_new_tokens,
            seed=ev.seed, timeout=ev.timeout, memory_mb=ev.memory_mb, workers=ev.workers, warm=ev.warm)
    except CodebabelError as e:
        raise CodebabelError(f"{where}: evaluate: {e}") from None


# -- running -------------------------------------------------------------------------------------------------------


def run_sweep(cfg: SweepConfig, console: Console | None = None, only_train: bool = False) -> dict:
    """Every point in order: train (or reuse the finished run), then evaluate (or reuse the stored results);
    ``sweep.json`` and ``sweep.md`` rewritten after each point. Returns the summary. ``only_train``: no
    evaluation this time (the summary keeps what earlier runs measured)."""
    console = console or Console(stderr=True)
    folder = cfg.folder
    folder.mkdir(parents=True, exist_ok=True)
    previous = _previous(folder)
    rows: list[dict] = []
    trained: dict[str, dict] = {}
    for pt in cfg.points:
        console.print(f"sweep {cfg.name}: point {pt.index + 1}/{len(cfg.points)} {_describe(pt.settings)}",
                      highlight=False)
        row = {"index": pt.index, "settings": pt.settings, "run": pt.run_name, "train_sets": list(pt.sets)}
        if pt.run_name not in trained:
            trained[pt.run_name] = _train_point(pt, console)
        row.update(trained[pt.run_name])
        if pt.evaluation is not None and not only_train:
            ev = evaluate(eval_config(pt.evaluation, pt.recipe, folder), console=console)
            row["eval"] = {"run_dir": ev["run_dir"], "pass_at_k": ev["pass_at_k"], "passed": ev["passed"],
                           "samples": ev["samples"], "problems": ev["problems"],
                           "status_counts": ev["status_counts"], "new_samples": ev["new_samples"],
                           "sampling": {k: getattr(pt.evaluation, k) for k in SAMPLING_KEYS}}
        elif pt.evaluation is not None and (old := previous.get(pt.index)) and old.get("eval"):
            row["eval"] = {**old["eval"], "new_samples": 0}
        rows.append(row)
        _write(cfg, rows, finished=False)
    return _write(cfg, rows, finished=True)


def _previous(folder: Path) -> dict[int, dict]:
    try:
        data = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
        return {int(r["index"]): r for r in data.get("points") or []}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _plain(recipe: Recipe) -> Any:
    return json.loads(json.dumps(asdict(recipe), default=str))


def _train_point(pt: Point, console: Console) -> dict:
    """Train the point's run, or reuse it: finished with the same recipe, nothing runs; unfinished, it resumes;
    trained with another recipe, a one-line error (the base recipe changed under the sweep)."""
    root = run_dir(pt.recipe)
    done = root / "summary.json"
    plain = _plain(pt.recipe)
    recorded = root / "recipe.json"
    if recorded.is_file():
        old = json.loads(recorded.read_text(encoding="utf-8"))
        if old != plain:
            changed = sorted(k for k in set(old) | set(plain) if old.get(k) != plain.get(k))
            raise CodebabelError(f"sweep point '{pt.run_name}': its run folder {root} was trained with another recipe "
                                 f"(differs in {', '.join(changed[:5])}); remove that folder or rename the sweep")
    if done.is_file() and recorded.is_file():
        summary = json.loads(done.read_text(encoding="utf-8"))
        status = "reused"
        console.print(f"  run {root}: finished, not trained again", highlight=False)
    else:
        summary = train(pt.recipe, resume=root.exists(), console=console)
        status = "trained"
    stages = summary.get("stages") or []
    last = stages[-1] if stages else {}
    return {"run_dir": str(root), "result": summary.get("result"), "train": status,
            "train_loss": last.get("train_loss"), "eval_loss": last.get("eval_loss"),
            "steps": sum(int(s.get("steps") or 0) for s in stages),
            "train_wall_s": sum(float(s.get("wall_s") or 0) for s in stages)}


def _write(cfg: SweepConfig, rows: list[dict], finished: bool) -> dict:
    summary = {"sweep": cfg.name, "file": cfg.path, "recipe": cfg.recipe, "keys": list(cfg.keys),
               "set": cfg.shared, "evaluate": asdict(cfg.evaluation) if cfg.evaluation else None,
               "points": rows, "total_points": len(cfg.points), "finished": finished and len(rows) == len(cfg.points),
               "provenance": provenance()}
    folder = cfg.folder
    atomic_write_text(folder / SUMMARY, json.dumps(summary, indent=2, default=str) + "\n")
    atomic_write_text(folder / "sweep.md", markdown(summary))
    summary["summary_path"] = str(folder / SUMMARY)
    return summary
