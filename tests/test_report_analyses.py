"""The report's analyses (report/analyses.py): perplexity per language, perplexity vs pass@1 with its
correlations, the cross-language transfer matrix, failure modes by language, memory and time per method. Runs
are written with the files their commands write (tests/reportkit.py); each figure's drawn numbers are read back
from the matplotlib Axes and compared with those files; the correlations with hand-computed ones."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from codebabel.report import analyses as A
from codebabel.report.build import ReportConfig, write_report
from codebabel.report.groups import language_order
from codebabel.report.runs import find_runs, language_name, read_run
from tests import reportkit

#: the base model's pass@1 (passed of 10) and perplexity per language; both measured py, cpp, lua and rb
PASSED = {"py": 5, "cpp": 4, "lua": 3, "rb": 1, "js": 5}
PPL = {"py": 1.8, "cpp": 2.1, "lua": 2.9, "rb": 2.5, "go": 3.3}
TRACEBACK = 'Traceback (most recent call last):\n  File "/tmp/x/prog.py", line 12, in <module>\n{}\n'


def load(path: Path):
    return json.loads(path.read_text())


def rows_of(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]


def with_stderr(run: Path, errors: list[str]) -> Path:
    """The run's failed rows given ``errors`` as stderr, in order (the rest keep an empty one)."""
    rows = rows_of(run)
    failed = [r for r in rows if not r["passed"]]
    for row, err in zip(failed, errors, strict=False):
        row["stderr"] = err
    reportkit.write_jsonl(run / "results.jsonl", rows)
    return run


def base_eval(results: Path, lang: str, key: str) -> Path:
    passed = PASSED[lang]
    return reportkit.eval_run(results, lang, passed, {"ok": passed, "assertion_failed": 10 - passed - 2,
                                                      "runtime_error": 2}, key=key)  # py: 5 failed


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("analyses")
    results, runs = root / "results", root / "runs"
    for i, lang in enumerate(PASSED):
        base_eval(results, lang, key=f"b{i}")
    with_stderr(next(results.glob("humaneval-py-*")), [
        TRACEBACK.format("AssertionError"), TRACEBACK.format("AssertionError"),
        TRACEBACK.format("NameError: name 'foo' is not defined"),
        TRACEBACK.format("NameError: name 'bar' is not defined"),
        "  File \"/tmp/y/prog.py\", line 3\nSyntaxError: invalid syntax at 0x7f3a line 44\n"])
    with_stderr(next(results.glob("humaneval-lua-*")), [
        "lua: /tmp/a/prog.lua:7: attempt to call a nil value (global 'f')\nstack traceback:\n\t[C]: in ?\n",
        "lua: /tmp/b/prog.lua:9: attempt to call a nil value (global 'g')\n"])
    # perplexity reports as `codebabel evaluate perplexity --out FILE` writes them
    ppl_rows = [{"language": lang, "corpus": f"/data/corpus/{lang}", "split": "test", "perplexity": v,
                 "bits_per_byte": v / 3, "nll_nats": 100.0, "tokens": 1000 + i, "documents": 10, "bytes": 4000,
                 "time_s": 1.0} for i, (lang, v) in enumerate(PPL.items())]
    reportkit.write_json(runs / "ppl" / "qwen.json", {"model": "qwen2.5-coder-0.5b", "adapter": None, "split": "test",
                                                     "context": 1024, "stride": 512, "limit": None,
                                                     "results": ppl_rows})
    reportkit.write_json(runs / "ppl" / "qwen-lora.json", {
        "model": "qwen2.5-coder-0.5b", "adapter": str(runs / "lora-lua" / "adapter"), "split": "test",
        "context": 1024, "stride": 512, "limit": 20, "results": [{**ppl_rows[2], "perplexity": 2.4}]})
    # training: a LoRA on Lua, a full fine-tune on Lua, a LoRA on data of no single language
    reportkit.train_run(runs, "lora-lua", {"main": 3})
    full = reportkit.train_run(runs, "full-lua", {"warmup": 2, "main": 4}, method="full")
    summary = load(full / "summary.json")
    for st, mem, tps in zip(summary["stages"], (9000.0, 12000.0), (40.0, 55.0), strict=True):
        st.update(peak_memory_mb=mem, tokens_per_s=tps)
    reportkit.write_json(full / "summary.json", summary)
    mix = reportkit.train_run(runs, "mix", {"main": 2})
    recipe = load(mix / "recipe.json")
    recipe["data"] = [str(runs / "corpus" / "lua"), str(runs / "corpus" / "mixed-code")]
    reportkit.write_json(mix / "recipe.json", recipe)
    # evaluations of the adapters (same settings and problems as the base runs)
    lora = f"{runs / 'lora-lua' / 'adapter'}@sha256:{'a' * 64}"
    for lang, passed, key in (("lua", 6, "l1"), ("py", 4, "l2")):
        reportkit.eval_run(results, lang, passed, {"ok": passed, "assertion_failed": 10 - passed}, adapter=lora,
                           label="qwen-lora", key=key)
    reportkit.eval_run(results, "py", 7, {"ok": 7, "assertion_failed": 3}, label="qwen-mix", key="m1",
                       adapter=f"{runs / 'mix' / 'adapter'}@sha256:{'b' * 64}")
    return root


