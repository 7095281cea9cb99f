"""`codebabel report RUN... --out DIR` (report/): the page, its Markdown and figures from runs of every kind,
evaluation runs made by `codebabel evaluate` itself; one test per figure reads the drawn numbers back from the
matplotlib Axes and checks them against the runs' own files; the page opened in headless chromium; bad inputs
as one-line errors with nothing written.

Screenshots go to pytest's tmp_path and, where $CODEBABEL_SCREENSHOTS names a folder, there too."""

from __future__ import annotations

import json
import math
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from codebabel.report import figures as F
from codebabel.report.groups import comparisons, eval_series
from codebabel.report.published import published_for
from codebabel.report.runs import read_run
from tests import reportkit
from tests.browser import headless_chromium, screenshot
from tests.conftest import needs_bwrap, run_cli


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """results/ and runs/ with every kind: evaluation runs made by the command, the rest written."""
    import shutil as sh

    root = tmp_path_factory.mktemp("report")
    made = reportkit.fake_runs(root)
    sh.rmtree(made["broken"])  # read on its own in the error tests
    if shutil.which("bwrap"):
        reportkit.real_eval_runs(root)
    return root


@pytest.fixture(scope="module")
def report(folder):
    """The report of every run in the folder: globs and folders as a user passes them."""
    r = run_cli("report", "results/humaneval-*", "runs/train-curriculum", "runs/train-partial", "runs/eval/*",
                "runs/x2py", "runs/synth/lua-rkt", "runs/synth/lua-partial", "--out", "site", cwd=folder)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "report: site/index.html" in r.stdout
    return folder / "site", r


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def heights(container) -> list[float]:
    return [p.get_height() for p in container.patches]


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"])
        if tag == "a" and a.get("href") and not a["href"].startswith("#"):
            self.links.append(a["href"])


def is_image(path: Path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and (data.startswith(b"\x89PNG\r\n\x1a\n") if path.suffix == ".png"
                                 else b"<svg" in data[:2000])


# -- the page ------------------------------------------------------------------------------------------------------


def test_the_report_has_a_page_markdown_and_every_figure(report):
    out, r = report
    page = (out / "index.html").read_text()
    parser = Page()
    parser.feed(page)
    # one figure per kind of data the runs hold (status and pass@k, before/after, training, translation,
    # routing of two runs, two synth funnels; the analyses: memory and time per training method)
    expected = {"passk", "status", "training", "translation", "routing-1", "routing-2", "funnel-1", "funnel-2",
                "methods"}
    if shutil.which("bwrap"):
        expected.add("comparison")
    assert {Path(src).stem for src in parser.images} == expected
    for ref in parser.images + parser.links:
        assert is_image(out / ref), ref
    assert all(src.endswith(".png") for src in parser.images)
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(f"{n}.{x}" for n in expected for x in ("png", "svg"))
    md = (out / "report.md").read_text()
    for ref in re.findall(r"\]\((figures/[^)]+)\)", md):
        assert is_image(out / ref), ref
    # the tables carry the numbers without the figures
    for text in ("pass@1 56.7% (93/164)", "pass@1 40.0% (4/10) (partial)", "rows kept 101 (lua 70, rkt 31)",
                 "exec acc 22.2%, CodeBLEU 0.500 (18 pairs)", "route / x2py / 3 experts on smollm2-135m",
                 "61.6%", "Qwen2.5-Coder Technical Report"):
        assert text in md and text.replace("&", "&amp;") in page, text
    meta = load(out / "report.json")
    assert meta["report"] == "codebabel report" and len(meta["runs"]) >= 12
    assert {f for fig in meta["figures"] for f in fig["files"]} == {f"figures/{p.name}" for p in (out / "figures").iterdir()}
    # written atomically: nothing left beside it
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".site")] == []


def test_a_second_report_replaces_the_first_whole(folder, report):
    out, _ = report
    r = run_cli("report", "runs/synth/lua-rkt", "--out", str(out), "--formats", "png", "--title", "Synth only",
                cwd=folder)
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["funnel-1.png"]
    assert "<title>Synth only</title>" in (out / "index.html").read_text()
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".site")] == []
    # the module's other tests read the full report again
    r = run_cli("report", "results/humaneval-*", "runs/train-curriculum", "runs/train-partial", "runs/eval/*",
                "runs/x2py", "runs/synth/lua-rkt", "runs/synth/lua-partial", "--out", "site", cwd=folder)
    assert r.returncode == 0, r.stderr[-2000:]


