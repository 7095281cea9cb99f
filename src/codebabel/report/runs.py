"""Runs on disk, read back: what ``codebabel runs list`` lists and ``codebabel report`` draws.

Each kind is told by the files its command writes (nothing else is needed, nothing is written here):

- ``eval`` (``codebabel evaluate``): ``settings.json`` naming a ``benchmark``, then ``summary.json`` (finished) or
  only ``results.jsonl`` (partial: counted from its rows), ``results/<benchmark>-<lang>-<model>-<hash>/``;
- ``translation`` (``codebabel evaluate translation --out DIR``): ``summary.json`` with ``per_language`` (and
  ``routing`` with experts), or only ``generations.json`` (partial: generated, not scored);
- ``train`` (``codebabel train``): ``recipe.json`` beside ``metrics.jsonl`` (a line per step), ``stages/`` and,
  once finished, ``summary.json``;
- ``route`` (``codebabel route train-experts``): ``experts/<lang>/`` (each a train run) and ``router/``; the
  ``codebabel route accuracy --out FILE`` reports inside it (JSON files holding confusion matrices per router),
  and such a report file on its own;
- ``synth`` (``codebabel synth``): ``<n>-<stage>[-<lang>]-<hash>/`` stage folders, ``summary.json``,
  ``dataset/funnel.json`` once the last stage ran;
- ``perplexity`` (``codebabel evaluate perplexity --out FILE``): that JSON file (``model``, ``adapter``,
  ``split``, ``context``, ``stride`` and ``results``, one row per corpus with its ``language`` and ``perplexity``).

:func:`read_run` reads one path (a one-line error when it is no run); :func:`find_runs` walks the usual output
folders (``results/``, ``runs/``), never raising for a folder it cannot read: it is skipped and counted.
"""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codebabel.errors import CodebabelError
from codebabel.evaluate.passk import mean_pass_at_k
from codebabel.inputs import read_json
from codebabel.languages import get_language

KINDS = ("eval", "train", "translation", "synth", "route", "perplexity", "sweep")
DEFAULT_ROOTS = ("results", "runs")
#: how deep below a root a run folder is looked for (runs/quickstart/results/<run> is 3)
MAX_DEPTH = 4
#: a synth stage folder: <n>-<stage>[-<lang>]-<16 hex digits>
STAGE_DIR = re.compile(r"^(\d+)-(functions|tests|translate|solutions)(?:-(.+))?-([0-9a-f]{16})$")


@dataclass
class Run:
    """One run: what the listing shows (``name``, ``settings``, ``headline``), the numbers behind the headline
    (``metrics``), and the kind's data the report's figures and tables read (``data``)."""

    kind: str
    path: Path
    name: str
    settings: str
    headline: str
    finished: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"kind": self.kind, "path": str(self.path), "name": self.name, "settings": self.settings,
                "headline": self.headline, "finished": self.finished, "metrics": self.metrics}


@dataclass
class Found:
    """What :func:`find_runs` found: the runs, and the folders skipped (``(path, why)``)."""

    runs: list[Run]
    skipped: list[tuple[str, str]]

    def to_json(self) -> dict:
        return {"runs": [r.to_json() for r in self.runs],
                "skipped": [{"path": p, "reason": why} for p, why in self.skipped]}


class NotARun(CodebabelError):
    """The path holds none of the files any run kind writes."""


# -- reading files -------------------------------------------------------------------------------------------------


def _json(path: Path) -> Any:
    return read_json(path, "run file")


def _dict(path: Path) -> dict:
    data = _json(path)
    if not isinstance(data, dict):
        raise CodebabelError(f"{path}: not a JSON object")
    return data


def _jsonl(path: Path) -> list[dict]:
    """The rows of a run's JSONL log; a partial last line (a run killed while writing) is dropped, any other bad
    line is a one-line error naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CodebabelError(f"{path}: cannot be read ({e.__class__.__name__})") from None
    lines = text.split("\n")
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            if i == len(lines):  # no newline after it: a partial last line
                break
            raise CodebabelError(f"{path}:{i}: not valid JSON") from None
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _short_model(identity: Any) -> str:
    """A model's identity without its digest (``qwen2.5-coder-0.5b@sha256:...`` -> ``qwen2.5-coder-0.5b``)."""
    text = str(identity or "?")
    return text.split("@", 1)[0]