def runs_in(folder: Path, *globs: str):
    return [read_run(p) for g in globs for p in sorted(folder.glob(g))]


# -- perplexity ----------------------------------------------------------------------------------------------------


def test_perplexity_reports_are_runs(folder):
    run = read_run(folder / "runs" / "ppl" / "qwen.json")
    assert run.kind == "perplexity" and run.name == "perplexity / py, cpp, lua, rb, go / qwen2.5-coder-0.5b"
    assert run.metrics == PPL
    found = find_runs([folder / "runs" / "ppl"])
    assert sorted(r.path.name for r in found.runs) == ["qwen-lora.json", "qwen.json"] and not found.skipped


def test_perplexity_bars_are_the_reports_numbers(folder):
    runs = runs_in(folder, "runs/ppl/*.json")
    ax = A.perplexity_figure(runs).axes[0]
    assert ax.get_yscale() == "log"
    names = [t.get_text() for t in ax.get_xticklabels()]
    codes = language_order(PPL)  # the registry's order
    assert names[:2] == ["Python", "C++"] and names == [language_name(c) for c in codes]
    drawn = {c.get_label(): [p.get_height() for p in c.patches] for c in ax.containers}
    for path in sorted((folder / "runs" / "ppl").glob("*.json")):
        per = {r["language"]: r["perplexity"] for r in load(path)["results"]}
        (label,) = [lab for lab in drawn if lab.startswith(f"{path.stem}: ")]
        for code, h in zip(codes, drawn[label], strict=True):
            assert (math.isnan(h) and code not in per) or h == pytest.approx(per[code])


# -- perplexity vs pass@k ------------------------------------------------------------------------------------------


def hand_pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))


def test_perplexity_against_pass1_and_its_correlation(folder, monkeypatch):
    runs = runs_in(folder, "runs/ppl/*.json", "results/humaneval-*")
    pairs = {p.label.split(" × ")[0]: p for p in A.pairings(runs)}  # each report with its model's and adapter's
    assert sorted(pairs) == ["qwen", "qwen-lora"]
    pair, lora = pairs["qwen"], pairs["qwen-lora"]
    assert lora.languages == ["lua"] and lora.pearson is None and lora.spearman is None  # 1 language: none
    assert pair.languages == ["py", "cpp", "lua", "rb"] and pair.n == 4  # js: no perplexity; go: no pass@1
    ppl = [PPL[lang] for lang in pair.languages]
    p1 = [PASSED[lang] / 10 for lang in pair.languages]
    # by hand: ranks of perplexity 1 2 4 3, of pass@1 4 3 2 1; d = -3 -1 2 2; rho = 1 - 6*18 / (4*(16-1))
    assert pair.spearman == pytest.approx(-0.8)
    assert pair.pearson == pytest.approx(hand_pearson(ppl, p1))
    assert pair.pearson == pytest.approx(-0.6625, abs=1e-4)
    monkeypatch.setitem(sys.modules, "scipy", None)  # the numpy path gives the same
    assert A.correlations(ppl, p1) == pytest.approx((hand_pearson(ppl, p1), -0.8))
    assert A.correlations([1, 2], [3, 4]) == (None, None)
    ax = A.perplexity_passk_figure(runs).axes[0]
    (points,) = [c for c in ax.collections if c.get_label().startswith("qwen × ")]
    expected = []
    for lang in pair.languages:
        (ev,) = folder.glob(f"results/humaneval-{lang}-qwen2.5-coder-0.5b-*")
        expected.append([PPL[lang], 100 * load(ev / "summary.json")["pass_at_k"]["pass@1"]])
    assert np.allclose(points.get_offsets(), expected)
    assert sorted(t.get_text() for t in ax.texts) == sorted([*pair.languages, "lua"])
    assert "n=4, Pearson r=-0.663, Spearman ρ=-0.800" in points.get_label()


