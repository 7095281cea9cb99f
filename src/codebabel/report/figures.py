"""The report's figures, drawn with matplotlib on the Agg canvas (no display, no pyplot state).

Each function takes runs (:mod:`codebabel.report.runs`) and returns a :class:`~matplotlib.figure.Figure`, or
``None`` when the runs hold nothing for it; nothing is saved here (:func:`save` does), so a test reads the drawn
numbers back from the Axes: bar heights, line data, image arrays, scatter offsets. Bars of a language a series
did not measure have a NaN height (drawn as nothing), so bar *i* of every series is language *i*.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from codebabel.execute.status import Status
from codebabel.report.groups import Series, comparisons, eval_series, language_order
from codebabel.report.published import published_for
from codebabel.report.runs import Run, language_name

#: every status in a fixed order and colour (ok first, then the failures from latest to earliest stage)
STATUS_COLORS = {
    Status.OK.value: "#2ca02c",
    Status.ASSERTION_FAILED.value: "#ff7f0e",
    Status.RUNTIME_ERROR.value: "#d62728",
    Status.SYNTAX_ERROR.value: "#9467bd",
    Status.COMPILE_ERROR.value: "#8c564b",
    Status.TYPE_ERROR.value: "#e377c2",
    Status.TIMEOUT.value: "#7f7f7f",
    Status.MEMORY_LIMIT.value: "#bcbd22",
    Status.OUTPUT_LIMIT.value: "#17becf",
    Status.KILLED.value: "#111111",
}
DPI = 96
STYLE = {"font.size": 9, "axes.titlesize": 10, "legend.fontsize": 8, "svg.hashsalt": "codebabel",
         "axes.spines.top": False, "axes.spines.right": False}
#: the training curves: metrics.jsonl field, axis title
TRAIN_PANELS = (("loss", "training loss"), ("lr", "learning rate"), ("tokens_per_s", "tokens / s"),
                ("peak_memory_mb", "peak memory (MB)"))


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def style():
    """The report's matplotlib settings (a context manager): draw and save inside it."""
    return matplotlib.rc_context(STYLE)


def save(fig: Figure, folder: Path, name: str, formats: Sequence[str]) -> list[Path]:
    """``fig`` as ``folder/name.<fmt>`` for each format (png, svg); reproducible files (no date in them). A PNG
    is stored with a 128-colour palette: a plot has few colours, and the file is a quarter of the size."""
    paths = []
    for fmt in formats:
        path = folder / f"{name}.{fmt}"
        with style():
            if fmt == "svg":
                fig.savefig(path, format="svg", dpi=DPI, metadata={"Date": None})
            else:
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
                image = Image.open(buf).convert("RGB")
                image.quantize(colors=128, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
                    path, format="PNG", optimize=True)
        paths.append(path)
    return paths


# -- evaluation ----------------------------------------------------------------------------------------------------


def _pass_ks(series: list[Series]) -> list[str]:
    ks = {k for s in series for r in s.runs.values() for k in r.data["pass_at_k"]}
    return sorted(ks, key=lambda k: int(k.split("@")[1]))


def passk_figure(runs: Sequence[Run]) -> Figure | None:
    """pass@k per language, one bar per series (model and setting) and language, a panel per k; the published
    pass@1 of a registered model (report/published.py) as a dashed line over its languages."""
    series = eval_series(list(runs))
    ks = _pass_ks(series)
    if not series or not ks:
        return None
    langs = language_order(lang for s in series for lang in s.runs)
    with style():
        fig = _figure(min(14.0, max(6.5, 0.42 * len(langs) * len(series) ** 0.5 + 2.5)), 2.9 * len(ks) + 0.9)
        axes = fig.subplots(len(ks), 1, squeeze=False)[:, 0]
        width = 0.8 / len(series)
        for ax, k in zip(axes, ks, strict=True):
            for i, s in enumerate(series):
                xs = [j - 0.4 + width * (i + 0.5) for j in range(len(langs))]
                got = [s.runs.get(lang) if lang in s.runs and k in s.runs[lang].data["pass_at_k"] else None
                       for lang in langs]
                hs = [100 * r.data["pass_at_k"][k] if r else math.nan for r in got]
                bars = ax.bar(xs, hs, width, label=s.label, color=f"C{i}")
                for bar, r in zip(bars, got, strict=True):
                    if r and r.data["translated"] and r.data["problems"] < r.data["translated"]:
                        bar.set_hatch("///")  # a selection (--limit): not comparable with the full benchmark
                        bar.set_edgecolor("white")
                if len(langs) * len(series) <= 24:
                    notes = [f"{r.data['passed']}/{r.data['samples']}" if r else "" for r in got]
                    ax.bar_label(bars, labels=notes, fontsize=6, padding=1, rotation=90 if len(series) > 2 else 0)
            if k == "pass@1":
                _published(ax, series, langs)
            ax.set_xticks(range(len(langs)), [language_name(lang) for lang in langs],
                          rotation=30 if len(langs) > 10 else 0)
            ax.set_ylabel(f"{k} (%)")
            ax.set_ylim(0, 112)  # room for the counts over a bar at 100 %
            ax.set_yticks(range(0, 101, 20))
            ax.set_xlim(-0.6, len(langs) - 0.4)
            ax.set_title(f"{k} per language ({', '.join(sorted({s.benchmark for s in series}))}; hatched: "
                         "a selection of the problems)")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(2, len(labels)))
    return fig