def adapter_name(identity: str | None) -> str | None:
    """A short name for an adapter identity (``/x/runs/q/train-2179/adapter@hash`` -> ``train-2179``)."""
    if not identity:
        return None
    p = Path(_short_model(identity))
    return p.parent.name if p.name in ("adapter", "model", "final") and p.parent.name else p.name


def language_name(code: str) -> str:
    try:
        return get_language(code).display_name
    except CodebabelError:
        return code


# -- detection -----------------------------------------------------------------------------------------------------


def _kind_of(path: Path) -> str | None:
    """The run kind a folder's files say, or ``None``."""
    if path.is_file():
        if path.suffix != ".json":
            return None
        if _accuracy_report(path) is not None:
            return "route"
        return "perplexity" if _perplexity_report(path) is not None else None
    if not path.is_dir():
        return None
    has = {p.name for p in path.iterdir()}
    if "sweep.json" in has:
        return "sweep"
    if "experts" in has and (path / "experts").is_dir() and any((path / "experts").glob("*/recipe.json")):
        return "route"
    if "router" in has and (path / "router" / "router.json").is_file():
        return "route"
    if "recipe.json" in has and has & {"metrics.jsonl", "summary.json", "stages"}:
        return "train"
    if STAGE_DIR.match(path.name):
        return None  # one stage of a synth run, read with its run
    if "settings.json" in has and has & {"summary.json", "results.jsonl"}:
        try:
            settings = _json(path / "settings.json")
        except CodebabelError:
            return "eval"  # read_run names the broken file
        if isinstance(settings, dict) and "benchmark" in settings:
            return "eval"
    if "summary.json" in has or "generations.json" in has:
        try:
            summary = _json(path / ("summary.json" if "summary.json" in has else "generations.json"))
        except CodebabelError:
            summary = None
        if isinstance(summary, dict):
            if "per_language" in summary or ("generations.json" in has and "result" in summary
                                             and "summary.json" not in has):
                return "translation"
            if isinstance(summary.get("stages"), dict) and "functions" in summary["stages"]:
                return "synth"
    if any(STAGE_DIR.match(name) for name in has):
        return "synth"
    return None


def _accuracy_report(path: Path) -> dict | None:
    """A ``codebabel route accuracy --out`` report: ``{languages, <router>: {<mode>: {confusion, ...}}}``."""
    try:
        if path.stat().st_size > 20_000_000:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("languages"), list):
        return None
    routers = {k: v for k, v in data.items() if isinstance(v, dict)
               and any(isinstance(m, dict) and "confusion" in m for m in v.values())}
    return data if routers else None


def _perplexity_report(path: Path) -> dict | None:
    """A ``codebabel evaluate perplexity --out`` report: ``{model, adapter, split, context, stride, results:
    [{language, perplexity, bits_per_byte, ...}]}``."""
    try:
        if path.stat().st_size > 5_000_000:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not {"model", "context", "stride", "results"} <= set(data):
        return None
    rows = data["results"]
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "language" in r and "perplexity" in r
                                             for r in rows):
        return None
    return data


def read_run(path: str | Path) -> Run:
    """The run at ``path`` (a run folder, or a route accuracy report file); a one-line error when it is none or
    cannot be read."""
    p = Path(path)
    if not p.exists():
        raise CodebabelError(f"run '{path}': no such file or folder")
    try:
        kind = _kind_of(p)
    except OSError as e:
        raise CodebabelError(f"run '{path}': cannot be read ({e.__class__.__name__}: {e.strerror})") from None
    if kind is None:
        raise NotARun(f"run '{path}': not a codebabel run (none of the files evaluate, evaluate translation, "
                      "evaluate perplexity, train, route train-experts or synth write: summary.json, "
                      "settings.json, recipe.json, ...)")
    reader = {"eval": _read_eval, "translation": _read_translation, "train": _read_train, "synth": _read_synth,
              "route": _read_route, "perplexity": _read_perplexity, "sweep": _read_sweep}[kind]
    try:
        return reader(p)
    except CodebabelError as e:
        raise CodebabelError(f"run '{path}': {str(e).removeprefix(f'{p}/')}") from None
    except OSError as e:
        raise CodebabelError(f"run '{path}': cannot be read ({e.__class__.__name__}: {e.strerror})") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise CodebabelError(f"run '{path}': a {kind} run whose files are not as expected "
                             f"({e.__class__.__name__}: {str(e)[:120]})") from None