def test_a_folder_holding_runs_reports_them_all(folder, tmp_path):
    r = run_cli("report", str(folder / "runs" / "synth"), "--out", str(tmp_path / "r"), "--formats", "svg")
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "r" / "figures").iterdir()) == ["funnel-1.svg", "funnel-2.svg"]
    assert '<img src="figures/funnel-1.svg"' in (tmp_path / "r" / "index.html").read_text()


@pytest.mark.parametrize("args, message", [
    (["runs/no-such-run"], "run 'runs/no-such-run': no such file or folder"),
    (["runs/logs"], "run 'runs/logs': not a codebabel run"),
    (["runs/synth/lua-rkt", "results/nothing-*"], "run 'results/nothing-*': the pattern matches nothing"),
    (["runs/x2py", "runs/broken"], "run 'runs/broken': summary.json:2: not valid JSON"),
])
def test_a_bad_run_is_a_one_line_error_and_nothing_is_written(folder, tmp_path, args, message):
    broken = reportkit.eval_run(folder / "runs", "rb", 1, {"ok": 1}, key="9")
    (folder / "runs" / "broken").mkdir(exist_ok=True)
    for f in broken.iterdir():
        shutil.copy(f, folder / "runs" / "broken" / f.name)
    shutil.rmtree(broken)
    (folder / "runs" / "broken" / "summary.json").write_text('{"problems": 1,\n "passed": ')
    out = tmp_path / "new" / "report"
    r = run_cli("report", *args, "--out", str(out), cwd=folder)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "new").exists()


def test_bad_out_folders_are_refused(folder, tmp_path):
    (tmp_path / "file").write_text("x")
    r = run_cli("report", "runs/synth/lua-rkt", "--out", str(tmp_path / "file"), cwd=folder)
    assert r.returncode == 2 and "is a file; pass a folder" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run_cli("report", "runs/synth/lua-rkt", "--out", str(tmp_path / "file" / "sub"), cwd=folder)
    assert r.returncode == 2 and "is a file" in r.stderr
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    r = run_cli("report", "runs/synth/lua-rkt", "--out", str(tmp_path / "mine"), cwd=folder)
    assert r.returncode == 2 and "not an earlier report" in r.stderr
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]
    r = run_cli("report", "runs/synth/lua-rkt", "--out", str(tmp_path / "x"), "--formats", "jpg", cwd=folder)
    assert r.returncode == 2 and "--formats jpg: use png, svg or png,svg" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "mine"]


# -- each figure's numbers against the runs' files ----------------------------------------------------------------


def runs_in(folder: Path, *globs: str):
    return [read_run(p) for g in globs for p in sorted(folder.glob(g)) if p.is_dir()]


def test_passk_bars_are_the_summaries_pass_at_1_and_the_published_numbers(folder):
    runs = runs_in(folder, "results/humaneval-*")
    fig = F.passk_figure(runs)
    ax = fig.axes[0]
    langs = [t.get_text() for t in ax.get_xticklabels()]
    series = {s.label: s for s in eval_series(runs)}
    drawn = 0
    for container in ax.containers:
        s = series[container.get_label()]
        for lang_name, bar in zip(langs, container.patches, strict=True):
            run = next((r for r in s.runs.values() if r.data["language_name"] == lang_name), None)
            if run is None:
                assert math.isnan(bar.get_height())
                continue
            expected = (load(run.path / "summary.json")["pass_at_k"]["pass@1"] if run.finished else
                        sum(x["passed"] for x in map(json.loads, (run.path / "results.jsonl").read_text().splitlines()))
                        / 10)
            assert bar.get_height() == pytest.approx(100 * expected)
            # hatched: a selection of the benchmark (--limit); a partial run (no summary) does not say
            assert (bar.get_hatch() == "///") == (run.finished and run.data["problems"] < run.data["translated"])
            drawn += 1
    assert drawn == len(runs)
    (published,) = [c for c in ax.collections if c.get_label().startswith("published: Qwen2.5-Coder-0.5B-Instruct")]
    pub = published_for("qwen2.5-coder-0.5b", "humaneval")
    ys = sorted(seg[0][1] for seg in published.get_segments())
    assert ys == sorted([pub.scores["py"], pub.scores["cpp"]])  # the languages qwen was measured in, that have one


