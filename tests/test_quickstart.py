"""`codebabel quickstart` end to end on a tiny random model: corpora from this machine's sources, the base model
measured, LoRA, measured again, the report; a second run reuses every phase; bad inputs are one-line errors
that leave nothing behind."""

import json
import math
import shutil
import sysconfig
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from codebabel.cli import app
from codebabel.config import QuickstartConfig
from codebabel.errors import CodebabelError
from codebabel.languages import get_language
from codebabel.quickstart import run_quickstart
from tests.conftest import needs_bwrap, run_cli

needs_ruby = pytest.mark.skipif(shutil.which("ruby") is None, reason="ruby not installed: apt-get install ruby")
OPTIONS = dict(steps=2, limit=1, max_tokens=150_000, ppl_tokens=500, max_new_tokens=8)
SHARES = ("parses/compiles", "runtime errors", "failed tests", "empty completions")
METRICS = {f"{lang} {m}" for lang in ("Ruby", "Python") for m in ("perplexity", "pass@1", *SHARES)}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from tests.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture
def small_python(monkeypatch):
    """Python's whole standard library takes ~30 s to read; a few of its packages make enough of a corpus."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    folders = [str(stdlib / d) for d in ("asyncio", "email", "importlib", "multiprocessing")]
    monkeypatch.setattr(type(get_language("py")), "system_sources", lambda self: folders)


def quiet() -> Console:
    return Console(file=StringIO(), width=120)


@needs_bwrap
@needs_ruby
def test_before_train_after_then_every_phase_reused(tiny, small_python, tmp_path):
    root = tmp_path / "qs"
    report = run_quickstart(QuickstartConfig(model=str(tiny), out=str(root), **OPTIONS), console=quiet())
    assert report["phases"] == {"before": "ran", "train": "ran", "after": "ran"}
    rows = {r["metric"]: r for r in report["metrics"]}
    assert set(rows) == METRICS
    for r in rows.values():
        for key in ("before", "after", "change"):
            assert isinstance(r[key], float) and math.isfinite(r[key]), (r["metric"], key)
        if r["kind"] == "perplexity":
            assert r["before"] > 1 and r["after"] > 1 and r["change"] == pytest.approx(r["after"] / r["before"] - 1)
        elif r["kind"] == "pass@1":
            assert 0 <= r["before"] <= 1 and 0 <= r["after"] <= 1 and r["passed"]["of"] == 1
        else:  # a status share: of the same completions, so at most the whole
            assert 0 <= r["before"] <= 1 and 0 <= r["after"] <= 1 and r["change"] == r["after"] - r["before"]
    assert rows["Ruby perplexity"]["after"] != rows["Ruby perplexity"]["before"]  # the adapter was applied
    assert report["train"]["steps"] == 2 and 0 < report["train"]["tokens"] <= 2 * 4 * 256  # packed rows
    assert json.loads((root / "quickstart.json").read_text())["metrics"] == report["metrics"]
    md = (root / "quickstart.md").read_text()
    assert all(f"| {m} |" in md for m in METRICS) and "| before | after | change |" in md
    assert (root / "recipe.yaml").is_file() and Path(report["train"]["adapter"], "adapter_config.json").is_file()

    summary = Path(report["train"]["run_dir"]) / "summary.json"
    trained = (summary.read_text(), summary.stat().st_mtime_ns)
    r = CliRunner().invoke(app, ["quickstart", "--model", str(tiny), "--out", str(root),
                                 *[x for k, v in OPTIONS.items() for x in (f"--{k.replace('_', '-')}", str(v))]])
    assert r.exit_code == 0, r.output
    again = json.loads((root / "quickstart.json").read_text())
    assert again["phases"] == {"before": "reused", "train": "reused", "after": "reused"}
    assert (summary.read_text(), summary.stat().st_mtime_ns) == trained  # not trained again
    assert again["metrics"] == report["metrics"]
    for m in METRICS:
        assert m in r.output
    assert f"{rows['Ruby perplexity']['before']:.3f}" in r.output and "report:" in r.output


@pytest.mark.parametrize("options, needle", [
    (["--language", "klingon"], "unknown language 'klingon'"),
    (["--language", "sh"], "--from-system sh"),  # no Bash sources installed with the toolchain
    (["--steps", "0"], "--steps 0"),
    (["--limit", "0"], "--limit 0"),
    (["--language", "py", "--model", "./no/such/model"], "no such file or folder"),
])
def test_bad_inputs_are_one_line_errors_and_write_nothing(options, needle, tmp_path):
    out = tmp_path / "qs"
    r = CliRunner().invoke(app, ["quickstart", "--out", str(out), *options])
    assert isinstance(r.exception, CodebabelError), r.output
    assert needle in str(r.exception) and "\n" not in str(r.exception)
    assert not out.exists()


def test_out_must_be_a_quickstart_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CodebabelError, match="not a quickstart run folder"):
        run_quickstart(QuickstartConfig(out=str(tmp_path)))
    r = run_cli("quickstart", "--out", str(tmp_path / "notes.txt"), timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--out" in r.stderr