def find_runs(roots: Sequence[str | Path] | None = None, kind: str | None = None) -> Found:
    """Every run under ``roots`` (default: those of ``results/`` and ``runs/`` that exist), of ``kind`` if given.
    A folder that is no run and holds none is skipped and counted, as is a run that cannot be read."""
    if kind is not None and kind not in KINDS:
        raise CodebabelError(f"--kind {kind}: unknown; use one of {', '.join(KINDS)}")
    if roots:
        for r in roots:
            if not Path(r).is_dir():
                raise CodebabelError(f"--root {r}: no such folder")
        dirs = [Path(r) for r in roots]
    else:
        dirs = [Path(r) for r in DEFAULT_ROOTS if Path(r).is_dir()]
    runs: list[Run] = []
    skipped: list[tuple[str, str]] = []
    seen: set[Path] = set()
    for root in dirs:
        _walk(root, 0, runs, skipped, seen, is_root=True)
    if kind is not None:
        runs = [r for r in runs if r.kind == kind]
    runs.sort(key=lambda r: (KINDS.index(r.kind), str(r.path)))
    return Found(runs, skipped)


def _walk(folder: Path, depth: int, runs: list[Run], skipped: list[tuple[str, str]], seen: set[Path],
          is_root: bool = False) -> bool:
    """Look for runs in ``folder``; whether one was found there or below."""
    real = folder.resolve()
    if real in seen:
        return True
    seen.add(real)
    try:
        kind = _kind_of(folder)
    except OSError as e:
        skipped.append((str(folder), f"cannot be read ({e.__class__.__name__})"))
        return False
    if kind is not None:
        try:
            runs.append(read_run(folder))
        except CodebabelError as e:
            skipped.append((str(folder), str(e).removeprefix(f"run '{folder}': ")))
        if kind == "sweep":  # its points' runs are runs of their own
            for sub in ("runs", "results"):
                if (folder / sub).is_dir() and depth < MAX_DEPTH:
                    _walk(folder / sub, depth + 1, runs, skipped, seen)
        return True
    try:
        entries = sorted(folder.iterdir())
    except OSError as e:
        skipped.append((str(folder), f"cannot be read ({e.__class__.__name__})"))
        return False
    if (folder / "manifest.json").is_file() and (folder / "train").is_dir():
        return False  # a corpus (codebabel corpus build): data, not a run
    found = False
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and depth < MAX_DEPTH:
            found |= _walk(entry, depth + 1, runs, skipped, seen)
        elif entry.is_file() and entry.suffix == ".json" and _accuracy_report(entry) is not None:
            runs.append(_read_route(entry))
            found = True
        elif entry.is_file() and entry.suffix == ".json" and _perplexity_report(entry) is not None:
            runs.append(_read_perplexity(entry))
            found = True
    if not found and not is_root and any(e.is_file() for e in entries):
        skipped.append((str(folder), "not a run"))
    return found


# -- eval ----------------------------------------------------------------------------------------------------------