@needs_bwrap
def test_status_bars_are_the_summaries_shares(folder):
    runs = runs_in(folder, "results/humaneval-*")
    fig = F.status_figure(runs)
    ax = fig.axes[0]
    columns = F.status_columns(eval_series(runs))
    by_status = {c.get_label(): heights(c) for c in ax.containers}
    assert list(by_status)[0] == "ok" and {"assertion_failed", "syntax_error", "runtime_error"} <= set(by_status)
    for i, (s, lang) in enumerate(columns):
        run = s.runs[lang]
        if run.finished:
            summary = load(run.path / "summary.json")
            counts, n = summary["status_counts"], summary["samples"]
        else:
            rows = [json.loads(x) for x in (run.path / "results.jsonl").read_text().splitlines()]
            counts = {st: sum(r["status"] == st for r in rows) for st in {r["status"] for r in rows}}
            n = len(rows)
        for status, hs in by_status.items():
            assert hs[i] == pytest.approx(100 * counts.get(status, 0) / n), (run.name, status)
        assert sum(hs[i] for hs in by_status.values()) == pytest.approx(100)


@needs_bwrap
def test_before_after_bars_are_the_two_runs_pass_at_1(folder):
    runs = runs_in(folder, "results/humaneval-*")
    (comp,) = comparisons(runs)
    assert comp.labels == ["base", "tuned"] and comp.language == "py"
    fig = F.comparison_figure(runs)
    ax = fig.axes[0]
    before, after = (heights(c) for c in ax.containers)
    b = load(comp.runs[0].path / "summary.json")["pass_at_k"]["pass@1"]
    a = load(comp.runs[1].path / "summary.json")["pass_at_k"]["pass@1"]
    assert before == [pytest.approx(100 * b)] and after == [pytest.approx(100 * a)]
    assert "+33.3 pp" in [t.get_text() for t in ax.texts]


def test_training_curves_are_the_metrics_lines(folder):
    runs = runs_in(folder, "runs/train-*", "runs/x2py")
    fig = F.training_figure(runs)
    assert [ax.get_title() for ax in fig.axes] == [title for _, title in F.TRAIN_PANELS]
    for ax, (key, _) in zip(fig.axes, F.TRAIN_PANELS, strict=True):
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {"train-curriculum", "train-partial", "x2py/cpp", "x2py/java", "x2py/php"}
        rows = [json.loads(x) for x in (folder / "runs" / "train-curriculum" / "metrics.jsonl").read_text().splitlines()]
        # the curriculum's second stage continues the first one's steps
        assert list(lines["train-curriculum"].get_xdata()) == [1, 2, 3, 4, 5, 6, 7]
        assert list(lines["train-curriculum"].get_ydata()) == pytest.approx([r[key] for r in rows])
        rows = [json.loads(x) for x in (folder / "runs" / "x2py" / "experts" / "php" / "metrics.jsonl").read_text().splitlines()]
        assert list(lines["x2py/php"].get_ydata()) == pytest.approx([r[key] for r in rows])


def test_translation_points_are_codebleu_and_execution_accuracy(folder):
    runs = runs_in(folder, "runs/eval/*")
    fig = F.translation_figure(runs)
    ax = fig.axes[0]
    points = {c.get_label(): c.get_offsets().tolist() for c in ax.collections}
    assert set(points) == {"tr-instruct: qwen2.5-coder-0.5b (instruct)", "tr-experts: experts x2py (tag)"}
    per = load(folder / "runs" / "eval" / "tr-instruct" / "summary.json")["per_language"]
    assert np.allclose(points["tr-instruct: qwen2.5-coder-0.5b (instruct)"],
                       [[per[lang]["codebleu"], 100 * per[lang]["execution_accuracy"]] for lang in ("cpp", "java", "php")])
    assert sorted({t.get_text() for t in ax.texts}) == ["cpp", "java", "php"]


