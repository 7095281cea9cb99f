"""The report's analyses (seed 003's plan), computed from the runs given to the report and drawn like the other
figures (each function returns a ``Figure`` or ``None`` without data, so a test reads the numbers back):

- perplexity per language (``codebabel evaluate perplexity --out FILE`` reports);
- perplexity against pass@1 across languages: a model's perplexity run paired with its evaluation runs (the same
  model and adapter), over the languages both measured, with Pearson's and Spearman's correlation;
- the cross-language transfer matrix: evaluation runs with an adapter, rows the language the adapter was trained
  on (from its training run's recipe: the corpora's ``manifest.json`` language, else the data folder's name; when
  that is not one language, the adapter's run name), columns the language measured, the cell pass@1 minus the
  base model's pass@1 on that language where every cell has a base run (same model without adapter, benchmark,
  prompt format, sampling and problems), else pass@1 itself;
- failure modes by language: the most common normalised first error lines of the failed samples' ``stderr``
  (``results.jsonl``);
- memory and time per training method (LoRA vs full) from the train runs' ``summary.json`` stages.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from codebabel.errors import CodebabelError
from codebabel.languages import get_language
from codebabel.report.figures import _figure, style, train_runs
from codebabel.report.groups import Series, eval_series, language_order
from codebabel.report.render import Section, Table, Text
from codebabel.report.runs import Run, adapter_name, language_name

#: how many error lines per language the failure-mode table shows
TOP_ERRORS = 3
#: the memory-and-time figure's panels: key, title
METHOD_PANELS = (("peak_memory_mb", "peak memory (MB)"), ("wall_s", "training time (s)"),
                 ("tokens_per_s", "tokens / s"))


# -- perplexity ----------------------------------------------------------------------------------------------------


def perplexity_runs(runs: Sequence[Run]) -> list[Run]:
    return [r for r in runs if r.kind == "perplexity" and r.data["per_language"]]


def perplexity_label(run: Run) -> str:
    d = run.data
    return f"{run.path.stem}: {d['model']}" + (f" + {d['adapter']}" if d.get("adapter") else "") + \
        (f" ({d['split']})" if d.get("split") else "")


def perplexity_figure(runs: Sequence[Run]) -> Figure | None:
    """Perplexity per language (log scale), a bar per perplexity run; bar *i* of every run is language *i*
    (NaN where the run did not measure it)."""
    pruns = perplexity_runs(runs)
    if not pruns:
        return None
    lang_of = {k: v["language"] for r in pruns for k, v in r.data["per_language"].items()}
    order = language_order(lang_of.values())
    keys = sorted(lang_of, key=lambda k: (order.index(lang_of[k]), k))
    width = 0.8 / len(pruns)
    with style():
        fig = _figure(max(6.0, 0.5 * len(keys) * len(pruns) ** 0.5 + 3.0), 3.8)
        ax = fig.subplots()
        for i, r in enumerate(pruns):
            xs = [j - 0.4 + width * (i + 0.5) for j in range(len(keys))]
            hs = [r.data["per_language"][k]["perplexity"] if k in r.data["per_language"] else math.nan for k in keys]
            bars = ax.bar(xs, hs, width, label=perplexity_label(r), color=f"C{i}")
            if len(keys) * len(pruns) <= 30:
                ax.bar_label(bars, labels=["" if math.isnan(h) else f"{h:.2f}" for h in hs], fontsize=6, padding=1)
        ax.set_xticks(range(len(keys)), [_key_name(k) for k in keys], rotation=30 if len(keys) > 10 else 0)
        ax.set_yscale("log")
        ax.set_ylabel("perplexity (log scale)")
        ax.set_title("perplexity per language (lower is better)")
        ax.legend(loc="upper left", fontsize=7)
    return fig


def _key_name(key: str) -> str:
    lang, _, rest = key.partition(" (")
    return language_name(lang) + (f" ({rest}" if rest else "")


# -- perplexity against pass@k -------------------------------------------------------------------------------------


@dataclass
class Pairing:
    """One perplexity run and one evaluation series of the same model and adapter: per language both numbers."""

    label: str
    languages: list[str]
    perplexity: list[float]
    pass1: list[float]
    pearson: float | None = None
    spearman: float | None = None

    @property
    def n(self) -> int:
        return len(self.languages)


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their average rank (as scipy.stats.rankdata)."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=float)
    ranks[order] = np.arange(1, len(x) + 1, dtype=float)
    for v in np.unique(x):
        same = x == v
        ranks[same] = ranks[same].mean()
    return ranks


def correlations(x: Sequence[float], y: Sequence[float]) -> tuple[float | None, float | None]:
    """Pearson's and Spearman's correlation of ``x`` and ``y`` (scipy where installed, else numpy); ``None`` with
    fewer than 3 points or a constant side (undefined)."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None, None
    try:
        from scipy import stats
    except ImportError:
        pearson = float(np.corrcoef(a, b)[0, 1])
        spearman = float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])
        return pearson, spearman
    return float(stats.pearsonr(a, b)[0]), float(stats.spearmanr(a, b)[0])