# -- transfer ------------------------------------------------------------------------------------------------------


def test_the_transfer_matrix_is_pass1_minus_the_base(folder):
    runs = runs_in(folder, "results/humaneval-*")
    t = A.transfer(runs)
    # lora-lua's recipe trains on corpus/lua: Lua; mix's data is not one language: its run name
    assert t.rows == ["lua", "mix"] and t.cols == ["py", "lua"] and t.delta
    ax = next(ax for ax in A.transfer_figure(runs).axes if ax.images)
    assert [x.get_text() for x in ax.get_yticklabels()] == ["Lua", "mix"]
    assert [x.get_text() for x in ax.get_xticklabels()] == ["Python", "Lua"]

    def pass1(pattern):
        (run,) = folder.glob(f"results/{pattern}")
        return 100 * load(run / "summary.json")["pass_at_k"]["pass@1"]

    base_py, base_lua = pass1("humaneval-py-qwen2.5-coder-0.5b-*"), pass1("humaneval-lua-qwen2.5-coder-0.5b-*")
    expected = [[pass1("humaneval-py-qwen-lora-*") - base_py, pass1("humaneval-lua-qwen-lora-*") - base_lua],
                [pass1("humaneval-py-qwen-mix-*") - base_py, math.nan]]
    assert np.allclose(np.ma.filled(ax.images[0].get_array(), np.nan), expected, equal_nan=True)
    assert [x.get_text() for x in ax.texts] == ["-10.0", "+30.0", "+20.0"]
    # without the base runs: pass@1 itself
    t = A.transfer([r for r in runs if r.data["adapter"]])
    assert not t.delta and t.value("lua", "lua") == pytest.approx(pass1("humaneval-lua-qwen-lora-*"))


# -- failure modes -------------------------------------------------------------------------------------------------


def test_error_lines_are_normalised():
    assert A.error_line(TRACEBACK.format("NameError: name 'foo' is not defined")) == \
        "NameError: name '…' is not defined"
    assert A.error_line("lua: /tmp/a/prog.lua:7: attempt to call a nil value (global 'f')\nstack") == \
        "lua: <path>:N: attempt to call a nil value (global '…')"
    node = "/tmp/x/main.js:5\n    return foo(x);\n    ^\n\nReferenceError: foo is not defined\n    at f (/tmp/x/main.js:5:5)\n"
    assert A.error_line(node) == "ReferenceError: foo is not defined"
    assert A.error_line("/usr/include/c++/13/bits/x.h:12:3: error: no match") == "<path>:N:N: error: no match"
    assert A.error_line("") is None and A.error_line(None) is None


def test_failure_modes_count_the_results_stderr(folder):
    runs = runs_in(folder, "results/humaneval-*-qwen2.5-coder-0.5b-*")
    modes = {lang: (failed, errors) for _, lang, failed, errors in A.failure_modes(runs)}
    assert set(modes) == {"py", "lua"}  # the others wrote nothing to stderr
    (py,) = folder.glob("results/humaneval-py-qwen2.5-coder-0.5b-*")
    failed = [r for r in rows_of(py) if not r["passed"]]
    assert modes["py"] == (len(failed), [("AssertionError", 2), ("NameError: name '…' is not defined", 2),
                                         ("SyntaxError: invalid syntax at <hex> line N", 1)])
    assert modes["lua"] == (7, [("lua: <path>:N: attempt to call a nil value (global '…')", 2)])