def _read_eval(path: Path) -> Run:
    settings = _dict(path / "settings.json")
    if "benchmark" not in settings:
        raise CodebabelError("settings.json names no benchmark")
    finished = (path / "summary.json").is_file()
    if finished:
        s = _dict(path / "summary.json")
    else:
        s = _partial_eval(path / "results.jsonl")
    benchmark = str(settings["benchmark"])
    language = str(settings.get("language") or s.get("language"))
    source = str(s.get("source") or _short_model(settings.get("source")))
    adapter = adapter_name(settings.get("adapter"))
    fmt, backend = settings.get("prompt_format"), settings.get("backend")
    extras = ", ".join(x for x in (fmt, backend) if x)
    name = f"{benchmark} / {language} / {source}" + (f" + {adapter}" if adapter else "") + (f" ({extras})" if extras else "")
    sampling = settings.get("sampling") or {}
    problems, passed, samples = s.get("problems", 0), s.get("passed", 0), s.get("samples", 0)
    translated = s.get("translated")
    parts = []
    if sampling:
        parts.append(f"n={sampling.get('n')} T={sampling.get('temperature'):g}" if sampling.get("temperature") is not None
                     else f"n={sampling.get('n')}")
        parts.append(f"max_new_tokens {sampling.get('max_new_tokens')}")
    else:
        parts.append(f"{source} samples")
    parts.append(f"{problems} problems" + (f" of {translated}" if translated and problems != translated else ""))
    if settings.get("execution", {}).get("timeout_s") is not None:
        parts.append(f"timeout {settings['execution']['timeout_s']:g} s")
    pass_k = {k: float(v) for k, v in (s.get("pass_at_k") or {}).items()}
    first = pass_k.get("pass@1")
    headline = (f"pass@1 {_pct(first)} ({passed}/{samples if samples != problems else problems})" if first is not None
                else "no results yet")
    others = [f"{k} {_pct(v)}" for k, v in pass_k.items() if k != "pass@1"]
    if others:
        headline += ", " + ", ".join(others)
    if not finished:
        headline += " (partial)"
    data = {"benchmark": benchmark, "language": language, "language_name": language_name(language),
            "source": source, "model": _short_model(settings.get("source")), "adapter": adapter,
            "adapter_identity": settings.get("adapter"), "prompt_format": fmt, "backend": backend,
            "sampling": sampling, "execution": settings.get("execution") or {}, "problems": problems,
            "samples": samples, "passed": passed, "pass_at_k": pass_k,
            "status_counts": dict(s.get("status_counts") or {}), "translated": translated,
            "time": s.get("time") or {}, "settings": settings}
    metrics = {**pass_k, "passed": passed, "samples": samples, "problems": problems}
    return Run("eval", path, name, ", ".join(parts), headline, finished, metrics, data)


def _partial_eval(results: Path) -> dict:
    """What a run without summary.json has done so far, from its results.jsonl."""
    rows = _jsonl(results) if results.is_file() else []
    per_task: dict[str, list[bool]] = {}
    statuses: dict[str, int] = {}
    for row in rows:
        per_task.setdefault(str(row["task_id"]), []).append(bool(row.get("passed")))
        statuses[row.get("status", "?")] = statuses.get(row.get("status", "?"), 0) + 1
    out: dict = {"problems": len(per_task), "samples": sum(len(v) for v in per_task.values()),
                 "passed": sum(sum(v) for v in per_task.values()), "status_counts": statuses, "pass_at_k": {}}
    if per_task:
        out["pass_at_k"]["pass@1"] = mean_pass_at_k([(len(v), sum(v)) for v in per_task.values()], 1)
    return out


# -- perplexity ----------------------------------------------------------------------------------------------------


def _read_perplexity(path: Path) -> Run:
    report = _perplexity_report(path)
    if report is None:
        raise CodebabelError("not an evaluate perplexity report")
    model = _short_model(report.get("model"))
    adapter = adapter_name(report.get("adapter"))
    rows = [r for r in report["results"] if isinstance(r.get("perplexity"), int | float)]
    per = {}
    for r in rows:
        lang = str(r["language"])
        key = lang if lang not in per else f"{lang} ({_short_path(r.get('corpus'))})"
        per[key] = {"language": lang, "perplexity": float(r["perplexity"]),
                    "bits_per_byte": r.get("bits_per_byte"), "tokens": r.get("tokens"), "corpus": r.get("corpus")}
    langs = ", ".join(dict.fromkeys(v["language"] for v in per.values()))
    name = f"perplexity / {langs} / {model}" + (f" + {adapter}" if adapter else "")
    parts = [f"split {report.get('split')}", f"context {report.get('context')} stride {report.get('stride')}"]
    if report.get("limit"):
        parts.append(f"limit {report['limit']} documents")
    headline = ", ".join(f"{k} {v['perplexity']:.3f}" for k, v in per.items()) or "no results"
    data = {"model": model, "adapter": adapter, "adapter_identity": report.get("adapter"),
            "split": report.get("split"), "per_language": per, "report": report}
    metrics = {k: v["perplexity"] for k, v in per.items()}
    return Run("perplexity", path, name, ", ".join(parts), headline, True, metrics, data)


