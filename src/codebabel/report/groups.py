"""How the report groups evaluation runs: into series (one model and setting, many languages) and into
before/after comparisons (one benchmark and language, two or more models or adapters, same settings)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from codebabel.languages import all_languages
from codebabel.report.runs import Run

#: the samples every model is measured against, not a model: never one side of a before/after pair
GIVEN = ("reference", "stub")
#: the settings that do not make runs of one series differ (the language is the series' axis)
_NOT_SERIES = ("language", "benchmark_digest", "runtime")


@dataclass
class Series:
    """Evaluation runs of one model (+ adapter) and one setting, one per language."""

    key: str
    label: str
    model: str
    adapter: str | None
    benchmark: str
    runs: dict[str, Run] = field(default_factory=dict)  # language -> run


@dataclass
class Comparison:
    """Runs of one benchmark and language with the same settings but another model or adapter; the first is the
    reference ("before"), typically the base model without an adapter."""

    benchmark: str
    language: str
    runs: list[Run]
    labels: list[str]


def language_order(codes) -> list[str]:
    """Languages in codebabel's registry order (Python first), unknown ones after, each once."""
    order = {lang.name: i for i, lang in enumerate(all_languages())}
    unique = list(dict.fromkeys(codes))
    return sorted(unique, key=lambda c: (order.get(c, len(order)), c))


def _attrs(run: Run) -> dict[str, str]:
    d = run.data
    s = d.get("sampling") or {}
    model = d["source"] + (f" + {d['adapter']}" if d.get("adapter") else "")
    return {
        "model": model,
        "benchmark": d["benchmark"],
        "format": d.get("prompt_format") or "",
        "backend": d.get("backend") or "",
        "tokens": f"{s['max_new_tokens']} tok" if s.get("max_new_tokens") else "",
        "sampling": (f"n={s.get('n')} T={s.get('temperature'):g}" if s.get("temperature") is not None else ""),
        "timeout": f"timeout {(d.get('execution') or {}).get('timeout_s')}s",
    }


def _label(attrs: dict[str, str], varying: set[str]) -> str:
    extra = [attrs[k] for k in ("benchmark", "format", "backend", "tokens", "sampling", "timeout")
             if k in varying and attrs[k]]
    return attrs["model"] + (f" ({', '.join(extra)})" if extra else "")


def eval_series(runs: list[Run]) -> list[Series]:
    """The eval runs grouped into series; each label names the model and only the settings that differ
    between the series (the prompt format, the token budget, ...)."""
    evals = [r for r in runs if r.kind == "eval"]
    groups: dict[str, list[Run]] = {}
    for run in evals:
        settings = {k: v for k, v in run.data["settings"].items() if k not in _NOT_SERIES}
        key = json.dumps(settings, sort_keys=True, default=str)
        n = 0
        while any(r.data["language"] == run.data["language"] for r in groups.get(key if not n else f"{key}#{n}", [])):
            n += 1  # the same language twice in one setting (another benchmark digest): a series of its own
        groups.setdefault(key if not n else f"{key}#{n}", []).append(run)
    attrs = {key: _attrs(rs[0]) for key, rs in groups.items()}
    varying = {k for k in ("model", "benchmark", "format", "backend", "tokens", "sampling", "timeout")
               if len({a[k] for a in attrs.values()}) > 1}
    out = []
    labels: dict[str, int] = {}
    for key, rs in groups.items():
        label = _label(attrs[key], varying)
        labels[label] = labels.get(label, 0) + 1
        if labels[label] > 1:
            label += f" #{labels[label]}"
        first = rs[0].data
        out.append(Series(key, label, first["source"], first.get("adapter"), first["benchmark"],
                          {r.data["language"]: r for r in rs}))
    return out


def comparisons(runs: list[Run]) -> list[Comparison]:
    """Groups of eval runs on one benchmark and language, with the same prompt format, sampling and problems,
    whose model or adapter differ (or, for ``--completions`` files, their samples): the before/after pairs. The
    run without an adapter comes first."""
    groups: dict[tuple, list[Run]] = {}
    for run in (r for r in runs if r.kind == "eval" and r.data["settings"].get("source") not in GIVEN):
        d = run.data
        key = (d["benchmark"], d["language"], d.get("prompt_format"),
               json.dumps(d.get("sampling"), sort_keys=True), d["problems"])
        groups.setdefault(key, []).append(run)
    out = []
    for (benchmark, language, *_), rs in groups.items():
        who = {(r.data["settings"].get("source"), r.data.get("adapter_identity")) for r in rs}
        if len(who) < 2:
            continue
        rs = sorted(rs, key=lambda r: (r.data.get("adapter") is not None, r.data["source"], str(r.path)))
        labels = [r.data["source"] + (f" + {r.data['adapter']}" if r.data.get("adapter") else "") for r in rs]
        out.append(Comparison(benchmark, language, rs, labels))
    order = language_order([c.language for c in out])
    out.sort(key=lambda c: (c.benchmark, order.index(c.language)))
    return out
