"""Everything the CLI prints with rich: the two consoles and every table.

Tables and result lines go to stdout (``out``); progress, notes and errors to stderr (``err``). Each function
builds one table (or the tables of one report) from what a library function returned; the commands print it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from codebabel.config import PerplexityConfig

if TYPE_CHECKING:
    from codebabel.evaluate.translation import TranslationConfig
    from codebabel.languages import Language
    from codebabel.models.registry import RegisteredModel
    from codebabel.report.runs import Run

out = Console()
err = Console(stderr=True)


def eval_summary(summary: dict) -> Table:
    """``codebabel evaluate`` on one language: problems, samples, pass@k, statuses, time."""
    title = f"{summary['benchmark']} / {summary['language']} / {summary['source']}"
    extras = [x for x in (summary.get("backend"), summary.get("prompt_format")) if x]
    if extras:
        title += f"  ({', '.join(extras)})"
    table = Table(title=title, show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("problems", str(summary["problems"]))
    table.add_row("samples", f"{summary['samples']} ({summary['new_samples']} new this run)")
    for name, value in summary["pass_at_k"].items():
        table.add_row(name, f"{100 * value:.2f}%")
    for status, count in summary["status_counts"].items():
        table.add_row(f"status {status}", str(count))
    t = summary["time"]
    table.add_row("time", f"{t['total_s']:.1f} s (generation {t['generation_s']:.1f} s, "
                          f"execution {t['execution_s']:.1f} s)")
    return table


def eval_languages(combined: dict) -> Table:
    """``codebabel evaluate --language all`` (or a list): language x problems x pass@k x statuses."""
    rows = combined["languages"]
    ks = sorted({k for r in rows for k in r.get("pass_at_k", {})}, key=lambda k: int(k.split("@")[1]))
    table = Table(title=f"{combined['benchmark']} / {combined['source']}", show_header=True)
    table.add_column("language")
    table.add_column("problems", justify="right")
    for k in ks:
        table.add_column(k, justify="right")
    table.add_column("statuses")
    for r in rows:
        if "not_run" in r:
            table.add_row(r["display_name"], "-", *["-"] * len(ks), f"not run: {r['not_run']}")
            continue
        statuses = ", ".join(f"{s} {c}" for s, c in r["status_counts"].items())
        table.add_row(r["display_name"], f"{r['problems']}/{r['translated']}",
                      *[f"{100 * r['pass_at_k'][k]:.2f}%" if k in r["pass_at_k"] else "-" for k in ks], statuses)
    return table


def perplexity(report: dict, cfg: PerplexityConfig) -> Table:
    """``codebabel evaluate perplexity``: one row per corpus."""
    title = (f"perplexity / {cfg.model}" + (f" + {cfg.adapter}" if cfg.adapter else "")
             + f"  (context {cfg.context}, stride {cfg.stride})")
    table = Table(title=title, show_header=True)
    for col, justify in (("language", "left"), ("corpus", "left"), ("split", "left"), ("documents", "right"),
                         ("tokens", "right"), ("perplexity", "right"), ("bits/byte", "right")):
        table.add_column(col, justify=justify, overflow="fold")
    for r in report["results"]:
        table.add_row(r["language"], r["corpus"], r["split"], f"{r['documents']:,}", f"{r['tokens']:,}",
                      f"{r['perplexity']:.4f}", f"{r['bits_per_byte']:.4f}")
    return table


def translation(summary: dict, cfg: TranslationConfig) -> Table:
    """``codebabel evaluate translation``: one row per source language (and ``all``)."""
    who = ((f"{cfg.experts} ({cfg.router} router, {cfg.mode})" if cfg.experts else summary["settings"]["model"])
           + (f" at {cfg.base_url}" if cfg.base_url else "") + (" <code>" if cfg.hide_language else ""))
    table = Table(title=f"translation → Python / {who}  (prompt format {cfg.prompt_format})", show_header=True)
    for col in ("source", "n", "execution acc", "CodeBLEU", "BLEU", "exact match", "routing acc"):
        table.add_column(col, justify="left" if col == "source" else "right")
    routing = summary.get("routing", {}).get("accuracy", {})
    for lang, r in summary["per_language"].items():
        ra = routing.get(lang) if lang != "all" else summary.get("routing", {}).get("overall")
        table.add_row(lang, str(r["n"]), f"{r['execution_accuracy']:.3f}", f"{r['codebleu']:.3f}",
                      f"{r['bleu']:.3f}", f"{r['exact_match']:.3f}", "-" if ra is None else f"{ra:.3f}")
    return table


def languages(rows: list[tuple[Language, int, int, str | None]]) -> Table:
    """``codebabel languages``: names, HumanEval problems translated, toolchain status."""
    table = Table(show_header=True)
    for col in ("name", "language", "also", "humaneval", "toolchain"):
        table.add_column(col)
    for lang, translated, total, why in rows:
        table.add_row(lang.name, lang.display_name, " ".join((*lang.aliases, *lang.extensions)),
                      f"{translated}/{total}", "ok" if why is None else why)
    return table


def models(rows: list[tuple[RegisteredModel, bool]]) -> Table:
    """``codebabel models list``."""
    table = Table(show_header=True)
    for col in ("name", "description", "prompt format", "pulled"):
        table.add_column(col)
    for m, pulled in rows:
        table.add_row(m.name, m.description, m.prompt_format, "yes" if pulled else "no")
    return table


def train(summary: dict) -> Table:
    """``codebabel train``: one row per stage."""
    table = Table(show_header=True)
    for col in ("stage", "method", "steps", "tokens", "tokens/s", "train loss", "peak MiB"):
        table.add_column(col, justify="left" if col in ("stage", "method") else "right")
    for s in summary["stages"]:
        table.add_row(s["stage"], s["method"], str(s["steps"]), f"{s['tokens']:,}", f"{s['tokens_per_s'] or 0:,.0f}",
                      f"{s['train_loss']:.4f}", f"{s['peak_memory_mb']:,.0f}")
    return table


def corpus_steps(m: dict) -> Table:
    """``codebabel corpus build/stats``: files and tokens removed and kept by each step."""
    table = Table(title=f"{m['display_name']} corpus", show_header=True)
    table.add_column("step", no_wrap=True)
    for col in ("files removed", "tokens removed", "files after", "tokens after"):
        table.add_column(col, justify="right")
    table.add_column("reasons", overflow="fold")
    for s in m["steps"]:
        table.add_row(s["step"], f"{s['removed']:,}", f"{s['removed_tokens']:,}", f"{s['files_after']:,}",
                      "-" if s["tokens_after"] is None else f"{s['tokens_after']:,}",
                      ", ".join(f"{k} {v}" for k, v in s["reasons"].items()) or "-")
    return table


def corpus_splits(m: dict) -> Table:
    """``codebabel corpus build/stats``: files, tokens and bytes per split."""
    splits = Table(show_header=True)
    for col in ("split", "files", "tokens", "bytes"):
        splits.add_column(col, justify="left" if col == "split" else "right")
    for name, s in m["splits"].items():
        splits.add_row(name, f"{s['files']:,}", f"{s['tokens']:,}", f"{s['bytes']:,}")
    return splits


#: the prompt sets of ``codebabel route accuracy``, in the order printed
ROUTING_MODES = ("tagged", "hidden", "humaneval_tagged", "humaneval_hidden")


def route_accuracy(report: dict, routers: list[str]) -> list[Table]:
    """``codebabel route accuracy``: a confusion matrix per router and prompt set."""
    tables = []
    for kind in routers:
        for mode in (m for m in ROUTING_MODES if m in report[kind]):
            what = ("HumanEval prompts, " if mode.startswith("humaneval") else "") + (
                "<code> (no language given)" if mode.endswith("hidden") else "language tag")
            tables.append(confusion(f"{kind} router, {what}", report[kind][mode], report["languages"]))
    return tables


def confusion(title: str, rep: dict, languages: list[str]) -> Table:
    """A routing report (``route.routing.routing_report``): true language x routed expert, and accuracy."""
    cols = [*languages, "none"]
    table = Table(title=f"{title}: min accuracy {rep['min_accuracy']:.3f}, overall {rep['overall']:.3f} "
                        f"(n={rep['n']})", show_header=True)
    table.add_column("true \\ routed")
    for c in cols:
        table.add_column(c, justify="right")
    table.add_column("accuracy", justify="right")
    for t in languages:
        acc = rep["accuracy"][t]
        table.add_row(t, *[str(rep["confusion"][t][c]) for c in cols], "-" if acc is None else f"{acc:.3f}")
    return table


def runs(found: list[Run]) -> Table:
    """``codebabel runs list``: kind, readable name, settings in one line, headline metric, folder."""
    table = Table(title=f"{len(found)} runs", show_header=True, show_lines=False)
    for col in ("kind", "name", "settings", "headline", "folder"):
        table.add_column(col, overflow="fold")
    for r in found:
        table.add_row(r.kind, r.name, r.settings, r.headline if r.finished else f"[yellow]{r.headline}[/]",
                      str(r.path))
    return table