# -- translation ---------------------------------------------------------------------------------------------------


def _read_translation(path: Path) -> Run:
    finished = (path / "summary.json").is_file()
    if finished:
        s = _dict(path / "summary.json")
        settings = s.get("settings") or {}
        config = s.get("config") or {}
        per = {k: v for k, v in s["per_language"].items() if isinstance(v, dict)}
    else:
        s, config, per = {}, {}, {}
        settings = _dict(path / "generations.json").get("settings") or {}
    langs = [k for k in per if k != "all"] or list(settings.get("languages") or [])
    experts = config.get("experts") or settings.get("experts")
    if isinstance(experts, dict):  # the generation settings name the run as {"run", "router", "gate_mtime"}
        experts = experts.get("run")
    who = f"experts {Path(str(experts)).name}" if experts else _short_model(settings.get("model") or config.get("model"))
    fmt = settings.get("prompt_format") or config.get("prompt_format")
    target = config.get("target", "py")
    name = f"translation / {','.join(langs)} → {target} / {who}" + (f" ({fmt})" if fmt else "")
    parts = [f"split {s.get('split', config.get('split', '?'))}"]
    if "all" in per:
        parts.append(f"{per['all'].get('n')} pairs")
    parts.append(f"max_new_tokens {settings.get('max_new_tokens', config.get('max_new_tokens'))}")
    if experts:
        parts.append(f"router {config.get('router', '?')}, mode {settings.get('mode', config.get('mode'))}")
    if settings.get("hide_language"):
        parts.append("language hidden")
    routing = s.get("routing")
    total = per.get("all") or {}
    if finished:
        headline = (f"exec acc {_pct(total.get('execution_accuracy'))}, CodeBLEU "
                    f"{total.get('codebleu', 0):.3f} ({total.get('n')} pairs)")
        if routing:
            headline += f", routing {_pct(routing.get('overall'))}"
    else:
        headline = "generated, not scored yet (partial)"
    data = {"per_language": per, "languages": langs, "routing": routing, "model": who, "prompt_format": fmt,
            "experts": experts, "settings": settings}
    metrics = {k: total.get(k) for k in ("execution_accuracy", "codebleu", "bleu", "exact_match", "n")}
    if routing:
        metrics["routing_accuracy"] = routing.get("overall")
    return Run("translation", path, name, ", ".join(parts), headline, finished, metrics, data)


# -- train ---------------------------------------------------------------------------------------------------------