def _published(ax, series: list[Series], langs: list[str]) -> None:
    """The published pass@1 of each registered model with numbers (report/published.py), over the languages
    a series of that model (without an adapter) measured."""
    shown = set()
    for s in series:
        pub = None if s.adapter else published_for(s.model, s.benchmark)
        if pub is None or pub.model in shown:
            continue
        shown.add(pub.model)
        measured = {lang for t in series if t.model == s.model and not t.adapter for lang in t.runs}
        xs = [j for j, lang in enumerate(langs) if lang in pub.scores and lang in measured]
        if xs:
            ax.hlines([pub.scores[langs[j]] for j in xs], [j - 0.45 for j in xs], [j + 0.45 for j in xs],
                      colors="black", linestyles="dashed", linewidth=1.2,
                      label=f"published: {pub.paper_model} ({pub.source.split(' (')[0]})")


def status_columns(series: list[Series]) -> list[tuple[Series, str]]:
    """The status figure's bars, left to right: ``(series, language)`` of every eval run with samples."""
    return [(s, lang) for s in series for lang in language_order(s.runs) if s.runs[lang].data["samples"]]


def status_figure(runs: Sequence[Run]) -> Figure | None:
    """The share of each execution status per language (stacked to 100 %), a bar per eval run with samples."""
    series = eval_series(list(runs))
    ordered = status_columns(series)
    if not ordered:
        return None
    present = {st for s, lang in ordered for st in s.runs[lang].data["status_counts"]}
    statuses = [st for st in STATUS_COLORS if st in present] + sorted(present - set(STATUS_COLORS))
    with style():
        fig = _figure(max(6.0, 0.42 * len(ordered) + 3.5), 3.8)
        ax = fig.subplots()
        xs = list(range(len(ordered)))
        bottom = [0.0] * len(ordered)
        for st in statuses:
            shares = [100 * s.runs[lang].data["status_counts"].get(st, 0) / s.runs[lang].data["samples"]
                      for s, lang in ordered]
            ax.bar(xs, shares, 0.75, bottom=bottom, label=st, color=STATUS_COLORS.get(st))
            bottom = [b + v for b, v in zip(bottom, shares, strict=True)]
        many = len(series) > 1
        ax.set_xticks(xs, [language_name(lang) + (f"\n#{series.index(s) + 1}" if many else "") for s, lang in ordered],
                      rotation=45 if len(ordered) > 10 else 0, fontsize=8)
        ax.set_ylabel("share of samples (%)")
        ax.set_ylim(0, 100)
        title = "execution status per language"
        if many:
            title += ": " + "; ".join(f"#{i + 1} {s.label}" for i, s in enumerate(series))
        ax.set_title(title, wrap=True)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def comparison_figure(runs: Sequence[Run]) -> Figure | None:
    """Before/after: pass@1 of runs on one benchmark and language that differ only in model or adapter; the
    first (no adapter) is "before". One group of bars per comparison, the change above each later bar."""
    comps = comparisons(list(runs))
    if not comps:
        return None
    slots = max(len(c.runs) for c in comps)
    width = 0.8 / slots
    with style():
        fig = _figure(max(5.0, 1.6 * len(comps) + 3.0), 3.8)
        ax = fig.subplots()
        for i in range(slots):
            xs = [j - 0.4 + width * (i + 0.5) for j in range(len(comps))]
            hs = [100 * c.runs[i].data["pass_at_k"].get("pass@1", math.nan) if i < len(c.runs) else math.nan
                  for c in comps]
            bars = ax.bar(xs, hs, width, label="before" if i == 0 else f"after #{i}" if slots > 2 else "after",
                          color="#9e9e9e" if i == 0 else None)
            if i:
                notes = [f"{h - 100 * c.runs[0].data['pass_at_k'].get('pass@1', math.nan):+.1f} pp"
                         if i < len(c.runs) else "" for c, h in zip(comps, hs, strict=True)]
                ax.bar_label(bars, labels=notes, fontsize=7, padding=1)
        ticks = []
        for c in comps:
            after = [lab.removeprefix(c.labels[0]).strip() or lab for lab in c.labels[1:]]
            ticks.append(f"{language_name(c.language)}\n{c.labels[0]}\n→ {' / '.join(after)}")
        ax.set_xticks(range(len(comps)), ticks, fontsize=7)
        ax.set_ylabel("pass@1 (%)")
        ax.set_ylim(0, 108)
        ax.set_yticks(range(0, 101, 20))
        ax.set_title("before / after: pass@1")
        ax.legend(loc="upper right")
    return fig