def test_routing_heatmaps_are_the_confusion_matrices(folder):
    route = read_run(folder / "runs" / "x2py")
    fig = F.routing_figure(route)
    report = load(folder / "runs" / "x2py" / "accuracy.json")
    maps = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in maps] == ["accuracy.json: gate, tagged", "accuracy.json: gate, hidden",
                                               "accuracy.json: ngram, tagged", "accuracy.json: ngram, hidden"]
    for ax in maps:
        router, mode = ax.get_title().split(": ")[1].split(", ")
        confusion = report[router][mode]["confusion"]
        rows = [t.get_text() for t in ax.get_yticklabels()]
        cols = [t.get_text() for t in ax.get_xticklabels()]
        assert rows == ["cpp", "java", "php"] and cols == ["cpp", "java", "php", "none"]
        counts = [[confusion[t][c] for c in cols] for t in rows]
        assert [int(t.get_text()) for t in ax.texts] == [v for row in counts for v in row]
        shares = ax.images[0].get_array()
        assert np.allclose(shares, [[v / sum(row) for v in row] for row in counts])
    # a routed translation run: the routing of its prompts
    tr = read_run(folder / "runs" / "eval" / "tr-experts")
    ax = next(ax for ax in F.routing_figure(tr).axes if ax.images)
    confusion = load(folder / "runs" / "eval" / "tr-experts" / "summary.json")["routing"]["confusion"]
    assert [int(t.get_text()) for t in ax.texts] == [v for row in confusion.values() for v in row.values()]


def test_the_synth_funnel_bars_are_the_stage_counts(folder):
    run = read_run(folder / "runs" / "synth" / "lua-rkt")
    ax = F.funnel_figure(run).axes[0]
    funnel = load(folder / "runs" / "synth" / "lua-rkt" / "dataset" / "funnel.json")
    drawn = dict(zip([t.get_text() for t in ax.get_yticklabels()], [p.get_width() for p in ax.containers[0].patches],
                     strict=True))
    f, t, lua, rkt = funnel["functions"], funnel["tests"], funnel["languages"]["lua"], funnel["languages"]["rkt"]
    assert drawn == {"1 functions: candidates": f["candidates"], "1 functions: kept": f["kept"],
                     "1 functions: selected": f["selected"], "2 tests: functions kept": t["kept"],
                     "3 tests translated: lua": lua["translate"]["kept"],
                     "4 functions verified: lua": lua["solutions"]["functions_with_kept"],
                     "4 translations kept: lua": lua["solutions"]["kept"], "5 rows: lua": sum(lua["rows"].values()),
                     "3 tests translated: rkt": rkt["translate"]["kept"],
                     "4 functions verified: rkt": rkt["solutions"]["functions_with_kept"],
                     "4 translations kept: rkt": rkt["solutions"]["kept"], "5 rows: rkt": sum(rkt["rows"].values())}
    partial = read_run(folder / "runs" / "synth" / "lua-partial")
    ax = F.funnel_figure(partial).axes[0]
    assert ax.get_title() == "synth funnel: lua-partial (partial)"
    assert [p.get_width() for p in ax.containers[0].patches] == [f["candidates"], f["kept"], f["selected"]]


def test_no_figure_without_its_data(folder):
    synth = runs_in(folder, "runs/synth/*")
    for draw in (F.passk_figure, F.status_figure, F.comparison_figure, F.training_figure, F.translation_figure):
        assert draw(synth) is None
    assert F.routing_figure(read_run(folder / "runs" / "eval" / "tr-instruct")) is None


# -- in a browser --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    with headless_chromium(1300, 1000, "--allow-file-access-from-files") as driver:
        yield driver


def test_the_page_shows_every_figure_in_chromium(report, browser, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    out, _ = report
    browser.get((out / "index.html").resolve().as_uri())
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && [...document.images].every(i => i.complete)"))
    images = browser.execute_script(
        "return [...document.images].map(i => [i.getAttribute('src'), i.naturalWidth, i.naturalHeight])")
    assert len(images) >= 8
    for src, width, height in images:
        assert width > 100 and height > 100, src  # decoded: a real image, not a broken one
    assert browser.title.startswith("codebabel report: ")
    headings = browser.execute_script("return [...document.querySelectorAll('h2')].map(h => h.textContent)")
    assert headings[:2] == ["Runs", "Evaluation"] and "Synthetic data" in headings
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1300, min(height + 100, 12000))
    assert screenshot(browser, tmp_path, "report").stat().st_size > 10_000