def _read_train(path: Path) -> Run:
    recipe = _dict(path / "recipe.json")
    finished = (path / "summary.json").is_file()
    if finished:
        stages = list(_dict(path / "summary.json").get("stages") or [])
    else:
        stages = [_dict(p) for p in sorted((path / "stages").glob("*/done.json"))]
    metrics_rows = _jsonl(path / "metrics.jsonl") if (path / "metrics.jsonl").is_file() else []
    method = recipe.get("method", "?")
    model = _short_model(recipe.get("model"))
    name = f"train / {recipe.get('name', path.name)} / {method} {model}"
    parts = []
    if method == "lora" and isinstance(recipe.get("lora"), dict):
        parts.append(f"lora r{recipe['lora'].get('r')} α{recipe['lora'].get('alpha')}")
    else:
        parts.append(str(method))
    parts.append(f"lr {recipe.get('lr'):g} {recipe.get('schedule', '')}".rstrip() if isinstance(recipe.get("lr"), int | float)
                 else f"lr {recipe.get('lr')}")
    parts.append(f"batch {recipe.get('batch_size')}×{recipe.get('grad_accum', 1)}, seq {recipe.get('seq_len')}")
    steps = recipe.get("max_steps")
    parts.append(f"{steps} steps" if steps and steps > 0 else f"{recipe.get('epochs')} epochs")
    if recipe.get("stages"):
        parts.append(f"{len(recipe['stages'])} stages")
    data_paths = [_short_path(d) for d in recipe.get("data") or []]
    if data_paths:
        parts.append("data " + ", ".join(data_paths[:3]) + (" ..." if len(data_paths) > 3 else ""))
    last = stages[-1] if stages else {}
    metrics: dict[str, Any] = {}
    if finished and last:
        metrics = {"train_loss": last.get("train_loss"), "eval_loss": last.get("eval_loss"),
                   "steps": sum(int(st.get("steps") or 0) for st in stages),
                   "tokens": sum(int(st.get("tokens") or 0) for st in stages),
                   "tokens_per_s": last.get("tokens_per_s"), "peak_memory_mb": last.get("peak_memory_mb")}
        headline = f"train loss {last.get('train_loss', float('nan')):.3f}"
        if last.get("eval_loss") is not None:
            headline += f", eval loss {last['eval_loss']:.3f}"
        headline += f" ({metrics['steps']} steps, {metrics['tokens']:,} tokens)"
    elif metrics_rows:
        row = metrics_rows[-1]
        metrics = {"loss": row.get("loss"), "steps": row.get("step")}
        headline = f"loss {row.get('loss', float('nan')):.3f} at step {row.get('step')} of stage {row.get('stage')} (partial)"
    else:
        headline = "no step logged yet (partial)"
    data = {"recipe": recipe, "stages": stages, "metrics": metrics_rows, "method": method, "model": model,
            "label": recipe.get("name", path.name)}
    return Run("train", path, name, ", ".join(parts), headline, finished, metrics, data)


def _short_path(p: Any) -> str:
    parts = Path(str(p)).parts
    return "/".join(parts[-2:]) if len(parts) > 1 else str(p)


# -- route ---------------------------------------------------------------------------------------------------------


def _read_route(path: Path) -> Run:
    if path.is_file():
        report = _accuracy_report(path)
        if report is None:
            raise CodebabelError("not a route accuracy report")
        return _route_run(path, path.stem, [], {}, [(path.name, report)], finished=True)
    experts = []
    for folder in sorted((path / "experts").glob("*")) if (path / "experts").is_dir() else []:
        if (folder / "recipe.json").is_file():
            expert = _read_train(folder)
            expert.data["label"] = f"{path.name}/{folder.name}"
            experts.append(expert)
    router = path / "router"
    info = _dict(router / "router.json") if (router / "router.json").is_file() else {}
    reports = [(p.relative_to(path).as_posix(), r) for p in sorted([*path.glob("*.json"), *router.glob("*.json")])
               if (r := _accuracy_report(p)) is not None]
    return _route_run(path, path.name, experts, info, reports, finished=bool(info))


def _route_run(path: Path, label: str, experts: list[Run], info: dict, reports: list[tuple[str, dict]],
               finished: bool) -> Run:
    languages = list(info.get("languages") or [e.path.name for e in experts]
                     or (reports[0][1]["languages"] if reports else []))
    model = _short_model(info.get("model") or (experts[0].data["model"] if experts else None))
    name = f"route / {label} / {len(languages)} experts on {model}" if experts or info else f"route accuracy / {label}"
    parts = ["experts " + ", ".join(languages)]
    gate = (info.get("gate") or {})
    if gate.get("steps"):
        parts.append(f"gate {gate['steps']} steps")
    if reports:
        parts.append(f"{len(reports)} accuracy report(s)")
    metrics: dict[str, Any] = {"experts": len(languages)}
    headline_parts = []
    if experts:
        losses = [e.metrics.get("train_loss") for e in experts if e.metrics.get("train_loss") is not None]
        if losses:
            headline_parts.append(f"expert train loss {min(losses):.3f}–{max(losses):.3f}")
        done = sum(e.finished for e in experts)
        if done < len(experts):
            headline_parts.append(f"{done}/{len(experts)} experts trained")
    for _, report in reports[:1]:
        for router in ("gate", "ngram", "tag"):
            hidden = (report.get(router) or {}).get("hidden")
            if hidden:
                headline_parts.append(f"{router} accuracy without the tag {_pct(hidden.get('overall'))}")
                metrics[f"{router}_hidden_accuracy"] = hidden.get("overall")
                break
    headline = "; ".join(headline_parts) or ("router trained" if finished else "experts training (partial)")
    data = {"experts": experts, "router": info, "reports": reports, "languages": languages, "model": model}
    return Run("route", path, name, ", ".join(parts), headline, finished, metrics, data)