# -- training ------------------------------------------------------------------------------------------------------


def train_runs(runs: Sequence[Run]) -> list[Run]:
    """The train runs among ``runs``, a routing run's experts included."""
    out = []
    for r in runs:
        if r.kind == "train":
            out.append(r)
        elif r.kind == "route":
            out += r.data["experts"]
    return out


def curve(run: Run, key: str) -> tuple[list[float], list[float]]:
    """``(steps, values)`` of one metrics.jsonl field; curriculum stages one after another (each stage's steps
    continue the previous one's)."""
    xs, ys = [], []
    offset, last_stage, last_step = 0, None, 0
    for row in run.data["metrics"]:
        if row.get("stage") != last_stage:
            offset, last_stage = offset + last_step, row.get("stage")
        last_step = int(row.get("step") or 0)
        if row.get(key) is not None:
            xs.append(offset + last_step)
            ys.append(float(row[key]))
    return xs, ys


def training_figure(runs: Sequence[Run]) -> Figure | None:
    """Loss, learning rate, tokens/s and peak memory per optimizer step of every train run (metrics.jsonl)."""
    trains = [r for r in train_runs(runs) if r.data["metrics"]]
    if not trains:
        return None
    with style():
        fig = _figure(10.0, 6.0)
        axes = fig.subplots(2, 2).flatten()
        for ax, (key, title) in zip(axes, TRAIN_PANELS, strict=True):
            for r in trains:
                xs, ys = curve(r, key)
                if xs:
                    ax.plot(xs, ys, marker="." if len(xs) < 40 else None, linewidth=1.2, label=r.data["label"])
            ax.set_title(title)
            ax.set_xlabel("step")
            if key == "lr":
                ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        axes[0].legend(loc="upper right")
    return fig


# -- translation and routing ---------------------------------------------------------------------------------------


