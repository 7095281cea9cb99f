"""`codebabel sweep SWEEP.yaml` (sweep.py): bad sweep files are one-line errors naming the file and the key; a
2-point sweep on the tiny model trains two runs and writes the summary; a rerun trains nothing; the report
shows the sweep as a section (its table, and a figure whose numbers are the summary's)."""

from __future__ import annotations

import json
import random
import textwrap
from pathlib import Path

import pytest

from codebabel.errors import CodebabelError
from tests.conftest import needs_bwrap, run_cli


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny model, a few lines of JSONL text, and a 2-step LoRA recipe on them."""
    from tests.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("sweep")
    model = build_tiny_model(root / "tiny")
    rnd = random.Random(0)
    data = root / "text.jsonl"
    data.write_text("".join(json.dumps({"text": f"def f{i}(a, b):\n    return a + {rnd.randint(0, 99)} * b\n"}) + "\n"
                            for i in range(12)))
    recipe = root / "recipe.yaml"
    recipe.write_text(f"model: {model}\ndata: [{data}]\nbatch_size: 2\nseq_len: 64\nmax_steps: 2\nsave_every: 10\n"
                      "lr: 1e-3\nlora: {r: 2, alpha: 4}\ndevice: cpu\n")
    return root, recipe


def write(folder: Path, name: str, body: str) -> Path:
    p = folder / f"{name}.yaml"
    p.write_text(textwrap.dedent(body))
    return p


@pytest.mark.parametrize(("body", "message"), [
    ("grid: {lr: [1e-3]}\n", "'recipe' is required"),
    ("recipe: R\ngrid: {lr: [1e-3]}\nepochs: 3\n", "unknown key 'epochs'"),
    ("recipe: R\n", "exactly one of 'grid'"),
    ("recipe: R\ngrid: {lr: [1e-3]}\npoints: [{lr: 1e-3}]\n", "exactly one of 'grid'"),
    ("recipe: R\ngrid: {lr: 1e-3}\n", "grid: lr: a non-empty list"),
    ("recipe: R\ngrid: {lr: [1, 1]}\n", "grid: lr: a value is listed twice"),
    ("recipe: R\ngrid: {lora.rank: [2, 4]}\n", "unknown key 'rank'"),
    ("recipe: R\ngrid: {lr: [fast]}\n", "lr: expected a number, got 'fast'"),
    ("recipe: R\ngrid: {name: [a, b]}\n", "key 'name'"),
    ("recipe: R\ngrid: {temperature: [0, 0.8]}\n", "no 'evaluate:' section"),
    ("recipe: R\ngrid: {lr: [1e-3]}\nevaluate: {limt: 1}\n", "evaluate: unknown key 'limt'"),
    ("recipe: R\ngrid: {evaluate.n: [2]}\nevaluate: {limit: 1}\n", "--n 2 with --temperature 0"),
    ("recipe: R\npoints: [{lr: 1e-3}, 3]\n", "points.1: a mapping"),
    ("recipe: R\nset: {temperature: 0.5}\ngrid: {lr: [1e-3]}\n", "set: 'temperature' is an evaluation setting"),
])
def test_bad_sweep_files_are_one_line_errors_naming_the_file_and_key(base, tmp_path, body, message):
    from codebabel.sweep import load_sweep

    _, recipe = base
    path = write(tmp_path, "bad", body.replace("recipe: R", f"recipe: {recipe}"))
    with pytest.raises(CodebabelError, match=message) as e:
        load_sweep(path)
    assert str(e.value).startswith(f"sweep '{path}'") and "\n" not in str(e.value)


def test_the_cli_prints_a_bad_sweep_as_one_line(tmp_path):
    r = run_cli("sweep", str(tmp_path / "missing.yaml"))
    assert r.returncode == 2 and "no such file" in r.stderr and r.stderr.strip().count("\n") == 0


@pytest.fixture(scope="module")
def swept(base):
    """A 2-point sweep over lora.r, run by the command, then run again."""
    root, recipe = base
    sweep = write(root, "rank", f"""\
        recipe: {recipe}
        output: {root}/sweeps
        grid:
          lora.r: [2, 4]
        set:
          lora.alpha: 8
        """)
    first = run_cli("sweep", str(sweep), cwd=root)
    assert first.returncode == 0, first.stderr[-3000:]
    return root, sweep, first


def test_a_sweep_trains_each_point_and_writes_the_summary(swept):
    root, _, first = swept
    folder = root / "sweeps" / "rank"
    assert f"summary: {folder / 'sweep.json'}" in first.stdout
    summary = json.loads((folder / "sweep.json").read_text())
    assert summary["keys"] == ["lora.r"] and summary["finished"] and len(summary["points"]) == 2
    for point, r in zip(summary["points"], (2, 4), strict=True):
        run = Path(point["run_dir"])
        assert run == folder / "runs" / f"lora.r-{r}" and point["train"] == "trained"
        recipe = json.loads((run / "recipe.json").read_text())
        assert recipe["lora"] == {"r": r, "alpha": 8, "dropout": 0.05, "targets": []}
        assert recipe["max_steps"] == 2 and point["steps"] == 2
        assert point["train_loss"] == json.loads((run / "summary.json").read_text())["stages"][-1]["train_loss"]
        assert (run / "adapter" / "adapter_model.safetensors").is_file()
    assert "| lora.r |" in (folder / "sweep.md").read_text()


def test_a_rerun_trains_nothing(swept, monkeypatch):
    from codebabel import sweep as S

    root, path, _ = swept
    before = {p: p.stat().st_mtime_ns for p in (root / "sweeps" / "rank" / "runs").rglob("*") if p.is_file()}
    monkeypatch.setattr(S, "train", lambda *a, **k: pytest.fail("trained a finished point again"))
    summary = S.run_sweep(S.load_sweep(path))
    assert [p["train"] for p in summary["points"]] == ["reused", "reused"]
    after = {p: p.stat().st_mtime_ns for p in (root / "sweeps" / "rank" / "runs").rglob("*") if p.is_file()}
    assert after == before


def test_a_changed_base_recipe_is_refused_not_mixed(swept, tmp_path):
    from codebabel.sweep import load_sweep, run_sweep

    root, path, _ = swept
    text = path.read_text()
    other = tmp_path / "recipe.yaml"
    recipe = Path(text.split("recipe: ")[1].split("\n")[0])
    other.write_text(recipe.read_text().replace("lr: 1e-3", "lr: 5e-4"))
    changed = write(tmp_path, "rank", text.replace(str(recipe), str(other)))
    with pytest.raises(CodebabelError, match="trained with another recipe .differs in lr"):
        run_sweep(load_sweep(changed))


def test_the_report_shows_the_sweep(swept):
    from codebabel.report.build import ReportConfig, write_report
    from codebabel.report.runs import find_runs, read_run
    from codebabel.report.sweeps import sweep_figure

    root, _, _ = swept
    folder = root / "sweeps" / "rank"
    run = read_run(folder)
    summary = json.loads((folder / "sweep.json").read_text())
    assert run.kind == "sweep" and run.finished and run.headline.startswith("lowest train loss")
    kinds = sorted(r.kind for r in find_runs([root / "sweeps"]).runs)
    assert kinds == ["sweep", "train", "train"]  # the points' runs are listed too

    fig = sweep_figure(run)
    (line,) = fig.axes[0].lines
    assert list(line.get_xdata()) == [2.0, 4.0]
    assert list(line.get_ydata()) == [p["train_loss"] for p in summary["points"]]
    assert len(fig.axes) == 1  # no pass@1 panel without an evaluation

    made = write_report(ReportConfig(runs=(str(folder),), out=str(root / "site")))
    md = Path(made["markdown"]).read_text()
    assert "## Sweeps" in md and "| lora.r |" in md and "figures/sweep-1.png" in md
    assert (root / "site" / "figures" / "sweep-1.png").stat().st_size > 0


@needs_bwrap
def test_points_that_differ_in_sampling_share_one_run_and_are_evaluated(base):
    """Two temperatures: one training run, two evaluations of one problem; a rerun reuses the results."""
    from codebabel import sweep as S

    root, recipe = base
    path = write(root, "temps", f"""\
        recipe: {recipe}
        output: {root}/sweeps
        points:
          - {{temperature: 0}}
          - {{temperature: 0.8}}
        evaluate: {{limit: 1, max_new_tokens: 8, backend: hf, device: cpu, workers: 1, timeout: 5}}
        """)
    first = S.run_sweep(S.load_sweep(path))
    assert [p["run"] for p in first["points"]] == ["base", "base"]
    assert [p["train"] for p in first["points"]] == ["trained", "trained"]  # one run, trained once
    evals = [p["eval"] for p in first["points"]]
    assert evals[0]["run_dir"] != evals[1]["run_dir"] and all(e["samples"] == 1 for e in evals)
    assert [e["sampling"]["temperature"] for e in evals] == [0.0, 0.8]
    again = S.run_sweep(S.load_sweep(path))
    assert [p["eval"]["new_samples"] for p in again["points"]] == [0, 0]
    assert [p["eval"]["run_dir"] for p in again["points"]] == [e["run_dir"] for e in evals]


def test_the_figure_draws_a_line_per_other_key_and_pass_at_1(tmp_path):
    """lr × lora.r, evaluated: two panels (train loss, pass@1 %), a line per rank, lr on a log axis."""
    from codebabel.report.runs import read_run
    from codebabel.report.sweeps import sweep_figure

    points = [{"index": i, "settings": {"lr": lr, "lora.r": r}, "run_dir": f"runs/{i}", "train_loss": 2.0 - i / 10,
               "steps": 20, "eval": {"pass_at_k": {"pass@1": i / 10}, "passed": i, "samples": 10}}
              for i, (lr, r) in enumerate([("1e-4", 4), ("1e-4", 16), ("1e-3", 4), ("1e-3", 16)])]
    (tmp_path / "sweep.json").write_text(json.dumps({"sweep": "s", "recipe": "r.yaml", "keys": ["lr", "lora.r"],
                                                     "points": points, "total_points": 4, "finished": True,
                                                     "evaluate": {"benchmark": "humaneval", "language": "rb"}}))
    run = read_run(tmp_path)
    assert run.headline == "best pass@1 30.0% at lr=1e-3, lora.r=16"
    fig = sweep_figure(run)
    loss, passk = fig.axes
    assert [line.get_label() for line in passk.lines] == ["lora.r=4", "lora.r=16"]
    assert [list(line.get_xdata()) for line in passk.lines] == [[1e-4, 1e-3], [1e-4, 1e-3]]
    assert [list(line.get_ydata()) for line in passk.lines] == [[0.0, 20.0], [10.0, 30.0]]
    assert [list(line.get_ydata()) for line in loss.lines] == [[2.0, 1.8], [1.9, 1.7]]
    assert passk.get_xscale() == "log"