# -- synth ---------------------------------------------------------------------------------------------------------


def _read_synth(path: Path) -> Run:
    summary = _dict(path / "summary.json") if (path / "summary.json").is_file() else {}
    stages = dict(summary.get("stages") or {})
    funnel = _dict(path / "dataset" / "funnel.json") if (path / "dataset" / "funnel.json").is_file() else None
    in_progress = []
    settings: dict[str, dict] = {}
    newest: dict[tuple[str, str | None], tuple[float, dict]] = {}
    for folder in sorted(path.iterdir()):
        m = STAGE_DIR.match(folder.name)
        if not m or not folder.is_dir():
            continue
        stage, lang = m.group(2), m.group(3)
        if (folder / "settings.json").is_file():
            settings.setdefault(stage, _dict(folder / "settings.json"))
        if not (folder / "summary.json").is_file():
            in_progress.append(folder.name)
            continue
        mtime = (folder / "summary.json").stat().st_mtime
        if (stage, lang) not in newest or mtime > newest[(stage, lang)][0]:
            newest[(stage, lang)] = (mtime, _dict(folder / "summary.json"))
    # the stages the last finished invocation summarised, completed by those finished since (stage folders)
    for (stage, lang), (_, s) in newest.items():
        if lang is None:
            stages.setdefault(stage, s)
        else:
            stages.setdefault(stage, {}).setdefault(lang, s)
    if funnel is not None:
        stages["functions"], stages["tests"] = funnel["functions"], funnel["tests"]
        for lang, per in funnel["languages"].items():
            stages.setdefault("translate", {})[lang] = per["translate"]
            stages.setdefault("solutions", {})[lang] = per["solutions"]
            stages.setdefault("dataset", {})[lang] = per["rows"]
    if "functions" not in stages:
        raise CodebabelError("no finished stage yet (no summary.json in any stage folder)")
    languages = sorted({*stages.get("translate", {}), *stages.get("solutions", {}), *stages.get("dataset", {})})
    name = f"synth / {path.name}" + (f" / {', '.join(languages)}" if languages else "")
    parts = []
    teacher = (settings.get("tests") or {}).get("teacher") or {}
    if teacher:
        parts.append(f"teacher {_short_model(teacher.get('model'))} ({teacher.get('backend')})")
    tests = settings.get("tests", {}).get("tests") or {}
    if tests:
        parts.append(f"tests {tests.get('samples')} samples T={tests.get('temperature')}, coverage ≥ "
                     f"{tests.get('min_coverage')}%")
    srcs = (settings.get("functions") or {}).get("sources") or []
    if srcs:
        parts.append("sources " + ", ".join(_short_path(s) for s in srcs))
    done = [s for s in ("functions", "tests", "translate", "solutions", "dataset") if s in stages]
    parts.append("stages done: " + ", ".join(done))
    finished = not in_progress
    metrics: dict[str, Any] = {"functions_kept": stages["functions"].get("kept")}
    if "dataset" in stages:
        rows = {lang: sum(v.values()) for lang, v in stages["dataset"].items()}
        metrics["rows"] = rows
        headline = f"rows kept {sum(rows.values())} (" + ", ".join(f"{k} {v}" for k, v in rows.items()) + ")"
    elif "solutions" in stages:
        kept = {lang: v.get("kept") for lang, v in stages["solutions"].items()}
        metrics["translations_kept"] = kept
        headline = "translations kept " + ", ".join(f"{k} {v}" for k, v in kept.items())
    elif "tests" in stages:
        metrics["tests_kept"] = stages["tests"].get("kept")
        headline = f"functions with tests kept {stages['tests'].get('kept')} of {stages['tests'].get('functions')}"
    else:
        f = stages["functions"]
        headline = f"functions kept {f.get('kept')} of {f.get('candidates')} candidates"
    if in_progress:
        headline += f" (partial: {', '.join(in_progress)} running or stopped)"
    data = {"stages": stages, "languages": languages, "funnel": funnel is not None, "in_progress": in_progress,
            "label": path.name}
    return Run("synth", path, name, "; ".join(parts), headline, finished, metrics, data)


