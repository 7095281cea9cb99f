"""``codebabel report RUN... --out DIR``: one static page (``index.html``), the same as Markdown (``report.md``),
the figures as PNG and SVG (``figures/``) and the numbers as JSON (``report.json``), written atomically.

The runs are read first (a bad one is a one-line error naming it, before anything is written); the page is
built in a temporary folder beside DIR and renamed into place, so DIR is either the previous report or the new
one, never half of one. A DIR that exists must be an earlier report (it holds ``report.json``) or empty.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codebabel import __version__
from codebabel.errors import CodebabelError
from codebabel.inputs import ensure_dir
from codebabel.report import analyses
from codebabel.report import figures as F
from codebabel.report.groups import comparisons, eval_series, language_order
from codebabel.report.published import published_for
from codebabel.report.render import Image, Section, Table, Text, to_html, to_markdown
from codebabel.report.runs import Run, expand, language_name
from codebabel.report.sweeps import sweep_figure
from codebabel.report.sweeps import table_rows as sweep_table
from codebabel.store import atomic_write_text, provenance

FORMATS = ("png", "svg")
MARKER = "report.json"


@dataclass(frozen=True)
class ReportConfig:
    runs: tuple[str, ...]
    out: str
    formats: tuple[str, ...] = FORMATS
    title: str | None = None

    def __post_init__(self) -> None:
        if not self.runs:
            raise CodebabelError("no RUN given; pass run folders or globs (codebabel runs list shows them)")
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats:
            raise CodebabelError(f"--formats {','.join(self.formats)}: use png, svg or png,svg")


def _pct(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _num(x, fmt: str = "{:,}") -> str:
    return "-" if x is None else fmt.format(x)


def check_out(out: str | Path) -> Path:
    """The report folder: not a file, and either new, empty or an earlier report (it holds report.json)."""
    p = ensure_dir(out, "--out")
    if p.is_dir() and any(p.iterdir()) and not (p / MARKER).is_file():
        raise CodebabelError(f"--out {out}: a folder holding other files (no {MARKER}: not an earlier report); "
                             "pass a new or empty folder")
    return p


def write_report(cfg: ReportConfig, log: Callable[[str], None] | None = None) -> dict:
    """Read ``cfg.runs``, draw the figures and write the report into ``cfg.out``; returns what was written."""
    out = check_out(cfg.out)
    runs, notes = expand(cfg.runs)
    if notes and log:
        log(f"note: left out {len(notes)} matched path(s) that are no run: " + ", ".join(notes[:5])
            + (" ..." if len(notes) > 5 else ""))
    title = cfg.title or f"codebabel report: {len(runs)} run{'s' * (len(runs) != 1)}"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        (tmp / "figures").mkdir()
        sections, images = build_sections(runs, tmp, cfg.formats)
        prov = provenance()
        meta = [f"made {prov['date']} by codebabel {__version__}: {prov['command']}",
                f"{len(runs)} runs: " + ", ".join(f"{n} {k}" for k, n in _kinds(runs).items())]
        atomic_write_text(tmp / "index.html", to_html(title, meta, sections))
        atomic_write_text(tmp / "report.md", to_markdown(title, meta, sections))
        report = {"report": "codebabel report", "title": title, "provenance": prov,
                  "runs": [r.to_json() for r in runs],
                  "figures": [{"name": i.name, "title": i.title, "files": i.files} for i in images]}
        atomic_write_text(tmp / MARKER, json.dumps(report, indent=2) + "\n")
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"out": str(out), "index": str(out / "index.html"), "markdown": str(out / "report.md"),
            "runs": len(runs), "figures": [f for i in images for f in i.files]}


def _replace(tmp: Path, out: Path) -> None:
    """``tmp`` renamed to ``out``; an earlier report there is moved aside first and deleted after."""
    if not out.exists():
        os.rename(tmp, out)
        return
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
    old.rmdir()
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _kinds(runs: list[Run]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in runs:
        out[r.kind] = out.get(r.kind, 0) + 1
    return out


def build_sections(runs: list[Run], folder: Path, formats: tuple[str, ...]) -> tuple[list[Section], list[Image]]:
    """The page's sections (tables and figures) for ``runs``; figures are saved under ``folder/figures``."""
    images: list[Image] = []

    def figure(fig, name: str, title: str, caption: str) -> list[Image]:
        if fig is None:
            return []
        paths = F.save(fig, folder / "figures", name, formats)
        image = Image(name, title, caption, [p.relative_to(folder).as_posix() for p in paths])
        images.append(image)
        return [image]

    sections = [Section("Runs", [runs_table(runs)])]
    evals = [r for r in runs if r.kind == "eval"]
    if evals:
        blocks: list = []
        blocks += figure(F.passk_figure(runs), "passk", "pass@k per language",
                         "One bar per language and series (model and setting); where there is room, the count over "
                         "each bar is passed/samples; hatched: a selection of the benchmark's problems (--limit), not "
                         "comparable with the full benchmark. Dashed: the published pass@1 where report/published.py "
                         "has one for the model.")
        blocks += passk_tables(runs)
        blocks += figure(F.status_figure(runs), "status", "Execution status per language",
                         "The share of samples ending in each status (summary.json status_counts).")
        blocks.append(status_table(runs))
        sections.append(Section("Evaluation", blocks))
    comps = comparisons(runs)
    if comps:
        blocks = figure(F.comparison_figure(runs), "comparison", "Before / after",
                        "pass@1 of runs on one benchmark and language with the same prompt format, sampling and "
                        "problems, differing in model or adapter; the first (no adapter) is before.")
        blocks.append(comparison_table(comps))
        sections.append(Section("Before and after", blocks))
    trains = F.train_runs(runs)
    if trains:
        blocks = figure(F.training_figure(runs), "training", "Training curves",
                        "Per optimizer step from metrics.jsonl: loss, learning rate, tokens/s (useful tokens) and "
                        "peak memory (RSS on CPU, allocated on GPU).")
        blocks.append(training_table(trains))
        sections.append(Section("Training", blocks))
    trs = [r for r in runs if r.kind == "translation"]
    if trs:
        blocks = figure(F.translation_figure(runs), "translation", "Translation: execution accuracy vs CodeBLEU",
                        "A point per source language and run: execution accuracy (the translation prints what "
                        "the source prints) against CodeBLEU with the reference translation.")
        blocks.append(translation_table(trs))
        sections.append(Section("Translation", blocks))
    routed = [r for r in runs if F.confusion_matrices(r)]
    if routed:
        blocks = []
        for i, r in enumerate(routed):
            blocks += figure(F.routing_figure(r), f"routing-{i + 1}", f"Routing: {r.name}",
                             "Confusion matrices: rows the true language, columns the expert routed to (none: no "
                             "expert); colour the share of the row, text the count.")
        blocks.append(routing_table(routed))
        sections.append(Section("Routing", blocks))
    synths = [r for r in runs if r.kind == "synth"]
    if synths:
        blocks = []
        for i, r in enumerate(synths):
            blocks += figure(F.funnel_figure(r), f"funnel-{i + 1}", f"Synth funnel: {r.data['label']}",
                             "What each stage kept: functions, then per language tests translated, functions with a "
                             "verified translation, translations kept and training rows.")
        blocks.append(funnel_table(synths))
        sections.append(Section("Synthetic data", blocks))
    sweeps = [r for r in runs if r.kind == "sweep"]
    if sweeps:
        blocks = []
        for i, r in enumerate(sweeps):
            blocks += figure(sweep_figure(r), f"sweep-{i + 1}", f"Sweep: {r.data['label']}",
                             "Each point's final train loss and pass@1 (%) against the first swept key; a line per "
                             "value of the other keys (sweep.json).")
            headers, rows = sweep_table(r.data["summary"])
            blocks.append(Table(headers, rows, f"sweep {r.data['label']}: {r.settings}"))
        sections.append(Section("Sweeps", blocks))
    sections += analyses.sections(runs, figure)
    return sections, images