def translation_figure(runs: Sequence[Run]) -> Figure | None:
    """Execution accuracy against CodeBLEU, a point per language and evaluate-translation run."""
    trs = [r for r in runs if r.kind == "translation" and r.data["per_language"]]
    if not trs:
        return None
    markers = "osD^vP*X"
    with style():
        fig = _figure(6.5, 4.2)
        ax = fig.subplots()
        for i, r in enumerate(trs):
            langs = [lang for lang in r.data["per_language"] if lang != "all"]
            xs = [r.data["per_language"][lang]["codebleu"] for lang in langs]
            ys = [100 * r.data["per_language"][lang]["execution_accuracy"] for lang in langs]
            ax.scatter(xs, ys, marker=markers[i % len(markers)], s=40, alpha=0.8, label=translation_label(r))
            for x, y, lang in zip(xs, ys, langs, strict=True):
                ax.annotate(lang, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
        ax.set_xlabel("CodeBLEU")
        ax.set_ylabel("execution accuracy (%)")
        ax.set_xlim(0, 1)
        ax.set_ylim(-5, 105)
        ax.set_title("translation to Python: runs the same vs looks the same, per source language")
        ax.legend(loc="upper left")
    return fig


def translation_label(run: Run) -> str:
    d = run.data
    return f"{run.path.name}: {d['model']}" + (f" ({d['prompt_format']})" if d.get("prompt_format") else "")


def confusion_matrices(run: Run) -> list[tuple[str, dict]]:
    """``(title, {true: {routed: count}})`` of every confusion matrix a run stores."""
    if run.kind == "translation" and run.data.get("routing"):
        return [(f"{run.path.name}: routing of the translated prompts", run.data["routing"]["confusion"])]
    out = []
    if run.kind == "route":
        for name, report in run.data["reports"]:
            for router, modes in report.items():
                if not isinstance(modes, dict):
                    continue
                for mode, rep in modes.items():
                    if isinstance(rep, dict) and isinstance(rep.get("confusion"), dict):
                        out.append((f"{name}: {router}, {mode.replace('_', ' ')}", rep["confusion"]))
    return out


def routing_figure(run: Run, limit: int = 12) -> Figure | None:
    """The confusion matrices of one run as heatmaps: colour = share of the true language's prompts, text =
    count; rows are the true language, columns the expert routed to (``none``: no expert)."""
    mats = confusion_matrices(run)[:limit]
    if not mats:
        return None
    cols = min(3, len(mats))
    rows = math.ceil(len(mats) / cols)
    with style():
        fig = _figure(3.6 * cols + 0.6, 3.3 * rows)
        axes = fig.subplots(rows, cols, squeeze=False).flatten()
        for ax, (title, matrix) in zip(axes, mats, strict=False):
            truth = list(matrix)
            routed = list(dict.fromkeys(c for row in matrix.values() for c in row))
            counts = [[matrix[t].get(c, 0) for c in routed] for t in truth]
            shares = [[v / (sum(row) or 1) for v in row] for row in counts]
            im = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
            for i, row in enumerate(counts):
                for j, v in enumerate(row):
                    ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                            color="white" if shares[i][j] > 0.6 else "black")
            ax.set_xticks(range(len(routed)), routed, rotation=45)
            ax.set_yticks(range(len(truth)), truth)
            ax.set_xlabel("routed to")
            ax.set_ylabel("true language")
            ax.set_title(title, fontsize=8, wrap=True)
            ax.spines[:].set_visible(False)
        for ax in axes[len(mats):]:
            ax.set_visible(False)
        fig.colorbar(im, ax=axes[: len(mats)].tolist(), shrink=0.6, label="share of the row")
    return fig


# -- synth ---------------------------------------------------------------------------------------------------------


def funnel_stages(run: Run) -> list[tuple[str, int]]:
    """The synth funnel as ``(stage, count)``, top to bottom: candidate functions, functions kept, functions
    whose tests were kept, then per language the tests translated, the functions with a verified translation,
    the translations kept and the training rows."""
    st = run.data["stages"]
    f = st["functions"]
    out = [("1 functions: candidates", int(f["candidates"])), ("1 functions: kept", int(f["kept"]))]
    if f.get("selected") is not None and f["selected"] != f["kept"]:
        out.append(("1 functions: selected", int(f["selected"])))
    if "tests" in st:
        out.append(("2 tests: functions kept", int(st["tests"]["kept"])))
    for lang in run.data["languages"]:
        if lang in st.get("translate", {}):
            out.append((f"3 tests translated: {lang}", int(st["translate"][lang]["kept"])))
        if lang in st.get("solutions", {}):
            so = st["solutions"][lang]
            out.append((f"4 functions verified: {lang}", int(so["functions_with_kept"])))
            out.append((f"4 translations kept: {lang}", int(so["kept"])))
        if lang in st.get("dataset", {}):
            out.append((f"5 rows: {lang}", int(sum(st["dataset"][lang].values()))))
    return out


def funnel_figure(run: Run) -> Figure | None:
    """The synth funnel of one run: what each stage kept (horizontal bars, log scale, counts written)."""
    if run.kind != "synth":
        return None
    stages = funnel_stages(run)
    with style():
        fig = _figure(7.5, 0.32 * len(stages) + 1.4)
        ax = fig.subplots()
        ys = list(range(len(stages)))[::-1]
        bars = ax.barh(ys, [n for _, n in stages], 0.7, color="#4c72b0")
        ax.bar_label(bars, labels=[f"{n:,}" for _, n in stages], fontsize=7, padding=2)
        ax.set_yticks(ys, [s for s, _ in stages], fontsize=8)
        ax.set_xscale("log")
        ax.set_xlim(left=0.8, right=max(n for _, n in stages) * 4 if stages else 10)
        ax.set_xlabel("count (log scale)")
        title = f"synth funnel: {run.data['label']}"
        if run.data["in_progress"]:
            title += " (partial)"
        ax.set_title(title)
    return fig