# -- sweep ---------------------------------------------------------------------------------------------------------


def _read_sweep(path: Path) -> Run:
    """A ``codebabel sweep`` folder: its ``sweep.json`` (every point's settings, run, losses and pass@k)."""
    summary = _dict(path / "sweep.json")
    points = list(summary.get("points") or [])
    keys = [str(k) for k in summary.get("keys") or []]
    total = int(summary.get("total_points") or len(points))
    ev = summary.get("evaluate")
    settings = f"{total} points over {', '.join(keys) or '-'}"
    if isinstance(ev, dict):
        settings += f"; evaluate {ev.get('benchmark')} {ev.get('language')}" + (
            f" limit {ev['limit']}" if ev.get("limit") else "")
    best = [(p["eval"]["pass_at_k"]["pass@1"], p) for p in points
            if "pass@1" in ((p.get("eval") or {}).get("pass_at_k") or {})]
    losses = [(p["train_loss"], p) for p in points if isinstance(p.get("train_loss"), int | float)]
    if best:
        value, top = max(best, key=lambda x: x[0])
        headline = f"best pass@1 {_pct(value)} at " + ", ".join(f"{k}={top['settings'].get(k)}" for k in keys)
    elif losses:
        value, top = min(losses, key=lambda x: x[0])
        headline = f"lowest train loss {value:.3f} at " + ", ".join(f"{k}={top['settings'].get(k)}" for k in keys)
    else:
        headline = "no point finished yet"
    finished = bool(summary.get("finished")) and len(points) == total
    if not finished:
        headline += f" ({len(points)}/{total} points, partial)"
    metrics = {"points": len(points), "total_points": total}
    return Run("sweep", path, f"sweep / {summary.get('sweep', path.name)}", settings, headline, finished, metrics,
               {"summary": summary, "keys": keys, "points": points, "label": summary.get("sweep", path.name)})


def expand(specs: Iterable[str]) -> tuple[list[Run], list[str]]:
    """The runs ``specs`` name: each a run folder or file, a folder holding runs (every run in it), or a glob.
    A path that is no run and holds none is a one-line error naming it; a glob that matches nothing too; what a glob matches that is no run is left out and
    returned (as notes). The same run named twice is read once."""
    runs: list[Run] = []
    notes: list[str] = []
    seen: set[Path] = set()
    for spec in specs:
        if any(c in spec for c in "*?["):
            matches = sorted(glob.glob(spec))
            if not matches:
                raise CodebabelError(f"run '{spec}': the pattern matches nothing")
            got = 0
            for m in matches:
                if Path(m).resolve() in seen:
                    got += 1
                    continue
                try:
                    run = read_run(m)
                except NotARun:
                    notes.append(m)
                    continue
                seen.add(Path(m).resolve())
                runs.append(run)
                got += 1
            if not got:
                raise CodebabelError(f"run '{spec}': the pattern matches no run ({len(matches)} paths, none a "
                                     "codebabel run)")
        else:
            if Path(spec).resolve() in seen:
                continue
            try:
                found = [read_run(spec)]
            except NotARun:
                # a folder holding runs (runs/quickstart): the runs in it, else the error
                found = find_runs([spec]).runs if Path(spec).is_dir() else []
                if not found:
                    raise
            for run in found:
                if run.path.resolve() not in seen:
                    seen.add(run.path.resolve())
                    runs.append(run)
    return runs, notes