# -- tables --------------------------------------------------------------------------------------------------------


def runs_table(runs: list[Run]) -> Table:
    return Table(["kind", "name", "settings", "headline", "folder"],
                 [[r.kind, r.name, r.settings, r.headline, str(r.path)] for r in runs])


def passk_tables(runs: list[Run]) -> list:
    series = eval_series(runs)
    langs = language_order(lang for s in series for lang in s.runs)
    pubs = [p for s in series if not s.adapter and (p := published_for(s.model, s.benchmark))]
    pub = pubs[0] if pubs else None
    headers = ["language", *[s.label for s in series]] + ([f"published ({pub.paper_model})"] if pub else [])
    rows = []
    for lang in langs:
        row = [language_name(lang)]
        for s in series:
            r = s.runs.get(lang)
            if r is None:
                row.append("-")
                continue
            d = r.data
            ks = ", ".join(f"{_pct(v)}" if k == "pass@1" else f"{k} {_pct(v)}" for k, v in d["pass_at_k"].items())
            row.append(f"{ks or '-'} ({d['passed']}/{d['samples']})" + ("" if r.finished else " partial"))
        if pub:
            row.append(f"{pub.scores[lang]:.1f}%" if lang in pub.scores else "-")
        rows.append(row)
    blocks: list = [Table(headers, rows, "pass@k (passed/samples)")]
    if pub:
        blocks.append(Text(f"Published: {pub.source}; {pub.note}."))
    return blocks