def _same_model(prun: Run, series: Series) -> bool:
    first = next(iter(series.runs.values())).data
    return (prun.data["model"] == first["model"]
            and adapter_name(prun.data.get("adapter_identity")) == first.get("adapter"))


def pairings(runs: Sequence[Run]) -> list[Pairing]:
    """Each perplexity run with each evaluation series of its model and adapter, over the languages both
    measured (a language a perplexity run measured on two corpora is left out: which one would it be?)."""
    out = []
    series = eval_series(list(runs))
    for prun in perplexity_runs(runs):
        per = {v["language"]: v["perplexity"] for v in prun.data["per_language"].values()}
        twice = {lang for lang, n in Counter(v["language"] for v in prun.data["per_language"].values()).items()
                 if n > 1}
        for s in series:
            if not _same_model(prun, s):
                continue
            langs = [lang for lang in language_order(s.runs) if lang in per and lang not in twice
                     and "pass@1" in s.runs[lang].data["pass_at_k"]]
            if not langs:
                continue
            ppl = [per[lang] for lang in langs]
            p1 = [s.runs[lang].data["pass_at_k"]["pass@1"] for lang in langs]
            pearson, spearman = correlations(ppl, p1)
            out.append(Pairing(f"{prun.path.stem} × {s.label}", langs, ppl, p1, pearson, spearman))
    return out


def _r(x: float | None) -> str:
    return "-" if x is None else f"{x:+.3f}"


def perplexity_passk_figure(runs: Sequence[Run]) -> Figure | None:
    """pass@1 against perplexity, a point per language labelled with it, a colour per pairing; the
    legend gives n and both correlations."""
    pairs = pairings(runs)
    if not pairs:
        return None
    with style():
        fig = _figure(7.0, 4.6)
        ax = fig.subplots()
        for i, p in enumerate(pairs):
            ax.scatter(p.perplexity, [100 * v for v in p.pass1], s=36, color=f"C{i}", alpha=0.85,
                       label=f"{p.label}: n={p.n}, Pearson r={_r(p.pearson)}, Spearman ρ={_r(p.spearman)}")
            for x, y, lang in zip(p.perplexity, p.pass1, p.languages, strict=True):
                ax.annotate(lang, (x, 100 * y), textcoords="offset points", xytext=(4, 3), fontsize=7)
        ax.set_xlabel("perplexity")
        ax.set_ylabel("pass@1 (%)")
        ax.set_ylim(-5, 105)
        ax.set_title("perplexity vs pass@1 across languages")
        handles, labels = ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", fontsize=7)
    return fig


# -- cross-language transfer ---------------------------------------------------------------------------------------