# -- memory and time per method ------------------------------------------------------------------------------------


def test_memory_and_time_bars_are_the_summaries(folder):
    runs = runs_in(folder, "runs/lora-lua", "runs/full-lua", "runs/mix")
    fig = A.method_figure(runs)
    assert [ax.get_title() for ax in fig.axes] == [title for _, title in A.METHOD_PANELS]
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["lora-lua", "mix", "full-lua"]  # LoRA first, then full
    for ax, (key, _) in zip(fig.axes, A.METHOD_PANELS, strict=True):
        by_method = {c.get_label(): c for c in ax.containers}
        assert set(by_method) == {"lora", "full"}
        drawn = {}
        for c in by_method.values():
            for p in c.patches:
                drawn[labels[round(p.get_x() + p.get_width() / 2)]] = p.get_height()
        for name, h in drawn.items():
            stages = load(folder / "runs" / name / "summary.json")["stages"]
            if key == "peak_memory_mb":
                want = max(s["peak_memory_mb"] for s in stages)
            elif key == "wall_s":
                want = sum(s["wall_s"] for s in stages)
            else:
                want = sum(s["tokens_per_s"] * s["wall_s"] for s in stages) / sum(s["wall_s"] for s in stages)
            assert h == pytest.approx(want), (name, key)
    assert drawn["full-lua"] == pytest.approx((40 * 20 + 55 * 40) / 60)


# -- in the report -------------------------------------------------------------------------------------------------


def test_each_analysis_is_a_section_only_with_its_inputs(folder, tmp_path):
    made = write_report(ReportConfig(runs=(str(folder / "results"), str(folder / "runs")), out=str(tmp_path / "a"),
                                     formats=("png",)))
    md = Path(made["markdown"]).read_text()
    html = Path(made["index"]).read_text()
    for title in ("Perplexity", "Perplexity and pass@k", "Cross-language transfer", "Failure modes by language",
                  "Memory and time per method"):
        assert f"## {title}\n" in md and f"<h2>{title}</h2>" in html
    for name in ("perplexity", "perplexity-passk", "transfer", "methods"):
        path = tmp_path / "a" / "figures" / f"{name}.png"
        assert path.read_bytes().startswith(b"\x89PNG") and f"figures/{name}.png" in html
    assert "NameError: name '…' is not defined (2)" in md
    # only training runs: only their analysis
    made = write_report(ReportConfig(runs=(str(folder / "runs" / "lora-lua"), str(folder / "runs" / "full-lua")),
                                     out=str(tmp_path / "b"), formats=("png",)))
    md = Path(made["markdown"]).read_text()
    assert "## Memory and time per method" in md
    for title in ("Perplexity", "Cross-language transfer", "Failure modes by language"):
        assert f"## {title}" not in md


def test_the_training_language_of_a_jsonl_dataset_is_its_rows(tmp_path):
    from codebabel.report.runs import Run

    data = tmp_path / "synth" / "lua-chat-{split}.jsonl"
    reportkit.write_jsonl(tmp_path / "synth" / "lua-chat-train.jsonl", [{"messages": [], "language": "lua"}] * 3)
    reportkit.write_jsonl(tmp_path / "synth" / "mixed-train.jsonl", [{"language": "lua"}, {"language": "rkt"}])
    recipe = reportkit.recipe("syn", str(tmp_path))
    for name, paths in (("syn", [str(data)]), ("mixed", [str(tmp_path / "synth" / "mixed-{split}.jsonl")])):
        reportkit.write_json(tmp_path / name / "recipe.json", {**recipe, "data": paths})
    runs = [Run("eval", tmp_path, "x", "", "", True, data={"adapter": name, "adapter_identity":
                                                              f"{tmp_path / name / 'adapter'}@sha256:{'c' * 64}"})
            for name in ("syn", "mixed")]
    assert [A.trained_language(r, {}) for r in runs] == ["lua", "mixed"]