def status_table(runs: list[Run]) -> Table:
    series = eval_series(runs)
    present = {st for s in series for r in s.runs.values() for st in r.data["status_counts"]}
    statuses = [st for st in F.STATUS_COLORS if st in present] + sorted(present - set(F.STATUS_COLORS))
    rows = []
    for i, s in enumerate(series):
        for lang in language_order(s.runs):
            d = s.runs[lang].data
            n = d["samples"] or 1
            rows.append([language_name(lang) + (f" #{i + 1}" if len(series) > 1 else ""), str(d["samples"]),
                         *[f"{d['status_counts'].get(st, 0)} ({100 * d['status_counts'].get(st, 0) / n:.0f}%)"
                           if d["status_counts"].get(st) else "-" for st in statuses]])
    caption = "statuses per language" + ("; " + "; ".join(f"#{i + 1} {s.label}" for i, s in enumerate(series))
                                         if len(series) > 1 else "")
    return Table(["language", "samples", *statuses], rows, caption)


def comparison_table(comps) -> Table:
    rows = []
    for c in comps:
        before = c.runs[0].data
        for label, run in zip(c.labels[1:], c.runs[1:], strict=True):
            d = run.data
            b1, a1 = before["pass_at_k"].get("pass@1"), d["pass_at_k"].get("pass@1")
            shifts = []
            for st in sorted(set(before["status_counts"]) | set(d["status_counts"])):
                delta = (100 * d["status_counts"].get(st, 0) / (d["samples"] or 1)
                         - 100 * before["status_counts"].get(st, 0) / (before["samples"] or 1))
                if abs(delta) >= 0.05:
                    shifts.append(f"{st} {delta:+.1f} pp")
            rows.append([f"{c.benchmark} / {language_name(c.language)}", c.labels[0], label,
                         f"{_pct(b1)} ({before['passed']}/{before['samples']})",
                         f"{_pct(a1)} ({d['passed']}/{d['samples']})",
                         "-" if b1 is None or a1 is None else f"{100 * (a1 - b1):+.1f} pp", ", ".join(shifts) or "-"])
    return Table(["benchmark / language", "before", "after", "pass@1 before", "pass@1 after", "change",
                  "status shares, change"], rows)


def training_table(trains: list[Run]) -> Table:
    rows = []
    for r in trains:
        stages = r.data["stages"]
        last = stages[-1] if stages else {}
        rows.append([r.data["label"], r.data["method"], r.data["model"],
                     _num(sum(int(s.get("steps") or 0) for s in stages) if stages else None),
                     _num(sum(int(s.get("tokens") or 0) for s in stages) if stages else None),
                     _num(last.get("train_loss"), "{:.4f}"), _num(last.get("eval_loss"), "{:.4f}"),
                     _num(last.get("tokens_per_s"), "{:,.1f}"), _num(last.get("peak_memory_mb"), "{:,.0f}"),
                     _num(sum(float(s.get("wall_s") or 0) for s in stages) if stages else None, "{:,.0f}"),
                     _num(last.get("trainable_params")), "yes" if r.finished else "partial"])
    return Table(["run", "method", "model", "steps", "tokens", "train loss", "eval loss", "tokens/s",
                  "peak memory (MB)", "time (s)", "trainable params", "finished"], rows,
                 "per run, the last stage's loss and speed (summary.json)")


def translation_table(trs: list[Run]) -> Table:
    rows = []
    for r in trs:
        per = r.data["per_language"]
        for lang in [*[x for x in per if x != "all"], *(["all"] if "all" in per else [])]:
            m = per[lang]
            rows.append([F.translation_label(r), lang, _num(m.get("n")), _pct(m.get("execution_accuracy")),
                         _num(m.get("codebleu"), "{:.3f}"), _num(m.get("bleu"), "{:.3f}"),
                         _pct(m.get("exact_match")), _num(m.get("syntax_match"), "{:.3f}"),
                         _num(m.get("dataflow_match"), "{:.3f}")])
        if not per:
            rows.append([F.translation_label(r), "-", "-", "-", "-", "-", "-", "-", "not scored yet"])
    return Table(["run", "language", "pairs", "execution accuracy", "CodeBLEU", "BLEU", "exact match",
                  "syntax match", "dataflow match"], rows)


def routing_table(routed: list[Run]) -> Table:
    rows = []
    for r in routed:
        for title, matrix in F.confusion_matrices(r):
            n = sum(sum(row.values()) for row in matrix.values())
            right = sum(row.get(t, 0) for t, row in matrix.items())
            per = ", ".join(f"{t} {_pct(row.get(t, 0) / s) if (s := sum(row.values())) else '-'}"
                            for t, row in matrix.items())
            rows.append([title, str(n), _pct(right / n if n else None), per])
    return Table(["matrix", "prompts", "accuracy", "per language"], rows)


def funnel_table(synths: list[Run]) -> Table:
    rows = []
    for r in synths:
        st = r.data["stages"]
        reasons = {"1 functions: kept": st["functions"].get("dropped") or {},
                   "2 tests: functions kept": (st.get("tests") or {}).get("dropped") or {}}
        for stage, n in F.funnel_stages(r):
            dropped = reasons.get(stage, {})
            rows.append([r.data["label"], stage, f"{n:,}",
                         ", ".join(f"{k} {v}" for k, v in list(dropped.items())[:6]) or "-"])
    return Table(["run", "stage", "count", "dropped (top reasons)"], rows)