@dataclass
class Transfer:
    """The transfer matrix: ``rows`` (trained on), ``cols`` (measured on), per cell the adapted run and the base
    run (``None`` where there is none); ``delta``: every cell has a base, so the values are differences."""

    rows: list[str]
    cols: list[str]
    cells: dict[tuple[str, str], tuple[Run, Run | None]] = field(default_factory=dict)

    @property
    def delta(self) -> bool:
        return bool(self.cells) and all(base is not None for _, base in self.cells.values())

    def value(self, row: str, col: str) -> float:
        """pass@1 in points (minus the base's where :attr:`delta`), NaN for an empty cell."""
        if (row, col) not in self.cells:
            return math.nan
        run, base = self.cells[(row, col)]
        v = 100 * run.data["pass_at_k"].get("pass@1", math.nan)
        return v - 100 * base.data["pass_at_k"].get("pass@1", math.nan) if self.delta and base else v


def _adapter_run_dir(identity: str | None) -> Path | None:
    if not identity:
        return None
    p = Path(str(identity).split("@", 1)[0])
    return p.parent if p.name in ("adapter", "model", "final") else p


def _rows_language(path: Path, rows: int = 50) -> str | None:
    """The language a JSONL training file's first ``rows`` rows all name (their ``language`` field; synth's
    datasets have one), else ``None``."""
    langs = set()
    try:
        with path.open(encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= rows:
                    break
                row = json.loads(line)
                langs.add(row.get("language") if isinstance(row, dict) else None)
        return get_language(langs.pop()).name if len(langs) == 1 and None not in langs else None
    except (OSError, ValueError, TypeError, CodebabelError):
        return None


def _corpus_language(path: str, split: str = "train") -> str | None:
    """The language of a training data path: a corpus folder's manifest's; a JSONL file's (``{split}`` filled
    in) rows' ``language``; else the folder's name where that is a language."""
    p = Path(path.replace("{split}", split))
    if p.suffix == ".jsonl":
        return _rows_language(p)
    try:
        manifest = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
        if isinstance(manifest, dict) and isinstance(manifest.get("language"), str):
            return get_language(manifest["language"]).name
    except (OSError, ValueError, CodebabelError):
        pass
    try:
        return get_language(p.name).name
    except CodebabelError:
        return None


def trained_language(run: Run, trains: dict[Path, Run]) -> str:
    """The language an eval run's adapter was trained on (its train run's data: one language, every path
    telling it), else the adapter's run name."""
    folder = _adapter_run_dir(run.data.get("adapter_identity"))
    fallback = run.data.get("adapter") or "?"
    if folder is None:
        return fallback
    recipe = None
    train = trains.get(folder.resolve()) if folder.exists() else None
    if train is not None:
        recipe = train.data["recipe"]
    elif (folder / "recipe.json").is_file():
        try:
            recipe = json.loads((folder / "recipe.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            recipe = None
    if not isinstance(recipe, dict):
        return fallback
    paths = [str(d) for d in recipe.get("data") or []]
    for stage in recipe.get("stages") or []:
        if isinstance(stage, dict):
            paths += [str(d) for d in stage.get("data") or []]
    split = str(recipe.get("split") or "train")
    langs = {_corpus_language(p, split) for p in paths}
    if len(langs) == 1 and None not in langs:
        return langs.pop()
    return fallback


def _base_key(run: Run) -> tuple:
    d = run.data
    return (d["model"], d["benchmark"], d["language"], d.get("prompt_format"),
            json.dumps(d.get("sampling"), sort_keys=True), d["problems"])


def transfer(runs: Sequence[Run]) -> Transfer | None:
    """The transfer matrix of the eval runs with an adapter (``None`` without any); rows name the model too
    when the adapters are on more than one model."""
    evals = [r for r in runs if r.kind == "eval" and r.finished]
    adapted = [r for r in evals if r.data.get("adapter")]
    if not adapted:
        return None
    trains = {r.path.resolve(): r for r in train_runs(runs)}
    bases: dict[tuple, Run] = {}
    for r in evals:
        if not r.data.get("adapter"):
            bases.setdefault(_base_key(r), r)
    models = {r.data["model"] for r in adapted}
    cells: dict[tuple[str, str], tuple[Run, Run | None]] = {}
    for r in adapted:
        row = trained_language(r, trains)
        if len(models) > 1:
            row += f" ({r.data['model']})"
        cells.setdefault((row, r.data["language"]), (r, bases.get(_base_key(r))))
    rows = language_order(row for row, _ in cells)
    cols = language_order(col for _, col in cells)
    return Transfer(rows, cols, cells)


def transfer_figure(runs: Sequence[Run]) -> Figure | None:
    """The transfer matrix as a heatmap: rows trained on, columns measured on; the value written in each cell."""
    t = transfer(runs)
    if t is None:
        return None
    values = np.array([[t.value(r, c) for c in t.cols] for r in t.rows], dtype=float)
    with style():
        fig = _figure(max(4.5, 0.7 * len(t.cols) + 3.0), max(2.8, 0.5 * len(t.rows) + 2.0))
        ax = fig.subplots()
        span = 100.0
        if t.delta:
            span = max(1.0, float(np.nanmax(np.abs(values))))
            im = ax.imshow(values, cmap="RdBu", vmin=-span, vmax=span)
            label = "pass@1 − base pass@1 (pp)"
        else:
            im = ax.imshow(values, cmap="Blues", vmin=0, vmax=100)
            label = "pass@1 (%)"
        for i in range(len(t.rows)):
            for j in range(len(t.cols)):
                v = values[i, j]
                if not math.isnan(v):
                    ax.text(j, i, f"{v:+.1f}" if t.delta else f"{v:.1f}", ha="center", va="center", fontsize=7,
                            color="white" if abs(v) > 0.6 * span else "black")
        ax.set_xticks(range(len(t.cols)), [language_name(c) for c in t.cols], rotation=45 if len(t.cols) > 6 else 0)
        ax.set_yticks(range(len(t.rows)), [_row_name(r) for r in t.rows])
        ax.set_xlabel("measured on")
        ax.set_ylabel("adapter trained on")
        ax.set_title("cross-language transfer: " + ("change over the base model" if t.delta else "pass@1"))
        ax.spines[:].set_visible(False)
        fig.colorbar(im, ax=ax, shrink=0.8, label=label)
    return fig


def _row_name(row: str) -> str:
    lang, _, rest = row.partition(" (")
    return language_name(lang) + (f" ({rest}" if rest else "")


# -- failure modes -------------------------------------------------------------------------------------------------

_PATH = re.compile(r"(/[\w.+\-]+)+/?")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_NUMBER = re.compile(r"\d+")
_LOCATION = re.compile(r"^\S+:\d+(:\d+)?$")
_EXCEPTION = re.compile(r"^[\w.]*(Error|Exception)\b")
_SKIP = re.compile(r"^(Traceback \(most recent call last\)|File \"|at |\s*\^+\s*$|In file included from)")


def error_line(stderr: str | None) -> str | None:
    """A failed sample's error as one normalised line: the first line of ``stderr`` that is not a traceback's
    header or frame (a Python traceback: its last line, the exception; a bare ``file:line`` first, as node
    writes: the first line naming an error), with paths, quoted text, hex and numbers
    replaced (``<path>``, ``'…'``, ``<hex>``, ``N``) so that the same error in other problems counts once."""
    lines = [x.strip() for x in (stderr or "").splitlines() if x.strip()]
    if not lines:
        return None
    if lines[0].startswith("Traceback (most recent call last)"):
        line = lines[-1]
    elif _LOCATION.match(lines[0]):  # node: the place, the code line, a caret, then the error
        line = next((x for x in lines if _EXCEPTION.match(x)), lines[0])
    else:
        line = next((x for x in lines if not _SKIP.match(x)), lines[0])
    line = _QUOTED.sub("'…'", line)
    line = _PATH.sub("<path>", line)
    line = _HEX.sub("<hex>", line)
    line = _NUMBER.sub("N", line)
    line = re.sub(r"\s+", " ", line).strip()
    return line[:117] + "..." if len(line) > 120 else line


def _results(run: Run) -> list[dict]:
    path = run.path / "results.jsonl"
    if not path.is_file():
        return []
    rows = []
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def failure_modes(runs: Sequence[Run], top: int = TOP_ERRORS) -> list[tuple[Series, str, int, list[tuple[str, int]]]]:
    """Per eval series and language: ``(series, language, failed samples, [(error line, count)] most common
    first)``, only those with a failed sample that wrote something to stderr."""
    out = []
    for s in eval_series(list(runs)):
        for lang in language_order(s.runs):
            rows = [r for r in _results(s.runs[lang]) if not r.get("passed")]
            counts = Counter(e for r in rows if (e := error_line(r.get("stderr"))))
            if counts:
                out.append((s, lang, len(rows), sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]))
    return out


# -- memory and time per method ------------------------------------------------------------------------------------


def method_numbers(run: Run) -> dict[str, float] | None:
    """A finished train run's peak memory (the highest stage's), time (the stages' sum) and tokens/s (the
    stages', weighted by their time), from summary.json; ``None`` for a run without finished stages."""
    stages = [s for s in run.data["stages"] if isinstance(s, dict)]
    if not run.finished or not stages:
        return None
    wall = [float(s.get("wall_s") or 0) for s in stages]
    mem = [float(s["peak_memory_mb"]) for s in stages if s.get("peak_memory_mb") is not None]
    tps = [(float(s["tokens_per_s"]), w) for s, w in zip(stages, wall, strict=True) if s.get("tokens_per_s") is not None]
    return {"peak_memory_mb": max(mem) if mem else math.nan, "wall_s": sum(wall),
            "tokens_per_s": (sum(v * w for v, w in tps) / sum(w for _, w in tps)) if tps and sum(w for _, w in tps)
            else (tps[-1][0] if tps else math.nan)}


def method_runs(runs: Sequence[Run]) -> list[tuple[Run, dict[str, float]]]:
    """The finished train runs (a routing run's experts included), LoRA first, then full, then others."""
    got = [(r, n) for r in train_runs(runs) if (n := method_numbers(r)) is not None]
    order = {"lora": 0, "full": 1}
    return sorted(got, key=lambda x: (order.get(x[0].data["method"], 2), x[0].data["method"]))


def method_figure(runs: Sequence[Run]) -> Figure | None:
    """Peak memory, training time and tokens/s, a bar per finished train run coloured by its method."""
    got = method_runs(runs)
    if not got:
        return None
    methods = list(dict.fromkeys(r.data["method"] for r, _ in got))
    with style():
        fig = _figure(max(7.5, 0.45 * len(got) * 3 + 2.0), 3.6)
        axes = fig.subplots(1, len(METHOD_PANELS))
        xs = list(range(len(got)))
        for ax, (key, title) in zip(axes, METHOD_PANELS, strict=True):
            for m_i, method in enumerate(methods):
                idx = [i for i, (r, _) in enumerate(got) if r.data["method"] == method]
                bars = ax.bar(idx, [got[i][1][key] for i in idx], 0.7, color=f"C{m_i}", label=method)
                ax.bar_label(bars, labels=[f"{got[i][1][key]:,.0f}" for i in idx], fontsize=6, padding=1)
            ax.set_xticks(xs, [r.data["label"] for r, _ in got], rotation=45, ha="right", fontsize=7)
            ax.set_title(title)
        axes[0].legend(loc="upper left")
    return fig


# -- the report's sections -----------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{100 * x:.1f}%"


def sections(runs: Sequence[Run], figure: Callable[[Figure | None, str, str, str], list]) -> list[Section]:
    """The analyses' report sections, each only where its inputs are among ``runs``; ``figure(fig, name, title,
    caption)`` saves a figure and returns its blocks (nothing for ``None``)."""
    out = []
    pruns = perplexity_runs(runs)
    if pruns:
        blocks = figure(perplexity_figure(runs), "perplexity", "Perplexity per language",
                        "From codebabel evaluate perplexity reports: sliding-window perplexity of each corpus split "
                        "(log scale; lower is better), a bar per report.")
        rows = [[perplexity_label(r), _key_name(k), f"{v['perplexity']:.3f}",
                 "-" if v.get("bits_per_byte") is None else f"{v['bits_per_byte']:.3f}",
                 "-" if v.get("tokens") is None else f"{v['tokens']:,}"]
                for r in pruns for k, v in r.data["per_language"].items()]
        blocks.append(Table(["report", "language", "perplexity", "bits/byte", "tokens"], rows))
        out.append(Section("Perplexity", blocks))
    pairs = pairings(runs)
    if pairs:
        blocks = figure(perplexity_passk_figure(runs), "perplexity-passk", "Perplexity vs pass@1",
                        "A point per language that both a model's perplexity report and its evaluation runs (same "
                        "model and adapter) measured; the legend gives n and the correlations of perplexity with "
                        "pass@1 (Pearson on the values, Spearman on their ranks; none below 3 languages).")
        blocks.append(Table(["perplexity × evaluation", "n", "Pearson r", "Spearman ρ", "languages"],
                            [[p.label, str(p.n), _r(p.pearson), _r(p.spearman), ", ".join(p.languages)]
                             for p in pairs]))
        blocks.append(Text("A negative correlation: the languages the model predicts better (lower perplexity) "
                           "are those it solves more problems in. With few languages it says little."))
        out.append(Section("Perplexity and pass@k", blocks))
    t = transfer(runs)
    if t is not None:
        blocks = figure(transfer_figure(runs), "transfer", "Cross-language transfer",
                        "Rows: the language the adapter was trained on (its training run's data; the adapter's "
                        "run name where that is not one language); columns: the language measured. "
                        + ("The change in pass@1 over the base model (the same model without adapter, benchmark, "
                           "prompt format, sampling and problems), in points." if t.delta else
                           "pass@1 (%): not every cell has a base-model run to compare with (the table shows "
                           "those that have)."))
        rows = []
        for (row, col), (run, base) in t.cells.items():
            a1 = run.data["pass_at_k"].get("pass@1")
            b1 = base.data["pass_at_k"].get("pass@1") if base else None
            rows.append([_row_name(row), language_name(col), run.data["adapter"] or "-",
                         f"{_pct(a1)} ({run.data['passed']}/{run.data['samples']})",
                         f"{_pct(b1)} ({base.data['passed']}/{base.data['samples']})" if base else "-",
                         "-" if a1 is None or b1 is None else f"{100 * (a1 - b1):+.1f} pp"])
        blocks.append(Table(["trained on", "measured on", "adapter", "pass@1", "base pass@1", "change"], rows))
        out.append(Section("Cross-language transfer", blocks))
    modes = failure_modes(runs)
    if modes:
        many = len({id(s) for s, *_ in modes}) > 1
        series = list(dict.fromkeys(s.label for s, *_ in modes))
        rows = [[language_name(lang) + (f" #{series.index(s.label) + 1}" if many else ""), str(failed),
                 *[f"{line} ({n})" for line, n in errors], *["-"] * (TOP_ERRORS - len(errors))]
                for s, lang, failed, errors in modes]
        caption = (f"the {TOP_ERRORS} most common first error lines of the failed samples (results.jsonl stderr; "
                   "paths, quoted text and numbers replaced), with their counts"
                   + ("; " + "; ".join(f"#{i + 1} {label}" for i, label in enumerate(series)) if many else ""))
        out.append(Section("Failure modes by language", [
            Table(["language", "failed", *[f"error #{i + 1}" for i in range(TOP_ERRORS)]], rows, caption),
            Text("The share of each status per language is in the Evaluation section's figure and table.")]))
    got = method_runs(runs)
    if got:
        blocks = figure(method_figure(runs), "methods", "Memory and time per method",
                        "Per finished training run (summary.json): the highest stage's peak memory (RSS on CPU, "
                        "allocated on GPU), the stages' summed time, and tokens/s (the stages', weighted by their "
                        "time); the colour is the method (LoRA, full).")
        blocks.append(Table(["run", "method", "model", "peak memory (MB)", "time (s)", "tokens/s"],
                            [[r.data["label"], r.data["method"], r.data["model"], f"{n['peak_memory_mb']:,.0f}",
                              f"{n['wall_s']:,.0f}", f"{n['tokens_per_s']:,.1f}"] for r, n in got]))
        out.append(Section("Memory and time per method", blocks))
    return out
