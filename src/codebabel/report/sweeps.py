"""A ``codebabel sweep`` in the report: the table of its points (their settings, final train and eval loss,
pass@k) and one figure of each metric against the first swept key (a line per value of the other keys).

The table is also what ``codebabel sweep`` prints and writes as ``sweep.md``; matplotlib is imported only to draw.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from codebabel.report.runs import Run

#: the metrics drawn, each (title, how to read it from a point)
METRICS = (("final train loss", lambda p: p.get("train_loss")),
           ("pass@1", lambda p: _pass1(p)))


def _pass1(p: dict) -> float | None:
    v = ((p.get("eval") or {}).get("pass_at_k") or {}).get("pass@1")
    return None if v is None else 100 * v


def value_text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def _fmt(x: Any) -> str:
    return "-" if x is None else f"{x:.4f}"


def table_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    """The sweep's table: one row per point, its varied settings, then train loss, eval loss, steps, pass@k, run."""
    keys = list(summary.get("keys") or [])
    points = summary.get("points") or []
    ks = sorted({k for p in points for k in ((p.get("eval") or {}).get("pass_at_k") or {})},
                key=lambda k: int(k.split("@")[-1]) if k.split("@")[-1].isdigit() else 0)
    headers = ["#", *keys, "train loss", "eval loss", "steps", *ks, "run"]
    rows = []
    for p in points:
        ev = p.get("eval") or {}
        rows.append([str(p["index"]), *[value_text(p["settings"].get(k, "-")) for k in keys],
                     _fmt(p.get("train_loss")), _fmt(p.get("eval_loss")), str(p.get("steps", "-")),
                     *[(f"{100 * ev['pass_at_k'][k]:.1f}% ({ev.get('passed')}/{ev.get('samples')})"
                        if k in (ev.get("pass_at_k") or {}) else "-") for k in ks],
                     str(p.get("run_dir", "-"))])
    return headers, rows


def markdown(summary: dict) -> str:
    """``sweep.md``: a line about the sweep and its table."""
    headers, rows = table_rows(summary)
    lines = [f"# Sweep {summary['sweep']}", "",
             f"{len(summary['points'])} of {summary['total_points']} points over "
             f"{', '.join(summary['keys']) or '-'} (recipe {summary['recipe']}).", "",
             "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def sweep_series(run: Run) -> tuple[str, list[tuple[str, list[tuple[Any, dict]]]]]:
    """The first swept key, and one series per combination of the other keys: ``(label, [(x value, point)])``."""
    keys = run.data["keys"]
    points = run.data["points"]
    if not keys:
        return "", []
    x_key, others = keys[0], keys[1:]
    groups: dict[str, list[tuple[Any, dict]]] = {}
    for p in points:
        label = ", ".join(f"{k}={value_text(p['settings'].get(k))}" for k in others) or run.data["label"]
        groups.setdefault(label, []).append((p["settings"].get(x_key), p))
    return x_key, list(groups.items())


def sweep_figure(run: Run) -> Figure | None:
    """Each metric the sweep has (final train loss, pass@1 in %) against the first swept key; ``None`` without
    numbers. Numeric values on a numeric axis (log where they span 10× or more), others in their order."""
    from codebabel.report.figures import _figure, style

    x_key, series = sweep_series(run)
    panels = [(title, get) for title, get in METRICS
              if any(get(p) is not None for _, pts in series for _, p in pts)]
    if not series or not panels:
        return None
    xs_all = [x for _, pts in series for x, _ in pts]
    numeric = all(_number(x) is not None for x in xs_all)
    order = list(dict.fromkeys(value_text(x) for x in xs_all))
    with style():
        fig = _figure(4.2 * len(panels) + 0.8, 3.6)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (title, get) in zip(axes, panels, strict=True):
            for label, pts in series:
                pairs = [(_number(x) if numeric else order.index(value_text(x)), get(p)) for x, p in pts]
                pairs = sorted((x, y) for x, y in pairs if y is not None)
                if pairs:
                    ax.plot([x for x, _ in pairs], [y for _, y in pairs], marker="o", linewidth=1.2, label=label)
            ax.set_title(title)
            ax.set_xlabel(x_key)
            if numeric:
                vals = [_number(x) for x in xs_all]
                if min(vals) > 0 and max(vals) / min(vals) >= 10:
                    ax.set_xscale("log")
                ticks = sorted({v: x for v, x in zip(vals, xs_all, strict=True)}.items())
                if len(ticks) <= 12:  # the swept values themselves, as written
                    ax.set_xticks([v for v, _ in ticks], [value_text(x) for _, x in ticks])
                    ax.minorticks_off()
            else:
                ax.set_xticks(range(len(order)), order)
        if len(series) > 1:
            axes[0].legend(loc="best")
    return fig
